"""funcgrad.scipy.special against hand-derived values, identities and float64 formulas.

NumPy has no erf or lgamma, so the oracles are Python's `math.erf`/`math.erfc`/
`math.lgamma`, closed forms (lgamma(n) = log((n-1)!), digamma(n) = -gamma + H(n-1),
digamma(1/2) = -gamma - 2 log 2), identities (erf(erfinv(y)) = y, the digamma
recurrence, expit(logit(p)) = p) and float64 NumPy formulas for the rest. Each function
runs over 0-d, empty and 2-d shapes at float32, float16, bfloat16 and int32, eagerly and
under make_jaxpr.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.scipy import special
from funcgrad.test_util import assert_agrees_with_op_by_op

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32 = np.dtype(np.int32)
TOLERANCE = {F32: 2e-6, F16: 2e-3, BF16: 1.6e-2}
EULER_GAMMA = 0.5772156649015329
SHAPES = [(), (0,), (7,), (2, 3)]


def vectorized(scalar_fun):
    return lambda x: np.vectorize(scalar_fun, otypes=[np.float64])(x)


def erfinv_by_bisection(y: float) -> float:
    low, high = -7.0, 7.0
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erf(middle) < y else (low, middle)
    return (low + high) / 2


def run_eager_and_traced(fun, *args):
    eager = fun(*args)
    closed = funcgrad.make_jaxpr(fun)(*args)
    (traced,) = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    assert traced.aval == eager.aval
    assert_agrees_with_op_by_op(eager, traced)
    return eager


def check_close(got, want, dtype):
    out_dtype = dtype if dtype in TOLERANCE else F32
    assert got.dtype == out_dtype
    tol = TOLERANCE[out_dtype]
    np.testing.assert_allclose(
        np.asarray(got).astype(np.float64), np.asarray(want, np.float64), rtol=tol, atol=tol
    )


# name, reference on float64, domain (ints are drawn from it too)
UNARY = [
    ("erf", vectorized(math.erf), (-3, 3)),
    ("erfc", vectorized(math.erfc), (-3, 3)),
    ("erfinv", vectorized(erfinv_by_bisection), (-0.99, 0.99)),
    ("expit", lambda x: 1 / (1 + np.exp(-x)), (-30, 30)),
    ("logit", lambda x: np.log(x / (1 - x)), (0.01, 0.99)),
    ("gammaln", vectorized(math.lgamma), (0.1, 9)),
    ("entr", lambda x: np.where(x > 0, -x * np.log(np.where(x > 0, x, 1)), 0.0), (0, 4)),
]


def unary_cases():
    return [
        pytest.param(name, reference, domain, dtype, id=f"{name}-{dtype.name}")
        for name, reference, domain in UNARY
        for dtype in (F32, F16, BF16, I32)
        if not (dtype == I32 and domain[1] - domain[0] < 2)
    ]


@pytest.mark.parametrize("name, reference, domain, dtype", unary_cases())
def test_unary_matches_reference(name, reference, domain, dtype):
    rng = np.random.default_rng(len(name))
    for shape in SHAPES:
        if dtype == I32:
            x = rng.integers(math.ceil(domain[0]), math.floor(domain[1]) + 1, shape).astype(dtype)
        else:
            x = rng.uniform(*domain, shape).astype(dtype)
        got = run_eager_and_traced(getattr(special, name), x)
        with np.errstate(all="ignore"):
            check_close(got, reference(x.astype(np.float64)), dtype)


def test_erf_known_values_and_limits():
    x = np.array([0.0, 0.5, 1.0, -2.0, np.inf, -np.inf], np.float32)
    want = [0.0, math.erf(0.5), math.erf(1.0), math.erf(-2.0), 1.0, -1.0]
    np.testing.assert_allclose(np.asarray(special.erf(x)), want, rtol=1e-7)
    np.testing.assert_allclose(np.asarray(special.erfc(x)), [1 - w for w in want], atol=1e-7)
    assert float(special.erfc(np.float32(10.0))) == pytest.approx(math.erfc(10.0), rel=1e-6)


def test_erfinv_known_values_and_edges():
    y = np.array([0.0, 0.5, -0.5, 1.0, -1.0, 1.5, np.nan], np.float32)
    got = np.asarray(special.erfinv(y))
    np.testing.assert_allclose(got[:3], [0.0, 0.4769362762044699, -0.4769362762044699], rtol=1e-7)
    assert got[3] == np.inf and got[4] == -np.inf
    assert np.isnan(got[5:]).all()


@settings(max_examples=30, deadline=None)
@given(st.floats(-0.999999, 0.999999))
def test_erf_of_erfinv_is_identity(y):
    x = np.float32(y)
    back = float(special.erf(special.erfinv(x)))
    assert back == pytest.approx(float(x), abs=3e-7)


def test_gammaln_of_integers_is_log_factorial():
    n = np.arange(1, 30, dtype=np.float32)
    want = [math.log(math.factorial(k - 1)) for k in range(1, 30)]
    np.testing.assert_allclose(np.asarray(special.gammaln(n)), want, rtol=1e-6, atol=1e-6)


def test_gammaln_half_integers_and_poles():
    x = np.array([0.5, -0.5, 0.0, -1.0, -2.0, np.inf], np.float32)
    got = np.asarray(special.gammaln(x))
    np.testing.assert_allclose(
        got[:2], [math.log(math.sqrt(math.pi)), math.log(2 * math.sqrt(math.pi))], rtol=1e-6
    )
    assert (got[2:] == np.inf).all()


def test_digamma_closed_forms():
    n = np.arange(1, 12)
    harmonic = [sum(1 / k for k in range(1, m)) for m in n]
    got = np.asarray(special.digamma(n.astype(np.float32)))
    np.testing.assert_allclose(got, [-EULER_GAMMA + h for h in harmonic], rtol=1e-6, atol=1e-7)
    half = np.asarray(special.digamma(np.array([0.5, -0.5, 1.5], np.float32)))
    psi_half = -EULER_GAMMA - 2 * math.log(2)
    np.testing.assert_allclose(half, [psi_half, psi_half + 2, psi_half + 2], rtol=1e-6)
    assert np.isnan(np.asarray(special.digamma(np.array([0.0, -3.0], np.float32)))).all()


@settings(max_examples=30, deadline=None)
@given(st.floats(0.05, 50.0))
def test_digamma_recurrence(x):
    # psi(x + 1) = psi(x) + 1/x, in float64 inputs promoted to float32.
    value = np.float32(x)
    lhs = float(special.digamma(value + np.float32(1)))
    rhs = float(special.digamma(value)) + 1 / float(value)
    assert lhs == pytest.approx(rhs, rel=2e-5, abs=2e-5)


def test_digamma_is_the_derivative_of_gammaln():
    x = np.linspace(0.3, 7.0, 9)
    h = 1e-4
    fd = [(math.lgamma(v + h) - math.lgamma(v - h)) / (2 * h) for v in x]
    np.testing.assert_allclose(np.asarray(special.digamma(x.astype(np.float32))), fd, rtol=2e-6)


def test_expit_is_stable_and_logit_inverts_it():
    x = np.array([-200.0, -20.0, 0.0, 20.0, 200.0], np.float32)
    got = np.asarray(special.expit(x))
    want = (1 / (1 + np.exp(-x.astype(np.float64)))).astype(np.float32)  # 1e-87 underflows
    np.testing.assert_allclose(got, want, rtol=1e-6)
    p = np.array([0.1, 0.5, 0.9], np.float32)
    np.testing.assert_allclose(np.asarray(special.expit(special.logit(p))), p, rtol=1e-6)
    assert np.asarray(special.logit(np.array([0.0, 1.0], np.float32))).tolist() == [
        -np.inf,
        np.inf,
    ]


def test_xlogy_xlog1py_and_entr_at_zero():
    x = np.array([0.0, 0.0, 2.0, 3.0], np.float32)
    y = np.array([0.0, -1.0, 3.0, 0.5], np.float32)
    np.testing.assert_allclose(
        np.asarray(special.xlogy(x, y)), [0.0, 0.0, 2 * math.log(3), 3 * math.log(0.5)], rtol=1e-6
    )
    np.testing.assert_allclose(
        np.asarray(special.xlog1py(x, y)),
        [0.0, 0.0, 2 * math.log(4), 3 * math.log(1.5)],
        rtol=1e-6,
    )
    got = np.asarray(special.entr(np.array([0.0, 0.5, -1.0], np.float32)))
    np.testing.assert_allclose(got, [0.0, 0.5 * math.log(2), -np.inf], rtol=1e-6)


def test_xlogy_broadcasts_and_promotes():
    out = special.xlogy(np.array([[0], [2]], np.int32), np.array([1.0, 4.0], np.float16))
    assert out.shape == (2, 2) and out.dtype == F16
    np.testing.assert_allclose(
        np.asarray(out).astype(np.float64), [[0, 0], [0, 2 * math.log(4)]], rtol=1e-3
    )


# ---------------------------------------------------------------------------------------
# logsumexp


def logsumexp_reference(a, axis=None, b=None, keepdims=False):
    a = a.astype(np.float64)
    weights = np.ones_like(a) if b is None else np.broadcast_to(b.astype(np.float64), a.shape)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(weights * np.exp(a), axis=axis, keepdims=keepdims))


LOGSUMEXP_CASES = [
    ((), None, False),
    ((5,), None, False),
    ((5,), 0, True),
    ((2, 3), 1, False),
    ((2, 3), -1, True),
    ((2, 3, 4), (0, 2), False),
    ((2, 3, 4), (0, 2), True),
    ((2, 0), 1, False),
    ((0, 3), None, False),
]


@pytest.mark.parametrize("dtype", [F32, F16, BF16, I32], ids=lambda d: d.name)
@pytest.mark.parametrize("shape, axis, keepdims", LOGSUMEXP_CASES)
def test_logsumexp_matches_float64_formula(shape, axis, keepdims, dtype):
    rng = np.random.default_rng(5)
    a = (rng.integers(-4, 5, shape) if dtype == I32 else rng.uniform(-4, 4, shape)).astype(dtype)

    def fun(x):
        return special.logsumexp(x, axis=axis, keepdims=keepdims)

    got = run_eager_and_traced(fun, a)
    want = logsumexp_reference(a, axis, keepdims=keepdims)
    assert got.shape == np.shape(want)
    check_close(got, want, dtype)


def test_logsumexp_is_stable_for_large_and_infinite_inputs():
    a = np.array([[1000.0, 1000.0], [-1000.0, -1000.0], [-np.inf, 0.0], [-np.inf, -np.inf]])
    got = np.asarray(special.logsumexp(a.astype(np.float32), axis=1))
    want = [1000 + math.log(2), -1000 + math.log(2), 0.0, -np.inf]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    assert float(special.logsumexp(np.array([np.inf, 1.0], np.float32))) == np.inf


def test_logsumexp_with_weights_and_sign():
    a = np.array([[1.0, 2.0, 3.0], [0.5, 0.5, 0.5]], np.float32)
    b = np.array([1.0, -2.0, 0.5], np.float32)
    out, sign = special.logsumexp(a, axis=1, b=b, return_sign=True)
    total = np.sum(b * np.exp(a.astype(np.float64)), axis=1)
    np.testing.assert_allclose(np.asarray(out), np.log(np.abs(total)), rtol=1e-6)
    assert np.asarray(sign).tolist() == np.sign(total).tolist()
    # Without return_sign a negative sum has no real logarithm.
    assert np.isnan(np.asarray(special.logsumexp(a, axis=1, b=b))).tolist() == (total < 0).tolist()
    # A zero weight removes its term, even an infinite one.
    masked = special.logsumexp(np.array([np.inf, 1.0], np.float32), b=np.array([0.0, 1.0]))
    assert float(masked) == pytest.approx(1.0)


def test_logsumexp_weights_broadcast():
    a = np.zeros((2, 3), np.float32)
    got = special.logsumexp(a, axis=0, b=np.array([[1.0], [3.0]], np.float32))
    np.testing.assert_allclose(np.asarray(got), [math.log(4)] * 3, rtol=1e-6)


def test_logsumexp_bad_axis_and_shapes():
    x = np.ones((2, 3), np.float32)
    with pytest.raises(np.exceptions.AxisError) as info:
        special.logsumexp(x, axis=2)
    assert "logsumexp" in str(info.value) and "test_special.py:" in str(info.value)
    with pytest.raises(ValueError) as info:
        special.logsumexp(x, b=np.ones(4))
    assert "logsumexp" in str(info.value) and "test_special.py:" in str(info.value)


def test_polygamma_known_values():
    # psi'(1) = pi^2 / 6, psi''(1) = -2 zeta(3), psi'(1/2) = pi^2 / 2
    zeta3 = sum(1.0 / k**3 for k in range(1, 200000))
    np.testing.assert_allclose(special.polygamma(1, np.float32(1.0)), math.pi**2 / 6, rtol=1e-6)
    np.testing.assert_allclose(special.polygamma(2, np.float32(1.0)), -2 * zeta3, rtol=1e-5)
    np.testing.assert_allclose(special.polygamma(1, np.float32(0.5)), math.pi**2 / 2, rtol=1e-6)
