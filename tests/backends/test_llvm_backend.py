"""The LLVM backend against the NumPy backend: the same programs, the same values, over
empty, size-1, prime, broadcast and non-contiguous shapes, and a fuzz over random shapes;
kernels are vectorized, and groups it cannot lower fall back to NumPy kernels."""

import numpy as np
import pytest
from llvm_harness import float_lanes

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax


@pytest.fixture(autouse=True)
def every_group_native(monkeypatch):
    """Lower every group, however small (the default threshold keeps tiny ones in NumPy)."""
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")


rng = np.random.default_rng(17)


def sample(shape, dtype=np.float32):
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-50, 50, size=shape).astype(dtype)
    return rng.normal(size=shape).astype(dtype)


def both_backends(fun, *args):
    native = fg.jit(fun, backend="llvm")
    reference = fg.jit(fun, backend="numpy")
    return native(*args), reference(*args), native


def assert_same(got, want, rtol=1e-6, atol=1e-6):
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        g, w = np.asarray(g), np.asarray(w)
        assert g.dtype == w.dtype and g.shape == w.shape
        if g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol)


def native_groups(jitted, *args) -> int:
    compiled = jitted.lower(*args).compile()
    return len(compiled.program.natives)


ELEMENTWISE = [
    ("arith", lambda x, y: (x * y + 1.0) / (y * y + 2.0) - x),
    ("where", lambda x, y: jnp.where(x > y, x, -y * 3.0)),
    ("minmax", lambda x, y: jnp.maximum(x, y) + jnp.minimum(x, 0.5)),
    ("compare and cast", lambda x, y: (x < y).astype(jnp.float32) + (x == x).astype(jnp.float32)),
    ("abs floor sqrt", lambda x, y: jnp.floor(jnp.abs(x) * 4.0) + jnp.sqrt(jnp.abs(y))),
    ("integer_pow", lambda x, y: x**3 + y**2),
]
SHAPES = [(), (1,), (0,), (7,), (3, 1), (13, 17), (2, 0, 3), (5, 4099)]


@pytest.mark.parametrize("name, fun", ELEMENTWISE, ids=[e[0] for e in ELEMENTWISE])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_elementwise_groups_match_numpy(name, fun, shape):
    x, y = sample(shape), sample(shape)
    got, want, jitted = both_backends(fun, x, y)
    assert_same(got, want)
    if 0 not in shape:
        assert native_groups(jitted, x, y) >= 1


def test_broadcast_operands_are_read_in_place():
    x, row, col = sample((6, 9)), sample((9,)), sample((6, 1))
    got, want, jitted = both_backends(lambda x, r, c: x * r + c - 2.0 * x, x, row, col)
    assert_same(got, want)
    assert native_groups(jitted, x, row, col) == 1


def test_transposed_and_sliced_inputs_are_read_through_their_strides():
    x = sample((8, 12))

    def g(x):
        # A transpose (a strided view from a NumPy step) feeding an elementwise group.
        return lax.transpose(x, (1, 0)) * 2.0 + 1.0

    got, want, _ = both_backends(g, x)
    assert_same(got, want)
    sliced = lambda x: x[1:7:2, ::3] * 2.0 + 1.0  # noqa: E731
    got, want, _ = both_backends(sliced, x)
    assert_same(got, want)


@pytest.mark.parametrize("axes", [(1,), (0,), (0, 1), (1, 2), (0, 2)], ids=str)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int32], ids=lambda d: d.__name__)
def test_reductions_fused_with_their_producers(axes, dtype, x64):
    x = sample((5, 7, 3), dtype)

    def f(x):
        shifted = x * 2 + 1
        total = shifted.sum(axis=axes)
        return (total, shifted.max(axis=axes)) if dtype != np.int32 else (total, shifted)

    got, want, jitted = both_backends(f, x)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    assert native_groups(jitted, x) >= 1


