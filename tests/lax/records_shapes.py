"""Op records for funcgrad/lax/shapes.py: shape primitives."""

from __future__ import annotations

import numpy as np
from op_records import ELEMENTWISE_SHAPES, structural

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


RECORDS = [
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
