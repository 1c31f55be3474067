"""A catalogue of the mistakes JAX users make most ("sharp bits"), each as funcgrad meets it.

Every mistake either raises funcgrad's error, whose message must name this file and line
(the user's code) and say what to do instead, or is documented behaviour (out-of-range
indices clamp, int32 wraps, a jnp.where hides NaN only from the forward pass), which the
test pins down with the values funcgrad gives. The README's "Sharp bits" section is a
summary of this file, one line per test.
"""

from __future__ import annotations

import dataclasses
import functools
import logging

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import errors, lax, random

HERE = r"test_mistakes\.py:\d+"


def raises_here(exc_type, *fix_words):
    """pytest.raises for `exc_type` whose message names this file's line and contains every
    fix word (regular expressions), anywhere."""
    pattern = "^" + "".join(rf"(?=[\s\S]*{w})" for w in (HERE, *fix_words))
    return pytest.raises(exc_type, match=pattern)


# ---------------------------------------------------------------------------------------
# Mutation and Python control flow


def test_in_place_update_eagerly():
    x = jnp.zeros(3)
    with raises_here(TypeError, r"x\.at\[idx\]\.set\(y\)"):
        x[0] = 1.0


def test_in_place_update_under_jit():
    def f(x):
        x[0] = 1.0
        return x

    with raises_here(TypeError, r"x\.at\[idx\]\.set\(y\)"):
        fg.jit(f)(jnp.zeros(3))


def test_python_if_on_a_traced_value():
    def relu(x):
        if x > 0:
            return x
        return 0.0 * x

    with raises_here(errors.TracerBoolConversionError, "lax.cond", "static_argnums"):
        fg.jit(relu)(1.0)


def test_python_while_on_a_traced_value():
    def double_until_ten(x):
        while x < 10:
            x = x * 2
        return x

    with raises_here(errors.ConcretizationTypeError, "lax.cond"):
        fg.jit(double_until_ten)(1.0)


def test_and_or_on_arrays_under_jit():
    def in_range(x):
        return (x > 0) and (x < 2)

    with raises_here(errors.TracerBoolConversionError, "where"):
        fg.jit(in_range)(jnp.ones(3))


def test_and_or_on_arrays_eagerly():
    x = jnp.ones(3)
    with raises_here(ValueError, r"a\.any\(\) or a\.all\(\)", "logical_and"):
        _ = (x > 0) and (x < 2)
    np.testing.assert_array_equal((x > 0) & (x < 2), [True, True, True])


# ---------------------------------------------------------------------------------------
# Tracers that escape, static arguments, methods


def test_tracer_leaked_into_a_global():
    saved = []

    def remember(x):
        saved.append(x)
        return x * 2

    fg.jit(remember)(1.0)
    with raises_here(errors.UnexpectedTracerError, "Return the value"):
        saved[0] + 1


def test_leaked_tracer_used_by_another_jitted_function():
    saved = []

    def remember(x):
        saved.append(x)
        return x

    fg.jit(remember)(1.0)
    with raises_here(errors.UnexpectedTracerError, "escaped"):
        fg.jit(lambda y: y + saved[0])(2.0)


def test_non_hashable_static_argument():
    scale = fg.jit(lambda x, factors: x * sum(factors), static_argnums=1)
    with raises_here(TypeError, "not hashable", "tuple instead of a list"):
        scale(1.0, [1.0, 2.0])
    assert float(scale(1.0, (1.0, 2.0))) == 3.0


def test_list_instead_of_tuple_for_a_static_shape():
    reshape = fg.jit(lambda x, shape: x.reshape(shape), static_argnums=1)
    with raises_here(TypeError, "tuple instead of a list"):
        reshape(jnp.ones(6), [2, 3])
    assert reshape(jnp.ones(6), (2, 3)).shape == (2, 3)


def test_jitted_method_with_a_mutable_self_keeps_the_old_attribute():
    # Documented: a static `self` keys the cache by its hash; an object hashed by identity
    # that changes an attribute does not retrace, so the old value stays compiled in.
    class Scaler:
        def __init__(self, factor):
            self.factor = factor

        @functools.partial(fg.jit, static_argnums=0)
        def apply(self, x):
            return x * self.factor

    scaler = Scaler(2.0)
    assert float(scaler.apply(1.0)) == 2.0
    scaler.factor = 3.0
    assert float(scaler.apply(1.0)) == 2.0  # stale: the fix is below

    # The fix: an immutable, value-hashed self (or pass the attribute as an argument).
    @dataclasses.dataclass(frozen=True)
    class FrozenScaler:
        factor: float

        @functools.partial(fg.jit, static_argnums=0)
        def apply(self, x):
            return x * self.factor

    assert float(FrozenScaler(2.0).apply(1.0)) == 2.0
    assert float(FrozenScaler(3.0).apply(1.0)) == 3.0


