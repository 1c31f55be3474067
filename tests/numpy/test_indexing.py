"""funcgrad.numpy indexing against NumPy: `x[idx]` with basic, integer-array and boolean
indices, `x.at[idx]` updates, take, take_along_axis, nonzero, argwhere, flatnonzero, ix_,
eagerly and under make_jaxpr, and every bad-input path.

Oracles: NumPy for in-bounds indexing (hypothesis property tests over random shapes and
index tuples) and for updates (`np.add.at` and friends accumulate repeated indices);
hand-derived answers for JAX's out-of-bounds rules: gathers clamp (x[7] of a length-5
array is x[4]; mode='fill' gives the fill value), scatters drop (x.at[7].set(v) is x;
mode='clip' clamps), negative indices count from the end first.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.errors import ConcretizationTypeError, NonConcreteBooleanIndexError

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32, U8, I8 = np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.int8)
BOOL = np.dtype(np.bool_)


def values(x) -> np.ndarray:
    assert isinstance(x, jnp.ndarray), f"expected a funcgrad Array, got {type(x).__name__}"
    return np.asarray(x)


def traced(fun, *args, many=False):
    """`fun(*args)` through make_jaxpr and eval_jaxpr (the jaxpr's primitives run)."""
    closed = funcgrad.make_jaxpr(fun)(*args)
    # An output that is an input unchanged comes back as the NumPy argument itself.
    out = [jnp.asarray(o) for o in eval_jaxpr(closed.jaxpr, closed.consts, *args)]
    return out if many else out[0]


def primitives(fun, *args) -> list[str]:
    return [eqn.primitive.name for eqn in funcgrad.make_jaxpr(fun)(*args).eqns]


def assert_same(got, want, dtype=None):
    want = np.asarray(want)
    assert got.shape == values(got).shape == want.shape, (got.shape, want.shape)
    if dtype is not None:
        assert got.dtype == dtype
    np.testing.assert_array_equal(values(got).astype(np.float64), want.astype(np.float64))


# ---------------------------------------------------------------------------------------
# Property: random index tuples against NumPy


@st.composite
def arrays_and_indices(draw):
    """An array of rank <= 3 and an index mixing ints, slices, None, one Ellipsis and
    integer arrays (in range; arrays broadcast to one shape), with the array positions."""
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    ndim = len(shape)
    advanced_shape = draw(st.sampled_from([(1,), (2,), (3,), (2, 2), (0,), (3, 1)]))
    use_ellipsis = draw(st.booleans())
    n_front = draw(st.integers(0, ndim))
    n_back = draw(st.integers(0, ndim - n_front)) if use_ellipsis else 0

    def item(axis):
        size = shape[axis]
        kind = draw(st.sampled_from(["int", "slice", "array", "array"]))
        if kind == "array" and (size or 0 in advanced_shape):
            array_shape = draw(st.sampled_from([advanced_shape, advanced_shape[-1:]]))
            count = int(np.prod(array_shape))
            entries = st.integers(-size, size - 1) if size else st.nothing()
            drawn = draw(st.lists(entries, min_size=count, max_size=count))
            return np.asarray(drawn, np.int32).reshape(array_shape)
        if kind == "int" and size:
            return draw(st.integers(-size, size - 1))
        bound = st.none() | st.integers(-6, 6)
        step = st.none() | st.sampled_from([1, 2, -1, -2])
        return slice(draw(bound), draw(bound), draw(step))

    items = [item(axis) for axis in range(n_front)]
    if use_ellipsis:
        items += [Ellipsis] + [item(axis) for axis in range(ndim - n_back, ndim)]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    index = tuple(items)
    if len(index) == 1 and draw(st.booleans()):
        index = index[0]
    x = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    return x, index


def _split(index):
    """The integer arrays of an index, and a function rebuilding it from replacements."""
    items = index if isinstance(index, tuple) else (index,)
    arrays = [i for i in items if isinstance(i, np.ndarray)]

    def rebuild(*replacements):
        it = iter(replacements)
        out = tuple(next(it) if isinstance(i, np.ndarray) else i for i in items)
        return out if isinstance(index, tuple) else out[0]

    return arrays, rebuild


@settings(max_examples=250, deadline=None)
@given(arrays_and_indices())
def test_indexing_matches_numpy(case):
    x, index = case
    want = x[index]
    assert_same(jnp.asarray(x)[index], want, F32)
    arrays, rebuild = _split(index)
    # The index arrays as funcgrad Arrays (eager gathers) and as traced arguments.
    assert_same(jnp.asarray(x)[rebuild(*map(jnp.asarray, arrays))], want, F32)
    assert_same(traced(lambda x, *a: x[rebuild(*a)], x, *arrays), want, F32)


@settings(max_examples=150, deadline=None)
@given(arrays_and_indices(), st.integers(0, 2**31 - 1))
def test_at_updates_match_numpy(case, seed):
    x, index = case
    shape = x[index].shape
    update = np.random.default_rng(seed).integers(-4, 5, size=shape).astype(np.float32)
    counts = np.zeros(x.shape, np.int32)
    np.add.at(counts, index, 1)

    want_add = x.copy()
    np.add.at(want_add, index, update)
    assert_same(jnp.asarray(x).at[index].add(update), want_add, F32)
    assert_same(traced(lambda x, u: x.at[index].add(u), x, update), want_add, F32)
    want_max = x.copy()
    np.maximum.at(want_max, index, update)
    assert_same(jnp.asarray(x).at[index].max(update), want_max, F32)
    if counts.max(initial=0) <= 1:  # with repeats, which update a set keeps is unspecified
        want_set = x.copy()
        want_set[index] = update
        assert_same(jnp.asarray(x).at[index].set(update), want_set, F32)
        arrays, rebuild = _split(index)
        got = traced(lambda x, u, *a: x.at[rebuild(*a)].set(u), x, update, *arrays)
        assert_same(got, want_set, F32)


# ---------------------------------------------------------------------------------------
# Placement of advanced axes, hand-picked cases (NumPy is the oracle)

x234 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

PLACEMENT = [
    ("adjacent_arrays", (slice(None), [0, 2], [1, 3])),
    ("separated_by_slice", ([0, 1], slice(None), [1, 3])),
    ("int_and_array_separated", (1, slice(None), [0, 3])),
    ("int_and_array_adjacent", (slice(None), 2, [0, 3])),
    ("separated_by_none", ([0, 1], None, [1, 2])),
    ("separated_by_empty_ellipsis", (slice(None), [0, 1], Ellipsis, [1, 2])),
    ("broadcast_arrays", (np.array([[0], [1]]), slice(1, None), np.array([0, 2, 3]))),
    ("negative_array_entries", ([-1, -2], [-3, 0])),
    ("strided_slice_with_array", (slice(None, None, -1), [2, 0], slice(None, None, 2))),
    ("empty_array", (np.zeros(0, np.int32),)),
    ("list_of_lists", ([[0, 1], [1, 0]],)),
    ("mask_first_axes", (x234[:, :, 0] > 4,)),
    ("mask_after_slice", (slice(None), np.array([True, False, True]))),
    ("mask_with_array", (np.array([True, True]), [0, 2])),
    ("all_false_mask", (np.zeros((2, 3, 4), bool),)),
    ("zero_d_array", (np.array(1), slice(None), np.int64(2))),
]


@pytest.mark.parametrize("index", [pytest.param(c[1], id=c[0]) for c in PLACEMENT])
def test_advanced_axis_placement_matches_numpy(index):
    assert_same(jnp.asarray(x234)[index], x234[index], F32)


def test_concrete_funcgrad_mask_and_index_arrays():
    mask = jnp.asarray(x234) > 10.0
    assert_same(jnp.asarray(x234)[mask], x234[x234 > 10.0], F32)
    assert_same(jnp.asarray(x234)[1, jnp.asarray([2, 0])], x234[1, [2, 0]], F32)
    assert_same(jnp.asarray(x234).at[mask].multiply(2.0), np.where(x234 > 10, 2 * x234, x234))


def test_nonzero_positions_are_int64_under_x64(x64):
    a = np.array([0, 2, 0, 3])
    assert jnp.nonzero(a)[0].dtype == np.int64
    assert traced(lambda a: jnp.argwhere(a, size=3), a).dtype == np.int64
    assert_same(jnp.asarray(np.arange(6.0))[np.array([7, -1])], np.array([5.0, 5.0]))


@pytest.mark.parametrize("dtype", [F32, F16, BF16, I32, U8, I8, BOOL], ids=lambda d: d.name)
def test_gather_keeps_dtype_and_weak_type(dtype):
    x = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    got = jnp.asarray(x)[[2, 0], 1:]
    assert_same(got, x[[2, 0], 1:], dtype)
    weak = jnp.full((3,), 2.0)
    assert weak[np.array([0, 2])].weak_type
    assert weak.at[0].set(5).weak_type


def test_indexing_0d_and_empty_arrays():
    scalar = jnp.asarray(np.float32(3.0))
    assert_same(scalar[None], np.array([3.0]), F32)
    assert_same(scalar[...], np.float32(3.0), F32)
    empty = np.zeros((0, 3), np.float32)
    assert_same(jnp.asarray(empty)[:, [0, 2]], empty[:, [0, 2]], F32)
    assert_same(jnp.asarray(empty)[np.zeros(0, np.int32)], empty[np.zeros(0, np.int32)], F32)
    assert_same(jnp.asarray(empty).at[:, [0, 1]].set(1.0), empty, F32)


# ---------------------------------------------------------------------------------------
# Traced indices: dynamic_slice for scalars, gather for arrays


def test_traced_scalar_index_uses_dynamic_slice():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert primitives(lambda x, i: x[i], x, np.int32(1))[-2:] == ["dynamic_slice", "squeeze"]
    for i in (0, 2, -1, -3, 5, -9):  # out of range clamps: 5 -> 2, -9 -> -6 -> 0
        want = x[min(max(i + 3 if i < 0 else i, 0), 2)]
        assert_same(traced(lambda x, i: x[i], x, np.int32(i)), want, F32)
        assert_same(
            traced(lambda x, i: x[1:, i], x, np.int32(i)),
            x[1:, min(max(i + 4 if i < 0 else i, 0), 3)],
        )


def test_traced_index_array_uses_gather():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    index = np.array([2, 0, 2], np.int32)
    assert "gather" in primitives(lambda x, i: x[i], x, index)
    assert_same(traced(lambda x, i: x[:, i], x, index), x[:, index])
    assert_same(traced(lambda x, i, j: x[i, j], x, index, np.int32(-1)), x[index, -1])


# ---------------------------------------------------------------------------------------
# Out of bounds: gathers clamp (or fill), scatters drop (or clip). Hand-derived.

x5 = np.array([10.0, 11.0, 12.0, 13.0, 14.0], np.float32)

OUT_OF_BOUNDS_GETS = [
    ("array_clamps", lambda x: x[np.array([7, -9, 2])], [14.0, 10.0, 12.0]),
    ("negative_counts_from_end", lambda x: x[np.array([-1, -5])], [14.0, 10.0]),
    ("get_default_clamps", lambda x: x.at[np.array([5, -6])].get(), [14.0, 10.0]),
    (
        "get_fill",
        lambda x: x.at[np.array([5, -6, -1])].get(mode="fill", fill_value=-1.0),
        [-1.0, -1.0, 14.0],
    ),
    ("get_fill_default_nan", lambda x: x.at[7].get(mode="fill"), np.nan),
    ("get_fill_int_scalar", lambda x: x.at[9].get(mode="fill", fill_value=0.5), 0.5),
    ("take_default_fill", lambda x: jnp.take(x, np.array([1, 5, -1])), [11.0, np.nan, 14.0]),
    ("take_clip", lambda x: jnp.take(x, np.array([-1, 9]), mode="clip"), [10.0, 14.0]),
    ("take_wrap", lambda x: jnp.take(x, np.array([-1, 7]), mode="wrap"), [14.0, 12.0]),
    (
        "take_along_axis_fill",
        lambda x: jnp.take_along_axis(x, np.array([4, 5, -6]), axis=0),
        [14.0, np.nan, np.nan],
    ),
    (
        "take_along_axis_clip",
        lambda x: jnp.take_along_axis(x, np.array([4, 5]), axis=0, mode="clip"),
        [14.0, 14.0],
    ),
]

OUT_OF_BOUNDS_UPDATES = [
    ("set_drops", lambda x: x.at[7].set(0.0), [10.0, 11.0, 12.0, 13.0, 14.0]),
    ("set_negative", lambda x: x.at[-1].set(0.0), [10.0, 11.0, 12.0, 13.0, 0.0]),
    ("set_too_negative_drops", lambda x: x.at[-6].set(0.0), [10.0, 11.0, 12.0, 13.0, 14.0]),
    (
        "add_array_drops_some",
        lambda x: x.at[np.array([0, 5, 0, -7])].add(1.0),
        [12.0, 11.0, 12.0, 13.0, 14.0],
    ),
    (
        "set_clip",
        lambda x: x.at[np.array([9])].set(0.0, mode="clip"),
        [10.0, 11.0, 12.0, 13.0, 0.0],
    ),
    (
        "add_clip_negative",
        lambda x: x.at[np.array([-9])].add(1.0, mode="clip"),
        [11.0, 11.0, 12.0, 13.0, 14.0],
    ),
    (
        "slice_with_drop",
        lambda x: x.at[3:9].set(np.float32(0.0)),
        [10.0, 11.0, 12.0, 0.0, 0.0],
    ),
    (
        "apply_ignores_out_of_bounds",
        lambda x: x.at[np.array([1, 8])].apply(lambda v: v * 2),
        [10.0, 22.0, 12.0, 13.0, 14.0],
    ),
]


@pytest.mark.parametrize(
    "fun, expected", [pytest.param(c[1], c[2], id=c[0]) for c in OUT_OF_BOUNDS_GETS]
)
def test_out_of_bounds_gathers(fun, expected):
    assert_same(fun(jnp.asarray(x5)), np.asarray(expected, np.float32), F32)
    assert_same(traced(fun, x5), np.asarray(expected, np.float32), F32)


@pytest.mark.parametrize(
    "fun, expected", [pytest.param(c[1], c[2], id=c[0]) for c in OUT_OF_BOUNDS_UPDATES]
)
def test_out_of_bounds_scatters(fun, expected):
    assert_same(fun(jnp.asarray(x5)), np.asarray(expected, np.float32), F32)
    assert_same(traced(fun, x5), np.asarray(expected, np.float32), F32)


def test_fill_values_by_dtype():
    # JAX's defaults: the lowest signed, the highest unsigned integer, True for bool.
    for dtype, fill in ((I32, np.iinfo(np.int32).min), (U8, 255), (I8, -128), (BOOL, True)):
        x = jnp.asarray(np.zeros(3, dtype))
        assert_same(x.at[np.array([3, 0])].get(mode="fill"), np.array([fill, 0], dtype), dtype)


# ---------------------------------------------------------------------------------------
# .at[] updates against NumPy's unbuffered ufunc.at

m34 = np.arange(12, dtype=np.float32).reshape(3, 4) - 5.0
rows = np.array([2, 0, 2, 1, 2])
updates = np.array([3.0, -1.0, 2.0, 0.5, -4.0], np.float32)


def numpy_at(ufunc, x, index, value):
    out = x.copy()
    ufunc.at(out, index, value)
    return out


AT_CASES = [
    (
        "add_repeats",
        lambda x: x.at[rows, 1].add(updates),
        numpy_at(np.add, m34, (rows, 1), updates),
    ),
    (
        "multiply_repeats",
        lambda x: x.at[rows, 3].multiply(updates),
        numpy_at(np.multiply, m34, (rows, 3), updates),
    ),
    (
        "mul_alias",
        lambda x: x.at[rows, 3].mul(updates),
        numpy_at(np.multiply, m34, (rows, 3), updates),
    ),
    (
        "min_repeats",
        lambda x: x.at[rows, 0].min(updates),
        numpy_at(np.minimum, m34, (rows, 0), updates),
    ),
    (
        "max_repeats",
        lambda x: x.at[rows, 0].max(updates),
        numpy_at(np.maximum, m34, (rows, 0), updates),
    ),
    (
        "add_broadcast_row",
        lambda x: x.at[1].add(np.arange(4.0)),
        numpy_at(np.add, m34, 1, np.arange(4.0)),
    ),
    (
        "set_slice_scalar",
        lambda x: x.at[:, 1:3].set(7.0),
        np.where(np.arange(4) % 3 != 0, 7.0, m34).astype(np.float32),
    ),
    ("set_mask", lambda x: x.at[m34 > 0].set(0.0), np.minimum(m34, 0.0)),
    (
        "divide",
        lambda x: x.at[rows, 2].divide(updates),
        numpy_at(np.divide, m34, (rows, 2), updates),
    ),
    (
        "power",
        lambda x: x.at[1:, 0].power(2.0),
        np.concatenate([m34[:1], np.concatenate([m34[1:, :1] ** 2, m34[1:, 1:]], 1)]),
    ),
    (
        "apply_once_per_repeated_index",
        lambda x: x.at[rows, 1].apply(lambda v: -v),
        np.where(np.arange(4) == 1, -m34, m34),  # rows holds every row; each negated once
    ),
    ("get", lambda x: x.at[rows, 1:].get(), m34[rows, 1:]),
]


@pytest.mark.parametrize("fun, expected", [pytest.param(c[1], c[2], id=c[0]) for c in AT_CASES])
def test_at_methods_match_numpy(fun, expected):
    np.testing.assert_allclose(values(fun(jnp.asarray(m34))), expected, rtol=1e-6)
    np.testing.assert_allclose(values(traced(fun, m34)), expected, rtol=1e-6)


@pytest.mark.parametrize("dtype", [F16, BF16, I32, U8, I8], ids=lambda d: d.name)
def test_at_add_keeps_dtype_and_accumulates(dtype):
    x = np.arange(4).astype(dtype)
    got = jnp.asarray(x).at[np.array([1, 1, 3])].add(np.ones(3, dtype))
    assert_same(got, np.array([0, 3, 2, 4]).astype(dtype), dtype)


def test_at_set_bool_and_value_casting():
    mask = jnp.asarray(np.zeros(3, bool))
    assert_same(mask.at[1].set(True), np.array([False, True, False]), BOOL)
    ints = jnp.asarray(np.zeros(3, np.int32))
    assert_same(ints.at[0].set(2.7), np.array([2, 0, 0], np.int32), I32)  # cast, as JAX


def test_at_keywords_are_accepted():
    x = jnp.asarray(x5)
    got = x.at[np.array([0, 1])].set(
        np.float32(1.0), indices_are_sorted=True, unique_indices=True, mode="drop"
    )
    assert_same(got, np.array([1.0, 1.0, 12.0, 13.0, 14.0]))
    got = x.at[np.array([0, 1])].get(indices_are_sorted=True, unique_indices=True)
    assert_same(got, x5[:2])


# ---------------------------------------------------------------------------------------
# take, take_along_axis, nonzero, argwhere, flatnonzero, ix_ against NumPy

t234 = np.arange(24, dtype=np.float32).reshape(2, 3, 4) * 0.5


@pytest.mark.parametrize("axis", [None, 0, 1, -1])
@pytest.mark.parametrize("index", [np.array([1, 0, 1]), np.array([[1], [0]]), np.array(1)])
def test_take_matches_numpy(axis, index):
    want = np.take(t234, index, axis=axis)
    assert_same(jnp.take(t234, index, axis=axis), want, F32)
    assert_same(jnp.asarray(t234).take(index, axis=axis), want, F32)
    assert_same(traced(lambda x, i: jnp.take(x, i, axis=axis), t234, index.astype(np.int32)), want)


@pytest.mark.parametrize(
    "index_shape, axis",
    [((2, 3, 2), 2), ((2, 2, 4), 1), ((1, 3, 4), 0), ((2, 1, 3), 2), ((1, 1, 2), -1)],
)
def test_take_along_axis_matches_numpy(index_shape, axis):
    size = t234.shape[axis]
    index = np.random.default_rng(0).integers(-size, size, size=index_shape).astype(np.int32)
    want = np.take_along_axis(t234, index, axis=axis)
    assert_same(jnp.take_along_axis(t234, index, axis=axis), want, F32)
    assert_same(traced(lambda x, i: jnp.take_along_axis(x, i, axis=axis), t234, index), want)


def test_take_along_axis_flat_and_broadcast_operand():
    index = np.array([5, 0, 23], np.int32)
    assert_same(jnp.take_along_axis(t234, index, axis=None), np.take_along_axis(t234, index, None))
    column = t234[:, :1, :]  # arr has size 1 where indices do not
    index = np.array([[[0], [0], [0]]] * 2, np.int32)
    assert_same(
        jnp.take_along_axis(column, index, axis=2), np.take_along_axis(column, index, axis=2)
    )


NONZERO_INPUTS = [
    np.array([0, 3, 0, 5], np.int32),
    np.array([[0.0, 1.5], [2.0, 0.0], [0.0, 0.0]], np.float32),
    np.array([[[True, False]], [[False, True]]]),
    np.zeros((2, 0), np.float32),
    np.zeros(4, np.uint8),
]


@pytest.mark.parametrize("a", NONZERO_INPUTS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
def test_nonzero_argwhere_flatnonzero_match_numpy(a):
    for got, want in zip(jnp.nonzero(a), np.nonzero(a)):
        assert_same(got, want, I32)
    assert_same(jnp.asarray(a).nonzero()[0], np.nonzero(a)[0], I32)
    assert_same(jnp.argwhere(a), np.argwhere(a), I32)
    assert_same(jnp.flatnonzero(a), np.flatnonzero(a), I32)


@pytest.mark.parametrize("a", NONZERO_INPUTS, ids=lambda a: f"{a.dtype}{list(a.shape)}")
@pytest.mark.parametrize("size", [0, 1, 3, 7])
def test_nonzero_with_size_under_tracing(a, size):
    found = np.argwhere(a)[:size]
    padded = np.full((size, a.ndim), -1)
    padded[: len(found)] = found
    got = traced(lambda a: jnp.argwhere(a, size=size, fill_value=-1), a)
    assert_same(got, padded, I32)
    for d, column in enumerate(
        traced(lambda a: jnp.nonzero(a, size=size, fill_value=-1), a, many=True)
    ):
        assert_same(column, padded[:, d], I32)
    flat = np.flatnonzero(a)[:size]
    want = np.concatenate([flat, np.zeros(size - len(flat), np.int64)])
    assert_same(traced(lambda a: jnp.flatnonzero(a, size=size), a), want, I32)


def test_argwhere_of_a_scalar():
    assert jnp.argwhere(np.float32(2.0)).shape == np.argwhere(np.float32(2.0)).shape == (1, 0)
    assert jnp.argwhere(np.float32(0.0)).shape == (0, 0)


def test_ix_matches_numpy():
    rows, cols = [0, 2], np.array([True, False, True, True])
    got = jnp.ix_(rows, cols)
    for g, w in zip(got, np.ix_(rows, cols)):
        assert_same(g, w)
    m = np.arange(12).reshape(3, 4)
    assert_same(jnp.asarray(m)[jnp.ix_(rows, cols)], m[np.ix_(rows, cols)])
    index = np.array([1, 0], np.int32)
    assert_same(traced(lambda m, i: m[jnp.ix_(i, i)], m, index), m[np.ix_(index, index)])


# ---------------------------------------------------------------------------------------
# Errors: NumPy's exception class, naming the problem and the user's line (these lambdas
# each sit on one line; that line is the location the message must name).

x4 = np.arange(4, dtype=np.float32)
b4 = np.array([True, False, True, False])

ERRORS = [
    ("float_index", IndexError, ("float",), lambda: jnp.asarray(x4)[1.0]),
    (
        "float_array",
        IndexError,
        ("integer (or boolean)", "float64"),
        lambda: jnp.asarray(x4)[np.array([1.0])],
    ),
    ("float_funcgrad_array", IndexError, ("float32",), lambda: jnp.asarray(x4)[jnp.asarray([0.5])]),
    (
        "float_array_in_at",
        IndexError,
        ("float",),
        lambda: jnp.asarray(x4).at[np.array([1.0])].set(0.0),
    ),
    ("too_many_indices", IndexError, ("too many indices",), lambda: jnp.asarray(x4)[0, [0]]),
    (
        "too_many_in_at",
        IndexError,
        ("too many indices",),
        lambda: jnp.asarray(x4).at[0, 0].add(1.0),
    ),
    ("two_ellipses", IndexError, ("single ellipsis",), lambda: jnp.asarray(x4)[..., ...]),
    (
        "arrays_do_not_broadcast",
        IndexError,
        ("(2,)", "(3,)"),
        lambda: jnp.asarray(m34)[[0, 1], [0, 1, 2]],
    ),
    (
        "mask_shape",
        IndexError,
        ("(3,)", "(4,)"),
        lambda: jnp.asarray(x4)[np.array([True, False, True])],
    ),
    (
        "set_shape",
        ValueError,
        ("(3,)", "(2,)", "at[...].set"),
        lambda: jnp.asarray(x4).at[:2].set(np.ones(3)),
    ),
    (
        "add_shape",
        ValueError,
        ("(2, 2)", "(3,)"),
        lambda: jnp.asarray(x4).at[[0, 1, 2]].add(np.ones((2, 2))),
    ),
    ("bad_mode", ValueError, ("'wrong'",), lambda: jnp.asarray(x4).at[0].get(mode="wrong")),
    ("string_index", IndexError, ("str",), lambda: jnp.asarray(x4)["a"]),
    ("bool_scalar", TypeError, ("boolean scalar",), lambda: jnp.asarray(x4)[True]),
    ("index_empty_axis", IndexError, ("size 0",), lambda: jnp.zeros((0, 2))[[0]]),
    ("take_float_indices", TypeError, ("take", "float"), lambda: jnp.take(x4, np.array([0.5]))),
    (
        "take_axis",
        np.exceptions.AxisError,
        ("take", "axis 1"),
        lambda: jnp.take(x4, np.array([0]), axis=1),
    ),
    ("take_mode", ValueError, ("take", "'nope'"), lambda: jnp.take(x4, np.array([0]), mode="nope")),
    (
        "take_along_axis_rank",
        ValueError,
        ("(2, 2)", "(4,)"),
        lambda: jnp.take_along_axis(x4, np.zeros((2, 2), int), 0),
    ),
    (
        "take_along_axis_shapes",
        ValueError,
        ("(3, 2)", "(2, 3)"),
        lambda: jnp.take_along_axis(m34[:2, :3], np.zeros((3, 2), int), 1),
    ),
    ("nonzero_of_scalar", ValueError, ("0-d",), lambda: jnp.nonzero(np.float32(1.0))),
    ("ix_not_1d", ValueError, ("ix_", "(2, 2)"), lambda: jnp.ix_(np.zeros((2, 2), int))),
]


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_errors(exception, fragments, fun):
    with pytest.raises(exception) as info:
        fun()
    assert type(info.value) is exception
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert f"test_indexing.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


TRACED_ERRORS = [
    (
        "mask_under_tracing",
        NonConcreteBooleanIndexError,
        ("jnp.where", "bool[4]"),
        lambda x, m: x[m],
    ),
    (
        "mask_in_at_under_tracing",
        NonConcreteBooleanIndexError,
        ("jnp.where",),
        lambda x, m: x.at[m].set(0.0),
    ),
    (
        "mask_in_tuple_under_tracing",
        NonConcreteBooleanIndexError,
        ("size=",),
        lambda x, m: x[..., m],
    ),
    ("nonzero_without_size", ConcretizationTypeError, ("size=",), lambda x, m: jnp.nonzero(m)),
    ("argwhere_without_size", ConcretizationTypeError, ("size=",), lambda x, m: jnp.argwhere(m)),
    (
        "flatnonzero_without_size",
        ConcretizationTypeError,
        ("size=",),
        lambda x, m: jnp.flatnonzero(m),
    ),
    (
        "traced_slice_bound",
        IndexError,
        ("static", "dynamic_slice"),
        lambda x, m: x[: x.shape[0] - m.sum()],
    ),
    ("float_tracer_index", IndexError, ("float32",), lambda x, m: x[x]),
]


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in TRACED_ERRORS]
)
def test_errors_under_tracing(exception, fragments, fun):
    with pytest.raises(exception) as info:
        funcgrad.make_jaxpr(fun)(x4, b4)
    assert type(info.value) is exception
    assert isinstance(
        info.value, IndexError if exception is not ConcretizationTypeError else TypeError
    )
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert f"test_indexing.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


def test_numpy_raises_the_same_exception_classes():
    # The oracle for the classes above: NumPy raises them for the same mistakes.
    for fun, exception in [
        (lambda: x4[np.array([1.0])], IndexError),
        (lambda: x4[0, [0]], IndexError),
        (lambda: m34[[0, 1], [0, 1, 2]], IndexError),
        (lambda: x4[np.array([True, False, True])], IndexError),
        (lambda: x4.__setitem__(slice(0, 2), np.ones(3)), ValueError),
        (lambda: np.take(x4, np.array([0.5])), TypeError),
        (lambda: np.take(x4, np.array([0]), axis=1), np.exceptions.AxisError),
        (lambda: np.take_along_axis(x4, np.zeros((2, 2), int), 0), ValueError),
        (lambda: np.nonzero(np.float32(1.0)), ValueError),
        (lambda: np.ix_(np.zeros((2, 2), int)), ValueError),
    ]:
        with pytest.raises(exception):
            fun()
