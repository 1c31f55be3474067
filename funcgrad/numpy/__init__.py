"""funcgrad.numpy: NumPy's API over funcgrad primitives, as `jax.numpy`.

Every function binds primitives, so grad, vmap and jit transform all of it. This is
the subset the foundation needs; the funcgrad.numpy issue grows it to the full API.
"""

import ml_dtypes as _ml_dtypes
import numpy as _np

from funcgrad.numpy import array_methods as _array_methods
from funcgrad.numpy.creation import array, asarray, full, ones, zeros
from funcgrad.numpy.products import dot, matmul
from funcgrad.numpy.reductions import max, mean, sum
from funcgrad.numpy.shape_ops import broadcast_to, expand_dims, ravel, reshape, squeeze, transpose
from funcgrad.numpy.ufuncs import (
    add,
    cos,
    divide,
    equal,
    exp,
    greater,
    greater_equal,
    less,
    less_equal,
    log,
    maximum,
    multiply,
    negative,
    not_equal,
    positive,
    power,
    sin,
    subtract,
    tanh,
    true_divide,
    where,
)
from funcgrad.runtime.array import Array as ndarray

bool_ = _np.bool_
int8, int16, int32, int64 = _np.int8, _np.int16, _np.int32, _np.int64
uint8, uint16, uint32, uint64 = _np.uint8, _np.uint16, _np.uint32, _np.uint64
float16, float32, float64 = _np.float16, _np.float32, _np.float64
bfloat16 = _ml_dtypes.bfloat16
complex64, complex128 = _np.complex64, _np.complex128
dtype = _np.dtype
pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan

_array_methods.install()

__all__ = [
    "add",
    "array",
    "asarray",
    "bfloat16",
    "bool_",
    "broadcast_to",
    "complex128",
    "complex64",
    "cos",
    "divide",
    "dot",
    "dtype",
    "e",
    "equal",
    "exp",
    "expand_dims",
    "float16",
    "float32",
    "float64",
    "full",
    "greater",
    "greater_equal",
    "inf",
    "int16",
    "int32",
    "int64",
    "int8",
    "less",
    "less_equal",
    "log",
    "matmul",
    "max",
    "maximum",
    "mean",
    "multiply",
    "nan",
    "ndarray",
    "negative",
    "not_equal",
    "ones",
    "pi",
    "positive",
    "power",
    "ravel",
    "reshape",
    "sin",
    "squeeze",
    "subtract",
    "sum",
    "tanh",
    "transpose",
    "true_divide",
    "uint16",
    "uint32",
    "uint64",
    "uint8",
    "where",
    "zeros",
]
