"""Inlining: replace call equations by the equations of the programs they call.

A jit called inside another jit (or under grad/vmap) stays a `closed_call` equation;
`custom_jvp`, `custom_vjp` and `checkpoint` stage `custom_jvp_call`, `custom_vjp_call`
and `remat_call`. Once a program is being compiled no differentiation is left to do, so
only what these calls compute matters, and that is their `call_jaxpr` body. Splicing the
bodies in place gives the later passes (fold, CSE, fusion) one flat program to see across,
instead of opaque boundaries. Bodies are inlined recursively, with fresh variables for
every inlined copy (the same body may be called twice); a body's consts become consts of
the outer program. Equations keep their order and their `source_info`.

Not inlined, left as they are: `custom_lin` (a linear placeholder with no body, which
cannot run forward anyway) and any other primitive whose parameters hold jaxprs (control
flow runs its bodies conditionally or repeatedly, so they cannot be spliced in). Such
equations' sub-jaxprs are kept untouched. Inlining a `remat_call` gives up the
rematerialization barrier: a later CSE may merge the recomputed values of a checkpointed
function's backward pass with its forward ones, which keeps values and trades memory back
for compute.

Expansions: a primitive may also register, in `EXPANSIONS`, its definition in terms of
other primitives (`threefry2x32` in funcgrad/lax/random_bits.py: the cipher in uint32
adds, xors, ors and shifts). Its equations are replaced by that definition, traced at the
equation's operand types (once per signature) and spliced like a call body, so that
fusion and the backends see only primitives they already compile. Traced programs keep
the single equation; only compilation expands it.
"""

from __future__ import annotations

import functools
from typing import Callable

from funcgrad.core.jaxpr import Atom, ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.interpreters.custom_derivatives import custom_jvp_call_p, custom_vjp_call_p
from funcgrad.interpreters.remat import remat_call_p
from funcgrad.lax.control_flow import closed_call_p

__all__ = ["EXPANSIONS", "INLINED_PRIMITIVES", "Inliner", "inline"]

# Each holds its body in the `call_jaxpr` parameter and takes the body's inputs as operands.
INLINED_PRIMITIVES = frozenset({closed_call_p, custom_jvp_call_p, custom_vjp_call_p, remat_call_p})

# primitive -> expansion(*operands, **params) -> list of results, built from other primitives;
# entries sit beside their primitive's definition.
EXPANSIONS: dict = {}


@functools.lru_cache(maxsize=256)
def _expansion_body(primitive, in_avals: tuple, params: tuple) -> ClosedJaxpr:
    from funcgrad.interpreters.partial_eval import trace_to_jaxpr

    expansion: Callable = EXPANSIONS[primitive]
    return trace_to_jaxpr(
        lambda *args: expansion(*args, **dict(params)), list(in_avals), f"{primitive} expansion"
    )


class Inliner:
    """Accumulates the flat program: its equations and the consts bodies bring along."""

    def __init__(self):
        self.eqns: list[JaxprEqn] = []
        self.constvars: list[Var] = []
        self.consts: list = []

    def splice(self, jaxpr: Jaxpr, env: dict[Var, Atom]) -> None:
        """Append `jaxpr`'s equations, reading its variables through `env` (which this
        extends with every variable the equations bind)."""

        def read(atom: Atom) -> Atom:
            return atom if isinstance(atom, Literal) else env[atom]

        for eqn in jaxpr.eqns:
            invars = tuple(map(read, eqn.invars))
            if eqn.primitive in INLINED_PRIMITIVES:
                results = self.inline_call(eqn.params["call_jaxpr"], invars)
                env.update(zip(eqn.outvars, results))
                continue
            if eqn.primitive in EXPANSIONS:
                in_avals = tuple(atom.aval for atom in eqn.invars)
                params = tuple(sorted(eqn.params.items()))
                body = _expansion_body(eqn.primitive, in_avals, params)
                env.update(zip(eqn.outvars, self.inline_call(body, invars)))
                continue
            outvars = tuple(Var(v.aval) for v in eqn.outvars)
            env.update(zip(eqn.outvars, outvars))
            self.eqns.append(JaxprEqn(eqn.primitive, invars, outvars, eqn.params, eqn.source_info))

    def inline_call(self, body: ClosedJaxpr, operands: tuple[Atom, ...]) -> list[Atom]:
        """Splice `body` applied to `operands`; the atoms that hold its results."""
        env: dict[Var, Atom] = dict(zip(body.jaxpr.invars, operands))
        for var, const in zip(body.jaxpr.constvars, body.consts):
            env[var] = self.add_const(var, const)
        self.splice(body.jaxpr, env)
        return [v if isinstance(v, Literal) else env[v] for v in body.jaxpr.outvars]

    def add_const(self, var: Var, value) -> Var:
        outer = Var(var.aval)
        self.constvars.append(outer)
        self.consts.append(value)
        return outer


def _has_calls(jaxpr: Jaxpr) -> bool:
    return any(
        eqn.primitive in INLINED_PRIMITIVES or eqn.primitive in EXPANSIONS for eqn in jaxpr.eqns
    )


def inline(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with every call equation replaced by its body, recursively.

    >>> inline(make_jaxpr(lambda x: jit(jnp.sin)(x))(1.0))       # doctest: +SKIP
    { lambda ; a:f32[]. let b:f32[] = sin a in (b,) }
    """
    if not _has_calls(closed.jaxpr):
        return closed
    inliner = Inliner()
    # The outer program is inlined like a call whose consts are its own.
    outvars = inliner.inline_call(closed, tuple(closed.jaxpr.invars))
    jaxpr = Jaxpr(
        tuple(inliner.constvars), closed.jaxpr.invars, tuple(outvars), tuple(inliner.eqns)
    )
    return ClosedJaxpr(jaxpr, tuple(inliner.consts))