def row_kernels(jitted, *args) -> list:
    """The kinds of the native kernels that iterate over the whole first input."""
    natives = jitted.lower(*args).compile().program.natives.values()
    return [n.code.group.kind for n in natives if n.code.shape == np.shape(args[0])]


def softmax(x):
    e = jnp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layernorm(x, scale, bias):
    mean = x.mean(axis=-1, keepdims=True)
    centered = x - mean
    var = (centered * centered).mean(axis=-1, keepdims=True)
    return centered * lax.rsqrt(var + 1e-5) * scale + bias


def logsumexp(x):
    top = x.max(axis=-1)
    return top + jnp.log(jnp.exp(x - top[..., None]).sum(axis=-1))


ROW_PROGRAMS = [
    ("softmax", softmax, lambda shape: (sample(shape),)),
    ("layernorm", layernorm, lambda shape: (sample(shape), sample(shape[-1:]), sample(()))),
    ("logsumexp", logsumexp, lambda shape: (sample(shape),)),
    ("max and softmax", lambda x: (x.max(axis=-1), softmax(x)), lambda shape: (sample(shape),)),
]


@pytest.mark.parametrize("name, fun, make", ROW_PROGRAMS, ids=[p[0] for p in ROW_PROGRAMS])
@pytest.mark.parametrize("shape", [(33, 65), (1, 7), (5, 1, 3), (2, 3, 4099), (1000, 2)], ids=str)
def test_row_programs_read_each_row_once(name, fun, make, shape):
    # The reductions and the normalization run as one kernel whose loop is over rows:
    # the array comes from memory once, per-row values never go there.
    args = make(shape)
    got, want, jitted = both_backends(fun, *args)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    assert row_kernels(jitted, *args) == ["rows"]


def test_softmax_computes_its_exp_once_per_element():
    # The sum's pass parks exp(x - max) in the output; the last pass reads it back.
    x = sample((5, 300))
    got, want, jitted = both_backends(softmax, x)
    assert_same(got, want, rtol=1e-6, atol=1e-7)
    (native,) = jitted.lower(x).compile().program.natives.values()
    text = native.code.ir_for(native.code.contiguous)
    assert text.count('call float @"funcgrad.exp.f32"') == 1


def test_rows_over_two_trailing_axes_and_strided_input():
    x = sample((6, 4, 5))
    got, want, jitted = both_backends(lambda x: softmax(x.reshape(6, 20)).reshape(6, 4, 5), x)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    t = sample((9, 11))

    def normalize(t):
        y = t.T  # read through transposed strides
        return y - y.mean(axis=(1,), keepdims=True) / (y * y).sum(axis=1, keepdims=True)

    got, want, jitted = both_backends(normalize, t)
    assert_same(got, want, rtol=1e-5, atol=1e-5)


def test_a_per_row_value_used_along_the_row_is_not_fused_into_rows():
    # m has one value per row but is broadcast along the rows' own axis: row fusion
    # would read the wrong element, so the groups stay apart (and are still right).
    x = sample((16, 16))

    def f(x):
        m = x.max(axis=1)
        return (x - m[None, :]).sum(axis=1)

    got, want, jitted = both_backends(f, x)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    assert "rows" not in row_kernels(jitted, x)


INT_EDGES = {
    np.int32: [0, 1, -1, 7, -7, 31, 32, 33, -(2**31), 2**31 - 1],
    np.uint32: [0, 1, 7, 31, 32, 33, 2**31, 2**32 - 1],
    np.int8: [0, 1, -1, 5, -5, 7, 8, 9, -128, 127],
}


