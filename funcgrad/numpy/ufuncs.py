"""Elementwise funcgrad.numpy functions: promote, broadcast, then lax primitives.

Most functions are one primitive after JAX's type promotion; the rest are short
compositions chosen as jax.numpy chooses them (`square` is `integer_pow` with y=2,
`clip` is `maximum` then `minimum`, `remainder` corrects the sign of C's `rem`,
`log2` divides `log` by log(2)), so every transform sees only the small primitive set.
"""

from __future__ import annotations

import math

import ml_dtypes
import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax.operands import scalar_array
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import (
    broadcast_arrays,
    broadcast_to_shape,
    default_float,
    promote_args,
    promote_dtypes,
)

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "positive",
    "maximum",
    "minimum",
    "fmax",
    "fmin",
    "clip",
    "exp",
    "exp2",
    "expm1",
    "log",
    "log2",
    "log10",
    "log1p",
    "logaddexp",
    "logaddexp2",
    "sqrt",
    "cbrt",
    "square",
    "reciprocal",
    "sin",
    "cos",
    "tan",
    "arcsin",
    "arccos",
    "arctan",
    "arctan2",
    "sinh",
    "cosh",
    "tanh",
    "arcsinh",
    "arccosh",
    "arctanh",
    "hypot",
    "deg2rad",
    "rad2deg",
    "degrees",
    "radians",
    "sinc",
    "abs",
    "absolute",
    "fabs",
    "sign",
    "signbit",
    "copysign",
    "heaviside",
    "floor",
    "ceil",
    "trunc",
    "fix",
    "rint",
    "round",
    "around",
    "mod",
    "remainder",
    "fmod",
    "floor_divide",
    "divmod",
    "power",
    "float_power",
    "isnan",
    "isinf",
    "isfinite",
    "isposinf",
    "isneginf",
    "nan_to_num",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "logical_and",
    "logical_or",
    "logical_xor",
    "logical_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "bitwise_not",
    "bitwise_invert",
    "invert",
    "left_shift",
    "right_shift",
    "bitwise_left_shift",
    "bitwise_right_shift",
    "real",
    "imag",
    "conj",
    "conjugate",
    "angle",
    "where",
]


def _named(name: str, doc: str, fun):
    fun.__name__ = fun.__qualname__ = name
    fun.__doc__ = doc
    return api_boundary(fun)


def _kind(x) -> str:
    return dtypes.dtype_kind(get_aval(x).dtype)


def _promote_numeric(name: str, *args):
    """Promote and broadcast; bool becomes the default integer type (as in JAX)."""
    args = promote_args(name, *args)
    if _kind(args[0]) == "b":
        int_dtype = dtypes.canonicalize_dtype(np.int64)
        args = [ew.convert_element_type(x, int_dtype) for x in args]
    return args


def _require(name: str, args, kinds: str, what: str, fix: str) -> None:
    for x in args:
        aval = get_aval(x)
        if dtypes.dtype_kind(aval.dtype) not in kinds:
            raise TypeError(
                f"{name}: {what}, got {aval.dtype.name} (operand {aval.str_short()}, at "
                f"{user_location()}). {fix}"
            )


def _no_complex(name: str, *args) -> None:
    _require(name, args, "biuf", "complex values are not supported", "Pass real values.")


def _full_like(x, value, dtype=None):
    aval = get_aval(x)
    return broadcast_to_shape(scalar_array(value, np.dtype(dtype or aval.dtype), False), aval.shape)


def _broadcast_promote(name: str, *args, inexact: bool = False):
    """Promote, then broadcast every operand (rank-0 ones too) to the common shape."""
    return broadcast_arrays(name, *promote_args(name, *args, inexact=inexact))


def _constant(value, like):
    """`value` as a strong 0-d array of `like`'s dtype (broadcast by lax)."""
    return scalar_array(value, get_aval(like).dtype, False)


# ---------------------------------------------------------------------------------------
# Factories for the one-primitive functions


def _binary(name: str, primitive, doc: str):
    def ufunc(x, y, /):
        return primitive.bind(*promote_args(name, x, y))

    return _named(name, doc, ufunc)


def _binary_inexact(name: str, primitive, doc: str):
    def ufunc(x, y, /):
        return primitive.bind(*promote_args(name, x, y, inexact=True))

    return _named(name, doc, ufunc)


