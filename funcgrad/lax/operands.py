"""How lax functions take their operands: Python scalars are weakly typed and adopt
the dtype of the array operands beside them (`lax.add(f16_array, 2.0)` is float16);
everything else is passed to `bind` as it is."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.source_info import user_location
from funcgrad.runtime.array import from_buffer

__all__ = ["coerce_scalars", "scalar_array"]


def scalar_array(value, dtype: np.dtype, weak_type: bool = True):
    """A 0-d Array holding a Python scalar at `dtype`, with a clear overflow error."""
    try:
        buffer = np.asarray(value, dtype=dtype)
    except OverflowError:
        raise OverflowError(
            f"Python int {value} does not fit in {dtype.name} (at {user_location()}). "
            "Use a smaller value, or enable 64-bit types with "
            'funcgrad.config.update("jax_enable_x64", True).'
        ) from None
    return from_buffer(buffer, ShapedArray((), dtype, weak_type))


def _scalar_operand(value, array_dtype):
    own = dtypes.scalar_dtype(value)
    # Adopt the array dtype only where promotion would (2 into float16, not 2.5 into int32);
    # otherwise keep the scalar's own dtype and let the shape rule report the mismatch.
    if (
        array_dtype is not None
        and dtypes.result_type((array_dtype, False), (own, True))[0] == array_dtype
    ):
        own = array_dtype
    return scalar_array(value, own, type(value) is not bool)


def coerce_scalars(*operands):
    """Turn Python scalars into weak 0-d arrays of the array operands' dtype."""
    if not any(is_python_scalar(x) for x in operands):
        return operands
    array_dtype = next((get_aval(x).dtype for x in operands if not is_python_scalar(x)), None)
    return tuple(_scalar_operand(x, array_dtype) if is_python_scalar(x) else x for x in operands)
