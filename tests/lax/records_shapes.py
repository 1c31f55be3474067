"""Op records for funcgrad/lax/shapes.py: shape primitives."""

from __future__ import annotations

import dataclasses

import numpy as np
from op_records import ELEMENTWISE_SHAPES, NUMERIC, draw, structural

from funcgrad import lax


def _prepend_target(shape):
    return (2, *shape), tuple(range(1, len(shape) + 1))


def _append_target(shape):
    return (*shape, 2), tuple(range(len(shape)))


def _ones_to_four(shape):
    return tuple(4 if n == 1 else n for n in shape), tuple(range(len(shape)))


def _offset_slice(shape):
    """start 1 (or 0 on empty axes), limit the size, unit stride."""
    return tuple(min(1, n) for n in shape), shape, None


def _strided_slice(shape):
    return (0,) * len(shape), shape, (2,) * len(shape)


def _as_slices(params):
    starts, limits, strides = params
    strides = strides or (1,) * len(starts)
    return tuple(slice(a, b, c) for a, b, c in zip(starts, limits, strides))


def _squeezable(shape):
    return tuple(i for i, n in enumerate(shape) if n == 1)


def _loop_pad(x, value, config):
    """NumPy reference for lax.pad: interior fill by concatenating element by element, edges
    by np.pad, negative edges by np.take of the kept range."""
    for axis, (lo, hi, inner) in enumerate(config):
        n = x.shape[axis]
        fill_shape = list(x.shape)
        fill_shape[axis] = inner
        parts = []
        for i in range(n):
            parts.append(np.take(x, [i], axis))
            if i < n - 1:
                parts.append(np.full(fill_shape, value, x.dtype))
        if parts:
            x = np.concatenate(parts, axis)
        widths = [(0, 0)] * x.ndim
        widths[axis] = (max(lo, 0), max(hi, 0))
        x = np.pad(x, widths, constant_values=value)
        x = np.take(x, range(-min(lo, 0), x.shape[axis] + min(hi, 0)), axis)
    return x


def _operand_and_scalar(rng, shape, dtype):
    return [draw(rng, shape, dtype, -3, 3), draw(rng, (), dtype, -3, 3)]


def _pad_config(kind, shape):
    if kind == "edges":
        return tuple((1, 2, 0) for _ in shape)
    if kind == "interior":
        return tuple((0, 1, 2) for _ in shape)
    return tuple((-min(1, n), 1, 1) for n in shape)  # trim one leading element, pad one


def _pad_record(kind, shapes):
    return structural(
        f"pad_{kind}",
        "pad",
        lambda x, v: lax.pad(x, v, _pad_config(kind, x.shape)),
        lambda x, v: _loop_pad(x, v, _pad_config(kind, x.shape)),
        shapes,
        arity=2,
    )


def _three_lengths(rng, shape, dtype):
    """Operands with 1, 0 and shape[-1] elements along the last axis."""
    return [draw(rng, (*shape[:-1], k), dtype, -3, 3) for k in (1, 0, shape[-1])]


def _numeric(record, primitive="iota"):
    return dataclasses.replace(record, dtypes=NUMERIC, primitive=primitive)


def _binds_broadcast_in_dim(*args):
    return dataclasses.replace(structural(*args), primitive="broadcast_in_dim")


