"""Scan hoisting: matrix products a scan's body computes from the scanned slices alone
are done for every step at once, before the loop.

Body equations that read only the current slices `xs` (and the loop's constants, or values
computed from constants alone), never the carry, give the same results whichever step they
run in, so they can run for all steps as one batched computation (the body's equations
under `vmap` over the scanned axis) whose stacked results the loop then scans as extra
inputs. An RNN's input projection `x_t @ W_x` becomes one (steps * batch, in) x (in, out)
product, which BLAS runs near its peak, instead of one small product per step. Only groups
that hold a matrix product move: elementwise work costs as much inside the loop as outside,
and moving it would store a stacked intermediate for nothing. Bodies holding effects,
or a scan of no steps, are left alone. Operands the body stops reading are dropped by DCE.
"""

from __future__ import annotations

from funcgrad.compiler.passes.inline import Inliner
from funcgrad.core.jaxpr import (
    ClosedJaxpr,
    Jaxpr,
    JaxprEqn,
    Var,
    eval_jaxpr,
    has_effects,
    sub_jaxprs,
)
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.lax.control_flow import scan_p

__all__ = ["hoist_scans"]


def hoist_scans(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with each top-level scan's step-independent products moved before it."""
    if not any(eqn.primitive is scan_p for eqn in closed.jaxpr.eqns):
        return closed
    program = Inliner()
    program.constvars, program.consts = list(closed.jaxpr.constvars), list(closed.consts)
    changed = False
    for eqn in closed.jaxpr.eqns:
        split = _split(eqn) if eqn.primitive is scan_p else None
        if split is None:
            program.eqns.append(eqn)
            continue
        program.eqns.append(_hoisted(eqn, split, program))
        changed = True
    if not changed:
        return closed
    jaxpr = closed.jaxpr
    return ClosedJaxpr(
        Jaxpr(tuple(program.constvars), jaxpr.invars, jaxpr.outvars, tuple(program.eqns)),
        tuple(program.consts),
    )


class _Split:
    """A scan body divided: `moved` equations run before the loop (with the `invariant`
    ones they read), `kept` ones stay; `needed` are the moved results the loop reads."""

    def __init__(self, invariant, moved, kept, needed, const_positions, xs_positions):
        self.invariant, self.moved, self.kept, self.needed = invariant, moved, kept, needed
        self.const_positions, self.xs_positions = const_positions, xs_positions


def _split(eqn: JaxprEqn) -> _Split | None:
    params = eqn.params
    body: Jaxpr = params["jaxpr"].jaxpr
    n_consts, n_carry = params["num_consts"], params["num_carry"]
    if params["jaxpr"].consts or params["length"] == 0:
        return None
    if any(has_effects(e) for e in body.eqns):
        return None
    consts_in, xs_in = body.invars[:n_consts], body.invars[n_consts + n_carry :]
    fixed, per_step = set(consts_in), set(xs_in)
    invariant, moved = [], []
    for e in body.eqns:
        reads = [a for a in e.invars if isinstance(a, Var)]
        if any(sub_jaxprs(e.params)) or not all(a in fixed or a in per_step for a in reads):
            continue
        if any(a in per_step for a in reads):
            moved.append(e)
            per_step.update(e.outvars)
        else:
            invariant.append(e)
            fixed.update(e.outvars)
    if not any(e.primitive.name == "dot_general" for e in moved):
        return None
    gone = {id(e) for e in moved}
    kept = [e for e in body.eqns if id(e) not in gone]
    produced = {v for e in moved for v in e.outvars}
    needed: dict[Var, None] = {}
    for atom in [a for e in kept for a in e.invars] + list(body.outvars):
        if isinstance(atom, Var) and atom in produced:
            needed[atom] = None
    reads = {a for e in invariant + moved for a in e.invars if isinstance(a, Var)}
    const_positions = [i for i, v in enumerate(consts_in) if v in reads]
    xs_positions = [i for i, v in enumerate(xs_in) if v in reads]
    return _Split(invariant, moved, kept, list(needed), const_positions, xs_positions)


def _hoisted(eqn: JaxprEqn, split: _Split, program: Inliner) -> JaxprEqn:
    """Splice the moved equations, batched over the scanned axis, into `program`; the scan
    equation that reads their stacked results."""
    from funcgrad.api import vmap  # the api module imports the compiler

    params = eqn.params
    body: Jaxpr = params["jaxpr"].jaxpr
    n_consts, n_carry = params["num_consts"], params["num_carry"]
    consts_in, xs_in = body.invars[:n_consts], body.invars[n_consts + n_carry :]
    inner = [consts_in[i] for i in split.const_positions] + [xs_in[i] for i in split.xs_positions]
    step = Jaxpr((), tuple(inner), tuple(split.needed), tuple(split.invariant + split.moved))
    outer = [eqn.invars[i] for i in split.const_positions]
    outer += [eqn.invars[n_consts + n_carry + i] for i in split.xs_positions]
    in_axes = (None,) * len(split.const_positions) + (0,) * len(split.xs_positions)

    def every_step(*args):
        return list(eval_jaxpr(step, (), *args))

    batched = trace_to_jaxpr(
        lambda *args: vmap(every_step, in_axes=in_axes, axis_size=params["length"])(*args),
        [atom.aval for atom in outer],
        "scan hoisting",
    )
    stacked = program.inline_call(batched, tuple(outer))
    new_body = Jaxpr((), (*body.invars, *split.needed), body.outvars, tuple(split.kept))
    return JaxprEqn(
        scan_p,
        (*eqn.invars, *stacked),
        eqn.outvars,
        {**params, "jaxpr": ClosedJaxpr(new_body, ())},
        eqn.source_info,
    )
