"""funcgrad.numpy reductions, statistics and cumulative ops against NumPy.

Oracles: NumPy (values, shapes, NaN handling) computed in float64; hand-derived answers
for JAX's own rules where they differ from NumPy (result dtypes, `nearest` quantiles that
round exact halves down, nanargmax of an all-NaN slice being -1). Every check runs
eagerly and through `make_jaxpr` + `eval_jaxpr`. Error tests assert the exception type
NumPy raises and that the message names the function and this file's line.
"""

from __future__ import annotations

import warnings

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I8, I32, U8 = np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.uint8)
U32, BOOL = np.dtype(np.uint32), np.dtype(np.bool_)
FLOATS = (F32, F16, BF16)
DTYPES = (F32, F16, BF16, I32, U8, I8, BOOL)
TOLERANCE = {F32: 2e-5, F16: 4e-3, BF16: 3e-2}

SHAPES = [(), (0,), (1,), (5,), (2, 3), (2, 0, 3), (3, 1, 4)]


def axis_choices(ndim: int):
    """None, every single axis (one of them negative) and, for rank >= 2, a pair."""
    out = [None] + list(range(ndim))
    if ndim:
        out.append(-1)
    if ndim >= 2:
        out.append((0, ndim - 1))
    return out


def numpy_axes(axis, ndim):
    if axis is None:
        return tuple(range(ndim))
    return tuple(a % ndim for a in (axis if isinstance(axis, tuple) else (axis,)))


