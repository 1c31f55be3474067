"""One fusion group -> one CUDA kernel, generated as C source for CuPy's RawModule.

The groups are the LLVM backend's (compiler/passes/fusion.py and row_fusion.py); only the
loop structure differs, because a GPU runs thousands of threads:

- An elementwise group is a grid-stride loop over the flat index of its iteration space.
  Each thread splits its index into coordinates (indexing.py), reads the group's inputs
  at coordinate times stride (strides in elements, 0 along broadcast axes), evaluates the
  equations as scalar C expressions and stores the full-shape outputs contiguously.
- A reduction group runs one block per row (kept point): the block's threads stride over
  the reduced axes accumulating in registers, then combine their partial values with warp
  shuffles and shared memory (fg_block_reduce in the prelude). A reduction over leading
  axes only (the last axis kept: a bias gradient's column sums) runs a thread per kept
  point instead, looping over the reduced ones, so neighbouring threads read neighbouring
  elements.
- A ROWS group (softmax, layernorm) also runs one block per row, making the LLVM
  backend's passes over the row one after the other; a pass's reductions reach every
  thread of the block, so the next pass and the per-row values use them at once.

Each equation is one C expression (scalar_rules.py); the helpers the kernels call are
C++ shared by the whole module (prelude.py). Kernels are specialized on their inputs'
element strides, known only when the program runs (an input may be a transposed view),
like the LLVM backend's. Generating the source needs neither CuPy nor a GPU. A group
holding an equation without a rule raises Unsupported, and the program runs that group's
equations one by one instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from funcgrad.backends.cupy.indexing import (
    Const,
    Index,
    Name,
    coordinates,
    names_in,
    offset,
    reduction_coordinates,
    row_count,
    to_c,
)
from funcgrad.backends.cupy.prelude import PRELUDE
from funcgrad.backends.cupy.scalar_rules import (
    SCALAR_RULES,
    Operand,
    Unsupported,
    c_literal,
    c_type,
)
from funcgrad.backends.llvm.codegen import Unsupported as RowsUnsupported
from funcgrad.backends.llvm.codegen import contiguous_strides, plan_row_passes
from funcgrad.compiler.passes.fusion import ELEMENTWISE, REDUCTION, FusionGroup
from funcgrad.compiler.passes.row_fusion import ROWS
from funcgrad.core.jaxpr import Literal, Var

__all__ = ["Unsupported", "Kernel", "GroupKernel", "group_kernel", "module_source"]

# Threads per block; reduction blocks are whole warps (32 threads), up to REDUCTION_BLOCK.
ELEMENTWISE_BLOCK = 256
REDUCTION_BLOCK = 256


@dataclass(frozen=True)
class Kernel:
    """One generated kernel: `body` is its CUDA C (the prelude comes once per module);
    launch it with `block` threads per block over `iterations` (points of an elementwise
    kernel, rows of a reduction: `per_row`) with its group's input arrays, then its output
    arrays, as arguments."""

    name: str
    body: str
    block: int
    iterations: int
    per_row: bool

    @property
    def source(self) -> str:
        """A module holding this kernel alone."""
        return module_source([self])

    def grid(self, limit: int = 65535) -> int:
        """Blocks to launch: one per row, or enough for every point, at most `limit`
        (the kernels loop over what a smaller grid leaves)."""
        wanted = self.iterations if self.per_row else -(-self.iterations // self.block)
        return max(1, min(wanted, limit))


def module_source(kernels: Sequence[Kernel]) -> str:
    """One compilation unit: the prelude, then each kernel once."""
    bodies = {kernel.name: kernel.body for kernel in kernels}
    return PRELUDE + "\n" + "\n".join(bodies.values())


# Reductions a group may hold: the combiner (a prelude functor) of the plain ones.
_REDUCE = {
    "reduce_sum": "fg_sum",
    "reduce_prod": "fg_prod",
    "reduce_max": "fg_maximum",
    "reduce_min": "fg_minimum",
    "reduce_and": "fg_and",
    "reduce_or": "fg_or",
    "reduce_xor": "fg_xor",
}
_INDEX_REDUCE = {"argmax": True, "argmin": False}  # whether the largest value wins
_GENERATORS = ("broadcast_in_dim", "iota")
# Layout changes of one value per row inside a ROWS group: the value is unchanged.
_ROW_LAYOUT = ("reshape", "squeeze", "expand_dims")


def _identity_literal(name: str, dtype) -> str:
    """The value a reduction starts from: it changes nothing the reduction combines."""
    dtype = np.dtype(dtype)
    if name == "reduce_sum" or name in ("reduce_or", "reduce_xor"):
        return c_literal(0, dtype)
    if name == "reduce_prod":
        return c_literal(1, dtype)
    if name == "reduce_and":  # every bit set
        if dtype.kind == "b":
            return c_literal(True, dtype)
        return c_literal(-1 if dtype.kind == "i" else np.iinfo(dtype).max, dtype)
    largest = name in ("reduce_min", "argmin")
    if dtype.kind == "f":
        return c_literal(np.inf if largest else -np.inf, dtype)
    if dtype.kind == "b":
        return c_literal(largest, dtype)
    info = np.iinfo(dtype)
    return c_literal(info.max if largest else info.min, dtype)


# ---------------------------------------------------------------------------------------
# Kernels


class GroupKernel:
    """A group's kernel generator: `kernel(strides)` is the kernel for inputs with those
    element strides (`contiguous` is the variant almost every call runs)."""

    def __init__(self, group: FusionGroup, name: str):
        self.group, self.name = group, name
        self.shape = tuple(group.shape)
        self.inputs = tuple(group.inputs)
        self.outputs = tuple(group.outputs)
        self.reduced_axes = self._reduced_axes()
        self.kept = [d for d in range(len(self.shape)) if d not in self.reduced_axes]
        self._check_supported()
        self.passes = _row_passes(self) if group.kind == ROWS else None
        self.contiguous = tuple(contiguous_strides(v.aval.shape) for v in self.inputs)
        # Generated now, so rule-level refusals surface at compile time.
        self.contiguous_kernel = _Writer(self, self.contiguous, name).kernel

    def _reduced_axes(self) -> tuple:
        # A reduction over no axes is a copy; it is evaluated as one.
        axes = {
            tuple(e.params["axes"])
            for e in self.group.eqns
            if _is_reduction(e.primitive.name) and e.params["axes"]
        }
        if len(axes) > 1:
            raise Unsupported("reductions over different axes in one group")
        return tuple(sorted(axes.pop())) if axes else ()

    def _check_supported(self) -> None:
        if self.group.kind not in (ELEMENTWISE, REDUCTION, ROWS):
            raise Unsupported(f"{self.group.kind} group")
        for var in (*self.inputs, *self.outputs):
            c_type(var.aval.dtype)
        layout = _ROW_LAYOUT if self.group.kind == ROWS else ()
        for eqn in self.group.eqns:
            name = eqn.primitive.name
            known = name in SCALAR_RULES or _is_reduction(name) or name in _GENERATORS
            if not known and name not in layout:
                raise Unsupported(name)
            if name.startswith(("reduce_", "arg")) and not _is_reduction(name):
                raise Unsupported(name)
            for var in eqn.outvars:
                c_type(var.aval.dtype)

    def kernel(self, strides: Sequence[tuple]) -> Kernel:
        """The kernel for inputs with these element strides."""
        strides = tuple(tuple(s) for s in strides)
        if strides == self.contiguous:
            return self.contiguous_kernel
        return _Writer(self, strides, f"{self.name}_{_strides_tag(strides)}").kernel


def _row_passes(code: GroupKernel) -> list:
    """The LLVM backend's plan of a ROWS group's passes over a row (the same plan fits a
    block of threads: each thread reads back only the elements it parked itself)."""
    try:
        return plan_row_passes(code)
    except RowsUnsupported as refusal:
        raise Unsupported(str(refusal)) from None


def _reduction_block(code: GroupKernel) -> int:
    """Threads per row: enough warps for the row's length, up to REDUCTION_BLOCK."""
    length = math.prod(code.shape[d] for d in code.reduced_axes)
    warps = min(-(-length // 32), REDUCTION_BLOCK // 32)
    return 32 * (1 << max(warps - 1, 0).bit_length())


def _is_reduction(name: str) -> bool:
    return name in _REDUCE or name in _INDEX_REDUCE


def _strides_tag(strides: Sequence[tuple]) -> str:
    """A C-identifier-safe suffix naming a stride variant."""
    text = "_".join("x".join(str(s) for s in group) or "s" for group in strides)
    return "v" + text.replace("-", "m")


def group_kernel(group: FusionGroup, name: str) -> GroupKernel | None:
    """The group's kernel generator, or None when the group holds something unsupported."""
    try:
        return GroupKernel(group, name)
    except Unsupported:
        return None


class _Writer:
    """Writes one kernel's source for given input strides."""

    def __init__(self, code: GroupKernel, strides: Sequence[tuple], name: str):
        self.code, self.name = code, name
        self.strides = dict(zip(code.inputs, strides))
        self.lines: list[str] = []
        self.depth = 1
        self.counter = 0
        self.shared: list[str] = []
        self.pending: dict[str, str] = {}  # coordinates not defined yet: name -> C
        group = code.group
        rows = row_count(code.shape, code.reduced_axes)
        last_kept = bool(code.shape) and len(code.shape) - 1 not in code.reduced_axes
        if group.kind == ROWS:
            body, per_row, iterations = self._rows(), True, rows
        elif code.reduced_axes and last_kept:
            body, per_row, iterations = self._columns(), False, rows
        elif code.reduced_axes:
            body, per_row, iterations = self._reduction(), True, rows
        else:
            body, per_row, iterations = self._elementwise(), False, math.prod(code.shape)
        params = [
            f"const {c_type(v.aval.dtype)}* __restrict__ in{i}" for i, v in enumerate(code.inputs)
        ] + [f"{c_type(v.aval.dtype)}* __restrict__ out{i}" for i, v in enumerate(code.outputs)]
        text = [f'extern "C" __global__ void {name}({", ".join(params)}) {{']
        text += [f"  {line}" for line in self.shared]
        text += body
        text.append("}")
        block = _reduction_block(code) if per_row else ELEMENTWISE_BLOCK
        self.kernel = Kernel(name, "\n".join(text) + "\n", block, iterations, per_row)

    # -- emitting lines ------------------------------------------------------------------

    def emit(self, line: str) -> None:
        self.lines.append("  " * self.depth + line)

    def fresh(self, prefix: str = "v") -> str:
        self.counter += 1
        return f"{prefix}{self.counter}"

    def define(self, dtype, expression: str, prefix: str = "v") -> str:
        name = self.fresh(prefix)
        self.emit(f"const {c_type(dtype)} {name} = {expression};")
        return name

    def open(self, header: str) -> None:
        self.emit(header + " {")
        self.depth += 1

    def close(self) -> None:
        self.depth -= 1
        self.emit("}")

    def coordinates(self, exprs: Sequence[Index]) -> dict:
        """Named coordinates per group axis, each defined where first used (`c`)."""
        named = {}
        for axis, expr in enumerate(exprs):
            if isinstance(expr, Const):
                named[axis] = expr
            else:
                named[axis] = Name(self.fresh(f"c{axis}_"))
                self.pending[named[axis].name] = to_c(expr)
        return named

    def c(self, expr: Index) -> str:
        """`expr` as C, defining the coordinates it reads that are not defined yet."""
        for name in sorted(names_in(expr)):
            if name in self.pending:
                self.emit(f"const long long {name} = {self.pending.pop(name)};")
        return to_c(expr)

    # -- the three kernel shapes ---------------------------------------------------------

    def _elementwise(self) -> list[str]:
        size = math.prod(self.code.shape)
        self.open(
            "for (long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x; "
            f"i < {size}LL; i += (long long)gridDim.x * blockDim.x)"
        )
        point = self.coordinates(coordinates(Name("i"), self.code.shape))
        env: dict = {}
        self._evaluate(self.code.group.eqns, point, env, {})
        self._store_full_outputs(point, env)
        self.close()
        return self.lines

    def _row_loop(self) -> None:
        rows = row_count(self.code.shape, self.code.reduced_axes)
        self.open(f"for (long long row = blockIdx.x; row < {rows}LL; row += gridDim.x)")

    def _position_loop(self) -> None:
        reduced = math.prod(self.code.shape[d] for d in self.code.reduced_axes)
        self.open(f"for (long long r = threadIdx.x; r < {reduced}LL; r += blockDim.x)")

    def _point(self) -> dict:
        code = self.code
        return self.coordinates(
            reduction_coordinates(Name("row"), Name("r"), code.shape, code.reduced_axes)
        )

    def _reduction(self) -> list[str]:
        code = self.code
        reductions = [
            e for e in code.group.eqns if _is_reduction(e.primitive.name) and e.params["axes"]
        ]
        self._row_loop()
        accumulators = {e.outvars[0]: self._start(e) for e in reductions}
        self._position_loop()
        point = self._point()
        env: dict = {}
        self._evaluate(code.group.eqns, point, env, accumulators)
        self._store_full_outputs(point, env)
        self.close()
        results = self._finish(reductions, accumulators)
        self._store_row_outputs(results)
        self.close()
        return self.lines

    def _columns(self) -> list[str]:
        """Reductions over leading axes (a bias gradient's column sums): a thread per kept
        point, looping over the reduced ones, so a warp's threads read neighbouring
        elements of each row (a block per point would stride down the columns)."""
        code = self.code
        reductions = [
            e for e in code.group.eqns if _is_reduction(e.primitive.name) and e.params["axes"]
        ]
        rows = row_count(code.shape, code.reduced_axes)
        self.open(
            "for (long long row = (long long)blockIdx.x * blockDim.x + threadIdx.x; "
            f"row < {rows}LL; row += (long long)gridDim.x * blockDim.x)"
        )
        accumulators = {e.outvars[0]: self._start(e) for e in reductions}
        reduced = math.prod(code.shape[d] for d in code.reduced_axes)
        self.open(f"for (long long r = 0; r < {reduced}LL; ++r)")
        point = self._point()
        env: dict = {}
        self._evaluate(code.group.eqns, point, env, accumulators)
        self._store_full_outputs(point, env)
        self.close()
        made = {e.outvars[0]: e for e in reductions}
        for number, var in enumerate(code.outputs):
            if var in made:
                value, _ = accumulators[var]
                if made[var].primitive.name in _INDEX_REDUCE:  # the position is the result
                    value = f"({c_type(var.aval.dtype)}){value}_at"
                self.emit(f"out{number}[row] = {value};")
        self.close()
        return self.lines

    def _rows(self) -> list[str]:
        """A ROWS group, one block per row: per pass, the per-row values it needs, a loop of
        the block's threads over the row (accumulating its reductions), then the block-level
        reductions, whose results every thread holds for the passes after."""
        code = self.code
        self._row_loop()
        row_env: dict = {}
        for stage in code.passes:
            for eqn in stage.row_eqns:
                row_env[eqn.outvars[0]] = self._row_value(eqn, row_env)
            if not stage.point_eqns and not stage.reductions:
                continue
            accumulators = {e.outvars[0]: self._start(e) for e in stage.reductions}
            self._position_loop()
            point = self._point()
            env = dict(row_env)
            for value, output in stage.reloads:
                element = f"out{code.outputs.index(output)}[{self._full_offset(point)}]"
                env[value] = (self.define(value.aval.dtype, element), value.aval.dtype)
            self._evaluate(stage.point_eqns + stage.reductions, point, env, accumulators)
            for value, output in (*stage.keeps, *[(var, var) for var in stage.stores]):
                element = f"out{code.outputs.index(output)}[{self._full_offset(point)}]"
                self.emit(f"{element} = {env[value][0]};")
            self.close()
            row_env.update(self._finish(stage.reductions, accumulators))
        self._store_row_outputs(row_env)
        self.close()
        return self.lines

    # -- reductions ----------------------------------------------------------------------

    def _start(self, eqn) -> tuple:
        """A thread's accumulator for eqn (and its position, for argmax/argmin)."""
        dtype = eqn.invars[0].aval.dtype
        name = self.fresh("acc")
        identity = _identity_literal(eqn.primitive.name, dtype)
        self.emit(f"{c_type(dtype)} {name} = {identity};")
        if eqn.primitive.name in _INDEX_REDUCE:
            self.emit(f"long long {name}_at = 0x7fffffffffffffffLL;")
        return name, dtype

    def _accumulate(self, eqn, value: Operand, accumulator: tuple, point: dict) -> None:
        name, dtype = accumulator
        primitive = eqn.primitive.name
        if primitive in _INDEX_REDUCE:
            (axis,) = eqn.params["axes"]
            largest = "true" if _INDEX_REDUCE[primitive] else "false"
            position = self.c(point[axis])
            self.emit(f"fg_arg_step<{largest}>({name}, {name}_at, {value[0]}, {position});")
            return
        self.emit(f"{name} = {_REDUCE[primitive]}()({name}, {value[0]});")

    def _finish(self, reductions: Sequence, accumulators: dict) -> dict:
        """Each reduction's block-level result, as a value every thread holds."""
        results = {}
        for eqn in reductions:
            var = eqn.outvars[0]
            name, dtype = accumulators[var]
            ty = c_type(dtype)
            identity = _identity_literal(eqn.primitive.name, dtype)
            part = self.fresh("part")
            self.shared.append(f"__shared__ {ty} {part}[32];")
            if eqn.primitive.name in _INDEX_REDUCE:
                self.shared.append(f"__shared__ long long {part}_at[32];")
                largest = "true" if _INDEX_REDUCE[eqn.primitive.name] else "false"
                call = (
                    f"fg_block_arg_reduce<{largest}>({name}, {name}_at, {identity}, {part}, "
                    f"{part}_at)"
                )
                out_type = c_type(var.aval.dtype)
                results[var] = (self.define(var.aval.dtype, f"({out_type}){call}"), var.aval.dtype)
                continue
            combiner = _REDUCE[eqn.primitive.name]
            call = f"fg_block_reduce({name}, ({ty}){identity}, {combiner}(), {part})"
            results[var] = (self.define(dtype, call), var.aval.dtype)
        return results

    def _store_row_outputs(self, values: dict) -> None:
        """Per-row outputs, contiguous in the kept axes: the row's element is at `row`."""
        stores = [
            f"out{i}[row] = {values[v][0]};" for i, v in enumerate(self.code.outputs) if v in values
        ]
        if stores:
            self.open("if (threadIdx.x == 0)")
            for line in stores:
                self.emit(line)
            self.close()

    # -- one point -------------------------------------------------------------------------

    def _full_offset(self, point: dict) -> str:
        shape = self.code.shape
        coords = [point[d] for d in range(len(shape))]
        return self.c(offset(coords, contiguous_strides(shape)))

    def _store_full_outputs(self, point: dict, env: dict) -> None:
        shape = self.code.shape
        for number, var in enumerate(self.code.outputs):
            if var.aval.shape == shape and var in env:
                flat = "i" if not self.code.reduced_axes else self._full_offset(point)
                self.emit(f"out{number}[{flat}] = {env[var][0]};")

    def _load(self, var: Var, coords: Sequence[Index], strides: Sequence[int]) -> Operand:
        number = self.code.inputs.index(var)
        where = self.c(offset(coords, strides))
        return self.define(var.aval.dtype, f"in{number}[{where}]"), var.aval.dtype

    def _operand(self, atom, env: dict, point: dict) -> Operand:
        if isinstance(atom, Literal):
            return c_literal(atom.val, atom.aval.dtype), atom.aval.dtype
        if atom not in env:
            # Inputs of the group's rank line up with its axes; rank-0 inputs have none.
            rank = len(self.code.shape)
            strides = self.strides[atom]
            axes = range(rank - len(strides), rank)
            env[atom] = self._load(atom, [point[a] for a in axes], strides)
        return env[atom]

    def _generate(self, eqn, env: dict, point: dict) -> Operand:
        """broadcast_in_dim / iota: a value read or made from the point's coordinates."""
        out = eqn.outvars[0]
        if eqn.primitive.name == "iota":
            coord = point.get(eqn.params["dimension"], Const(0))
            return f"(({c_type(out.aval.dtype)}){self.c(coord)})", out.aval.dtype
        (operand,) = eqn.invars
        if isinstance(operand, Literal) or operand.aval.ndim == 0 or operand in env:
            # A scalar, or a value of the group (an identity broadcast, or in a ROWS group
            # a per-row value broadcast along its row).
            return self._operand(operand, env, point)
        dims = eqn.params["broadcast_dimensions"]
        sizes = operand.aval.shape
        strides = [s if size != 1 else 0 for s, size in zip(self.strides[operand], sizes)]
        return self._load(operand, [point[d] for d in dims], strides)

    def _evaluate(self, eqns: Sequence, point: dict, env: dict, accumulators: dict) -> None:
        for eqn in eqns:
            name = eqn.primitive.name
            if name in _GENERATORS:
                env[eqn.outvars[0]] = self._generate(eqn, env, point)
                continue
            if _is_reduction(name) and not eqn.params["axes"]:
                if name in _INDEX_REDUCE:
                    raise Unsupported(f"{name} over no axes")
                env[eqn.outvars[0]] = self._operand(eqn.invars[0], env, point)
                continue
            if _is_reduction(name):
                value = self._operand(eqn.invars[0], env, point)
                self._accumulate(eqn, value, accumulators[eqn.outvars[0]], point)
                continue
            ops = [self._operand(a, env, point) for a in eqn.invars]
            dtype = eqn.outvars[0].aval.dtype
            env[eqn.outvars[0]] = (self.define(dtype, SCALAR_RULES[name](ops, eqn)), dtype)

    def _row_value(self, eqn, row_env: dict) -> Operand:
        """One equation on per-row values: layout changes keep the value; elementwise
        equations apply their rule; per-row inputs load at the row's position."""
        code = self.code
        ops = []
        for atom in eqn.invars:
            if isinstance(atom, Var) and atom not in row_env and atom.aval.shape:
                # A per-row input: its axes longer than 1 are the kept axes longer than 1.
                kept_long = [d for d in code.kept if code.shape[d] != 1]
                kept_coords = coordinates(Name("row"), [code.shape[d] for d in code.kept])
                by_axis = dict(zip(code.kept, kept_coords))
                strides = [s for s, n in zip(self.strides[atom], atom.aval.shape) if n != 1]
                row_env[atom] = self._load(atom, [by_axis[d] for d in kept_long], strides)
            ops.append(self._operand(atom, row_env, {}))
        if eqn.primitive.name in (*_ROW_LAYOUT, "broadcast_in_dim"):
            return ops[0]
        dtype = eqn.outvars[0].aval.dtype
        return self.define(dtype, SCALAR_RULES[eqn.primitive.name](ops, eqn)), dtype
