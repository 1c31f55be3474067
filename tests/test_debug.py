"""funcgrad.debug.print: the runtime values, formatted as NumPy formats them, printed
eagerly, on every call of a jitted function, once with primal values under grad and once
per example under vmap. Each expected text is built from NumPy arrays of the same values."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import check_jaxpr

X = np.array([0.5, -1.25, 3.0], np.float32)
M = np.arange(6, dtype=np.float32).reshape(2, 3)


def lines(*texts: str) -> str:
    return "".join(text + "\n" for text in texts)


def print_and_double(x):
    fg.debug.print("x = {}", x)
    return x * 2


def test_eager_print_formats_like_numpy(capsys):
    ints = np.array([[1, 2], [3, 4]], np.int32)
    fg.debug.print("{} and {y} and {z:.3f}", X, y=ints, z=np.float32(2.5))
    expected = "{} and {y} and {z:.3f}".format(X, y=ints, z=np.float32(2.5))
    assert capsys.readouterr().out == lines(expected)


def test_pytree_arguments_are_printed_as_pytrees(capsys):
    params = {"b": np.float32(1.0), "w": X}
    fg.debug.print("{p[w]} {p[b]} {0[1]}", (np.int32(7), M), p=params)
    assert capsys.readouterr().out == lines(f"{X} {np.float32(1.0)} {M}")


def test_repr_conversion_shows_a_funcgrad_array(capsys):
    fg.debug.print("{!r}", X)
    assert capsys.readouterr().out == lines(repr(jnp.asarray(X)))


def test_python_scalars_are_printed(capsys):
    fg.debug.print("{} {} {}", 3, 2.5, True)
    assert capsys.readouterr().out == lines(
        f"{np.array(3, np.int32)} {np.array(2.5, np.float32)} {np.array(True)}"
    )


def test_non_array_argument_is_a_type_error_naming_it():
    with pytest.raises(TypeError, match=r"debug.print: args\[1\] is a str.*test_debug.py"):
        fg.debug.print("{} {}", X, "label")


def test_jit_prints_runtime_values_on_every_call(capsys):
    jitted = fg.jit(print_and_double)
    jitted(X)
    jitted(X + 1)
    jitted(M[0])
    assert jitted.trace_count == 1
    assert capsys.readouterr().out == lines(f"x = {X}", f"x = {X + 1}", f"x = {M[0]}")


def test_jit_keeps_a_print_of_an_otherwise_unused_value(capsys):
    def f(x):
        unused = jnp.sin(x)
        fg.debug.print("sin = {}", unused)
        return x

    jitted = fg.jit(f)
    for _ in range(2):
        np.testing.assert_array_equal(np.asarray(jitted(X)), X)
    expected = f"sin = {np.sin(X)}"
    assert capsys.readouterr().out == lines(expected, expected)


def test_prints_keep_program_order_under_jit(capsys):
    def f(x):
        fg.debug.print("first {}", x)
        y = x + 1
        fg.debug.print("second {}", y)
        fg.debug.print("third {}", x)
        return y

    fg.jit(f)(X)
    assert capsys.readouterr().out == lines(f"first {X}", f"second {X + 1}", f"third {X}")


def test_print_is_staged_as_one_side_effecting_equation_without_outputs():
    closed = fg.make_jaxpr(print_and_double)(X)
    check_jaxpr(closed)
    (printing, _) = closed.eqns
    assert printing.primitive.name == "debug_print"
    assert printing.primitive.has_side_effects
    assert printing.outvars == () and printing.invars == (closed.jaxpr.invars[0],)
    assert printing.source_info.lineno == print_and_double.__code__.co_firstlineno + 1


def test_nothing_is_printed_at_trace_time(capsys):
    fg.make_jaxpr(print_and_double)(X)
    assert capsys.readouterr().out == ""


def test_grad_prints_primal_values_once_and_adds_no_tangent(capsys):
    def loss(x):
        return jnp.sum(print_and_double(x) ** 2)

    gradient = fg.grad(loss)(X)
    np.testing.assert_allclose(np.asarray(gradient), 8 * X)  # d/dx (2x)^2
    assert capsys.readouterr().out == lines(f"x = {X}")


def test_jvp_prints_primal_values(capsys):
    primal, tangent = fg.jvp(print_and_double, (X,), (np.ones(3, np.float32),))
    np.testing.assert_array_equal(np.asarray(tangent), np.full(3, 2, np.float32))
    assert capsys.readouterr().out == lines(f"x = {X}")


def test_grad_of_jit_prints_once(capsys):
    fg.grad(lambda x: jnp.sum(fg.jit(print_and_double)(x)))(X)
    assert capsys.readouterr().out == lines(f"x = {X}")


def test_vmap_prints_each_example_in_batch_order(capsys):
    out = fg.vmap(print_and_double)(M)
    np.testing.assert_array_equal(np.asarray(out), 2 * M)
    assert capsys.readouterr().out == lines(f"x = {M[0]}", f"x = {M[1]}")


def test_vmap_over_a_later_axis_with_an_unbatched_argument(capsys):
    fg.vmap(lambda a, b: fg.debug.print("{} {}", a, b), in_axes=(1, None))(M, np.int32(7))
    seven = np.int32(7)
    assert capsys.readouterr().out == lines(*(f"{M[:, j]} {seven}" for j in range(3)))


def test_nested_vmap_prints_row_major(capsys):
    fg.vmap(fg.vmap(print_and_double))(M)
    assert capsys.readouterr().out == lines(*(f"x = {v}" for v in M.reshape(-1)))


def test_jit_of_vmap_prints_each_example_per_call(capsys):
    jitted = fg.jit(fg.vmap(print_and_double))
    jitted(M)
    jitted(M + 10)
    expected = [f"x = {row}" for row in (*M, *(M + 10))]
    assert capsys.readouterr().out == lines(*expected)
