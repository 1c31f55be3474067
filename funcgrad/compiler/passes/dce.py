"""Dead code elimination: drop equations whose results nothing uses.

All primitives are pure, so an equation is dead exactly when none of its outputs is
read by a live equation or returned.
"""

from __future__ import annotations

from typing import Sequence

from funcgrad.core.jaxpr import Jaxpr, Var

__all__ = ["dce_jaxpr"]


def dce_jaxpr(jaxpr: Jaxpr, used_outputs: Sequence[bool] | None = None) -> Jaxpr:
    """`jaxpr` keeping only the outputs marked used (all by default) and the equations
    they need. Inputs are kept as they are, so callers' operand lists stay valid."""
    if used_outputs is None:
        used_outputs = [True] * len(jaxpr.outvars)
    outvars = tuple(v for v, used in zip(jaxpr.outvars, used_outputs) if used)
    live = {v for v in outvars if isinstance(v, Var)}
    kept = []
    for eqn in reversed(jaxpr.eqns):
        if any(v in live for v in eqn.outvars):
            kept.append(eqn)
            live.update(v for v in eqn.invars if isinstance(v, Var))
    return Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, tuple(reversed(kept)))
