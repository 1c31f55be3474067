"""The stages of compiling one signature: `jit(f).lower(*args)` and `.compile()`.

`Lowered` holds the optimized program and its fusion groups; `Compiled` adds the
generated executable. Both show themselves as text and estimate their cost.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.compiler.passes.fusion import FusionGroup, fuse
from funcgrad.compiler.pipeline import optimize
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, pp_jaxpr

__all__ = ["Lowered", "Compiled", "cost_analysis"]

_TRANSCENDENTAL = frozenset(
    "exp log sin cos tan tanh sinh cosh asin acos atan asinh acosh atanh exp2 expm1 log1p "
    "logistic erf erfc erf_inv lgamma digamma pow sqrt rsqrt cbrt atan2".split()
)


class Lowered:
    """One signature's optimized program, grouped for fusion, not yet compiled."""

    def __init__(
        self,
        traced: ClosedJaxpr,
        donated: Sequence[bool],
        name: str,
        out_tree,
        backend: str = "numpy",
    ):
        self.traced = traced
        self.backend = backend
        self.optimized = optimize(traced)
        self.groups: list[FusionGroup] = fuse(self.optimized)
        self.donated = tuple(donated)
        self.name = name
        self.out_tree = out_tree

    def as_text(self) -> str:
        """The optimized program in execution order, each fusion group marked."""
        notes, start = {}, 0
        for number, group in enumerate(self.groups):
            notes[start] = f"fusion {number}: {group.describe()}"
            start += len(group.eqns)
        order = tuple(e for group in self.groups for e in group.eqns)
        jaxpr = self.optimized.jaxpr
        return pp_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, order), notes)

    def cost_analysis(self) -> dict:
        return cost_analysis(self.groups)

    def compile(self) -> "Compiled":
        return Compiled(self)

    def _repr_html_(self) -> str:
        # Jupyter's view: the program's graph with its fusion groups (funcgrad.viz).
        from funcgrad.viz import html

        return html(self)


class Compiled:
    """The executable for one signature; `as_text()` shows its generated kernels."""

    def __init__(self, lowered: Lowered):
        self.lowered = lowered
        compile_program = _backend_compiler(lowered.backend)
        self.program = compile_program(
            lowered.optimized, lowered.groups, lowered.donated, lowered.name
        )

    def as_text(self) -> str:
        """The generated program; with the LLVM backend, also each native kernel's
        optimized LLVM IR (kernels compile on first run, for the strides they meet); with
        the CuPy backend, the program's source holds its kernels' CUDA source."""
        modules = {id(m): m for k in self.program.natives.values() for m in k.modules()}
        return "\n\n".join([self.program.source, *(m.optimized_ir for m in modules.values())])

    def cost_analysis(self) -> dict:
        return cost_analysis(self.lowered.groups)

    def memory_analysis(self) -> dict:
        return {"temp_size_in_bytes": self.program.plan.scratch_bytes()}

    def _repr_html_(self) -> str:
        # Jupyter's view: the groups the backend runs, native kernels marked (funcgrad.viz).
        from funcgrad.viz import html

        return html(self)


def _backend_compiler(backend: str):
    if backend == "llvm":
        from funcgrad.backends.llvm.program import compile_program
    elif backend == "cupy":
        from funcgrad.backends.cupy.program import compile_program
    else:
        from funcgrad.backends.numpy.codegen import compile_program
    return compile_program


def _nbytes(var) -> int:
    return int(np.prod(var.aval.shape, dtype=np.int64)) * var.aval.dtype.itemsize


def _flops(eqn) -> tuple[int, int]:
    """(flops, transcendentals) of one equation."""
    name = eqn.primitive.name
    if name == "dot_general":
        lhs, rhs = (a.aval for a in eqn.invars)
        (lc, _), _ = eqn.params["dimension_numbers"]
        contracted = int(np.prod([lhs.shape[a] for a in lc], dtype=np.int64))
        return 2 * eqn.outvars[0].aval.size * contracted, 0
    if name.startswith("reduce_") or name in ("argmax", "argmin"):
        return eqn.invars[0].aval.size, 0
    if eqn.primitive.module == "funcgrad.lax.elementwise":
        size = eqn.outvars[0].aval.size
        return size, size if name in _TRANSCENDENTAL else 0
    return 0, 0


def cost_analysis(groups: Sequence[FusionGroup]) -> dict:
    """Flops and bytes moved. A fused group reads its inputs and writes its outputs once;
    values that stay inside a group cost no memory traffic."""
    flops = transcendentals = moved = 0
    for group in groups:
        for eqn in group.eqns:
            f, t = _flops(eqn)
            flops, transcendentals = flops + f, transcendentals + t
        moved += sum(_nbytes(v) for v in group.inputs) + sum(_nbytes(v) for v in group.outputs)
    return {
        "flops": float(flops),
        "transcendentals": float(transcendentals),
        "bytes accessed": float(moved),
    }