def random_array(rng, shape, dtype, low=-3, high=3):
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        return rng.integers(max(low, np.iinfo(dtype).min), high + 1, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def upcast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if x.dtype in FLOATS else x


def traced(fun, *args):
    """fun(*args) through make_jaxpr and eval_jaxpr, checked against the eager result."""
    eager = fun(*args)
    closed = funcgrad.make_jaxpr(fun)(*args)
    out = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager_list = list(eager) if isinstance(eager, tuple) else [eager]
    assert [o.aval for o in out] == [e.aval for e in eager_list]
    for got, want in zip(out, eager_list):
        assert_agrees_with_op_by_op(want, got)
    return eager


def assert_close(got, want, dtype, err_msg=""):
    assert isinstance(got, jnp.ndarray), type(got)
    want = np.asarray(want)
    got_values = np.asarray(got)
    assert got_values.shape == want.shape, (got_values.shape, want.shape, err_msg)
    if np.dtype(got.dtype) in FLOATS:
        tol = TOLERANCE[np.dtype(got.dtype)]
        if dtype in FLOATS:
            tol = max(tol, TOLERANCE[dtype])
        np.testing.assert_allclose(
            got_values.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol,
            err_msg=err_msg,
        )  # fmt: skip
    else:
        np.testing.assert_array_equal(got_values, want, err_msg=err_msg)


def assert_location(err: BaseException, name: str, fun) -> None:
    message = str(err)
    assert message.startswith(f"{name}:") or f" {name}" in message, message
    assert f"test_reductions.py:{fun.__code__.co_firstlineno}" in message, message


def jax_sum_dtype(dtype):
    if dtype in (BOOL, I8, I32):
        return I32
    if dtype == U8:
        return U32
    return dtype


def jax_mean_dtype(dtype):
    return dtype if dtype in FLOATS else F32


# ---------------------------------------------------------------------------------------
# The reductions table: (name, NumPy reference, result dtype, dtypes, input range,
# whether an empty reduction is an error)

REDUCTIONS = [
    ("sum", np.sum, jax_sum_dtype, DTYPES, (-3, 3), False),
    ("prod", np.prod, jax_sum_dtype, DTYPES, (1, 2), False),
    ("max", np.max, lambda d: d, DTYPES, (-3, 3), True),
    ("min", np.min, lambda d: d, DTYPES, (-3, 3), True),
    ("amax", np.amax, lambda d: d, (F32, I8), (-3, 3), True),
    ("amin", np.amin, lambda d: d, (F32, U8), (-3, 3), True),
    ("mean", np.mean, jax_mean_dtype, DTYPES, (-3, 3), False),
    ("var", np.var, jax_mean_dtype, DTYPES, (-3, 3), False),
    ("std", np.std, jax_mean_dtype, DTYPES, (-3, 3), False),
    ("any", np.any, lambda d: BOOL, DTYPES, (-1, 1), False),
    ("all", np.all, lambda d: BOOL, DTYPES, (-1, 1), False),
    ("ptp", np.ptp, lambda d: d, (F32, F16, I32, U8), (-3, 3), True),
    ("count_nonzero", np.count_nonzero, lambda d: I32, DTYPES, (-1, 1), False),
]


@pytest.mark.parametrize(
    "name, reference, result_dtype, dtype, value_range, empty_is_error",
    [
        pytest.param(name, ref, res, dtype, rng_, err, id=f"{name}-{dtype.name}")
        for name, ref, res, dtypes, rng_, err in REDUCTIONS
        for dtype in dtypes
    ],
)
def test_reduction_matches_numpy(name, reference, result_dtype, dtype, value_range, empty_is_error):
    rng = np.random.default_rng(len(name) * 100 + DTYPES.index(dtype) if dtype in DTYPES else 0)
    fun = getattr(jnp, name)
    for shape in SHAPES:
        x = random_array(rng, shape, dtype, *value_range)
        for axis in axis_choices(len(shape)):
            axes = numpy_axes(axis, len(shape))
            empty = any(shape[a] == 0 for a in axes)
            if empty and empty_is_error:
                continue
            for keepdims in (False, True):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # NumPy warns about mean of nothing
                    want = reference(upcast(x), axis=axis, keepdims=keepdims)
                got = fun(x, axis=axis, keepdims=keepdims)
                label = f"{name}{shape} axis={axis} keepdims={keepdims}"
                assert got.dtype == result_dtype(dtype), label
                assert_close(got, want, dtype, label)
    traced(lambda x: fun(x, axis=(0, 2)), x)  # the last shape, (3, 1, 4)


def test_sum_and_prod_dtype_argument_and_promote_integers():
    x = np.array([100, 100, 100], np.int8)
    assert int(jnp.sum(x)) == 300  # widened to int32: no wrap-around
    assert jnp.sum(x, promote_integers=False).dtype == I8
    assert jnp.sum(x, dtype=np.float16).dtype == F16
    assert jnp.prod(np.array([2, 3], np.uint8)).dtype == U32
    assert jnp.sum(np.array([True, True])).dtype == I32 and int(jnp.sum([True, True])) == 2
    assert jnp.mean(np.array([1, 2], np.int32), dtype=np.int32).dtype == I32


def test_sum_dtypes_under_x64(x64):
    assert jnp.sum(np.array([1, 2], np.int32)).dtype == np.int64
    assert jnp.sum(np.array([1, 2], np.uint8)).dtype == np.uint64
    assert jnp.mean(np.array([1, 2], np.int32)).dtype == np.float64
    assert jnp.argmax(np.array([1, 2])).dtype == np.int64


@pytest.mark.parametrize(
    "name", ["sum", "prod", "max", "min", "mean", "var", "std", "cumsum", "ptp", "nansum"]
)
def test_reductions_of_weak_values_are_strongly_typed(name):
    # JAX converts every jnp reduction's result to its dtype, which makes it strong.
    for weak in (jnp.asarray(2.0), jnp.asarray(3)):
        assert weak.weak_type
        out = getattr(jnp, name)(weak)
        assert not out.weak_type, (name, out.aval)


@pytest.mark.parametrize("dtype", [F32, F16, I32])
def test_where_and_initial_match_numpy(dtype):
    rng = np.random.default_rng(7)
    x = random_array(rng, (3, 4), dtype)
    mask = rng.random((3, 4)) < 0.6
    row_mask = np.array([True, False, True, True])  # broadcasts along the rows
    for name in ("sum", "prod", "max", "min"):
        fun, reference = getattr(jnp, name), getattr(np, name)
        initial = {"sum": 1, "prod": 2, "max": -5, "min": 5}[name]
        for where in (mask, row_mask):
            for axis in (None, 0, 1):
                want = reference(upcast(x), axis=axis, where=where, initial=initial)
                got = fun(x, axis=axis, where=where, initial=initial)
                assert_close(got, want, dtype, f"{name} axis={axis}")
        got = traced(lambda x, m, f=fun, i=initial: f(x, axis=1, where=m, initial=i), x, mask)
        assert_close(got, reference(upcast(x), axis=1, where=mask, initial=initial), dtype)
    for name in ("mean", "var", "std", "any", "all"):
        fun, reference = getattr(jnp, name), getattr(np, name)
        for axis in (None, 0, 1):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                want = reference(upcast(x), axis=axis, where=mask)
            assert_close(fun(x, axis=axis, where=mask), want, dtype, f"{name} axis={axis}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a row with one unmasked element has no ddof=1 variance
        want = np.var(upcast(x), 1, where=mask, ddof=1)
    assert_close(jnp.var(x, axis=1, where=mask, ddof=1), want, dtype)


def test_max_of_empty_with_initial_and_bool_initial():
    assert float(jnp.max(np.zeros((0,), np.float32), initial=3.0)) == 3.0
    out = jnp.min(np.zeros((2, 0), np.int32), axis=1, initial=4)
    assert np.asarray(out).tolist() == [4, 4]
    assert int(jnp.max(np.array([1, 2], np.int8), initial=5)) == 5


@pytest.mark.parametrize("ddof", [0, 1, 2])
def test_var_and_std_ddof_and_correction(ddof):
    x = np.random.default_rng(ddof).normal(size=(4, 5)).astype(np.float32)
    for name in ("var", "std"):
        want = getattr(np, name)(x.astype(np.float64), axis=1, ddof=ddof)
        assert_close(getattr(jnp, name)(x, axis=1, ddof=ddof), want, F32)
        assert_close(getattr(jnp, name)(x, axis=1, correction=ddof), want, F32)


def test_var_of_complex_is_real():
    x = np.array([1 + 2j, 3 - 1j, -2 + 0.5j], np.complex64)
    out = jnp.var(x)
    assert out.dtype == F32
    assert float(out) == pytest.approx(float(np.var(x.astype(np.complex128))), rel=1e-6)


def test_mean_and_var_of_half_precision_accumulate_in_float32():
    x = np.full(4096, 0.1, np.float16)
    assert jnp.mean(x).dtype == F16
    assert float(jnp.mean(x)) == pytest.approx(float(np.float16(0.1)), rel=1e-3)
    assert float(jnp.var(x)) == pytest.approx(0.0, abs=1e-6)


# ---------------------------------------------------------------------------------------
# argmax / argmin


@pytest.mark.parametrize("name", ["argmax", "argmin"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_argmax_argmin_match_numpy_with_ties(name, dtype):
    rng = np.random.default_rng(3)
    fun, reference = getattr(jnp, name), getattr(np, name)
    for shape in [(1,), (7,), (3, 4), (2, 3, 4)]:
        x = random_array(rng, shape, dtype, -1, 1)  # few values: many ties
        for axis in [None] + list(range(len(shape))) + [-1]:
            for keepdims in (False, True):
                got = fun(x, axis=axis, keepdims=keepdims)
                want = reference(upcast(x), axis=axis, keepdims=keepdims)
                assert got.dtype == I32
                np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"{shape} {axis}")
    traced(lambda x: fun(x, axis=1), x)


def test_argmax_of_nan_is_the_first_nan():
    x = np.array([1.0, np.nan, 3.0, np.nan], np.float32)
    assert int(jnp.argmax(x)) == 1 and int(jnp.argmin(x)) == 1
    y = np.array([[np.nan, 2], [1, 2]], ml_dtypes.bfloat16)
    assert np.asarray(jnp.argmax(y, axis=1)).tolist() == [0, 1]


@pytest.mark.parametrize("name", ["nanargmax", "nanargmin"])
def test_nanargmax_skips_nan_and_gives_minus_one_for_all_nan(name):
    x = np.array([[np.nan, 2.0, -1.0], [np.nan, np.nan, np.nan], [5.0, np.nan, 5.0]], np.float32)
    got = traced(lambda x: getattr(jnp, name)(x, axis=1), x)
    want = [1 if name == "nanargmax" else 2, -1, 0]  # JAX: -1 for an all-NaN row
    assert np.asarray(got).tolist() == want
    ints = np.array([3, 1, 3], np.int32)
    assert int(getattr(jnp, name)(ints)) == (0 if name == "nanargmax" else 1)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(-3, 3), min_size=1, max_size=12))
def test_argmax_picks_the_first_maximum(values):
    x = np.array(values, np.int32)
    assert int(jnp.argmax(x)) == values.index(max(values))
    assert int(jnp.argmin(x)) == values.index(min(values))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(0, 3), min_size=0, max_size=3).flatmap(
        lambda shape: st.tuples(
            st.just(tuple(shape)),
            st.lists(st.integers(0, len(shape) - 1), max_size=len(shape), unique=True)
            if shape
            else st.just([]),
            st.booleans(),
        )
    )
)
def test_sum_and_max_over_any_axes_match_numpy(case):
    shape, axes, keepdims = case
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) % 7 - 3
    axis = tuple(axes)
    np.testing.assert_array_equal(
        np.asarray(jnp.sum(x, axis=axis, keepdims=keepdims)),
        np.sum(x, axis=axis, keepdims=keepdims),
    )
    if all(shape[a] for a in axes):
        np.testing.assert_array_equal(
            np.asarray(jnp.max(x, axis=axis, keepdims=keepdims)),
            np.max(x, axis=axis, keepdims=keepdims, initial=-np.inf),
        )


