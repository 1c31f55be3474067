"""Compile a scheduled program into one generated Python function over NumPy buffers.

The fusion groups run in order. Inside a group each equation is one line: a kernel from
kernels.py writing into the buffer the plan gave its result (scratch memory kept between
calls, a donated input, or fresh memory for what the caller gets back), or else a call to
the primitive's impl with its parameters bound as constants. A call therefore does no
interpretation of the IR: no environment lookups, no rule dispatch, no shape checks, and
no temporaries are allocated for the planned values.

With `profile=True` every step (an equation, or a group run as one native kernel) is
wrapped in clock reads that add its time to `program.timings`, one slot per entry of
`program.profile_steps`; funcgrad.viz.profile compiles such a variant on request, so an
ordinary program carries no timing code at all.

Scratch memory comes from a per-program pool, so a re-entrant or concurrent call takes a
set of its own. Floating-point warnings are silenced for generated code by a warnings filter on
its module name (inf and NaN are values, as in JAX), which costs nothing per call.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from funcgrad.backends.numpy.kernels import (
    allocating_call,
    control_flow_runner,
    dot_into,
    kernel_line,
    writes_in_place,
)
from funcgrad.compiler.passes.fusion import FusionGroup, fuse
from funcgrad.compiler.passes.memory import DONATED, FRESH, BufferPlan, Step, plan_buffers
from funcgrad.compiler.pipeline import optimize
from funcgrad.core.jaxpr import ClosedJaxpr, JaxprEqn, Literal, Var

__all__ = ["compile_program", "steps_of", "ProfileStep"]

_MODULE = "funcgrad.backends.numpy.generated"


_installed_filter: list = []


def _silence_generated_code() -> None:
    # Re-installed when missing: test runners and catch_warnings() restore saved filter lists.
    if not _installed_filter or _installed_filter[0] not in warnings.filters:
        warnings.filterwarnings(
            "ignore", category=RuntimeWarning, module=_MODULE.replace(".", r"\.")
        )
        _installed_filter[:] = [warnings.filters[0]]


@dataclass(frozen=True)
class ProfileStep:
    """One timed step of a profiled program: fusion group `group`'s `eqns`, run as
    `runs_as` ("native kernel", "NumPy kernel", "BLAS matmul", "control flow", "impl")."""

    group: int
    eqns: tuple[JaxprEqn, ...]
    runs_as: str


def steps_of(groups: Sequence[FusionGroup], natives: dict) -> list[Step]:
    """The schedule as the buffer planner sees it: one step per equation, or one per group
    that runs as a native kernel (which writes its outputs into planned buffers)."""
    probe = ["_"] * 8
    steps = []
    for number, group in enumerate(groups):
        if number in natives:
            steps.append(Step(group.inputs, group.outputs, True))
            continue
        for eqn in group.eqns:
            planned = kernel_line(eqn, probe[: len(eqn.invars)], "_") is not None
            steps.append(Step(eqn.invars, eqn.outvars, planned, planned and writes_in_place(eqn)))
    return steps


def compile_program(
    closed: ClosedJaxpr,
    groups: Sequence[FusionGroup],
    donated: Sequence[bool] = (),
    name: str = "program",
    native: Callable | None = None,
    backend_compile: Callable | None = None,
    matmul: Callable = dot_into,
    profile: bool = False,
) -> Callable:
    """A function `(*input buffers) -> list of output buffers` running `closed` as
    scheduled by `groups`. Donated inputs must arrive as writeable buffers.

    `native(group, number)`, when given, may return a callable that runs a whole group:
    it takes the group's input buffers then its output buffers (planned here) and writes
    the outputs; other groups run as NumPy kernels, equation by equation.

    `matmul` runs the matrix products (`dot_into`'s contract; the LLVM backend's splits
    large ones across cores).

    Control-flow bodies are compiled as programs of their own by
    `backend_compile(closed, groups, donated, name)`, the calling backend's own
    compile_program (by default this one, with the same `native`).

    `profile=True` adds clock reads around every step (see the module docstring); bodies
    are not instrumented, their time counts as their control-flow equation's."""
    _silence_generated_code()
    jaxpr = closed.jaxpr
    bodies: list[Callable] = []

    def compile_body(body: ClosedJaxpr) -> Callable:
        # A loop or branch body is a program of its own, optimized and compiled once here
        # for the same backend.
        optimized = optimize(body)
        body_name = f"{name}_body{len(bodies)}"
        if backend_compile is not None:
            program = backend_compile(optimized, fuse(optimized), (), body_name)
        else:
            program = compile_program(
                optimized, fuse(optimized), (), body_name, native, matmul=matmul
            )
        bodies.append(program)
        return program

    natives = {}
    for number, group in enumerate(groups):
        kernel = native(group, number) if native is not None else None
        if kernel is not None:
            natives[number] = kernel
    plan = plan_buffers(steps_of(groups, natives), jaxpr.invars, jaxpr.outvars, donated)
    names: dict[Var, str] = {}
    namespace: dict[str, object] = {"__name__": _MODULE, "np": np, "dot_into": matmul}
    profile_steps: list[ProfileStep] = []
    if profile:
        namespace["perf_counter"] = time.perf_counter

    def timed(start: int, group: int, eqns: tuple, runs_as: str) -> None:
        """Wrap lines[start:] (one step) in clock reads, when profiling."""
        if not profile:
            return
        slot = len(profile_steps)
        profile_steps.append(ProfileStep(group, eqns, runs_as))
        lines.insert(start, "    started = perf_counter()")
        lines.append(f"    timings[{slot}] += perf_counter() - started")

    def var_name(var: Var) -> str:
        if var not in names:
            names[var] = f"v{len(names)}"
        return names[var]

    def operand(atom) -> str:
        if isinstance(atom, Literal):
            key = f"lit{len(namespace)}"
            namespace[key] = np.asarray(atom.val, dtype=atom.aval.dtype)
            return key
        return var_name(atom)

    for index, const in enumerate(closed.consts):
        namespace[f"const{index}"] = np.asarray(const)
    lines = [f"def {name}({', '.join(var_name(v) for v in jaxpr.invars)}):"]
    if plan.slots:
        namespace["pool"] = []
        namespace["new_scratch"] = _scratch_factory(plan)
        lines.append("    scratch = pool.pop() if pool else new_scratch()")
    for index, var in enumerate(jaxpr.constvars):
        lines.append(f"    {var_name(var)} = const{index}")
    counter = 0
    for number, group in enumerate(groups):
        lines.append(f"    # group {number}: {group.describe()}")
        if number in natives:
            start = len(lines)
            namespace[f"group{number}"] = natives[number]
            for var in group.outputs:
                lines.append(f"    {var_name(var)} = {_buffer(var, plan, names, namespace)}")
            buffers = ", ".join(operand(v) for v in (*group.inputs, *group.outputs))
            lines.append(f"    group{number}({buffers})")
            timed(start, number, group.eqns, "native kernel")
            continue
        for eqn in group.eqns:
            start = len(lines)
            args = [operand(a) for a in eqn.invars]
            out = var_name(eqn.outvars[0]) if eqn.outvars else "_"
            kernel = kernel_line(eqn, args, out)
            call = allocating_call(eqn, args) if kernel is not None else None
            runner = None if kernel is not None else control_flow_runner(eqn, compile_body)
            if call is not None and _small_fresh(eqn.outvars[0], plan):
                lines.append(f"    {out} = {call}")
            elif kernel is not None:
                lines.append(f"    {out} = {_buffer(eqn.outvars[0], plan, names, namespace)}")
                lines.append(f"    {kernel}")
            elif runner is not None:
                namespace[f"flow{counter}"] = runner
                outs = ", ".join(var_name(v) for v in eqn.outvars)
                comma = "," if len(eqn.outvars) == 1 else ""
                lines.append(f"    {outs}{comma} = flow{counter}({', '.join(args)})")
                counter += 1
            else:
                impl_key, params_key = f"impl{counter}", f"params{counter}"
                counter += 1
                namespace[impl_key] = eqn.primitive.impl
                namespace[params_key] = eqn.params
                call = f"{impl_key}({', '.join(args)}{', ' if args else ''}**{params_key})"
                if not eqn.outvars:
                    lines.append(f"    {call}")
                elif eqn.primitive.multiple_results:
                    outs = ", ".join(var_name(v) for v in eqn.outvars)
                    lines.append(f"    {outs}{',' if len(eqn.outvars) == 1 else ''} = {call}")
                else:
                    lines.append(f"    {out} = {call}")
            timed(start, number, (eqn,), _runs_as(eqn, kernel, runner))
    if plan.slots:
        lines.append("    pool.append(scratch)")
    lines.append(f"    return [{', '.join(operand(v) for v in jaxpr.outvars)}]")
    if profile:
        namespace["timings"] = [0.0] * len(profile_steps)
    source = "\n".join(lines)
    exec(compile(source, f"<funcgrad {name}>", "exec"), namespace)  # noqa: S102
    program = namespace[name]
    program.source = source
    program.plan = plan
    program.natives = natives
    program.bodies = bodies
    program.groups = tuple(groups)
    if profile:
        program.profile_steps = profile_steps
        program.timings = namespace["timings"]
    return program


