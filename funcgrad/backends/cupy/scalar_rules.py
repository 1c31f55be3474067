"""Scalar rules: an elementwise equation as one C expression of its operands' expressions.

Each rule gives lax's semantics where C's differ: integer arithmetic wraps (computed in a
wide unsigned type, since signed overflow is undefined in C), integer division by zero
and shifts by the bit width or more have lax's defined results, float max/min propagate
NaN. Transcendental functions are CUDA's math library's (`expf`, `erfinvf`, ...). A rule
that has no answer for its operands raises Unsupported, and the group is not generated.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

__all__ = ["Unsupported", "C_TYPES", "SCALAR_RULES", "Operand", "c_literal", "c_type"]

C_TYPES = {
    "float32": "float",
    "float64": "double",
    "int8": "signed char",
    "int16": "short",
    "int32": "int",
    "int64": "long long",
    "uint8": "unsigned char",
    "uint16": "unsigned short",
    "uint32": "unsigned int",
    "uint64": "unsigned long long",
    "bool": "bool",
}


class Unsupported(Exception):
    """The group holds something this backend does not generate code for."""


def c_type(dtype) -> str:
    """The C type of a dtype's elements (Unsupported for float16 and others).

    >>> c_type(np.uint8)
    'unsigned char'
    """
    try:
        return C_TYPES[np.dtype(dtype).name]
    except KeyError:
        raise Unsupported(f"dtype {np.dtype(dtype).name}") from None


def _kind(dtype) -> str:
    return np.dtype(dtype).kind


def _wide(dtype) -> str:
    """The unsigned type integer arithmetic wraps in (C promotes narrower types to int,
    and signed overflow is undefined there)."""
    return "unsigned long long" if np.dtype(dtype).itemsize == 8 else "unsigned int"


def _unsigned(dtype) -> str:
    return C_TYPES[f"uint{np.dtype(dtype).itemsize * 8}"]


def _signed(dtype) -> str:
    return C_TYPES[f"int{np.dtype(dtype).itemsize * 8}"]


def c_literal(value, dtype) -> str:
    """`value` as a C constant of `dtype`, exactly (non-finite floats by their bits)."""
    dtype = np.dtype(dtype)
    value = np.asarray(value, dtype).item()
    if dtype.kind == "b":
        return "true" if value else "false"
    if dtype.kind == "f":
        if not math.isfinite(value):
            if dtype.itemsize == 4:
                bits = np.asarray(value, np.float32).view(np.uint32).item()
                return f"__uint_as_float({bits}u)"
            bits = np.asarray(value, np.float64).view(np.int64).item()
            return f"__longlong_as_double({bits}LL)"
        text = repr(float(value))
        if "e" not in text and "." not in text:
            text += ".0"
        text += "f" if dtype.itemsize == 4 else ""
        return f"({text})" if text.startswith("-") else text
    if dtype.kind == "u":
        return f"(({C_TYPES[dtype.name]}){value}ULL)"
    if value == -(2**63):
        return "((long long)(-9223372036854775807LL - 1))"
    return f"(({C_TYPES[dtype.name]}){value}LL)"


# ---------------------------------------------------------------------------------------
# Scalar rules: equation -> a C expression, given its operands as (expression, dtype).

Operand = tuple  # (C expression, np.dtype)


def _math_name(name: str, dtype) -> str:
    # The CUDA math library's float32 functions end in f; float64's have the plain name.
    return f"{name}f" if np.dtype(dtype).itemsize == 4 else name


def _float_function(c_name: str) -> Callable:
    def rule(ops: list[Operand], eqn) -> str:
        dtype = ops[0][1]
        if _kind(dtype) != "f":
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        return f"{_math_name(c_name, dtype)}({', '.join(x for x, _ in ops)})"

    return rule


def _wrapping(op: str) -> Callable:
    """+, - or *: floats directly, integers in a wide unsigned type (wrapping, as lax)."""

    def rule(ops: list[Operand], eqn) -> str:
        (x, dtype), (y, _) = ops
        if _kind(dtype) == "f":
            return f"({x} {op} {y})"
        if _kind(dtype) == "b":
            raise Unsupported(f"{eqn.primitive.name} on bool")
        wide, ty = _wide(dtype), c_type(dtype)
        return f"(({ty})(({wide}){x} {op} ({wide}){y}))"

    return rule


def _neg(ops, eqn) -> str:
    ((x, dtype),) = ops
    if _kind(dtype) == "f":
        return f"(-{x})"
    return f"(({c_type(dtype)})(0u - ({_wide(dtype)}){x}))"


def _div(ops, eqn) -> str:
    # Integer quotients round toward zero (C's rule); x / 0 is 0 and INT_MIN / -1 is
    # INT_MIN, defined values in lax where C leaves them undefined.
    (x, dtype), (y, _) = ops
    if _kind(dtype) == "f":
        return f"({x} / {y})"
    if _kind(dtype) == "b":
        raise Unsupported("div on bool")
    ty = c_type(dtype)
    quotient = f"({ty})({x} / {y})"
    if _kind(dtype) == "i":
        smallest = c_literal(np.iinfo(dtype).min, dtype)
        quotient = f"(({x} == {smallest} && {y} == ({ty})-1) ? {x} : {quotient})"
    return f"({y} == ({ty})0 ? ({ty})0 : {quotient})"


def _rem(ops, eqn) -> str:
    # C's fmod: the result has the dividend's sign; integer x % 0 is x, x % -1 is 0.
    (x, dtype), (y, _) = ops
    if _kind(dtype) == "f":
        return f"{_math_name('fmod', dtype)}({x}, {y})"
    if _kind(dtype) == "b":
        raise Unsupported("rem on bool")
    ty = c_type(dtype)
    remainder = f"({ty})({x} % {y})"
    if _kind(dtype) == "i":
        remainder = f"({y} == ({ty})-1 ? ({ty})0 : {remainder})"
    return f"({y} == ({ty})0 ? {x} : {remainder})"


def _shift(kind: str) -> Callable:
    """Shifts read the amount as unsigned; amounts of the bit width or more shift every bit
    out (0, or the sign for arithmetic shifts), where C's shifts would be undefined."""

    def rule(ops: list[Operand], eqn) -> str:
        (x, dtype), (amount, _) = ops
        if _kind(dtype) not in "iu":
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        ty, wide, unsigned = c_type(dtype), _wide(dtype), _unsigned(dtype)
        bits = np.dtype(dtype).itemsize * 8
        count = f"(({wide})({unsigned}){amount})"
        if kind == "arithmetic":
            clamped = f"({count} < {bits}u ? {count} : {bits - 1}u)"
            return f"(({ty})(({_signed(dtype)}){x} >> {clamped}))"
        if kind == "left":
            shifted = f"(({wide})({unsigned}){x} << {count})"
        else:
            shifted = f"(({wide})({unsigned}){x} >> {count})"
        return f"({count} < {bits}u ? ({ty}){shifted} : ({ty})0)"

    return rule