# ---------------------------------------------------------------------------------------
# NaN-ignoring reductions

NAN_FUNCTIONS = [
    "nansum", "nanprod", "nanmax", "nanmin", "nanmean", "nanvar", "nanstd",
    "nanmedian", "nancumsum", "nancumprod",
]  # fmt: skip


def array_with_nans(dtype):
    rng = np.random.default_rng(11)
    x = rng.uniform(0.5, 1.5, size=(4, 5))
    x[rng.random((4, 5)) < 0.3] = np.nan
    x[2] = np.nan  # an all-NaN row
    return x.astype(dtype)


@pytest.mark.parametrize("name", NAN_FUNCTIONS)
@pytest.mark.parametrize("dtype", FLOATS, ids=lambda d: d.name)
def test_nan_functions_match_numpy(name, dtype):
    x = array_with_nans(dtype)
    fun, reference = getattr(jnp, name), getattr(np, name)
    cumulative = name.startswith("nancum")
    for axis in (None, 0, 1) if not cumulative else (None, 0, -1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # NumPy warns about all-NaN slices
            want = reference(upcast(x), axis=axis)
        got = fun(x, axis=axis)
        assert got.dtype == dtype
        assert_close(got, want, dtype, f"{name} axis={axis}")
    traced(lambda x: fun(x, axis=1), x)


def test_nan_functions_of_integers_are_the_plain_ones():
    x = np.array([[1, 2], [3, 4]], np.int8)
    assert jnp.nansum(x).dtype == I32 and int(jnp.nansum(x)) == 10
    assert int(jnp.nanmax(x)) == 4 and jnp.nanmax(x).dtype == I8
    assert float(jnp.nanmean(x)) == 2.5
    assert jnp.nancumsum(np.array([True, True])).dtype == I32


def test_nanmax_with_where_and_initial():
    x = np.array([[np.nan, 1.0], [np.nan, np.nan]], np.float32)
    got = jnp.nanmax(x, axis=1, initial=-2.0)
    np.testing.assert_array_equal(np.asarray(got), np.nanmax(x, axis=1, initial=-2.0))
    masked = jnp.nanmin(x, axis=1, where=np.array([True, False]), initial=9.0)
    np.testing.assert_array_equal(np.asarray(masked), [9.0, 9.0])


# ---------------------------------------------------------------------------------------
# median, quantile, percentile

METHODS = ["linear", "lower", "higher", "midpoint", "nearest"]


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [F32, F16, I32], ids=lambda d: d.name)
def test_quantile_matches_numpy(method, dtype):
    rng = np.random.default_rng(5)
    x = random_array(rng, (3, 7), dtype, -50, 50)
    # q * (n - 1) is never exactly a half for these q and n, where `nearest` differs.
    q = np.array([0.0, 0.13, 0.5, 0.71, 1.0], np.float32)
    result = F16 if dtype == F16 else F32
    for axis, keepdims in [(None, False), (1, False), (0, True), ((0, 1), True)]:
        n = x.size if axis in (None, (0, 1)) else x.shape[axis]
        assert not np.any(np.isclose((q * (n - 1)) % 1, 0.5))
        want = np.quantile(upcast(x), q, axis=axis, method=method, keepdims=keepdims)
        got = jnp.quantile(x, q, axis=axis, method=method, keepdims=keepdims)
        assert got.dtype == result
        assert_close(got, want, result, f"axis={axis}")
        got = jnp.percentile(x, q * 100, axis=axis, method=method, keepdims=keepdims)
        assert_close(got, want, result, f"percentile axis={axis}")
    traced(lambda x, q: jnp.quantile(x, q, axis=1, method=method), x, q)


