"""Elementwise primitives: arithmetic, transcendental and special functions, rounding,
comparisons, bitwise logic and shifts, complex parts, select and dtype conversion.

Their shape rules come from `elementwise_rule`; each impl is the NumPy ufunc applied at
the operands' own dtype. float16 and bfloat16 operands are computed in float32 and
rounded back (NumPy does the same for float16 internally), and the special functions
NumPy lacks (erf, lgamma, digamma, erf_inv) are computed in float64 and rounded back,
which is accurate enough for every narrower float type."""

from __future__ import annotations

import enum
import math

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.interpreters import ad, batching
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import elementwise_rule, shape_error
from funcgrad.tree_util import tree_map

__all__ = [
    "add",
    "sub",
    "mul",
    "div",
    "neg",
    "max",
    "exp",
    "log",
    "tanh",
    "sin",
    "cos",
    "pow",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "select",
    "select_n",
    "convert_element_type",
    "RoundingMethod",
    "sqrt",
    "rsqrt",
    "cbrt",
    "abs",
    "sign",
    "floor",
    "ceil",
    "round",
    "is_finite",
    "exp2",
    "expm1",
    "log1p",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "atan2",
    "rem",
    "min",
    "integer_pow",
    "logistic",
    "erf",
    "erfc",
    "erf_inv",
    "lgamma",
    "digamma",
    "bitwise_not",
    "bitwise_and",
    "bitwise_or",
    "bitwise_xor",
    "shift_left",
    "shift_right_arithmetic",
    "shift_right_logical",
    "population_count",
    "nextafter",
    "clamp",
    "real",
    "imag",
    "conj",
    "complex",
    "bitcast_convert_type",
    "polygamma",
    "stop_gradient",
]

_NUMERIC = "iufc"
_INEXACT = "fc"
_ORDERED = "biuf"
_ANY = "biufc"
_BOOL = np.dtype(np.bool_)


def _elementwise(name: str, impl, kinds: str, result_dtype=None) -> Primitive:
    primitive = Primitive(name)
    primitive.def_impl(impl)
    primitive.def_abstract_eval(elementwise_rule(name, kinds, result_dtype))
    batching.defbroadcasting(primitive)
    return primitive


def _int_div(x, y):
    # lax.div rounds integer quotients toward zero, like C, not toward -inf like NumPy;
    # INT_MIN / -1 wraps and x / 0 is defined, silently, as in JAX.
    with np.errstate(all="ignore"):
        quotient = np.floor_divide(x, y)
        inexact = (np.remainder(x, y) != 0) & ((x < 0) != (y < 0))
    return np.where(inexact, quotient + 1, quotient).astype(x.dtype)