def _unary_inexact(name: str, primitive, doc: str):
    def ufunc(x, /):
        return primitive.bind(*promote_args(name, x, inexact=True))

    return _named(name, doc, ufunc)


def _bool_or_numeric(name: str, numeric, logical, doc: str):
    # JAX's add and multiply of two bools are logical or / and, not errors.
    def ufunc(x, y, /):
        x, y = promote_args(name, x, y)
        return (logical if _kind(x) == "b" else numeric).bind(x, y)

    return _named(name, doc, ufunc)


add = _bool_or_numeric("add", ew.add_p, ew.or_p, "Elementwise `x + y` (logical or for bools).")
multiply = _bool_or_numeric(
    "multiply", ew.mul_p, ew.and_p, "Elementwise `x * y` (logical and for bools)."
)
subtract = _binary("subtract", ew.sub_p, "Elementwise `x - y`.")
maximum = _binary("maximum", ew.max_p, "Elementwise maximum (NaN propagates).")
minimum = _binary("minimum", ew.min_p, "Elementwise minimum (NaN propagates).")
equal = _binary("equal", ew.eq_p, "Elementwise `x == y`.")
not_equal = _binary("not_equal", ew.ne_p, "Elementwise `x != y`.")
less = _binary("less", ew.lt_p, "Elementwise `x < y`.")
less_equal = _binary("less_equal", ew.le_p, "Elementwise `x <= y`.")
greater = _binary("greater", ew.gt_p, "Elementwise `x > y`.")
greater_equal = _binary("greater_equal", ew.ge_p, "Elementwise `x >= y`.")
arctan2 = _binary_inexact("arctan2", ew.atan2_p, "Elementwise angle of the point (x2, x1).")
float_power = _binary_inexact("float_power", ew.pow_p, "Elementwise `x ** y` in floating point.")
exp = _unary_inexact("exp", ew.exp_p, "Elementwise `e**x`.")
exp2 = _unary_inexact("exp2", ew.exp2_p, "Elementwise `2**x`.")
expm1 = _unary_inexact("expm1", ew.expm1_p, "Elementwise `e**x - 1`, accurate near zero.")
log = _unary_inexact("log", ew.log_p, "Elementwise natural logarithm.")
log1p = _unary_inexact("log1p", ew.log1p_p, "Elementwise `log(1 + x)`, accurate near zero.")
sqrt = _unary_inexact("sqrt", ew.sqrt_p, "Elementwise square root.")
cbrt = _unary_inexact("cbrt", ew.cbrt_p, "Elementwise real cube root.")
sin = _unary_inexact("sin", ew.sin_p, "Elementwise sine.")
cos = _unary_inexact("cos", ew.cos_p, "Elementwise cosine.")
tan = _unary_inexact("tan", ew.tan_p, "Elementwise tangent.")
arcsin = _unary_inexact("arcsin", ew.asin_p, "Elementwise inverse sine.")
arccos = _unary_inexact("arccos", ew.acos_p, "Elementwise inverse cosine.")
arctan = _unary_inexact("arctan", ew.atan_p, "Elementwise inverse tangent.")
sinh = _unary_inexact("sinh", ew.sinh_p, "Elementwise hyperbolic sine.")
cosh = _unary_inexact("cosh", ew.cosh_p, "Elementwise hyperbolic cosine.")
tanh = _unary_inexact("tanh", ew.tanh_p, "Elementwise hyperbolic tangent.")
arcsinh = _unary_inexact("arcsinh", ew.asinh_p, "Elementwise inverse hyperbolic sine.")
arccosh = _unary_inexact("arccosh", ew.acosh_p, "Elementwise inverse hyperbolic cosine.")
arctanh = _unary_inexact("arctanh", ew.atanh_p, "Elementwise inverse hyperbolic tangent.")


@api_boundary
def true_divide(x, y, /):
    """Elementwise `x / y`; integer operands give the default float type."""
    return ew.div_p.bind(*promote_args("true_divide", x, y, inexact=True))


divide = true_divide


@api_boundary
def negative(x, /):
    """Elementwise `-x`."""
    (x,) = promote_args("negative", x)
    return ew.neg_p.bind(x)


@api_boundary
def positive(x, /):
    """Elementwise `+x` (the value itself)."""
    (x,) = promote_args("positive", asarray(x))
    return x


# ---------------------------------------------------------------------------------------
# Logarithms, powers and friends


@api_boundary
def log2(x, /):
    """Elementwise base-2 logarithm."""
    (x,) = promote_args("log2", x, inexact=True)
    return ew.div(ew.log(x), math.log(2))


