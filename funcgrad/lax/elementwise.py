"""Elementwise primitives: arithmetic, transcendental functions, comparisons, select
and dtype conversion. Their shape rules come from `elementwise_rule`; each impl is the
NumPy ufunc applied at the operands' own dtype."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import elementwise_rule, shape_error

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


add_p = _elementwise("add", np.add, _NUMERIC)
sub_p = _elementwise("sub", np.subtract, _NUMERIC)
mul_p = _elementwise("mul", np.multiply, _NUMERIC)
div_p = _elementwise("div", _div, _NUMERIC)
neg_p = _elementwise("neg", np.negative, _NUMERIC)
max_p = _elementwise("max", np.maximum, _ORDERED)
exp_p = _elementwise("exp", _quiet(np.exp), _INEXACT)
log_p = _elementwise("log", _quiet(np.log), _INEXACT)
tanh_p = _elementwise("tanh", np.tanh, _INEXACT)
sin_p = _elementwise("sin", _quiet(np.sin), _INEXACT)
cos_p = _elementwise("cos", _quiet(np.cos), _INEXACT)
pow_p = _elementwise("pow", _quiet(np.power), _INEXACT)
eq_p = _elementwise("eq", np.equal, _ANY, _BOOL)
ne_p = _elementwise("ne", np.not_equal, _ANY, _BOOL)
lt_p = _elementwise("lt", np.less, _ORDERED, _BOOL)
le_p = _elementwise("le", np.less_equal, _ORDERED, _BOOL)
gt_p = _elementwise("gt", np.greater, _ORDERED, _BOOL)
ge_p = _elementwise("ge", np.greater_equal, _ORDERED, _BOOL)


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