def _div(x, y):
    if dtypes.is_integer(x.dtype):
        return _int_div(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


def _quiet(ufunc):
    # Like JAX, inf and NaN results are values, not warnings.
    def impl(*args):
        with np.errstate(all="ignore"):
            return ufunc(*args)

    return impl


def _quiet_for_bfloat16(ufunc):
    # ml_dtypes warns about NaN operands of bfloat16 comparisons; other dtypes never do.
    quiet = _quiet(ufunc)

    def impl(x, y):
        return quiet(x, y) if x.dtype == dtypes.bfloat16 else ufunc(x, y)

    return impl


add_p = _elementwise("add", _quiet(np.add), _NUMERIC)
sub_p = _elementwise("sub", _quiet(np.subtract), _NUMERIC)
mul_p = _elementwise("mul", _quiet(np.multiply), _NUMERIC)
div_p = _elementwise("div", _div, _NUMERIC)
neg_p = _elementwise("neg", np.negative, _NUMERIC)
max_p = _elementwise("max", _quiet_for_bfloat16(np.maximum), _ORDERED)
exp_p = _elementwise("exp", _quiet(np.exp), _INEXACT)
log_p = _elementwise("log", _quiet(np.log), _INEXACT)
tanh_p = _elementwise("tanh", np.tanh, _INEXACT)
sin_p = _elementwise("sin", _quiet(np.sin), _INEXACT)
cos_p = _elementwise("cos", _quiet(np.cos), _INEXACT)
pow_p = _elementwise("pow", _quiet(np.power), _INEXACT)
eq_p = _elementwise("eq", _quiet_for_bfloat16(np.equal), _ANY, _BOOL)
ne_p = _elementwise("ne", _quiet_for_bfloat16(np.not_equal), _ANY, _BOOL)
lt_p = _elementwise("lt", _quiet_for_bfloat16(np.less), _ORDERED, _BOOL)
le_p = _elementwise("le", _quiet_for_bfloat16(np.less_equal), _ORDERED, _BOOL)
gt_p = _elementwise("gt", _quiet_for_bfloat16(np.greater), _ORDERED, _BOOL)
ge_p = _elementwise("ge", _quiet_for_bfloat16(np.greater_equal), _ORDERED, _BOOL)


def _unary_op(primitive: Primitive, doc: str):
    def op(x):
        return primitive.bind(*coerce_scalars(x))

    op.__name__ = op.__qualname__ = primitive.name
    op.__doc__ = doc
    return op


def _binary_op(primitive: Primitive, doc: str):
    def op(x, y):
        return primitive.bind(*coerce_scalars(x, y))

    op.__name__ = op.__qualname__ = primitive.name
    op.__doc__ = doc
    return op


add = _binary_op(add_p, "Elementwise `x + y`; shapes and dtypes must match (Python scalars adapt).")
sub = _binary_op(sub_p, "Elementwise `x - y`.")
mul = _binary_op(mul_p, "Elementwise `x * y`.")
div = _binary_op(div_p, "Elementwise `x / y`; integer division rounds toward zero.")
neg = _unary_op(neg_p, "Elementwise `-x`.")
max = _binary_op(max_p, "Elementwise maximum, propagating NaN.")
exp = _unary_op(exp_p, "Elementwise `e**x`.")
log = _unary_op(log_p, "Elementwise natural logarithm.")
tanh = _unary_op(tanh_p, "Elementwise hyperbolic tangent.")
sin = _unary_op(sin_p, "Elementwise sine.")
cos = _unary_op(cos_p, "Elementwise cosine.")
pow = _binary_op(pow_p, "Elementwise `x ** y` for floating or complex operands of one dtype.")
eq = _binary_op(eq_p, "Elementwise `x == y`, giving bool.")
ne = _binary_op(ne_p, "Elementwise `x != y`, giving bool.")
lt = _binary_op(lt_p, "Elementwise `x < y`, giving bool.")
le = _binary_op(le_p, "Elementwise `x <= y`, giving bool.")
gt = _binary_op(gt_p, "Elementwise `x > y`, giving bool.")
ge = _binary_op(ge_p, "Elementwise `x >= y`, giving bool.")


# select_n(which, *cases) picks cases[which] elementwise: `which` is bool (two cases)
# or int32 (any number). It is the one selection primitive; `select` is sugar.
select_n_p = Primitive("select_n")


@select_n_p.def_impl
def _select_n_impl(which, *cases):
    if which.dtype == _BOOL:
        return np.where(which, cases[1], cases[0])
    return np.choose(which, cases, mode="clip")


@select_n_p.def_abstract_eval
def _select_n_abstract_eval(which: ShapedArray, *cases: ShapedArray) -> ShapedArray:
    avals = [which, *cases]
    if not cases:
        raise shape_error("select_n", avals, "needs at least one case")
    if which.dtype != _BOOL and which.dtype != np.dtype(np.int32):
        raise shape_error(
            "select_n", avals, f"the selector must be bool or int32, not {which.dtype}"
        )
    if which.dtype == _BOOL and len(cases) > 2:
        raise shape_error(
            "select_n",
            avals,
            "a bool selector picks between at most two cases",
            "Use an int32 selector for more cases.",
        )
    if len({c.shape for c in cases}) > 1 or len({c.dtype for c in cases}) > 1:
        raise shape_error("select_n", avals, "all cases must have one shape and dtype")
    if which.shape and which.shape != cases[0].shape:
        raise shape_error(
            "select_n", avals, "the selector must be a scalar or have the cases' shape"
        )
    return ShapedArray(cases[0].shape, cases[0].dtype, all(c.weak_type for c in cases))


def select_n(which, *cases):
    """`cases[which]` elementwise; `which` is bool (two cases) or int32."""
    return select_n_p.bind(which, *coerce_scalars(*cases))


def select(pred, on_true, on_false):
    """`on_true` where `pred` else `on_false`, elementwise (shapes and dtypes must match)."""
    return select_n(pred, on_false, on_true)


convert_element_type_p = Primitive("convert_element_type")


@convert_element_type_p.def_impl
def _convert_impl(operand, *, new_dtype, weak_type):
    with np.errstate(invalid="ignore", over="ignore"):
        return operand.astype(new_dtype)


@convert_element_type_p.def_abstract_eval
def _convert_abstract_eval(operand: ShapedArray, *, new_dtype, weak_type) -> ShapedArray:
    return ShapedArray(operand.shape, new_dtype, weak_type)


def convert_element_type(operand, new_dtype):
    """Convert to `new_dtype` (canonicalized: 64-bit narrows unless x64 is on)."""
    new_dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(new_dtype, "convert_element_type: "))
    (operand,) = coerce_scalars(operand)
    return convert_element_type_p.bind(operand, new_dtype=new_dtype, weak_type=False)


# ---------------------------------------------------------------------------------------
# More math. `_computed` wraps a NumPy function as an impl: warnings silenced (inf and
# NaN are values), narrow floats computed at a wider float type and rounded back.

_F32, _F64 = np.dtype(np.float32), np.dtype(np.float64)
_C64, _C128 = np.dtype(np.complex64), np.dtype(np.complex128)
_NARROW_FLOATS = (np.dtype(np.float16), dtypes.bfloat16)
_REAL_OF_COMPLEX = {_C64: _F32, _C128: _F64}
_COMPLEX_OF_REAL = {_F64: _C128}


def _computed(fun, *, in_float64: bool = False):
    def impl(*args, **params):
        dtype = args[-1].dtype
        wide = None
        if in_float64 and dtypes.is_float(dtype):
            wide = _F64
        elif dtype in _NARROW_FLOATS:
            wide = _F32
        if wide is not None:
            args = [a.astype(wide) for a in args]
        with np.errstate(all="ignore"):
            out = np.asarray(fun(*args, **params))
        if wide is not None and out.dtype.kind != "b":
            out = out.astype(dtype)
        return out

    return impl


def _with_dtype(name: str, kinds: str, out_dtype):
    """The elementwise rule with the result dtype a function of the operand dtype."""
    rule = elementwise_rule(name, kinds)

    def abstract_eval(*avals: ShapedArray) -> ShapedArray:
        out = rule(*avals)
        return ShapedArray(out.shape, out_dtype(out.dtype), out.weak_type)

    return abstract_eval


def _real_part_dtype(dtype: np.dtype) -> np.dtype:
    return _REAL_OF_COMPLEX.get(dtype, dtype)


def _complex_dtype(dtype: np.dtype) -> np.dtype:
    return dtype if dtype.kind == "c" else _COMPLEX_OF_REAL.get(dtype, _C64)


def _rsqrt(x):
    return 1 / np.sqrt(x)


def _logistic(x):
    if x.dtype.kind == "c":
        return 1 / (1 + np.exp(-x))
    # exp of a non-positive number never overflows: pick the form per sign.
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype)


def _rem(x, y):
    # C's fmod: the result has the dividend's sign. Integer x % 0 is x, as in XLA.
    if dtypes.is_integer(x.dtype):
        zero = y == 0
        return np.where(zero, x, np.fmod(x, np.where(zero, 1, y).astype(y.dtype))).astype(x.dtype)
    return np.fmod(x, y)


