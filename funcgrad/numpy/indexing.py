"""`x[idx]` for basic indices: integers, slices (any step), None and Ellipsis, lowered to
slice, rev, squeeze and broadcast_in_dim. As in JAX, integer indices never raise:
out-of-range ones clamp to the nearest valid position."""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import shapes as lax_shapes
from funcgrad.runtime.array import SETITEM_MESSAGE, Array

__all__ = ["getitem"]


def _expand_ellipsis(index: tuple, ndim: int) -> tuple:
    ellipses = [i for i, item in enumerate(index) if item is Ellipsis]
    if len(ellipses) > 1:
        raise IndexError(
            f"an index can only have a single ellipsis ('...'); got {index!r} "
            f"(at {user_location()})."
        )
    used = builtins.sum(1 for item in index if item is not None and item is not Ellipsis)
    if used > ndim:
        raise IndexError(
            f"too many indices for array: array is {ndim}-dimensional, but {used} "
            f"were indexed (at {user_location()})."
        )
    if not ellipses:
        return index + (builtins.slice(None),) * (ndim - used)
    at = ellipses[0]
    return index[:at] + (builtins.slice(None),) * (ndim - used) + index[at + 1 :]


def _check_item(item) -> None:
    if item is None or item is Ellipsis or isinstance(item, builtins.slice):
        return
    if isinstance(item, (bool, np.bool_)):
        raise TypeError(
            f"boolean scalar indices are not supported (index {item!r} at "
            f"{user_location()}); use jnp.where for a conditional value."
        )
    if isinstance(item, (int, np.integer)):
        return
    if isinstance(item, (Array, Tracer, np.ndarray, list)):
        raise NotImplementedError(
            f"indexing with arrays (advanced or boolean-mask indexing) is not supported yet, "
            f"got a {type(item).__name__} index at {user_location()}; use Python ints and "
            "slices for now."
        )
    raise IndexError(
        f"only integers, slices (:), ellipsis (...) and None are valid indices, got "
        f"{type(item).__name__} {item!r} (at {user_location()})."
    )


def getitem(x, index):
    """`x[index]` for basic (static) indices."""
    aval = get_aval(x)
    index = index if isinstance(index, tuple) else (index,)
    for item in index:
        _check_item(item)
    index = _expand_ellipsis(index, aval.ndim)
    starts, limits, strides, reversed_axes, squeezed, new_axes = [], [], [], [], [], []
    axis = 0
    out_position = 0
    for item in index:
        if item is None:
            new_axes.append(out_position)
            out_position += 1
            continue
        size = aval.shape[axis]
        if isinstance(item, builtins.slice):
            start, stop, step = item.indices(size)
            count = len(range(start, stop, step))
            if step < 0 and count:
                start, stop, step = start + (count - 1) * step, start + 1, -step
                reversed_axes.append(axis)
            elif not count:
                start = stop = 0
                step = 1
            starts.append(start)
            limits.append(stop)
            strides.append(step)
            out_position += 1
        else:
            if size == 0:
                raise IndexError(
                    f"index {item} is out of bounds for axis {axis} with size 0 "
                    f"(at {user_location()})."
                )
            position = builtins.min(
                builtins.max(int(item) + size if item < 0 else int(item), 0), size - 1
            )
            starts.append(position)
            limits.append(position + 1)
            strides.append(1)
            squeezed.append(axis)
        axis += 1
    out = x
    if (
        starts != [0] * aval.ndim
        or limits != list(aval.shape)
        or builtins.any(s != 1 for s in strides)
    ):
        out = lax_shapes.slice(
            out, starts, limits, None if builtins.all(s == 1 for s in strides) else strides
        )
    if reversed_axes:
        out = lax_shapes.rev(out, reversed_axes)
    if squeezed:
        out = lax_shapes.squeeze(out, squeezed)
    if new_axes:
        shape = get_aval(out).shape
        kept = [i for i in range(len(shape) + len(new_axes)) if i not in new_axes]
        full = [1] * (len(shape) + len(new_axes))
        for src, dst in enumerate(kept):
            full[dst] = shape[src]
        out = lax_shapes.broadcast_in_dim(out, full, kept)
    return out


def _setitem(self, idx, value):
    raise TypeError(SETITEM_MESSAGE)


ARRAY_METHODS = {"__getitem__": api_boundary(getitem), "__setitem__": _setitem}
