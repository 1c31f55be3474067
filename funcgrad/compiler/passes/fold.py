"""Constant folding: evaluate at compile time what depends on no input.

An equation whose operands are all Literals or consts (or results folded before it) has
the same results on every call, so it runs once here, through its primitive's `impl`,
instead of on every call. A scalar result becomes a Literal, an array result a new const;
either carries the replaced variable's aval exactly, weak type included, so readers see
the same types as before. Folding feeds itself: `jnp.exp(c) + 1` over a closed-over array
`c` folds both equations.

Not folded:
- equations with side effects (they must run on every call), and equations whose
  parameters hold jaxprs (a body may hold effects; calls are inlined before this pass);
- results that would be large: more than 1024 elements in all and more than twice the
  elements of the largest operand. A `broadcast_in_dim` of a scalar or a big `iota`
  written as a const would make every call read memory that a kernel generates for free;
- equations whose `impl` raises (a collective outside its vmap, a linear-algebra error):
  they stay in the program, so the error comes from the call, as it would without jit.
Consts still being traced (tracers of an enclosing transform) are not known values. Only
the top-level program is rewritten; consts nothing reads any more are left to DCE.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from funcgrad.core.jaxpr import Atom, ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, sub_jaxprs
from funcgrad.core.trace import Tracer
from funcgrad.runtime.array import Array, from_buffer

__all__ = ["MAX_GROWTH", "MIN_LARGE_SIZE", "fold"]

# A result is "large" when it has more than MIN_LARGE_SIZE elements and more than
# MAX_GROWTH times the elements of the largest operand.
MIN_LARGE_SIZE = 1024
MAX_GROWTH = 2


def _is_large(operands: list[np.ndarray], eqn: JaxprEqn) -> bool:
    out_size = sum(v.aval.size for v in eqn.outvars)
    largest_in = max((x.size for x in operands), default=0)
    return out_size > MIN_LARGE_SIZE and out_size > MAX_GROWTH * largest_in


def _evaluate(eqn: JaxprEqn, operands: list[np.ndarray]) -> list[Array] | None:
    """The equation's results as frozen Arrays of its outvars' avals; None if `impl` fails."""
    try:
        with np.errstate(all="ignore"):  # a NaN made now would be made by the call too
            out = eqn.primitive.impl(*operands, **eqn.params)
    except Exception:  # noqa: BLE001 - any failure is left for the call to report
        return None
    outs = out if eqn.primitive.multiple_results else [out]
    return [from_buffer(np.asarray(buf), var.aval) for buf, var in zip(outs, eqn.outvars)]


def _foldable(eqn: JaxprEqn) -> bool:
    return not eqn.primitive.has_side_effects and not any(sub_jaxprs(eqn.params))


def fold(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with every equation on known values replaced by its results.

    >>> fold(make_jaxpr(lambda x: x * (jnp.float32(2) * 3.0))(1.0))    # doctest: +SKIP
    { lambda ; a:f32[]. let b:f32[] = mul a 6.0:f32[] in (b,) }
    """
    jaxpr = closed.jaxpr
    known: dict[Var, np.ndarray] = {
        var: np.asarray(const)
        for var, const in zip(jaxpr.constvars, closed.consts)
        if not isinstance(const, Tracer)
    }
    env: dict[Var, Atom] = {}
    constvars, consts = list(jaxpr.constvars), list(closed.consts)
    eqns = []

    def read(atom: Atom) -> Atom:
        return env.get(atom, atom) if isinstance(atom, Var) else atom

    def value_of(atom: Atom) -> Any:
        if isinstance(atom, Literal):
            return np.asarray(atom.val, dtype=atom.aval.dtype)
        return known.get(atom)

    for eqn in jaxpr.eqns:
        invars = tuple(map(read, eqn.invars))
        operands = [value_of(atom) for atom in invars]
        results = None
        if _foldable(eqn) and all(x is not None for x in operands):
            if not _is_large(operands, eqn):
                results = _evaluate(eqn, operands)
        if results is None:
            if invars != eqn.invars:
                eqn = JaxprEqn(eqn.primitive, invars, eqn.outvars, eqn.params, eqn.source_info)
            eqns.append(eqn)
            continue
        for var, result in zip(eqn.outvars, results):
            if var.aval.shape:
                # The variable itself becomes a constvar: no equation binds it any more.
                constvars.append(var)
                consts.append(result)
                known[var] = result._value
            else:
                env[var] = Literal(result, var.aval)
    outvars = tuple(map(read, jaxpr.outvars))
    return ClosedJaxpr(Jaxpr(tuple(constvars), jaxpr.invars, outvars, tuple(eqns)), tuple(consts))