def _unsigned(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"u{dtype.itemsize}")


def _signed(dtype: np.dtype) -> np.dtype:
    return np.dtype(f"i{dtype.itemsize}")


def _shift_amount(x, amount):
    # A shift amount is read as unsigned: negative or >= the bit width shifts all bits out.
    amount = amount.astype(_unsigned(x.dtype))
    in_range = amount < 8 * x.dtype.itemsize
    return np.where(in_range, amount, 0).astype(amount.dtype), in_range


def _shift_left(x, amount):
    amount, in_range = _shift_amount(x, amount)
    shifted = np.left_shift(x.astype(amount.dtype), amount)
    return np.where(in_range, shifted, 0).astype(x.dtype)


def _shift_right_logical(x, amount):
    amount, in_range = _shift_amount(x, amount)
    shifted = np.right_shift(x.astype(amount.dtype), amount)
    return np.where(in_range, shifted, 0).astype(x.dtype)


def _shift_right_arithmetic(x, amount):
    # The sign bit is copied in, also for unsigned operands (read as two's complement).
    amount, in_range = _shift_amount(x, amount)
    signed = x.astype(_signed(x.dtype))
    shifted = np.right_shift(signed, amount.astype(signed.dtype))
    return np.where(in_range, shifted, np.where(signed < 0, -1, 0)).astype(x.dtype)


def _population_count(x):
    # NumPy counts the bits of |x|; the two's-complement bits are read as unsigned.
    return np.bitwise_count(x.astype(_unsigned(x.dtype))).astype(x.dtype)


def _clamp(low, x, high):
    return np.minimum(np.maximum(x, low), high).astype(x.dtype)


def _integer_pow(x, *, y):
    with np.errstate(all="ignore"):
        if x.dtype in _NARROW_FLOATS:
            return np.power(x.astype(_F32), y).astype(x.dtype)
        if y < 0:
            return (1 / np.power(x, -y)).astype(x.dtype)
        return np.asarray(np.power(x, y)).astype(x.dtype)


# The special functions NumPy has no ufunc for, at float64 (inputs arrive as float64).


def _vectorized(scalar_fun):
    def fun(x):
        flat = [scalar_fun(v) for v in x.ravel().tolist()]
        return np.asarray(flat, dtype=np.float64).reshape(x.shape)

    return fun


def _lgamma_scalar(v: float) -> float:
    if v <= 0 and v.is_integer():
        return math.inf  # the poles at 0, -1, -2, ...
    return math.lgamma(v)


_erf = _vectorized(math.erf)
_erfc = _vectorized(math.erfc)
_lgamma = _vectorized(_lgamma_scalar)

# The asymptotic series of digamma: log x - 1/(2x) - sum B_2k / (2k x^(2k)).
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760, 1 / 12)


def _digamma(x):
    # Reflection moves x < 1/2 to 1 - x; the recurrence psi(x) = psi(x + 1) - 1/x moves
    # x up to >= 10, where the asymptotic series is accurate to float64 precision.
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    shift = np.zeros_like(z)
    for _ in range(10):
        small = z < 10
        shift -= np.where(small, 1 / z, 0)
        z = np.where(small, z + 1, z)
    inv2 = 1 / (z * z)
    series = np.zeros_like(z)
    for coefficient in reversed(_DIGAMMA_SERIES):
        series = (series + coefficient) * inv2
    out = np.log(z) - 0.5 / z - series + shift
    out = np.where(reflect, out - np.pi / np.tan(np.pi * x), out)
    pole = (x <= 0) & (x == np.floor(x))
    return np.where(pole, np.nan, out)


def _erf_inv(y):
    # A closed-form approximation (relative error ~1e-3) polished by Newton steps on
    # erf(x) = |y|, written with erfc for |y| >= 1/2 so the residual keeps its digits.
    a = np.abs(y)
    inside = a < 1
    a_safe = np.where(inside, a, 0.5)
    log_term = np.log1p(-a_safe * a_safe)
    k = 0.147
    b = 2 / (np.pi * k) + log_term / 2
    x = np.sqrt(np.sqrt(b * b - log_term / k) - b)
    tail = a_safe >= 0.5
    one_minus_a = 1 - a_safe
    for _ in range(4):
        residual = np.where(tail, one_minus_a - _erfc(x), _erf(x) - a_safe)
        x = x - residual / (2 / np.sqrt(np.pi) * np.exp(-x * x))
    x = np.where(a == 1, np.inf, np.where(inside, x, np.nan))
    return np.copysign(x, y)


class RoundingMethod(enum.IntEnum):
    """How `round` breaks ties: away from zero (C's round) or to the nearest even value."""

    AWAY_FROM_ZERO = 0
    TO_NEAREST_EVEN = 1

    def __repr__(self) -> str:  # as jaxprs print the parameter
        return self.name


def _round(x, *, rounding_method):
    if rounding_method == RoundingMethod.TO_NEAREST_EVEN:
        return np.rint(x)
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) >= 0.5, whole + np.sign(x), whole)


