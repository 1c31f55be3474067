"""Reductions with NumPy's `axis`/`keepdims`/`dtype` and JAX's result dtypes (small
integers and bools sum in the default integer type)."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions as red
from funcgrad.lax.shapes import reshape
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import default_float

__all__ = ["sum", "max", "mean"]


def _axes(name: str, ndim: int, axis) -> tuple[int, ...]:
    if axis is None:
        return tuple(range(ndim))
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for a in axes:
        if not isinstance(a, (int, np.integer)) or isinstance(a, bool):
            raise TypeError(
                f"{name}: axis must be an int or a tuple of ints, got {a!r} (at {user_location()})."
            )
        if not -ndim <= a < ndim:
            raise np.exceptions.AxisError(
                f"{name}: axis {a} is out of bounds for an array of dimension {ndim} (at "
                f"{user_location()}). Use an axis in [{-ndim}, {ndim})."
            )
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: duplicate value in axis {axis!r} (at {user_location()}).")
    return tuple(sorted(out))


def _keep(x, shape, axes, keepdims: bool):
    if not keepdims:
        return x
    return reshape(x, [1 if i in axes else n for i, n in enumerate(shape)])


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    default_int = dtypes.canonicalize_dtype(np.int64)
    kind = dtypes.dtype_kind(dtype)
    if kind == "b" or (kind == "i" and dtype.itemsize < default_int.itemsize):
        return default_int
    if kind == "u" and dtype.itemsize < default_int.itemsize:
        return dtypes.canonicalize_dtype(np.uint64)
    return dtype


def _cast(x, dtype):
    aval = get_aval(x)
    if aval.dtype == dtype:
        return x
    return ew.convert_element_type_p.bind(x, new_dtype=dtype, weak_type=aval.weak_type)


@api_boundary
def sum(a, axis=None, dtype=None, keepdims: bool = False):
    """Sum of elements over `axis` (all axes when None)."""
    a = asarray(a)
    aval = get_aval(a)
    axes = _axes("sum", aval.ndim, axis)
    out_dtype = dtypes.canonicalize_dtype(dtype) if dtype is not None else _sum_dtype(aval.dtype)
    out = red.reduce_sum_p.bind(_cast(a, out_dtype), axes=axes)
    return _keep(out, aval.shape, axes, keepdims)


@api_boundary
def max(a, axis=None, keepdims: bool = False):
    """Largest element over `axis` (NaN propagates)."""
    a = asarray(a)
    aval = get_aval(a)
    axes = _axes("max", aval.ndim, axis)
    if any(aval.shape[i] == 0 for i in axes):
        raise ValueError(
            f"max: zero-size array to reduction operation max which has no identity (shape "
            f"{aval.shape}, axis {axis}, at {user_location()}). Reduce a non-empty axis, or use "
            "jnp.max(..., initial=...) once available."
        )
    out = red.reduce_max_p.bind(a, axes=axes)
    return _keep(out, aval.shape, axes, keepdims)


@api_boundary
def mean(a, axis=None, dtype=None, keepdims: bool = False):
    """Arithmetic mean over `axis`; integers average in the default float type."""
    a = asarray(a)
    aval = get_aval(a)
    axes = _axes("mean", aval.ndim, axis)
    out_dtype = (
        dtypes.canonicalize_dtype(dtype)
        if dtype is not None
        else (aval.dtype if dtypes.is_inexact(aval.dtype) else default_float())
    )
    count = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    total = red.reduce_sum_p.bind(_cast(a, out_dtype), axes=axes)
    return _keep(ew.div(total, float(count)), aval.shape, axes, keepdims)


ARRAY_METHODS = {"sum": sum, "max": max, "mean": mean}