@api_boundary
def log10(x, /):
    """Elementwise base-10 logarithm."""
    (x,) = promote_args("log10", x, inexact=True)
    return ew.div(ew.log(x), math.log(10))


def _logaddexp(name: str, x, y, exp_fun, log1p_scale):
    x, y = promote_args(name, x, y, inexact=True)
    _no_complex(name, x)
    largest = ew.max(x, y)
    delta = ew.sub(x, y)
    # Equal infinities make delta NaN; their sum is then the answer (inf or -inf).
    shifted = ew.add(largest, ew.mul(ew.log1p(exp_fun(ew.neg(ew.abs(delta)))), log1p_scale))
    return ew.select(ew.ne(delta, delta), ew.add(x, y), shifted)


@api_boundary
def logaddexp(x1, x2, /):
    """Elementwise `log(exp(x1) + exp(x2))`, without overflow.

    >>> logaddexp(1000.0, 1000.0)  # doctest: +SKIP
    Array(1000.6931, dtype=float32, weak_type=True)
    """
    return _logaddexp("logaddexp", x1, x2, ew.exp, 1.0)


@api_boundary
def logaddexp2(x1, x2, /):
    """Elementwise `log2(2**x1 + 2**x2)`, without overflow."""
    return _logaddexp("logaddexp2", x1, x2, ew.exp2, 1 / math.log(2))


@api_boundary
def square(x, /):
    """Elementwise `x * x`."""
    (x,) = _promote_numeric("square", x)
    return ew.integer_pow(x, 2)


@api_boundary
def reciprocal(x, /):
    """Elementwise `1 / x` (integers give the default float type)."""
    (x,) = promote_args("reciprocal", x, inexact=True)
    return ew.integer_pow(x, -1)


def _static_int_exponent(x2):
    """The exponent as a Python int when it is a fixed integer (Python or NumPy scalar)."""
    if isinstance(x2, (int, np.integer)) and not isinstance(x2, (bool, np.bool_)):
        return int(x2)
    return None


def _negative_integer_power_error(x1, exponent) -> ValueError:
    return ValueError(
        f"power: integers cannot be raised to negative integer powers (base "
        f"{get_aval(x1).str_short()}, exponent {exponent}, at {user_location()}). Convert the "
        "base to a float first, e.g. jnp.power(x.astype(jnp.float32), y)."
    )


def _integer_power(base, exponent):
    # Binary exponentiation over the exponent's low 6 bits, as JAX does: any larger
    # exponent overflows every base but -1, 0 and 1, whose powers the low bit decides.
    one = _constant(1, base)
    result = ew.select(
        ew.bitwise_and(ew.eq(base, 0), ew.ne(exponent, 0)),
        _full_like(base, 0),
        _full_like(base, 1),
    )
    for _ in range(6):
        odd = ew.ne(ew.bitwise_and(exponent, one), 0)
        result = ew.select(odd, ew.mul(result, base), result)
        base = ew.mul(base, base)
        exponent = ew.shift_right_logical(exponent, one)
    return result


@api_boundary
def power(x1, x2, /):
    """Elementwise `x1 ** x2`. Integer operands give integers (negative powers raise);
    a fixed integer exponent computes by repeated multiplication (`integer_pow`).

    >>> power(jnp.arange(4), 2)  # doctest: +SKIP
    Array([0, 1, 4, 9], dtype=int32)
    """
    exponent = _static_int_exponent(x2)
    if exponent is not None:
        (x1,) = _promote_numeric("power", x1)
        if exponent < 0 and dtypes.is_integer(get_aval(x1).dtype):
            raise _negative_integer_power_error(x1, exponent)
        return ew.integer_pow(x1, exponent)
    x1, x2 = _promote_numeric("power", x1, x2)
    if dtypes.is_integer(get_aval(x1).dtype):
        if not isinstance(x2, Tracer) and _kind(x2) == "i":
            values = np.asarray(x2)
            if (values < 0).any():
                raise _negative_integer_power_error(x1, values.min())
        return _integer_power(*broadcast_arrays("power", x1, x2))
    return ew.pow_p.bind(x1, x2)


# ---------------------------------------------------------------------------------------
# Absolute values, signs, rounding


@api_boundary
def abs(x, /):
    """Elementwise absolute value (the magnitude, a real number, for complex `x`)."""
    (x,) = promote_args("abs", asarray(x))
    if _kind(x) in "bu":
        return x
    return ew.abs_p.bind(x)


