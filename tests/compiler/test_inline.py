"""Inlining splices the bodies of closed_call, custom_jvp_call, custom_vjp_call and remat_call
into the program: no call is left, the result type-checks, and it computes what the original
program computes (checked against NumPy on random inputs)."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.compiler.passes.inline import INLINED_PRIMITIVES, inline
from funcgrad.core.jaxpr import ClosedJaxpr, check_jaxpr, eval_jaxpr, pp_jaxpr
from funcgrad.lax.control_flow import closed_call_p

rng = np.random.default_rng(5)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def _call_names(jaxpr) -> list[str]:
    """Names of call primitives anywhere in `jaxpr`, sub-jaxprs included."""
    names = []
    for eqn in jaxpr.eqns:
        if eqn.primitive in INLINED_PRIMITIVES:
            names.append(eqn.primitive.name)
        for value in eqn.params.values():
            if isinstance(value, ClosedJaxpr):
                names += _call_names(value.jaxpr)
    return names


def _inline_checked(fun, *args):
    """Inline make_jaxpr(fun)(*args): check it has no calls, type-checks, left its input
    alone and computes the original's values. Returns (inlined, values)."""
    closed = fg.make_jaxpr(fun)(*args)
    before = pp_jaxpr(closed.jaxpr)
    assert _call_names(closed.jaxpr), "the test program should contain a call"
    inlined = inline(closed)
    assert pp_jaxpr(closed.jaxpr) == before
    assert _call_names(inlined.jaxpr) == []
    check_jaxpr(inlined)
    expected = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    got = eval_jaxpr(inlined.jaxpr, inlined.consts, *args)
    assert [v.aval for v in inlined.jaxpr.outvars] == [v.aval for v in closed.jaxpr.outvars]
    for g, e in zip(got, expected):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-6, atol=1e-6)
    return inlined, [np.asarray(g) for g in got]


def _names(closed) -> list[str]:
    return [e.primitive.name for e in closed.eqns]


def test_jit_inside_jit_called_twice():
    inner = fg.jit(lambda v: jnp.sin(v) * 2.0)
    outer = fg.jit(lambda v: inner(inner(v)) + 1.0)
    x = f32(4)
    inlined, (out,) = _inline_checked(outer, x)
    assert _names(inlined) == ["sin", "mul", "sin", "mul", "add"]
    np.testing.assert_allclose(out, np.sin(np.sin(x) * 2) * 2 + 1, rtol=1e-5)


def test_nested_calls_three_deep_with_multiple_outputs():
    level3 = fg.jit(lambda v: (jnp.exp(v), v))  # a result that is just an input
    level2 = fg.jit(lambda v: level3(v * 3.0))

    def body1(v, w):
        e, u = level2(v)
        return e + u - w

    level1 = fg.jit(body1)
    x, y = f32(3), f32(3)
    inlined, (out,) = _inline_checked(level1, x, y)
    assert _names(inlined) == ["mul", "exp", "add", "sub"]
    np.testing.assert_allclose(out, np.exp(3 * x) + 3 * x - y, rtol=1e-5)


@fg.custom_jvp
def _softplus(x):
    return jnp.log1p(jnp.exp(x))


@_softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _softplus(x), t * fg.nn.sigmoid(x)


def test_value_and_grad_of_custom_jvp_function():
    x = f32(5)
    inlined, (value, grad) = _inline_checked(fg.value_and_grad(lambda v: _softplus(v).sum()), x)
    np.testing.assert_allclose(value, np.log1p(np.exp(x)).sum(), rtol=1e-5)
    np.testing.assert_allclose(grad, 1 / (1 + np.exp(-x)), rtol=1e-5)


@fg.custom_vjp
def _clipped_identity(x):
    return x * 1.0


_clipped_identity.defvjp(lambda x: (x * 1.0, None), lambda res, g: (jnp.clip(g, -0.5, 0.5),))


def test_custom_vjp_function():
    x = f32(4)
    _, (out,) = _inline_checked(lambda v: _clipped_identity(v) * 3.0, x)
    np.testing.assert_allclose(out, 3 * x, rtol=1e-6)


def test_checkpointed_function_and_its_jvp():
    layer = fg.checkpoint(lambda v: jnp.sin(jnp.sin(v)))
    x, t = f32(3), f32(3)
    inlined, (out,) = _inline_checked(layer, x)
    assert _names(inlined) == ["sin", "sin"]
    np.testing.assert_allclose(out, np.sin(np.sin(x)), rtol=1e-6)
    _, (primal, tangent) = _inline_checked(lambda v, dv: fg.jvp(layer, (v,), (dv,)), x, t)
    np.testing.assert_allclose(primal, np.sin(np.sin(x)), rtol=1e-6)
    np.testing.assert_allclose(tangent, np.cos(np.sin(x)) * np.cos(x) * t, rtol=1e-5)


def test_value_and_grad_of_jit_of_checkpoint():
    loss = fg.jit(lambda w, v: fg.checkpoint(lambda a: jnp.tanh(a * w))(v).sum())
    w, x = f32(3), f32(3)
    _, (value, grad) = _inline_checked(fg.value_and_grad(loss), w, x)
    np.testing.assert_allclose(value, np.tanh(x * w).sum(), rtol=1e-5)
    np.testing.assert_allclose(grad, (1 - np.tanh(x * w) ** 2) * x, rtol=1e-5)


def test_body_consts_become_outer_consts():
    table = f32(2, 3)
    body = fg.make_jaxpr(lambda v: v * table)(f32(3))
    assert len(body.consts) == 1
    x = f32(3)
    inlined, (out,) = _inline_checked(lambda v: closed_call_p.bind(v, call_jaxpr=body)[0], x)
    assert len(inlined.consts) == 1 and inlined.consts[0] is body.consts[0]
    np.testing.assert_allclose(out, x * table, rtol=1e-6)


def test_equations_keep_their_source_info():
    inner = fg.jit(lambda v: jnp.cos(v))
    closed = fg.make_jaxpr(lambda v: inner(v) + 1.0)(f32(2))
    (call,) = [e for e in closed.eqns if e.primitive is closed_call_p]
    body_info = call.params["call_jaxpr"].eqns[0].source_info
    inlined = inline(closed)
    assert inlined.eqns[0].source_info is body_info
    assert inlined.eqns[1].source_info is closed.eqns[1].source_info


def test_program_without_calls_is_returned_as_is():
    closed = fg.make_jaxpr(lambda v: jnp.sin(v) + 1.0)(f32(2))
    assert inline(closed) is closed


def test_expansions_replace_their_equation():
    from funcgrad.compiler.passes.inline import EXPANSIONS
    from funcgrad.lax.random_bits import threefry2x32, threefry2x32_p

    assert threefry2x32_p in EXPANSIONS
    words = [np.uint32(7), np.uint32(9)] + [
        rng.integers(0, 2**32, size=(2, 3), dtype=np.uint64).astype(np.uint32) for _ in range(2)
    ]
    closed = fg.make_jaxpr(lambda *w: threefry2x32(*w))(*words)
    assert _names(closed) == ["threefry2x32"]
    inlined = inline(closed)
    check_jaxpr(inlined)
    names = set(_names(inlined))
    assert "threefry2x32" not in names
    assert names <= {"add", "xor", "or", "shift_left", "shift_right_logical", "broadcast_in_dim"}
    expected = [np.asarray(v) for v in threefry2x32(*words)]  # the NumPy implementation
    got = eval_jaxpr(inlined.jaxpr, inlined.consts, *words)
    for g, e in zip(got, expected):
        np.testing.assert_array_equal(np.asarray(g), e)
    assert inline(inlined) is inlined
