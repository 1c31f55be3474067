"""jax_debug_nans: eager primitives and jitted programs that make a NaN from NaN-free
values raise FloatingPointError naming the primitive, the operand types and the user's
line; a NaN passed in is reported as such; with the flag off nothing is checked."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import config
from funcgrad.compiler import debug_nans, jit

NEGATIVE = np.array([-1.0, 2.0, 4.0], np.float32)
POSITIVE = np.array([1.0, 2.0, 4.0], np.float32)
with np.errstate(invalid="ignore"):
    LOG_OF_NEGATIVE = np.log(NEGATIVE)


def line_of(fun, offset: int) -> str:
    """`test_debug_nans.py:N`, N being the line `offset` lines below `def fun`."""
    return f"test_debug_nans.py:{fun.__code__.co_firstlineno + offset}"


def log_times_zero(x):
    y = jnp.log(x)
    return y * 0


def sqrt_then_log(x):
    root = jnp.sqrt(x)
    return jnp.log(root) + x


def test_jit_names_the_log_line_and_the_function(debug_nans_on):
    with pytest.raises(FloatingPointError) as info:
        fg.jit(log_times_zero)(NEGATIVE)
    message = str(info.value)
    assert "encountered in log at" in message
    assert line_of(log_times_zero, 1) in message
    assert "jit(log_times_zero)" in message and "f32[3]" in message
    assert "jax_debug_nans" in message


def test_jit_names_the_first_equation_not_the_ones_the_nan_flows_through(debug_nans_on):
    with pytest.raises(FloatingPointError) as info:
        fg.jit(sqrt_then_log)(NEGATIVE)
    message = str(info.value)
    assert "encountered in sqrt at" in message and line_of(sqrt_then_log, 1) in message


def test_jit_without_nans_runs_and_returns_the_values(debug_nans_on):
    out = fg.jit(log_times_zero)(POSITIVE)
    np.testing.assert_array_equal(np.asarray(out), np.log(POSITIVE) * 0)


def test_jit_nan_passed_in_is_reported_as_an_input(debug_nans_on):
    with_nan = np.array([1.0, np.nan], np.float32)
    with pytest.raises(FloatingPointError, match=r"came in from outside, in input 0 \(f32\[2\]\)"):
        fg.jit(lambda x: x + 1)(with_nan)


def test_jit_checks_only_its_outputs(debug_nans_on):
    # The NaN of the discarded branch never leaves the program, as in JAX under jit.
    out = fg.jit(lambda x: jnp.where(x > 0, jnp.log(x), 0.0))(NEGATIVE)
    np.testing.assert_array_equal(np.asarray(out), np.where(NEGATIVE > 0, np.log(POSITIVE), 0))


def test_eager_primitive_names_itself_its_operands_and_line(debug_nans_on):
    def f(x):
        return jnp.log(x)

    with pytest.raises(FloatingPointError) as info:
        f(NEGATIVE)
    message = str(info.value)
    assert message.startswith("invalid value (NaN) encountered in log at ")
    assert line_of(f, 1) in message and "operands (f32[3])" in message
    assert "jnp.where" in message  # the fix


@pytest.mark.eager_only(
    "an eager primitive blames itself only for NaNs it makes; a jitted function whose output "
    "holds a NaN that came in raises, saying so (test_jit_nan_passed_in_is_reported_...)"
)
def test_eager_nan_from_a_nan_operand_is_not_blamed_again(debug_nans_on):
    out = jnp.log(np.array([np.nan, 1.0], np.float32))
    assert np.isnan(np.asarray(out)[0])


def test_eager_integer_results_are_not_checked(debug_nans_on):
    out = jnp.floor_divide(np.array([7], np.int32), np.array([2], np.int32))
    assert np.asarray(out).tolist() == [3]


def test_check_recurses_into_a_nested_call_body():
    def inner(x):
        return jnp.log(x) * 0

    closed = fg.make_jaxpr(lambda x: fg.jit(inner)(x) + 1)(NEGATIVE)
    assert [e.primitive.name for e in closed.eqns] == ["closed_call", "add"]
    outs = [LOG_OF_NEGATIVE * 0 + 1]
    with pytest.raises(FloatingPointError) as info:
        debug_nans.check_for_nans("outer", closed, [NEGATIVE], outs)
    message = str(info.value)
    assert "encountered in log at" in message and line_of(inner, 1) in message
    assert "jit(outer)" in message


def test_check_does_not_run_prints_again(capsys):
    def f(x):
        fg.debug.print("x = {}", x)
        return jnp.log(x)

    closed = fg.make_jaxpr(f)(NEGATIVE)
    with pytest.raises(FloatingPointError, match="encountered in log"):
        debug_nans.check_for_nans("f", closed, [NEGATIVE], [LOG_OF_NEGATIVE])
    assert capsys.readouterr().out == ""


def test_flag_off_means_no_error_and_no_check(monkeypatch):
    assert not config.jax_debug_nans

    def must_not_run(*args, **kwargs):
        raise AssertionError("a NaN check ran with jax_debug_nans off")

    monkeypatch.setattr(jit, "check_for_nans", must_not_run)
    monkeypatch.setattr(debug_nans, "check_eager_result", must_not_run)
    assert np.isnan(np.asarray(fg.jit(log_times_zero)(NEGATIVE))[0])
    assert np.isnan(np.asarray(log_times_zero(NEGATIVE))[0])
