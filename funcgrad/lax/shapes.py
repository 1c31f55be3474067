"""Primitives that make or move data without arithmetic: iota, broadcast_in_dim, reshape,
squeeze, transpose, slice, rev, concatenate and pad.

funcgrad.numpy builds its whole creation and shape-manipulation API (arange, eye, tril,
stack, split, tile, roll, pad, ...) from these few primitives, so a transform that knows
their rules knows all of it.
"""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import check_axes, shape_error

__all__ = [
    "iota",
    "broadcasted_iota",
    "broadcast_in_dim",
    "expand_dims",
    "reshape",
    "squeeze",
    "transpose",
    "slice",
    "rev",
    "concatenate",
    "pad",
]


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


broadcast_in_dim_p = Primitive("broadcast_in_dim")


@broadcast_in_dim_p.def_impl
def _broadcast_in_dim_impl(operand, *, shape, broadcast_dimensions):
    expanded = [1] * len(shape)
    for src, dst in enumerate(broadcast_dimensions):
        expanded[dst] = operand.shape[src]
    return np.broadcast_to(operand.reshape(expanded), shape)


@broadcast_in_dim_p.def_abstract_eval
def _broadcast_in_dim_abstract_eval(operand: ShapedArray, *, shape, broadcast_dimensions):
    name = "broadcast_in_dim"
    if len(broadcast_dimensions) != operand.ndim:
        raise shape_error(
            name,
            [operand],
            f"broadcast_dimensions {broadcast_dimensions} must "
            f"name one output axis per operand axis ({operand.ndim})",
        )
    if any(d < 0 for d in shape):
        raise shape_error(name, [operand], f"target shape {shape} has a negative size")
    dims = check_axes(
        name, ShapedArray(shape, operand.dtype), broadcast_dimensions, "broadcast_dimensions"
    )
    if list(dims) != sorted(dims):
        raise shape_error(name, [operand], f"broadcast_dimensions {dims} must be increasing")
    for src, dst in enumerate(dims):
        if operand.shape[src] not in (1, shape[dst]):
            raise shape_error(
                name,
                [operand],
                f"operand axis {src} of size {operand.shape[src]} cannot "
                f"broadcast to size {shape[dst]} of target shape {shape}",
                "An axis broadcasts only from size 1 or its own size.",
            )
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def broadcast_in_dim(operand, shape, broadcast_dimensions):
    """Broadcast `operand` to `shape`, its axis i becoming output axis broadcast_dimensions[i]."""
    (operand,) = coerce_scalars(operand)
    return broadcast_in_dim_p.bind(
        operand, shape=_ints(shape), broadcast_dimensions=_ints(broadcast_dimensions)
    )


reshape_p = Primitive("reshape")


@reshape_p.def_impl
def _reshape_impl(operand, *, new_sizes, dimensions):
    if dimensions is not None:
        operand = np.transpose(operand, dimensions)
    return np.reshape(operand, new_sizes)


@reshape_p.def_abstract_eval
def _reshape_abstract_eval(operand: ShapedArray, *, new_sizes, dimensions):
    if any(d < 0 for d in new_sizes):
        raise shape_error(
            "reshape",
            [operand],
            f"new_sizes {new_sizes} has a negative size",
            "lax.reshape takes explicit sizes; funcgrad.numpy.reshape resolves -1.",
        )
    if int(np.prod(new_sizes, dtype=np.int64)) != operand.size:
        raise shape_error(
            "reshape",
            [operand],
            f"cannot reshape {operand.size} elements into shape {new_sizes}",
            "The product of the sizes must stay the same.",
        )
    if dimensions is not None and sorted(dimensions) != list(range(operand.ndim)):
        raise shape_error("reshape", [operand], f"dimensions {dimensions} is not a permutation")
    return ShapedArray(new_sizes, operand.dtype, operand.weak_type)


def reshape(operand, new_sizes, dimensions=None):
    """Reshape to `new_sizes` (row-major), after transposing by `dimensions` if given."""
    (operand,) = coerce_scalars(operand)
    dims = None if dimensions is None else _ints(dimensions)
    return reshape_p.bind(operand, new_sizes=_ints(new_sizes), dimensions=dims)


squeeze_p = Primitive("squeeze")


@squeeze_p.def_impl
def _squeeze_impl(operand, *, dimensions):
    return np.squeeze(operand, dimensions)


