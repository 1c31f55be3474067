"""The dtypes a funcgrad checkpoint must round-trip: every safetensors dtype funcgrad has."""

import ml_dtypes
import numpy as np

DTYPES = [
    np.bool_,
    np.uint8,
    np.int8,
    np.uint16,
    np.int16,
    np.uint32,
    np.int32,
    np.uint64,
    np.int64,
    np.float16,
    ml_dtypes.bfloat16,
    np.float32,
    np.float64,
    np.complex64,
]
