"""The dtype names of funcgrad.numpy (`jnp.float32`, `jnp.bfloat16`, ...), as in JAX.

Each is usable wherever NumPy takes a dtype (`x.astype(jnp.float16)`,
`np.dtype(jnp.int8)`) and, called, makes a strongly typed funcgrad array rather than a
NumPy scalar: `jnp.float32(2.0)` is `Array(2., dtype=float32)`.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from funcgrad.numpy.creation import asarray

__all__ = [
    "bool_", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "bfloat16", "float32", "float64", "complex64", "complex128",
]  # fmt: skip


class _ScalarMeta(type):
    dtype: np.dtype

    def __call__(cls, value):
        return asarray(value, dtype=cls.dtype)

    def __instancecheck__(cls, instance) -> bool:
        return isinstance(instance, cls.dtype.type)

    def __eq__(cls, other) -> bool:
        return cls is other or cls.dtype.type == other

    def __hash__(cls) -> int:
        return hash(cls.dtype.type)

    def __repr__(cls) -> str:
        return f"<class 'funcgrad.numpy.{cls.__name__}'>"


def _scalar_type(name: str, numpy_type) -> type:
    return _ScalarMeta(name, (), {"dtype": np.dtype(numpy_type), "__module__": __name__})


bool_ = _scalar_type("bool_", np.bool_)
int8 = _scalar_type("int8", np.int8)
int16 = _scalar_type("int16", np.int16)
int32 = _scalar_type("int32", np.int32)
int64 = _scalar_type("int64", np.int64)
uint8 = _scalar_type("uint8", np.uint8)
uint16 = _scalar_type("uint16", np.uint16)
uint32 = _scalar_type("uint32", np.uint32)
uint64 = _scalar_type("uint64", np.uint64)
float16 = _scalar_type("float16", np.float16)
bfloat16 = _scalar_type("bfloat16", ml_dtypes.bfloat16)
float32 = _scalar_type("float32", np.float32)
float64 = _scalar_type("float64", np.float64)
complex64 = _scalar_type("complex64", np.complex64)
complex128 = _scalar_type("complex128", np.complex128)