def _compare(op: str) -> Callable:
    # C's float comparisons are IEEE's: false with a NaN, except != (true), as lax.
    def rule(ops: list[Operand], eqn) -> str:
        (x, _), (y, _) = ops
        return f"({x} {op} {y})"

    return rule


def _extremum(helper: str) -> Callable:
    def rule(ops: list[Operand], eqn) -> str:
        (x, dtype), (y, _) = ops
        return (
            f"{helper}<{c_type(dtype)}>({x}, {y})"
            if _kind(dtype) != "f"
            else (f"{helper}({x}, {y})")
        )

    return rule


def _bitwise(op: str) -> Callable:
    def rule(ops: list[Operand], eqn) -> str:
        (x, dtype), (y, _) = ops
        if _kind(dtype) == "f":
            raise Unsupported(f"{eqn.primitive.name} on floats")
        return f"(({c_type(dtype)})({x} {op} {y}))"

    return rule


def _not(ops, eqn) -> str:
    ((x, dtype),) = ops
    if _kind(dtype) == "f":
        raise Unsupported("not on floats")
    return f"(!{x})" if _kind(dtype) == "b" else f"(({c_type(dtype)})~{x})"


def _select(ops, eqn) -> str:
    # A bool selector picks cases[1] where true; an int32 one is clipped into range.
    (which, dtype), *cases = ops
    if _kind(dtype) == "b":
        return f"({which} ? {cases[1][0]} : {cases[0][0]})"
    expression = cases[-1][0]
    for number in reversed(range(len(cases) - 1)):
        test = f"{which} <= {number}"
        expression = f"({test} ? {cases[number][0]} : {expression})"
    return expression


