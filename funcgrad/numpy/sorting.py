"""Sorting and searching: sort, argsort, lexsort, partition, argpartition, searchsorted
and unique, all built on the one lax `sort` primitive (which sorts several operands by
their leading keys) plus iota, cumsum and static slices.

Sorts are stable and put NaN last, as NumPy's. `unique` returns as many elements as the
data has distinct values, so its size is only known for concrete input: under tracing it
needs `size=` (and optionally `fill_value=`), exactly as in JAX.
"""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions as red
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax.operands import scalar_array
from funcgrad.lax.sorting import sort_p
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import broadcast_to_shape, promote_dtypes
from funcgrad.numpy.reductions import normalize_axis

__all__ = [
    "sort",
    "argsort",
    "lexsort",
    "partition",
    "argpartition",
    "searchsorted",
    "unique",
]

_BOOL = np.dtype(np.bool_)
_INT32 = np.dtype(np.int32)


def _index_dtype() -> np.dtype:
    return dtypes.canonicalize_dtype(np.int64)


def _cast(x, dtype):
    if get_aval(x).dtype == dtype:
        return x
    return ew.convert_element_type_p.bind(x, new_dtype=dtype, weak_type=False)


def _full(shape, value, dtype):
    return broadcast_to_shape(scalar_array(value, dtype, False), tuple(shape))


def _along(name: str, a, axis):
    """`a` as an array and the axis to sort along; axis=None sorts the flattened array."""
    a = asarray(a)
    aval = get_aval(a)
    if axis is None:
        return lax_shapes.reshape(a, (aval.size,)), 0
    return a, normalize_axis(name, aval.ndim, axis)


def _check_order(name: str, order) -> None:
    if order is not None:
        raise ValueError(
            f"{name}: the 'order' argument is not supported (at {user_location()}); it names "
            "fields of structured arrays, which funcgrad does not have."
        )


def _argsort(x, axis: int, descending: bool):
    shape = get_aval(x).shape
    iota = lax_shapes.broadcasted_iota(_index_dtype(), shape, axis)
    if not descending:
        return sort_p.bind(x, iota, dimension=axis, is_stable=True, num_keys=1)[1]
    # Sorting the reversed array and reversing the answer gives descending order in which
    # equal elements keep their original order (and NaN comes first).
    reversed_order = sort_p.bind(
        lax_shapes.rev(x, (axis,)), iota, dimension=axis, is_stable=True, num_keys=1
    )[1]
    last = _full((), shape[axis] - 1, _index_dtype())
    return ew.sub(last, lax_shapes.rev(reversed_order, (axis,)))


@api_boundary
def sort(a, axis=-1, *, kind=None, order=None, stable: bool = True, descending: bool = False):
    """A sorted copy of `a` along `axis` (the flattened array when None); NaN sorts last,
    or first with `descending`.

    >>> sort(jnp.array([3, 1, 2]))   # doctest: +SKIP
    Array([1, 2, 3], dtype=int32)
    """
    _check_order("sort", order)
    x, axis = _along("sort", a, axis)
    if descending:
        x = lax_shapes.rev(x, (axis,))
    (out,) = sort_p.bind(x, dimension=axis, is_stable=True, num_keys=1)
    return lax_shapes.rev(out, (axis,)) if descending else out


@api_boundary
def argsort(a, axis=-1, *, kind=None, order=None, stable: bool = True, descending: bool = False):
    """Indices that sort `a` along `axis`. Always stable: equal elements keep their order,
    also with `descending`.

    >>> argsort(jnp.array([3, 1, 2]))   # doctest: +SKIP
    Array([1, 2, 0], dtype=int32)
    """
    _check_order("argsort", order)
    x, axis = _along("argsort", a, axis)
    return _argsort(x, axis, descending)


def _rows(keys):
    if isinstance(keys, (list, tuple)):
        return [asarray(k) for k in keys]
    keys = asarray(keys)
    aval = get_aval(keys)
    if aval.ndim == 0:
        return [keys]
    return [
        lax_shapes.reshape(
            lax_shapes.slice(keys, (i,) + (0,) * (aval.ndim - 1), (i + 1,) + aval.shape[1:]),
            aval.shape[1:],
        )
        for i in range(aval.shape[0])
    ]