sqrt_p = _elementwise("sqrt", _computed(np.sqrt), _INEXACT)
rsqrt_p = _elementwise("rsqrt", _computed(_rsqrt), _INEXACT)
cbrt_p = _elementwise("cbrt", _computed(np.cbrt), "f")
sign_p = _elementwise("sign", _computed(np.sign), _NUMERIC)
floor_p = _elementwise("floor", _computed(np.floor), "f")
ceil_p = _elementwise("ceil", _computed(np.ceil), "f")
is_finite_p = _elementwise("is_finite", _computed(np.isfinite), "f", _BOOL)
exp2_p = _elementwise("exp2", _computed(np.exp2), _INEXACT)
expm1_p = _elementwise("expm1", _computed(np.expm1), _INEXACT)
log1p_p = _elementwise("log1p", _computed(np.log1p), _INEXACT)
tan_p = _elementwise("tan", _computed(np.tan), _INEXACT)
asin_p = _elementwise("asin", _computed(np.arcsin), _INEXACT)
acos_p = _elementwise("acos", _computed(np.arccos), _INEXACT)
atan_p = _elementwise("atan", _computed(np.arctan), _INEXACT)
sinh_p = _elementwise("sinh", _computed(np.sinh), _INEXACT)
cosh_p = _elementwise("cosh", _computed(np.cosh), _INEXACT)
asinh_p = _elementwise("asinh", _computed(np.arcsinh), _INEXACT)
acosh_p = _elementwise("acosh", _computed(np.arccosh), _INEXACT)
atanh_p = _elementwise("atanh", _computed(np.arctanh), _INEXACT)
atan2_p = _elementwise("atan2", _computed(np.arctan2), "f")
rem_p = _elementwise("rem", _computed(_rem), "iuf")
min_p = _elementwise("min", _quiet_for_bfloat16(np.minimum), _ORDERED)
logistic_p = _elementwise("logistic", _computed(_logistic), _INEXACT)
erf_p = _elementwise("erf", _computed(_erf, in_float64=True), "f")
erfc_p = _elementwise("erfc", _computed(_erfc, in_float64=True), "f")
erf_inv_p = _elementwise("erf_inv", _computed(_erf_inv, in_float64=True), "f")
lgamma_p = _elementwise("lgamma", _computed(_lgamma, in_float64=True), "f")
digamma_p = _elementwise("digamma", _computed(_digamma, in_float64=True), "f")
not_p = _elementwise("not", np.invert, "biu")
and_p = _elementwise("and", np.bitwise_and, "biu")
or_p = _elementwise("or", np.bitwise_or, "biu")
xor_p = _elementwise("xor", np.bitwise_xor, "biu")
shift_left_p = _elementwise("shift_left", _shift_left, "iu")
shift_right_arithmetic_p = _elementwise("shift_right_arithmetic", _shift_right_arithmetic, "iu")
shift_right_logical_p = _elementwise("shift_right_logical", _shift_right_logical, "iu")
population_count_p = _elementwise("population_count", _population_count, "iu")
nextafter_p = _elementwise("nextafter", np.nextafter, "f")

abs_p = Primitive("abs")
abs_p.def_impl(_computed(np.abs))
abs_p.def_abstract_eval(_with_dtype("abs", "ifc", _real_part_dtype))

real_p = Primitive("real")
real_p.def_impl(np.real)
real_p.def_abstract_eval(_with_dtype("real", "c", _real_part_dtype))

imag_p = Primitive("imag")
imag_p.def_impl(np.imag)
imag_p.def_abstract_eval(_with_dtype("imag", "c", _real_part_dtype))

conj_p = Primitive("conj")


@conj_p.def_impl
def _conj_impl(x):
    return np.conj(x.astype(_complex_dtype(x.dtype)))


conj_p.def_abstract_eval(_with_dtype("conj", _INEXACT, _complex_dtype))

round_p = Primitive("round")
round_p.def_impl(_computed(_round))
_round_rule = elementwise_rule("round", "f")


@round_p.def_abstract_eval
def _round_abstract_eval(x: ShapedArray, *, rounding_method) -> ShapedArray:
    return _round_rule(x)


integer_pow_p = Primitive("integer_pow")
integer_pow_p.def_impl(_integer_pow)
_integer_pow_rule = elementwise_rule("integer_pow", _NUMERIC)


@integer_pow_p.def_abstract_eval
def _integer_pow_abstract_eval(x: ShapedArray, *, y: int) -> ShapedArray:
    out = _integer_pow_rule(x)
    if y < 0 and dtypes.is_integer(x.dtype):
        raise shape_error(
            "integer_pow",
            [x],
            f"integers cannot be raised to the negative power {y}",
            "Convert the base to a float type first.",
        )
    return out


# clamp(min, x, max): the bounds are scalars or have x's shape; the result has x's.
clamp_p = Primitive("clamp")
clamp_p.def_impl(_clamp)


@clamp_p.def_abstract_eval
def _clamp_abstract_eval(low: ShapedArray, x: ShapedArray, high: ShapedArray) -> ShapedArray:
    avals = [low, x, high]
    if dtypes.dtype_kind(x.dtype) not in _ORDERED:
        raise shape_error("clamp", avals, f"dtype {x.dtype.name} has no order")
    if low.dtype != x.dtype or high.dtype != x.dtype:
        raise shape_error(
            "clamp",
            avals,
            "operand dtypes must be equal",
            "Convert the bounds with .astype(...) to the operand's dtype.",
        )
    for bound in (low, high):
        if bound.shape and bound.shape != x.shape:
            raise shape_error(
                "clamp",
                avals,
                "the bounds must be scalars or have the operand's shape",
                "Broadcast the bounds explicitly, or use funcgrad.numpy.clip.",
            )
    return ShapedArray(x.shape, x.dtype, x.weak_type)