def _convert(ops, eqn) -> str:
    ((x, source),) = ops
    target = eqn.outvars[0].aval.dtype
    ty = c_type(target)
    if source == target:
        return x
    if _kind(target) == "b":
        return f"({x} != 0)"
    if _kind(source) == "f" and _kind(target) in "iu":
        raise Unsupported("float -> integer conversion")  # the impl's out-of-range values
    return f"(({ty}){x})"


_BITCASTS = {
    ("f", 4, "i"): "__float_as_int",
    ("f", 4, "u"): "__float_as_uint",
    ("i", 4, "f"): "__int_as_float",
    ("u", 4, "f"): "__uint_as_float",
    ("f", 8, "i"): "__double_as_longlong",
    ("f", 8, "u"): "(unsigned long long)__double_as_longlong",
    ("i", 8, "f"): "__longlong_as_double",
    ("u", 8, "f"): "__longlong_as_double",
}


def _bitcast(ops, eqn) -> str:
    # Same width on both sides (the shape rule says so).
    ((x, source),) = ops
    target = eqn.outvars[0].aval.dtype
    if _kind(source) == "b" or _kind(target) == "b":
        raise Unsupported("bitcast of bool")
    if _kind(source) != "f" and _kind(target) != "f":
        return f"(({c_type(target)}){x})"
    key = (_kind(source), np.dtype(source).itemsize, _kind(target))
    function = _BITCASTS.get(key)
    if function is None:
        raise Unsupported(f"bitcast {source} -> {target}")
    cast = "(long long)" if key == ("u", 8, "f") else ""
    return f"{function}({cast}{x})"


def _integer_pow(ops, eqn) -> str:
    ((x, dtype),) = ops
    y = eqn.params["y"]
    if _kind(dtype) == "b":
        raise Unsupported("integer_pow on bool")
    ty = c_type(dtype)
    factors = [x] * abs(y)
    if _kind(dtype) == "f":
        product = " * ".join(factors) if factors else c_literal(1, dtype)
        return f"(({c_literal(1, dtype)}) / ({product}))" if y < 0 else f"({product})"
    wide = _wide(dtype)
    product = " * ".join(f"({wide}){factor}" for factor in factors) if factors else "1u"
    return f"(({ty})({product}))"


def _abs(ops, eqn) -> str:
    ((x, dtype),) = ops
    if _kind(dtype) == "f":
        return f"{_math_name('fabs', dtype)}({x})"
    if _kind(dtype) == "u":
        return x
    return f"({x} < 0 ? ({c_type(dtype)})(0u - ({_wide(dtype)}){x}) : {x})"


def _sign(ops, eqn) -> str:
    # -1, 0 or 1; as np.sign, a float zero of either sign gives +0 and NaN gives NaN.
    ((x, dtype),) = ops
    ty = c_type(dtype)
    if _kind(dtype) == "b":
        raise Unsupported("sign on bool")
    if _kind(dtype) == "f":
        one, zero = c_literal(1, dtype), c_literal(0, dtype)
        return f"({x} > {zero} ? {one} : ({x} < {zero} ? -{one} : {x} + {zero}))"
    if _kind(dtype) == "u":
        return f"(({ty})({x} != 0))"
    return f"(({ty})(({x} > 0) - ({x} < 0)))"


