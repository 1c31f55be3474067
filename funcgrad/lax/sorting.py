"""Sorting primitives: `sort`, which sorts several operands together along one dimension
by the first `num_keys` of them (lexicographically), and `top_k`, the k largest entries
of the last axis with their indices.

One sort primitive serves every NumPy name built on ordering (sort, argsort, lexsort,
unique, median, quantile, partition): argsort is a sort that carries an iota operand.
Sorts are stable, and NaN sorts after every number (NumPy's and JAX's order); -0.0 and
0.0 compare equal, so a stable sort keeps them in their original order.
"""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import KIND_NAMES, check_axes, shape_error

__all__ = ["sort", "sort_key_val", "top_k"]

_INT32 = np.dtype(np.int32)


def _comparable(x: np.ndarray) -> np.ndarray:
    # NumPy's sorts put NaN last for its own float types but not for bfloat16, which
    # float32 holds exactly.
    if x.dtype == dtypes.bfloat16:
        return x.astype(np.float32)
    return x


def _stable_order(keys: list[np.ndarray]) -> np.ndarray:
    """The permutation along the last axis that sorts by keys[0], then keys[1], ...

    Stable sorts by the least significant key first and the most significant last
    compose into the lexicographic order, ties keeping their original order.
    """
    order = np.argsort(keys[-1], axis=-1, kind="stable")
    for key in reversed(keys[:-1]):
        by_key = np.argsort(np.take_along_axis(key, order, -1), axis=-1, kind="stable")
        order = np.take_along_axis(order, by_key, -1)
    return order


sort_p = Primitive("sort", multiple_results=True)


@sort_p.def_impl
def _sort_impl(*operands, dimension, is_stable, num_keys):
    if len(operands) == 1:
        # Sorting values directly; stable, so that -0.0 and 0.0 keep their order.
        (operand,) = operands
        out = np.sort(_comparable(operand), axis=dimension, kind="stable")
        return [out.astype(operand.dtype, copy=False)]
    moved = [np.moveaxis(x, dimension, -1) for x in operands]
    order = _stable_order([_comparable(k) for k in moved[:num_keys]])
    return [np.moveaxis(np.take_along_axis(x, order, -1), -1, dimension) for x in moved]


@sort_p.def_abstract_eval
def _sort_abstract_eval(*operands: ShapedArray, dimension, is_stable, num_keys):
    if not operands:
        raise shape_error("sort", [], "needs at least one operand")
    if len({x.shape for x in operands}) > 1:
        raise shape_error(
            "sort",
            operands,
            "all operands must have one shape",
            "Broadcast the operands to a common shape first.",
        )
    if not 1 <= num_keys <= len(operands):
        raise shape_error("sort", operands, f"num_keys={num_keys} must be in [1, {len(operands)}]")
    check_axes("sort", operands[0], (dimension,), "dimension", operands)
    for key in operands[:num_keys]:
        if dtypes.dtype_kind(key.dtype) not in "biufc":
            raise shape_error("sort", operands, f"key dtype {key.dtype.name} is not ordered")
    return list(operands)


def sort(operand, dimension: int = -1, is_stable: bool = True, num_keys: int = 1):
    """Sort `operand` along `dimension`; given a sequence of arrays, sort them all by the
    first `num_keys` (lexicographically) and return a tuple. Always stable; NaN sorts last.

    >>> sort(np.array([3, 1, 2], np.int32))   # doctest: +SKIP
    Array([1, 2, 3], dtype=int32)
    """
    several = isinstance(operand, (tuple, list))
    operands = coerce_scalars(*operand) if several else coerce_scalars(operand)
    ndim = get_aval(operands[0]).ndim if operands else 0
    out = sort_p.bind(
        *operands,
        dimension=int(dimension) + ndim if dimension < 0 else int(dimension),
        is_stable=bool(is_stable),
        num_keys=int(num_keys),
    )
    return tuple(out) if several else out[0]


def sort_key_val(keys, values, dimension: int = -1, is_stable: bool = True):
    """Sort `keys` along `dimension` and reorder `values` the same way: (keys, values)."""
    ndim = get_aval(keys).ndim
    out = sort_p.bind(
        *coerce_scalars(keys, values),
        dimension=int(dimension) + ndim if dimension < 0 else int(dimension),
        is_stable=bool(is_stable),
        num_keys=1,
    )
    return tuple(out)


top_k_p = Primitive("top_k", multiple_results=True)


@top_k_p.def_impl
def _top_k_impl(operand, *, k):
    # Sorting the reversed row ascending and reversing the result gives descending order
    # with ties (and NaNs, which count as the largest) in increasing index order.
    size = operand.shape[-1]
    ascending = np.argsort(_comparable(operand)[..., ::-1], axis=-1, kind="stable")
    indices = (size - 1 - ascending[..., ::-1])[..., :k]
    return [np.take_along_axis(operand, indices, -1), indices.astype(_INT32)]


