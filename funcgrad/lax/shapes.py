"""Primitives that move data without arithmetic: broadcast_in_dim, reshape, squeeze,
transpose, slice and rev."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import check_axes, shape_error

__all__ = ["broadcast_in_dim", "reshape", "squeeze", "transpose", "slice", "rev"]


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
