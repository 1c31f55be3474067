"""Fusion grouping: partition a program's equations into groups that run as one kernel.

A group has one iteration space (`shape`): its elementwise members (and the broadcasts and
iotas feeding them) all produce arrays of that shape, so a backend can evaluate them in a
single loop that reads each input once and writes each output once. Reductions whose
operand has the group's shape join it as the group's tail (softmax's exp feeding its sum),
and a matrix product opens a group whose elementwise members form its epilogue (bias and
activation applied to the product). Everything else (sorts, gathers, linear algebra,
layout changes, calls) is a group of its own.

Groups come out in an order that respects every data dependence: an equation joins an open
group only when all the values it reads from outside that group were produced before the
group started, so running the groups in order, each as a unit, is valid.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from funcgrad.core.jaxpr import ClosedJaxpr, JaxprEqn, Var, has_effects

__all__ = ["FusionGroup", "fuse", "ELEMENTWISE", "REDUCTION", "MATMUL", "OPAQUE"]

ELEMENTWISE, REDUCTION, MATMUL, OPAQUE = "elementwise", "reduction", "matmul", "opaque"

_REDUCTIONS = frozenset(
    ["reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "reduce_and", "reduce_or", "argmax"]
    + ["argmin", "reduce_xor"]
)
# Produce the group's shape from smaller (or no) inputs, read with broadcast strides.
_GENERATORS = frozenset(["broadcast_in_dim", "iota"])


@dataclass(frozen=True, eq=False)
class FusionGroup:
    """Equations run as one kernel. `inputs` are read from outside the group (program
    inputs, constants, earlier groups' outputs); `outputs` are the members' results that
    later groups or the program's outputs read."""

    kind: str
    shape: tuple
    eqns: tuple
    inputs: tuple
    outputs: tuple

    def describe(self) -> str:
        dtypes = sorted({v.aval.dtype.name for v in self.outputs} or {"-"})
        shape = ",".join(map(str, self.shape))
        return f"{self.kind}[{shape}] {'/'.join(dtypes)}, {len(self.eqns)} ops"


def _is_elementwise(eqn: JaxprEqn) -> bool:
    if eqn.primitive.module != "funcgrad.lax.elementwise" or eqn.primitive.multiple_results:
        return False
    shape = eqn.outvars[0].aval.shape
    return all(a.aval.shape in (shape, ()) for a in eqn.invars)


def _role(eqn: JaxprEqn) -> str:
    if has_effects(eqn):
        return OPAQUE
    name = eqn.primitive.name
    if name in _GENERATORS:
        return "generator"
    if name in _REDUCTIONS:
        return REDUCTION
    if name == "dot_general":
        return MATMUL
    return ELEMENTWISE if _is_elementwise(eqn) else OPAQUE


class _Open:
    """A group being built."""

    def __init__(self, kind: str, shape: tuple, index: int):
        self.kind, self.shape, self.index = kind, shape, index
        self.eqns: list[JaxprEqn] = []
        self.reduced: set[Var] = set()  # reduction results: readable only after the group
        self.axes: tuple | None = None  # the axes its reductions reduce, once it has one


def fuse(closed: ClosedJaxpr) -> list[FusionGroup]:
    """The program's equations, grouped, in a valid execution order."""
    jaxpr = closed.jaxpr
    groups: list[_Open] = []
    home: dict[Var, _Open] = {}  # which group produces each value
    # A broadcast or iota of values from outside any open group waits for its first
    # consumer and joins that consumer's group, so a bias broadcast lands in the matmul
    # epilogue that adds it rather than in a group of its own.
    pending: dict[Var, JaxprEqn] = {}

    def reads_of(eqn: JaxprEqn) -> list[Var]:
        # Pending generators would come along, so what they read counts too.
        reads = [a for a in eqn.invars if isinstance(a, Var)]
        return reads + [a for v in reads if v in pending for a in reads_of(pending[v])]

    def can_join(group: _Open, eqn: JaxprEqn) -> bool:
        for atom in reads_of(eqn):
            source = home.get(atom) if isinstance(atom, Var) else None
            if source is group:
                if atom in group.reduced:
                    return False
            elif source is not None and source.index > group.index:
                return False
        return True

    def candidate(eqn: JaxprEqn, shape: tuple) -> _Open | None:
        """The group eqn joins: the latest one producing one of its operands, else the
        latest of its iteration space (siblings that share inputs, like `x > 0` and `x * y`
        in a `where`, then read them in one pass), when eqn may join it."""
        producers = {home[a] for a in eqn.invars if isinstance(a, Var) and a in home}
        ordered = sorted(producers, key=lambda g: -g.index) + groups[::-1]
        for group in ordered:
            if group.kind != OPAQUE and group.shape == shape and can_join(group, eqn):
                return group
        return None

    def start(kind: str, shape: tuple) -> _Open:
        group = _Open(kind, shape, len(groups))
        groups.append(group)
        return group

    def place(eqn: JaxprEqn, group: _Open) -> None:
        group.eqns.append(eqn)
        for var in eqn.outvars:
            home[var] = group

    def pull_pending(eqn: JaxprEqn, group: _Open | None) -> None:
        """The pending generators eqn reads (and what they read), into `group` when they
        fit it, else into groups of their own started now."""
        for atom in eqn.invars:
            generator = pending.pop(atom, None) if isinstance(atom, Var) else None
            if generator is None:
                continue
            fits = group is not None and group.kind != OPAQUE
            if fits and atom.aval.shape == group.shape:
                pull_pending(generator, group)
                place(generator, group)
            else:
                place_alone(generator)

    def place_alone(generator: JaxprEqn) -> None:
        """A generator (after the pending ones it reads) in a group of its own, started now."""
        pull_pending(generator, None)
        place(generator, start(ELEMENTWISE, generator.outvars[0].aval.shape))

    def settle(eqn: JaxprEqn, shape: tuple) -> None:
        """Before eqn picks a group of iteration space `shape`: the pending generators it
        would pull in (directly or through another) that cannot fit that space get groups
        of their own now, which precede whichever group eqn joins (an iota feeding a
        broadcast must not land in a group after the broadcast's)."""
        for atom in eqn.invars:
            generator = pending.get(atom) if isinstance(atom, Var) else None
            if generator is None:
                continue
            if atom.aval.shape == shape:
                settle(generator, shape)
            else:
                del pending[atom]
                place_alone(generator)

    for eqn in jaxpr.eqns:
        role = _role(eqn)
        out_shape = eqn.outvars[0].aval.shape if eqn.outvars else ()
        if role in ("generator", ELEMENTWISE):
            settle(eqn, out_shape)
        elif role == REDUCTION:
            settle(eqn, eqn.invars[0].aval.shape)
        if role == "generator":
            group = candidate(eqn, out_shape)
            if group is None:
                pending[eqn.outvars[0]] = eqn
                continue
        elif role == ELEMENTWISE:
            group = candidate(eqn, out_shape)
            if group is None:
                group = start(ELEMENTWISE, out_shape)
        elif role == REDUCTION:
            operand_shape = eqn.invars[0].aval.shape
            group = candidate(eqn, operand_shape)
            # One group reduces one set of axes (a kernel's loop nest has one shape);
            # a reduction over no axes is a copy and fits any.
            axes = tuple(sorted(eqn.params.get("axes", ()))) or None
            clash = group is not None and None not in (axes, group.axes) and axes != group.axes
            if group is None or group.kind == MATMUL or clash:
                group = start(REDUCTION, operand_shape)
            group.axes = group.axes or axes
            group.reduced.update(eqn.outvars)
            if group.kind == ELEMENTWISE:
                group.kind = REDUCTION
        else:
            pull_pending(eqn, None)
            group = start(MATMUL if role == MATMUL else OPAQUE, out_shape)
        pull_pending(eqn, group)
        place(eqn, group)
    for generator in pending.values():  # read only by the program's outputs
        place(generator, start(ELEMENTWISE, generator.outvars[0].aval.shape))
    return _finish(closed, groups)


def _finish(closed: ClosedJaxpr, groups: list[_Open]) -> list[FusionGroup]:
    """Each group's inputs and outputs, from who reads what."""
    readers: dict[Var, set[int]] = {}
    for group in groups:
        for eqn in group.eqns:
            for atom in eqn.invars:
                if isinstance(atom, Var):
                    readers.setdefault(atom, set()).add(group.index)
    program_outputs = {v for v in closed.jaxpr.outvars if isinstance(v, Var)}
    result = []
    for group in groups:
        defined = {v for eqn in group.eqns for v in eqn.outvars}
        inputs: dict[Var, None] = {}
        for eqn in group.eqns:
            for atom in eqn.invars:
                if isinstance(atom, Var) and atom not in defined:
                    inputs[atom] = None
        outputs = tuple(
            v
            for eqn in group.eqns
            for v in eqn.outvars
            if v in program_outputs or readers.get(v, set()) - {group.index}
        )
        result.append(
            FusionGroup(group.kind, group.shape, tuple(group.eqns), tuple(inputs), outputs)
        )
    return result


def split_epilogues(closed: ClosedJaxpr, groups: list[FusionGroup]) -> list[FusionGroup]:
    """The groups with each matmul's epilogue as an elementwise group of its own, for a
    backend that runs the product as a library call and the epilogue as its own kernel."""
    opens: list[_Open] = []

    def add(kind: str, shape: tuple, eqns) -> None:
        group = _Open(kind, shape, len(opens))
        group.eqns.extend(eqns)
        opens.append(group)

    for group in groups:
        if group.kind == MATMUL and len(group.eqns) > 1:
            add(MATMUL, group.shape, group.eqns[:1])
            add(ELEMENTWISE, group.shape, group.eqns[1:])
        else:
            add(group.kind, group.shape, group.eqns)
    return _finish(closed, opens)


def rematerialize(
    closed: ClosedJaxpr, groups: list[FusionGroup], cost: Callable[[JaxprEqn], float], budget: float
) -> list[FusionGroup]:
    """The groups with cheap elementwise producers recomputed where they are consumed.

    A value a group reads from an earlier group of the same iteration space, when that
    group computes it elementwise from its own inputs (not from a reduction) at a cost
    within `budget`, is recomputed in the reader instead: the earlier group no longer
    writes it to memory when nothing else reads it, and the reader reads the producer's
    (often already cached) inputs instead. Softmax's exp and layernorm's centered values
    are the cases this is for: a pass over memory saved for a little arithmetic.
    """
    made_by: dict[Var, tuple[FusionGroup, JaxprEqn]] = {}
    for group in groups:
        for eqn in group.eqns:
            for var in eqn.outvars:
                made_by[var] = (group, eqn)
    opens: list[_Open] = []
    for group in groups:
        fusible = group.kind in (ELEMENTWISE, REDUCTION)
        clones: dict[Var, Var] = {}
        prefix: list[JaxprEqn] = []
        for var in group.inputs if fusible else ():
            chain = _recomputable(var, group, made_by, cost, budget)
            if chain is not None:
                _clone_into(chain, clones, prefix)
        current = _Open(group.kind, group.shape, len(opens))
        current.eqns.extend(prefix)
        current.eqns.extend(_read_clones(eqn, clones) for eqn in group.eqns)
        opens.append(current)
    return _finish(closed, opens)


def _recomputable(var, reader, made_by, cost, budget) -> list[JaxprEqn] | None:
    """The equations (in order) computing `var` inside its group from that group's inputs,
    when they are all elementwise and cost at most `budget`; else None."""
    if var not in made_by:
        return None
    group, _ = made_by[var]
    if group is reader or group.shape != reader.shape or group.kind not in (ELEMENTWISE, REDUCTION):
        return None
    inside = {v for eqn in group.eqns for v in eqn.outvars}
    chain, seen, total = [], set(), 0.0
    pending = [var]
    while pending:
        current = pending.pop()
        if current in seen or current not in inside:
            continue
        seen.add(current)
        _, eqn = made_by[current]
        if _role(eqn) not in (ELEMENTWISE, "generator") or eqn.outvars[0].aval.shape != group.shape:
            return None
        total += cost(eqn)
        if total > budget:
            return None
        chain.append(eqn)
        pending.extend(a for a in eqn.invars if isinstance(a, Var))
    order = {id(eqn): index for index, eqn in enumerate(group.eqns)}
    return sorted(chain, key=lambda eqn: order[id(eqn)])


def _clone_into(chain: list[JaxprEqn], clones: dict, prefix: list) -> None:
    for eqn in chain:
        if eqn.outvars[0] in clones:
            continue
        outvars = tuple(Var(v.aval) for v in eqn.outvars)
        prefix.append(_read_clones(eqn, clones, outvars))
        clones.update(zip(eqn.outvars, outvars))


def _read_clones(eqn: JaxprEqn, clones: dict, outvars: tuple | None = None) -> JaxprEqn:
    invars = tuple(clones.get(a, a) if isinstance(a, Var) else a for a in eqn.invars)
    if outvars is None and invars == eqn.invars:
        return eqn
    return JaxprEqn(eqn.primitive, invars, outvars or eqn.outvars, eqn.params, eqn.source_info)
