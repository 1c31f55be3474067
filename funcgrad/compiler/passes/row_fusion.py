"""Row fusion: consecutive groups working on the same rows become one group.

Softmax, logsumexp and layernorm reduce each row, then use the row's result on that row
again. Fusion gives them a group per pass (max; exp and its sum; the division), and each
group streams the whole array through memory. When consecutive groups all work on the same
rows -- reductions over the same trailing axes of one shape, elementwise groups of that
shape, and small groups computing one value per row between them -- they can run as one
kernel whose parallel loop is over rows, with the passes over a row one after the other
while the row is still in cache: the array comes from memory once, and the per-row values
(a max, a sum, a variance) never go to memory at all.

A `ROWS` group lists its members' equations in order. Its `shape` is the full iteration
space; its values are either full-shape (recomputed in every pass over the row that reads
them) or one per row (computed once per row, between passes). A backend asks for such
groups with `accept` and gets the chain as separate groups where it declines.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

from funcgrad.compiler.passes.fusion import ELEMENTWISE, OPAQUE, REDUCTION, FusionGroup
from funcgrad.core.jaxpr import ClosedJaxpr, JaxprEqn, Var

__all__ = ["ROWS", "fuse_rows", "row_space"]

ROWS = "rows"

# Reshapes of one value per row keep its order (C order on both sides).
_ROW_LAYOUT = frozenset(["reshape", "squeeze", "expand_dims", "broadcast_in_dim"])


def row_space(group: FusionGroup) -> tuple[tuple, tuple] | None:
    """(shape, reduced axes) of a reduction group whose reductions all reduce the same
    trailing axes of its shape (more than one element per row); else None."""
    if group.kind != REDUCTION:
        return None
    axes = {tuple(e.params["axes"]) for e in group.eqns if "axes" in e.params}
    if len(axes) != 1:
        return None
    (reduced,) = axes
    rank = len(group.shape)
    if not reduced or reduced != tuple(range(rank - len(reduced), rank)):
        return None
    if math.prod(group.shape[a] for a in reduced) <= 1:
        return None
    return group.shape, reduced


def fuse_rows(
    closed: ClosedJaxpr, groups: list[FusionGroup], accept: Callable[[FusionGroup], bool]
) -> list[FusionGroup]:
    """`groups` with each chain of two or more consecutive groups on the same rows merged
    into one `ROWS` group, where `accept` takes the merged group."""
    readers: dict[Var, set[int]] = {}
    for number, group in enumerate(groups):
        for var in group.inputs:
            readers.setdefault(var, set()).add(number)
    program_outputs = {v for v in closed.jaxpr.outvars if isinstance(v, Var)}
    result: list[FusionGroup] = []
    start = 0
    while start < len(groups):
        stop = _chain_end(groups, start)
        if stop - start >= 2:
            merged = _merge(groups, start, stop, readers, program_outputs)
            if accept(merged):
                result.append(merged)
                start = stop
                continue
        result.append(groups[start])
        start += 1
    return result


def _chain_end(groups: list[FusionGroup], start: int) -> int:
    """One past the last group of the chain that starts at `start` (start + 1 if none)."""
    space = row_space(groups[start])
    if space is None:
        return start + 1
    shape, _ = space
    rows = math.prod(shape) // math.prod(shape[a] for a in space[1])
    stop = start + 1
    while stop < len(groups):
        group = groups[stop]
        same_rows = row_space(group) == space
        full = group.kind == ELEMENTWISE and group.shape == shape
        if not (same_rows or full or _per_row(group, rows)):
            break
        stop += 1
    return stop


def _per_row(group: FusionGroup, rows: int) -> bool:
    """Whether the group computes one value per row from such values and scalars."""
    if group.kind not in (ELEMENTWISE, OPAQUE):
        return False
    for eqn in group.eqns:
        if group.kind == OPAQUE and eqn.primitive.name not in _ROW_LAYOUT:
            return False
        if any(math.prod(v.aval.shape) != rows for v in eqn.outvars):
            return False
        for atom in eqn.invars:
            if isinstance(atom, Var) and atom.aval.shape and math.prod(atom.aval.shape) != rows:
                return False
    return True


def _merge(groups, start, stop, readers, program_outputs) -> FusionGroup:
    members = groups[start:stop]
    inside = set(range(start, stop))
    read_outside = {
        v
        for group in members
        for v in group.outputs
        if v in program_outputs or readers.get(v, set()) - inside
    }
    eqns = _without_repeats([eqn for group in members for eqn in group.eqns], read_outside)
    defined = {v for eqn in eqns for v in eqn.outvars}
    inputs: dict[Var, None] = {}
    for eqn in eqns:
        for atom in eqn.invars:
            if isinstance(atom, Var) and atom not in defined:
                inputs[atom] = None
    outputs = tuple(
        v
        for eqn in eqns
        for v in eqn.outvars
        if v in program_outputs or readers.get(v, set()) - inside
    )
    return FusionGroup(ROWS, members[0].shape, eqns, tuple(inputs), outputs)


def _without_repeats(eqns: list[JaxprEqn], keep: set) -> tuple[JaxprEqn, ...]:
    """The equations with repeats dropped and their readers reading the first instance.

    Rematerialization copies a cheap producer into each group that reads it (softmax's
    exp(x - max) into both the sum's group and the division's); once those groups are one,
    a single copy is computed and the kernel can keep it between passes. Equations whose
    results are read outside the merged group (`keep`) stay.
    """
    renamed: dict[Var, Var] = {}
    seen: dict = {}
    result = []
    for eqn in eqns:
        invars = tuple(renamed.get(a, a) if isinstance(a, Var) else a for a in eqn.invars)
        if invars != eqn.invars:
            eqn = JaxprEqn(eqn.primitive, invars, eqn.outvars, eqn.params, eqn.source_info)
        key = _eqn_key(eqn)
        earlier = seen.get(key) if key is not None else None
        if earlier is not None and not set(eqn.outvars) & keep:
            renamed.update(zip(eqn.outvars, earlier.outvars))
            continue
        if key is not None:
            seen.setdefault(key, eqn)
        result.append(eqn)
    return tuple(result)


def _eqn_key(eqn: JaxprEqn):
    """What makes two equations compute the same values, or None when unsure."""
    operands = tuple(
        a if isinstance(a, Var) else (a.aval, np.asarray(a.val).tobytes()) for a in eqn.invars
    )
    try:
        params = tuple(sorted(eqn.params.items()))
        hash(params)
    except TypeError:
        return None
    return eqn.primitive, operands, params, tuple(v.aval for v in eqn.outvars)
