"""Indexing primitives: gather and the scatter family, dynamic_slice and
dynamic_update_slice.

gather and scatter use XLA's dimension numbers, so one primitive serves every NumPy
indexing form (integer arrays, slices, take, take_along_axis) and a batching rule can
later add a batch dimension as an `operand_batching_dims` entry instead of a loop. As in
JAX, the index vector is always the last axis of the indices array.

Out-of-bounds behaviour is the `mode` parameter (`GatherScatterMode`): CLIP clamps the
start of each slice or window so that it lies in bounds; FILL_OR_DROP gives gathered
slices that are not fully in bounds the fill value and drops scattered windows that are
not fully in bounds; PROMISE_IN_BOUNDS leaves it to the implementation, which here (as
in XLA) clamps gathers and drops scatters. dynamic_slice and dynamic_update_slice always
clamp their start indices, as XLA does.
"""

from __future__ import annotations

import enum
from typing import NamedTuple, Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.errors import TracerIntegerConversionError
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.core.trace import Tracer
from funcgrad.interpreters import ad, batching
from funcgrad.lax import shapes
from funcgrad.lax.elementwise import add, convert_element_type, div, eq, lt, mul, ne, select, sub
from funcgrad.lax.elementwise import max as maximum
from funcgrad.lax.operands import coerce_scalars, scalar_array
from funcgrad.lax.shape_rules import KIND_NAMES, shape_error

__all__ = [
    "GatherDimensionNumbers",
    "GatherScatterMode",
    "ScatterDimensionNumbers",
    "gather",
    "scatter",
    "scatter_add",
    "scatter_mul",
    "scatter_min",
    "scatter_max",
    "dynamic_slice",
    "dynamic_update_slice",
]


class GatherScatterMode(enum.Enum):
    """What gather and scatter do with indices whose slice or window leaves the operand."""

    CLIP = "clip"
    FILL_OR_DROP = "fill_or_drop"
    PROMISE_IN_BOUNDS = "promise_in_bounds"

    @staticmethod
    def from_any(mode, default: "GatherScatterMode") -> "GatherScatterMode":
        """Parse 'clip', 'fill', 'drop', 'promise_in_bounds', a mode, or None (`default`)."""
        if isinstance(mode, GatherScatterMode):
            return mode
        if mode is None:
            return default
        known = {
            "clip": GatherScatterMode.CLIP,
            "fill": GatherScatterMode.FILL_OR_DROP,
            "drop": GatherScatterMode.FILL_OR_DROP,
            "fill_or_drop": GatherScatterMode.FILL_OR_DROP,
            "promise_in_bounds": GatherScatterMode.PROMISE_IN_BOUNDS,
        }
        if mode not in known:
            raise ValueError(
                f"unknown gather/scatter mode {mode!r}; use 'clip', 'fill', 'drop' or "
                "'promise_in_bounds'."
            )
        return known[mode]

    def __repr__(self) -> str:
        return f"GatherScatterMode.{self.name}"


class GatherDimensionNumbers(NamedTuple):
    """How the axes of operand, indices and output relate in a gather (XLA's meaning).

    offset_dims: output axes that hold the slice's own (not collapsed) axes, sorted.
    collapsed_slice_dims: operand axes whose slice size is 1 and that the output drops.
    start_index_map: for each entry of an index vector, the operand axis it starts.
    operand_batching_dims / start_indices_batching_dims: operand axes paired with index
      batch axes: output element i along such an axis reads operand element i.
    """

    offset_dims: tuple[int, ...]
    collapsed_slice_dims: tuple[int, ...]
    start_index_map: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    start_indices_batching_dims: tuple[int, ...] = ()


class ScatterDimensionNumbers(NamedTuple):
    """How the axes of operand, indices and updates relate in a scatter (XLA's meaning).

    update_window_dims: axes of `updates` that lie along a window in the operand, sorted.
    inserted_window_dims: operand axes of window size 1 that `updates` does not have.
    scatter_dims_to_operand_dims: for each entry of an index vector, the operand axis.
    operand_batching_dims / scatter_indices_batching_dims: paired batch axes, as in gather.
    """

    update_window_dims: tuple[int, ...]
    inserted_window_dims: tuple[int, ...]
    scatter_dims_to_operand_dims: tuple[int, ...]
    operand_batching_dims: tuple[int, ...] = ()
    scatter_indices_batching_dims: tuple[int, ...] = ()


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


# ---------------------------------------------------------------------------------------
# Shared checks of dimension numbers


def _check_dims(name, avals, dims, bound: int, what: str, *, ordered: bool) -> None:
    if any(not 0 <= d < bound for d in dims):
        raise shape_error(name, avals, f"{what} {dims} out of range [0, {bound})")
    if len(set(dims)) != len(dims):
        raise shape_error(name, avals, f"{what} {dims} repeat an axis")
    if ordered and list(dims) != sorted(dims):
        raise shape_error(name, avals, f"{what} {dims} must be sorted")


def _check_indices(name, avals, indices: ShapedArray, index_map, what: str) -> None:
    if not dtypes.is_integer(indices.dtype):
        raise shape_error(
            name,
            avals,
            f"indices must have an integer dtype, not {indices.dtype.name}",
            "Convert them with .astype(jnp.int32).",
        )
    if indices.ndim < 1 or indices.shape[-1] != len(index_map):
        raise shape_error(
            name,
            avals,
            f"the last axis of indices is the index vector and must have size "
            f"len({what}) = {len(index_map)}",
            "Add a trailing axis of size 1 to scalar indices.",
        )


def _check_batching(name, avals, operand, indices, operand_dims, index_dims, index_what):
    _check_dims(name, avals, operand_dims, operand.ndim, "operand_batching_dims", ordered=True)
    _check_dims(name, avals, index_dims, indices.ndim - 1, index_what, ordered=False)
    if len(operand_dims) != len(index_dims):
        raise shape_error(
            name, avals, f"operand_batching_dims and {index_what} must have equal lengths"
        )
    for od, idim in zip(operand_dims, index_dims):
        if operand.shape[od] != indices.shape[idim]:
            raise shape_error(
                name,
                avals,
                f"operand batching axis {od} (size {operand.shape[od]}) and indices batching "
                f"axis {idim} (size {indices.shape[idim]}) differ in size",
            )