absolute = abs


@api_boundary
def fabs(x, /):
    """Elementwise absolute value in floating point."""
    (x,) = promote_args("fabs", x, inexact=True)
    _no_complex("fabs", x)
    return ew.abs_p.bind(x)


@api_boundary
def sign(x, /):
    """Elementwise sign: -1, 0 or 1 (`x / |x|` for complex; NaN stays NaN)."""
    (x,) = promote_args("sign", x)
    _require("sign", [x], "iufc", "bool has no sign", "Convert with .astype(jnp.int32).")
    return ew.sign_p.bind(x)


@api_boundary
def signbit(x, /):
    """Elementwise test of the sign bit (True also for -0.0 and negative NaN)."""
    (x,) = promote_args("signbit", x)
    kind = _kind(x)
    if kind == "b":
        return _full_like(x, False, np.bool_)
    if kind in "iu":
        return ew.lt(x, _constant(0, x))
    _no_complex("signbit", x)
    dtype = get_aval(x).dtype
    bits = ew.bitcast_convert_type(x, np.dtype(f"i{dtype.itemsize}"))
    return ew.lt(bits, _constant(0, bits))


@api_boundary
def copysign(x1, x2, /):
    """Elementwise `|x1|` with the sign of `x2`."""
    x1, x2 = promote_args("copysign", x1, x2, inexact=True)
    _no_complex("copysign", x1)
    return where(signbit(x2), ew.neg(ew.abs(x1)), ew.abs(x1))


@api_boundary
def heaviside(x1, x2, /):
    """Elementwise step function: 0 below zero, 1 above, `x2` at zero."""
    x1, x2 = _broadcast_promote("heaviside", x1, x2, inexact=True)
    zero, one = _full_like(x1, 0), _full_like(x1, 1)
    return ew.select(ew.lt(x1, zero), zero, ew.select(ew.gt(x1, zero), one, x2))


def _integral_unchanged(name: str, x, rounding):
    (x,) = promote_args(name, asarray(x))
    if _kind(x) in "biu":
        return x
    _no_complex(name, x)
    return rounding(x)


@api_boundary
def floor(x, /):
    """Elementwise floor (integers are returned unchanged)."""
    return _integral_unchanged("floor", x, ew.floor)


@api_boundary
def ceil(x, /):
    """Elementwise ceiling (integers are returned unchanged)."""
    return _integral_unchanged("ceil", x, ew.ceil)


def _trunc(x):
    return ew.select(ew.lt(x, _constant(0, x)), ew.ceil(x), ew.floor(x))


@api_boundary
def trunc(x, /):
    """Elementwise rounding toward zero (integers are returned unchanged)."""
    return _integral_unchanged("trunc", x, _trunc)


@api_boundary
def fix(x, out=None):
    """Elementwise rounding toward zero, as `trunc`."""
    return _integral_unchanged("fix", x, _trunc)


def _rounded_parts(x, round_real):
    if _kind(x) == "c":
        return ew.complex(round_real(ew.real(x)), round_real(ew.imag(x)))
    return round_real(x)


@api_boundary
def rint(x, /):
    """Elementwise rounding to the nearest whole number, ties to even; integers become
    the default float type."""
    (x,) = promote_args("rint", x)
    if _kind(x) in "biu":
        return ew.convert_element_type(x, default_float())
    return _rounded_parts(x, lambda v: ew.round(v, ew.RoundingMethod.TO_NEAREST_EVEN))


@api_boundary
def round(a, decimals: int = 0, out=None):
    """Round to `decimals` decimal places, ties to even (as NumPy and JAX).

    >>> round(jnp.array([0.5, 1.5, 2.5]))  # doctest: +SKIP
    Array([0., 2., 2.], dtype=float32)
    """
    if out is not None:
        raise NotImplementedError(
            f"round: the out argument is not supported (at {user_location()}); funcgrad arrays "
            "are immutable, use the returned array."
        )
    if isinstance(decimals, bool) or not isinstance(decimals, (int, np.integer)):
        raise TypeError(f"round: decimals must be an int, got {decimals!r} (at {user_location()}).")
    (a,) = promote_args("round", asarray(a))
    kind = _kind(a)
    if kind in "biu":
        if decimals < 0:
            raise NotImplementedError(
                f"round: integer input with decimals={decimals} < 0 is not implemented (at "
                f"{user_location()}); convert to float first."
            )
        return a

    def round_real(v):
        if decimals == 0:
            return ew.round(v, ew.RoundingMethod.TO_NEAREST_EVEN)
        dtype = get_aval(v).dtype
        # Scaling float16 would overflow or lose digits; scale in float32, as JAX does.
        wide = ew.convert_element_type(v, np.float32) if dtype.itemsize == 2 else v
        factor = 10.0**decimals
        scaled = ew.round(ew.mul(wide, factor), ew.RoundingMethod.TO_NEAREST_EVEN)
        rounded = ew.div(scaled, factor)
        return ew.convert_element_type(rounded, dtype) if dtype.itemsize == 2 else rounded

    return _rounded_parts(a, round_real)


