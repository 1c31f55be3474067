"""funcgrad.scipy.special: special functions, as `jax.scipy.special`.

Each is a short composition of elementwise primitives (erf, lgamma, logistic, ...) and,
for `logsumexp`, reductions, so every transform sees only primitives. Integer and bool
inputs compute in the default float type.
"""

from __future__ import annotations

import numpy as np

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary
from funcgrad.lax import elementwise as ew
from funcgrad.lax.shapes import reshape
from funcgrad.numpy import reductions, ufuncs
from funcgrad.numpy.promotion import broadcast_arrays, promote_args

__all__ = [
    "logsumexp",
    "erf",
    "erfc",
    "erfinv",
    "expit",
    "logit",
    "gammaln",
    "digamma",
    "polygamma",
    "xlogy",
    "xlog1py",
    "entr",
]


def _unary(name: str, fun, doc: str):
    @api_boundary
    def special(x, /):
        (x,) = promote_args(name, x, inexact=True)
        return fun(x)

    special.__name__ = special.__qualname__ = name
    special.__doc__ = doc
    return special


erf = _unary(
    "erf",
    ew.erf,
    "The error function.\n\n"
    ">>> erf(0.5)  # doctest: +SKIP\n"
    "Array(0.5204999, dtype=float32, weak_type=True)",
)
erfc = _unary("erfc", ew.erfc, "The complementary error function `1 - erf(x)`.")
erfinv = _unary("erfinv", ew.erf_inv, "The inverse of `erf` on (-1, 1); +-inf at +-1.")
expit = _unary("expit", ew.logistic, "The logistic sigmoid `1 / (1 + exp(-x))`.")
gammaln = _unary("gammaln", ew.lgamma, "The log of the absolute value of the gamma function.")
digamma = _unary("digamma", ew.digamma, "The digamma function, the derivative of `gammaln`.")


@api_boundary
def polygamma(n, x, /):
    """The n-th derivative of `digamma` (n a non-negative integer)."""
    n_value, x = promote_args("polygamma", n, x, inexact=True)
    return ew.polygamma(n_value, x)


@api_boundary
def logit(x, /):
    """The inverse of `expit`: `log(x / (1 - x))`."""
    (x,) = promote_args("logit", x, inexact=True)
    return ew.log(ew.div(x, ew.sub(1, x)))


def _x_log(name: str, x, y, log_fun):
    # Zero where x == 0, even where log(y) is -inf or NaN.
    x, y = broadcast_arrays(name, *promote_args(name, x, y, inexact=True))
    product = ew.mul(x, log_fun(y))
    return ufuncs.where(ew.eq(x, 0), 0, product)


@api_boundary
def xlogy(x, y, /):
    """`x * log(y)`, defined as 0 where `x == 0`."""
    return _x_log("xlogy", x, y, ew.log)


@api_boundary
def xlog1py(x, y, /):
    """`x * log1p(y)`, defined as 0 where `x == 0`."""
    return _x_log("xlog1py", x, y, ew.log1p)


@api_boundary
def entr(x, /):
    """Elementwise entropy term: `-x log x` for x > 0, 0 at 0, -inf for x < 0."""
    (x,) = promote_args("entr", x, inexact=True)
    return ufuncs.where(ew.lt(x, 0), -np.inf, ew.neg(_x_log("entr", x, x, ew.log)))


@api_boundary
def logsumexp(a, axis=None, b=None, keepdims: bool = False, return_sign: bool = False):
    """`log(sum(b * exp(a)))` over `axis`, computed stably by shifting by the maximum.

    With `return_sign`, returns `(log|sum|, sign(sum))`; otherwise a negative sum gives NaN.
    -inf entries contribute nothing; all of them (or an empty axis) give -inf.

    >>> logsumexp(jnp.array([1000.0, 1000.0]))  # doctest: +SKIP
    Array(1000.6931, dtype=float32)
    """
    if b is None:
        (a,) = promote_args("logsumexp", a, inexact=True)
    else:
        a, b = broadcast_arrays("logsumexp", *promote_args("logsumexp", a, b, inexact=True))
        a = ufuncs.where(ew.ne(b, 0), a, -np.inf)  # zero weights drop their terms
    axes = reductions.normalize_axes("logsumexp", get_aval(a).ndim, axis)
    largest = reductions.max(a, axis=axes, keepdims=True, initial=-np.inf)
    # An infinite maximum cannot be subtracted; shifting by 0 then gives the right answer.
    largest = ufuncs.where(ew.is_finite(largest), largest, 0)
    terms = ew.exp(ufuncs.subtract(a, largest))
    if b is not None:
        terms = ew.mul(terms, b)
    total = reductions.sum(terms, axis=axes, keepdims=keepdims)
    largest = reshape(largest, get_aval(total).shape)
    sign = ew.sign(total)
    out = ew.add(ew.log(ew.abs(total)), largest)
    if return_sign:
        return out, sign
    return ufuncs.where(ew.lt(sign, 0), np.nan, out)
