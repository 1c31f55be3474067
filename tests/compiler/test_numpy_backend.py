"""The NumPy backend's `out=` kernels give bit-for-bit what each primitive's impl gives,
for every dtype they accept, and fall back to the impl where they must."""

import ml_dtypes
import numpy as np
import pytest

import funcgrad as fg
from funcgrad import lax

rng = np.random.default_rng(5)
F32, F64, I32, U8 = (np.dtype(t) for t in ("float32", "float64", "int32", "uint8"))
BF16, BOOL = np.dtype(ml_dtypes.bfloat16), np.dtype(bool)


def sample(dtype, shape=(3, 4)):
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(1, 9, size=shape).astype(dtype)
    values = rng.uniform(0.1, 2.0, size=shape)
    values.flat[0] = np.nan if dtype.kind == "f" else values.flat[0]
    return values.astype(dtype)


UNARY = ["exp", "log", "sin", "cos", "tanh", "sqrt", "log1p", "expm1", "floor", "neg"]
BINARY = ["add", "sub", "mul", "div", "max", "min", "pow", "atan2", "eq", "lt", "ge"]


def assert_identical(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got.reshape(-1).view(np.uint8), want.reshape(-1).view(np.uint8))


def compiled_and_eager(fun, *args):
    """(jitted result, eager result, the generated kernels' text). The eager result is
    computed with jit disabled, so that jit mode (FUNCGRAD_TEST_JIT) compiles nothing."""
    jitted = fg.jit(fun, backend="numpy")
    text = jitted.lower(*args).compile().as_text()
    got = jitted(*args)
    fg.config.update("jax_disable_jit", True)
    try:
        want = fun(*args)
    finally:
        fg.config.update("jax_disable_jit", False)
    return got, want, text


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("dtype", [F32, F64, BF16], ids=str)
def test_unary_kernels_match_the_impl_bit_for_bit(name, dtype, x64):
    op = getattr(lax, name)
    x = sample(dtype)
    got, want, text = compiled_and_eager(op, x)
    assert_identical(got, want)
    # Narrow floats go through the impl (computed at float32, rounded back).
    assert ("impl" in text) == (dtype == BF16)


FLOAT_ONLY = ("div", "pow", "atan2")  # integer div has its own rounding; pow/atan2 need floats
BINARY_CASES = [
    (name, dtype)
    for name in BINARY
    for dtype in (F32, F64, I32, U8)
    if dtype.kind == "f" or name not in FLOAT_ONLY
]


@pytest.mark.parametrize("name, dtype", BINARY_CASES, ids=[f"{n}-{d}" for n, d in BINARY_CASES])
def test_binary_kernels_match_the_impl_bit_for_bit(name, dtype, x64):
    op = getattr(lax, name)
    x, y = sample(dtype), sample(dtype, (4,))[None].repeat(3, 0)
    got, want, _ = compiled_and_eager(op, x, y)
    assert_identical(got, want)


@pytest.mark.parametrize("dtype", [F32, I32, BOOL], ids=str)
def test_select_and_converts(dtype):
    pred = sample(BOOL)
    a, b = sample(dtype), sample(dtype)
    got, want, text = compiled_and_eager(lambda p, a, b: lax.select(p, a, b), pred, a, b)
    assert_identical(got, want)
    assert "copyto" in text
    for target in (F32, I32, BOOL):
        got, want, _ = compiled_and_eager(lambda v, t=target: lax.convert_element_type(v, t), a)
        assert_identical(got, want)


def test_float_to_integer_conversion_uses_the_impl():
    x = np.array([1.7, -2.5, np.nan, 3e10], np.float32)
    got, want, text = compiled_and_eager(lambda v: lax.convert_element_type(v, np.int32), x)
    assert_identical(got, want)
    assert "impl" in text and "copyto" not in text


@pytest.mark.parametrize("axes", [(0,), (1,), (0, 1), ()])
@pytest.mark.parametrize("dtype", [F32, I32], ids=str)
def test_reductions_match_the_impl(axes, dtype):
    x = sample(dtype, (5, 6))
    for reduce in (lax.reduce_sum, lax.reduce_max, lax.reduce_min, lax.reduce_prod):
        got, want, _ = compiled_and_eager(lambda v, r=reduce: r(v, axes), x)
        assert_identical(got, want)


def test_empty_max_uses_the_impl_identity():
    x = np.zeros((0, 3), np.float32)
    got, want, text = compiled_and_eager(lambda v: lax.reduce_max(v, (0,)), x)
    assert_identical(got, want)
    assert np.all(np.asarray(got) == -np.inf)


DOTS = [
    ("A B", (4, 3), (3, 5), (((1,), (0,)), ((), ()))),
    ("A B^T", (4, 3), (5, 3), (((1,), (1,)), ((), ()))),
    ("A^T B", (3, 4), (3, 5), (((0,), (0,)), ((), ()))),
    ("A v", (4, 3), (3,), (((1,), (0,)), ((), ()))),
    ("v A", (3,), (3, 5), (((0,), (0,)), ((), ()))),
    ("batched", (2, 4, 3), (2, 3, 5), (((2,), (1,)), ((0,), (0,)))),
    ("batched, contracted first", (2, 3, 4), (2, 5, 3), (((1,), (2,)), ((0,), (0,)))),
]


@pytest.mark.parametrize("label, lhs_shape, rhs_shape, dims", DOTS, ids=[d[0] for d in DOTS])
def test_dot_general_into_a_buffer(label, lhs_shape, rhs_shape, dims):
    lhs, rhs = sample(F32, lhs_shape), sample(F32, rhs_shape)
    lhs.flat[0] = rhs.flat[0] = 1.0

    def dot(a, b):
        return lax.dot_general(a, b, dims)

    got, want, text = compiled_and_eager(dot, lhs, rhs)
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-6)
    reference = np.einsum(
        {
            "A B": "ik,kj->ij",
            "A B^T": "ik,jk->ij",
            "A^T B": "ki,kj->ij",
            "A v": "ik,k->i",
            "v A": "k,kj->j",
            "batched": "bik,bkj->bij",
            "batched, contracted first": "bki,bjk->bij",
        }[label],
        lhs.astype(np.float64),
        rhs.astype(np.float64),
    )
    np.testing.assert_allclose(np.asarray(got), reference, rtol=1e-5)
    assert "dot_into" in text


def test_scratch_buffers_are_reused_across_calls_without_leaking_into_results():
    jitted = fg.jit(lambda x: (jnp_tanh(x) * 2.0).sum(axis=0), backend="numpy")
    first_in, second_in = sample(F32, (6, 4)), sample(F32, (6, 4))
    first = jitted(first_in)
    second = jitted(second_in)
    np.testing.assert_allclose(first, (np.tanh(first_in) * 2).sum(0), rtol=1e-6)
    np.testing.assert_allclose(second, (np.tanh(second_in) * 2).sum(0), rtol=1e-6)


def jnp_tanh(x):
    return lax.tanh(x)