@pytest.mark.parametrize("dtype", list(INT_EDGES), ids=lambda d: d.__name__)
def test_integer_division_shifts_and_bit_counts_at_their_edges(dtype):
    # Every pair of edge values, including x / 0, INT_MIN / -1 and shifts by the bit
    # width or more, which LLVM leaves undefined and lax defines.
    edges = np.array(INT_EDGES[dtype], dtype=np.int64).astype(dtype)
    x, y = (a.ravel() for a in np.meshgrid(edges, edges))

    def f(x, y):
        return (
            lax.div(x, y),
            lax.rem(x, y),
            lax.shift_left(x, y),
            lax.shift_right_logical(x, y),
            lax.shift_right_arithmetic(x, y),
            lax.population_count(x),
            lax.sign(x),
            lax.clamp(dtype(1), x, dtype(9)),
        )

    got, want, jitted = both_backends(f, x, y)
    assert native_groups(jitted, x, y) == 1
    assert_same(got, want)


@pytest.mark.parametrize(
    "dtype",
    [np.float32, np.float64, np.int32, np.uint8, np.int8, np.bool_],
    ids=lambda d: d.__name__,
)
def test_argmax_argmin_and_integer_extremes_run_natively(dtype, x64):
    # Ties keep the first position; the first NaN wins; rows of -inf or equal values give 0.
    x = sample((9, 13), dtype) if dtype != np.int8 else sample((9, 13), dtype) // 8
    if np.dtype(dtype).kind == "f":
        x[2, 5], x[2, 8], x[3], x[4, 3], x[4, 9] = np.nan, np.nan, -np.inf, 9.0, 9.0
    else:
        x[5] = x[5, 0]

    def f(x):
        found = (jnp.argmax(x, axis=1), jnp.argmin(x, axis=-1))
        return found if dtype == np.bool_ else (*found, x.max(axis=1), x.min(axis=1))

    got, want, jitted = both_backends(f, x)
    assert native_groups(jitted, x) == 1
    assert_same(got, want)


def test_argmax_in_a_rows_group():
    x = sample((6, 40))
    x[1, 7] = np.nan
    got, want, jitted = both_backends(lambda x: (jnp.argmax(softmax(x), axis=1), softmax(x)), x)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    assert row_kernels(jitted, x) == ["rows"]


def test_bitcasts_between_floats_and_integers():
    x = np.array([0.0, -0.0, 1.5, -np.inf, np.nan, 1e-42, 3.4e38], np.float32)

    def f(x):
        bits = lax.bitcast_convert_type(x, np.uint32)
        exponent = lax.shift_right_logical(bits, np.uint32(23)) & np.uint32(0xFF)
        return exponent, lax.bitcast_convert_type(bits | np.uint32(1), np.float32)

    got, want, jitted = both_backends(f, x)
    assert native_groups(jitted, x) == 1
    np.testing.assert_array_equal(np.asarray(got[0]), x.view(np.uint32) >> 23 & 0xFF)
    np.testing.assert_array_equal(np.asarray(got[1]).view(np.uint32), x.view(np.uint32) | 1)
    np.testing.assert_array_equal(np.asarray(want[1]).view(np.uint32), x.view(np.uint32) | 1)


def test_a_native_kernel_takes_numpy_scalars_and_views():
    # Kernels read the array objects they are handed; a NumPy scalar (what a ufunc returns
    # for a 0-d result) or a strided view must still be read right.
    x = sample((64,))
    jitted = fg.jit(lambda x, s: x * s + 1.0, backend="llvm")
    (native,) = jitted.lower(x, np.float32(3)).compile().program.natives.values()
    out = np.empty(64, np.float32)
    native(x, np.float32(3), out)
    np.testing.assert_array_equal(out, x * np.float32(3) + np.float32(1))
    wide = sample((64, 2))
    native(wide[:, 1], np.array(2.0, np.float32), out)
    np.testing.assert_array_equal(out, wide[:, 1] * np.float32(2) + np.float32(1))


def test_float_rem_sign_and_is_finite():
    x = np.array([0.0, -0.0, 1.5, -1.5, 7.25, -7.25, np.inf, -np.inf, np.nan, 1e-42], np.float32)
    y = np.roll(x, 3)

    def f(x, y):
        return lax.rem(x, y), lax.sign(x), lax.is_finite(x), lax.clamp(-1.0, x, 2.0)

    got, want, jitted = both_backends(f, x, y)
    assert native_groups(jitted, x, y) == 1
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        # Bit patterns: signed zeros and NaN must come out as the NumPy backend's.
        np.testing.assert_array_equal(g.view(np.uint8), w.view(np.uint8))