def test_nearest_rounds_exact_halves_down_as_jax():
    x = np.arange(5.0, dtype=np.float32)
    # q * (n - 1) = 1.5 and 2.5: JAX takes the lower neighbour (NumPy would round to even).
    assert np.asarray(jnp.quantile(x, [0.375, 0.625], method="nearest")).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("dtype", [F32, BF16, I8, BOOL], ids=lambda d: d.name)
def test_median_matches_numpy(dtype):
    rng = np.random.default_rng(9)
    for shape in [(1,), (6,), (5,), (4, 3), (2, 3, 4)]:
        x = random_array(rng, shape, dtype, -20, 20)
        for axis in [None, 0, -1]:
            for keepdims in (False, True):
                got = jnp.median(x, axis=axis, keepdims=keepdims)
                assert got.dtype == (BF16 if dtype == BF16 else F32)
                want = np.median(upcast(x), axis=axis, keepdims=keepdims)
                assert_close(got, want, dtype, f"{shape} axis={axis}")


def test_quantiles_with_nans():
    x = np.array([[1.0, np.nan, 3.0, 2.0], [4.0, 5.0, 6.0, 7.0], [np.nan] * 4], np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for q in (0.0, 0.3, 0.5, 1.0):
            assert_close(jnp.quantile(x, q, axis=1), np.quantile(x, q, axis=1), F32)
            assert_close(jnp.nanquantile(x, q, axis=1), np.nanquantile(x, q, axis=1), F32)
            assert_close(
                jnp.nanpercentile(x, 100 * q, axis=1), np.nanpercentile(x, 100 * q, axis=1), F32
            )
        assert_close(jnp.median(x, axis=1), np.median(x, axis=1), F32)
        assert_close(jnp.nanmedian(x, axis=1), np.nanmedian(x, axis=1), F32)
    got = traced(lambda x: jnp.nanquantile(x, np.array([0.25, 0.75]), axis=1), x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert_close(got, np.nanquantile(x, [0.25, 0.75], axis=1), F32)


def test_quantile_of_an_empty_axis_is_nan():
    assert np.isnan(float(jnp.median(np.zeros((0,), np.float32))))
    assert np.asarray(jnp.quantile(np.zeros((2, 0), np.float32), 0.5, axis=1)).shape == (2,)


# ---------------------------------------------------------------------------------------
# Cumulative sums and products


@pytest.mark.parametrize("name", ["cumsum", "cumprod"])
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_cumulative_matches_numpy(name, dtype):
    rng = np.random.default_rng(13)
    fun, reference = getattr(jnp, name), getattr(np, name)
    result = I32 if dtype == BOOL else dtype  # JAX keeps int8 as int8; bool sums as int32
    for shape in [(), (0,), (5,), (2, 3), (2, 0, 3)]:
        x = (
            random_array(rng, shape, dtype, 1, 2)
            if name == "cumprod"
            else random_array(rng, shape, dtype, 0, 3)
        )
        for axis in [None] + list(range(len(shape))) + ([-1] if shape else []):
            got = fun(x, axis=axis)
            assert got.dtype == result
            assert_close(got, reference(upcast(x), axis=axis), dtype)
    traced(lambda x: fun(x, axis=0), x)


def test_cumsum_dtype_argument_and_array_api_forms():
    x = np.array([[1, 2, 3], [4, 5, 6]], np.int8)
    assert jnp.cumsum(x, dtype=np.float32).dtype == F32
    got = jnp.cumulative_sum(x, axis=1, include_initial=True)
    assert got.dtype == I32  # the Array API form widens small integers, as in JAX
    np.testing.assert_array_equal(
        np.asarray(got), np.cumulative_sum(x, axis=1, include_initial=True)
    )
    got = jnp.cumulative_prod(np.array([2, 3, 4], np.int8), include_initial=True)
    assert got.dtype == I8 and np.asarray(got).tolist() == [1, 2, 6, 24]
    got = traced(lambda x: jnp.cumulative_sum(x, axis=0, include_initial=True), x)
    np.testing.assert_array_equal(
        np.asarray(got), np.cumulative_sum(x, axis=0, include_initial=True)
    )


# ---------------------------------------------------------------------------------------
# average, count_nonzero


def test_average_matches_numpy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(3, 4)).astype(np.float32)
    w = rng.uniform(0.1, 1.0, size=(3, 4)).astype(np.float32)
    for axis in (None, 0, 1):
        assert_close(jnp.average(x, axis=axis, weights=w), np.average(x, axis=axis, weights=w), F32)
        avg, total = jnp.average(x, axis=axis, weights=w, returned=True)
        want_avg, want_total = np.average(x, axis=axis, weights=w, returned=True)
        assert_close(avg, want_avg, F32)
        assert_close(total, want_total, F32)
    w1 = w[0]
    assert_close(jnp.average(x, axis=1, weights=w1), np.average(x, axis=1, weights=w1), F32)
    avg, count = jnp.average(np.arange(6).reshape(2, 3), axis=1, returned=True)
    assert avg.dtype == F32 and np.asarray(count).tolist() == [3.0, 3.0]
    got = traced(lambda x, w: jnp.average(x, axis=0, weights=w), x, w)
    assert_close(got, np.average(x, axis=0, weights=w), F32)


# ---------------------------------------------------------------------------------------
# Array methods


def test_array_methods_match_the_functions():
    x = np.random.default_rng(4).normal(size=(3, 4)).astype(np.float32)
    a = jnp.asarray(x)
    for name in ("sum", "prod", "max", "min", "mean", "var", "std", "any", "all", "ptp"):
        assert_close(getattr(a, name)(axis=1), getattr(np, name)(x, axis=1), F32, name)
        assert_close(getattr(a, name)(), getattr(np, name)(x), F32, name)
    for name in ("argmax", "argmin"):
        np.testing.assert_array_equal(np.asarray(getattr(a, name)(axis=0)), getattr(x, name)(0))
    for name in ("cumsum", "cumprod"):
        assert_close(getattr(a, name)(axis=1), getattr(np, name)(x, axis=1), F32, name)
    got = traced(lambda t: (t.sum(0), t.max(), t.argmin(1), t.cumsum(), t.std(ddof=1)), a)
    assert_close(got[4], np.std(x, ddof=1), F32)


# ---------------------------------------------------------------------------------------
# lax reductions: the rules the table in tests/lax cannot reach

f32_2x3 = np.ones((2, 3), np.float32)


def test_lax_argmax_index_dtype_and_weak_type():
    x = lax.broadcast_in_dim(2.0, (3,), ())
    assert lax.reduce_min(x, (0,)).weak_type
    out = lax.argmax(np.array([[1, 3], [4, 2]], np.int8), 1, np.uint8)
    assert out.dtype == U8 and np.asarray(out).tolist() == [1, 0]


LAX_ERRORS = [
    ("argmax", "f32[2,0]", lambda: lax.argmax(np.ones((2, 0), np.float32), 1, np.int32)),
    ("argmin", "f32[2,3]", lambda: lax.argmin(f32_2x3, 2, np.int32)),
    ("argmax", "f32[2,3]", lambda: lax.argmax(f32_2x3, 0, np.float32)),
    ("reduce_and", "f32[2,3]", lambda: lax.reduce_and(f32_2x3, (0,))),
    ("reduce_prod", "bool[3]", lambda: lax.reduce_prod(np.ones(3, bool), (0,))),
    ("reduce_min", "f32[2,3]", lambda: lax.reduce_min(f32_2x3, (0, 0))),
    ("cumsum", "f32[2,3]", lambda: lax.cumsum(f32_2x3, 2)),
    ("cummax", "f32[]", lambda: lax.cummax(np.float32(1), 0)),
    ("cumlogsumexp", "i32[3]", lambda: lax.cumlogsumexp(np.ones(3, np.int32))),
]


@pytest.mark.parametrize("name, operands, fun", LAX_ERRORS, ids=[e[0] for e in LAX_ERRORS])
def test_lax_shape_rule_errors_name_primitive_operands_and_line(name, operands, fun):
    for run in (fun, lambda: funcgrad.make_jaxpr(fun)()):
        with pytest.raises(TypeError) as info:
            run()
        assert str(info.value).startswith(f"{name}:"), str(info.value)
        assert operands in str(info.value)
        assert_location(info.value, name, fun)


# ---------------------------------------------------------------------------------------
# Bad input: NumPy's exception types, the function's name and the user's line

m23 = np.ones((2, 3), np.float32)

BAD_INPUT = [
    ("sum", np.exceptions.AxisError, "axis 2", lambda: jnp.sum(m23, axis=2)),
    ("max", np.exceptions.AxisError, "axis -3", lambda: jnp.max(m23, axis=-3)),
    ("mean", np.exceptions.AxisError, "axis 5", lambda: jnp.mean(m23, axis=(0, 5))),
    ("argmax", np.exceptions.AxisError, "axis 2", lambda: jnp.argmax(m23, axis=2)),
    ("cumsum", np.exceptions.AxisError, "axis 1", lambda: jnp.cumsum(np.ones(3), axis=1)),
    ("median", np.exceptions.AxisError, "axis 4", lambda: jnp.median(m23, axis=4)),
    ("std", np.exceptions.AxisError, "0-d", lambda: jnp.std(np.float32(1), axis=0)),
    ("sum", ValueError, "duplicate", lambda: jnp.sum(m23, axis=(0, 0))),
    ("var", ValueError, "duplicate", lambda: jnp.var(m23, axis=(1, -1))),
    ("max", ValueError, "zero-size", lambda: jnp.max(np.ones((0, 3)), axis=0)),
    ("min", ValueError, "zero-size", lambda: jnp.min(np.ones((0,)))),
    ("ptp", ValueError, "zero-size", lambda: jnp.ptp(np.ones((2, 0)), axis=1)),
    ("max", ValueError, "initial", lambda: jnp.max(m23, where=m23 > 0)),
    ("argmax", ValueError, "empty", lambda: jnp.argmax(np.ones((2, 0)), axis=1)),
    ("argmin", ValueError, "empty", lambda: jnp.argmin(np.ones((0,)))),
    ("var", ValueError, "ddof and correction", lambda: jnp.var(m23, ddof=1, correction=1)),
    ("quantile", ValueError, "q must be in", lambda: jnp.quantile(m23, 1.5)),
    ("percentile", ValueError, "q must be in", lambda: jnp.percentile(m23, [10, -1])),
    ("quantile", ValueError, "method", lambda: jnp.quantile(m23, 0.5, method="inverted_cdf")),
    ("cumulative_sum", ValueError, "rank 2", lambda: jnp.cumulative_sum(m23)),
    ("sum", TypeError, "where=", lambda: jnp.sum(m23, where=np.ones((2, 3), np.int32))),
    ("sum", ValueError, "where=", lambda: jnp.sum(m23, where=np.ones((3, 3), bool))),
    ("sum", TypeError, "axis must be", lambda: jnp.sum(m23, axis=1.0)),
    ("average", ValueError, "weights", lambda: jnp.average(m23, axis=1, weights=np.ones(2))),
    ("sum", NotImplementedError, "out", lambda: jnp.sum(m23, out=m23)),
    ("sum", ValueError, "must be a scalar", lambda: jnp.sum(m23, initial=np.ones(2))),
    ("nanargmax", ValueError, "empty", lambda: jnp.nanargmax(np.ones((0,)))),
    ("median", TypeError, "complex", lambda: jnp.median(np.ones(3, np.complex64))),
]


@pytest.mark.parametrize(
    "name, error, fragment, fun", BAD_INPUT, ids=[f"{e[0]}-{e[2]}" for e in BAD_INPUT]
)
def test_bad_input_raises_numpy_exception_naming_function_and_line(name, error, fragment, fun):
    with pytest.raises(error) as info:
        fun()
    assert fragment in str(info.value), str(info.value)
    assert_location(info.value, name, fun)
    with pytest.raises(error):  # the same under tracing
        funcgrad.make_jaxpr(fun)()


def test_axis_errors_are_the_numpy_kind():
    with pytest.raises(np.exceptions.AxisError):
        np.sum(m23, axis=2)  # the exception type the table expects is NumPy's own
    with pytest.raises(ValueError):
        np.max(np.ones((0, 3)), axis=0)
