"""Jit mode's machinery (funcgrad/test_util.py, `auto_jit` and `jit_everything`): a wrapped
function really runs through a compiled program at the top level, its static arguments key
the cache, calls under transforms run the original, and calls jit cannot stage run eagerly
with eager's errors. Trace counts come from a Python side effect in the wrapped function: a
call that does not run it was served by the compiled program."""

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import config
from funcgrad.core.trace import Tracer
from funcgrad.test_util import auto_jit, is_auto_jitted, jit_mode_requested


def counting(fun):
    """fun, and the list its calls append to (one entry per trace or eager run)."""
    calls = []

    def counted(*args, **kwargs):
        calls.append(args)
        return fun(*args, **kwargs)

    return counted, calls


def test_a_signature_is_traced_once_and_then_served_by_the_compiled_program():
    fun, calls = counting(lambda x, scale: jnp.sin(x) * scale)
    wrapped = auto_jit(fun)
    x = np.linspace(-1.0, 1.0, 5, dtype=np.float32)
    first, second = wrapped(x, 2.0), wrapped(x, 2.0)
    assert len(calls) == 1
    for got in (first, second):
        assert isinstance(got, funcgrad.Array) and got.dtype == np.float32
        np.testing.assert_allclose(np.asarray(got), np.sin(x) * 2.0, rtol=1e-6)


def test_arrays_are_traced_so_new_values_reuse_the_program():
    fun, calls = counting(lambda x: x * 3.0)
    wrapped = auto_jit(fun)
    a, b = np.arange(4.0, dtype=np.float32), np.ones(4, np.float32)
    np.testing.assert_array_equal(np.asarray(wrapped(a)), a * 3.0)
    np.testing.assert_array_equal(np.asarray(wrapped(jnp.asarray(b))), b * 3.0)
    np.testing.assert_array_equal(np.asarray(wrapped(np.float32(2.0))), np.float32(6.0))
    assert len(calls) == 2  # the scalar has a new shape; the second array reused the first trace


def test_static_arguments_key_the_cache_by_type_and_sign():
    fun, calls = counting(lambda x, c: x * c)
    wrapped = auto_jit(fun)
    x = np.ones(2, np.int32)
    for constant, dtype in [(1, np.int32), (1.0, np.float32), (True, np.int32)]:
        got = wrapped(x, constant)
        assert got.dtype == dtype, constant
        np.testing.assert_array_equal(np.asarray(got), np.ones(2, dtype))
    floats = x.astype(np.float32)
    assert not np.any(np.signbit(np.asarray(wrapped(floats, 0.0))))
    assert np.all(np.signbit(np.asarray(wrapped(floats, -0.0))))
    assert len(calls) == 5
    wrapped(x, 1.0)
    assert len(calls) == 5


def test_calls_under_a_transform_run_the_original():
    fun, calls = counting(lambda x: jnp.sin(x) * 2.0)
    wrapped = auto_jit(fun)
    closed = funcgrad.make_jaxpr(lambda x: wrapped(x) + 1.0)(np.ones(3, np.float32))
    assert [eqn.primitive.name for eqn in closed.jaxpr.eqns] == ["sin", "mul", "add"]
    funcgrad.grad(lambda x: wrapped(x).sum())(np.ones(3, np.float32))
    assert len(calls) == 2 and all(isinstance(args[0], Tracer) for args in calls)


def test_disable_jit_runs_the_original():
    fun, calls = counting(jnp.cos)
    wrapped = auto_jit(fun)
    previous = config.jax_disable_jit
    config.update("jax_disable_jit", True)
    try:
        wrapped(np.ones(2, np.float32))
        wrapped(np.ones(2, np.float32))
    finally:
        config.update("jax_disable_jit", previous)
    assert len(calls) == 2 and not isinstance(calls[0][0], Tracer)


def test_outputs_that_are_not_arrays_come_from_eager_calls():
    assert auto_jit(lambda x: x.shape)(np.ones((2, 3))) == (2, 3)
    assert auto_jit(jnp.ndim)(np.ones((2, 3))) == 2


def test_values_needed_concretely_fall_back_to_eager_calls():
    x = np.array([0.0, 1.0, 0.0, 2.0], np.float32)
    (got,) = auto_jit(jnp.nonzero)(x)
    np.testing.assert_array_equal(np.asarray(got), np.nonzero(x)[0])
    np.testing.assert_array_equal(np.asarray(auto_jit(lambda v: v[v > 0])(x)), x[x > 0])


def test_an_error_eager_calls_raise_too_reaches_the_caller_unchanged():
    add = getattr(jnp.add, "auto_jit_original", jnp.add)
    with pytest.raises(ValueError) as eager:
        add(np.ones(2), np.ones(3))
    with pytest.raises(ValueError) as jitted:
        auto_jit(add)(np.ones(2), np.ones(3))
    message = str(jitted.value)
    assert message.split("(at")[0] == str(eager.value).split("(at")[0]
    assert "test_jit_mode.py:" in message, message


def test_a_failure_only_under_jit_is_not_hidden():
    def fails_when_traced(x):
        if isinstance(x, Tracer):
            raise RuntimeError("this function refuses tracers")
        return x

    with pytest.raises(RuntimeError, match="refuses tracers") as info:
        auto_jit(fails_when_traced)(np.ones(2))
    assert any("succeeds without jit" in note for note in info.value.__notes__)


def test_jit_everything_follows_the_environment():
    jit_mode = jit_mode_requested()
    assert is_auto_jitted(jnp.sin) == jit_mode
    assert is_auto_jitted(funcgrad.lax.select) == jit_mode
    assert is_auto_jitted(funcgrad.grad(jnp.sin)) == jit_mode
    assert is_auto_jitted(funcgrad.Array.__add__) == jit_mode
    assert not is_auto_jitted(jnp.finfo) and not is_auto_jitted(funcgrad.jit)
    assert jnp.abs is jnp.absolute  # aliases share one wrapper


def test_functions_returned_by_transforms_are_jitted_in_jit_mode():
    fun, calls = counting(lambda x: (jnp.sin(x) ** 2).sum())
    gradient = funcgrad.grad(fun)
    x = np.linspace(0.0, 1.0, 4, dtype=np.float32)
    for _ in range(2):
        np.testing.assert_allclose(np.asarray(gradient(x)), np.sin(2 * x), rtol=1e-5)
    assert len(calls) == (1 if jit_mode_requested() else 2)
