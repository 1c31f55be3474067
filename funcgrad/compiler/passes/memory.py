"""Buffer planning: which buffer each computed value is written into.

The program runs as a straight line of steps. A step either writes its results into
buffers the plan gives it (`planned`: kernels with an output argument) or returns arrays
of its own making, which may be views of its operands (`planned=False`: library calls,
layout changes). The plan assigns every planned result one of

- a scratch slot: memory the executable keeps between calls. A slot is reused by a later
  value of the same shape and dtype once every value that may share its memory is dead;
  a step marked `in_place` may write over an operand that dies at that step;
- a donated input: the buffer of an argument the caller gave up (`donate_argnums`), taken
  by a program output of its shape and dtype once the argument is no longer read;
- fresh memory, allocated per call: program outputs, which the caller keeps.

Results of unplanned steps may alias their operands, so an operand's memory lives as long
as anything derived from it, and a value that can reach a program output never sits in
scratch memory (the next call would overwrite what the caller holds).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

from funcgrad.core.jaxpr import Var

__all__ = ["Step", "BufferPlan", "plan_buffers", "SCRATCH", "FRESH", "DONATED"]

SCRATCH, FRESH, DONATED = "scratch", "fresh", "donated"


@dataclass(frozen=True)
class Step:
    reads: tuple
    writes: tuple
    planned: bool
    in_place: bool = False


@dataclass
class BufferPlan:
    """`where[var]` is (SCRATCH, slot) | (FRESH, None) | (DONATED, input var) for every
    planned value; `slots` are the scratch slots' (shape, dtype)."""

    where: dict = field(default_factory=dict)
    slots: list = field(default_factory=list)

    def donated_inputs(self) -> set:
        return {where[1] for where in self.where.values() if where[0] == DONATED}

    def scratch_bytes(self) -> int:
        return sum(int(_size(shape)) * dtype.itemsize for shape, dtype in self.slots)


def _size(shape) -> int:
    n = 1
    for d in shape:
        n *= d
    return n


def _signature(var: Var) -> tuple:
    return (var.aval.shape, var.aval.dtype)


def _memory_roots(steps: Sequence[Step], invars: Sequence[Var]) -> dict[Var, frozenset]:
    """For each value, the values whose memory it may share (itself included)."""
    roots: dict[Var, frozenset] = {v: frozenset([v]) for v in invars}
    for step in steps:
        if step.planned:
            for v in step.writes:
                roots[v] = frozenset([v])
        else:
            shared = frozenset().union(
                *(roots.get(a, frozenset()) for a in step.reads if isinstance(a, Var))
            )
            for v in step.writes:
                roots[v] = shared | {v}
    return roots


def plan_buffers(
    steps: Sequence[Step],
    invars: Sequence[Var],
    outvars: Sequence,
    donated: Sequence[bool] = (),
) -> BufferPlan:
    roots = _memory_roots(steps, invars)
    escaping = frozenset().union(*(roots.get(v, frozenset()) for v in outvars))
    # The last step at which each value's memory may still be read, through any alias.
    last_use: dict[Var, int] = {}
    for index, step in enumerate(steps):
        for atom in step.reads:
            if isinstance(atom, Var):
                for root in roots.get(atom, ()):
                    last_use[root] = index
    plan = BufferPlan()
    free: list[tuple[tuple, int]] = []  # (signature, slot)
    slot_of: dict[Var, int] = {}
    # A donated input whose memory an output may share is returned, not overwritten.
    donor_free = {
        v: v not in last_use for v, give in zip(invars, donated) if give and v not in escaping
    }
    expiring: dict[int, list[Var]] = {}
    for var, index in last_use.items():
        expiring.setdefault(index, []).append(var)

    def release(index: int):
        for var in expiring.get(index, ()):
            if var in slot_of:
                free.append((_signature(var), slot_of[var]))
            if var in donor_free:
                donor_free[var] = True

    for index, step in enumerate(steps):
        if step.in_place:
            release(index)
        if step.planned:
            for var in step.writes:
                plan.where[var] = _place(var, var in escaping, plan, free, slot_of, donor_free)
        if not step.in_place:
            release(index)
    return plan


def _place(var: Var, escapes: bool, plan: BufferPlan, free, slot_of, donor_free) -> tuple:
    signature = _signature(var)
    if escapes:
        for donor, available in donor_free.items():
            if available and _signature(donor) == signature:
                donor_free[donor] = False
                return (DONATED, donor)
        return (FRESH, None)
    for position, (free_signature, slot) in enumerate(free):
        if free_signature == signature:
            del free[position]
            slot_of[var] = slot
            return (SCRATCH, slot)
    plan.slots.append(signature)
    slot_of[var] = len(plan.slots) - 1
    return (SCRATCH, slot_of[var])