sqrt = _unary_op(sqrt_p, "Elementwise square root.")
rsqrt = _unary_op(rsqrt_p, "Elementwise reciprocal square root `1 / sqrt(x)`.")
cbrt = _unary_op(cbrt_p, "Elementwise real cube root.")
abs = _unary_op(abs_p, "Elementwise absolute value; complex operands give their real magnitude.")
sign = _unary_op(sign_p, "Elementwise sign: -1, 0 or 1 (`x / |x|` for complex).")
floor = _unary_op(floor_p, "Elementwise floor.")
ceil = _unary_op(ceil_p, "Elementwise ceiling.")
is_finite = _unary_op(is_finite_p, "Elementwise test for a finite value (not inf or NaN).")
exp2 = _unary_op(exp2_p, "Elementwise `2**x`.")
expm1 = _unary_op(expm1_p, "Elementwise `e**x - 1`, accurate near zero.")
log1p = _unary_op(log1p_p, "Elementwise `log(1 + x)`, accurate near zero.")
tan = _unary_op(tan_p, "Elementwise tangent.")
asin = _unary_op(asin_p, "Elementwise arcsine.")
acos = _unary_op(acos_p, "Elementwise arccosine.")
atan = _unary_op(atan_p, "Elementwise arctangent.")
sinh = _unary_op(sinh_p, "Elementwise hyperbolic sine.")
cosh = _unary_op(cosh_p, "Elementwise hyperbolic cosine.")
asinh = _unary_op(asinh_p, "Elementwise inverse hyperbolic sine.")
acosh = _unary_op(acosh_p, "Elementwise inverse hyperbolic cosine.")
atanh = _unary_op(atanh_p, "Elementwise inverse hyperbolic tangent.")
atan2 = _binary_op(atan2_p, "Elementwise arctangent of `x / y`, using both signs for the quadrant.")
rem = _binary_op(rem_p, "Elementwise remainder of truncating division (C's fmod): sign of `x`.")
min = _binary_op(min_p, "Elementwise minimum, propagating NaN.")
logistic = _unary_op(logistic_p, "Elementwise logistic sigmoid `1 / (1 + exp(-x))`.")
erf = _unary_op(erf_p, "Elementwise error function.")
erfc = _unary_op(erfc_p, "Elementwise complementary error function `1 - erf(x)`.")
erf_inv = _unary_op(erf_inv_p, "Elementwise inverse error function.")
lgamma = _unary_op(lgamma_p, "Elementwise log of the absolute value of the gamma function.")
digamma = _unary_op(digamma_p, "Elementwise digamma function, the derivative of lgamma.")
bitwise_not = _unary_op(not_p, "Elementwise bitwise NOT (logical NOT for bool).")
bitwise_and = _binary_op(and_p, "Elementwise bitwise AND (logical AND for bool).")
bitwise_or = _binary_op(or_p, "Elementwise bitwise OR (logical OR for bool).")
bitwise_xor = _binary_op(xor_p, "Elementwise bitwise XOR (logical XOR for bool).")
shift_left = _binary_op(shift_left_p, "Elementwise `x << y`; shifts past the width give 0.")
shift_right_arithmetic = _binary_op(
    shift_right_arithmetic_p, "Elementwise `x >> y`, copying the sign bit in."
)
shift_right_logical = _binary_op(shift_right_logical_p, "Elementwise `x >> y`, shifting zeros in.")
population_count = _unary_op(population_count_p, "Elementwise number of set bits.")
nextafter = _binary_op(nextafter_p, "Elementwise next representable value after `x` towards `y`.")
real = _unary_op(real_p, "Elementwise real part of a complex operand.")
imag = _unary_op(imag_p, "Elementwise imaginary part of a complex operand.")
conj = _unary_op(conj_p, "Elementwise complex conjugate (a real operand becomes complex).")

# The wrappers' names follow jax.lax, the primitives' names follow JAX's primitives.
bitwise_not.__name__ = bitwise_not.__qualname__ = "bitwise_not"
bitwise_and.__name__ = bitwise_and.__qualname__ = "bitwise_and"
bitwise_or.__name__ = bitwise_or.__qualname__ = "bitwise_or"
bitwise_xor.__name__ = bitwise_xor.__qualname__ = "bitwise_xor"


def round(x, rounding_method: RoundingMethod | int = RoundingMethod.AWAY_FROM_ZERO):
    """Elementwise rounding to a whole number; ties away from zero unless `rounding_method`
    is `RoundingMethod.TO_NEAREST_EVEN`.

    >>> round(2.5), round(2.5, RoundingMethod.TO_NEAREST_EVEN)  # doctest: +SKIP
    (Array(3., dtype=float32, weak_type=True), Array(2., dtype=float32, weak_type=True))
    """
    return round_p.bind(*coerce_scalars(x), rounding_method=RoundingMethod(rounding_method))


def integer_pow(x, y: int):
    """Elementwise `x ** y` for a fixed Python int `y` (negative only for inexact `x`)."""
    if isinstance(y, bool) or not isinstance(y, (int, np.integer)):
        raise TypeError(
            f"integer_pow: the exponent must be a Python int, got {y!r} (at {user_location()}); "
            "use funcgrad.lax.pow for array or float exponents."
        )
    return integer_pow_p.bind(*coerce_scalars(x), y=int(y))


def clamp(min, x, max):
    """Elementwise `x` limited to `[min, max]`; the bounds are scalars or shaped like `x`."""
    return clamp_p.bind(*coerce_scalars(min, x, max))


# complex(x, y) = x + i*y, built directly so infinite parts stay intact.
complex_p = Primitive("complex")


@complex_p.def_impl
def _complex_impl(x, y):
    out = np.empty(np.broadcast_shapes(np.shape(x), np.shape(y)), _complex_dtype(x.dtype))
    out.real, out.imag = x, y
    return out


complex_p.def_abstract_eval(_with_dtype("complex", "f", _complex_dtype))


def complex(x, y):
    """Elementwise `x + 1j * y` from real operands of one dtype."""
    return complex_p.bind(*coerce_scalars(x, y))


# bitcast_convert_type reinterprets each element's bits as another dtype of the same width.
bitcast_convert_type_p = Primitive("bitcast_convert_type")


@bitcast_convert_type_p.def_impl
def _bitcast_impl(operand, *, new_dtype):
    return np.ascontiguousarray(operand).view(new_dtype).reshape(np.shape(operand))


@bitcast_convert_type_p.def_abstract_eval
def _bitcast_abstract_eval(operand: ShapedArray, *, new_dtype) -> ShapedArray:
    if operand.dtype == _BOOL or new_dtype == _BOOL:
        raise shape_error("bitcast_convert_type", [operand], "bool has no bit pattern to convert")
    if operand.dtype.itemsize != new_dtype.itemsize:
        raise shape_error(
            "bitcast_convert_type",
            [operand],
            f"{operand.dtype.name} and {new_dtype.name} differ in width",
            "Bitcast between dtypes of one width (e.g. float32 and int32).",
        )
    return ShapedArray(operand.shape, new_dtype)


