"""`jax_debug_nans`: find the operation that first turned numbers into NaN.

With the flag on, eager evaluation checks every primitive's result as it is computed
(`check_eager_result`, called by `EvalTrace`). A compiled program is not interrupted:
`check_for_nans` looks at its outputs after each run, and only when one holds a NaN
re-runs the traced, unoptimized program one equation at a time with the primitives'
impls, recursing into call bodies, to name the first equation that produced a NaN from
operands that held none, with the user's source line it was traced from. With the flag
off none of this runs: jit and `EvalTrace` read the flag and do nothing else.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal
from funcgrad.core.source_info import user_location

__all__ = ["check_eager_result", "check_for_nans"]

_FIX = (
    "Common causes are log or sqrt of a negative number, 0/0, inf - inf and 0 * inf; guard "
    "the operands (jnp.where, jnp.clip) before the operation. Under grad, a jnp.where that "
    "discards such a result still sends NaN through the derivative of the discarded branch: "
    "guard its input too (the double where: safe = jnp.where(x > 0, x, 1.0); "
    "jnp.where(x > 0, jnp.sqrt(safe), 0.0)). Turn this check off with "
    "funcgrad.config.update('jax_debug_nans', False)."
)


def _holds_nan(buffer) -> bool:
    buffer = np.asarray(buffer)
    return dtypes.is_inexact(buffer.dtype) and bool(np.isnan(buffer).any())


def _types(buffers) -> str:
    return ", ".join(ShapedArray(np.shape(b), np.asarray(b).dtype).str_short() for b in buffers)


def check_eager_result(primitive, in_buffers: Sequence, out) -> None:
    """Raise FloatingPointError if `primitive` made a NaN from operands without one."""
    outs = out if primitive.multiple_results else (out,)
    if not any(map(_holds_nan, outs)) or any(map(_holds_nan, in_buffers)):
        return
    raise FloatingPointError(
        f"invalid value (NaN) encountered in {primitive.name} at {user_location()}: its "
        f"operands ({_types(in_buffers) or 'none'}) held no NaN, its result "
        f"({_types(outs)}) does (jax_debug_nans is on). {_FIX}"
    )


def check_for_nans(fun_name: str, closed: ClosedJaxpr, args: Sequence, outs: Sequence) -> None:
    """After a compiled run of `jit(fun_name)`: raise FloatingPointError naming the first
    equation of `closed` that produced a NaN from NaN-free operands, if any output holds
    a NaN. `args` and `outs` are the run's flat input and output buffers."""
    if not any(map(_holds_nan, outs)):
        return
    found, _ = _run_until_nan(closed.jaxpr, closed.consts, args)
    if found is None:
        sources = [f"input {i} ({_types([a])})" for i, a in enumerate(args) if _holds_nan(a)]
        sources += [
            f"a closed-over constant ({_types([c])})" for c in closed.consts if _holds_nan(c)
        ]
        origin = ", ".join(sources) or "its inputs"
        raise FloatingPointError(
            f"invalid value (NaN) in the output of jit({fun_name}), called at "
            f"{user_location()}. No operation in it produced a NaN from NaN-free operands: "
            f"the NaN came in from outside, in {origin}. Find where the caller computed that "
            "value (jax_debug_nans checks eager operations too)."
        )
    eqn, in_buffers = found
    where = eqn.source_info if eqn.source_info is not None else "<unknown location>"
    raise FloatingPointError(
        f"invalid value (NaN) encountered in {eqn.primitive.name} at {where}, inside "
        f"jit({fun_name}) called at {user_location()}: its operands "
        f"({_types(in_buffers) or 'none'}) held no NaN, its result does (jax_debug_nans is "
        f"on). {_FIX}"
    )


def _read(env: dict, atom):
    if isinstance(atom, Literal):
        return np.asarray(atom.val, dtype=atom.aval.dtype)
    return env[atom]


def _call_body(eqn: JaxprEqn) -> ClosedJaxpr | None:
    """The body of a call equation whose result is its body applied to its operands."""
    body = eqn.params.get("call_jaxpr")
    if isinstance(body, ClosedJaxpr) and len(body.jaxpr.invars) == len(eqn.invars):
        return body
    return None


def _run_until_nan(jaxpr: Jaxpr, consts: Sequence, args: Sequence):
    """Evaluate `jaxpr` with impls: ((equation, its operand buffers), None) at the first
    equation that makes a NaN from NaN-free operands, else (None, the outputs)."""
    env = dict(zip(jaxpr.constvars, consts))
    env.update(zip(jaxpr.invars, args))
    for eqn in jaxpr.eqns:
        if eqn.primitive.has_side_effects and not eqn.outvars:
            continue  # re-running a print would print the values a second time
        in_buffers = [_read(env, atom) for atom in eqn.invars]
        body = _call_body(eqn)
        if body is not None:
            found, outs = _run_until_nan(body.jaxpr, body.consts, in_buffers)
            if found is not None:
                return found, None
        else:
            out = eqn.primitive.impl(*in_buffers, **eqn.params)
            outs = out if eqn.primitive.multiple_results else [out]
            if any(map(_holds_nan, outs)) and not any(map(_holds_nan, in_buffers)):
                return (eqn, in_buffers), None
        env.update(zip(eqn.outvars, outs))
    return None, [_read(env, atom) for atom in jaxpr.outvars]
