"""One fusion group -> one native loop nest, generated as LLVM IR.

A group's iteration space is its `shape`. The kernel's outermost loop runs over the kept
(not reduced) index space, flattened; that is the loop callers split across threads
(kernel ABI: `kernel(start, stop, pointers)`). Inside it, loops over the reduced axes, or,
for a group without reductions, over the last axis in blocks, visit each point once: the
group's external inputs are loaded there (through their strides, so broadcast, transposed
and sliced operands are read in place), its equations are evaluated as scalar SSA values,
its full-shape outputs are stored, and reductions accumulate. The innermost loop has
constant trip counts and strides, which is what LLVM's loop vectorizer needs.

Kernels are specialized on their inputs' strides, which are fixed per program but known
only when the program first runs (an input may be a transposed view an earlier step made).
A group holding an equation without a rule here is not lowered (its backend falls back).
"""

from __future__ import annotations

import ctypes
import itertools
import re
from typing import Callable, NamedTuple, Sequence

import llvmlite.ir as ir
import numpy as np

from funcgrad.compiler.passes.fusion import REDUCTION, FusionGroup
from funcgrad.compiler.passes.row_fusion import ROWS
from funcgrad.core.jaxpr import Literal, Var

__all__ = [
    "GROUP_KERNEL_SIGNATURE",
    "Unsupported",
    "GroupCode",
    "group_code",
    "contiguous_strides",
    "module_text",
    "plan_row_passes",
]

_I64 = ir.IntType(64)
_PTR = ir.PointerType()
_BLOCK = 2048  # elements of the last axis per parallel iteration of an elementwise group

_LLVM_TYPES = {
    "float32": ir.FloatType(),
    "float64": ir.DoubleType(),
    "int8": ir.IntType(8),
    "int16": ir.IntType(16),
    "int32": ir.IntType(32),
    "int64": ir.IntType(64),
    "uint8": ir.IntType(8),
    "uint16": ir.IntType(16),
    "uint32": ir.IntType(32),
    "uint64": ir.IntType(64),
    "bool": ir.IntType(8),  # stored as a byte; computed with as i1
}


class Unsupported(Exception):
    """The group holds something this backend does not lower."""


def _llvm_type(dtype: np.dtype) -> ir.Type:
    try:
        return _LLVM_TYPES[np.dtype(dtype).name]
    except KeyError:
        raise Unsupported(f"dtype {dtype}") from None


def _is_float(dtype) -> bool:
    return np.dtype(dtype).kind == "f"


def _is_signed(dtype) -> bool:
    return np.dtype(dtype).kind == "i"


# ---------------------------------------------------------------------------------------
# Scalar rules: equation -> LLVM value, given its operands as (value, dtype).

Scalar = tuple  # (ir.Value, np.dtype); bools are i1 values


def _binary(float_op: str, int_op: str | None) -> Callable:
    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        (x, dtype), (y, _) = ops
        if _is_float(dtype):
            return getattr(b, float_op)(x, y)
        if int_op is None or dtype == np.dtype(bool):
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        return getattr(b, int_op)(x, y)

    return rule


def _declare(module: ir.Module, name: str, ty: ir.Type, arity: int) -> ir.Function:
    """An overloaded LLVM intrinsic on `ty`, e.g. llvm.maximum.f32."""
    fn_type = ir.FunctionType(ty, [ty] * arity)
    return module.declare_intrinsic(f"llvm.{name}", [ty], fn_type)


def _intrinsic(name: str) -> Callable:
    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        values = [v for v, _ in ops]
        dtype = ops[0][1]
        if not _is_float(dtype):
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        return b.call(_declare(b.module, name, values[0].type, len(values)), values)

    return rule


def _math(name: str) -> Callable:
    """A function from the vectorizable math library (mathlib.py)."""

    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        from funcgrad.backends.llvm import mathlib

        dtype = ops[0][1]
        if not _is_float(dtype):
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        fn = mathlib.math_function(b.module, name, ops[0][0].type)
        return b.call(fn, [v for v, _ in ops])

    return rule


def _neg(b, ops, eqn, env):
    ((x, dtype),) = ops
    return b.fneg(x) if _is_float(dtype) else b.neg(x)


def _compare(float_cond: str, int_cond: str) -> Callable:
    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        (x, dtype), (y, _) = ops
        if _is_float(dtype):
            if float_cond == "!=":
                return b.fcmp_unordered("!=", x, y)
            return b.fcmp_ordered(float_cond, x, y)
        if dtype == np.dtype(bool) or not _is_signed(dtype):
            return b.icmp_unsigned(int_cond, x, y)
        return b.icmp_signed(int_cond, x, y)

    return rule


def _extremum(float_intrinsic: str, cond: str) -> Callable:
    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        (x, dtype), (y, _) = ops
        if _is_float(dtype):
            return b.call(_declare(b.module, float_intrinsic, x.type, 2), [x, y])
        pick = b.icmp_signed(cond, x, y) if _is_signed(dtype) else b.icmp_unsigned(cond, x, y)
        return b.select(pick, x, y)

    return rule


def _bitwise(op: str) -> Callable:
    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        if _is_float(ops[0][1]):
            raise Unsupported(f"{eqn.primitive.name} on floats")
        return getattr(b, op)(*[v for v, _ in ops])

    return rule


def _not(b, ops, eqn, env):
    ((x, dtype),) = ops
    if _is_float(dtype):
        raise Unsupported("not on floats")
    return b.not_(x)


def _select(b, ops, eqn, env):
    (which, dtype), *cases = ops
    if len(cases) != 2 or dtype != np.dtype(bool):
        raise Unsupported("select_n with an integer selector")
    return b.select(which, cases[1][0], cases[0][0])