def _runs_as(eqn: JaxprEqn, kernel: str | None, runner: Callable | None) -> str:
    if kernel is not None:
        return "BLAS matmul" if eqn.primitive.name == "dot_general" else "NumPy kernel"
    return "control flow" if runner is not None else "impl"


# Below this many elements a fresh output costs more to preallocate than to let NumPy make.
_SMALL_FRESH = 4096


def _small_fresh(var: Var, plan: BufferPlan) -> bool:
    # 0-d results stay preallocated: a ufunc returns a NumPy scalar for them, not an array.
    return plan.where[var][0] == FRESH and 0 < var.aval.ndim and var.aval.size <= _SMALL_FRESH


def _buffer(var: Var, plan: BufferPlan, names: dict, namespace: dict) -> str:
    kind, where = plan.where[var]
    if kind == FRESH:
        key = f"dtype_{var.aval.dtype.name}"
        namespace[key] = var.aval.dtype
        return f"np.empty({var.aval.shape!r}, {key})"
    if kind == DONATED:
        return names[where]
    return f"scratch[{where}]"


def _scratch_factory(plan: BufferPlan) -> Callable:
    slots = list(plan.slots)

    def new_scratch():
        return [np.empty(shape, dtype) for shape, dtype in slots]

    return new_scratch