def bitcast_convert_type(operand, new_dtype):
    """Reinterpret the bits of each element as `new_dtype` (of the same width)."""
    new_dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(new_dtype, "bitcast_convert_type: "))
    (operand,) = coerce_scalars(operand)
    return bitcast_convert_type_p.bind(operand, new_dtype=new_dtype)


# ---------------------------------------------------------------------------------------
# polygamma(m, x), the m-th derivative of digamma, is here for differentiation: digamma's
# derivative is polygamma(1, x), and polygamma's own is polygamma(m + 1, x), so lgamma and
# digamma are differentiable to any order.

# B_2k / (2k)! for k = 1..7, the coefficients of the Euler-Maclaurin tail of a zeta sum.
_TAIL_COEFFICIENTS = tuple(
    b / math.factorial(2 * k)
    for k, b in enumerate((1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6), 1)
)


def _cot_derivative_polynomial(order: int) -> np.ndarray:
    """Coefficients (lowest first) of P with d^order/dx^order cot(pi x) = pi^order P(cot(pi x)),
    from d/dx cot(pi x) = -pi (1 + cot(pi x)^2)."""
    poly = np.array([0.0, 1.0])
    for _ in range(order):
        poly = -np.polynomial.polynomial.polymul(
            [1.0, 0.0, 1.0], np.polynomial.polynomial.polyder(poly)
        )
    return poly


def _polygamma_of_order(order: int, x):
    # For order n >= 1, psi_n(x) = (-1)^(n+1) n! sum_k (x + k)^-(n+1). Reflection moves
    # x < 1/2 to 1 - x; the first terms of the sum move it to >= 10, where the
    # Euler-Maclaurin formula sums the rest to float64 precision.
    s = order + 1
    reflect = x < 0.5
    z = np.where(reflect, 1 - x, x)
    total = np.zeros_like(z)
    for _ in range(10):
        small = z < 10
        total += np.where(small, z**-s, 0)
        z = np.where(small, z + 1, z)
    total += z ** (1 - s) / (s - 1) + z**-s / 2
    rising, power = float(s), z ** (-s - 1)
    for k, coefficient in enumerate(_TAIL_COEFFICIENTS, 1):
        total += coefficient * rising * power
        rising *= (s + 2 * k - 1) * (s + 2 * k)
        power = power / (z * z)
    out = (-1) ** (order + 1) * np.exp(math.lgamma(order + 1)) * total
    # psi_n(x) = (-1)^n psi_n(1 - x) - pi d^n/dx^n cot(pi x)
    cot = 1 / np.tan(np.pi * x)
    cot_term = np.pi ** (order + 1) * np.polynomial.polynomial.polyval(
        cot, _cot_derivative_polynomial(order)
    )
    out = np.where(reflect, (-1) ** order * out - cot_term, out)
    pole = (x <= 0) & (x == np.floor(x))  # +inf for odd n from both sides; no limit for even
    return np.where(pole, np.inf if order % 2 else np.nan, out)


def _polygamma(m, x):
    m, x = np.broadcast_arrays(m, x)
    out = np.full(x.shape, np.nan)
    whole = np.isfinite(m) & (m >= 0) & (m == np.floor(m))
    for order in np.unique(m[whole]):
        pick = m == order
        out[pick] = _digamma(x[pick]) if order == 0 else _polygamma_of_order(int(order), x[pick])
    return out


polygamma_p = _elementwise("polygamma", _computed(_polygamma, in_float64=True), "f")


def polygamma(m, x):
    """Elementwise `m`-th derivative of digamma at `x`, for whole `m >= 0` (NaN otherwise).

    >>> polygamma(1.0, 1.0)  # pi**2 / 6                  # doctest: +SKIP
    Array(1.644934, dtype=float32, weak_type=True)
    """
    return polygamma_p.bind(*coerce_scalars(m, x))


# stop_gradient is the identity to evaluation and a constant to differentiation.
stop_gradient_p = Primitive("stop_gradient")
stop_gradient_p.def_impl(lambda operand: operand)


@stop_gradient_p.def_abstract_eval
def _stop_gradient_abstract_eval(operand: ShapedArray) -> ShapedArray:
    return operand


def stop_gradient(x):
    """`x` unchanged, but with zero derivative: no tangent or cotangent flows through it.
    Applies to every leaf of a pytree; integer and bool leaves come back as they are.

    >>> grad(lambda x: x * stop_gradient(x))(3.0)         # doctest: +SKIP
    Array(3., dtype=float32, weak_type=True)
    """

    def stop(leaf):
        if not dtypes.is_inexact(get_aval(leaf).dtype):
            return leaf
        return stop_gradient_p.bind(*coerce_scalars(leaf))

    return tree_map(stop, x)


# ---------------------------------------------------------------------------------------
# Differentiation rules: one line per primitive, tangent maps `(t, *operands) -> dt`.


def _unbroadcast(aval: ShapedArray, cotangent):
    """A cotangent for a rank-0 operand that the primitive broadcast against arrays."""
    from funcgrad.lax.reductions import reduce_sum

    ct_aval = get_aval(cotangent)
    if aval.shape == ct_aval.shape:
        return cotangent
    return reduce_sum(cotangent, tuple(range(ct_aval.ndim)))


def _linear_transpose(*cotangent_maps):
    """Transpose of a primitive linear in the operands marked undefined: each map takes
    (cotangent, *operands) and gives that operand's cotangent."""

    def transpose(ct, *operands, **params):
        out = []
        for operand, ct_map in zip(operands, cotangent_maps):
            if isinstance(operand, ad.UndefinedPrimal):
                out.append(_unbroadcast(operand.aval, ct_map(ct, *operands)))
            else:
                out.append(None)
        return out

    return transpose


def _mul_transpose(ct, x, y):
    if isinstance(x, ad.UndefinedPrimal):
        return [_unbroadcast(x.aval, mul(ct, y)), None]
    return [None, _unbroadcast(y.aval, mul(x, ct))]


