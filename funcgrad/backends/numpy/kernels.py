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

__all__ = ["kernel_line", "allocating_call", "writes_in_place", "dot_into", "control_flow_runner"]

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


# ---------------------------------------------------------------------------------------
# Control flow: the bodies are programs compiled once, at compile time (by `compile_body`,
# through the same pipeline and backend as the enclosing program); the loop itself is a
# Python loop around them, so no step interprets the IR.


def _scalar_fixer(avals) -> Callable:
    """A function making the 0-d values among `values` arrays: a library call may hand back
    a NumPy scalar, which a native kernel cannot take as a buffer."""
    positions = [i for i, aval in enumerate(avals) if not aval.shape]
    if not positions:
        return lambda values: values

    def fix(values):
        values = list(values)
        for i in positions:
            if type(values[i]) is not np.ndarray:
                values[i] = np.asarray(values[i])
        return values

    return fix


def _cond_runner(eqn: JaxprEqn, compile_body: Callable) -> Callable:
    branches = [compile_body(b) for b in eqn.params["branches"]]
    last = len(branches) - 1
    fix = _scalar_fixer([v.aval for v in eqn.outvars])

    def run_cond(index, *operands):
        i = int(index)
        return fix(branches[0 if i < 0 else min(i, last)](*operands))

    return run_cond


def _while_runner(eqn: JaxprEqn, compile_body: Callable) -> Callable:
    params = eqn.params
    cond, body = compile_body(params["cond_jaxpr"]), compile_body(params["body_jaxpr"])
    n_cond, n_body = params["cond_nconsts"], params["body_nconsts"]
    fix = _scalar_fixer([v.aval for v in eqn.outvars])

    def run_while(*args):
        cond_consts, body_consts = args[:n_cond], args[n_cond : n_cond + n_body]
        carry = args[n_cond + n_body :]
        while cond(*cond_consts, *carry)[0]:
            carry = fix(body(*body_consts, *carry))
        return list(carry)

    return run_while


def _scan_runner(eqn: JaxprEqn, compile_body: Callable) -> Callable:
    params = eqn.params
    body = compile_body(params["jaxpr"])
    n_consts, n_carry, length = params["num_consts"], params["num_carry"], params["length"]
    steps = range(length - 1, -1, -1) if params["reverse"] else range(length)
    y_avals = [v.aval for v in eqn.outvars[n_carry:]]
    fix = _scalar_fixer([v.aval for v in eqn.outvars[:n_carry]])

    if not y_avals and len(eqn.invars) == n_consts + n_carry:

        def run_loop(*args):  # fori_loop's form: nothing sliced, nothing stacked
            consts, carry = args[:n_consts], args[n_consts:]
            for _ in steps:
                carry = fix(body(*consts, *carry))
            return list(carry)

        return run_loop

    def run_scan(*args):
        consts, carry = args[:n_consts], args[n_consts : n_consts + n_carry]
        xs = args[n_consts + n_carry :]
        ys = [np.empty(a.shape, a.dtype) for a in y_avals]
        for i in steps:
            # x[i, ...] is an array even when it has no axes left (x[i] would be a scalar).
            outs = body(*consts, *carry, *[x[i, ...] for x in xs])
            carry = fix(outs[:n_carry])
            for y, out in zip(ys, outs[n_carry:]):
                y[i] = out
        return [*carry, *ys]

    return run_scan


_CONTROL_FLOW = {"cond": _cond_runner, "while": _while_runner, "scan": _scan_runner}


def control_flow_runner(eqn: JaxprEqn, compile_body: Callable) -> Callable | None:
    """For a control-flow equation, a function of its operand buffers returning its result
    buffers, running bodies that `compile_body(ClosedJaxpr)` compiled; else None."""
    rule = _CONTROL_FLOW.get(eqn.primitive.name)
    return None if rule is None else rule(eqn, compile_body)
