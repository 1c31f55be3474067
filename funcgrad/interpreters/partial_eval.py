"""Tracing a Python function into a jaxpr (the basis of make_jaxpr, jit and linearize).

`JaxprTrace` records every primitive applied to its tracers as an equation instead
of computing it. Values it meets that are not its own tracers are constants of the
program: Python and 0-d scalars become literals, larger arrays (and tracers of a
still-running outer transform) become constvars, bound again when the jaxpr runs.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.core.source_info import user_frame
from funcgrad.core.trace import Trace, Tracer, check_alive, current_trace, set_current_trace
from funcgrad.runtime.array import Array, from_buffer
from funcgrad.runtime.devices import host_buffer

__all__ = ["JaxprTracer", "JaxprTrace", "trace_to_jaxpr"]


class JaxprTracer(Tracer):
    __slots__ = ("aval", "var")

    def __init__(self, trace: "JaxprTrace", aval: ShapedArray, var: Var):
        self._trace = trace
        self.aval = aval
        self.var = var


class JaxprTrace(Trace):
    """Stages primitives into equations; `to_jaxpr` closes the recording."""

    def __init__(self, parent: Trace, origin: str):
        super().__init__(parent, origin)
        self.invars: list[Var] = []
        self.eqns: list[JaxprEqn] = []
        # id(original) -> (constvar, value, original); holding the original keeps its id
        # from being reused while the trace lives.
        self.consts: dict[int, tuple[Var, object, object]] = {}

    def new_arg(self, aval: ShapedArray) -> JaxprTracer:
        var = Var(aval)
        self.invars.append(var)
        return JaxprTracer(self, aval, var)

    def to_atom(self, value) -> Var | Literal:
        if isinstance(value, JaxprTracer) and value._trace is self:
            return value.var
        original = value
        if isinstance(value, Tracer):
            check_alive(value)
        elif isinstance(value, (np.ndarray, np.generic)):
            # A private, frozen copy: the user may mutate their NumPy array after tracing.
            value = Array(value)
        aval = get_aval(value)
        if not aval.shape and not isinstance(value, Tracer):
            if type(value) is Array and type(value._value) is not np.ndarray:
                # Literals are compile-time values: a GPU scalar's is read once, here.
                value = from_buffer(host_buffer(value._value), value.aval)
            return Literal(value, aval)
        known = self.consts.get(id(original))
        if known is None:
            known = self.consts[id(original)] = (Var(aval), value, original)
        return known[0]

    def process_primitive(self, primitive, args, params):
        atoms = [self.to_atom(arg) for arg in args]
        out = primitive.abstract_eval(*(atom.aval for atom in atoms), **params)
        out_avals = out if primitive.multiple_results else (out,)
        out_tracers = [JaxprTracer(self, aval, Var(aval)) for aval in out_avals]
        self.eqns.append(
            JaxprEqn(
                primitive, tuple(atoms), tuple(t.var for t in out_tracers), params, user_frame()
            )
        )
        return out_tracers if primitive.multiple_results else out_tracers[0]

    def to_jaxpr(self, outputs: Sequence) -> ClosedJaxpr:
        outvars = tuple(self.to_atom(out) for out in outputs)
        constvars = tuple(var for var, _, _ in self.consts.values())
        jaxpr = Jaxpr(constvars, tuple(self.invars), outvars, tuple(self.eqns))
        return ClosedJaxpr(jaxpr, tuple(value for _, value, _ in self.consts.values()))


def trace_to_jaxpr(fun: Callable, in_avals: Sequence[ShapedArray], origin: str) -> ClosedJaxpr:
    """Run `fun` on tracers of `in_avals` and return the program it applied, closed.

    `fun` takes and returns flat lists. The trace is invalidated afterwards, so a tracer
    that escapes is caught when it is next used.
    """
    trace = JaxprTrace(current_trace(), origin)
    try:
        args = [trace.new_arg(aval) for aval in in_avals]
        with set_current_trace(trace):
            outputs = fun(*args)
        return trace.to_jaxpr(outputs)
    finally:
        trace.invalidate()