@squeeze_p.def_abstract_eval
def _squeeze_abstract_eval(operand: ShapedArray, *, dimensions):
    dims = check_axes("squeeze", operand, dimensions, "dimensions")
    if any(operand.shape[d] != 1 for d in dims):
        raise shape_error("squeeze", [operand], f"dimensions {dims} are not all of size 1")
    shape = [n for i, n in enumerate(operand.shape) if i not in dims]
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def squeeze(array, dimensions):
    """Remove the size-1 axes `dimensions` (negative numbers count from the end)."""
    (array,) = coerce_scalars(array)
    ndim = get_aval(array).ndim
    dims = tuple(sorted(int(d) + ndim if d < 0 else int(d) for d in dimensions))
    return squeeze_p.bind(array, dimensions=dims)


transpose_p = Primitive("transpose")


@transpose_p.def_impl
def _transpose_impl(operand, *, permutation):
    return np.transpose(operand, permutation)


@transpose_p.def_abstract_eval
def _transpose_abstract_eval(operand: ShapedArray, *, permutation):
    if sorted(permutation) != list(range(operand.ndim)):
        raise shape_error(
            "transpose",
            [operand],
            f"permutation {permutation} is not a permutation of the {operand.ndim} axes",
        )
    return ShapedArray([operand.shape[p] for p in permutation], operand.dtype, operand.weak_type)


def transpose(operand, permutation):
    """Permute axes: output axis i is input axis permutation[i]."""
    (operand,) = coerce_scalars(operand)
    return transpose_p.bind(operand, permutation=_ints(permutation))


slice_p = Primitive("slice")


@slice_p.def_impl
def _slice_impl(operand, *, start_indices, limit_indices, strides):
    steps = strides or (1,) * operand.ndim
    return operand[tuple(map(builtins.slice, start_indices, limit_indices, steps))]


@slice_p.def_abstract_eval
def _slice_abstract_eval(operand: ShapedArray, *, start_indices, limit_indices, strides):
    steps = strides or (1,) * operand.ndim
    if not len(start_indices) == len(limit_indices) == len(steps) == operand.ndim:
        raise shape_error(
            "slice",
            [operand],
            f"start_indices, limit_indices and strides need one entry per axis ({operand.ndim})",
        )
    shape = []
    for axis, (start, limit, step, size) in enumerate(
        zip(start_indices, limit_indices, steps, operand.shape)
    ):
        if not 0 <= start <= limit <= size or step < 1:
            raise shape_error(
                "slice",
                [operand],
                f"axis {axis}: need 0 <= start ({start}) <= "
                f"limit ({limit}) <= size ({size}) and stride ({step}) >= 1",
            )
        shape.append((limit - start + step - 1) // step)
    return ShapedArray(shape, operand.dtype, operand.weak_type)


def slice(operand, start_indices, limit_indices, strides=None):
    """The static slice operand[start:limit:stride] along every axis."""
    (operand,) = coerce_scalars(operand)
    return slice_p.bind(
        operand,
        start_indices=_ints(start_indices),
        limit_indices=_ints(limit_indices),
        strides=None if strides is None else _ints(strides),
    )


rev_p = Primitive("rev")


@rev_p.def_impl
def _rev_impl(operand, *, dimensions):
    return np.flip(operand, dimensions) if dimensions else operand


@rev_p.def_abstract_eval
def _rev_abstract_eval(operand: ShapedArray, *, dimensions):
    check_axes("rev", operand, dimensions, "dimensions")
    return operand


def rev(operand, dimensions):
    """Reverse the order of elements along `dimensions`."""
    (operand,) = coerce_scalars(operand)
    return rev_p.bind(operand, dimensions=_ints(dimensions))


def expand_dims(array, dimensions):
    """Insert size-1 axes at `dimensions` (positions in the result; negative count from its end).

    A broadcast_in_dim, not a primitive of its own.
    """
    (array,) = coerce_scalars(array)
    aval = get_aval(array)
    out_ndim = aval.ndim + len(dimensions)
    new = {int(d) + out_ndim if d < 0 else int(d) for d in dimensions}
    if len(new) != len(dimensions) or any(not 0 <= d < out_ndim for d in new):
        raise shape_error(
            "expand_dims",
            [aval],
            f"dimensions {tuple(dimensions)} must be distinct axes of the rank-{out_ndim} result",
        )
    kept = [d for d in range(out_ndim) if d not in new]
    shape = [1] * out_ndim
    for src, dst in enumerate(kept):
        shape[dst] = aval.shape[src]
    return broadcast_in_dim(array, shape, kept)


# iota: the integers 0, 1, 2, ... along one axis of an array of `shape`, constant along the
# others. With broadcast_in_dim and comparisons it builds arange, eye, tri and masks.
iota_p = Primitive("iota")


@iota_p.def_impl
def _iota_impl(*, dtype, shape, dimension):
    counts = np.arange(shape[dimension], dtype=np.int64).astype(dtype)
    expanded = [1] * len(shape)
    expanded[dimension] = shape[dimension]
    return np.array(np.broadcast_to(counts.reshape(expanded), shape))


@iota_p.def_abstract_eval
def _iota_abstract_eval(*, dtype, shape, dimension):
    if dtypes.dtype_kind(dtype) not in "iufc":
        raise shape_error(
            "iota", [], f"dtype {dtype.name} is not numeric", "Use an integer or float dtype."
        )
    if any(n < 0 for n in shape):
        raise shape_error("iota", [], f"shape {shape} has a negative size")
    if not 0 <= dimension < len(shape):
        raise shape_error("iota", [], f"dimension {dimension} is out of range for shape {shape}")
    return ShapedArray(shape, dtype)


def broadcasted_iota(dtype, shape, dimension: int):
    """An array of `shape` whose elements are their index along axis `dimension`.

    >>> broadcasted_iota(np.int32, (2, 3), 1)      # doctest: +SKIP
    Array([[0, 1, 2],
           [0, 1, 2]], dtype=int32)
    """
    dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, "iota: "))
    shape = _ints(shape)
    dimension = int(dimension)
    return iota_p.bind(
        dtype=dtype, shape=shape, dimension=dimension + len(shape) if dimension < 0 else dimension
    )