def test_jitted_method_without_a_static_self():
    class Scaler:
        factor = 2.0

        @fg.jit
        def apply(self, x):
            return x * self.factor

    # `self` is bound as argument 0 and is not an array: mark it static (or make the class
    # a pytree), as the message says.
    with raises_here(TypeError, "Scaler", "static_argnums"):
        Scaler().apply(1.0)


# ---------------------------------------------------------------------------------------
# Randomness


def test_key_reused_for_two_draws():
    def noisy(key):
        return random.normal(key) + random.normal(key)

    with raises_here(errors.KeyReuseError, r"random\.split"):
        fg.jit(noisy)(random.PRNGKey(0))


def test_raw_int_as_a_key():
    with raises_here(TypeError, r"PRNGKey\(seed\)"):
        random.normal(0)


# ---------------------------------------------------------------------------------------
# Shapes


def test_matmul_shape_mismatch():
    with raises_here(ValueError, "Transpose or reshape"):
        jnp.ones((2, 3)) @ jnp.ones((2, 3))


def test_matmul_shape_mismatch_under_jit():
    with raises_here(ValueError, "not aligned", "Transpose or reshape"):
        fg.jit(jnp.matmul)(jnp.ones((2, 3)), jnp.ones((2, 3)))


def test_broadcasting_mismatch():
    with raises_here(ValueError, "expand_dims"):
        jnp.ones(3) + jnp.ones(4)


def test_reshape_to_a_different_size():
    with raises_here(ValueError, "number of elements must stay the same"):
        jnp.ones(6).reshape(4, 2)


def test_shape_from_a_traced_value():
    with raises_here(errors.ConcretizationTypeError, "static_argnums"):
        fg.jit(lambda n: jnp.zeros(n))(3)
    assert fg.jit(lambda n: jnp.zeros(n), static_argnums=0)(3).shape == (3,)


def test_slice_with_a_traced_bound():
    with raises_here(IndexError, "dynamic_slice"):
        fg.jit(lambda x, n: x[:n])(jnp.arange(5.0), 2)


def test_dynamic_slice_with_a_traced_size():
    def head(x, n):
        return lax.dynamic_slice(x, (0,), (n,))

    with raises_here(errors.TracerIntegerConversionError, "static_argnums", "jnp.where"):
        fg.jit(head)(jnp.arange(5.0), 2)
    np.testing.assert_array_equal(fg.jit(head, static_argnums=1)(jnp.arange(5.0), 2), [0, 1])


# ---------------------------------------------------------------------------------------
# vmap axes


def test_vmap_over_axes_of_different_sizes():
    with raises_here(ValueError, "must have the same size"):
        fg.vmap(lambda a, b: a + b)(jnp.ones(3), jnp.ones(4))


def test_vmap_in_axes_out_of_range():
    with raises_here(ValueError, "out of range", r"Use an axis in \[-2, 2\), or None"):
        fg.vmap(lambda a: a, in_axes=2)(jnp.ones((3, 4)))


def test_vmap_in_axes_with_the_wrong_length():
    with raises_here(ValueError, "3 entries", "one entry per positional argument"):
        fg.vmap(lambda a, b: a, in_axes=(0, 0, 0))(jnp.ones(3), jnp.ones(3))


def test_vmap_out_axes_out_of_range():
    with raises_here(ValueError, r"Use an axis in \[-2, 2\)"):
        fg.vmap(lambda a: a, out_axes=2)(jnp.ones((3, 4)))
    assert fg.vmap(lambda a: a, out_axes=1)(jnp.ones((3, 4))).shape == (4, 3)


# ---------------------------------------------------------------------------------------
# Indexing


def test_boolean_mask_under_jit():
    with raises_here(errors.NonConcreteBooleanIndexError, "jnp.where"):
        fg.jit(lambda x: x[x > 0])(jnp.arange(3.0))
    np.testing.assert_array_equal(jnp.arange(3.0)[jnp.arange(3.0) > 0], [1.0, 2.0])


