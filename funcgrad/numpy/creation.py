"""Making arrays: asarray/array from Python or NumPy data, zeros, ones and full."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax.elementwise import convert_element_type
from funcgrad.lax.operands import scalar_array
from funcgrad.numpy.promotion import broadcast_to_shape
from funcgrad.runtime.array import Array, from_buffer

__all__ = ["asarray", "array", "zeros", "ones", "full"]


def _contains_tracer(data) -> bool:
    if isinstance(data, Tracer):
        return True
    return isinstance(data, (list, tuple)) and any(_contains_tracer(d) for d in data)


def _from_host(data, name: str) -> Array:
    if isinstance(data, (list, tuple)) and _contains_tracer(data):
        raise TypeError(
            f"{name}: a list holding traced arrays cannot become an array yet (at "
            f"{user_location()}); build it with jnp.stack once available, or pass one array."
        )
    host = np.asarray(data)
    if host.dtype == object:
        raise TypeError(
            f"{name}: cannot make an array from {type(data).__name__} {str(data)[:40]!r} (at "
            f"{user_location()}); pass numbers, nested lists of numbers or arrays."
        )
    dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(host.dtype, f"{name}: "))
    return from_buffer(np.array(host, dtype=dtype), ShapedArray(host.shape, dtype))


@api_boundary
def asarray(a, dtype=None):
    """`a` as a funcgrad array (no copy if it already is one). Python scalars stay weakly typed.

    >>> asarray([1.0, 2.0])
    Array([1., 2.], dtype=float32)
    """
    if is_python_scalar(a):
        if dtype is not None:
            return scalar_array(
                a,
                dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, "asarray: ")),
                weak_type=False,
            )
        out = scalar_array(a, dtypes.scalar_dtype(a), type(a) is not bool)
    elif isinstance(a, (Array, Tracer)):
        out = a
    else:
        out = _from_host(a, "asarray")
    if dtype is not None and np.dtype(dtype) != get_aval(out).dtype:
        out = convert_element_type(out, dtype)
    return out


@api_boundary
def array(object, dtype=None, copy: bool = True):
    """Like `asarray`; funcgrad arrays are immutable, so a copy is never observable."""
    return asarray(object, dtype)


def _filled(shape, value, dtype):
    shape = (shape,) if isinstance(shape, (int, np.integer)) else tuple(shape)
    if any(not isinstance(n, (int, np.integer)) or n < 0 for n in shape):
        raise TypeError(
            f"shape must be a sequence of non-negative ints, got {shape} (at {user_location()})."
        )
    if dtype is not None:
        dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, "full: "))
    if is_python_scalar(value):
        weak = dtype is None and type(value) is not bool
        fill = scalar_array(value, dtype or dtypes.scalar_dtype(value), weak)
    else:
        fill = asarray(value, dtype)
    return broadcast_to_shape(fill, shape)


@api_boundary
def zeros(shape, dtype=None):
    """An array of zeros (float32 unless `dtype` says otherwise)."""
    return _filled(shape, 0.0, dtype or dtypes.canonicalize_dtype(np.float64))


@api_boundary
def ones(shape, dtype=None):
    """An array of ones (float32 unless `dtype` says otherwise)."""
    return _filled(shape, 1.0, dtype or dtypes.canonicalize_dtype(np.float64))


@api_boundary
def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value`."""
    return _filled(shape, fill_value, dtype)


ARRAY_METHODS = {"astype": lambda self, dtype: asarray(self, dtype)}