def _convert(b, ops, eqn, env):
    ((x, source),) = ops
    target = eqn.outvars[0].aval.dtype
    ty = _llvm_type(target)
    if source == target:
        return x
    if target == np.dtype(bool):
        if _is_float(source):
            return b.fcmp_unordered("!=", x, ir.Constant(x.type, 0.0))
        return b.icmp_unsigned("!=", x, ir.Constant(x.type, 0))
    if source == np.dtype(bool):
        return b.uitofp(x, ty) if _is_float(target) else b.zext(x, ty)
    if _is_float(source) and _is_float(target):
        return b.fpext(x, ty) if ty.intrinsic_name == "f64" else b.fptrunc(x, ty)
    if _is_float(target):
        return b.sitofp(x, ty) if _is_signed(source) else b.uitofp(x, ty)
    if _is_float(source):
        raise Unsupported("float -> integer conversion")  # the impl's saturation rules
    if ty.width > x.type.width:
        return b.sext(x, ty) if _is_signed(source) else b.zext(x, ty)
    return b.trunc(x, ty) if ty.width < x.type.width else x


def _bitcast(b, ops, eqn, env):
    # Same width on both sides (the shape rule says so); bool never takes part.
    ((x, _),) = ops
    return b.bitcast(x, _llvm_type(eqn.outvars[0].aval.dtype))


def _integer_pow(b, ops, eqn, env):
    ((x, dtype),) = ops
    y = eqn.params["y"]
    if not _is_float(dtype) or y < 0:
        raise Unsupported("integer_pow on integers or to a negative power")
    result, base, n = None, x, y
    while n:
        if n & 1:
            result = base if result is None else b.fmul(result, base)
        n >>= 1
        if n:
            base = b.fmul(base, base)
    return ir.Constant(x.type, 1.0) if result is None else result


def _safe_divisor(b, x, y, dtype) -> tuple[ir.Value, ir.Value]:
    """(y == 0, a divisor LLVM may divide by): x / 0 and INT_MIN / -1 are undefined
    behaviour in LLVM but defined values in lax, so those divide by 1 instead."""
    zero = b.icmp_unsigned("==", y, ir.Constant(y.type, 0))
    unsafe = zero
    if _is_signed(dtype):
        smallest = ir.Constant(x.type, -(1 << (x.type.width - 1)))
        overflow = b.and_(
            b.icmp_signed("==", x, smallest), b.icmp_signed("==", y, ir.Constant(y.type, -1))
        )
        unsafe = b.or_(zero, overflow)
    return zero, b.select(unsafe, ir.Constant(y.type, 1), y)


def _div(b, ops, eqn, env):
    # Integer quotients round toward zero (C's rule, LLVM's sdiv); x / 0 is 0.
    (x, dtype), (y, _) = ops
    if _is_float(dtype):
        return b.fdiv(x, y)
    if dtype == np.dtype(bool):
        raise Unsupported("div on bool")
    zero, divisor = _safe_divisor(b, x, y, dtype)
    quotient = b.sdiv(x, divisor) if _is_signed(dtype) else b.udiv(x, divisor)
    return b.select(zero, ir.Constant(x.type, 0), quotient)


def _rem(b, ops, eqn, env):
    # C's fmod: the result has the dividend's sign; integer x % 0 is x.
    (x, dtype), (y, _) = ops
    if _is_float(dtype):
        return b.frem(x, y)
    if dtype == np.dtype(bool):
        raise Unsupported("rem on bool")
    zero, divisor = _safe_divisor(b, x, y, dtype)
    remainder = b.srem(x, divisor) if _is_signed(dtype) else b.urem(x, divisor)
    return b.select(zero, x, remainder)


def _shift(kind: str) -> Callable:
    """Shifts read the amount as unsigned; amounts of the bit width or more shift every bit
    out (0, or the sign for arithmetic shifts) where LLVM's shifts would be poison."""

    def rule(b: ir.IRBuilder, ops: list[Scalar], eqn, env) -> ir.Value:
        (x, dtype), (amount, _) = ops
        if _is_float(dtype) or dtype == np.dtype(bool):
            raise Unsupported(f"{eqn.primitive.name} on {dtype}")
        width = ir.Constant(x.type, x.type.width)
        in_range = b.icmp_unsigned("<", amount, width)
        if kind == "ashr":
            clamped = b.select(in_range, amount, ir.Constant(x.type, x.type.width - 1))
            return b.ashr(x, clamped)
        shifted = getattr(b, kind)(x, b.select(in_range, amount, ir.Constant(x.type, 0)))
        return b.select(in_range, shifted, ir.Constant(x.type, 0))

    return rule


def _sign(b, ops, eqn, env):
    # -1, 0 or 1; as np.sign, a float zero of either sign gives +0 and NaN gives NaN.
    ((x, dtype),) = ops
    if dtype == np.dtype(bool):
        raise Unsupported("sign on bool")
    if _is_float(dtype):
        zero, one = ir.Constant(x.type, 0.0), ir.Constant(x.type, 1.0)
        inner = b.select(b.fcmp_ordered("<", x, zero), b.fneg(one), b.fadd(x, zero))
        return b.select(b.fcmp_ordered(">", x, zero), one, inner)
    zero, one = ir.Constant(x.type, 0), ir.Constant(x.type, 1)
    if not _is_signed(dtype):
        return b.select(b.icmp_unsigned("!=", x, zero), one, zero)
    inner = b.select(b.icmp_signed("<", x, zero), ir.Constant(x.type, -1), zero)
    return b.select(b.icmp_signed(">", x, zero), one, inner)


def _is_finite(b, ops, eqn, env):
    ((x, dtype),) = ops
    magnitude = b.call(_declare(b.module, "fabs", x.type, 1), [x])
    return b.fcmp_ordered("<", magnitude, ir.Constant(x.type, float("inf")))


def _clamp(b, ops, eqn, env):
    low, x, high = ops
    raised = SCALAR_RULES["max"](b, [x, low], eqn, env)
    return SCALAR_RULES["min"](b, [(raised, x[1]), high], eqn, env)


