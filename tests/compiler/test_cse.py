"""CSE merges equations that compute the same thing, and only those: the rewritten program
has exactly the hand-counted equations, type-checks and gives the original's values."""

import effect_primitive
import numpy as np
from pass_check import run_checked

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.compiler.passes.cse import cse
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import (
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Var,
    eval_jaxpr,
)
from funcgrad.lax.elementwise import sin_p

rng = np.random.default_rng(7)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def _cse_checked(fun, *args):
    """CSE of make_jaxpr(fun)(*args), checked (pass_check.run_checked)."""
    return run_checked(cse, fun, *args)[1]


def _names(closed) -> list[str]:
    return [e.primitive.name for e in closed.eqns]


def test_repeated_sin_is_computed_once():
    merged = _cse_checked(lambda x: jnp.sin(x) * 2.0 + jnp.sin(x) * 2.0, f32(3))
    assert _names(merged) == ["sin", "mul", "add"]
    sin, mul, add = merged.eqns
    assert mul.invars[0] is sin.outvars[0]
    assert add.invars[0] is add.invars[1] is mul.outvars[0]


def test_different_params_are_not_merged():
    def fun(x):
        return (
            x.sum(axis=0),
            x.sum(axis=1),
            x.sum(axis=0),
            x.astype(jnp.int32),
            x.astype(jnp.int16),
            x.astype(jnp.int32),
        )

    merged = _cse_checked(fun, f32(3, 3))
    assert _names(merged) == ["reduce_sum", "reduce_sum"] + ["convert_element_type"] * 2
    sum0, sum1, to_i32, to_i16 = (e.outvars[0] for e in merged.eqns)
    assert merged.jaxpr.outvars == (sum0, sum1, sum0, to_i32, to_i16, to_i32)


def test_literals_are_compared_by_type_and_bits():
    def fun(x, n):
        return x + 0.0, x + (-0.0), x + 0.0, n * 2, n * 2

    merged = _cse_checked(fun, f32(3), np.arange(3, dtype=np.int32))
    assert _names(merged) == ["add", "add", "mul"]


def test_multiple_result_primitives():
    def fun(x):
        values, indices = lax.top_k(x, 2)
        again_values, again_indices = lax.top_k(x, 2)
        other, _ = lax.top_k(x, 3)
        return values + again_values, indices - again_indices, other

    merged = _cse_checked(fun, f32(5))
    assert _names(merged) == ["top_k", "top_k", "add", "sub"]
    first, _, add, sub = merged.eqns
    assert add.invars == (first.outvars[0], first.outvars[0])
    assert sub.invars == (first.outvars[1], first.outvars[1])


def test_outputs_that_become_the_same_var():
    merged = _cse_checked(lambda x: (jnp.exp(x), jnp.exp(x)), f32(2))
    (exp,) = merged.eqns
    assert merged.jaxpr.outvars == (exp.outvars[0], exp.outvars[0])


def test_chains_merge_through_earlier_merges():
    merged = _cse_checked(lambda x: jnp.tanh(jnp.cos(x)) - jnp.tanh(jnp.cos(x)), f32(4))
    assert _names(merged) == ["cos", "tanh", "sub"]


def test_side_effects_are_never_merged():
    def fun(x):
        return effect_primitive.effect_p.bind(x) + effect_primitive.effect_p.bind(x)

    merged = _cse_checked(fun, f32(2))
    assert _names(merged) == ["test_effect", "test_effect", "add"]
    effect_primitive.runs.clear()
    eval_jaxpr(merged.jaxpr, merged.consts, f32(2))
    assert len(effect_primitive.runs) == 2


def test_calls_of_one_body_merge_unless_the_body_has_effects():
    pure = fg.jit(jnp.sin)
    merged = _cse_checked(lambda x: pure(x) + pure(x), f32(2))
    assert _names(merged) == ["closed_call", "add"]
    effectful = fg.jit(lambda v: effect_primitive.effect_p.bind(v) * 2.0)
    merged = _cse_checked(lambda x: effectful(x) + effectful(x), f32(2))
    assert _names(merged) == ["closed_call", "closed_call", "add"]


def test_equal_consts_are_merged_and_different_ones_kept():
    a, b, c = np.arange(6.0).reshape(2, 3), np.arange(6.0).reshape(2, 3), np.ones((2, 3))
    merged = _cse_checked(lambda x: x * a + x * b + x * c, f32(2, 3))
    assert len(merged.consts) == 2 and len(merged.jaxpr.constvars) == 2
    np.testing.assert_array_equal(np.asarray(merged.consts[0]), a)
    np.testing.assert_array_equal(np.asarray(merged.consts[1]), c)
    assert _names(merged) == ["mul", "add", "mul", "add"]


def test_results_of_different_avals_are_not_merged():
    # Same primitive, operand and params, but the equations bind results of different weak
    # types: the readers of each must keep seeing their own type.
    x = Var(ShapedArray((2,), np.float32))
    strong, weak = Var(ShapedArray((2,), np.float32)), Var(ShapedArray((2,), np.float32, True))
    jaxpr = Jaxpr(
        (),
        (x,),
        (strong, weak),
        (JaxprEqn(sin_p, (x,), (strong,), {}), JaxprEqn(sin_p, (x,), (weak,), {})),
    )
    merged = cse(ClosedJaxpr(jaxpr, ()))
    assert merged.jaxpr.outvars == (strong, weak) and len(merged.eqns) == 2


def test_values_equal_eager_on_a_bigger_program():
    w, x = f32(3, 4), f32(2, 3)

    def mlp(w, x):
        h = jnp.tanh(x @ w)
        return (jnp.tanh(x @ w) * h).sum() + h.mean(axis=0), jnp.maximum(x @ w, 0.0)

    merged = _cse_checked(mlp, w, x)
    assert _names(merged).count("dot_general") == 1
    assert _names(merged).count("tanh") == 1
    value, relu = eval_jaxpr(merged.jaxpr, merged.consts, w, x)
    h = np.tanh(x @ w)
    np.testing.assert_allclose(np.asarray(value), (h * h).sum() + h.mean(axis=0), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(relu), np.maximum(x @ w, 0), rtol=1e-6)