def _start_positions(indices, index_map, operand_batching, index_batching, ndim):
    """The operand position where each index vector's slice starts: (rows, ndim) int64."""
    batch_shape = indices.shape[:-1]
    rows = int(np.prod(batch_shape, dtype=np.int64))
    starts = np.zeros((rows, ndim), np.int64)
    flat = indices.reshape(rows, indices.shape[-1]).astype(np.int64)
    for k, axis in enumerate(index_map):
        starts[:, axis] = flat[:, k]
    if operand_batching:
        coordinates = np.indices(batch_shape).reshape(len(batch_shape), rows)
        for axis, index_axis in zip(operand_batching, index_batching):
            starts[:, axis] = coordinates[index_axis]
    return starts


def _window_positions(starts, window_shape):
    """Every position each window covers in the operand with a leading axis of size 1 added
    (`operand[None]`, so that a 0-d operand indexes like any other): a tuple of (rows,
    window) arrays."""
    size = int(np.prod(window_shape, dtype=np.int64))
    offsets = np.indices(window_shape).reshape(len(window_shape), size)
    lead = np.zeros((len(starts), size), np.int64)
    return (lead,) + tuple(
        starts[:, d, None] + offsets[d][None, :] for d in range(len(window_shape))
    )


def _default_fill(dtype: np.dtype):
    if dtypes.is_inexact(dtype):
        return np.nan
    if dtype.kind == "b":
        return True
    return np.iinfo(dtype).min if dtype.kind == "i" else np.iinfo(dtype).max


# ---------------------------------------------------------------------------------------
# gather

gather_p = Primitive("gather")


def _offset_operand_dims(ndim, collapsed, batching) -> list[int]:
    return [d for d in range(ndim) if d not in collapsed and d not in batching]


@gather_p.def_abstract_eval
def _gather_abstract_eval(
    operand: ShapedArray,
    indices: ShapedArray,
    *,
    dimension_numbers,
    slice_sizes,
    indices_are_sorted,
    unique_indices,
    mode,
    fill_value,
) -> ShapedArray:
    name, avals = "gather", [operand, indices]
    numbers = dimension_numbers
    _check_indices(name, avals, indices, numbers.start_index_map, "start_index_map")
    if len(slice_sizes) != operand.ndim:
        raise shape_error(name, avals, f"slice_sizes {slice_sizes} need one entry per operand axis")
    for axis, (size, bound) in enumerate(zip(slice_sizes, operand.shape)):
        if not 0 <= size <= bound:
            raise shape_error(
                name,
                avals,
                f"slice size {size} of axis {axis} must lie in [0, {bound}] (the axis size)",
            )
    collapsed, batching = numbers.collapsed_slice_dims, numbers.operand_batching_dims
    _check_dims(name, avals, collapsed, operand.ndim, "collapsed_slice_dims", ordered=True)
    _check_dims(
        name, avals, numbers.start_index_map, operand.ndim, "start_index_map", ordered=False
    )
    _check_batching(
        name,
        avals,
        operand,
        indices,
        batching,
        numbers.start_indices_batching_dims,
        "start_indices_batching_dims",
    )
    if set(collapsed) & set(batching) or set(numbers.start_index_map) & set(batching):
        raise shape_error(
            name,
            avals,
            "operand_batching_dims may not also be collapsed_slice_dims or in start_index_map",
        )
    if any(slice_sizes[d] != 1 for d in collapsed) or any(slice_sizes[d] > 1 for d in batching):
        raise shape_error(
            name, avals, "collapsed_slice_dims and operand_batching_dims need slice size 1"
        )
    offset_sizes = [slice_sizes[d] for d in _offset_operand_dims(operand.ndim, collapsed, batching)]
    out_rank = indices.ndim - 1 + len(offset_sizes)
    _check_dims(name, avals, numbers.offset_dims, out_rank, "offset_dims", ordered=True)
    if len(numbers.offset_dims) != len(offset_sizes):
        raise shape_error(
            name,
            avals,
            f"offset_dims {numbers.offset_dims} must name one output axis for each of the "
            f"{len(offset_sizes)} operand axes that are neither collapsed nor batching",
        )
    batch_sizes, offset_sizes = iter(indices.shape[:-1]), iter(offset_sizes)
    shape = [
        next(offset_sizes if d in numbers.offset_dims else batch_sizes) for d in range(out_rank)
    ]
    return ShapedArray(shape, operand.dtype, operand.weak_type)


@gather_p.def_impl
def _gather_impl(
    operand,
    indices,
    *,
    dimension_numbers,
    slice_sizes,
    indices_are_sorted,
    unique_indices,
    mode,
    fill_value,
):
    numbers = dimension_numbers
    batch_shape = indices.shape[:-1]
    starts = _start_positions(
        indices,
        numbers.start_index_map,
        numbers.operand_batching_dims,
        numbers.start_indices_batching_dims,
        operand.ndim,
    )
    highest = np.asarray(operand.shape, np.int64) - np.asarray(slice_sizes, np.int64)
    in_bounds = np.all((starts >= 0) & (starts <= highest), axis=1)
    starts = np.clip(starts, 0, highest)
    values = operand[None][_window_positions(starts, slice_sizes)]  # (rows, window)
    if mode is GatherScatterMode.FILL_OR_DROP:
        fill = _default_fill(operand.dtype) if fill_value is None else fill_value
        values[~in_bounds] = np.asarray(fill).astype(operand.dtype)
    collapsed = set(numbers.collapsed_slice_dims) | set(numbers.operand_batching_dims)
    offset_sizes = [n for d, n in enumerate(slice_sizes) if d not in collapsed]
    values = values.reshape((*batch_shape, *offset_sizes))
    # `values` holds the batch axes, then the offset axes; offset_dims says where they go.
    out_rank = values.ndim
    batch_axes, offset_axes = iter(range(len(batch_shape))), iter(range(len(batch_shape), out_rank))
    permutation = [
        next(offset_axes if d in numbers.offset_dims else batch_axes) for d in range(out_rank)
    ]
    return np.array(np.transpose(values, permutation), dtype=operand.dtype, order="C")


