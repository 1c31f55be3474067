"""NumPy kernels that write into a given output buffer (`out=`), one rule per primitive.

A rule turns an equation into one line of Python that computes the equation's result
into `out`, or returns None when the equation's dtypes need the primitive's own impl
(narrow floats are computed at float32 and rounded; integer division has its own
semantics), which then runs as a library call. Each rule must give bit-for-bit what the
impl gives. Rules marked in-place may write over an operand.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from funcgrad.core.jaxpr import JaxprEqn
from funcgrad.lax.linalg import as_batched_matmul

__all__ = ["kernel_line", "allocating_call", "writes_in_place", "dot_into"]

_WIDE_FLOATS = frozenset(map(np.dtype, ["float32", "float64", "complex64", "complex128"]))
_WHOLE = frozenset(map(np.dtype, ["bool", "int8", "int16", "int32", "int64"])) | frozenset(
    map(np.dtype, ["uint8", "uint16", "uint32", "uint64"])
)
_ANY = _WIDE_FLOATS | _WHOLE
_INEXACT_MATH = {
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "sqrt": "sqrt",
    "exp2": "exp2",
    "expm1": "expm1",
    "log1p": "log1p",
    "tan": "tan",
    "sinh": "sinh",
    "cosh": "cosh",
    "asin": "arcsin",
    "acos": "arccos",
    "atan": "arctan",
    "asinh": "arcsinh",
    "acosh": "arccosh",
    "atanh": "arctanh",
    "floor": "floor",
    "ceil": "ceil",
    "pow": "power",
    "div": "true_divide",
    "atan2": "arctan2",
}
_NUMERIC = {
    "add": "add",
    "sub": "subtract",
    "mul": "multiply",
    "neg": "negative",
    "max": "maximum",
    "min": "minimum",
    "eq": "equal",
    "ne": "not_equal",
    "lt": "less",
    "le": "less_equal",
    "gt": "greater",
    "ge": "greater_equal",
}
_BITWISE = {"and": "bitwise_and", "or": "bitwise_or", "xor": "bitwise_xor", "not": "invert"}
_REDUCE = {"reduce_sum": "add", "reduce_prod": "multiply"}


def _operand_dtypes(eqn: JaxprEqn) -> set:
    return {a.aval.dtype for a in eqn.invars} | {v.aval.dtype for v in eqn.outvars}


def _ufunc(name: str, allowed: frozenset) -> Callable:
    def rule(eqn, args, out):
        if not _operand_dtypes(eqn) <= allowed:
            return None
        return f"np.{name}({', '.join(args)}{f', out={out}' if out else ''})"

    rule.in_place = True
    rule.allocates = True
    return rule


def _select(eqn, args, out):
    which, *cases = args
    if len(cases) != 2 or eqn.invars[0].aval.dtype != np.dtype(bool):
        return None
    return f"np.copyto({out}, {cases[0]}); np.copyto({out}, {cases[1]}, where={which})"


def _convert(eqn, args, out):
    source, target = eqn.invars[0].aval.dtype, eqn.outvars[0].aval.dtype
    if source not in _ANY or target not in _ANY or (source.kind in "fc" and target.kind in "iub"):
        return None  # float -> integer conversions go through the impl's rules
    return f"np.copyto({out}, {args[0]}, casting='unsafe')"


def _integer_pow(eqn, args, out):
    # Complex squares differ in the last bit between x*x and the impl's np.power.
    if eqn.params["y"] != 2 or not _operand_dtypes(eqn) <= _ANY - _COMPLEX:
        return None
    return f"np.multiply({args[0]}, {args[0]}, out={out})"


_integer_pow.in_place = True


def _reduce(ufunc: str) -> Callable:
    def rule(eqn, args, out):
        if not _operand_dtypes(eqn) <= _ANY:
            return None
        axes = tuple(eqn.params["axes"])
        return f"np.{ufunc}.reduce({args[0]}, axis={axes}, dtype={out}.dtype, out={out})"

    return rule


def _extremum(ufunc: str) -> Callable:
    def rule(eqn, args, out):
        aval = eqn.invars[0].aval
        # Empty reductions need the impl's identity; NaN propagation matches np.maximum.
        if aval.dtype not in _WIDE_FLOATS - _COMPLEX or 0 in aval.shape:
            return None
        return f"np.{ufunc}.reduce({args[0]}, axis={tuple(eqn.params['axes'])}, out={out})"

    return rule


_COMPLEX = frozenset(map(np.dtype, ["complex64", "complex128"]))


def _dot_general(eqn, args, out):
    lhs, rhs = (a.aval for a in eqn.invars)
    dtype = eqn.outvars[0].aval.dtype
    if not (lhs.dtype == rhs.dtype == dtype and dtype in _WIDE_FLOATS):
        return None
    return f"dot_into({args[0]}, {args[1]}, {out}, {eqn.params['dimension_numbers']!r})"


def dot_into(lhs, rhs, out, dimension_numbers):
    """dot_general into `out`, reading transposed operands in place."""
    (lc, rc), (lb, _) = dimension_numbers
    if not lb and len(lc) == len(rc) == 1 and lhs.ndim <= 2 and rhs.ndim <= 2:
        a = lhs.T if lhs.ndim == 2 and lc[0] == 0 else lhs
        b = rhs.T if rhs.ndim == 2 and rc[0] == 1 else rhs
        np.matmul(a, b, out=out)
        return
    lhs3, rhs3, _ = as_batched_matmul(lhs, rhs, dimension_numbers)
    np.matmul(lhs3, rhs3, out=out.reshape(lhs3.shape[0], lhs3.shape[1], rhs3.shape[2]))


_RULES: dict[str, Callable] = {
    **{p: _ufunc(u, _WIDE_FLOATS) for p, u in _INEXACT_MATH.items()},
    **{p: _ufunc(u, _ANY) for p, u in _NUMERIC.items()},
    **{p: _ufunc(u, _WHOLE) for p, u in _BITWISE.items()},
    "select_n": _select,
    "convert_element_type": _convert,
    "integer_pow": _integer_pow,
    **{p: _reduce(u) for p, u in _REDUCE.items()},
    "reduce_max": _extremum("maximum"),
    "reduce_min": _extremum("minimum"),
    "dot_general": _dot_general,
}


def kernel_line(eqn: JaxprEqn, args: list[str], out: str) -> str | None:
    """One line computing `eqn` into the buffer named `out`, or None (use the impl)."""
    rule = _RULES.get(eqn.primitive.name)
    if rule is None or len(eqn.outvars) != 1 or eqn.outvars[0].aval.size == 0:
        return None
    return rule(eqn, args, out)


def allocating_call(eqn: JaxprEqn, args: list[str]) -> str | None:
    """The kernel as an expression making its own result (a plain ufunc call), if it has
    one: cheaper than preallocating for small arrays."""
    rule = _RULES.get(eqn.primitive.name)
    if not getattr(rule, "allocates", False) or len(eqn.outvars) != 1:
        return None
    return rule(eqn, args, None)


def writes_in_place(eqn: JaxprEqn) -> bool:
    """Whether the kernel may overwrite one of its operands (an elementwise ufunc)."""
    return getattr(_RULES.get(eqn.primitive.name), "in_place", False)
