"""Dead code elimination: drop equations whose results nothing uses.

An equation is dead when none of its outputs is read by a live equation or returned and
its primitive has no side effects (debug printing stays). A live equation may be narrowed
by its primitive's entry in `dce_rules`: a scan whose stacked outputs nobody reads stops
computing them, inside its body too, and stops taking operands its body never reads.
"""

from __future__ import annotations

from typing import Sequence

from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, Var, has_effects

__all__ = ["dce_jaxpr", "dce", "dce_rules"]

# primitive -> rule(eqn, used_outputs) -> an equation binding only the used outputs (or
# more), or the equation itself when nothing can go. Entries sit beside their primitives
# (lax/control_flow.py).
dce_rules: dict = {}


def dce_jaxpr(jaxpr: Jaxpr, used_outputs: Sequence[bool] | None = None) -> Jaxpr:
    """`jaxpr` keeping only the outputs marked used (all by default) and the equations
    they need. Inputs are kept as they are, so callers' operand lists stay valid."""
    if used_outputs is None:
        used_outputs = [True] * len(jaxpr.outvars)
    outvars = tuple(v for v, used in zip(jaxpr.outvars, used_outputs) if used)
    live = {v for v in outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        used = [v in live for v in eqn.outvars]
        if any(used) or has_effects(eqn):
            rule = dce_rules.get(eqn.primitive)
            if rule is not None and not has_effects(eqn):
                eqn = rule(eqn, used)
            kept.append(eqn)
            live.update(v for v in eqn.invars if isinstance(v, Var))
    return Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, tuple(reversed(kept)))


def dce(closed: ClosedJaxpr) -> ClosedJaxpr:
    """The pipeline's form: every output used; constants nothing reads are dropped too."""
    jaxpr = dce_jaxpr(closed.jaxpr)
    read = {v for eqn in jaxpr.eqns for v in eqn.invars if isinstance(v, Var)}
    read.update(v for v in jaxpr.outvars if isinstance(v, Var))
    kept = [(v, c) for v, c in zip(jaxpr.constvars, closed.consts) if v in read]
    constvars = tuple(v for v, _ in kept)
    return ClosedJaxpr(
        Jaxpr(constvars, jaxpr.invars, jaxpr.outvars, jaxpr.eqns), tuple(c for _, c in kept)
    )