def iota(dtype, size: int):
    """The 1-d array [0, 1, ..., size - 1] of `dtype`.

    >>> iota(np.int32, 4)                          # doctest: +SKIP
    Array([0, 1, 2, 3], dtype=int32)
    """
    return broadcasted_iota(dtype, (int(size),), 0)


concatenate_p = Primitive("concatenate")


@concatenate_p.def_impl
def _concatenate_impl(*operands, dimension):
    return np.concatenate(operands, axis=dimension)


@concatenate_p.def_abstract_eval
def _concatenate_abstract_eval(*operands: ShapedArray, dimension):
    if not operands:
        raise shape_error("concatenate", [], "needs at least one operand")
    first = operands[0]
    if not 0 <= dimension < first.ndim:
        raise shape_error(
            "concatenate",
            operands,
            f"dimension {dimension} is out of range for rank {first.ndim}",
            "0-d operands cannot be concatenated; reshape them to rank 1 first.",
        )
    if len({op.dtype for op in operands}) > 1:
        raise shape_error(
            "concatenate",
            operands,
            "operand dtypes must be equal",
            "Convert with convert_element_type (funcgrad.numpy.concatenate promotes).",
        )
    for op in operands:
        same_rank = op.ndim == first.ndim
        if not same_rank or any(
            a != b for i, (a, b) in enumerate(zip(op.shape, first.shape)) if i != dimension
        ):
            raise shape_error(
                "concatenate",
                operands,
                f"operand shapes must be equal except along dimension {dimension}",
            )
    shape = list(first.shape)
    shape[dimension] = sum(op.shape[dimension] for op in operands)
    return ShapedArray(shape, first.dtype, all(op.weak_type for op in operands))


def concatenate(operands, dimension: int):
    """Join `operands` (one dtype, equal shapes off `dimension`) along `dimension`."""
    operands = coerce_scalars(*operands)
    return concatenate_p.bind(*operands, dimension=int(dimension))


# pad: `padding_config` holds (low, high, interior) per axis. Interior padding puts
# `interior` fill elements between neighbours; negative low/high remove elements instead,
# so pad with negative edges is also a static slice (and the transpose of pad is one).
pad_p = Primitive("pad")


@pad_p.def_impl
def _pad_impl(operand, padding_value, *, padding_config):
    grown = [(builtins.max(lo, 0), builtins.max(hi, 0), inner) for lo, hi, inner in padding_config]
    shape = [
        lo + hi + n + builtins.max(n - 1, 0) * inner
        for (lo, hi, inner), n in zip(grown, operand.shape)
    ]
    out = np.full(shape, padding_value, dtype=operand.dtype)
    placed = tuple(
        builtins.slice(
            lo, lo + builtins.max(n - 1, 0) * (inner + 1) + builtins.min(n, 1), inner + 1
        )
        for (lo, _, inner), n in zip(grown, operand.shape)
    )
    out[placed] = operand
    trimmed = tuple(
        builtins.slice(-builtins.min(lo, 0), size + builtins.min(hi, 0))
        for (lo, hi, _), size in zip(padding_config, shape)
    )
    return out[trimmed]