@top_k_p.def_abstract_eval
def _top_k_abstract_eval(operand: ShapedArray, *, k):
    if dtypes.dtype_kind(operand.dtype) not in "biuf":
        accepted = ", ".join(KIND_NAMES[kind] for kind in "biuf")
        raise shape_error(
            "top_k",
            [operand],
            f"dtype {operand.dtype.name} is not accepted (accepted: {accepted})",
        )
    if operand.ndim == 0:
        raise shape_error("top_k", [operand], "the operand must have at least one axis")
    if not 0 <= k <= operand.shape[-1]:
        raise shape_error(
            "top_k",
            [operand],
            f"k={k} must be in [0, {operand.shape[-1]}] (the size of the last axis)",
        )
    shape = operand.shape[:-1] + (k,)
    return [ShapedArray(shape, operand.dtype, operand.weak_type), ShapedArray(shape, _INT32)]


def top_k(operand, k: int):
    """The `k` largest entries of the last axis in descending order, and their int32 indices
    (ties in increasing index order; NaN counts as the largest).

    >>> top_k(np.array([1, 3, 2], np.int32), 2)   # doctest: +SKIP
    [Array([3, 2], dtype=int32), Array([1, 2], dtype=int32)]
    """
    (operand,) = coerce_scalars(operand)
    return top_k_p.bind(operand, k=int(k))


# ---------------------------------------------------------------------------------------
# Differentiation rules: sorting moves values without changing them, so a tangent moves
# with its value. The jvp finds the permutation by sorting an iota along with the
# operands and gathers the tangents with it (the gather's transpose, a scatter-add, gives
# reverse mode). Index outputs are integers and get zero tangents.


def _take_along_axis(x, indices, axis: int, *, unique_indices: bool = False):
    """out[..., i, ...] = x[..., indices[..., i, ...], ...] along `axis`; the other axes
    of `indices` match those of `x` one to one. Indices must lie in bounds."""
    from funcgrad.lax.indexing import GatherDimensionNumbers, GatherScatterMode, gather
    from funcgrad.lax.operands import scalar_array
    from funcgrad.lax.shapes import broadcast_in_dim, reshape

    aval, index_shape = get_aval(x), get_aval(indices).shape
    if aval.size == 0:
        # An empty axis of x is empty in `indices` too (the other axes match one to one, and
        # no index is in bounds of an empty `axis`); the gather below could not slice it.
        return broadcast_in_dim(scalar_array(0, aval.dtype, False), index_shape, ())
    ndim = aval.ndim
    others = tuple(d for d in range(ndim) if d != axis)
    numbers = GatherDimensionNumbers(
        offset_dims=(),
        collapsed_slice_dims=(axis,),
        start_index_map=(axis,),
        operand_batching_dims=others,
        start_indices_batching_dims=others,
    )
    return gather(
        x,
        reshape(indices, index_shape + (1,)),
        numbers,
        (1,) * ndim,
        unique_indices=unique_indices,
        mode=GatherScatterMode.PROMISE_IN_BOUNDS,
    )


def _sort_jvp(primals, tangents, *, dimension, is_stable, num_keys):
    from funcgrad.lax.shapes import broadcasted_iota

    positions = broadcasted_iota(_INT32, get_aval(primals[0]).shape, dimension)
    *out, order = sort_p.bind(
        *primals, positions, dimension=dimension, is_stable=is_stable, num_keys=num_keys
    )
    out_tangents = [
        ad.Zero(get_aval(value))
        if type(tangent) is ad.Zero
        else _take_along_axis(tangent, order, dimension, unique_indices=True)
        for value, tangent in zip(out, tangents)
    ]
    return out, out_tangents


def _top_k_jvp(primals, tangents, *, k):
    (operand,), (tangent,) = primals, tangents
    values, indices = top_k_p.bind(operand, k=k)
    last = get_aval(operand).ndim - 1
    values_tangent = _take_along_axis(tangent, indices, last, unique_indices=True)
    return [values, indices], [values_tangent, ad.Zero(get_aval(indices))]


ad.primitive_jvps[sort_p] = _sort_jvp
ad.primitive_jvps[top_k_p] = _top_k_jvp


# ---------------------------------------------------------------------------------------
# Batching: the batch axis goes in front of every operand; sort's dimension shifts past
# it and top_k works on the last axis anyway.


def _sort_batch(axis_size, values, dims, *, dimension, is_stable, num_keys):
    operands = [batching.move_axis(v, d, 0, axis_size) for v, d in zip(values, dims)]
    out = sort_p.bind(*operands, dimension=dimension + 1, is_stable=is_stable, num_keys=num_keys)
    return out, [0] * len(out)


def _top_k_batch(axis_size, values, dims, *, k):
    operand = batching.move_axis(values[0], dims[0], 0, axis_size)
    out = top_k_p.bind(operand, k=k)
    return out, [0, 0]


batching.primitive_batchers[sort_p] = _sort_batch
batching.primitive_batchers[top_k_p] = _top_k_batch