def _div_transpose(ct, x, y):
    if isinstance(y, ad.UndefinedPrimal):
        raise ValueError("div is not linear in its divisor")
    return [_unbroadcast(x.aval, div(ct, y)), None]


def _max_jvp_map(this_wins):
    # Ties split the tangent evenly, as JAX does, so max(x, x) has derivative 1.
    def tangent_map(t, x, y):
        dtype = get_aval(t).dtype
        wins = convert_element_type(this_wins(x, y), dtype)
        share = add(wins, mul(convert_element_type(eq(x, y), dtype), 0.5))
        return mul(t, share)

    return tangent_map


def _pow_jvp_base(t, x, y):
    return mul(t, mul(y, pow(x, sub(y, 1))))


def _pow_jvp_exponent(t, x, y):
    # d/dy x**y = log(x) * x**y, taken as 0 where x == 0 (the limit for y > 0).
    safe_log = log(select(eq(x, 0), add(mul(x, 0), 1), x))
    return mul(t, mul(safe_log, pow(x, y)))


def _select_n_jvp(primals, tangents):
    which, *cases = primals
    out = select_n_p.bind(which, *cases)
    case_tangents = tangents[1:]
    if all(type(t) is ad.Zero for t in case_tangents):
        return out, ad.Zero(get_aval(out))
    return out, select_n_p.bind(which, *map(ad.instantiate, case_tangents))


def _select_n_transpose(ct, which, *cases):
    if isinstance(which, ad.UndefinedPrimal):
        raise ValueError("select_n is not linear in its selector")
    out = [None]
    for i, case in enumerate(cases):
        if not isinstance(case, ad.UndefinedPrimal):
            out.append(None)
            continue
        zeros = ad.instantiate(ad.Zero(get_aval(ct)))
        branches = [ct if j == i else zeros for j in range(len(cases))]
        out.append(_unbroadcast(case.aval, select_n_p.bind(which, *branches)))
    return out


def _convert_jvp(primals, tangents, *, new_dtype, weak_type):
    (operand,), (tangent,) = primals, tangents
    out = convert_element_type_p.bind(operand, new_dtype=new_dtype, weak_type=weak_type)
    if dtypes.is_inexact(new_dtype) and dtypes.is_inexact(get_aval(operand).dtype):
        return out, convert_element_type_p.bind(
            ad.instantiate(tangent), new_dtype=new_dtype, weak_type=weak_type
        )
    return out, ad.Zero(get_aval(out))


def _convert_transpose(ct, operand, *, new_dtype, weak_type):
    if get_aval(ct).dtype.kind == "c" and operand.aval.dtype.kind != "c":
        ct = real(ct)  # the cotangent of a real operand is the real part
    return [
        convert_element_type_p.bind(
            ct, new_dtype=operand.aval.dtype, weak_type=operand.aval.weak_type
        )
    ]


def _tanh_jvp(t, x):
    y = tanh(x)
    return mul(t, sub(1, mul(y, y)))


def _logistic_jvp(t, x):
    y = logistic(x)
    return mul(t, mul(y, sub(1, y)))


def _integer_pow_jvp(t, x, *, y):
    if y == 0:
        return mul(t, convert_element_type(0, get_aval(t).dtype))
    return mul(t, mul(convert_element_type(y, get_aval(x).dtype), integer_pow(x, y - 1)))


def _abs_jvp(t, x):
    if get_aval(x).dtype.kind == "c":
        # d|z| = Re(conj(z) dz) / |z|, taken as 0 at z = 0.
        magnitude = abs(x)
        safe = select(eq(magnitude, 0), add(mul(magnitude, 0), 1), magnitude)
        return div(real(mul(t, conj(x))), safe)
    return select(ge(x, 0), t, neg(t))  # slope 1 at 0, as in JAX


def _round_toward_zero(q):
    if dtypes.is_integer(get_aval(q).dtype):
        return q  # integer division already truncates
    return select(lt(q, 0), ceil(q), floor(q))


def _rem_jvp_divisor(t, x, y):
    # rem(x, y) = x - y * trunc(x / y), and trunc is piecewise constant.
    return neg(mul(t, _round_toward_zero(div(x, y))))


def _atan2_jvp_map(numerator_of):
    # d atan2(x, y) = (y dx - x dy) / (x^2 + y^2)
    def tangent_map(t, x, y):
        return mul(t, div(numerator_of(x, y), add(mul(x, x), mul(y, y))))

    return tangent_map


def _clamp_jvp_map(takes_value):
    # The output follows one operand where it strictly wins; at ties no tangent flows.
    def tangent_map(t, low, x, high):
        return mul(t, convert_element_type(takes_value(low, x, high), get_aval(t).dtype))

    return tangent_map


def _polygamma_jvp_order(t, m, x):
    raise NotImplementedError(
        "polygamma: differentiation with respect to the order m is not supported "
        f"(at {user_location()})"
    )


def _conj_transpose(ct, x):
    # Cotangents pair with tangents by Re(sum(ct * t)), so conj's transpose is conj, and
    # a real operand keeps the real part.
    if x.aval.dtype.kind == "c":
        return [conj(ct)]
    return [real(ct)]


_TWO_OVER_SQRT_PI = 2 / math.sqrt(math.pi)