def _is_finite(ops, eqn) -> str:
    ((x, dtype),) = ops
    return f"({_math_name('fabs', dtype)}({x}) < {c_literal(np.inf, dtype)})"


def _clamp(ops, eqn) -> str:
    (low, _), (x, dtype), (high, _) = ops
    lower, upper = _extremum("fg_max"), _extremum("fg_min")
    raised = lower([(x, dtype), (low, dtype)], eqn)
    return upper([(raised, dtype), (high, dtype)], eqn)


def _population_count(ops, eqn) -> str:
    ((x, dtype),) = ops
    if _kind(dtype) not in "iu":
        raise Unsupported(f"population_count on {dtype}")
    ty, unsigned = c_type(dtype), _unsigned(dtype)
    if np.dtype(dtype).itemsize == 8:
        return f"(({ty})__popcll(({unsigned}){x}))"
    return f"(({ty})__popc((unsigned int)({unsigned}){x}))"


def _logistic(ops, eqn) -> str:
    ((x, dtype),) = ops
    if _kind(dtype) != "f":
        raise Unsupported(f"logistic on {dtype}")
    one = c_literal(1, dtype)
    return f"({one} / ({one} + {_math_name('exp', dtype)}(-{x})))"


def _round(ops, eqn) -> str:
    # Ties away from zero is C's round; to nearest even is rint (the default FP mode).
    ((x, dtype),) = ops
    method = int(eqn.params["rounding_method"])
    return f"{_math_name('rint' if method == 1 else 'round', dtype)}({x})"


def _identity(ops, eqn) -> str:
    return ops[0][0]


SCALAR_RULES: dict[str, Callable] = {
    "add": _wrapping("+"),
    "sub": _wrapping("-"),
    "mul": _wrapping("*"),
    "div": _div,
    "rem": _rem,
    "neg": _neg,
    "shift_left": _shift("left"),
    "shift_right_logical": _shift("logical"),
    "shift_right_arithmetic": _shift("arithmetic"),
    "max": _extremum("fg_max"),
    "min": _extremum("fg_min"),
    "eq": _compare("=="),
    "ne": _compare("!="),
    "lt": _compare("<"),
    "le": _compare("<="),
    "gt": _compare(">"),
    "ge": _compare(">="),
    "and": _bitwise("&"),
    "or": _bitwise("|"),
    "xor": _bitwise("^"),
    "not": _not,
    "select_n": _select,
    "convert_element_type": _convert,
    "bitcast_convert_type": _bitcast,
    "integer_pow": _integer_pow,
    "abs": _abs,
    "sign": _sign,
    "is_finite": _is_finite,
    "clamp": _clamp,
    "population_count": _population_count,
    "logistic": _logistic,
    "round": _round,
    "stop_gradient": _identity,
    **{
        name: _float_function(c_name)
        for name, c_name in {
            "exp": "exp",
            "exp2": "exp2",
            "expm1": "expm1",
            "log": "log",
            "log1p": "log1p",
            "sqrt": "sqrt",
            "rsqrt": "rsqrt",
            "cbrt": "cbrt",
            "tanh": "tanh",
            "sin": "sin",
            "cos": "cos",
            "tan": "tan",
            "asin": "asin",
            "acos": "acos",
            "atan": "atan",
            "sinh": "sinh",
            "cosh": "cosh",
            "asinh": "asinh",
            "acosh": "acosh",
            "atanh": "atanh",
            "atan2": "atan2",
            "erf": "erf",
            "erfc": "erfc",
            "erf_inv": "erfinv",
            "lgamma": "lgamma",
            "pow": "pow",
            "floor": "floor",
            "ceil": "ceil",
            "nextafter": "nextafter",
        }.items()
    },
}