@pad_p.def_abstract_eval
def _pad_abstract_eval(operand: ShapedArray, padding_value: ShapedArray, *, padding_config):
    avals = [operand, padding_value]
    if padding_value.shape:
        raise shape_error("pad", avals, "padding_value must be a scalar (rank 0)")
    if padding_value.dtype != operand.dtype:
        raise shape_error(
            "pad", avals, "padding_value must have the operand's dtype", "Convert one of them."
        )
    if len(padding_config) != operand.ndim:
        raise shape_error(
            "pad",
            avals,
            f"padding_config {padding_config} needs one (low, high, interior) per axis "
            f"({operand.ndim})",
        )
    shape = []
    for axis, ((lo, hi, inner), n) in enumerate(zip(padding_config, operand.shape)):
        if inner < 0:
            raise shape_error("pad", avals, f"axis {axis}: interior padding {inner} is negative")
        size = lo + hi + n + builtins.max(n - 1, 0) * inner
        if size < 0:
            raise shape_error(
                "pad",
                avals,
                f"axis {axis}: padding ({lo}, {hi}, {inner}) of size {n} leaves {size} elements",
                "Negative low/high padding may remove at most the elements there are.",
            )
        shape.append(size)
    return ShapedArray(shape, operand.dtype, operand.weak_type and padding_value.weak_type)


def pad(operand, padding_value, padding_config):
    """Pad with `padding_value` by (low, high, interior) per axis; negative low/high trim.

    >>> pad(np.arange(3), 0, [(1, 2, 1)])          # doctest: +SKIP
    Array([0, 0, 0, 1, 0, 2, 0, 0], dtype=int32)
    """
    operand, padding_value = coerce_scalars(operand, padding_value)
    config = tuple((int(lo), int(hi), int(inner)) for lo, hi, inner in padding_config)
    return pad_p.bind(operand, padding_value, padding_config=config)


# ---------------------------------------------------------------------------------------
# Differentiation rules: every primitive here is linear; each transpose moves the
# cotangent back to the operand's shape.


def _broadcast_in_dim_transpose(ct, operand, *, shape, broadcast_dimensions):
    from funcgrad.lax.reductions import reduce_sum

    aval = operand.aval
    summed = [i for i in range(len(shape)) if i not in broadcast_dimensions]
    summed += [
        d for i, d in enumerate(broadcast_dimensions) if aval.shape[i] == 1 and shape[d] != 1
    ]
    total = reduce_sum(ct, tuple(sorted(summed))) if summed else ct
    return [reshape(total, aval.shape)]


def _reshape_transpose(ct, operand, *, new_sizes, dimensions):
    if dimensions is None:
        return [reshape(ct, operand.aval.shape)]
    permuted = [operand.aval.shape[d] for d in dimensions]
    inverse = tuple(int(i) for i in np.argsort(dimensions))
    return [transpose(reshape(ct, permuted), inverse)]


def _transpose_transpose(ct, operand, *, permutation):
    return [transpose(ct, tuple(int(i) for i in np.argsort(permutation)))]


def _slice_transpose(ct, operand, *, start_indices, limit_indices, strides):
    steps = strides or (1,) * len(start_indices)
    config = []
    for start, step, size, n in zip(start_indices, steps, operand.aval.shape, get_aval(ct).shape):
        if n == 0:
            config.append((size, 0, 0))
        else:
            config.append((start, size - (start + (n - 1) * step + 1), step - 1))
    return [pad(ct, _zero_scalar(ct), config)]


def _zero_scalar(ct):
    """A 0-d zero of the cotangent's dtype (the padding value of transposed slices)."""
    from funcgrad.lax.operands import scalar_array

    return scalar_array(0, get_aval(ct).dtype, False)


def _pad_transpose(ct, operand, padding_value, *, padding_config):
    from funcgrad.lax.elementwise import sub
    from funcgrad.lax.reductions import reduce_sum

    # Undo the padding: trim low/high (negative padding), then take every (interior+1)-th.
    trimmed = pad(ct, _zero_scalar(ct), [(-lo, -hi, 0) for lo, hi, _ in padding_config])
    strides = [inner + 1 for _, _, inner in padding_config]
    if all(step == 1 for step in strides):
        operand_ct = trimmed
    else:
        shape = get_aval(trimmed).shape
        operand_ct = slice(trimmed, (0,) * len(shape), shape, strides)
    value_ct = None
    if isinstance(padding_value, ad.UndefinedPrimal):
        # Every output element that is not an operand element is the padding value.
        every_axis = tuple(range(get_aval(ct).ndim))
        value_ct = sub(reduce_sum(ct, every_axis), reduce_sum(operand_ct, every_axis))
    return [operand_ct if isinstance(operand, ad.UndefinedPrimal) else None, value_ct]


