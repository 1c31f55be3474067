"""Activation functions, softmax and one-hot encoding, as `jax.nn` defines them.

Each is a few funcgrad.numpy/lax operations, chosen as JAX chooses them (softplus is
`logaddexp(x, 0)`, softmax subtracts the maximum first), so values match JAX's and
every transform applies.
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import elementwise as ew
from funcgrad.lax.shapes import broadcasted_iota
from funcgrad.numpy import reductions, shape_ops, ufuncs
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import promote_args
from funcgrad.scipy.special import logsumexp

__all__ = [
    "relu",
    "relu6",
    "gelu",
    "sigmoid",
    "softplus",
    "silu",
    "swish",
    "tanh",
    "leaky_relu",
    "elu",
    "celu",
    "selu",
    "hard_tanh",
    "log_sigmoid",
    "softmax",
    "log_softmax",
    "logsumexp",
    "one_hot",
    "standardize",
    "dropout",
]

# The constants of selu (Klambauer et al., 2017), to double precision.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _inexact(name: str, x):
    (x,) = promote_args(name, x, inexact=True)
    return x


@api_boundary
def relu(x):
    """`max(x, 0)` elementwise.

    >>> relu(jnp.array([-1.0, 2.0]))  # doctest: +SKIP
    Array([0., 2.], dtype=float32)
    """
    (x,) = promote_args("relu", x)
    return ew.max(x, 0)


@api_boundary
def relu6(x):
    """`min(max(x, 0), 6)` elementwise."""
    (x,) = promote_args("relu6", x)
    return ew.min(ew.max(x, 0), 6)


@api_boundary
def sigmoid(x):
    """The logistic sigmoid `1 / (1 + exp(-x))`."""
    return ew.logistic(_inexact("sigmoid", x))


@api_boundary
def tanh(x):
    """Hyperbolic tangent."""
    return ew.tanh(_inexact("tanh", x))


@api_boundary
def softplus(x):
    """`log(1 + exp(x))`, computed without overflow."""
    return ufuncs.logaddexp(_inexact("softplus", x), 0)


@api_boundary
def log_sigmoid(x):
    """`log(sigmoid(x))`, computed as `-softplus(-x)`."""
    return ew.neg(softplus(ew.neg(_inexact("log_sigmoid", x))))


@api_boundary
def silu(x):
    """`x * sigmoid(x)` (also called swish)."""
    x = _inexact("silu", x)
    return ew.mul(x, ew.logistic(x))


swish = silu


@api_boundary
def gelu(x, approximate: bool = True):
    """The Gaussian error linear unit; `approximate` uses the tanh form (JAX's default).

    >>> gelu(jnp.array([0.0, 1.0]), approximate=False)  # doctest: +SKIP
    Array([0.       , 0.8413447], dtype=float32)
    """
    x = _inexact("gelu", x)
    if approximate:
        inner = ew.mul(math.sqrt(2 / math.pi), ew.add(x, ew.mul(0.044715, ew.integer_pow(x, 3))))
        return ew.mul(ew.mul(0.5, x), ew.add(1, ew.tanh(inner)))
    return ew.mul(ew.mul(0.5, x), ew.add(1, ew.erf(ew.mul(x, 1 / math.sqrt(2)))))


@api_boundary
def leaky_relu(x, negative_slope=0.01):
    """`x` where `x >= 0`, else `negative_slope * x`."""
    x = _inexact("leaky_relu", x)
    return ufuncs.where(ew.ge(x, 0), x, ufuncs.multiply(negative_slope, x))


def _expm1_of_negative_part(x):
    # expm1 of min(x, 0): the positive side never reaches exp, so it cannot overflow.
    return ew.expm1(ew.min(x, 0))


@api_boundary
def elu(x, alpha=1.0):
    """`x` where `x > 0`, else `alpha * (exp(x) - 1)`."""
    x = _inexact("elu", x)
    negative = ufuncs.multiply(alpha, _expm1_of_negative_part(x))
    return ufuncs.where(ew.gt(x, 0), x, negative)


@api_boundary
def celu(x, alpha=1.0):
    """`max(x, 0) + alpha * expm1(min(x, 0) / alpha)`."""
    x = _inexact("celu", x)
    scaled = ufuncs.true_divide(x, alpha)
    return ufuncs.add(ew.max(x, 0), ufuncs.multiply(alpha, _expm1_of_negative_part(scaled)))


@api_boundary
def selu(x):
    """Scaled elu with the self-normalizing constants."""
    x = _inexact("selu", x)
    negative = ew.mul(_SELU_ALPHA, _expm1_of_negative_part(x))
    return ew.mul(_SELU_SCALE, ufuncs.where(ew.gt(x, 0), x, negative))


@api_boundary
def hard_tanh(x):
    """`x` limited to [-1, 1]."""
    (x,) = promote_args("hard_tanh", x)
    return ew.clamp(-1, x, 1)


def _shifted_by_max(name: str, x, axis):
    x = _inexact(name, x)
    largest = reductions.max(x, axis=axis, keepdims=True, initial=-np.inf)
    return ufuncs.subtract(x, largest)


@api_boundary
def softmax(x, axis=-1):
    """`exp(x) / sum(exp(x))` along `axis`, shifted by the maximum for stability.

    >>> softmax(jnp.array([1.0, 1.0]))  # doctest: +SKIP
    Array([0.5, 0.5], dtype=float32)
    """
    unnormalized = ew.exp(_shifted_by_max("softmax", x, axis))
    return ufuncs.true_divide(unnormalized, reductions.sum(unnormalized, axis, keepdims=True))


@api_boundary
def log_softmax(x, axis=-1):
    """`x - logsumexp(x)` along `axis`, computed stably."""
    shifted = _shifted_by_max("log_softmax", x, axis)
    total = reductions.sum(ew.exp(shifted), axis, keepdims=True)
    return ufuncs.subtract(shifted, ew.log(total))


@api_boundary
def standardize(x, axis=-1, mean=None, variance=None, epsilon=1e-5):
    """`(x - mean) / sqrt(variance + epsilon)`, the moments taken along `axis` unless given."""
    x = _inexact("standardize", x)
    if mean is None:
        mean = reductions.mean(x, axis, keepdims=True)
    if variance is None:
        # E[x^2] - E[x]^2, as JAX computes it.
        variance = ufuncs.subtract(
            reductions.mean(ew.integer_pow(x, 2), axis, keepdims=True), ufuncs.square(mean)
        )
    scale = ew.rsqrt(ufuncs.add(variance, epsilon))
    return ufuncs.multiply(ufuncs.subtract(x, mean), scale)


@api_boundary
def one_hot(x, num_classes: int, *, dtype=np.float32, axis=-1):
    """One-hot encoding: a new axis of size `num_classes` with a 1 at each class index.

    Indices outside `[0, num_classes)` (negative ones included) give rows of zeros.

    >>> one_hot(jnp.array([0, 2]), 3)  # doctest: +SKIP
    Array([[1., 0., 0.],
           [0., 0., 1.]], dtype=float32)
    """
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)):
        raise TypeError(
            f"one_hot: num_classes must be a fixed Python int, got {num_classes!r} (at "
            f"{user_location()}). It sets the output shape, so it cannot be traced; pass it as a "
            "static argument under jit."
        )
    if num_classes < 0:
        raise ValueError(
            f"one_hot: num_classes must be non-negative, got {num_classes} (at {user_location()})."
        )
    x = asarray(x)
    ndim = get_aval(x).ndim
    out_axis = reductions.normalize_axis("one_hot", ndim + 1, axis)
    dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, "one_hot: "))
    class_shape = [1] * (ndim + 1)
    class_shape[out_axis] = num_classes
    index_dtype = get_aval(x).dtype
    if index_dtype == np.bool_:
        index_dtype = dtypes.canonicalize_dtype(np.int64)
    classes = broadcasted_iota(index_dtype, class_shape, out_axis)
    hits = ufuncs.equal(shape_ops.expand_dims(x, out_axis), classes)
    return ew.convert_element_type(hits, dtype)


@api_boundary
def dropout(key, rate: float, x):
    """Inverted dropout: each element of `x` is zeroed with probability `rate` and the rest
    are scaled by `1 / (1 - rate)`, so the expected value is `x`. funcgrad's own (jax.nn has
    no dropout); the argument order is Haiku's `dropout(rng, rate, x)`. Consumes `key`.

    >>> dropout(random.PRNGKey(0), 0.5, jnp.ones(4))  # doctest: +SKIP
    Array([0., 0., 2., 2.], dtype=float32)
    """
    from funcgrad import random

    if isinstance(rate, bool) or not isinstance(rate, (int, float, np.floating, np.integer)):
        raise TypeError(
            f"dropout: rate must be a Python float in [0, 1), got {rate!r} (at {user_location()})"
        )
    if not 0 <= rate < 1:
        raise ValueError(
            f"dropout: rate must be in [0, 1), got {rate} (at {user_location()}); rate is the "
            "probability of dropping an element."
        )
    x = _inexact("dropout", x)
    keep = random.bernoulli(key, 1.0 - rate, get_aval(x).shape)
    kept = ufuncs.divide(x, np.array(1.0 - rate, get_aval(x).dtype))
    return ufuncs.where(keep, kept, np.array(0, get_aval(x).dtype))
