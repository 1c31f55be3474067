"""funcgrad.errors: the exception classes users catch, as `jax.errors`.

Most are defined in funcgrad.core.errors, beside the tracing machinery that raises them.
The two file-format errors below belong to funcgrad's own libraries (funcgrad.io,
funcgrad.data) and have no JAX counterpart.
"""

from funcgrad.core.errors import (
    ConcretizationTypeError,
    JaxprTypeError,
    KeyReuseError,
    NonConcreteBooleanIndexError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)

__all__ = [
    "CheckpointError",
    "ConcretizationTypeError",
    "DatasetError",
    "JaxprTypeError",
    "KeyReuseError",
    "NonConcreteBooleanIndexError",
    "TracerArrayConversionError",
    "TracerBoolConversionError",
    "TracerIntegerConversionError",
    "UnexpectedTracerError",
]


class CheckpointError(ValueError):
    """A checkpoint file is damaged, is not safetensors, or does not match the tree it is
    loaded into. The message names the file and every problem found.

    >>> try:
    ...     raise CheckpointError("model.safetensors: file is truncated")
    ... except ValueError as err:
    ...     print(err)
    model.safetensors: file is truncated
    """


class DatasetError(ValueError):
    """A data file (for example an MNIST IDX file) is damaged or not in the expected format.

    >>> try:
    ...     raise DatasetError("train-labels-idx1-ubyte: bad magic number")
    ... except ValueError as err:
    ...     print(err)
    train-labels-idx1-ubyte: bad magic number
    """
