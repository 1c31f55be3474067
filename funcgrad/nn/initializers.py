"""Parameter initializers, as `jax.nn.initializers` defines them.

An initializer is a function `init(key, shape, dtype=float32) -> Array`; the factories here
(`normal(stddev)`, `glorot_uniform()`, ...) build one. The variance-scaling family reads fan-in
and fan-out from the shape: the `in_axis` and `out_axis` sizes times the receptive field (the
product of every other axis), so a dense kernel `(in, out)` and a convolution kernel in HWIO
layout `(h, w, in, out)` both get the fans their formulas (Glorot & Bengio 2010, He et al. 2015,
LeCun et al. 1998) ask for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.source_info import user_location

__all__ = [
    "Initializer",
    "zeros",
    "ones",
    "constant",
    "uniform",
    "normal",
    "truncated_normal",
    "variance_scaling",
    "glorot_uniform",
    "glorot_normal",
    "xavier_uniform",
    "xavier_normal",
    "lecun_uniform",
    "lecun_normal",
    "he_uniform",
    "he_normal",
    "kaiming_uniform",
    "kaiming_normal",
]

Initializer = Callable[..., object]

# The standard deviation of a unit normal truncated to [-2, 2]; dividing by it makes a
# truncated normal draw have the variance asked for.
_TRUNCATED_UNIT_STDDEV = 0.87962566103423978


def _float_dtype(name: str, dtype) -> np.dtype:
    dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, f"{name}: "))
    if not np.issubdtype(dtype, np.floating):
        raise TypeError(
            f"{name}: initializers make floating-point parameters, got dtype {dtype} (at "
            f"{user_location()}); pass dtype=jnp.float32 (or another float type)."
        )
    return dtype


def zeros(key, shape: Sequence[int], dtype=np.float32):
    """All zeros; `key` is unused (it is there so every initializer has one signature)."""
    from funcgrad import numpy as jnp

    return jnp.zeros(shape, dtypes.canonicalize_dtype(dtype))


def ones(key, shape: Sequence[int], dtype=np.float32):
    """All ones; `key` is unused."""
    from funcgrad import numpy as jnp

    return jnp.ones(shape, dtypes.canonicalize_dtype(dtype))


def constant(value, dtype=np.float32) -> Initializer:
    """An initializer that fills with `value`.

    >>> constant(0.1)(key, (3,))  # doctest: +SKIP
    Array([0.1, 0.1, 0.1], dtype=float32)
    """

    def init(key, shape, dtype=dtype):
        from funcgrad import numpy as jnp

        return jnp.full(shape, value, dtypes.canonicalize_dtype(dtype))

    return init


def uniform(scale: float = 1e-2, dtype=np.float32) -> Initializer:
    """Uniform on `[0, scale)`, as JAX's `uniform`."""

    def init(key, shape, dtype=dtype):
        from funcgrad import random

        dtype = _float_dtype("uniform", dtype)
        return random.uniform(key, shape, dtype, 0.0, scale)

    return init


def normal(stddev: float = 1e-2, dtype=np.float32) -> Initializer:
    """Normal with mean 0 and standard deviation `stddev`."""

    def init(key, shape, dtype=dtype):
        from funcgrad import random

        dtype = _float_dtype("normal", dtype)
        return random.normal(key, shape, dtype) * np.asarray(stddev, dtype)

    return init


def truncated_normal(
    stddev: float = 1e-2, dtype=np.float32, lower: float = -2.0, upper: float = 2.0
) -> Initializer:
    """`stddev` times a unit normal truncated to `[lower, upper]`."""

    def init(key, shape, dtype=dtype):
        from funcgrad import random

        dtype = _float_dtype("truncated_normal", dtype)
        return random.truncated_normal(key, lower, upper, shape, dtype) * np.asarray(stddev, dtype)

    return init


def _fans(shape: tuple[int, ...], in_axis: int, out_axis: int, batch_axis) -> tuple[int, int]:
    if len(shape) < 2:
        raise ValueError(
            f"variance_scaling: a parameter of shape {shape} has no separate fan-in and fan-out "
            f"(at {user_location()}); these initializers are for kernels of rank >= 2 — use "
            "zeros, normal(stddev) or uniform(scale) for vectors."
        )
    ndim = len(shape)
    batch_axes = (batch_axis,) if isinstance(batch_axis, int) else tuple(batch_axis)
    in_axis, out_axis = in_axis % ndim, out_axis % ndim
    batch_axes = tuple(axis % ndim for axis in batch_axes)
    receptive = math.prod(
        size for axis, size in enumerate(shape) if axis not in (in_axis, out_axis, *batch_axes)
    )
    return shape[in_axis] * receptive, shape[out_axis] * receptive


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: int = -2,
    out_axis: int = -1,
    batch_axis: int | Sequence[int] = (),
    dtype=np.float32,
) -> Initializer:
    """Draws with variance `scale / n`, n being fan-in, fan-out or their mean (`mode`), from a
    truncated normal, a normal or a uniform distribution (`distribution`).

    >>> variance_scaling(2.0, "fan_in", "normal")(key, (784, 512))  # He-normal  # doctest: +SKIP
    """
    modes = ("fan_in", "fan_out", "fan_avg")
    distributions = ("truncated_normal", "normal", "uniform")
    if mode not in modes:
        raise ValueError(
            f"variance_scaling: mode must be one of {modes}, got {mode!r} (at {user_location()})"
        )
    if distribution not in distributions:
        raise ValueError(
            f"variance_scaling: distribution must be one of {distributions}, got "
            f"{distribution!r} (at {user_location()})"
        )

    def init(key, shape, dtype=dtype):
        from funcgrad import random

        dtype = _float_dtype("variance_scaling", dtype)
        shape = tuple(int(size) for size in shape)
        fan_in, fan_out = _fans(shape, in_axis, out_axis, batch_axis)
        denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}
        variance = scale / max(1.0, denominator[mode])
        if distribution == "truncated_normal":
            stddev = math.sqrt(variance) / _TRUNCATED_UNIT_STDDEV
            draws = random.truncated_normal(key, -2.0, 2.0, shape, dtype)
            return draws * np.asarray(stddev, dtype)
        if distribution == "normal":
            return random.normal(key, shape, dtype) * np.asarray(math.sqrt(variance), dtype)
        limit = math.sqrt(3.0 * variance)
        return random.uniform(key, shape, dtype, -limit, limit)

    return init


def _scaling(scale: float, mode: str, distribution: str, doc: str):
    def factory(in_axis=-2, out_axis=-1, batch_axis=(), dtype=np.float32) -> Initializer:
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__doc__ = doc
    return factory


glorot_uniform = _scaling(1.0, "fan_avg", "uniform", "Glorot/Xavier uniform: variance 1/fan_avg.")
glorot_normal = _scaling(
    1.0, "fan_avg", "truncated_normal", "Glorot/Xavier normal (truncated): variance 1/fan_avg."
)
lecun_uniform = _scaling(1.0, "fan_in", "uniform", "LeCun uniform: variance 1/fan_in.")
lecun_normal = _scaling(
    1.0, "fan_in", "truncated_normal", "LeCun normal (truncated): variance 1/fan_in."
)
he_uniform = _scaling(2.0, "fan_in", "uniform", "He/Kaiming uniform: variance 2/fan_in.")
he_normal = _scaling(
    2.0, "fan_in", "truncated_normal", "He/Kaiming normal (truncated): variance 2/fan_in."
)
xavier_uniform, xavier_normal = glorot_uniform, glorot_normal
kaiming_uniform, kaiming_normal = he_uniform, he_normal