@api_boundary
def lexsort(keys, axis=-1):
    """Indices that sort by several keys: the LAST key is the primary one, as in NumPy.

    >>> lexsort([jnp.array([2, 1, 2]), jnp.array([0, 0, -1])])   # doctest: +SKIP
    Array([2, 1, 0], dtype=int32)
    """
    rows = _rows(keys)
    if not rows:
        raise TypeError(f"lexsort: need a sequence of keys with len > 0 (at {user_location()}).")
    shapes = {get_aval(k).shape for k in rows}
    if len(shapes) > 1:
        listed = ", ".join(str(s) for s in shapes)
        raise ValueError(
            f"lexsort: all keys need the same shape, got {listed} (at {user_location()}). "
            "Broadcast them first (jnp.broadcast_arrays)."
        )
    shape = get_aval(rows[0]).shape
    axis = normalize_axis("lexsort", len(shape), axis)
    iota = lax_shapes.broadcasted_iota(_index_dtype(), shape, axis)
    out = sort_p.bind(*reversed(rows), iota, dimension=axis, is_stable=True, num_keys=len(rows))
    return out[-1]


def _check_kth(name: str, a, kth, axis):
    x, axis = _along(name, a, axis)
    size = get_aval(x).shape[axis]
    if not isinstance(kth, (int, np.integer)) or isinstance(kth, bool):
        raise TypeError(
            f"{name}: kth must be a static integer, got {kth!r} (at {user_location()})."
        )
    if not -size <= kth < size:
        raise ValueError(
            f"{name}: kth={kth} is out of bounds for an axis of size {size} (at {user_location()})."
        )
    return x, axis


@api_boundary
def partition(a, kth: int, axis: int = -1):
    """`a` with the element that would be at position `kth` in sorted order moved there,
    smaller-or-equal ones before it and greater-or-equal ones after (here: fully sorted).

    >>> partition(jnp.array([5, 1, 4, 2]), 1)   # doctest: +SKIP
    Array([1, 2, 4, 5], dtype=int32)
    """
    x, axis = _check_kth("partition", a, kth, axis)
    return sort_p.bind(x, dimension=axis, is_stable=True, num_keys=1)[0]


@api_boundary
def argpartition(a, kth: int, axis: int = -1):
    """Indices that partition `a` around position `kth` (here: a stable argsort)."""
    x, axis = _check_kth("argpartition", a, kth, axis)
    return _argsort(x, axis, False)


_SEARCH_METHODS = ("scan", "scan_unrolled", "sort", "compare_all")


@api_boundary
def searchsorted(a, v, side: str = "left", sorter=None, *, method: str = "scan"):
    """Where the elements of `v` would be inserted into the sorted 1-D `a` to keep it
    sorted: the first such place (side='left') or the last (side='right'). NaN sorts last.

    `sorter` (indices that sort `a`) is accepted for NumPy compatibility; the answer only
    counts elements of `a`, which does not depend on their order. Every `method` gives the
    same result; funcgrad always sorts `a` and `v` together.

    >>> searchsorted(jnp.array([1, 2, 2, 3]), jnp.array([2, 5]))   # doctest: +SKIP
    Array([1, 4], dtype=int32)
    """
    if side not in ("left", "right"):
        raise ValueError(
            f"searchsorted: side must be 'left' or 'right', got {side!r} (at {user_location()})."
        )
    if method not in _SEARCH_METHODS:
        raise ValueError(
            f"searchsorted: method must be one of {', '.join(_SEARCH_METHODS)}, got "
            f"{method!r} (at {user_location()})."
        )
    a, v = promote_dtypes(asarray(a), asarray(v))
    a_aval, v_aval = get_aval(a), get_aval(v)
    if a_aval.ndim != 1:
        raise ValueError(
            f"searchsorted: a must be 1-D, got shape {a_aval.shape} (at {user_location()})."
        )
    if sorter is not None and get_aval(asarray(sorter)).shape != a_aval.shape:
        raise ValueError(
            f"searchsorted: sorter must have the shape of a {a_aval.shape}, got "
            f"{get_aval(asarray(sorter)).shape} (at {user_location()})."
        )
    n, m = a_aval.shape[0], v_aval.size
    if m == 0 or n == 0:
        return _full(v_aval.shape, 0, _INT32)
    # Sort a and v together, each v after (side='right') or before (side='left') the
    # equal elements of a; the a-elements before a v are its answer.
    values = lax_shapes.concatenate([a, lax_shapes.reshape(v, (m,))], 0)
    from_a = 0 if side == "right" else 1
    tag = lax_shapes.concatenate([_full((n,), from_a, _INT32), _full((m,), 1 - from_a, _INT32)], 0)
    origin = lax_shapes.iota(_INT32, n + m)
    _, tag_sorted, origin_sorted = sort_p.bind(
        values, tag, origin, dimension=0, is_stable=True, num_keys=2
    )
    is_a = ew.eq(tag_sorted, _full((), from_a, _INT32))
    before = red.cumsum(ew.convert_element_type(is_a, _INT32))
    before = ew.sub(before, ew.convert_element_type(is_a, _INT32))
    _, in_order = sort_p.bind(origin_sorted, before, dimension=0, is_stable=True, num_keys=1)
    return lax_shapes.reshape(lax_shapes.slice(in_order, (n,), (n + m,)), v_aval.shape)