def _population_count(b, ops, eqn, env):
    ((x, dtype),) = ops
    if dtype == np.dtype(bool):
        raise Unsupported("population_count on bool")
    return b.call(_declare(b.module, "ctpop", x.type, 1), [x])


def _rsqrt(b, ops, eqn, env):
    ((x, dtype),) = ops
    sqrt = _intrinsic("sqrt")(b, ops, eqn, env)
    return b.fdiv(ir.Constant(x.type, 1.0), sqrt)


def _identity(b, ops, eqn, env):
    return ops[0][0]


SCALAR_RULES: dict[str, Callable] = {
    "add": _binary("fadd", "add"),
    "sub": _binary("fsub", "sub"),
    "mul": _binary("fmul", "mul"),
    "div": _div,
    "rem": _rem,
    "shift_left": _shift("shl"),
    "shift_right_logical": _shift("lshr"),
    "shift_right_arithmetic": _shift("ashr"),
    "sign": _sign,
    "is_finite": _is_finite,
    "clamp": _clamp,
    "population_count": _population_count,
    "neg": _neg,
    "max": _extremum("maximum", ">"),
    "min": _extremum("minimum", "<"),
    "eq": _compare("==", "=="),
    "ne": _compare("!=", "!="),
    "lt": _compare("<", "<"),
    "le": _compare("<=", "<="),
    "gt": _compare(">", ">"),
    "ge": _compare(">=", ">="),
    "and": _bitwise("and_"),
    "or": _bitwise("or_"),
    "xor": _bitwise("xor"),
    "not": _not,
    "select_n": _select,
    "convert_element_type": _convert,
    "bitcast_convert_type": _bitcast,
    "integer_pow": _integer_pow,
    "abs": _intrinsic("fabs"),
    "floor": _intrinsic("floor"),
    "ceil": _intrinsic("ceil"),
    "sqrt": _intrinsic("sqrt"),
    "rsqrt": _rsqrt,
    "stop_gradient": _identity,
    **{name: _math(name) for name in ("exp", "log", "log1p", "expm1", "tanh", "sin", "cos")},
    "logistic": _math("logistic"),
    "erf": _math("erf"),
    "pow": _math("pow"),
}