around = round


# ---------------------------------------------------------------------------------------
# Division and remainders


def _float_divmod(x1, x2):
    # Python's float divmod: a remainder with the divisor's sign, a quotient consistent
    # with it, rounded to the whole number it is up to rounding error.
    mod = ew.rem(x1, x2)
    quotient = ew.div(ew.sub(x1, mod), x2)
    fix_sign = ew.bitwise_and(ew.ne(mod, 0), ew.ne(ew.sign(x2), ew.sign(mod)))
    mod = ew.select(fix_sign, ew.add(mod, x2), mod)
    quotient = ew.select(fix_sign, ew.sub(quotient, 1), quotient)
    return ew.round(quotient), mod


def _nonzero_divisor(x2):
    # Integer division by zero is defined (as in JAX): the remainder is 0.
    return ew.select(ew.eq(x2, 0), _full_like(x2, 1), x2)


def _division_operands(name: str, x1, x2):
    x1, x2 = _promote_numeric(name, x1, x2)
    _require(
        name,
        [x1],
        "iuf",
        "complex values have no floor division or remainder",
        "Use real operands.",
    )
    return x1, x2


@api_boundary
def remainder(x1, x2, /):
    """Elementwise remainder of floor division: it has the sign of `x2` (Python's `%`)."""
    x1, x2 = _division_operands("remainder", x1, x2)
    if _kind(x2) in "iu":
        x2 = _nonzero_divisor(x2)
    truncated = ew.rem(x1, x2)
    zero = _constant(0, truncated)
    wrong_sign = ew.bitwise_and(
        ew.ne(ew.lt(truncated, zero), ew.lt(x2, zero)), ew.ne(truncated, zero)
    )
    return ew.select(wrong_sign, ew.add(truncated, x2), truncated)


mod = remainder


@api_boundary
def fmod(x1, x2, /):
    """Elementwise remainder of truncating division: it has the sign of `x1` (C's fmod)."""
    x1, x2 = _division_operands("fmod", x1, x2)
    if _kind(x2) in "iu":
        x2 = _nonzero_divisor(x2)
    return ew.rem(x1, x2)


def _integer_floor_divide(x1, x2):
    if _kind(x1) == "u":
        return ew.div(x1, x2)
    quotient = ew.div(x1, x2)
    inexact_negative = ew.bitwise_and(
        ew.ne(ew.sign(x1), ew.sign(x2)), ew.ne(ew.rem(x1, x2), _constant(0, x1))
    )
    return ew.select(inexact_negative, ew.sub(quotient, 1), quotient)


@api_boundary
def floor_divide(x1, x2, /):
    """Elementwise `x1 // x2`: the quotient rounded toward -inf."""
    x1, x2 = _division_operands("floor_divide", x1, x2)
    if _kind(x1) in "iu":
        return _integer_floor_divide(x1, x2)
    return _float_divmod(x1, x2)[0]


@api_boundary
def divmod(x1, x2, /):
    """`(floor_divide(x1, x2), remainder(x1, x2))`."""
    x1, x2 = _division_operands("divmod", x1, x2)
    if _kind(x1) in "iu":
        return floor_divide(x1, x2), remainder(x1, x2)
    return _float_divmod(x1, x2)


# ---------------------------------------------------------------------------------------
# Minimum, maximum, clip, hypot, angles


@api_boundary
def fmax(x1, x2, /):
    """Elementwise maximum ignoring NaN (NaN only where both are NaN)."""
    x1, x2 = _broadcast_promote("fmax", x1, x2)
    return ew.select(ew.bitwise_or(ew.gt(x1, x2), ew.ne(x2, x2)), x1, x2)