def test_iota_in_a_group():
    x = sample((5, 6))
    got, want, _ = both_backends(lambda x: x * lax.broadcasted_iota(np.float32, (5, 6), 1), x)
    assert_same(got, want)


def test_kernels_are_vectorized():
    from llvmlite import binding

    if "+avx2" not in binding.get_host_cpu_features().flatten():
        pytest.skip("the host has no AVX2: no 8-wide float vectors to look for")
    x = sample((64, 256))
    jitted = fg.jit(lambda x: x * 3.0 + 1.0, backend="llvm")
    jitted(x)
    text = jitted.lower(x).compile().as_text()
    assert float_lanes(text) >= 8  # AVX2's width, or AVX-512's 16


def test_loops_around_math_functions_keep_two_vector_iterations_in_flight():
    x = sample((3, 5000))
    got, want, jitted = both_backends(lambda x: 0.5 * x * (1 + jnp.tanh(x * 0.8)), x)
    assert_same(got, want)
    (native,) = jitted.lower(x).compile().program.natives.values()
    assert '!"llvm.loop.interleave.count", i32 2' in native.code.ir_for(native.code.contiguous)
    plain_jit = fg.jit(lambda x: x * 2.0 + 1.0, backend="llvm")
    (plain,) = plain_jit.lower(x).compile().program.natives.values()
    assert "llvm.loop" not in plain.code.ir_for(plain.code.contiguous)


def test_unsupported_groups_fall_back_to_numpy_kernels():
    x = sample((4, 5))
    # cumsum has no rule here: its group runs through the NumPy backend's kernels.
    got, want, jitted = both_backends(lambda x: jnp.cumsum(x * 2.0, axis=1) + 1.0, x)
    assert_same(got, want)
    text = jitted.lower(x).compile().as_text()
    assert "impl" in text  # the cumsum impl call


def test_matmul_epilogue_runs_natively():
    x, w, b = sample((16, 8)), sample((8, 32)), sample((32,))
    got, want, jitted = both_backends(lambda x, w, b: jnp.maximum(x @ w + b, 0.0), x, w, b)
    assert_same(got, want, rtol=1e-5, atol=1e-5)
    source = jitted.lower(x, w, b).compile().program.source
    assert "dot_into(" in source and "group" in source


def test_fuzz_random_shapes_against_numpy():
    for _ in range(25):
        ndim = int(rng.integers(0, 4))
        shape = tuple(int(d) for d in rng.integers(0, 6, size=ndim))
        x = sample(shape)
        axis = int(rng.integers(0, ndim)) if ndim else None

        def f(x, axis=axis):
            y = jnp.where(x > 0.1, x * 1.5, x - 1.0)
            return y, (y.sum(axis=axis) if axis is not None else y * 2.0)

        got, want, _ = both_backends(f, x)
        assert_same(got, want, rtol=1e-5, atol=1e-5)


def test_a_reduction_over_no_axes_is_a_copy():
    x = sample((3, 4))
    got, want, _ = both_backends(lambda x: (lax.reduce_sum(x * 2.0, ()), lax.reduce_max(x, ())), x)
    assert_same(got, want)


def test_bad_backend_settings_name_the_variable(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "big")
    with pytest.raises(ValueError, match="FUNCGRAD_LLVM_MIN_SIZE='big'"):
        fg.jit(lambda x: x * 2.0, backend="llvm")(sample((3,)))
    monkeypatch.setenv("FUNCGRAD_BACKEND", "tpu")
    with pytest.raises(ValueError, match="FUNCGRAD_BACKEND='tpu'.*llvm, numpy"):
        fg.jit(lambda x: x * 2.0)