# ---------------------------------------------------------------------------------------
# unique


def _resize(x, size: int, fill):
    """The first `size` elements of the 1-D x, padded with `fill` if x is shorter."""
    n = get_aval(x).shape[0]
    if size <= n:
        return lax_shapes.slice(x, (0,), (size,))
    return lax_shapes.pad(x, _full((), fill, get_aval(x).dtype), [(0, size - n, 0)])


def _first(x, size: int):
    """x[0] broadcast to `size` elements."""
    head = lax_shapes.reshape(lax_shapes.slice(x, (0,), (1,)), ())
    return broadcast_to_shape(head, (size,))


def _same_as_previous(column, equal_nan: bool):
    n = get_aval(column).shape[0]
    here = lax_shapes.slice(column, (1,), (n,))
    before = lax_shapes.slice(column, (0,), (n - 1,))
    same = ew.eq(here, before)
    if equal_nan and dtypes.is_inexact(get_aval(column).dtype):
        both_nan = ew.bitwise_and(ew.ne(here, here), ew.ne(before, before))
        same = ew.bitwise_or(same, both_nan)
    return same


def _unique_columns(ar, position):
    """The 1-D keys unique compares: the flattened array (position None), or one column
    per element of the slices along axis `position`."""
    aval = get_aval(ar)
    if position is None:
        return [lax_shapes.reshape(ar, (aval.size,))]
    rest = tuple(s for i, s in enumerate(aval.shape) if i != position)
    n, width = aval.shape[position], int(np.prod(rest, dtype=np.int64))
    if width == 0:
        raise ValueError(
            f"unique: the slices along axis {position} of shape {aval.shape} are empty (at "
            f"{user_location()}); there is nothing to compare."
        )
    order = (position,) + tuple(i for i in range(aval.ndim) if i != position)
    table = lax_shapes.reshape(ar, (n, width), order)
    return [
        lax_shapes.reshape(lax_shapes.slice(table, (0, j), (n, j + 1)), (n,)) for j in range(width)
    ]


def _group_sizes(start_at, count, size: int):
    """Sizes of the first `size` groups, from the sorted positions where groups start
    (the first `count` entries of `start_at`; the last group ends at the end)."""
    n = get_aval(start_at).shape[0]
    dtype = get_aval(start_at).dtype
    if n == 0:
        return _full((size,), 0, dtype)
    end = _full((1,), n, dtype)
    next_start = lax_shapes.concatenate([lax_shapes.slice(start_at, (1,), (n,)), end], 0)
    has_next = ew.lt(lax_shapes.iota(dtype, n), ew.sub(count, 1))
    next_start = ew.select(has_next, next_start, _full((n,), n, dtype))
    return _resize(ew.sub(next_start, start_at), size, 0)


def _traced_unique_error(ar) -> ConcretizationTypeError:
    return ConcretizationTypeError(
        f"unique: the number of unique elements of a traced array {get_aval(ar).str_short()} "
        f"is not known while tracing (at {user_location()}), and it would be the size of the "
        "result. Pass size=N (the number of elements to return; unused slots hold "
        "fill_value) to make unique work under jit and make_jaxpr, or call it outside them."
    )