@api_boundary
def fmin(x1, x2, /):
    """Elementwise minimum ignoring NaN (NaN only where both are NaN)."""
    x1, x2 = _broadcast_promote("fmin", x1, x2)
    return ew.select(ew.bitwise_or(ew.lt(x1, x2), ew.ne(x2, x2)), x1, x2)


_UNSET = object()


@api_boundary
def clip(arr=None, /, min=None, max=None, *, a=_UNSET, a_min=_UNSET, a_max=_UNSET):
    """`arr` limited to `[min, max]` elementwise (either bound may be None).

    The NumPy 1.x spellings `a`, `a_min` and `a_max` are accepted too.

    >>> clip(jnp.array([-2.0, 0.5, 3.0]), 0.0, 1.0)  # doctest: +SKIP
    Array([0. , 0.5, 1. ], dtype=float32)
    """
    for old, new, value in (("a", "arr", a), ("a_min", "min", a_min), ("a_max", "max", a_max)):
        if value is _UNSET:
            continue
        current = {"arr": arr, "min": min, "max": max}[new]
        if current is not None:
            raise TypeError(
                f"clip: both {new} and {old} were given (at {user_location()}); pass only {new}."
            )
        if new == "arr":
            arr = value
        elif new == "min":
            min = value
        else:
            max = value
    if arr is None:
        raise TypeError(f"clip: no array to clip was given (at {user_location()}).")
    for value in (arr, min, max):
        if value is not None and _kind(value) == "c":
            raise ValueError(
                f"clip: complex values have no order and cannot be clipped (at "
                f"{user_location()}). Clip the real and imaginary parts separately."
            )
    if min is not None:
        arr = maximum(min, arr)
    if max is not None:
        arr = minimum(max, arr)
    return asarray(arr)


@api_boundary
def hypot(x1, x2, /):
    """Elementwise `sqrt(x1**2 + x2**2)`, without overflow or underflow."""
    x1, x2 = promote_args("hypot", x1, x2, inexact=True)
    _no_complex("hypot", x1)
    x1, x2 = ew.abs(x1), ew.abs(x2)
    infinite = ew.bitwise_or(ew.eq(x1, np.inf), ew.eq(x2, np.inf))
    large, small = ew.max(x1, x2), ew.min(x1, x2)
    safe_large = ew.select(ew.eq(large, 0), _full_like(large, 1), large)
    ratio = ew.div(small, safe_large)
    scaled = ew.mul(large, ew.sqrt(ew.add(ew.mul(ratio, ratio), 1.0)))
    out = ew.select(ew.eq(large, 0), large, scaled)
    return ew.select(infinite, _full_like(out, np.inf), out)


@api_boundary
def deg2rad(x, /):
    """Degrees to radians."""
    (x,) = promote_args("deg2rad", x, inexact=True)
    return ew.mul(x, np.pi / 180)


@api_boundary
def rad2deg(x, /):
    """Radians to degrees."""
    (x,) = promote_args("rad2deg", x, inexact=True)
    return ew.mul(x, 180 / np.pi)


radians = deg2rad
degrees = rad2deg


@api_boundary
def sinc(x, /):
    """Elementwise normalized sinc, `sin(pi x) / (pi x)`, with sinc(0) = 1."""
    (x,) = promote_args("sinc", x, inexact=True)
    at_zero = ew.eq(x, 0)
    pi_x = ew.mul(x, np.pi)
    safe = ew.select(at_zero, _full_like(x, 1), pi_x)
    return ew.select(at_zero, _full_like(x, 1), ew.div(ew.sin(safe), safe))


# ---------------------------------------------------------------------------------------
# Floating-point classification


@api_boundary
def isnan(x, /):
    """Elementwise test for NaN."""
    (x,) = promote_args("isnan", x)
    return ew.ne(x, x)


@api_boundary
def isinf(x, /):
    """Elementwise test for positive or negative infinity."""
    (x,) = promote_args("isinf", x)
    kind = _kind(x)
    if kind == "f":
        return ew.eq(ew.abs(x), np.inf)
    if kind == "c":
        return ew.bitwise_or(isinf(ew.real(x)), isinf(ew.imag(x)))
    return _full_like(x, False, np.bool_)


