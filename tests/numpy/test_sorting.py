"""funcgrad.numpy sorting and searching (sort, argsort, lexsort, partition, searchsorted,
unique) and lax.sort/top_k against NumPy.

Oracles: NumPy's stable sorts (kind="stable"), lexsort, searchsorted and unique, in
float64 for floats; hand-derived answers for JAX's rules where NumPy has no counterpart
(descending stable order, unique's size=/fill_value padding, top_k's NaN-first order).
Hypothesis checks that sorting permutes its input into non-decreasing order, stably.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I8, I32, U8, BOOL = np.dtype(np.int8), np.dtype(np.int32), np.dtype(np.uint8), np.dtype(bool)
FLOATS = (F32, F16, BF16)
DTYPES = (F32, F16, BF16, I32, U8, I8, BOOL)


def random_array(rng, shape, dtype, nans=True):
    """Small whole numbers (so ties occur), with some NaN in float arrays."""
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    values = rng.integers(0 if dtype == U8 else -3, 4, size=shape).astype(np.float64)
    if dtype in FLOATS and nans:
        values[rng.random(shape) < 0.15] = np.nan
    return values.astype(dtype)


def upcast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if x.dtype in FLOATS else x


def values(x) -> np.ndarray:
    assert isinstance(x, jnp.ndarray), type(x)
    return upcast(np.asarray(x))


def traced(fun, *args):
    """fun(*args) through make_jaxpr and eval_jaxpr, checked against the eager result."""
    eager = fun(*args)
    closed = funcgrad.make_jaxpr(fun)(*args)
    out = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager_list = list(eager) if isinstance(eager, (tuple, list)) else [eager]
    assert [o.aval for o in out] == [e.aval for e in eager_list]
    for got, want in zip(out, eager_list):
        np.testing.assert_array_equal(values(got), values(want))
    return eager


def assert_location(err: BaseException, name: str, fun) -> None:
    message = str(err)
    assert name in message, message
    assert f"test_sorting.py:{fun.__code__.co_firstlineno}" in message, message


SHAPES = [(0,), (1,), (9,), (3, 4), (2, 0, 3), (2, 3, 5)]


def axes_of(ndim):
    return [None] + list(range(ndim)) + [-1]


# ---------------------------------------------------------------------------------------
# sort and argsort


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_sort_and_argsort_match_numpy_stable(dtype):
    rng = np.random.default_rng(1)
    for shape in SHAPES:
        x = random_array(rng, shape, dtype)
        for axis in axes_of(len(shape)):
            got = jnp.sort(x, axis=axis)
            assert got.dtype == dtype
            np.testing.assert_array_equal(values(got), np.sort(upcast(x), axis=axis))
            order = jnp.argsort(x, axis=axis)
            assert order.dtype == I32
            want = np.argsort(upcast(x), axis=axis, kind="stable")
            np.testing.assert_array_equal(np.asarray(order), want, err_msg=f"{shape} {axis}")
    traced(lambda x: (jnp.sort(x, axis=0), jnp.argsort(x, axis=-1)), x)


def test_argsort_of_many_ties_is_numpys_stable_order():
    x = np.random.default_rng(2).integers(0, 3, size=200).astype(np.int32)
    np.testing.assert_array_equal(np.asarray(jnp.argsort(x)), np.argsort(x, kind="stable"))


def stable_descending(x, axis):
    """Indices of the descending order, ties in original order, NaN first (by hand)."""
    moved = np.moveaxis(upcast(x), axis, -1)
    flat = moved.reshape(-1, moved.shape[-1])
    rows = []
    for row in flat:
        keyed = [
            (0 if np.isnan(v) else 1, 0.0 if np.isnan(v) else -float(v), i)
            for i, v in enumerate(row)
        ]
        rows.append([i for _, _, i in sorted(keyed)])
    return np.moveaxis(np.array(rows, dtype=np.int64).reshape(moved.shape), -1, axis)


@pytest.mark.parametrize("dtype", [F32, BF16, I32, U8, BOOL], ids=lambda d: d.name)
def test_descending_sort_is_stable_with_nan_first(dtype):
    rng = np.random.default_rng(3)
    for shape in [(7,), (3, 4)]:
        x = random_array(rng, shape, dtype)
        for axis in range(len(shape)):
            want = stable_descending(x, axis)
            got = jnp.argsort(x, axis=axis, descending=True)
            np.testing.assert_array_equal(np.asarray(got), want)
            sorted_values = values(jnp.sort(x, axis=axis, descending=True))
            np.testing.assert_array_equal(sorted_values, np.take_along_axis(upcast(x), want, axis))
    x = np.array([1.0, np.nan, 3.0, 1.0, np.nan], np.float32)
    assert np.asarray(jnp.argsort(x, descending=True)).tolist() == [1, 4, 2, 0, 3]


def test_sort_methods_and_signed_zero():
    a = jnp.asarray(np.array([[3, 1, 2], [0, 5, 4]], np.int32))
    assert np.asarray(a.sort()).tolist() == [[1, 2, 3], [0, 4, 5]]
    assert np.asarray(a.argsort(axis=0)).tolist() == [[1, 0, 0], [0, 1, 1]]
    assert np.asarray(a.sort(axis=None, descending=True)).tolist() == [5, 4, 3, 2, 1, 0]
    z = np.array([0.0, -0.0, 0.0, -0.0], np.float32)  # equal keys: a stable sort keeps them
    np.testing.assert_array_equal(np.signbit(np.asarray(jnp.sort(z))), np.signbit(z))


@settings(max_examples=50, deadline=None)
@given(st.lists(st.one_of(st.integers(-5, 5), st.just(99)), max_size=20))
def test_sort_is_a_stable_non_decreasing_permutation(items):
    x = np.array(items, np.float32)
    x[x == 99] = np.nan
    order = np.asarray(jnp.argsort(x))
    assert sorted(order.tolist()) == list(range(len(items)))
    ordered = x[order]
    finite = ordered[~np.isnan(ordered)]
    assert np.all(finite[:-1] <= finite[1:])
    assert np.all(np.isnan(ordered[len(finite) :]))  # NaN last
    for i in range(len(order) - 1):  # equal keys keep their original order
        if ordered[i] == ordered[i + 1] or (np.isnan(ordered[i]) and np.isnan(ordered[i + 1])):
            assert order[i] < order[i + 1]
    np.testing.assert_array_equal(np.asarray(jnp.sort(x)), ordered)


# ---------------------------------------------------------------------------------------
# lexsort, partition


def test_lexsort_matches_numpy():
    rng = np.random.default_rng(4)
    keys = [rng.integers(0, 3, size=(4, 6)).astype(np.int32) for _ in range(3)]
    for axis in (-1, 0):
        got = jnp.lexsort(keys, axis=axis)
        np.testing.assert_array_equal(np.asarray(got), np.lexsort(keys, axis=axis))
    stacked = np.stack([k[0] for k in keys])
    np.testing.assert_array_equal(np.asarray(jnp.lexsort(stacked)), np.lexsort(stacked))
    mixed = [np.array([1.0, np.nan, 1.0, 0.5], np.float32), np.array([1, 1, 0, 0], np.int8)]
    np.testing.assert_array_equal(np.asarray(jnp.lexsort(mixed)), np.lexsort(mixed))
    traced(lambda a, b: jnp.lexsort([a, b]), *keys[:2])


@pytest.mark.parametrize("dtype", [F32, I32], ids=lambda d: d.name)
def test_partition_puts_the_kth_element_in_place(dtype):
    rng = np.random.default_rng(5)
    x = random_array(rng, (4, 7), dtype, nans=False)
    for kth in (0, 3, 6, -1):
        for axis in (-1, 0):
            size = x.shape[axis]
            k = kth % size
            if kth >= size:
                continue
            out = values(jnp.partition(x, kth, axis=axis))
            want = np.partition(upcast(x), kth, axis=axis)
            pivot = np.take(out, [k], axis=axis)
            np.testing.assert_array_equal(pivot, np.take(want, [k], axis=axis))
            assert np.all(np.take(out, range(k), axis=axis) <= pivot)
            assert np.all(np.take(out, range(k + 1, size), axis=axis) >= pivot)
            order = np.asarray(jnp.argpartition(x, kth, axis=axis))
            np.testing.assert_array_equal(np.take_along_axis(upcast(x), order, axis), out)


# ---------------------------------------------------------------------------------------
# searchsorted


@pytest.mark.parametrize("side", ["left", "right"])
@pytest.mark.parametrize("dtype", [F32, F16, I32, U8], ids=lambda d: d.name)
def test_searchsorted_matches_numpy(side, dtype):
    rng = np.random.default_rng(6)
    for n in (0, 1, 8):
        a = np.sort(random_array(rng, (n,), dtype))
        for v_shape in [(), (5,), (2, 3), (0,)]:
            v = random_array(rng, v_shape, dtype)
            got = jnp.searchsorted(a, v, side=side)
            assert got.dtype == I32 and got.shape == v_shape
            want = np.searchsorted(upcast(a), upcast(v), side=side)
            np.testing.assert_array_equal(np.asarray(got), want, err_msg=f"a={a} v={v}")
    traced(lambda a, v: jnp.searchsorted(a, v, side=side), a, v)


def test_searchsorted_with_sorter_methods_and_mixed_dtypes():
    a = np.array([3.0, 1.0, 2.0, 2.0, 5.0], np.float32)
    sorter = np.argsort(a, kind="stable")
    v = np.array([2.0, 0.0, 6.0, 4.5], np.float32)
    for side in ("left", "right"):
        want = np.searchsorted(a, v, side=side, sorter=sorter)
        for method in ("scan", "sort", "compare_all", "scan_unrolled"):
            got = jnp.searchsorted(a, v, side=side, sorter=sorter, method=method)
            np.testing.assert_array_equal(np.asarray(got), want)
    ints = np.array([1, 2, 3], np.int32)
    assert int(jnp.searchsorted(ints, 2.5)) == 2  # v promotes a to float32


# ---------------------------------------------------------------------------------------
# unique


def check_unique(x, **flags):
    got = jnp.unique(x, **flags)
    want = np.unique(upcast(x), **flags)
    got, want = (got, want) if isinstance(want, tuple) else ((got,), (want,))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(values(g), w)
    return got


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_unique_matches_numpy(dtype):
    rng = np.random.default_rng(7)
    for shape in [(0,), (1,), (12,), (3, 4)]:
        x = random_array(rng, shape, dtype)
        check_unique(x)
        out = check_unique(x, return_index=True, return_inverse=True, return_counts=True)
        assert [o.dtype for o in out[1:]] == [I32] * 3
        check_unique(x, return_counts=True, equal_nan=False)


def test_unique_along_an_axis_matches_numpy():
    x = np.array([[1, 0, 1], [0, 2, 0], [1, 0, 1], [0, 1, 0]], np.int32)
    for axis in (0, 1, -1):
        check_unique(x, axis=axis, return_index=True, return_inverse=True, return_counts=True)


def test_unique_with_size_pads_like_jax():
    x = np.array([3, 1, 2, 1, 3, 3], np.int32)
    values_, index, inverse, counts = jnp.unique(
        x, size=5, fill_value=-1, return_index=True, return_inverse=True, return_counts=True
    )
    assert np.asarray(values_).tolist() == [1, 2, 3, -1, -1]
    assert np.asarray(index).tolist() == [1, 2, 0, 1, 1]  # padded with the first index
    assert np.asarray(inverse).tolist() == [2, 0, 1, 0, 2, 2]
    assert np.asarray(counts).tolist() == [2, 1, 3, 0, 0]
    assert np.asarray(jnp.unique(x, size=5)).tolist() == [1, 2, 3, 1, 1]  # default: the min
    assert np.asarray(jnp.unique(x, size=2)).tolist() == [1, 2]
    closed = funcgrad.make_jaxpr(lambda x: jnp.unique(x, size=4, return_counts=True))(x)
    got = eval_jaxpr(closed.jaxpr, closed.consts, x)
    assert [np.asarray(g).tolist() for g in got] == [[1, 2, 3, 1], [2, 1, 3, 0]]


def test_unique_under_tracing_needs_size():
    x = np.array([3, 1, 3], np.int32)
    fun = lambda x: jnp.unique(x)  # noqa: E731
    with pytest.raises(funcgrad.errors.ConcretizationTypeError) as info:
        funcgrad.make_jaxpr(fun)(x)
    assert isinstance(info.value, TypeError)
    assert "size=" in str(info.value)
    assert_location(info.value, "unique", fun)


# ---------------------------------------------------------------------------------------
# lax.sort and lax.top_k beyond the op table


def reference_top_k(x, k):
    rows = upcast(x).reshape(-1, x.shape[-1])
    order = [
        sorted(
            range(len(r)), key=lambda i, r=r: (not np.isnan(r[i]), -np.nan_to_num(float(r[i])), i)
        )[:k]
        for r in rows
    ]
    return np.array(order, np.int64).reshape(x.shape[:-1] + (k,))


@pytest.mark.parametrize("dtype", [F32, F16, BF16, U8, I8, BOOL], ids=lambda d: d.name)
def test_top_k_orders_nan_first_and_ties_by_index(dtype):
    rng = np.random.default_rng(8)
    for shape, k in [((7,), 3), ((3, 5), 5), ((2, 4), 0), ((2, 0), 0)]:
        x = random_array(rng, shape, dtype)
        top, index = lax.top_k(x, k)
        assert (top.dtype, index.dtype) == (dtype, I32)
        want = reference_top_k(x, k) if x.size else np.zeros(shape[:-1] + (k,), np.int64)
        np.testing.assert_array_equal(np.asarray(index), want)
        np.testing.assert_array_equal(values(top), np.take_along_axis(upcast(x), want, -1))
    traced(lambda x: lax.top_k(x, 2), x if x.size else random_array(rng, (4,), dtype))


def test_lax_sort_weak_types_and_mixed_operand_dtypes():
    keys = np.array([2, 1, 2, 0], np.int8)
    payload = np.array([0.5, 1.5, 2.5, 3.5], np.float32)
    sorted_keys, sorted_payload = lax.sort((keys, payload))
    assert np.asarray(sorted_keys).tolist() == [0, 1, 2, 2]
    assert np.asarray(sorted_payload).tolist() == [3.5, 1.5, 0.5, 2.5]
    weak = lax.broadcast_in_dim(2.0, (3,), ())
    assert lax.sort(weak).weak_type and not lax.top_k(weak, 1)[1].weak_type


v3, v4 = np.ones(3, np.float32), np.ones(4, np.float32)

LAX_ERRORS = [
    ("sort", "f32[3], f32[4]", lambda: lax.sort((v3, v4))),
    ("sort", "f32[3]", lambda: lax.sort(v3, dimension=1)),
    ("sort", "f32[3], f32[3]", lambda: lax.sort((v3, v3), num_keys=3)),
    ("sort", "f32[]", lambda: lax.sort(np.float32(1))),
    ("top_k", "f32[3]", lambda: lax.top_k(v3, 4)),
    ("top_k", "f32[]", lambda: lax.top_k(np.float32(1), 1)),
    ("top_k", "c64[3]", lambda: lax.top_k(np.ones(3, np.complex64), 1)),
]


@pytest.mark.parametrize("name, operands, fun", LAX_ERRORS)
def test_lax_shape_rule_errors_name_primitive_operands_and_line(name, operands, fun):
    for run in (fun, lambda: funcgrad.make_jaxpr(fun)()):
        with pytest.raises(TypeError) as info:
            run()
        assert str(info.value).startswith(f"{name}:"), str(info.value)
        assert operands in str(info.value)
        assert_location(info.value, name, fun)


# ---------------------------------------------------------------------------------------
# Bad input

m23 = np.ones((2, 3), np.float32)

BAD_INPUT = [
    ("sort", np.exceptions.AxisError, lambda: jnp.sort(m23, axis=2)),
    ("sort", np.exceptions.AxisError, lambda: jnp.sort(np.float32(1))),
    ("argsort", np.exceptions.AxisError, lambda: jnp.argsort(m23, axis=-3)),
    ("lexsort", np.exceptions.AxisError, lambda: jnp.lexsort([m23], axis=2)),
    ("unique", np.exceptions.AxisError, lambda: jnp.unique(m23, axis=2)),
    ("sort", ValueError, lambda: jnp.sort(m23, order="x")),
    ("partition", ValueError, lambda: jnp.partition(m23, 3)),
    ("argpartition", ValueError, lambda: jnp.argpartition(m23, -4)),
    ("partition", TypeError, lambda: jnp.partition(m23, 1.5)),
    ("lexsort", ValueError, lambda: jnp.lexsort([v3, v4])),
    ("lexsort", TypeError, lambda: jnp.lexsort([])),
    ("searchsorted", ValueError, lambda: jnp.searchsorted(m23, 1.0)),
    ("searchsorted", ValueError, lambda: jnp.searchsorted(v3, 1.0, side="middle")),
    ("searchsorted", ValueError, lambda: jnp.searchsorted(v3, 1.0, method="binary")),
    ("searchsorted", ValueError, lambda: jnp.searchsorted(v3, 1.0, sorter=np.arange(4))),
    ("unique", TypeError, lambda: jnp.unique(v3, size=-1)),
    ("unique", ValueError, lambda: jnp.unique(np.ones((3, 0)), axis=0)),
]


@pytest.mark.parametrize("name, error, fun", BAD_INPUT)
def test_bad_input_raises_numpy_exception_naming_function_and_line(name, error, fun):
    with pytest.raises(error) as info:
        fun()
    assert str(info.value).startswith(f"{name}:"), str(info.value)
    assert_location(info.value, name, fun)
    with pytest.raises(error):  # the same under tracing
        funcgrad.make_jaxpr(fun)()