ad.defjvp(add_p, lambda t, x, y: t, lambda t, x, y: t)
ad.defjvp(sub_p, lambda t, x, y: t, lambda t, x, y: neg(t))
ad.defjvp(mul_p, lambda t, x, y: mul(t, y), lambda t, x, y: mul(x, t))
ad.defjvp(div_p, lambda t, x, y: div(t, y), lambda t, x, y: neg(mul(t, div(div(x, y), y))))
ad.defjvp(neg_p, lambda t, x: neg(t))
ad.defjvp(max_p, _max_jvp_map(gt), _max_jvp_map(lt))
ad.defjvp(min_p, _max_jvp_map(lt), _max_jvp_map(gt))
ad.defjvp(exp_p, lambda t, x: mul(t, exp(x)))
ad.defjvp(log_p, lambda t, x: div(t, x))
ad.defjvp(tanh_p, _tanh_jvp)
ad.defjvp(sin_p, lambda t, x: mul(t, cos(x)))
ad.defjvp(cos_p, lambda t, x: neg(mul(t, sin(x))))
ad.defjvp(pow_p, _pow_jvp_base, _pow_jvp_exponent)
ad.defjvp(sqrt_p, lambda t, x: div(t, mul(2, sqrt(x))))
ad.defjvp(rsqrt_p, lambda t, x: mul(t, mul(-0.5, div(rsqrt(x), x))))
ad.defjvp(expm1_p, lambda t, x: mul(t, exp(x)))
ad.defjvp(log1p_p, lambda t, x: div(t, add(1, x)))
ad.defjvp(logistic_p, _logistic_jvp)
ad.defjvp(integer_pow_p, _integer_pow_jvp)
ad.defjvp(cbrt_p, lambda t, x: div(t, mul(3, integer_pow(cbrt(x), 2))))
ad.defjvp(abs_p, _abs_jvp)
ad.defjvp(exp2_p, lambda t, x: mul(t, mul(exp2(x), math.log(2))))
ad.defjvp(tan_p, lambda t, x: mul(t, add(1, integer_pow(tan(x), 2))))
ad.defjvp(asin_p, lambda t, x: mul(t, rsqrt(sub(1, mul(x, x)))))
ad.defjvp(acos_p, lambda t, x: neg(mul(t, rsqrt(sub(1, mul(x, x))))))
ad.defjvp(atan_p, lambda t, x: div(t, add(1, mul(x, x))))
ad.defjvp(sinh_p, lambda t, x: mul(t, cosh(x)))
ad.defjvp(cosh_p, lambda t, x: mul(t, sinh(x)))
ad.defjvp(asinh_p, lambda t, x: mul(t, rsqrt(add(mul(x, x), 1))))
ad.defjvp(acosh_p, lambda t, x: mul(t, mul(rsqrt(sub(x, 1)), rsqrt(add(x, 1)))))
ad.defjvp(atanh_p, lambda t, x: div(t, sub(1, mul(x, x))))
ad.defjvp(atan2_p, _atan2_jvp_map(lambda x, y: y), _atan2_jvp_map(lambda x, y: neg(x)))
ad.defjvp(rem_p, lambda t, x, y: t, _rem_jvp_divisor)
ad.defjvp(
    clamp_p,
    _clamp_jvp_map(lambda low, x, high: bitwise_and(gt(low, x), lt(low, high))),
    _clamp_jvp_map(lambda low, x, high: bitwise_and(gt(x, low), lt(x, high))),
    _clamp_jvp_map(lambda low, x, high: lt(high, max(x, low))),
)
ad.defjvp(erf_p, lambda t, x: mul(t, mul(_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))))
ad.defjvp(erfc_p, lambda t, x: mul(t, mul(-_TWO_OVER_SQRT_PI, exp(neg(mul(x, x))))))
ad.defjvp(
    erf_inv_p, lambda t, x: div(t, mul(_TWO_OVER_SQRT_PI, exp(neg(integer_pow(erf_inv(x), 2)))))
)
ad.defjvp(lgamma_p, lambda t, x: mul(t, digamma(x)))
ad.defjvp(digamma_p, lambda t, x: mul(t, polygamma(1, x)))
ad.defjvp(polygamma_p, _polygamma_jvp_order, lambda t, m, x: mul(t, polygamma(add(m, 1), x)))
ad.primitive_jvps[select_n_p] = _select_n_jvp
ad.primitive_jvps[convert_element_type_p] = _convert_jvp
for _primitive in (
    eq_p,
    ne_p,
    lt_p,
    le_p,
    gt_p,
    ge_p,
    sign_p,
    floor_p,
    ceil_p,
    round_p,
    is_finite_p,
    not_p,
    and_p,
    or_p,
    xor_p,
    shift_left_p,
    shift_right_arithmetic_p,
    shift_right_logical_p,
    population_count_p,
    nextafter_p,
    bitcast_convert_type_p,
    stop_gradient_p,
):
    ad.defjvp_zero(_primitive)
ad.deflinear(real_p, _linear_transpose(lambda ct, x: complex(ct, 0)))
ad.deflinear(imag_p, _linear_transpose(lambda ct, x: complex(0, neg(ct))))
ad.deflinear(conj_p, _conj_transpose)
ad.deflinear(
    complex_p, _linear_transpose(lambda ct, x, y: real(ct), lambda ct, x, y: neg(imag(ct)))
)
ad.primitive_transposes[add_p] = _linear_transpose(lambda ct, x, y: ct, lambda ct, x, y: ct)
ad.primitive_transposes[sub_p] = _linear_transpose(lambda ct, x, y: ct, lambda ct, x, y: neg(ct))
ad.primitive_transposes[neg_p] = _linear_transpose(lambda ct, x: neg(ct))
ad.primitive_transposes[mul_p] = _mul_transpose
ad.primitive_transposes[div_p] = _div_transpose
ad.primitive_transposes[select_n_p] = _select_n_transpose
ad.primitive_transposes[convert_element_type_p] = _convert_transpose


# ---------------------------------------------------------------------------------------
# Batching: every primitive here is elementwise (those made by `_elementwise` registered
# themselves).

for _primitive in (
    convert_element_type_p,
    abs_p,
    real_p,
    imag_p,
    conj_p,
    round_p,
    integer_pow_p,
    clamp_p,
    complex_p,
    bitcast_convert_type_p,
    stop_gradient_p,
):
    batching.defbroadcasting(_primitive)
# select_n's cases must all have the selector's full shape.
batching.defbroadcasting(select_n_p, rank0_operands_broadcast=False)