@api_boundary
def isfinite(x, /):
    """Elementwise test for a finite value (not inf or NaN)."""
    (x,) = promote_args("isfinite", x)
    kind = _kind(x)
    if kind == "f":
        return ew.is_finite(x)
    if kind == "c":
        return ew.bitwise_and(ew.is_finite(ew.real(x)), ew.is_finite(ew.imag(x)))
    return _full_like(x, True, np.bool_)


def _is_signed_inf(name: str, x, value: float):
    (x,) = promote_args(name, x)
    kind = _kind(x)
    if kind == "c":
        raise ValueError(
            f"{name}: complex values are not supported (at {user_location()}); test the real "
            "and imaginary parts separately."
        )
    if kind != "f":
        return _full_like(x, False, np.bool_)
    return ew.eq(x, value)


@api_boundary
def isposinf(x, /):
    """Elementwise test for +inf."""
    return _is_signed_inf("isposinf", x, np.inf)


@api_boundary
def isneginf(x, /):
    """Elementwise test for -inf."""
    return _is_signed_inf("isneginf", x, -np.inf)


def _finite_fill(x, fill, default):
    value = default if fill is None else fill
    return _full_like(x, value)


@api_boundary
def nan_to_num(x, copy: bool = True, nan=0.0, posinf=None, neginf=None):
    """NaN replaced by `nan`, infinities by `posinf`/`neginf` (default: the largest and
    smallest finite values of the dtype)."""
    (x,) = promote_args("nan_to_num", asarray(x))
    kind = _kind(x)
    if kind in "biu":
        return x
    if kind == "c":
        parts = [ew.real(x), ew.imag(x)]
        real_part, imag_part = (nan_to_num(p, nan=nan, posinf=posinf, neginf=neginf) for p in parts)
        return ew.complex(real_part, imag_part)
    info = ml_dtypes.finfo(get_aval(x).dtype)
    out = ew.select(ew.ne(x, x), _full_like(x, nan), x)
    out = ew.select(ew.eq(out, np.inf), _finite_fill(x, posinf, info.max), out)
    return ew.select(ew.eq(out, -np.inf), _finite_fill(x, neginf, info.min), out)


# ---------------------------------------------------------------------------------------
# Logic and bits


def _as_bool(x):
    return x if _kind(x) == "b" else ew.ne(x, _constant(0, x))


def _logical(name: str, primitive, doc: str):
    def ufunc(x1, x2, /):
        x1, x2 = promote_args(name, x1, x2)
        return primitive.bind(_as_bool(x1), _as_bool(x2))

    return _named(name, doc, ufunc)


logical_and = _logical("logical_and", ew.and_p, "Elementwise truth of `x1 and x2`.")
logical_or = _logical("logical_or", ew.or_p, "Elementwise truth of `x1 or x2`.")
logical_xor = _logical("logical_xor", ew.xor_p, "Elementwise truth of `x1 != x2` as bools.")


@api_boundary
def logical_not(x, /):
    """Elementwise truth of `not x`."""
    (x,) = promote_args("logical_not", x)
    return ew.not_p.bind(_as_bool(x))


def _integer_operands(name: str, *args):
    args = promote_args(name, *args)
    _require(
        name,
        args,
        "biu",
        "only integer and bool operands are accepted",
        "Convert with .astype(jnp.int32), or use the logical_* functions for truth values.",
    )
    return args


def _bitwise(name: str, primitive, doc: str):
    def ufunc(x1, x2, /):
        return primitive.bind(*_integer_operands(name, x1, x2))

    return _named(name, doc, ufunc)


bitwise_and = _bitwise("bitwise_and", ew.and_p, "Elementwise bitwise AND.")
bitwise_or = _bitwise("bitwise_or", ew.or_p, "Elementwise bitwise OR.")
bitwise_xor = _bitwise("bitwise_xor", ew.xor_p, "Elementwise bitwise XOR.")


@api_boundary
def invert(x, /):
    """Elementwise bitwise NOT (logical NOT for bools)."""
    return ew.not_p.bind(*_integer_operands("invert", x))


bitwise_not = bitwise_invert = invert


def _shift_operands(name: str, x1, x2):
    x1, x2 = _integer_operands(name, x1, x2)
    if _kind(x1) == "b":
        raise TypeError(
            f"{name}: bool operands cannot be shifted (at {user_location()}); convert with "
            ".astype(jnp.int32)."
        )
    return x1, x2


@api_boundary
def left_shift(x1, x2, /):
    """Elementwise `x1 << x2`."""
    return ew.shift_left_p.bind(*_shift_operands("left_shift", x1, x2))