def _gather_numbers(dimension_numbers) -> GatherDimensionNumbers:
    return GatherDimensionNumbers(*(_ints(field) for field in dimension_numbers))


def gather(
    operand,
    start_indices,
    dimension_numbers,
    slice_sizes,
    *,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    mode=None,
    fill_value=None,
):
    """Gather slices of `operand` starting at `start_indices`, as `jax.lax.gather`.

    >>> x = jnp.array([10, 11, 12])                                   # doctest: +SKIP
    >>> gather(x, jnp.array([[2], [0]]), GatherDimensionNumbers(      # doctest: +SKIP
    ...     offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,)), (1,))
    Array([12, 10], dtype=int32)
    """
    (operand,) = coerce_scalars(operand)
    parsed = GatherScatterMode.from_any(mode, GatherScatterMode.PROMISE_IN_BOUNDS)
    if parsed is not GatherScatterMode.FILL_OR_DROP or fill_value is None:
        fill_value = None
    else:
        fill_value = np.asarray(fill_value).item()
    return gather_p.bind(
        operand,
        start_indices,
        dimension_numbers=_gather_numbers(dimension_numbers),
        slice_sizes=_ints(slice_sizes),
        indices_are_sorted=bool(indices_are_sorted),
        unique_indices=bool(unique_indices),
        mode=parsed,
        fill_value=fill_value,
    )


# ---------------------------------------------------------------------------------------
# scatter, scatter_add, scatter_mul, scatter_min, scatter_max: one rule, five combiners


def _scatter_rule(name: str, kinds: str):
    def abstract_eval(
        operand: ShapedArray,
        indices: ShapedArray,
        updates: ShapedArray,
        *,
        dimension_numbers,
        indices_are_sorted,
        unique_indices,
        mode,
    ) -> ShapedArray:
        avals = [operand, indices, updates]
        numbers = dimension_numbers
        if dtypes.dtype_kind(operand.dtype) not in kinds:
            accepted = ", ".join(KIND_NAMES[k] for k in kinds)
            raise shape_error(
                name, avals, f"dtype {operand.dtype.name} is not accepted (accepted: {accepted})"
            )
        if updates.dtype != operand.dtype:
            raise shape_error(
                name,
                avals,
                "updates must have the operand's dtype",
                "Convert them with .astype(operand.dtype).",
            )
        index_map = numbers.scatter_dims_to_operand_dims
        _check_indices(name, avals, indices, index_map, "scatter_dims_to_operand_dims")
        inserted, batching = numbers.inserted_window_dims, numbers.operand_batching_dims
        _check_dims(name, avals, inserted, operand.ndim, "inserted_window_dims", ordered=True)
        _check_dims(
            name, avals, index_map, operand.ndim, "scatter_dims_to_operand_dims", ordered=False
        )
        _check_batching(
            name,
            avals,
            operand,
            indices,
            batching,
            numbers.scatter_indices_batching_dims,
            "scatter_indices_batching_dims",
        )
        if set(inserted) & set(batching) or set(index_map) & set(batching):
            raise shape_error(
                name,
                avals,
                "operand_batching_dims may not also be inserted_window_dims or in "
                "scatter_dims_to_operand_dims",
            )
        window_dims = numbers.update_window_dims
        _check_dims(name, avals, window_dims, updates.ndim, "update_window_dims", ordered=True)
        window_operand_dims = _offset_operand_dims(operand.ndim, inserted, batching)
        if len(window_dims) != len(window_operand_dims):
            raise shape_error(
                name,
                avals,
                f"update_window_dims {window_dims} must name one updates axis for each of "
                f"the {len(window_operand_dims)} operand axes that are neither inserted nor "
                "batching",
            )
        scatter_sizes = [n for d, n in enumerate(updates.shape) if d not in window_dims]
        if tuple(scatter_sizes) != indices.shape[:-1]:
            raise shape_error(
                name,
                avals,
                f"the updates axes outside update_window_dims have sizes {tuple(scatter_sizes)}"
                f" but the indices' batch shape is {indices.shape[:-1]}",
            )
        for update_axis, operand_axis in zip(window_dims, window_operand_dims):
            if updates.shape[update_axis] > operand.shape[operand_axis]:
                raise shape_error(
                    name,
                    avals,
                    f"window axis {update_axis} of updates (size {updates.shape[update_axis]}) "
                    f"is larger than operand axis {operand_axis} "
                    f"(size {operand.shape[operand_axis]})",
                )
        return ShapedArray(operand.shape, operand.dtype, operand.weak_type)

    return abstract_eval


def _scatter_impl(combine):
    def impl(
        operand, indices, updates, *, dimension_numbers, indices_are_sorted, unique_indices, mode
    ):
        numbers = dimension_numbers
        window_dims = numbers.update_window_dims
        scatter_axes = [d for d in range(updates.ndim) if d not in window_dims]
        rows = int(np.prod(indices.shape[:-1], dtype=np.int64))
        window_operand_dims = _offset_operand_dims(
            operand.ndim, numbers.inserted_window_dims, numbers.operand_batching_dims
        )
        window_shape = [1] * operand.ndim
        for update_axis, operand_axis in zip(window_dims, window_operand_dims):
            window_shape[operand_axis] = updates.shape[update_axis]
        starts = _start_positions(
            indices,
            numbers.scatter_dims_to_operand_dims,
            numbers.operand_batching_dims,
            numbers.scatter_indices_batching_dims,
            operand.ndim,
        )
        highest = np.asarray(operand.shape, np.int64) - np.asarray(window_shape, np.int64)
        window_size = int(np.prod(window_shape, dtype=np.int64))
        values = np.transpose(updates, [*scatter_axes, *window_dims]).reshape(rows, window_size)
        if mode is GatherScatterMode.CLIP:
            starts = np.clip(starts, 0, highest)
        else:  # a window not wholly in bounds is dropped
            kept = np.all((starts >= 0) & (starts <= highest), axis=1)
            starts, values = starts[kept], values[kept]
        out = np.array(operand, copy=True)
        combine(out[None], _window_positions(starts, window_shape), values)
        return out

    return impl


