"""check_jaxpr accepts what tracing produces and rejects hand-built malformed jaxprs."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.core.avals import ShapedArray
from funcgrad.core.errors import JaxprTypeError
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, check_jaxpr
from funcgrad.lax.control_flow import closed_call_p
from funcgrad.lax.elementwise import add_p, sin_p
from funcgrad.lax.reductions import reduce_sum_p

F3 = ShapedArray((3,), np.float32)
F4 = ShapedArray((4,), np.float32)
F0 = ShapedArray((), np.float32)


def test_traced_programs_pass():
    def f(x, w):
        return jnp.tanh(x @ w).sum(axis=0), x[1:, ::-1] * 2

    check_jaxpr(fg.make_jaxpr(f)(np.ones((3, 4), np.float32), np.ones((4, 2), np.float32)))


def _sin_jaxpr(invar, outvar, use=None):
    return Jaxpr((), (invar,), (outvar,), (JaxprEqn(sin_p, (use or invar,), (outvar,), {}),))


def test_variable_used_before_it_is_bound():
    a, b, stray = Var(F3), Var(F3), Var(F3)
    with pytest.raises(JaxprTypeError, match="used before it is bound"):
        check_jaxpr(_sin_jaxpr(a, b, use=stray))


def test_variable_bound_twice():
    a = Var(F3)
    with pytest.raises(JaxprTypeError, match="bound more than once"):
        check_jaxpr(_sin_jaxpr(a, a))


def test_outvar_with_the_wrong_type():
    a, b = Var(F3), Var(F4)
    with pytest.raises(JaxprTypeError, match=r"binds b:f32\[4\] but the primitive gives f32\[3\]"):
        check_jaxpr(_sin_jaxpr(a, b))


def test_outvar_with_the_wrong_dtype():
    a, b = Var(F3), Var(ShapedArray((3,), np.int32))
    with pytest.raises(JaxprTypeError, match=r"gives f32\[3\]"):
        check_jaxpr(_sin_jaxpr(a, b))


def test_operands_the_shape_rule_rejects():
    a, b, c = Var(F3), Var(F4), Var(F3)
    jaxpr = Jaxpr((), (a, b), (c,), (JaxprEqn(add_p, (a, b), (c,), {}),))
    with pytest.raises(JaxprTypeError, match=r"equation 0 \(add\).*shapes must be equal"):
        check_jaxpr(jaxpr)


def test_bad_params_are_rejected_by_the_rule():
    a, b = Var(F3), Var(F0)
    jaxpr = Jaxpr((), (a,), (b,), (JaxprEqn(reduce_sum_p, (a,), (b,), {"axes": (1,)}),))
    with pytest.raises(JaxprTypeError, match="out of range"):
        check_jaxpr(jaxpr)


def test_wrong_number_of_results():
    a, b, c = Var(F3), Var(F3), Var(F3)
    jaxpr = Jaxpr((), (a,), (b,), (JaxprEqn(sin_p, (a,), (b, c), {}),))
    with pytest.raises(JaxprTypeError, match="gives 1 results but the equation binds 2"):
        check_jaxpr(jaxpr)


def test_undefined_output():
    a, b = Var(F3), Var(F3)
    with pytest.raises(JaxprTypeError, match="outvars: variable b is used before it is bound"):
        check_jaxpr(Jaxpr((), (a,), (b,), ()))


def test_literal_whose_value_disagrees_with_its_type():
    a, b = Var(F0), Var(F0)
    lit = Literal(np.int32(2), F0)
    jaxpr = Jaxpr((), (a,), (b,), (JaxprEqn(add_p, (a, lit), (b,), {}),))
    with pytest.raises(JaxprTypeError, match="literal 2.0:f32\\[\\] has a value of another type"):
        check_jaxpr(jaxpr)


def test_consts_must_match_constvars():
    c, a, b = Var(F3), Var(F3), Var(F3)
    jaxpr = Jaxpr((c,), (a,), (b,), (JaxprEqn(add_p, (a, c), (b,), {}),))
    check_jaxpr(ClosedJaxpr(jaxpr, (np.ones(3, np.float32),)))
    with pytest.raises(JaxprTypeError, match="1 constvars"):
        check_jaxpr(ClosedJaxpr(jaxpr, ()))
    with pytest.raises(JaxprTypeError, match=r"const of type f32\[4\]"):
        check_jaxpr(ClosedJaxpr(jaxpr, (np.ones(4, np.float32),)))


def test_malformed_sub_jaxpr_is_found():
    x, y = Var(F3), Var(F4)
    bad_inner = ClosedJaxpr(_sin_jaxpr(x, y), ())
    a, b = Var(F3), Var(F4)
    outer = Jaxpr((), (a,), (b,), (JaxprEqn(closed_call_p, (a,), (b,), {"call_jaxpr": bad_inner}),))
    with pytest.raises(
        JaxprTypeError, match=r"in parameter call_jaxpr: equation 0 \(sin\): binds b:f32\[4\]"
    ):
        check_jaxpr(outer)


def test_call_operands_must_match_the_called_jaxpr():
    inner = fg.make_jaxpr(lambda v: v)(np.ones(3, np.float32))
    a, b = Var(F4), Var(F3)
    outer = Jaxpr((), (a,), (b,), (JaxprEqn(closed_call_p, (a,), (b,), {"call_jaxpr": inner}),))
    with pytest.raises(JaxprTypeError, match="do not match the called jaxpr"):
        check_jaxpr(outer)
