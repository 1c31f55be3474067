"""Abstract values: what a tracer knows about an array without its contents.

`ShapedArray` is shape, dtype and weak_type; primitives' shape rules map input avals
to output avals, and jit keys its cache on them. `get_aval` gives the aval of any
value a primitive can take: a funcgrad Array or tracer, a NumPy array or scalar, or a
Python scalar (weakly typed).
"""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.source_info import user_location

__all__ = [
    "ShapedArray",
    "get_aval",
    "register_aval_type",
    "is_python_scalar",
    "short_dtype_name",
]

_SHORT_NAMES = {
    "bool": "bool",
    "int8": "i8",
    "int16": "i16",
    "int32": "i32",
    "int64": "i64",
    "uint8": "u8",
    "uint16": "u16",
    "uint32": "u32",
    "uint64": "u64",
    "float16": "f16",
    "bfloat16": "bf16",
    "float32": "f32",
    "float64": "f64",
    "complex64": "c64",
    "complex128": "c128",
}

PYTHON_SCALAR_TYPES = (bool, int, float, complex)


def short_dtype_name(dtype: np.dtype) -> str:
    """`f32` for float32, as jaxprs print types."""
    return _SHORT_NAMES[dtype.name]


class ShapedArray:
    """The abstract value of an array: its shape, its dtype and whether it is weakly typed.

    >>> ShapedArray((3, 4), np.float32)
    ShapedArray(f32[3,4])
    """

    __slots__ = ("shape", "dtype", "weak_type", "_hash")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(int(d) for d in shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = bool(weak_type)
        self._hash = hash((self.shape, self.dtype, self.weak_type))

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def str_short(self) -> str:
        return f"{short_dtype_name(self.dtype)}[{','.join(map(str, self.shape))}]"

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, ShapedArray)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self) -> int:
        return self._hash

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapedArray({self.str_short()}{weak})"

    __str__ = str_short


def is_python_scalar(x) -> bool:
    return type(x) in PYTHON_SCALAR_TYPES


def _scalar_aval(x):
    return ShapedArray((), dtypes.scalar_dtype(x), weak_type=type(x) is not bool)


def _numpy_aval(x):
    return ShapedArray(np.shape(x), dtypes.canonicalize_dtype(x.dtype))


_AVAL_OF_TYPE = {t: _scalar_aval for t in PYTHON_SCALAR_TYPES}
_AVAL_OF_TYPE[np.ndarray] = _numpy_aval


def register_aval_type(cls: type, aval_of) -> None:
    """Teach `get_aval` a concrete array type by exact type (the fast path for eager ops)."""
    _AVAL_OF_TYPE[cls] = aval_of


def get_aval(x) -> ShapedArray:
    """The abstract value of anything a primitive accepts; a TypeError for anything else."""
    handler = _AVAL_OF_TYPE.get(type(x))
    if handler is not None:
        return handler(x)
    aval = getattr(x, "aval", None)
    if isinstance(aval, ShapedArray):
        return aval
    if isinstance(x, np.generic):
        return _numpy_aval(x)
    raise TypeError(
        f"{type(x).__name__} {_brief(x)} is not a valid funcgrad array value (at "
        f"{user_location()}). Pass an array (funcgrad, NumPy) or a Python bool/int/float/complex; "
        "to pass other Python values to a transformed function, mark them static "
        "(static_argnums) or close over them."
    )


def _brief(x) -> str:
    text = repr(x)
    return text if len(text) <= 40 else text[:37] + "..."
