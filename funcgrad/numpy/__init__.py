"""funcgrad.numpy: NumPy's API over funcgrad primitives, as `jax.numpy`.

Every function binds primitives, so grad, vmap and jit transform all of it. Each
family module owns its functions; this namespace only re-exports them.
"""

import numpy as _np

from funcgrad.numpy import array_methods as _array_methods
from funcgrad.numpy.creation import array, asarray, full, ones, zeros
from funcgrad.numpy.products import dot, matmul
from funcgrad.numpy.reductions import max, mean, sum
from funcgrad.numpy.scalar_types import (
    bfloat16,
    bool_,
    complex64,
    complex128,
    float16,
    float32,
    float64,
    int8,
    int16,
    int32,
    int64,
    uint8,
    uint16,
    uint32,
    uint64,
)  # fmt: skip
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
)  # fmt: skip
from funcgrad.runtime.array import Array as ndarray

dtype = _np.dtype
pi, e, inf, nan = _np.pi, _np.e, _np.inf, _np.nan

_array_methods.install()

__all__ = sorted(name for name in dir() if not name.startswith("_"))