@api_boundary
def unique(
    ar,
    return_index: bool = False,
    return_inverse: bool = False,
    return_counts: bool = False,
    axis=None,
    *,
    equal_nan: bool = True,
    size=None,
    fill_value=None,
    sorted: bool = True,
):
    """The sorted distinct elements of `ar` (its distinct slices along `axis`), optionally
    with the index of each one's first occurrence, the inverse map and the counts.

    With `size`, exactly `size` results are returned: extra slots hold `fill_value`
    (default: the smallest unique value), their index the first index and their count 0.
    `size` is needed under tracing. NaNs count as one value unless equal_nan=False.

    >>> unique(jnp.array([3, 1, 3, 2]), return_counts=True)   # doctest: +SKIP
    (Array([1, 2, 3], dtype=int32), Array([1, 1, 2], dtype=int32))
    """
    if not sorted:
        raise NotImplementedError(
            f"unique: sorted=False is not supported (at {user_location()}); results are sorted."
        )
    ar = asarray(ar)
    aval = get_aval(ar)
    position = None if axis is None else normalize_axis("unique", aval.ndim, axis)
    columns = _unique_columns(ar, position)
    n = get_aval(columns[0]).shape[0]
    if size is not None and (not isinstance(size, (int, np.integer)) or size < 0):
        raise TypeError(
            f"unique: size must be a non-negative Python int, got {size!r} (at {user_location()})."
        )
    index_dtype = _index_dtype()

    iota = lax_shapes.iota(index_dtype, n)
    *keys, perm = sort_p.bind(*columns, iota, dimension=0, is_stable=True, num_keys=len(columns))
    if n == 0:
        start = _full((0,), True, _BOOL)
    else:
        same = _same_as_previous(keys[0], equal_nan)
        for column in keys[1:]:
            same = ew.bitwise_and(same, _same_as_previous(column, equal_nan))
        start = lax_shapes.concatenate([_full((1,), True, _BOOL), ew.bitwise_not(same)], 0)
    start_int = _cast(start, index_dtype)
    count = red.reduce_sum(start_int, (0,))
    if size is None:
        if isinstance(count, Tracer):
            raise _traced_unique_error(ar)
        size = int(count)
    size = int(size)

    # A stable sort by "not a start" moves the group starts, in order, to the front.
    later = _cast(ew.bitwise_not(start), index_dtype)
    _, *compact_keys, first_index, start_at = sort_p.bind(
        later, *keys, perm, iota, dimension=0, is_stable=True, num_keys=1
    )
    valid = ew.lt(lax_shapes.iota(index_dtype, size), count)

    values = []
    for column in compact_keys:
        column = _resize(column, size, 0)
        if fill_value is not None:
            fill = _cast(asarray(fill_value), get_aval(column).dtype)
            fill = broadcast_to_shape(fill, (size,))
        elif n > 0:
            fill = _first(column, size)
        else:
            fill = _full((size,), 0, get_aval(column).dtype)
        values.append(ew.select(valid, column, fill))
    if position is None:
        (unique_values,) = values
    else:
        rest = tuple(s for i, s in enumerate(aval.shape) if i != position)
        stacked = lax_shapes.concatenate([lax_shapes.reshape(v, (size, 1)) for v in values], 1)
        stacked = lax_shapes.reshape(stacked, (size,) + rest)
        back = list(range(1, aval.ndim))
        back.insert(position, 0)
        unique_values = lax_shapes.transpose(stacked, back)

    results = [unique_values]
    if return_index:
        first_index = _resize(first_index, size, 0)
        fill = _first(first_index, size) if n > 0 else _full((size,), 0, index_dtype)
        results.append(ew.select(valid, first_index, fill))
    if return_inverse:
        group = ew.sub(red.cumsum(start_int), _full((), 1, index_dtype))
        _, inverse = sort_p.bind(perm, group, dimension=0, is_stable=True, num_keys=1)
        results.append(lax_shapes.reshape(inverse, aval.shape if position is None else (n,)))
    if return_counts:
        counts = _group_sizes(start_at, count, size)
        results.append(ew.select(valid, counts, _full((size,), 0, index_dtype)))
    return results[0] if len(results) == 1 else tuple(results)


def _sort_method(self, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    return sort(self, axis, kind=kind, order=order, stable=stable, descending=descending)


def _argsort_method(self, axis=-1, *, kind=None, order=None, stable=True, descending=False):
    return argsort(self, axis, kind=kind, order=order, stable=stable, descending=descending)


ARRAY_METHODS = {"sort": _sort_method, "argsort": _argsort_method}