def _replace(out, positions, values):
    out[positions] = values


def _accumulate(ufunc):
    def combine(out, positions, values):
        ufunc.at(out, positions, values)  # unbuffered: repeated positions accumulate

    return combine


def _scatter_primitive(name: str, kinds: str, combine) -> Primitive:
    primitive = Primitive(name)
    primitive.def_impl(_scatter_impl(combine))
    primitive.def_abstract_eval(_scatter_rule(name, kinds))
    return primitive


scatter_p = _scatter_primitive("scatter", "biufc", _replace)
scatter_add_p = _scatter_primitive("scatter_add", "iufc", _accumulate(np.add))
scatter_mul_p = _scatter_primitive("scatter_mul", "iufc", _accumulate(np.multiply))
scatter_min_p = _scatter_primitive("scatter_min", "biuf", _accumulate(np.minimum))
scatter_max_p = _scatter_primitive("scatter_max", "biuf", _accumulate(np.maximum))


def _scatter_op(primitive: Primitive, doc: str):
    def op(
        operand,
        scatter_indices,
        updates,
        dimension_numbers,
        *,
        indices_are_sorted: bool = False,
        unique_indices: bool = False,
        mode=None,
    ):
        operand, updates = coerce_scalars(operand, updates)
        numbers = ScatterDimensionNumbers(*(_ints(field) for field in dimension_numbers))
        return primitive.bind(
            operand,
            scatter_indices,
            updates,
            dimension_numbers=numbers,
            indices_are_sorted=bool(indices_are_sorted),
            unique_indices=bool(unique_indices),
            mode=GatherScatterMode.from_any(mode, GatherScatterMode.FILL_OR_DROP),
        )

    op.__name__ = op.__qualname__ = primitive.name
    op.__doc__ = doc
    return op


scatter = _scatter_op(
    scatter_p,
    "Write `updates` into windows of `operand` at `scatter_indices`, as `jax.lax.scatter` "
    "(with repeated indices, one of the updates wins). Out-of-bounds windows are dropped "
    "unless mode='clip'.",
)
scatter_add = _scatter_op(
    scatter_add_p, "Add `updates` into `operand` at `scatter_indices`; repeats accumulate."
)
scatter_mul = _scatter_op(
    scatter_mul_p, "Multiply `operand` by `updates` at `scatter_indices`; repeats accumulate."
)
scatter_min = _scatter_op(
    scatter_min_p, "Elementwise minimum of `operand` and `updates` at `scatter_indices`."
)
scatter_max = _scatter_op(
    scatter_max_p, "Elementwise maximum of `operand` and `updates` at `scatter_indices`."
)


# ---------------------------------------------------------------------------------------
# dynamic_slice and dynamic_update_slice: slices at run-time starts, clamped into bounds


def _check_starts(name, avals, operand: ShapedArray, starts: Sequence[ShapedArray]) -> None:
    if len(starts) != operand.ndim:
        raise shape_error(
            name,
            avals,
            f"needs one start index per operand axis ({operand.ndim}), got {len(starts)}",
        )
    if any(s.shape or not dtypes.is_integer(s.dtype) for s in starts):
        raise shape_error(name, avals, "start indices must be integer scalars")


def _clamped_starts(shape, sizes, starts) -> list[int]:
    return [
        int(np.clip(np.int64(start), 0, n - size)) for start, n, size in zip(starts, shape, sizes)
    ]


dynamic_slice_p = Primitive("dynamic_slice")


@dynamic_slice_p.def_abstract_eval
def _dynamic_slice_abstract_eval(operand: ShapedArray, *starts: ShapedArray, slice_sizes):
    name, avals = "dynamic_slice", [operand, *starts]
    _check_starts(name, avals, operand, starts)
    if len(slice_sizes) != operand.ndim or any(
        not 0 <= size <= n for size, n in zip(slice_sizes, operand.shape)
    ):
        raise shape_error(
            name,
            avals,
            f"slice_sizes {slice_sizes} must give each axis a size in [0, axis size]",
        )
    return ShapedArray(slice_sizes, operand.dtype, operand.weak_type)


@dynamic_slice_p.def_impl
def _dynamic_slice_impl(operand, *starts, slice_sizes):
    begin = _clamped_starts(operand.shape, slice_sizes, starts)
    window = tuple(slice(b, b + size) for b, size in zip(begin, slice_sizes))
    return np.array(operand[window], copy=True)


dynamic_update_slice_p = Primitive("dynamic_update_slice")


@dynamic_update_slice_p.def_abstract_eval
def _dynamic_update_slice_abstract_eval(
    operand: ShapedArray, update: ShapedArray, *starts: ShapedArray
):
    name, avals = "dynamic_update_slice", [operand, update, *starts]
    _check_starts(name, avals, operand, starts)
    if update.ndim != operand.ndim or any(u > n for u, n in zip(update.shape, operand.shape)):
        raise shape_error(
            name, avals, "update must have the operand's rank and fit inside it on every axis"
        )
    if update.dtype != operand.dtype:
        raise shape_error(name, avals, "update must have the operand's dtype")
    return ShapedArray(operand.shape, operand.dtype, operand.weak_type)


@dynamic_update_slice_p.def_impl
def _dynamic_update_slice_impl(operand, update, *starts):
    begin = _clamped_starts(operand.shape, update.shape, starts)
    out = np.array(operand, copy=True)
    out[tuple(slice(b, b + size) for b, size in zip(begin, update.shape))] = update
    return out


