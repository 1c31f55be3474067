"""Shape manipulation with NumPy's conventions: reshape (with -1), transpose,
broadcast_to, expand_dims, squeeze and ravel."""

from __future__ import annotations

import numpy as np

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import shapes as lax_shapes
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import broadcast_shapes, broadcast_to_shape

__all__ = ["reshape", "transpose", "broadcast_to", "expand_dims", "squeeze", "ravel"]


def _resolve_shape(size: int, shape) -> tuple[int, ...]:
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(int(n) for n in shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or any(n < -1 for n in shape):
        raise ValueError(
            f"reshape: can only specify one unknown dimension (-1), got {shape} "
            f"(at {user_location()})."
        )
    if unknown:
        known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape array of size {size} into shape {shape} "
                f"(at {user_location()})."
            )
        shape = tuple(size // known if n == -1 else n for n in shape)
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise ValueError(
            f"reshape: cannot reshape array of size {size} into shape {shape} "
            f"(at {user_location()}). The number of elements must stay the same."
        )
    return shape


@api_boundary
def reshape(a, shape):
    """`a` with a new shape of the same size; one entry may be -1."""
    a = asarray(a)
    aval = get_aval(a)
    shape = _resolve_shape(aval.size, shape)
    return a if shape == aval.shape else lax_shapes.reshape(a, shape)


def _normalize_axis(name: str, axis: int, ndim: int) -> int:
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an array of "
            f"dimension {ndim} (at {user_location()})."
        )
    return axis % ndim


@api_boundary
def transpose(a, axes=None):
    """Permute the axes (reverse them when `axes` is None)."""
    a = asarray(a)
    ndim = get_aval(a).ndim
    if axes is None:
        axes = tuple(reversed(range(ndim)))
    if len(axes) != ndim:
        raise ValueError(
            f"transpose: axes {tuple(axes)} don't match an array of dimension "
            f"{ndim} (at {user_location()})."
        )
    perm = tuple(_normalize_axis("transpose", int(ax), ndim) for ax in axes)
    if len(set(perm)) != ndim:
        raise ValueError(f"transpose: repeated axis in {tuple(axes)} (at {user_location()}).")
    return a if perm == tuple(range(ndim)) else lax_shapes.transpose(a, perm)


@api_boundary
def broadcast_to(array, shape):
    """Broadcast to `shape` by NumPy's rules."""
    array = asarray(array)
    shape = tuple(shape)
    aval = get_aval(array)
    if broadcast_shapes("broadcast_to", aval.shape, shape) != shape or aval.ndim > len(shape):
        raise ValueError(
            f"broadcast_to: cannot broadcast shape {aval.shape} to {shape} (at {user_location()})."
        )
    return broadcast_to_shape(array, shape)


@api_boundary
def expand_dims(a, axis):
    """Insert size-1 axes at the positions `axis` (an int or tuple) of the result."""
    a = asarray(a)
    aval = get_aval(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out_ndim = aval.ndim + len(axes)
    new = sorted(_normalize_axis("expand_dims", int(ax), out_ndim) for ax in axes)
    kept = [i for i in range(out_ndim) if i not in new]
    shape = [1] * out_ndim
    for src, dst in enumerate(kept):
        shape[dst] = aval.shape[src]
    return lax_shapes.broadcast_in_dim(a, shape, kept)


@api_boundary
def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those named by `axis`)."""
    a = asarray(a)
    aval = get_aval(a)
    if axis is None:
        dims = [i for i, n in enumerate(aval.shape) if n == 1]
    else:
        axes = axis if isinstance(axis, (tuple, list)) else (axis,)
        dims = [_normalize_axis("squeeze", int(ax), aval.ndim) for ax in axes]
        if any(aval.shape[d] != 1 for d in dims):
            raise ValueError(
                f"squeeze: cannot select an axis to squeeze out which has size not "
                f"equal to one; shape {aval.shape}, axis {axis} (at {user_location()})."
            )
    return lax_shapes.squeeze(a, dims) if dims else a


@api_boundary
def ravel(a):
    """The elements as a 1-d array, in row-major order."""
    a = asarray(a)
    return reshape(a, (get_aval(a).size,))


def _reshape_method(self, *shape):
    return reshape(self, shape[0] if len(shape) == 1 else shape)


def _transpose_method(self, *axes):
    return transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


ARRAY_METHODS = {
    "T": property(lambda self: transpose(self)),
    "reshape": _reshape_method,
    "transpose": _transpose_method,
}