def test_float_index():
    with raises_here(IndexError, "integer"):
        jnp.arange(3.0)[1.0]


def test_float_index_array():
    with raises_here(IndexError, r"astype\(jnp\.int32\)"):
        jnp.arange(3.0)[jnp.array([1.0])]


def test_out_of_bounds_index_clamps_and_scatter_drops():
    # Documented: gathers clamp into range, scatters drop updates out of range; nothing raises.
    x = jnp.arange(3.0)
    assert float(x[10]) == 2.0
    assert float(fg.jit(lambda v: v[10])(x)) == 2.0
    np.testing.assert_array_equal(x.at[10].set(5.0), [0.0, 1.0, 2.0])
    np.testing.assert_array_equal(x.at[-1].set(5.0), [0.0, 1.0, 5.0])  # negative wraps once


# ---------------------------------------------------------------------------------------
# dtypes


def test_float64_is_narrowed_when_x64_is_off():
    # Documented, as in JAX: without jax_enable_x64, 64-bit inputs become 32-bit.
    assert jnp.asarray(np.float64(0.1)).dtype == np.float32
    assert jnp.asarray(np.arange(3, dtype=np.int64)).dtype == np.int32


def test_python_int_too_large_for_int32_when_x64_is_off():
    with raises_here(OverflowError, "jax_enable_x64"):
        jnp.array(2**40)


def test_python_int_fits_when_x64_is_on(x64):
    assert int(jnp.array(2**40)) == 2**40


def test_int32_overflow_wraps():
    # Documented: integer arithmetic wraps around (two's complement), as in NumPy and XLA.
    big = jnp.array(2**31 - 1, jnp.int32)
    assert int(big + 1) == -(2**31)
    assert int(fg.jit(lambda v: v + 1)(big)) == -(2**31)


# ---------------------------------------------------------------------------------------
# Differentiation


def test_nan_from_where_under_grad():
    # Documented: both branches of jnp.where are differentiated, so sqrt's infinite slope
    # at 0 turns into NaN even though the forward pass never uses that branch.
    def unsafe(x):
        return jnp.where(x > 0, jnp.sqrt(x), 0.0)

    def safe(x):  # the double where: guard the input of the discarded branch too
        guarded = jnp.where(x > 0, x, 1.0)
        return jnp.where(x > 0, jnp.sqrt(guarded), 0.0)

    assert float(unsafe(0.0)) == 0.0
    assert np.isnan(float(fg.grad(unsafe)(0.0)))
    assert float(fg.grad(safe)(0.0)) == 0.0
    assert float(fg.grad(safe)(4.0)) == 0.25
    # The explanation is where users look: jnp.where's docstring and the NaN checker.
    assert "second where" in jnp.where.__doc__


def test_nan_checker_explains_the_double_where(debug_nans_on):
    def unsafe(x):
        return jnp.where(x > 0, jnp.sqrt(x), 0.0)

    with pytest.raises(FloatingPointError, match=HERE + r"[\s\S]*double where"):
        fg.grad(unsafe)(0.0)


def test_grad_of_a_non_scalar_output():
    with raises_here(TypeError, "scalar output", r"\.sum\(\)", "jacrev"):
        fg.grad(lambda x: x * 2.0)(jnp.ones(3))


def test_grad_with_respect_to_an_integer():
    with raises_here(TypeError, "int32", "float"):
        fg.grad(lambda x: x * 2)(3)
    assert float(fg.grad(lambda x: x * 2)(3.0)) == 2.0


def test_grad_argnums_out_of_range():
    with raises_here(ValueError, "out of range", "from 0 to 0"):
        fg.grad(lambda x: x, argnums=2)(1.0)


def test_jvp_with_bare_arrays_instead_of_tuples():
    with raises_here(TypeError, r"jvp\(f, \(x,\), \(t,\)\)"):
        fg.jvp(jnp.sin, jnp.ones(3), jnp.ones(3))


def test_vjp_cotangent_of_the_wrong_shape():
    _, pullback = fg.vjp(jnp.sin, jnp.ones(3))
    with raises_here(ValueError, r"should have shape \(3,\)"):
        pullback(jnp.ones(2))


def test_has_aux_function_returning_one_value():
    with raises_here(TypeError, r"pair \(output, auxiliary_data\)"):
        fg.grad(lambda x: x * 2.0, has_aux=True)(1.0)


# ---------------------------------------------------------------------------------------
# Pytrees and non-array values