@api_boundary
def right_shift(x1, x2, /):
    """Elementwise `x1 >> x2` (arithmetic for signed integers, logical for unsigned)."""
    x1, x2 = _shift_operands("right_shift", x1, x2)
    if _kind(x1) == "u":
        return ew.shift_right_logical_p.bind(x1, x2)
    return ew.shift_right_arithmetic_p.bind(x1, x2)


bitwise_left_shift = left_shift
bitwise_right_shift = right_shift


# ---------------------------------------------------------------------------------------
# Complex parts


@api_boundary
def real(val, /):
    """The real part (the value itself for real input)."""
    (val,) = promote_args("real", asarray(val))
    return ew.real(val) if _kind(val) == "c" else val


@api_boundary
def imag(val, /):
    """The imaginary part (zeros for real input)."""
    (val,) = promote_args("imag", asarray(val))
    return ew.imag(val) if _kind(val) == "c" else _full_like(val, 0)


@api_boundary
def conjugate(x, /):
    """The complex conjugate (the value itself for real input)."""
    (x,) = promote_args("conjugate", asarray(x))
    return ew.conj(x) if _kind(x) == "c" else x


conj = conjugate


@api_boundary
def angle(z, deg: bool = False):
    """The counterclockwise angle of complex `z` from the positive real axis."""
    (z,) = promote_args("angle", asarray(z))
    if _kind(z) == "c":
        re, im = ew.real(z), ew.imag(z)
    else:
        (re,) = promote_args("angle", z, inexact=True)
        im = _full_like(re, 0)
    out = ew.atan2(im, re)
    return rad2deg(out) if deg else out


# ---------------------------------------------------------------------------------------
# Selection


@api_boundary
def where(condition, x, y, /):
    """`x` where `condition` else `y`, elementwise, with broadcasting and promotion.

    Both branches are computed, and under `grad` both are differentiated: a branch that is
    NaN or infinite where it is not selected (sqrt or log of a non-positive number) makes
    the gradient NaN. Guard that branch's input with a second where:

    >>> safe = jnp.where(x > 0, x, 1.0)                            # doctest: +SKIP
    >>> jnp.where(x > 0, jnp.sqrt(safe), 0.0)                      # doctest: +SKIP
    """
    cond_aval = get_aval(condition)
    if cond_aval.dtype.kind != "b":
        condition = ew.ne(condition, 0)
    x, y = promote_dtypes(x, y)
    condition, x, y = broadcast_arrays("where", condition, x, y)
    return ew.select_n_p.bind(condition, y, x)


def reflected(fun):
    """`fun` with its two operands swapped: the method behind `__radd__` and friends."""

    def method(self, other):
        return fun(other, self)

    return method


def _round_method(self, decimals: int = 0, out=None):
    return round(self, decimals, out)


def _clip_method(self, min=None, max=None):
    return clip(self, min, max)


# Operators of Array and tracers (installed by array_methods).
ARRAY_METHODS = {
    "__add__": add,
    "__radd__": reflected(add),
    "__sub__": subtract,
    "__rsub__": reflected(subtract),
    "__mul__": multiply,
    "__rmul__": reflected(multiply),
    "__truediv__": true_divide,
    "__rtruediv__": reflected(true_divide),
    "__floordiv__": floor_divide,
    "__rfloordiv__": reflected(floor_divide),
    "__mod__": remainder,
    "__rmod__": reflected(remainder),
    "__divmod__": divmod,
    "__rdivmod__": reflected(divmod),
    "__pow__": power,
    "__rpow__": reflected(power),
    "__neg__": negative,
    "__pos__": positive,
    "__abs__": abs,
    "__invert__": invert,
    "__and__": bitwise_and,
    "__rand__": reflected(bitwise_and),
    "__or__": bitwise_or,
    "__ror__": reflected(bitwise_or),
    "__xor__": bitwise_xor,
    "__rxor__": reflected(bitwise_xor),
    "__lshift__": left_shift,
    "__rlshift__": reflected(left_shift),
    "__rshift__": right_shift,
    "__rrshift__": reflected(right_shift),
    "__eq__": equal,
    "__ne__": not_equal,
    "__lt__": less,
    "__le__": less_equal,
    "__gt__": greater,
    "__ge__": greater_equal,
    "round": _round_method,
    "clip": _clip_method,
    "conj": conjugate,
    "conjugate": conjugate,
    "real": property(real),
    "imag": property(imag),
}
