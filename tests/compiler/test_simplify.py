"""Algebraic simplification: each rule leaves exactly the hand-derived primitives and the
same values as eager evaluation; rules that would change an aval or an IEEE result do not
fire; dot_general reads transposed operands in place."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.compiler.passes.dce import dce
from funcgrad.compiler.passes.simplify import simplify
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Var, check_jaxpr, eval_jaxpr
from funcgrad.lax import elementwise

rng = np.random.default_rng(5)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def i32(*shape):
    return rng.integers(-9, 9, size=shape).astype(np.int32)


def _simplified(fun, *args):
    """(traced program, simplified and dead-code-free program), the latter type checked and
    evaluated against eager `fun` on the same inputs."""
    closed = fg.make_jaxpr(fun)(*args)
    result = dce(simplify(closed))
    check_jaxpr(result)
    assert result.out_avals == closed.out_avals
    got = eval_jaxpr(result.jaxpr, result.consts, *args)
    want = fg.tree.leaves(fun(*map(jnp.asarray, args)))
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-6, atol=0)
        assert np.asarray(g).dtype == np.asarray(w).dtype
    return closed, result


def _names(closed) -> list[str]:
    return [e.primitive.name for e in closed.eqns]


# (rule, function, arguments, primitives left after simplify + DCE)
RULE_CASES = [
    ("x * 1", lambda x: x * 1.0, (f32(2, 3),), []),
    ("1 * x", lambda x: 1.0 * x, (f32(2, 3),), []),
    ("int x + 0", lambda n: n + 0, (i32(4),), []),
    ("int 0 + x", lambda n: 0 + n, (i32(4),), []),
    ("float x + (-0.0)", lambda x: x + (-0.0), (f32(4),), []),
    ("float -0.0 + x", lambda x: -0.0 + x, (f32(4),), []),
    ("float x - 0.0", lambda x: x - 0.0, (f32(4),), []),
    ("int x - 0", lambda n: n - 0, (i32(4),), []),
    ("float x / 1", lambda x: x / 1.0, (f32(4),), []),
    ("int x / 1", lambda n: lax.div(n, 1), (i32(4),), []),
    ("x * broadcast 1", lambda x: x * lax.broadcast_in_dim(1.0, (4,), ()), (f32(4),), []),
    ("neg of neg", lambda x: lax.neg(lax.neg(x)), (f32(3),), []),
    ("transpose of transpose", lambda x: x.T.T, (f32(2, 3),), []),
    ("identity transpose", lambda x: lax.transpose(x, (0, 1)), (f32(2, 3),), []),
    ("reshape back", lambda x: x.reshape(6).reshape(2, 3), (f32(2, 3),), []),
    ("reshape to same shape", lambda x: lax.reshape(x, (2, 3)), (f32(2, 3),), []),
    ("identity broadcast", lambda x: lax.broadcast_in_dim(x, (2, 3), (0, 1)), (f32(2, 3),), []),
    ("convert to same type", lambda x: lax.convert_element_type(x, np.float32), (f32(3),), []),
    ("squeeze of nothing", lambda x: lax.squeeze(x, ()), (f32(3),), []),
    (
        "rewrites enable rewrites",
        lambda x: lax.neg(lax.neg(x)).T.T.reshape(6).reshape(2, 3) * 1.0,
        (f32(2, 3),),
        [],
    ),
]


@pytest.mark.parametrize("rule, fun, args, left", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_rule_leaves_the_expected_primitives(rule, fun, args, left):
    closed, result = _simplified(fun, *args)
    assert _names(closed) != left  # the rule had something to remove
    assert _names(result) == left


def test_transposes_compose_into_one():
    x = f32(2, 3, 4)

    def fun(x):
        return lax.transpose(lax.transpose(x, (1, 2, 0)), (1, 2, 0))

    closed, result = _simplified(fun, x)
    (eqn,) = result.eqns
    # Output axis i is inner axis (1, 2, 0)[i], which is x's axis (1, 2, 0)[(1, 2, 0)[i]].
    assert eqn.primitive.name == "transpose" and eqn.params["permutation"] == (2, 0, 1)
    assert eqn.invars[0] is result.jaxpr.invars[0]
    assert eqn.source_info is closed.eqns[1].source_info


def test_reshapes_compose_into_one():
    closed, result = _simplified(lambda x: x.reshape(6).reshape(3, 2), f32(2, 3))
    (eqn,) = result.eqns
    assert eqn.primitive.name == "reshape" and eqn.params["new_sizes"] == (3, 2)
    assert eqn.invars[0] is result.jaxpr.invars[0]


def test_broadcasts_compose_into_one():
    def fun(v):
        return jnp.broadcast_to(jnp.broadcast_to(v, (3, 3)), (2, 3, 3))

    closed, result = _simplified(fun, f32(3))
    assert _names(closed) == ["broadcast_in_dim", "broadcast_in_dim"]
    (eqn,) = result.eqns
    # v's axis goes to axis 1 of (3, 3), which goes to axis 2 of (2, 3, 3).
    assert eqn.params["broadcast_dimensions"] == (2,) and eqn.params["shape"] == (2, 3, 3)
    assert eqn.invars[0] is result.jaxpr.invars[0]


def test_a_known_scalar_constant_counts_as_a_literal():
    x, one = Var(ShapedArray((3,), np.float32)), Var(ShapedArray((), np.float32))
    out = Var(ShapedArray((3,), np.float32))
    eqn = JaxprEqn(elementwise.mul_p, (x, one), (out,), {})
    closed = ClosedJaxpr(Jaxpr((one,), (x,), (out,), (eqn,)), (np.float32(1.0),))
    result = simplify(closed)
    assert result.eqns == () and result.jaxpr.outvars == (x,)


# ---------------------------------------------------------------------------------------
# dot_general reading transposed operands


def _reads_inputs_directly(result):
    (eqn,) = result.eqns
    assert eqn.primitive.name == "dot_general"
    assert set(eqn.invars) == set(result.jaxpr.invars)
    return eqn.params["dimension_numbers"]


def test_x_times_w_transposed_reads_w_in_place():
    _, result = _simplified(lambda x, w: x @ w.T, f32(2, 3), f32(4, 3))
    assert _reads_inputs_directly(result) == (((1,), (1,)), ((), ()))


def test_w_transposed_times_x_reads_w_in_place():
    _, result = _simplified(lambda w, x: w.T @ x, f32(3, 4), f32(3, 2))
    assert _reads_inputs_directly(result) == (((0,), (0,)), ((), ()))


def test_both_operands_transposed():
    _, result = _simplified(lambda a, b: a.T @ b.T, f32(3, 2), f32(4, 3))
    assert _reads_inputs_directly(result) == (((0,), (1,)), ((), ()))


def test_transpose_reordering_free_axes_is_kept():
    def fun(x, y):
        swapped = lax.transpose(x, (1, 0, 2))
        return lax.dot_general(swapped, y, (((2,), (0,)), ((), ())))

    closed, result = _simplified(fun, f32(4, 5, 3), f32(3, 6))
    assert _names(result) == _names(closed) == ["transpose", "dot_general"]


# ---------------------------------------------------------------------------------------
# Rules that must not fire


def test_int_times_float_one_keeps_the_conversion():
    closed, result = _simplified(lambda n: n * 1.0, i32(4))
    assert _names(result) == ["convert_element_type"]
    assert result.out_avals[0].dtype == np.float32


def test_weak_times_strong_one_is_kept():
    closed, result = _simplified(lambda x: lax.mul(x, np.float32(1)), 2.0)
    assert closed.in_avals[0].weak_type and not closed.out_avals[0].weak_type
    assert _names(result) == ["mul"]


def test_conversion_changing_only_the_weak_type_is_kept():
    closed, result = _simplified(lambda x: lax.convert_element_type(x, np.float32), 2.0)
    assert _names(result) == ["convert_element_type"]
    assert not result.out_avals[0].weak_type


def test_times_one_that_broadcasts_the_shape_is_kept():
    _, result = _simplified(lambda x: x * jnp.ones(3), np.float32(2.0))
    assert _names(result) == ["broadcast_in_dim", "mul"]


def test_adding_positive_zero_keeps_negative_zero():
    closed, result = _simplified(lambda x: x + 0.0, np.array([-0.0, 1.0], np.float32))
    assert _names(result) == ["add"]
    (out,) = eval_jaxpr(result.jaxpr, result.consts, np.array([-0.0], np.float32))
    assert not np.signbit(np.asarray(out)[0])  # -0.0 + 0.0 is +0.0, as eagerly


def test_integer_zero_converted_to_float_is_positive_zero():
    def fun(x):
        return x + lax.convert_element_type(0, np.float32)

    closed, result = _simplified(fun, np.array([-0.0, 1.0], np.float32))
    assert _names(closed) == ["convert_element_type", "add"]
    assert _names(result) == ["convert_element_type", "add"]


def test_subtracting_negative_zero_is_kept():
    _, result = _simplified(lambda x: x - (-0.0), np.array([-0.0, 1.0], np.float32))
    assert _names(result) == ["sub"]


def test_complex_times_one_is_kept():
    _, result = _simplified(lambda z: z * 1, np.array([1 + 2j], np.complex64))
    assert _names(result) == ["mul"]


def test_transposing_reshape_does_not_absorb_another():
    def fun(x):
        return lax.reshape(x.reshape(3, 2), (2, 3), (1, 0))

    _, result = _simplified(fun, f32(6))
    assert _names(result) == ["reshape", "reshape"]


def test_transpose_of_a_product_swaps_its_operands():
    # Reverse mode writes a weight gradient as transpose(dot_general(x, g)).
    x, g = np.ones((4, 3), np.float32) * 0.5, np.arange(8, dtype=np.float32).reshape(4, 2)
    closed = fg.make_jaxpr(lambda x, g: (x.T @ g).T)(x, g)
    out = dce(simplify(closed))
    (eqn,) = out.eqns
    assert eqn.primitive.name == "dot_general"
    assert eqn.invars == (closed.jaxpr.invars[1], closed.jaxpr.invars[0])
    assert eqn.params["dimension_numbers"] == (((0,), (0,)), ((), ()))
    (value,) = eval_jaxpr(out.jaxpr, out.consts, x, g)
    np.testing.assert_allclose(value, g.T @ x, rtol=1e-6)


def test_transpose_of_a_product_read_elsewhere_is_kept():
    def f(x, y):
        product = x @ y
        return product + 1.0, product.T  # computing y^T x^T too would double the flops

    closed = fg.make_jaxpr(f)(np.ones((3, 2), np.float32), np.ones((2, 4), np.float32))
    names = [e.primitive.name for e in dce(simplify(closed)).eqns]
    assert names.count("dot_general") == 1 and "transpose" in names
