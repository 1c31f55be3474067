"""Dead code elimination keeps exactly the equations the used outputs need."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.core.jaxpr import check_jaxpr, eval_jaxpr


def test_unused_work_is_removed_and_values_are_kept():
    def f(x):
        unused = jnp.exp(x) * 3.0
        used = jnp.sin(x)
        return used + 1.0, unused

    closed = fg.make_jaxpr(f)(np.ones(3, np.float32))
    assert [e.primitive.name for e in closed.eqns] == ["exp", "mul", "sin", "add"]
    pruned = dce_jaxpr(closed.jaxpr, [True, False])
    assert [e.primitive.name for e in pruned.eqns] == ["sin", "add"]
    check_jaxpr(pruned)
    x = np.linspace(0, 1, 3).astype(np.float32)
    (out,) = eval_jaxpr(pruned, closed.consts, x)
    np.testing.assert_allclose(out, np.sin(x) + 1.0, rtol=1e-6)


def test_everything_used_is_unchanged():
    closed = fg.make_jaxpr(lambda x: jnp.tanh(x) * x)(np.ones(2, np.float32))
    assert dce_jaxpr(closed.jaxpr).eqns == closed.jaxpr.eqns


def test_a_call_whose_body_prints_is_kept_even_when_unused(capsys):
    inner = fg.jit(lambda v: (fg.debug.print("v={}", v), v * 2.0)[1])
    x = np.ones(2, np.float32)
    closed = fg.make_jaxpr(lambda x: (inner(x), x + 1.0)[1])(x)
    pruned = dce_jaxpr(closed.jaxpr)
    assert [e.primitive.name for e in pruned.eqns] == ["closed_call", "add"]
    eval_jaxpr(pruned, closed.consts, x)
    assert capsys.readouterr().out == "v=[1. 1.]\n"
