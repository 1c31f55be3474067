"""How funcgrad.numpy functions meet their operands: JAX's dtype promotion (weak types
included) and NumPy's broadcasting, made explicit as convert_element_type and
broadcast_in_dim equations so the lax primitives below see equal dtypes and shapes."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval, is_python_scalar
from funcgrad.core.source_info import user_location
from funcgrad.lax.elementwise import convert_element_type_p
from funcgrad.lax.operands import scalar_array
from funcgrad.lax.shapes import broadcast_in_dim

__all__ = [
    "broadcast_shapes",
    "broadcast_to_shape",
    "broadcast_arrays",
    "promote_dtypes",
    "promote_args",
    "default_float",
]


def broadcast_shapes(name: str, *shapes: tuple[int, ...]) -> tuple[int, ...]:
    """NumPy's broadcast of `shapes`; a ValueError naming them and the user's line otherwise."""
    first = shapes[0] if shapes else ()
    if all(s == first for s in shapes):
        return tuple(first)
    ndim = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(ndim):
        sizes = {s[axis - ndim + len(s)] for s in shapes if axis - ndim + len(s) >= 0} - {1}
        if len(sizes) > 1:
            listed = " ".join(str(tuple(s)) for s in shapes)
            raise ValueError(
                f"{name}: operands could not be broadcast together with shapes {listed} (at "
                f"{user_location()}). Axes are matched from the right and must be equal or 1; "
                "reshape or expand_dims an operand so they line up."
            )
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def broadcast_to_shape(x, shape: tuple[int, ...]):
    """Broadcast x (already an array) to `shape` by NumPy's rules, as one broadcast_in_dim."""
    aval = get_aval(x)
    if aval.shape == tuple(shape) and not is_python_scalar(x):
        return x
    lead = len(shape) - aval.ndim
    return broadcast_in_dim(x, shape, tuple(range(lead, len(shape))))


def broadcast_arrays(name: str, *args):
    """Broadcast every arg (an array or Python scalar) to their common shape."""
    shape = broadcast_shapes(name, *(get_aval(a).shape for a in args))
    return [broadcast_to_shape(a, shape) for a in args]


def _convert(x, aval, dtype, weak):
    if is_python_scalar(x):
        return scalar_array(x, dtype, weak)
    if aval.dtype == dtype and aval.weak_type == weak:
        return x
    return convert_element_type_p.bind(x, new_dtype=dtype, weak_type=weak)


def _common_dtype(avals, inexact: bool):
    dtype, weak = dtypes.result_type(*((a.dtype, a.weak_type) for a in avals))
    if inexact and not dtypes.is_inexact(dtype):
        dtype = default_float()  # integers and bools compute in floats, as in NumPy and JAX
    return dtype, weak


def promote_dtypes(*args, inexact: bool = False):
    """Convert args to their common dtype (JAX's lattice); shapes are left alone."""
    avals = [get_aval(x) for x in args]
    dtype, weak = _common_dtype(avals, inexact)
    return [_convert(x, aval, dtype, weak) for x, aval in zip(args, avals)]


def promote_args(name: str, *args, inexact: bool = False):
    """Promote dtypes and broadcast shapes; rank-0 operands stay scalars (lax broadcasts them).

    With `inexact`, an integer or bool common type is replaced by the default float.
    """
    avals = [get_aval(x) for x in args]
    shape = broadcast_shapes(name, *(a.shape for a in avals))
    dtype, weak = _common_dtype(avals, inexact)
    out = []
    for x, aval in zip(args, avals):
        x = _convert(x, aval, dtype, weak)
        if aval.shape and aval.shape != shape:
            x = broadcast_to_shape(x, shape)
        out.append(x)
    return out


def default_float():
    return dtypes.canonicalize_dtype(np.float64)
