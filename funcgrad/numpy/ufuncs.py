"""Elementwise funcgrad.numpy functions: promote, broadcast, then one lax primitive."""

from __future__ import annotations

from funcgrad import lax
from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary
from funcgrad.lax import elementwise as ew
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import broadcast_arrays, promote_args, promote_dtypes

__all__ = [
    "add",
    "subtract",
    "multiply",
    "divide",
    "true_divide",
    "negative",
    "positive",
    "maximum",
    "exp",
    "log",
    "tanh",
    "sin",
    "cos",
    "power",
    "equal",
    "not_equal",
    "less",
    "less_equal",
    "greater",
    "greater_equal",
    "where",
]


def _binary(name: str, primitive, doc: str):
    @api_boundary
    def ufunc(x, y, /):
        return primitive.bind(*promote_args(name, x, y))

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = doc
    return ufunc


def _unary_inexact(name: str, primitive, doc: str):
    @api_boundary
    def ufunc(x, /):
        return primitive.bind(*promote_args(name, x, inexact=True))

    ufunc.__name__ = ufunc.__qualname__ = name
    ufunc.__doc__ = doc
    return ufunc


add = _binary("add", ew.add_p, "Elementwise `x + y` with broadcasting and type promotion.")
subtract = _binary("subtract", ew.sub_p, "Elementwise `x - y`.")
multiply = _binary("multiply", ew.mul_p, "Elementwise `x * y`.")
maximum = _binary("maximum", ew.max_p, "Elementwise maximum (NaN propagates).")
equal = _binary("equal", ew.eq_p, "Elementwise `x == y`.")
not_equal = _binary("not_equal", ew.ne_p, "Elementwise `x != y`.")
less = _binary("less", ew.lt_p, "Elementwise `x < y`.")
less_equal = _binary("less_equal", ew.le_p, "Elementwise `x <= y`.")
greater = _binary("greater", ew.gt_p, "Elementwise `x > y`.")
greater_equal = _binary("greater_equal", ew.ge_p, "Elementwise `x >= y`.")
exp = _unary_inexact("exp", ew.exp_p, "Elementwise `e**x`.")
log = _unary_inexact("log", ew.log_p, "Elementwise natural logarithm.")
tanh = _unary_inexact("tanh", ew.tanh_p, "Elementwise hyperbolic tangent.")
sin = _unary_inexact("sin", ew.sin_p, "Elementwise sine.")
cos = _unary_inexact("cos", ew.cos_p, "Elementwise cosine.")


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


@api_boundary
def power(x, y, /):
    """Elementwise `x ** y` for floating and complex operands."""
    x, y = promote_args("power", x, y)
    dtype = get_aval(x).dtype
    if not dtypes.is_inexact(dtype):
        raise TypeError(
            f"power: integer and bool powers ({dtype.name}) are not supported yet; convert to "
            "float first, e.g. x.astype(jnp.float32) ** y."
        )
    return ew.pow_p.bind(x, y)


@api_boundary
def where(condition, x, y, /):
    """`x` where `condition` else `y`, elementwise, with broadcasting and promotion."""
    cond_aval = get_aval(condition)
    if cond_aval.dtype.kind != "b":
        condition = lax.ne(condition, 0)
    x, y = promote_dtypes(x, y)
    condition, x, y = broadcast_arrays("where", condition, x, y)
    return ew.select_n_p.bind(condition, y, x)


def reflected(fun):
    """`fun` with its two operands swapped: the method behind `__radd__` and friends."""

    def method(self, other):
        return fun(other, self)

    return method


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
    "__pow__": power,
    "__rpow__": reflected(power),
    "__neg__": negative,
    "__pos__": positive,
    "__eq__": equal,
    "__ne__": not_equal,
    "__lt__": less,
    "__le__": less_equal,
    "__gt__": greater,
    "__ge__": greater_equal,
}