def _concatenate_transpose(ct, *operands, dimension):
    out, offset = [], 0
    ct_shape = get_aval(ct).shape
    for operand in operands:
        size = (
            operand.aval if isinstance(operand, ad.UndefinedPrimal) else get_aval(operand)
        ).shape[dimension]
        if isinstance(operand, ad.UndefinedPrimal):
            starts = [0] * len(ct_shape)
            limits = list(ct_shape)
            starts[dimension], limits[dimension] = offset, offset + size
            out.append(slice(ct, starts, limits))
        else:
            out.append(None)
        offset += size
    return out


ad.deflinear(broadcast_in_dim_p, _broadcast_in_dim_transpose)
ad.deflinear(reshape_p, _reshape_transpose)
ad.deflinear(squeeze_p, lambda ct, operand, *, dimensions: [reshape(ct, operand.aval.shape)])
ad.deflinear(transpose_p, _transpose_transpose)
ad.deflinear(slice_p, _slice_transpose)
ad.deflinear(rev_p, lambda ct, operand, *, dimensions: [rev(ct, dimensions)])
ad.deflinear(pad_p, _pad_transpose)
ad.deflinear(concatenate_p, _concatenate_transpose)
ad.defjvp_zero(iota_p)


# ---------------------------------------------------------------------------------------
# Batching: the batch axis goes in front and every axis parameter shifts past it.


def _front(axis_size, value, dim):
    return batching.move_axis(value, dim, 0, axis_size)


def _broadcast_in_dim_batch(axis_size, values, dims, *, shape, broadcast_dimensions):
    (operand,) = values
    operand = _front(axis_size, operand, dims[0])
    return broadcast_in_dim(
        operand, (axis_size, *shape), (0, *(d + 1 for d in broadcast_dimensions))
    ), 0


def _reshape_batch(axis_size, values, dims, *, new_sizes, dimensions):
    (operand,) = values
    operand = _front(axis_size, operand, dims[0])
    if dimensions is not None:
        operand = transpose(operand, (0, *(d + 1 for d in dimensions)))
    return reshape(operand, (axis_size, *new_sizes)), 0


def _squeeze_batch(axis_size, values, dims, *, dimensions):
    operand = _front(axis_size, values[0], dims[0])
    return squeeze(operand, tuple(d + 1 for d in dimensions)), 0


def _transpose_batch(axis_size, values, dims, *, permutation):
    operand = _front(axis_size, values[0], dims[0])
    return transpose(operand, (0, *(p + 1 for p in permutation))), 0


def _slice_batch(axis_size, values, dims, *, start_indices, limit_indices, strides):
    operand = _front(axis_size, values[0], dims[0])
    steps = None if strides is None else (1, *strides)
    return slice(operand, (0, *start_indices), (axis_size, *limit_indices), steps), 0


def _rev_batch(axis_size, values, dims, *, dimensions):
    operand = _front(axis_size, values[0], dims[0])
    return rev(operand, tuple(d + 1 for d in dimensions)), 0


def _concatenate_batch(axis_size, values, dims, *, dimension):
    operands = [_front(axis_size, v, d) for v, d in zip(values, dims)]
    return concatenate_p.bind(*operands, dimension=dimension + 1), 0


def _pad_batch(axis_size, values, dims, *, padding_config):
    from funcgrad.lax.elementwise import select_n

    operand, padding_value = values
    operand = _front(axis_size, operand, dims[0])
    config = ((0, 0, 0), *padding_config)
    if dims[1] is None:
        return pad_p.bind(operand, padding_value, padding_config=config), 0
    # A per-example padding value: pad with zeros, then fill the padding from the values.
    padded = pad_p.bind(operand, _zero_scalar(operand), padding_config=config)
    out_shape = get_aval(padded).shape
    inside = pad(broadcast_in_dim(True, get_aval(operand).shape[1:], ()), False, padding_config)
    mask = broadcast_in_dim(inside, out_shape, tuple(range(1, len(out_shape))))
    fill = broadcast_in_dim(_front(axis_size, padding_value, dims[1]), out_shape, (0,))
    return select_n(mask, fill, padded), 0


batching.primitive_batchers[broadcast_in_dim_p] = _broadcast_in_dim_batch
batching.primitive_batchers[reshape_p] = _reshape_batch
batching.primitive_batchers[squeeze_p] = _squeeze_batch
batching.primitive_batchers[transpose_p] = _transpose_batch
batching.primitive_batchers[slice_p] = _slice_batch
batching.primitive_batchers[rev_p] = _rev_batch
batching.primitive_batchers[concatenate_p] = _concatenate_batch
batching.primitive_batchers[pad_p] = _pad_batch