def test_string_leaf_in_a_pytree_argument():
    with raises_here(TypeError, "static_argnums"):
        fg.jit(lambda d: d["w"])({"w": 1.0, "name": "layer"})


def test_string_leaf_under_grad():
    with raises_here(TypeError, "close over"):
        fg.grad(lambda d: d["w"])({"w": 1.0, "name": "layer"})


def test_tree_map_over_mismatched_structures():
    with raises_here(ValueError, r"expected \(\*, \*\), got \[\*, \*\]"):
        fg.tree_util.tree_map(lambda a, b: a + b, (1, 2), [1, 2])


def test_tree_map_over_different_dict_keys():
    with raises_here(ValueError, "first tree's structure"):
        fg.tree_util.tree_map(lambda a, b: a + b, {"a": 1}, {"b": 1})


# ---------------------------------------------------------------------------------------
# Leaving the traced world


def test_numpy_function_applied_to_a_tracer():
    with raises_here(errors.TracerArrayConversionError, "funcgrad.numpy"):
        fg.jit(lambda x: np.sin(x))(1.0)


@pytest.mark.parametrize("convert", [float, int, complex, bool])
def test_python_number_from_a_tracer(convert):
    with raises_here(TypeError, "static"):
        fg.jit(lambda x: convert(x))(1.0)


def test_item_of_a_tracer():
    with raises_here(errors.ConcretizationTypeError, r"\.item\(\)", "static"):
        fg.jit(lambda x: x.item())(1.0)
    assert jnp.asarray(1.5).item() == 1.5


def test_numpy_view_of_an_array_is_read_only():
    # Documented: np.asarray(x) shares x's buffer, which is immutable.
    view = np.asarray(jnp.ones(3))
    with pytest.raises(ValueError, match="read-only"):
        view[0] = 5.0
    copy = np.array(jnp.ones(3))
    copy[0] = 5.0
    assert copy[0] == 5.0


# ---------------------------------------------------------------------------------------
# Control-flow primitives


def test_scan_carry_that_changes_dtype():
    with raises_here(TypeError, r"astype"):
        lax.scan(lambda c, x: (c + x, x), 0, jnp.ones(3))
    carry, _ = lax.scan(lambda c, x: (c + x, x), 0.0, jnp.ones(3))
    assert float(carry) == 3.0


def test_scan_carry_that_changes_shape():
    with raises_here(TypeError, r"f32\[\][\s\S]*f32\[2\]", "fixed"):
        lax.scan(lambda c, x: (jnp.stack([c, c]), x), jnp.zeros(()), jnp.ones(3))


def test_cond_branches_with_different_types():
    with raises_here(TypeError, "same types"):
        lax.cond(True, lambda x: x, lambda x: x.astype(jnp.int32), 1.0)


def test_switch_branches_with_different_shapes():
    with raises_here(TypeError, "switch: the branches", "same types"):
        lax.switch(0, [lambda x: x, lambda x: x[None]], 1.0)


def test_fori_loop_with_float_bounds():
    with raises_here(TypeError, "Pass Python ints"):
        lax.fori_loop(0.0, 3.0, lambda i, c: c + i, 0.0)


def test_while_loop_with_an_array_condition():
    with raises_here(TypeError, "scalar bool", "i < n"):
        lax.while_loop(lambda c: c < 3, lambda c: c + 1, jnp.zeros(2))


# ---------------------------------------------------------------------------------------
# jit usage


def test_jit_of_a_result_instead_of_a_function():
    with raises_here(TypeError, r"jit\(f\), not jit\(f\(x\)\)"):
        fg.jit(jnp.sin(1.0))


def test_donated_argument_used_again():
    double = fg.jit(lambda x: x * 2.0, donate_argnums=0)
    x = jnp.ones(3)
    double(x)
    with raises_here(RuntimeError, "donated", "outputs"):
        x + 1.0


def test_recompilation_on_every_call_is_explained(explain_on, caplog):
    # Documented: each new input shape traces and compiles again; the explainer says why.
    double = fg.jit(lambda x: x * 2.0)
    with caplog.at_level(logging.WARNING, logger="funcgrad"):
        for n in range(1, 4):
            double(jnp.ones(n))
    messages = [r.getMessage() for r in caplog.records if r.name == "funcgrad"]
    assert len(messages) == 2
    for message in messages:
        assert "TRACING CACHE MISS" in message
        assert "argument x changed shape" in message
        assert __file__ in message  # where the function was defined
    assert double.trace_count == 3
