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

Accumulated products go the other way: a carry that only ever receives `acc + a @ b`
(reverse mode's weight gradients, `x_t.T @ g_t` summed over the steps) is left unchanged
by the loop, which stacks `a` and `b` instead (or reads them from its scanned inputs
directly), and after the loop one product contracting the step axis as well adds them all:
a (in, steps * batch) x (steps * batch, out) product in place of one with a contraction of
`batch` per step. It applies while the stacked operands take at most _STACK_BUDGET bytes.
"""

from __future__ import annotations

from typing import NamedTuple

from funcgrad.compiler.passes.inline import Inliner
from funcgrad.core.avals import ShapedArray
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
from funcgrad.lax.elementwise import add_p
from funcgrad.lax.linalg import dot_general_p
from funcgrad.lax.shapes import transpose_p

__all__ = ["hoist_scans"]

_STACK_BUDGET = 64 << 20


def hoist_scans(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with each top-level scan's step-independent products moved before it."""
    if not any(eqn.primitive is scan_p for eqn in closed.jaxpr.eqns):
        return closed
    program = Inliner()
    program.constvars, program.consts = list(closed.jaxpr.constvars), list(closed.consts)
    changed = False
    for eqn in closed.jaxpr.eqns:
        if eqn.primitive is not scan_p:
            program.eqns.append(eqn)
            continue
        after: list[JaxprEqn] = []
        scan = _without_accumulations(eqn, after)
        split = _split(scan)
        if split is not None:
            scan = _hoisted(scan, split, program)
        program.eqns += [scan, *after]
        changed = changed or scan is not eqn
    if not changed:
        return closed
    jaxpr = closed.jaxpr
    return ClosedJaxpr(
        Jaxpr(tuple(program.constvars), jaxpr.invars, jaxpr.outvars, tuple(program.eqns)),
        tuple(program.consts),
    )


class _Split(NamedTuple):
    """A scan body divided: `moved` equations run before the loop (with the `invariant`
    ones they read), `kept` ones stay; `needed` are the moved results the loop reads."""

    invariant: list
    moved: list
    kept: list
    needed: list
    const_positions: list
    xs_positions: list


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


def _without_accumulations(eqn: JaxprEqn, after: list) -> JaxprEqn:
    """The scan with each carry that only accumulates products passed through unchanged;
    `after` receives the equations adding all the products to its final value."""
    params = eqn.params
    body: Jaxpr = params["jaxpr"].jaxpr
    n_consts, n_carry, length = params["num_consts"], params["num_carry"], params["length"]
    if params["jaxpr"].consts or length == 0 or any(has_effects(e) for e in body.eqns):
        return eqn
    readers: dict[Var, list] = {}
    for e in body.eqns:
        for atom in e.invars:
            if isinstance(atom, Var):
                readers.setdefault(atom, []).append(e)
    made = {v: e for e in body.eqns for v in e.outvars}
    carry_in = body.invars[n_consts : n_consts + n_carry]
    xs_in = body.invars[n_consts + n_carry :]
    consts_in = set(body.invars[:n_consts])
    outvars = list(body.outvars)
    found = []  # (carry index, add eqn, dot eqn)
    for k, c in enumerate(carry_in):
        total = outvars[k]
        add = made.get(total) if isinstance(total, Var) else None
        if add is None or add.primitive is not add_p or readers.get(c) != [add]:
            continue
        if c in outvars or outvars.count(total) != 1 or total in readers:
            continue
        (other,) = [a for a in add.invars if a is not c] or [None]
        chain = [add]  # add <- (transpose <-) dot, each the only reader of the next
        while isinstance(other, Var) and other in made and readers.get(other) == [chain[-1]]:
            chain.append(made[other])
            if chain[-1].primitive is not transpose_p or len(chain) > 2:
                break
            other = chain[-1].invars[0]
        dot = chain[-1]
        if dot.primitive is not dot_general_p or len(chain) < 2:
            continue
        if any(v in outvars for e in chain[1:] for v in e.outvars):
            continue
        if dot.params["dimension_numbers"][1] != ((), ()):
            continue
        if any(not isinstance(a, Var) or a in consts_in for a in dot.invars):
            continue
        found.append((k, chain))
    stacked_bytes = sum(
        length * a.aval.size * a.aval.dtype.itemsize for _, chain in found for a in chain[-1].invars
    )
    if not found or stacked_bytes > _STACK_BUDGET:
        return eqn
    gone = {id(e) for _, chain in found for e in chain}
    new_outvars, new_outer = list(outvars), list(eqn.outvars)
    stacked_operands: list[Var] = []  # body values the loop now stacks as extra ys
    for k, chain in found:
        dot = chain[-1]
        new_outvars[k] = carry_in[k]
        new_outer[k] = Var(eqn.outvars[k].aval)
        operands = []
        for a in dot.invars:
            if a in xs_in:  # already stacked: the scan's own input
                operands.append(eqn.invars[n_consts + n_carry + xs_in.index(a)])
                continue
            if a not in stacked_operands:
                stacked_operands.append(a)
                aval = ShapedArray((length, *a.aval.shape), a.aval.dtype, a.aval.weak_type)
                new_outer.append(Var(aval))
            operands.append(new_outer[len(eqn.outvars) + stacked_operands.index(a)])
        (lc, rc), _ = dot.params["dimension_numbers"]
        numbers = ((0, *(d + 1 for d in lc)), (0, *(d + 1 for d in rc))), ((), ())
        product = Var(dot.outvars[0].aval)
        after.append(
            JaxprEqn(
                dot_general_p,
                tuple(operands),
                (product,),
                {**dot.params, "dimension_numbers": numbers},
                dot.source_info,
            )
        )
        for step in reversed(chain[1:-1]):  # the transpose applied to the sum, as to each
            moved = Var(step.outvars[0].aval)
            after.append(JaxprEqn(step.primitive, (product,), (moved,), step.params))
            product = moved
        add = chain[0]
        pair = (new_outer[k], product)
        operands = pair if add.invars[0] is carry_in[k] else pair[::-1]
        after.append(JaxprEqn(add_p, operands, (eqn.outvars[k],), add.params, add.source_info))
    new_body = Jaxpr(
        (),
        body.invars,
        (*new_outvars, *stacked_operands),
        tuple(e for e in body.eqns if id(e) not in gone),
    )
    return JaxprEqn(
        scan_p,
        eqn.invars,
        tuple(new_outer),
        {**params, "jaxpr": ClosedJaxpr(new_body, ())},
        eqn.source_info,
    )