def _start_operands(name: str, operand, start_indices, sizes):
    """Start indices as integer scalars; negative Python ints count from the end (as JAX's
    allow_negative_indices=True); traced negative starts are wrapped with a select."""
    shape = get_aval(operand).shape
    start_indices = list(start_indices)
    if len(start_indices) != len(shape):
        raise shape_error(
            name,
            [get_aval(operand)],
            f"needs one start index per operand axis ({len(shape)}), got {len(start_indices)}",
        )
    out = []
    for start, n in zip(start_indices, shape):
        if is_python_scalar(start) or isinstance(start, np.integer):
            start = int(start)
            out.append(scalar_array(start + n if start < 0 else start, np.dtype(np.int32), False))
            continue
        aval = get_aval(start)
        if aval.dtype.kind == "i":
            start = select(lt(start, 0), add(start, n), start)
        out.append(start)
    return out


def dynamic_slice(operand, start_indices, slice_sizes):
    """The slice of `slice_sizes` at run-time `start_indices`, as `jax.lax.dynamic_slice`.

    Negative starts count from the end; starts are then clamped so the slice is in bounds.

    >>> dynamic_slice(jnp.arange(5), (3,), (2,))                       # doctest: +SKIP
    Array([3, 4], dtype=int32)
    """
    (operand,) = coerce_scalars(operand)
    starts = _start_operands("dynamic_slice", operand, start_indices, slice_sizes)
    return dynamic_slice_p.bind(operand, *starts, slice_sizes=_static_sizes(slice_sizes))


def _static_sizes(slice_sizes) -> tuple[int, ...]:
    """dynamic_slice's sizes as ints; a traced size is refused with the fix, since the
    result's shape would depend on a run-time value."""
    for size in slice_sizes:
        if isinstance(size, Tracer):
            raise TracerIntegerConversionError(
                f"dynamic_slice: slice_sizes must be Python ints, but one is a traced "
                f"{size.aval.str_short()} (at {user_location()}): only the start may vary at "
                "run time, because the result's shape must be known while tracing. Make the "
                "size static (static_argnums), or slice a fixed maximum size and mask the "
                "unused part with jnp.where."
            )
    return _ints(slice_sizes)


def dynamic_update_slice(operand, update, start_indices):
    """`operand` with `update` written at run-time `start_indices` (clamped into bounds).

    >>> dynamic_update_slice(jnp.zeros(4), jnp.ones(2), (3,))          # doctest: +SKIP
    Array([0., 0., 1., 1.], dtype=float32)
    """
    operand, update = coerce_scalars(operand, update)
    starts = _start_operands("dynamic_update_slice", operand, start_indices, get_aval(update).shape)
    return dynamic_update_slice_p.bind(operand, update, *starts)


# ---------------------------------------------------------------------------------------
# Differentiation rules. Indices and start positions are integers and get no tangent.
# gather, scatter_add, scatter and the dynamic slices are linear in their array operands
# (jointly, where there are two); scatter_mul is linear in its operand alone; scatter_min
# and scatter_max route each output tangent from the source(s) holding the output value.
#
# gather and scatter transpose into each other: their dimension numbers correspond field
# by field (offset_dims / update_window_dims, collapsed_slice_dims / inserted_window_dims,
# start_index_map / scatter_dims_to_operand_dims, the batching dims as they are) and the
# modes are matched. A gather that clamps (CLIP, or PROMISE_IN_BOUNDS, which clamps here)
# is transposed by a CLIP scatter, which clamps each window's start into the same bounds
# (its window shape is the gather's slice shape), so a clamped read's cotangent lands on
# the element that was read; a FILL_OR_DROP gather by a scatter that drops exactly the
# windows the gather filled. The other way, a scatter's updates read their cotangent by a
# gather that clamps alike (CLIP) or gives a dropped update 0 (FILL_OR_DROP).


def _linear_jvp(primitive: Primitive, linear: tuple[int, ...], tangent_params=None):
    """JVP of a primitive linear in its operands at positions `linear` (the others are
    integer indices): the primitive applied to their tangents and the primal indices."""

    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        if all(type(tangents[i]) is ad.Zero for i in linear):
            return out, ad.Zero(get_aval(out))
        operands = [
            ad.instantiate(t) if i in linear else p
            for i, (p, t) in enumerate(zip(primals, tangents))
        ]
        if tangent_params is not None:
            params = {**params, **tangent_params(params)}
        return out, primitive.bind(*operands, **params)

    return rule


def _zeros_of(aval: ShapedArray):
    return ad.instantiate(ad.Zero(aval))


def _aval_of(operand) -> ShapedArray:
    return operand.aval if isinstance(operand, ad.UndefinedPrimal) else get_aval(operand)


def _scatter_to_gather_numbers(numbers: ScatterDimensionNumbers) -> GatherDimensionNumbers:
    return GatherDimensionNumbers(
        offset_dims=numbers.update_window_dims,
        collapsed_slice_dims=numbers.inserted_window_dims,
        start_index_map=numbers.scatter_dims_to_operand_dims,
        operand_batching_dims=numbers.operand_batching_dims,
        start_indices_batching_dims=numbers.scatter_indices_batching_dims,
    )


def _gather_to_scatter_numbers(numbers: GatherDimensionNumbers) -> ScatterDimensionNumbers:
    return ScatterDimensionNumbers(
        update_window_dims=numbers.offset_dims,
        inserted_window_dims=numbers.collapsed_slice_dims,
        scatter_dims_to_operand_dims=numbers.start_index_map,
        operand_batching_dims=numbers.operand_batching_dims,
        scatter_indices_batching_dims=numbers.start_indices_batching_dims,
    )


def _gather_tangent_params(params):
    # A filled slice is a constant: its tangent is 0, whatever the primal fill value.
    return {"fill_value": 0} if params["mode"] is GatherScatterMode.FILL_OR_DROP else {}