RECORDS = [
    _numeric(
        structural(
            "iota",
            "iota",
            lambda x: lax.iota(x.dtype, x.shape[0]),
            lambda x: np.arange(x.shape[0]),
            ((0,), (1,), (7,)),
        )
    ),
    _numeric(
        structural(
            "broadcasted_iota_last",
            "broadcasted_iota",
            lambda x: lax.broadcasted_iota(x.dtype, x.shape, x.ndim - 1),
            lambda x: np.broadcast_to(np.arange(x.shape[-1]), x.shape),
            ((4,), (2, 3), (2, 0, 3), (3, 1)),
        )
    ),
    _numeric(
        structural(
            "broadcasted_iota_first",
            "broadcasted_iota",
            lambda x: lax.broadcasted_iota(x.dtype, x.shape, 0),
            lambda x: np.indices(x.shape)[0],
            ((4,), (2, 3), (2, 0, 3), (3, 1, 2)),
        )
    ),
    _binds_broadcast_in_dim(
        "expand_dims_front_and_back",
        "expand_dims",
        lambda x: lax.expand_dims(x, (0, -1)),
        lambda x: x[None, ..., None],
        ELEMENTWISE_SHAPES,
    ),
    _binds_broadcast_in_dim(
        "expand_dims_middle",
        "expand_dims",
        lambda x: lax.expand_dims(x, (1,)),
        lambda x: np.expand_dims(x, 1),
        ((0,), (5,), (2, 3), (2, 0, 3)),
    ),
    structural(
        "concatenate_first",
        "concatenate",
        lambda x, y: lax.concatenate([x, y], 0),
        lambda x, y: np.concatenate([x, y], 0),
        ((0,), (5,), (2, 3), (2, 0, 3)),
        arity=2,
    ),
    dataclasses.replace(
        structural(
            "concatenate_last_uneven",
            "concatenate",
            lambda *xs: lax.concatenate(xs, xs[0].ndim - 1),
            lambda *xs: np.concatenate(xs, -1),
            ((3,), (2, 4), (2, 0, 3), (1, 2, 0)),
            arity=3,
        ),
        make_inputs=_three_lengths,
    ),
    structural(
        "concatenate_single",
        "concatenate",
        lambda x: lax.concatenate([x], 0),
        lambda x: x,
        ((0,), (3,), (2, 3)),
    ),
    dataclasses.replace(_pad_record("edges", ELEMENTWISE_SHAPES), make_inputs=_operand_and_scalar),
    dataclasses.replace(
        _pad_record("interior", ELEMENTWISE_SHAPES + ((1, 4),)), make_inputs=_operand_and_scalar
    ),
    dataclasses.replace(
        _pad_record("trim", ELEMENTWISE_SHAPES + ((3, 1),)), make_inputs=_operand_and_scalar
    ),
    structural(
        "broadcast_in_dim_prepend",
        "broadcast_in_dim",
        lambda x: lax.broadcast_in_dim(x, *_prepend_target(x.shape)),
        lambda x: np.broadcast_to(x, (2, *x.shape)),
        ELEMENTWISE_SHAPES,
    ),
    structural(
        "broadcast_in_dim_append",
        "broadcast_in_dim",
        lambda x: lax.broadcast_in_dim(x, *_append_target(x.shape)),
        lambda x: np.broadcast_to(x[..., None], (*x.shape, 2)),
        ELEMENTWISE_SHAPES,
    ),
    structural(
        "broadcast_in_dim_size_one",
        "broadcast_in_dim",
        lambda x: lax.broadcast_in_dim(x, *_ones_to_four(x.shape)),
        lambda x: np.broadcast_to(x, _ones_to_four(x.shape)[0]),
        ((1,), (1, 3), (2, 1), (1, 0), (1, 1, 2)),
    ),
    structural(
        "reshape_flatten",
        "reshape",
        lambda x: lax.reshape(x, (x.size,)),
        lambda x: x.ravel(),
        ELEMENTWISE_SHAPES + ((4, 1, 3),),
    ),
    structural(
        "reshape_reversed_sizes",
        "reshape",
        lambda x: lax.reshape(x, x.shape[::-1]),
        lambda x: x.ravel().reshape(x.shape[::-1]),
        ELEMENTWISE_SHAPES + ((4, 1, 3),),
    ),
    structural(
        "reshape_to_scalar",
        "reshape",
        lambda x: lax.reshape(x, ()),
        lambda x: x.ravel()[0],
        ((1,), (1, 1)),
    ),
    structural(
        "reshape_with_dimensions",
        "reshape",
        lambda x: lax.reshape(x, (x.size,), dimensions=tuple(range(x.ndim))[::-1]),
        lambda x: x.T.ravel(),
        ((2, 3), (2, 0, 3), (2, 3, 4)),
    ),
    structural(
        "squeeze_all_ones",
        "squeeze",
        lambda x: lax.squeeze(x, _squeezable(x.shape)),
        lambda x: x.reshape([n for n in x.shape if n != 1]),
        ((1,), (1, 3), (2, 1, 3), (1, 1), (1, 0, 1)),
    ),
    structural(
        "squeeze_negative",
        "squeeze",
        lambda x: lax.squeeze(x, (-1,)),
        lambda x: x[..., 0],
        ((1,), (3, 1), (0, 1), (2, 3, 1)),
    ),
    structural(
        "transpose_reversed",
        "transpose",
        lambda x: lax.transpose(x, tuple(range(x.ndim))[::-1]),
        lambda x: x.T,
        ELEMENTWISE_SHAPES + ((2, 3, 4),),
    ),
    structural(
        "transpose_rotate",
        "transpose",
        lambda x: lax.transpose(x, (1, 2, 0)),
        lambda x: np.moveaxis(x, 0, -1),
        ((2, 3, 4), (2, 0, 3), (1, 1, 1)),
    ),
    structural(
        "slice_offset",
        "slice",
        lambda x: lax.slice(x, *_offset_slice(x.shape)),
        lambda x: x[_as_slices(_offset_slice(x.shape))],
        ELEMENTWISE_SHAPES,
    ),
    structural(
        "slice_strided",
        "slice",
        lambda x: lax.slice(x, *_strided_slice(x.shape)),
        lambda x: x[(slice(None, None, 2),) * x.ndim],
        ELEMENTWISE_SHAPES + ((5, 7),),
    ),
    structural(
        "rev_all",
        "rev",
        lambda x: lax.rev(x, tuple(range(x.ndim))),
        lambda x: x[(slice(None, None, -1),) * x.ndim],
        ELEMENTWISE_SHAPES,
    ),
    structural(
        "rev_first",
        "rev",
        lambda x: lax.rev(x, (0,)),
        lambda x: x[::-1],
        ((0,), (5,), (2, 3), (2, 0, 3)),
    ),
]