# Branches into the check block of an elementwise group's innermost loop (its entry and
# its back edge), and the placeholder module_text numbers into loop metadata.
_INNER_LOOP_BRANCH = re.compile(r'br label %"inner\d+\.check"')
_LOOP_MARK = "!FUNCGRAD_LOOP"
_LATENCY_BOUND = frozenset(
    ["exp", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos", "erf", "pow"]
)

# Layout changes of one value per row inside a ROWS group: the value is unchanged.
_ROW_LAYOUT = ("reshape", "squeeze", "expand_dims")

# Reductions a group may end in, with the LLVM intrinsic combining two float values.
_REDUCE = {
    "reduce_sum": "fadd",
    "reduce_max": "maximum",
    "reduce_min": "minimum",
    "argmax": "maximum",
    "argmin": "minimum",
}
# Reductions to the position of the extreme value along their one axis.
_INDEX_REDUCE = ("argmax", "argmin")


# ---------------------------------------------------------------------------------------
# The loop nest


class GroupCode:
    """A group's kernel generator: `ir_for(strides)` is the module text for inputs with
    those element strides; `inputs`/`outputs` give the pointer order of the kernel ABI."""

    def __init__(self, group: FusionGroup, name: str):
        self.group, self.name = group, name
        self.shape = tuple(group.shape)
        self.inputs = tuple(group.inputs)
        self.outputs = tuple(group.outputs)
        self.reduced_axes = self._reduced_axes()
        self.kept = [d for d in range(len(self.shape)) if d not in self.reduced_axes]
        # Parallel iterations: the kept index space. When the last axis is kept it is split
        # into blocks that are the innermost loop, so a 1-D array still spreads over the
        # cores, and a reduction over leading axes (a bias gradient's column sums)
        # accumulates whole contiguous rows into its output instead of striding down columns.
        last = len(self.shape) - 1
        self.columns = bool(self.shape) and last not in self.reduced_axes
        if group.kind == ROWS:
            self.columns = False
            self.passes = plan_row_passes(self)
        if self.columns:
            self.blocks = -(-self.shape[-1] // _BLOCK)
            outer = int(np.prod([self.shape[d] for d in self.kept[:-1]], dtype=np.int64))
            self.iterations = outer * self.blocks
        else:
            self.blocks = 1
            self.iterations = int(np.prod([self.shape[d] for d in self.kept], dtype=np.int64))
        self._check_supported()

    def _reduced_axes(self) -> tuple:
        # A reduction over no axes is a copy; it is evaluated as one (see _evaluate).
        axes = {
            tuple(e.params["axes"])
            for e in self.group.eqns
            if e.primitive.name in _REDUCE and e.params["axes"]
        }
        if len(axes) > 1:
            raise Unsupported("reductions over different axes in one group")
        for eqn in self.group.eqns:
            name = eqn.primitive.name
            if name.startswith(("reduce_", "arg")) and name not in _REDUCE:
                raise Unsupported(name)
        return tuple(sorted(axes.pop())) if axes else ()

    def _check_supported(self):
        if self.group.kind not in ("elementwise", REDUCTION, ROWS):
            raise Unsupported(f"{self.group.kind} group")
        for var in (*self.inputs, *self.outputs):
            _llvm_type(var.aval.dtype)
        for eqn in self.group.eqns:
            name = eqn.primitive.name
            if (
                name not in SCALAR_RULES
                and name not in _REDUCE
                and name
                not in (
                    "broadcast_in_dim",
                    "iota",
                    *(_ROW_LAYOUT if self.group.kind == ROWS else ()),
                )
            ):
                raise Unsupported(name)
            if name in _REDUCE and name not in _INDEX_REDUCE:
                if eqn.invars[0].aval.dtype == np.dtype(bool):
                    raise Unsupported(f"{name} on bool")
        # Generate the contiguous variant now: rule-level refusals surface here, and it is
        # the variant almost every call runs.
        self.contiguous_definitions = self.definitions(self.contiguous)

    @property
    def contiguous(self) -> tuple:
        """The input strides of C-contiguous inputs (what most calls see)."""
        return tuple(contiguous_strides(v.aval.shape) for v in self.inputs)

    def definitions(self, strides: Sequence[tuple]) -> dict[str, str]:
        """The text of this kernel, for inputs with these element strides, and of the
        functions it calls, by name: a program's module is the union of its kernels'."""
        module = ir.Module(name=self.name)
        _Emitter(self, strides, module)
        texts = {fn.name: str(fn) for fn in module.globals.values()}
        if self._interleaves():
            texts[self.name] = _INNER_LOOP_BRANCH.sub(
                rf"\g<0>, !llvm.loop {_LOOP_MARK}", texts[self.name]
            )
        return texts

    def _interleaves(self) -> bool:
        # An elementwise loop around a math-library function is bound by the function's
        # latency chains; two vector iterations in flight hide them (tanh-GELU runs 25%
        # faster), where LLVM's cost model, counting registers, picks one.
        return self.group.kind == "elementwise" and any(
            eqn.primitive.name in _LATENCY_BOUND for eqn in self.group.eqns
        )

    def ir_for(self, strides: Sequence[tuple]) -> str:
        """A module holding just this kernel, for inputs with these element strides."""
        if tuple(strides) == self.contiguous:
            return module_text(self.contiguous_definitions)
        return module_text(self.definitions(strides))


def module_text(definitions: dict[str, str]) -> str:
    """A module of these global definitions (the engine sets its target), with the loop
    metadata its marked loops ask for, numbered in order so the text is deterministic."""
    text = "\n".join(definitions.values())
    count = text.count(_LOOP_MARK)
    if not count:
        return text
    pieces = text.split(_LOOP_MARK)
    hint = 2 * count
    text = "".join(piece + (f"!{i}" if i < count else "") for i, piece in enumerate(pieces))
    loops = "".join(f"!{i} = distinct !{{!{i}, !{hint}}}\n" for i in range(count))
    return f'{text}\n{loops}!{hint} = !{{!"llvm.loop.interleave.count", i32 2}}\n'


class _RowPass(NamedTuple):
    """One step of a ROWS kernel for a row: `row_eqns` computed once, then (when it has
    any) a loop over the row reading back the (value, output) pairs in `reloads` from the
    output's memory, evaluating `point_eqns`, accumulating `reductions`, storing the
    full-shape values `stores`, and parking the (value, output) pairs of `keeps` in the
    output's memory for the last pass."""

    row_eqns: list
    point_eqns: list
    reductions: list
    stores: list
    keeps: tuple = ()
    reloads: tuple = ()


# Full-shape values worth parking in an output's memory between passes over a row rather
# than computing twice (the row is still in cache when the last pass reads them back).
_COSTLY = frozenset(
    ["exp", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos", "erf", "pow", "div"]
)


def plan_row_passes(code: "GroupCode") -> list[_RowPass]:
    """Order a ROWS group's equations into passes over a row.

    A value is *ready* after the number of passes its reductions need: program inputs at 0,
    a reduction one more than its operand. Per-row values are computed as soon as they
    are ready; each pass accumulates the reductions that become ready with it, evaluating
    the full-shape equations they read (again, in every pass that reads them); a last pass
    stores the full-shape outputs.
    """
    shape, group = code.shape, code.group
    full = int(np.prod(shape, dtype=np.int64))
    rows = int(np.prod([shape[d] for d in code.kept], dtype=np.int64))
    if not code.reduced_axes or rows == full:
        raise Unsupported("a rows group without a reduction over more than one element")
    rank = len(shape)
    if code.reduced_axes != tuple(range(rank - len(code.reduced_axes), rank)):
        raise Unsupported("a rows group reducing leading axes")
    kept_long = [d for d in code.kept if shape[d] != 1]
    ready: dict = {}
    role: dict = {}
    made: dict = {}
    for eqn in group.eqns:
        if len(eqn.outvars) != 1:
            raise Unsupported("multiple results in a rows group")
        out = eqn.outvars[0]
        made[out] = eqn
        level = max((ready.get(a, 0) for a in eqn.invars if isinstance(a, Var)), default=0)
        size = int(np.prod(out.aval.shape, dtype=np.int64))
        name = eqn.primitive.name
        if name in _REDUCE and eqn.params["axes"]:
            if eqn.invars[0].aval.shape != shape:
                raise Unsupported(f"{name} of a {eqn.invars[0].aval.shape} value in a rows group")
            role[out], ready[out] = "reduction", level + 1
        elif size == full and out.aval.shape == shape and name not in _ROW_LAYOUT:
            role[out], ready[out] = "point", level
            if name == "broadcast_in_dim" and eqn.invars[0] in role:
                _check_row_broadcast(eqn, kept_long)
        elif size == rows and name != "iota":
            role[out], ready[out] = "row", level
        else:
            raise Unsupported(f"{name} making {out.aval.shape} in a rows group over {shape}")
    reductions = [e for e in group.eqns if role[e.outvars[0]] == "reduction"]
    last = max((ready[e.outvars[0]] for e in reductions), default=0)
    passes = []
    for number in range(1, last + 2):
        row_eqns = [
            e
            for e in group.eqns
            if role[e.outvars[0]] == "row" and ready[e.outvars[0]] == number - 1
        ]
        mine = [e for e in reductions if ready[e.outvars[0]] == number]
        stores = []
        if number == last + 1:
            stores = [v for v in group.outputs if role.get(v) == "point"]
        needed = _point_slice([e.invars[0] for e in mine] + stores, made, role)
        passes.append(_RowPass(row_eqns, needed, mine, stores))
    return _park_costly_values(passes, made, role)


def _park_costly_values(passes: list, made: dict, role: dict) -> list:
    """Softmax's exp(x - max) is needed by its sum's pass and again by the last pass.
    Such a costly value (computed with a transcendental or a division) is stored into the
    memory of an output of its dtype by the earlier pass and read back by the last pass,
    which overwrites that element with its own result right after: one computation
    instead of two, at the price of a write and a read that stay in cache."""
    *earlier, last = passes
    if not earlier or not last.stores:
        return passes
    computed_before = {e.outvars[0]: n for n, p in enumerate(earlier) for e in p.point_eqns}
    in_last = {e.outvars[0] for e in last.point_eqns}
    costly = {
        v
        for v in in_last & set(computed_before)
        if any(e.primitive.name in _COSTLY for e in _point_slice([v], made, role))
    }
    # Only the values the last pass reads directly from the earlier ones, not their parts.
    frontier = [
        v
        for v in costly
        if any(v in e.invars and e.outvars[0] not in costly for e in last.point_eqns)
        or v in last.stores
    ]
    free = [o for o in last.stores if o not in frontier]
    keeps: dict[int, list] = {}
    reloads = []
    for value in sorted(frontier, key=lambda v: computed_before[v]):
        output = next((o for o in free if o.aval.dtype == value.aval.dtype), None)
        if output is None:
            continue
        free.remove(output)
        keeps.setdefault(computed_before[value], []).append((value, output))
        reloads.append((value, output))
    if not reloads:
        return passes
    parked = {value for value, _ in reloads}
    needed = _point_slice(last.stores, made, role, available=parked)
    passes = [p._replace(keeps=tuple(keeps.get(n, ()))) for n, p in enumerate(earlier)]
    return [*passes, last._replace(point_eqns=needed, reloads=tuple(reloads))]


def _check_row_broadcast(eqn, kept_long: list) -> None:
    """A per-row value broadcast over its row: its long axes must land on the kept axes
    (longer than 1) in order, or it would be read along the row instead."""
    operand = eqn.invars[0]
    dims = eqn.params["broadcast_dimensions"]
    long_dims = [d for d, size in zip(dims, operand.aval.shape) if size != 1]
    if long_dims != kept_long:
        raise Unsupported("a per-row value broadcast along the row")


def _point_slice(wanted: list, made: dict, role: dict, available: set = frozenset()) -> list:
    """The full-shape equations computing `wanted` from the `available` values, in program
    order."""
    found: dict = {}
    pending = [v for v in wanted if isinstance(v, Var)]
    while pending:
        var = pending.pop()
        if var in found or var in available or role.get(var) != "point":
            continue
        eqn = made[var]
        found[var] = eqn
        pending.extend(a for a in eqn.invars if isinstance(a, Var))
    order = {id(eqn): i for i, eqn in enumerate(made.values())}
    return sorted(found.values(), key=lambda e: order[id(e)])


def contiguous_strides(shape: tuple) -> tuple:
    """Element strides of a C-contiguous array of `shape`."""
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step *= d
    return tuple(reversed(strides))


# The kernel ABI of a group: kernel(start, stop, arrays), `arrays` a Python tuple of NumPy
# arrays (inputs, then outputs). The kernel reads each array's data pointer from the objects
# themselves: CPython's tuple keeps its items' pointers right after its header, and NumPy's
# array object keeps its data pointer right after the object header. Handing the tuple over
# costs nothing, where asking NumPy for each address costs microseconds a call.
_TUPLE_ITEMS = tuple.__basicsize__
_ARRAY_DATA = object.__basicsize__
GROUP_KERNEL_SIGNATURE = ctypes.CFUNCTYPE(None, ctypes.c_int64, ctypes.c_int64, ctypes.py_object)


def _array_data(b: ir.IRBuilder, arrays: ir.Value, index: int) -> ir.Value:
    """The data pointer of the array at `index` of the `arrays` tuple."""
    item_at = b.gep(arrays, [_const64(_TUPLE_ITEMS + 8 * index)], source_etype=ir.IntType(8))
    array = b.load(item_at, typ=_PTR)
    data_at = b.gep(array, [_const64(_ARRAY_DATA)], source_etype=ir.IntType(8))
    return b.load(data_at, typ=_PTR)


def _const64(value: int) -> ir.Constant:
    return ir.Constant(_I64, value)


class _Emitter:
    """Builds one kernel, for given input strides (in elements), into a module."""

    def __init__(self, code: GroupCode, strides: Sequence[tuple], module: ir.Module):
        self.code = code
        self.module = module
        fn_type = ir.FunctionType(ir.VoidType(), [_I64, _I64, _PTR])
        self.fn = ir.Function(self.module, fn_type, code.name)
        self.fn.attributes.add("nounwind")
        start, stop, args = self.fn.args
        b = self.b = ir.IRBuilder(self.fn.append_basic_block("entry"))
        self.pointers = {}
        for index, var in enumerate((*code.inputs, *code.outputs)):
            self.pointers[var] = _array_data(b, args, index)
        # Where each value of the iteration space lives, per group shape axis.
        self.in_strides = dict(zip(code.inputs, strides))
        self.positions: dict = {}  # index reductions' position slots
        self._emit_loops(start, stop)
        b.ret_void()

    # -- index arithmetic ------------------------------------------------------------------

    def _const(self, value: int) -> ir.Constant:
        return ir.Constant(_I64, int(value))

    def _offset(self, index: dict, strides: Sequence[int], axes: Sequence[int]) -> ir.Value:
        """Sum of index[axis] * stride over the group axes that stride applies to."""
        b, total = self.b, self._const(0)
        for axis, stride in zip(axes, strides):
            if stride and axis in index:
                total = b.add(total, b.mul(index[axis], self._const(stride)))
        return total

    def _emit_loops(self, start: ir.Value, stop: ir.Value) -> None:
        code = self.code
        with _counted_loop(self.b, start, stop, "parallel") as p:
            index = self._decompose(p)
            if code.group.kind == ROWS:
                self._emit_rows(index)
            elif code.columns and code.reduced_axes:
                self._emit_column_reduction(index)
            elif code.reduced_axes:
                self._emit_reduction(index)
            elif not code.shape:
                self._emit_point(index)
            else:
                last = len(code.shape) - 1
                with self._block_loop(index.pop(last), "inner") as j:
                    self._emit_point({**index, last: j})

    def _block_loop(self, block: ir.Value, label: str) -> "_counted_loop":
        """The loop over one block of the last axis."""
        b = self.b
        first = b.mul(block, self._const(_BLOCK))
        limit = b.add(first, self._const(_BLOCK))
        end = self._const(self.code.shape[-1])
        return _counted_loop(b, first, b.select(b.icmp_signed("<", limit, end), limit, end), label)

    def _decompose(self, p: ir.Value) -> dict:
        """Kept axes' indices (the block index standing in for a kept last axis)."""
        code, b = self.code, self.b
        if code.columns:
            sizes = [(d, code.shape[d]) for d in code.kept[:-1]]
            sizes.append((len(code.shape) - 1, code.blocks))
        else:
            sizes = [(d, code.shape[d]) for d in code.kept]
        index, rest = {}, p
        for axis, size in reversed(sizes):
            if size == 1:
                index[axis] = self._const(0)
                continue
            index[axis] = b.urem(rest, self._const(size))
            rest = b.udiv(rest, self._const(size))
        return index

    # -- one point of the iteration space ----------------------------------------------------

    def _load_input(self, var: Var, index: dict) -> tuple:
        strides = self.in_strides[var]
        axes = range(len(self.code.shape) - len(strides), len(self.code.shape))
        # Inputs of full rank line up with the group's axes; rank-0 inputs have no strides.
        return self._load(var, self._offset(index, strides, list(axes)))

    def _load(self, var: Var, offset: ir.Value) -> tuple:
        dtype = var.aval.dtype
        ty = _llvm_type(dtype)
        address = self.b.gep(self.pointers[var], [offset], inbounds=True, source_etype=ty)
        value = self.b.load(address, typ=ty)
        if dtype == np.dtype(bool):
            value = self.b.icmp_unsigned("!=", value, ir.Constant(ty, 0))
        return value, dtype

    def _store(self, var: Var, value: ir.Value, offset: ir.Value) -> None:
        ty = _llvm_type(var.aval.dtype)
        if var.aval.dtype == np.dtype(bool):
            value = self.b.zext(value, ty)
        address = self.b.gep(self.pointers[var], [offset], inbounds=True, source_etype=ty)
        self.b.store(value, address)

    def _operand(self, atom, env: dict, index: dict) -> tuple:
        if isinstance(atom, Literal):
            dtype = atom.aval.dtype
            ty = _llvm_type(dtype)
            value = np.asarray(atom.val, dtype).item()
            if dtype == np.dtype(bool):
                return ir.Constant(ir.IntType(1), int(value)), dtype
            return ir.Constant(ty, float(value) if _is_float(dtype) else int(value)), dtype
        if atom not in env:
            env[atom] = self._load_input(atom, index)
        return env[atom]

    def _generate(self, eqn, env: dict, index: dict) -> tuple:
        """broadcast_in_dim / iota: a value read or made from the point's index."""
        out = eqn.outvars[0]
        if eqn.primitive.name == "iota":
            axis, dtype = eqn.params["dimension"], out.aval.dtype
            position = index.get(axis, self._const(0))
            ty = _llvm_type(dtype)
            if _is_float(dtype):
                return self.b.uitofp(position, ty), dtype
            return self.b.trunc(position, ty) if ty.width < 64 else position, dtype
        (operand,) = eqn.invars
        if isinstance(operand, Literal) or operand.aval.ndim == 0:
            return self._operand(operand, env, index)
        if operand in env:  # an identity broadcast of a value computed in the group
            return env[operand]
        strides = self.in_strides[operand]
        dims = eqn.params["broadcast_dimensions"]
        sizes = operand.aval.shape
        axes = [d for d, size in zip(dims, sizes)]
        kept = [s if size != 1 else 0 for s, size in zip(strides, sizes)]
        return self._load(operand, self._offset(index, kept, axes))

    def _evaluate(
        self, index: dict, env: dict, accumulators: dict | None, eqns: Sequence | None = None
    ) -> None:
        for eqn in self.code.group.eqns if eqns is None else eqns:
            name = eqn.primitive.name
            if name in ("broadcast_in_dim", "iota"):
                env[eqn.outvars[0]] = self._generate(eqn, env, index)
                continue
            if name in _REDUCE and not eqn.params["axes"]:
                env[eqn.outvars[0]] = self._operand(eqn.invars[0], env, index)
                continue
            if name in _REDUCE:
                operand = self._operand(eqn.invars[0], env, index)
                self._accumulate(eqn, operand, accumulators[eqn.outvars[0]](index), index)
                continue
            ops = [self._operand(a, env, index) for a in eqn.invars]
            value = SCALAR_RULES[name](self.b, ops, eqn, env)
            env[eqn.outvars[0]] = (value, eqn.outvars[0].aval.dtype)

    def _store_full_outputs(self, index: dict, env: dict) -> None:
        shape = self.code.shape
        for var in self.code.outputs:
            if var.aval.shape == shape and var in env:
                offset = self._offset(index, contiguous_strides(shape), range(len(shape)))
                self._store(var, env[var][0], offset)

    def _emit_point(self, index: dict, accumulators: dict | None = None) -> None:
        env: dict = {}
        self._evaluate(index, env, accumulators)
        self._store_full_outputs(index, env)

    # -- rows: several passes over each row ---------------------------------------------

    def _emit_rows(self, index: dict) -> None:
        """A ROWS group for one row: values computed once per row, then each pass's loop
        over the row (accumulating its reductions), then the pass storing full-shape
        outputs. Per-row values live in registers; the row stays in cache between passes."""
        code = self.code
        row_env: dict = {}
        for stage in code.passes:
            for eqn in stage.row_eqns:
                row_env[eqn.outvars[0]] = self._row_value(eqn, row_env, index)
            if not stage.point_eqns and not stage.reductions:
                continue
            slots = {eqn.outvars[0]: self._start_accumulator(eqn) for eqn in stage.reductions}
            accumulators = {var: (lambda point, slot=slot: slot) for var, slot in slots.items()}
            self._emit_row_loops(index, list(code.reduced_axes), row_env, stage, accumulators)
            for var, slot in slots.items():
                row_env[var] = self._reduction_result(var, slot)
        for var in code.outputs:
            if var in row_env:
                self._store(var, row_env[var][0], self._reduced_offset(index))

    def _emit_row_loops(self, index, axes, row_env, stage, accumulators) -> None:
        if axes:
            axis, rest = axes[0], axes[1:]
            size = self._const(self.code.shape[axis])
            with _counted_loop(self.b, self._const(0), size, f"row{axis}") as i:
                self._emit_row_loops({**index, axis: i}, rest, row_env, stage, accumulators)
            return
        env = dict(row_env)
        shape = self.code.shape
        offset = self._offset(index, contiguous_strides(shape), range(len(shape)))
        for value, output in stage.reloads:
            env[value] = self._load(output, offset)[0], value.aval.dtype
        self._evaluate(index, env, accumulators, stage.point_eqns + stage.reductions)
        for value, output in stage.keeps:
            self._store(output, env[value][0], offset)
        for var in stage.stores:
            self._store(var, env[var][0], offset)

    def _row_value(self, eqn, row_env: dict, index: dict) -> tuple:
        """One equation on per-row values: layout changes keep the value; elementwise
        equations apply their rule; per-row inputs load at the row's position."""
        ops = []
        for atom in eqn.invars:
            if isinstance(atom, Var) and atom not in row_env and atom.aval.shape:
                row_env[atom] = self._load_row_input(atom, index)
            ops.append(self._operand(atom, row_env, index))
        if eqn.primitive.name in (*_ROW_LAYOUT, "broadcast_in_dim"):
            return ops[0]
        value = SCALAR_RULES[eqn.primitive.name](self.b, ops, eqn, row_env)
        return value, eqn.outvars[0].aval.dtype

    def _load_row_input(self, var: Var, index: dict) -> tuple:
        """A per-row input: its axes longer than 1 are the kept axes longer than 1."""
        strides = [s for s, size in zip(self.in_strides[var], var.aval.shape) if size != 1]
        axes = [d for d in self.code.kept if self.code.shape[d] != 1]
        return self._load(var, self._offset(index, strides, axes))

    # -- reductions ----------------------------------------------------------------------

    def _emit_reduction(self, index: dict) -> None:
        code = self.code
        accumulators = {}
        for eqn in code.group.eqns:
            # A reduction over no axes is a copy, stored by _emit_point with the full-shape
            # outputs; an accumulator would overwrite its first element with the identity.
            if eqn.primitive.name in _REDUCE and eqn.params["axes"]:
                slot = self._start_accumulator(eqn)
                accumulators[eqn.outvars[0]] = lambda point, slot=slot: slot
        self._emit_reduced_loops(dict(index), list(code.reduced_axes), accumulators)
        for var, slot in accumulators.items():
            if var in code.outputs:
                value, _ = self._reduction_result(var, slot(index))
                self._store(var, value, self._reduced_offset(index))

    def _start_accumulator(self, eqn) -> ir.Value:
        """A slot (kept in a register) holding eqn's running value from its identity on; an
        index reduction also gets one for the position of that value."""
        b = self.b
        dtype = eqn.invars[0].aval.dtype
        ty = ir.IntType(1) if dtype == np.dtype(bool) else _llvm_type(dtype)
        if eqn.primitive.name in _INDEX_REDUCE:
            position = _entry_alloca(b, _I64)
            b.store(self._const(0), position)
            self.positions[eqn.outvars[0]] = position
        slot = _entry_alloca(b, ty)
        b.store(_identity_value(eqn.primitive.name, ty, dtype), slot)
        return slot

    def _reduction_result(self, var: Var, slot: ir.Value) -> tuple:
        if var in self.positions:
            position = self.b.load(self.positions[var], typ=_I64)
            ty = _llvm_type(var.aval.dtype)
            return (self.b.trunc(position, ty) if ty.width < 64 else position), var.aval.dtype
        return self.b.load(slot, typ=_llvm_type(var.aval.dtype)), var.aval.dtype

    def _reduced_offset(self, index: dict) -> ir.Value:
        """Where a reduction's result for the kept index lives in its (contiguous) output."""
        code = self.code
        kept_shape = tuple(code.shape[d] for d in code.kept)
        return self._offset(index, contiguous_strides(kept_shape), code.kept)

    def _emit_column_reduction(self, index: dict) -> None:
        """Reductions over leading axes: each output element of this block of the last axis
        starts at the identity, then every reduced row adds its contiguous block to it."""
        code = self.code
        last = len(code.shape) - 1
        block = index.pop(last)
        reductions = [
            e for e in code.group.eqns if e.primitive.name in _REDUCE and e.params["axes"]
        ]
        if any(e.outvars[0] not in code.outputs for e in reductions):
            raise Unsupported("a reduction nothing reads")
        if any(e.primitive.name in _INDEX_REDUCE for e in reductions):
            raise Unsupported("an index reduction over a leading axis")
        with self._block_loop(block, "init") as j:
            point = {**index, last: j}
            for eqn in reductions:
                var = eqn.outvars[0]
                identity = _identity_value(
                    eqn.primitive.name, _llvm_type(var.aval.dtype), var.aval.dtype
                )
                self._store(var, identity, self._reduced_offset(point))
        accumulators = {
            eqn.outvars[0]: (lambda point, var=eqn.outvars[0]: self._address(var, point))
            for eqn in reductions
        }
        self._emit_reduced_loops(index, list(code.reduced_axes), accumulators, block)

    def _address(self, var: Var, point: dict) -> ir.Value:
        ty = _llvm_type(var.aval.dtype)
        offset = self._reduced_offset(point)
        return self.b.gep(self.pointers[var], [offset], inbounds=True, source_etype=ty)

    def _emit_reduced_loops(
        self, index: dict, axes: list, accumulators: dict, block: ir.Value | None = None
    ) -> None:
        """Loops over the reduced axes; innermost, one point, or (given the block of a kept
        last axis) a loop over that block."""
        if not axes:
            if block is None:
                self._emit_point(index, accumulators)
                return
            last = len(self.code.shape) - 1
            with self._block_loop(block, "row") as j:
                self._emit_point({**index, last: j}, accumulators)
            return
        axis, rest = axes[0], axes[1:]
        size = self.code.shape[axis]
        with _counted_loop(self.b, self._const(0), self._const(size), f"r{axis}") as i:
            self._emit_reduced_loops({**index, axis: i}, rest, accumulators, block)

    def _accumulate(self, eqn, operand: tuple, slot: ir.Value, index: dict) -> None:
        b = self.b
        value, dtype = operand
        acc = b.load(slot, typ=value.type)
        name = eqn.primitive.name
        float_op = _REDUCE[name]
        if name in _INDEX_REDUCE:
            self._accumulate_position(eqn, value, acc, slot, index)
            return
        if _is_float(dtype):
            if name == "reduce_sum":
                new = b.fadd(acc, value)
                new.flags.append("reassoc")  # lets the vectorizer keep partial sums per lane
            else:
                new = b.call(_declare(b.module, float_op, value.type, 2), [acc, value])
        elif name == "reduce_sum":
            new = b.add(acc, value)
        else:
            new = b.select(_beats(b, name, value, acc, dtype), value, acc)
        b.store(new, slot)

    def _accumulate_position(self, eqn, value, best, slot, index: dict) -> None:
        """argmax/argmin: a strictly better value (or the first NaN) takes the place of the
        best so far, so ties keep the first position, as NumPy and JAX do."""
        b = self.b
        dtype = eqn.invars[0].aval.dtype
        better = _beats(b, eqn.primitive.name, value, best, dtype)
        if _is_float(dtype):
            first_nan = b.and_(
                b.fcmp_unordered("uno", value, value), b.fcmp_ordered("ord", best, best)
            )
            better = b.or_(better, first_nan)
        b.store(b.select(better, value, best), slot)
        (axis,) = eqn.params["axes"]
        position = self.positions[eqn.outvars[0]]
        kept = b.load(position, typ=_I64)
        b.store(b.select(better, index[axis], kept), position)


def _beats(b: ir.IRBuilder, name: str, value, best, dtype) -> ir.Value:
    """Whether `value` is strictly more extreme than `best` for reduction `name`."""
    op = ">" if name in ("reduce_max", "argmax") else "<"
    if _is_float(dtype):
        return b.fcmp_ordered(op, value, best)
    if _is_signed(dtype):
        return b.icmp_signed(op, value, best)
    return b.icmp_unsigned(op, value, best)


def _identity_value(name: str, ty: ir.Type, dtype) -> ir.Constant:
    """The value a reduction starts from: nothing beats it (sum: adds nothing)."""
    if name == "reduce_sum":
        return ir.Constant(ty, 0.0 if _is_float(dtype) else 0)
    largest = name in ("reduce_min", "argmin")
    if _is_float(dtype):
        return ir.Constant(ty, float("inf") if largest else float("-inf"))
    if dtype == np.dtype(bool):
        return ir.Constant(ty, int(largest))
    if _is_signed(dtype):
        bits = ty.width - 1
        return ir.Constant(ty, (1 << bits) - 1 if largest else -(1 << bits))
    return ir.Constant(ty, -1 if largest else 0)


def _entry_alloca(b: ir.IRBuilder, ty: ir.Type) -> ir.Value:
    """An alloca in the entry block (where mem2reg turns it into registers)."""
    current = b.block
    entry = b.function.entry_basic_block
    b.position_at_start(entry)
    slot = b.alloca(ty)
    b.position_at_end(current)
    return slot


class _counted_loop:
    """`for i in range(first, stop)` as basic blocks; the body is emitted inside `with`."""

    _ids = itertools.count()

    def __init__(self, b: ir.IRBuilder, first: ir.Value, stop: ir.Value, label: str):
        self.b, self.first, self.stop = b, first, stop
        self.label = f"{label}{next(self._ids)}"

    def __enter__(self) -> ir.Value:
        b = self.b
        self.slot = _entry_alloca(b, _I64)
        b.store(self.first, self.slot)
        self.check = b.append_basic_block(f"{self.label}.check")
        self.body = b.append_basic_block(f"{self.label}.body")
        self.done = b.append_basic_block(f"{self.label}.done")
        b.branch(self.check)
        b.position_at_end(self.check)
        i = b.load(self.slot, typ=_I64)
        b.cbranch(b.icmp_signed("<", i, self.stop), self.body, self.done)
        b.position_at_end(self.body)
        return b.load(self.slot, typ=_I64)

    def __exit__(self, *exc) -> None:
        b = self.b
        i = b.load(self.slot, typ=_I64)
        b.store(b.add(i, ir.Constant(_I64, 1)), self.slot)
        b.branch(self.check)
        b.position_at_end(self.done)


def group_code(group: FusionGroup, name: str) -> GroupCode | None:
    """The group's kernel generator, or None when the group holds something unsupported."""
    try:
        return GroupCode(group, name)
    except Unsupported:
        return None