def _gather_transpose(ct, operand, indices, *, dimension_numbers, slice_sizes, mode, **params):
    if isinstance(indices, ad.UndefinedPrimal):
        raise ValueError("gather is not linear in its indices")
    clamps = mode is not GatherScatterMode.FILL_OR_DROP
    operand_ct = scatter_add_p.bind(
        _zeros_of(operand.aval),
        indices,
        ct,
        dimension_numbers=_gather_to_scatter_numbers(dimension_numbers),
        indices_are_sorted=params["indices_are_sorted"],
        unique_indices=params["unique_indices"],
        mode=GatherScatterMode.CLIP if clamps else GatherScatterMode.FILL_OR_DROP,
    )
    return [operand_ct, None]


def _gather_at_updates(array, indices, updates_shape, *, dimension_numbers, mode, **params):
    """For each element of a scatter's updates, the element of `array` (operand-shaped)
    that it lands on, or 0 where the scatter drops it: an array shaped like the updates."""
    numbers = dimension_numbers
    unit_axes = set(numbers.inserted_window_dims) | set(numbers.operand_batching_dims)
    window_sizes = iter(updates_shape[d] for d in numbers.update_window_dims)
    slice_sizes = tuple(
        1 if d in unit_axes else next(window_sizes) for d in range(get_aval(array).ndim)
    )
    clamps = mode is GatherScatterMode.CLIP
    return gather_p.bind(
        array,
        indices,
        dimension_numbers=_scatter_to_gather_numbers(numbers),
        slice_sizes=slice_sizes,
        indices_are_sorted=params["indices_are_sorted"],
        unique_indices=params["unique_indices"],
        mode=GatherScatterMode.CLIP if clamps else GatherScatterMode.FILL_OR_DROP,
        fill_value=None if clamps else 0,
    )


def _scatter_add_transpose(ct, operand, indices, updates, **params):
    operand_ct = ct if isinstance(operand, ad.UndefinedPrimal) else None
    updates_ct = None
    if isinstance(updates, ad.UndefinedPrimal):
        updates_ct = _gather_at_updates(ct, indices, updates.aval.shape, **params)
    return [operand_ct, None, updates_ct]


def _scatter_winners(indices, operand_shape, updates_shape, params):
    """Which elements of the updates a replacing scatter keeps (bool, shaped like the
    updates): where repeated indices send several updates to one element, only one of them
    survives. Found by scattering each update's number and reading the numbers back, with
    the same scatter, so it agrees with the choice the primal scatter made."""
    window_dims = params["dimension_numbers"].update_window_dims
    scatter_axes = tuple(d for d in range(len(updates_shape)) if d not in window_dims)
    scatter_shape = tuple(updates_shape[d] for d in scatter_axes)
    count = int(np.prod(scatter_shape, dtype=np.int64))
    int32 = np.dtype(np.int32)
    numbers = add(shapes.iota_p.bind(dtype=int32, shape=(count,), dimension=0), 1)
    numbers = shapes.broadcast_in_dim(
        shapes.reshape(numbers, scatter_shape), updates_shape, scatter_axes
    )
    kept = scatter_p.bind(_zeros_of(ShapedArray(operand_shape, int32)), indices, numbers, **params)
    return eq(_gather_at_updates(kept, indices, updates_shape, **params), numbers)


def _scatter_transpose(ct, operand, indices, updates, **params):
    # The operand's cotangent is the cotangent with the overwritten elements zeroed; each
    # kept update's is the cotangent where it landed. JAX transposes scatter only under
    # unique_indices=True (its jvp avoids scatter otherwise); here repeated indices are
    # handled by masking the updates the scatter did not keep (see _scatter_winners).
    update_aval = _aval_of(updates)
    operand_ct = updates_ct = None
    if isinstance(operand, ad.UndefinedPrimal):
        operand_ct = scatter_p.bind(ct, indices, _zeros_of(update_aval), **params)
    if isinstance(updates, ad.UndefinedPrimal):
        updates_ct = _gather_at_updates(ct, indices, update_aval.shape, **params)
        if not params["unique_indices"] and np.prod(get_aval(indices).shape[:-1]) > 1:
            kept = _scatter_winners(indices, get_aval(ct).shape, update_aval.shape, params)
            updates_ct = select(kept, updates_ct, _zeros_of(update_aval))
    return [operand_ct, None, updates_ct]


def _product_of_the_others(operand, indices, updates, params):
    """For each element of the updates, the product of the other updates that land on the
    same operand element (1 where it is alone): d/du_k of prod_j u_j. Computed without
    dividing by a zero: from the product N of the nonzero updates, the count of zero
    updates and the sum S of the zero updates (0, but with the zeros' derivatives), which
    keeps the result's own first derivative right (so the output's second) wherever up
    to two updates on an element are zero, and every derivative right where none is."""
    aval = get_aval(updates)
    out_aval = get_aval(operand)
    nothing, one = _zeros_of(aval), add(_zeros_of(aval), 1)
    nonzero = ne(updates, 0)
    safe_updates = select(nonzero, updates, one)
    own_zero = select(nonzero, nothing, updates)
    is_zero = convert_element_type(eq(updates, 0), aval.dtype)

    def at_updates(primitive, start, values):
        total = primitive.bind(add(_zeros_of(out_aval), start), indices, values, **params)
        return _gather_at_updates(total, indices, aval.shape, **params)

    product = at_updates(scatter_mul_p, 1, safe_updates)
    other_zeros = sub(at_updates(scatter_add_p, 0, is_zero), is_zero)
    other_zeros_sum = sub(at_updates(scatter_add_p, 0, own_zero), own_zero)
    of_zeros = select(eq(other_zeros, 0), one, select(eq(other_zeros, 1), other_zeros_sum, nothing))
    return mul(select(nonzero, div(product, safe_updates), product), of_zeros)


