"""Common subexpression elimination: compute each distinct value once.

Primitives are pure functions of their operands and parameters, so two equations with the
same primitive, the same operands and equal parameters give the same results: later uses
read the first equation's results and the second equation goes away. Traced programs repeat
work often (a user writing `jnp.sin(x)` twice, jvp rules recomputing a primal, inlined calls
sharing a prefix), and every duplicate costs a kernel and a buffer.

What counts as "the same":
- operands: a Var by identity (after earlier merges), a Literal by its aval (dtype, weak
  type) and the bytes of its value, so `0.0` and `-0.0`, or `1` and `1.0`, stay apart;
- parameters: plain values (numbers by their exact bits, strings, dtypes, enums, avals,
  and tuples/lists/dicts of them) by value; a sub-jaxpr without consts (a loop or branch
  body) by its printed text, which spells out every equation, literal and type, so
  separately traced identical bodies merge; any other object (a rule function, an array,
  a jaxpr closing over consts) by identity: the same object merges, an equal copy does not.
- results: the equations must also bind results of the same avals, so no reader ever sees
  a variable of another type.
Equations with side effects, or whose sub-jaxprs contain some, are never merged.

Consts with the same aval and the same bytes are merged too (compared by a BLAKE2b digest
of their bytes, so no const is copied). Only the top-level program is rewritten;
sub-jaxprs in parameters are left as they are.
"""

from __future__ import annotations

import enum
import hashlib
from typing import Any, Hashable

import numpy as np

from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import Atom, ClosedJaxpr, Jaxpr, JaxprEqn, Var, has_effects, pp_jaxpr
from funcgrad.core.trace import Tracer

__all__ = ["cse"]

# Compared by value in parameters; float and complex numbers get their own exact key.
_VALUE_TYPES = (type(None), bool, int, str, bytes, np.dtype, np.integer, np.bool_, enum.Enum)


def _param_key(value: Any) -> Hashable:
    if isinstance(value, (float, np.floating)):
        return (type(value), float(value).hex())  # exact: tells -0.0 from 0.0
    if isinstance(value, (complex, np.complexfloating)):
        return (type(value), value.real.hex(), value.imag.hex())
    if isinstance(value, (tuple, list)):
        return (type(value), tuple(map(_param_key, value)))
    if isinstance(value, dict):
        return (dict, frozenset((k, _param_key(v)) for k, v in value.items()))
    if isinstance(value, (_VALUE_TYPES, ShapedArray)):
        return (type(value), value)
    if isinstance(value, ClosedJaxpr) and not value.consts:
        value = value.jaxpr
    if isinstance(value, Jaxpr) and not value.constvars:
        return ("jaxpr", pp_jaxpr(value))
    return ("object", id(value))


def _atom_key(atom: Atom) -> Hashable:
    if isinstance(atom, Var):
        return atom
    value = np.asarray(atom.val, dtype=atom.aval.dtype)
    return ("literal", atom.aval, value.tobytes())


def _eqn_key(eqn: JaxprEqn, invars: tuple[Atom, ...]) -> Hashable:
    return (
        eqn.primitive,
        tuple(map(_atom_key, invars)),
        _param_key(eqn.params),
        tuple(v.aval for v in eqn.outvars),
    )


def _const_key(var: Var, const: Any) -> Hashable:
    if isinstance(const, Tracer):  # a value still being traced: only itself is equal to it
        return ("object", id(const))
    flat = np.ascontiguousarray(np.asarray(const)).reshape(-1)
    return (var.aval, hashlib.blake2b(flat.view(np.uint8).data).digest())


def _merge_consts(closed: ClosedJaxpr, env: dict[Var, Atom]) -> tuple[tuple, tuple]:
    """The constvars and consts left after merging equal consts; `env` learns the merges."""
    first_of: dict[Hashable, Var] = {}
    kept = []
    for var, const in zip(closed.jaxpr.constvars, closed.consts):
        first = first_of.setdefault(_const_key(var, const), var)
        if first is var:
            kept.append((var, const))
        else:
            env[var] = first
    return tuple(v for v, _ in kept), tuple(c for _, c in kept)


def cse(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with repeated computations and repeated consts merged into their first.

    >>> cse(make_jaxpr(lambda x: jnp.sin(x) + jnp.sin(x))(1.0))   # doctest: +SKIP
    { lambda ; a:f32[]. let b:f32[] = sin a; c:f32[] = add b b in (c,) }
    """
    env: dict[Var, Atom] = {}

    def read(atom: Atom) -> Atom:
        return env.get(atom, atom) if isinstance(atom, Var) else atom

    constvars, consts = _merge_consts(closed, env)
    first_results: dict[Hashable, tuple] = {}
    eqns = []
    for eqn in closed.jaxpr.eqns:
        invars = tuple(map(read, eqn.invars))
        if not has_effects(eqn):
            earlier = first_results.setdefault(_eqn_key(eqn, invars), eqn.outvars)
            if earlier is not eqn.outvars:
                env.update(zip(eqn.outvars, earlier))
                continue
        if invars != eqn.invars:
            eqn = JaxprEqn(eqn.primitive, invars, eqn.outvars, eqn.params, eqn.source_info)
        eqns.append(eqn)
    jaxpr = closed.jaxpr
    outvars = tuple(map(read, jaxpr.outvars))
    return ClosedJaxpr(Jaxpr(constvars, jaxpr.invars, outvars, tuple(eqns)), consts)
