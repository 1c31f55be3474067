"""funcgrad.nn against NumPy formulas written here independently, in float64.

Each activation runs over 0-d, empty and 2-d shapes at float32, float16, bfloat16 and
int32 (which computes in float32), eagerly and under make_jaxpr. softmax, log_softmax,
one_hot and standardize are checked along several axes, with the extreme inputs where a
naive formula overflows, and one_hot's out-of-range classes give zero rows as in JAX.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import nn
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32 = np.dtype(np.int32)
TOLERANCE = {F32: 3e-6, F16: 3e-3, BF16: 2e-2}
SHAPES = [(), (0,), (7,), (2, 3)]
SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805


def erf64(x):
    return np.vectorize(math.erf, otypes=[np.float64])(x)


def sigmoid64(x):
    return 1 / (1 + np.exp(-x))


def softplus64(x):
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def elu64(x, alpha=1.0):
    return np.where(x > 0, x, alpha * (np.exp(np.minimum(x, 0)) - 1))


ACTIVATIONS = [
    ("relu", nn.relu, lambda x: np.maximum(x, 0), "same"),
    ("relu6", nn.relu6, lambda x: np.clip(x, 0, 6), "same"),
    (
        "gelu_tanh",
        nn.gelu,
        lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3))),
        "float",
    ),
    (
        "gelu_exact",
        lambda x: nn.gelu(x, approximate=False),
        lambda x: 0.5 * x * (1 + erf64(x / np.sqrt(2))),
        "float",
    ),
    ("sigmoid", nn.sigmoid, sigmoid64, "float"),
    ("softplus", nn.softplus, softplus64, "float"),
    ("silu", nn.silu, lambda x: x * sigmoid64(x), "float"),
    ("swish", nn.swish, lambda x: x * sigmoid64(x), "float"),
    ("tanh", nn.tanh, np.tanh, "float"),
    ("leaky_relu", nn.leaky_relu, lambda x: np.where(x >= 0, x, 0.01 * x), "float"),
    (
        "leaky_relu_slope",
        lambda x: nn.leaky_relu(x, negative_slope=0.2),
        lambda x: np.where(x >= 0, x, 0.2 * x),
        "float",
    ),
    ("elu", nn.elu, elu64, "float"),
    ("elu_alpha", lambda x: nn.elu(x, alpha=0.5), lambda x: elu64(x, 0.5), "float"),
    (
        "celu",
        lambda x: nn.celu(x, alpha=2.0),
        lambda x: np.maximum(x, 0) + 2.0 * (np.exp(np.minimum(x, 0) / 2.0) - 1),
        "float",
    ),
    ("selu", nn.selu, lambda x: SELU_SCALE * elu64(x, SELU_ALPHA), "float"),
    ("hard_tanh", nn.hard_tanh, lambda x: np.clip(x, -1, 1), "same"),
    ("log_sigmoid", nn.log_sigmoid, lambda x: -softplus64(-x), "float"),
]


def draw(rng, shape, dtype, scale=4.0):
    if dtype == I32:
        return rng.integers(-8, 9, shape).astype(I32)
    return rng.uniform(-scale, scale, shape).astype(dtype)


def run_eager_and_traced(fun, *args):
    eager = fun(*args)
    closed = funcgrad.make_jaxpr(fun)(*args)
    (traced,) = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    assert traced.aval == eager.aval
    assert_agrees_with_op_by_op(eager, traced)
    return eager


def check_close(got, want, dtype):
    assert got.dtype == dtype, (got.dtype, dtype)
    if dtype == I32:
        np.testing.assert_array_equal(np.asarray(got), want)
        return
    tol = TOLERANCE[dtype]
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64), np.asarray(want, np.float64), rtol=tol, atol=tol
    )


@pytest.mark.parametrize("dtype", [F32, F16, BF16, I32], ids=lambda d: d.name)
@pytest.mark.parametrize(
    "label, fun, reference, result", ACTIVATIONS, ids=[a[0] for a in ACTIVATIONS]
)
def test_activation_matches_float64_formula(label, fun, reference, result, dtype):
    rng = np.random.default_rng(len(label))
    for shape in SHAPES:
        x = draw(rng, shape, dtype)
        got = run_eager_and_traced(fun, x)
        out_dtype = dtype if result == "same" or dtype != I32 else F32
        check_close(got, reference(x.astype(np.float64)), out_dtype)


@pytest.mark.parametrize(
    "fun",
    [nn.sigmoid, nn.softplus, nn.log_sigmoid, nn.silu, nn.elu, nn.selu, nn.gelu],
    ids=lambda f: f.__name__,
)
def test_activations_do_not_overflow(fun):
    x = np.array([-1000.0, -100.0, 100.0, 1000.0], np.float32)
    assert np.isfinite(np.asarray(fun(x))).all()


def test_known_values():
    assert float(nn.gelu(np.float32(1.0), approximate=False)) == pytest.approx(
        0.5 * (1 + math.erf(1 / math.sqrt(2))), rel=1e-6
    )
    assert float(nn.softplus(np.float32(0.0))) == pytest.approx(math.log(2), rel=1e-6)
    assert float(nn.softplus(np.float32(100.0))) == 100.0
    assert float(nn.log_sigmoid(np.float32(-100.0))) == pytest.approx(-100.0, rel=1e-6)
    assert float(nn.selu(np.float32(1.0))) == pytest.approx(SELU_SCALE, rel=1e-6)


# ---------------------------------------------------------------------------------------
# softmax and log_softmax


def softmax64(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / np.sum(e, axis=axis, keepdims=True)


def log_softmax64(x, axis):
    shifted = x - np.max(x, axis=axis, keepdims=True)
    return shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))


SOFTMAX_CASES = [((5,), -1), ((2, 3), -1), ((2, 3), 0), ((2, 3, 4), (0, 2)), ((3, 1), 1)]


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dtype", [F32, F16, BF16, I32], ids=lambda d: d.name)
@pytest.mark.parametrize("shape, axis", SOFTMAX_CASES)
def test_softmax_matches_float64_formula(name, dtype, shape, axis):
    rng = np.random.default_rng(2)
    x = draw(rng, shape, dtype)
    got = run_eager_and_traced(lambda v: getattr(nn, name)(v, axis=axis), x)
    reference = softmax64 if name == "softmax" else log_softmax64
    check_close(got, reference(x.astype(np.float64), axis), F32 if dtype == I32 else dtype)


def test_softmax_is_stable_and_sums_to_one():
    x = np.array([[1000.0, 1000.0, -1000.0], [-np.inf, 0.0, 0.0]], np.float32)
    got = np.asarray(nn.softmax(x))
    np.testing.assert_allclose(got, [[0.5, 0.5, 0.0], [0.0, 0.5, 0.5]], atol=1e-7)
    log_got = np.asarray(nn.log_softmax(x))
    np.testing.assert_allclose(log_got[:, :2], [[-math.log(2)] * 2, [-np.inf, -math.log(2)]])


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(-50, 50, width=32), min_size=1, max_size=6),
    st.floats(-1e4, 1e4, width=32),
)
def test_softmax_is_shift_invariant_and_normalized(values, shift):
    x = np.array(values, np.float32)
    got = np.asarray(nn.softmax(x), np.float64)
    assert got.sum() == pytest.approx(1.0, abs=1e-5)
    shifted = np.asarray(nn.softmax(x + np.float32(shift)), np.float64)
    np.testing.assert_allclose(shifted, got, atol=2e-3 if abs(shift) > 100 else 1e-5)


def test_logsumexp_is_reexported():
    assert nn.logsumexp is funcgrad.scipy.special.logsumexp


# ---------------------------------------------------------------------------------------
# one_hot and standardize


def one_hot64(x, num_classes, axis):
    out = (np.expand_dims(x, -1) == np.arange(num_classes)).astype(np.float64)
    return np.moveaxis(out, -1, axis)


ONE_HOT_CASES = [
    ((), 3, -1),
    ((0,), 4, -1),
    ((6,), 4, -1),
    ((6,), 4, 0),
    ((2, 3), 5, 1),
    ((2, 3), 5, -3),
    ((3,), 0, -1),
]


@pytest.mark.parametrize("index_dtype", [np.int32, np.uint8, np.int8], ids=lambda d: d.__name__)
@pytest.mark.parametrize("shape, num_classes, axis", ONE_HOT_CASES)
def test_one_hot_matches_comparison_with_arange(shape, num_classes, axis, index_dtype):
    rng = np.random.default_rng(4)
    low = 0 if index_dtype == np.uint8 else -2
    x = rng.integers(low, num_classes + 3, shape).astype(index_dtype)  # out of range too
    got = run_eager_and_traced(lambda v: nn.one_hot(v, num_classes, axis=axis), x)
    want = one_hot64(x.astype(np.int64), num_classes, axis)
    assert got.dtype == F32 and got.shape == want.shape
    np.testing.assert_array_equal(np.asarray(got), want)


def test_one_hot_dtype_and_out_of_range_rows():
    got = nn.one_hot(np.array([0, 2, -1, 3]), 3, dtype=jnp.int32)
    assert got.dtype == I32
    assert np.asarray(got).tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 0], [0, 0, 0]]
    assert nn.one_hot(np.array([1]), 2, dtype=jnp.bfloat16).dtype == BF16


def test_one_hot_errors():
    with pytest.raises(TypeError) as info:
        nn.one_hot(np.array([1]), 2.0)
    assert "one_hot" in str(info.value) and "test_functions.py:" in str(info.value)
    with pytest.raises(np.exceptions.AxisError) as info:
        nn.one_hot(np.array([1]), 2, axis=2)
    assert "one_hot" in str(info.value) and "test_functions.py:" in str(info.value)
    with pytest.raises(ValueError) as info:
        nn.one_hot(np.array([1]), -1)
    assert "test_functions.py:" in str(info.value)
    with pytest.raises(TypeError):
        funcgrad.make_jaxpr(lambda n: nn.one_hot(np.array([1]), n))(np.int32(3))


@pytest.mark.parametrize("dtype", [F32, F16, I32], ids=lambda d: d.name)
@pytest.mark.parametrize(
    "shape, axis", [((5,), -1), ((3, 4), -1), ((3, 4), 0), ((2, 3, 4), (1, 2))]
)
def test_standardize_matches_float64_formula(shape, axis, dtype):
    rng = np.random.default_rng(8)
    x = draw(rng, shape, dtype)
    got = run_eager_and_traced(lambda v: nn.standardize(v, axis=axis), x)
    wide = x.astype(np.float64)
    mean = wide.mean(axis=axis, keepdims=True)
    variance = wide.var(axis=axis, keepdims=True)
    out_dtype = F32 if dtype == I32 else dtype
    tol = 3e-2 if dtype == F16 else 1e-4
    assert got.dtype == out_dtype
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64), (wide - mean) / np.sqrt(variance + 1e-5), atol=tol
    )


def test_standardize_with_given_moments():
    x = np.array([1.0, 2.0, 3.0], np.float32)
    got = nn.standardize(x, mean=1.0, variance=4.0, epsilon=0.0)
    np.testing.assert_allclose(np.asarray(got), [0.0, 0.5, 1.0])


def test_softmax_bad_axis():
    with pytest.raises(np.exceptions.AxisError) as info:
        nn.softmax(np.ones((2, 3), np.float32), axis=2)
    assert "test_functions.py:" in str(info.value)