def _scatter_mul_jvp(primals, tangents, **params):
    operand, indices, updates = primals
    operand_tangent, _, updates_tangent = tangents
    out = scatter_mul_p.bind(*primals, **params)
    tangent = ad.Zero(get_aval(out))
    if type(operand_tangent) is not ad.Zero:
        tangent = scatter_mul_p.bind(operand_tangent, indices, updates, **params)
    if type(updates_tangent) is not ad.Zero:
        if not params["unique_indices"]:
            others = _product_of_the_others(operand, indices, updates, params)
            updates_tangent = mul(updates_tangent, others)
        spread = scatter_add_p.bind(_zeros_of(get_aval(out)), indices, updates_tangent, **params)
        tangent = ad.add_tangents(tangent, mul(operand, spread))
    return out, tangent


def _scatter_mul_transpose(ct, operand, indices, updates, **params):
    if isinstance(updates, ad.UndefinedPrimal):
        raise ValueError("scatter_mul is linear in its operand only, not in its updates")
    return [scatter_mul_p.bind(ct, indices, updates, **params), None, None]


def _scatter_extremum_jvp(primitive: Primitive):
    # Every source holding the output value (the operand element, updates landing on it)
    # shares the tangent evenly, as JAX does, so ties keep derivatives summing to 1.
    def rule(primals, tangents, **params):
        operand, indices, updates = primals
        operand_tangent, _, updates_tangent = tangents
        out = primitive.bind(*primals, **params)
        aval = get_aval(out)
        if type(operand_tangent) is ad.Zero and type(updates_tangent) is ad.Zero:
            return out, ad.Zero(aval)
        update_aval = get_aval(updates)
        from_operand = eq(operand, out)
        from_updates = eq(updates, _gather_at_updates(out, indices, update_aval.shape, **params))
        sources = scatter_add_p.bind(
            convert_element_type(from_operand, aval.dtype),
            indices,
            convert_element_type(from_updates, aval.dtype),
            **params,
        )
        share = div(1, maximum(sources, 1))  # no source: a NaN output, tangent 0
        tangent = ad.Zero(aval)
        if type(operand_tangent) is not ad.Zero:
            tangent = select(from_operand, operand_tangent, _zeros_of(aval))
        if type(updates_tangent) is not ad.Zero:
            chosen = select(from_updates, updates_tangent, _zeros_of(update_aval))
            spread = scatter_add_p.bind(_zeros_of(aval), indices, chosen, **params)
            tangent = ad.add_tangents(tangent, spread)
        return out, mul(tangent, share)

    return rule


def _dynamic_slice_transpose(ct, operand, *starts, slice_sizes):
    operand_ct = dynamic_update_slice_p.bind(_zeros_of(operand.aval), ct, *starts)
    return [operand_ct] + [None] * len(starts)


def _dynamic_update_slice_transpose(ct, operand, update, *starts):
    update_aval = _aval_of(update)
    operand_ct = update_ct = None
    if isinstance(operand, ad.UndefinedPrimal):
        operand_ct = dynamic_update_slice_p.bind(ct, _zeros_of(update_aval), *starts)
    if isinstance(update, ad.UndefinedPrimal):
        update_ct = dynamic_slice_p.bind(ct, *starts, slice_sizes=update_aval.shape)
    return [operand_ct, update_ct] + [None] * len(starts)


ad.primitive_jvps[gather_p] = _linear_jvp(gather_p, (0,), _gather_tangent_params)
ad.primitive_transposes[gather_p] = _gather_transpose
ad.primitive_jvps[scatter_add_p] = _linear_jvp(scatter_add_p, (0, 2))
ad.primitive_transposes[scatter_add_p] = _scatter_add_transpose
ad.primitive_jvps[scatter_p] = _linear_jvp(scatter_p, (0, 2))
ad.primitive_transposes[scatter_p] = _scatter_transpose
ad.primitive_jvps[scatter_mul_p] = _scatter_mul_jvp
ad.primitive_transposes[scatter_mul_p] = _scatter_mul_transpose
ad.primitive_jvps[scatter_min_p] = _scatter_extremum_jvp(scatter_min_p)
ad.primitive_jvps[scatter_max_p] = _scatter_extremum_jvp(scatter_max_p)
ad.primitive_jvps[dynamic_slice_p] = _linear_jvp(dynamic_slice_p, (0,))
ad.primitive_transposes[dynamic_slice_p] = _dynamic_slice_transpose
ad.primitive_jvps[dynamic_update_slice_p] = _linear_jvp(dynamic_update_slice_p, (0, 1))
ad.primitive_transposes[dynamic_update_slice_p] = _dynamic_update_slice_transpose


# ---------------------------------------------------------------------------------------
# Batching. Every batch axis goes in front and every dimension number shifts past it;
# the new axis 0 then plays one of three roles, so no rule loops over the batch:
# - operand and indices both batched: a batching dim pair (operand_batching_dims with
#   start_indices_batching_dims / scatter_indices_batching_dims);
# - only the operand batched: an offset (window) dim of full size, whose start is 0;
# - only the indices batched (gather): one more batch axis of the indices.
# A scatter's output is operand-shaped, so the operand and the updates are broadcast when
# they lack the batch axis. dynamic_slice and dynamic_update_slice with batched starts
# become a CLIP gather or scatter of one index vector per example: CLIP clamps each
# window into bounds exactly as the dynamic slices clamp their starts.


def _shifted(dims) -> tuple[int, ...]:
    return tuple(d + 1 for d in dims)


def _gather_batch(axis_size, values, dims, *, dimension_numbers, slice_sizes, **params):
    (operand, indices), (operand_dim, indices_dim) = values, dims
    numbers = dimension_numbers
    if indices_dim is None:
        numbers = GatherDimensionNumbers(
            offset_dims=(0, *_shifted(numbers.offset_dims)),
            collapsed_slice_dims=_shifted(numbers.collapsed_slice_dims),
            start_index_map=_shifted(numbers.start_index_map),
            operand_batching_dims=_shifted(numbers.operand_batching_dims),
            start_indices_batching_dims=numbers.start_indices_batching_dims,
        )
        slice_sizes = (axis_size, *slice_sizes)
    elif operand_dim is None:
        numbers = numbers._replace(
            offset_dims=_shifted(numbers.offset_dims),
            start_indices_batching_dims=_shifted(numbers.start_indices_batching_dims),
        )
    else:
        numbers = GatherDimensionNumbers(
            offset_dims=_shifted(numbers.offset_dims),
            collapsed_slice_dims=_shifted(numbers.collapsed_slice_dims),
            start_index_map=_shifted(numbers.start_index_map),
            operand_batching_dims=(0, *_shifted(numbers.operand_batching_dims)),
            start_indices_batching_dims=(0, *_shifted(numbers.start_indices_batching_dims)),
        )
        # A batching axis takes a slice of 1, or of 0 when vmap maps over an empty axis.
        slice_sizes = (min(axis_size, 1), *slice_sizes)
    if operand_dim is not None:
        operand = batching.move_axis(operand, operand_dim, 0, axis_size)
    if indices_dim is not None:
        indices = batching.move_axis(indices, indices_dim, 0, axis_size)
    out = gather_p.bind(
        operand, indices, dimension_numbers=numbers, slice_sizes=slice_sizes, **params
    )
    return out, 0


def _scatter_batch(primitive: Primitive):
    def rule(axis_size, values, dims, *, dimension_numbers, **params):
        (operand, indices, updates), (_, indices_dim, _) = values, dims
        operand, updates = (
            batching.move_axis(v, d, 0, axis_size)
            for v, d in ((operand, dims[0]), (updates, dims[2]))
        )
        numbers = dimension_numbers
        if indices_dim is None:
            numbers = ScatterDimensionNumbers(
                update_window_dims=(0, *_shifted(numbers.update_window_dims)),
                inserted_window_dims=_shifted(numbers.inserted_window_dims),
                scatter_dims_to_operand_dims=_shifted(numbers.scatter_dims_to_operand_dims),
                operand_batching_dims=_shifted(numbers.operand_batching_dims),
                scatter_indices_batching_dims=numbers.scatter_indices_batching_dims,
            )
        else:
            indices = batching.move_axis(indices, indices_dim, 0, axis_size)
            numbers = ScatterDimensionNumbers(
                update_window_dims=_shifted(numbers.update_window_dims),
                inserted_window_dims=_shifted(numbers.inserted_window_dims),
                scatter_dims_to_operand_dims=_shifted(numbers.scatter_dims_to_operand_dims),
                operand_batching_dims=(0, *_shifted(numbers.operand_batching_dims)),
                scatter_indices_batching_dims=(
                    0,
                    *_shifted(numbers.scatter_indices_batching_dims),
                ),
            )
        return primitive.bind(operand, indices, updates, dimension_numbers=numbers, **params), 0

    return rule


def _stacked_starts(axis_size, starts, dims):
    """Scalar starts (some batched) as one (axis_size, len(starts)) index array."""
    common = np.result_type(*(get_aval(s).dtype for s in starts))
    columns = []
    for start, dim in zip(starts, dims):
        if get_aval(start).dtype != common:
            start = convert_element_type(start, common)
        column = batching.move_axis(start, dim, 0, axis_size)
        columns.append(shapes.broadcast_in_dim(column, (axis_size, 1), (0,)))
    return columns[0] if len(columns) == 1 else shapes.concatenate(columns, 1)


def _one_window_numbers(ndim: int) -> tuple[tuple[int, ...], ...]:
    # One index vector per example naming every axis; the output or update is the window.
    return tuple(range(ndim)), (), tuple(range(ndim))


def _dynamic_slice_batch(axis_size, values, dims, *, slice_sizes):
    (operand, *starts), (operand_dim, *start_dims) = values, dims
    if all(d is None for d in start_dims):
        operand = batching.move_axis(operand, operand_dim, 0, axis_size)
        zero = scalar_array(0, get_aval(starts[0]).dtype if starts else np.dtype(np.int32), False)
        out = dynamic_slice_p.bind(operand, zero, *starts, slice_sizes=(axis_size, *slice_sizes))
        return out, 0
    indices = _stacked_starts(axis_size, starts, start_dims)
    return _gather_batch(
        axis_size,
        (operand, indices),
        (operand_dim, 0),
        dimension_numbers=GatherDimensionNumbers(*_one_window_numbers(len(starts))),
        slice_sizes=tuple(slice_sizes),
        indices_are_sorted=True,
        unique_indices=True,
        mode=GatherScatterMode.CLIP,
        fill_value=None,
    )


def _dynamic_update_slice_batch(axis_size, values, dims):
    (operand, update, *starts), (operand_dim, update_dim, *start_dims) = values, dims
    if all(d is None for d in start_dims):
        operand = batching.move_axis(operand, operand_dim, 0, axis_size)
        update = batching.move_axis(update, update_dim, 0, axis_size)
        zero = scalar_array(0, get_aval(starts[0]).dtype if starts else np.dtype(np.int32), False)
        return dynamic_update_slice_p.bind(operand, update, zero, *starts), 0
    indices = _stacked_starts(axis_size, starts, start_dims)
    return _scatter_batch(scatter_p)(
        axis_size,
        (operand, indices, update),
        (operand_dim, 0, update_dim),
        dimension_numbers=ScatterDimensionNumbers(*_one_window_numbers(len(starts))),
        indices_are_sorted=True,
        unique_indices=True,
        mode=GatherScatterMode.CLIP,
    )


batching.primitive_batchers[gather_p] = _gather_batch
batching.primitive_batchers.update(
    (primitive, _scatter_batch(primitive))
    for primitive in (scatter_p, scatter_add_p, scatter_mul_p, scatter_min_p, scatter_max_p)
)
batching.primitive_batchers[dynamic_slice_p] = _dynamic_slice_batch
batching.primitive_batchers[dynamic_update_slice_p] = _dynamic_update_slice_batch
