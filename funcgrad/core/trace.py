"""Traces and tracers, and the one *current trace* that `bind` asks.

This is JAX's "stackless" design: there is no level stack. A context holds the
current trace; `Primitive.bind` calls `current_trace().process_primitive`. A
transform's trace runs its rules with its parent set as current, so nesting falls out
without levels. Tracers carry their trace and their abstract value.

The root is `EvalTrace`, which evaluates eagerly. A tracer whose trace has finished
(it leaked out of its transform) is refused with `UnexpectedTracerError`.
"""

from __future__ import annotations

import contextlib
import threading
from typing import NoReturn

import numpy as np

from funcgrad.config import config
from funcgrad.core.avals import get_aval
from funcgrad.core.errors import (
    ConcretizationTypeError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)
from funcgrad.core.source_info import user_location
from funcgrad.runtime import devices as _devices
from funcgrad.runtime.array import Array, from_buffer

__all__ = [
    "Trace",
    "Tracer",
    "EvalTrace",
    "current_trace",
    "set_current_trace",
    "check_alive",
]


class Trace:
    """An interpreter for primitives. Subclasses implement `process_primitive`."""

    def __init__(self, parent: "Trace | None", origin: str):
        self.parent = parent
        self.origin = origin  # "make_jaxpr of f at file.py:3": named when a tracer leaks
        self.alive = True

    def process_primitive(self, primitive, args, params):
        raise NotImplementedError(f"{type(self).__name__} cannot process {primitive.name}")

    def invalidate(self) -> None:
        self.alive = False

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.origin})"


class Tracer:
    """A stand-in for an array while a transform runs the user's function.

    Operators and array methods are installed by `funcgrad.numpy.array_methods`,
    the same ones funcgrad's `Array` has, so user code cannot tell them apart except
    where a concrete value is needed.
    """

    __slots__ = ("_trace",)
    __array_priority__ = 1000

    @property
    def aval(self):
        raise NotImplementedError

    @property
    def shape(self):
        return self.aval.shape

    @property
    def dtype(self):
        return self.aval.dtype

    @property
    def ndim(self):
        return self.aval.ndim

    @property
    def size(self):
        return self.aval.size

    @property
    def weak_type(self):
        return self.aval.weak_type

    def __bool__(self):
        raise TracerBoolConversionError(_concretization_message(self, "bool()", "the condition"))

    def __int__(self):
        raise TracerIntegerConversionError(_concretization_message(self, "int()", "the integer"))

    __index__ = __int__

    def __float__(self):
        raise ConcretizationTypeError(_concretization_message(self, "float()", "the number"))

    def __complex__(self):
        raise ConcretizationTypeError(_concretization_message(self, "complex()", "the number"))

    def item(self, *args):
        raise ConcretizationTypeError(_concretization_message(self, ".item()", "a Python number"))

    def tolist(self):
        raise ConcretizationTypeError(_concretization_message(self, ".tolist()", "a Python list"))

    def __array__(self, dtype=None, copy=None):
        raise TracerArrayConversionError(
            f"numpy.asarray() was called on a traced array {self.aval.str_short()} at "
            f"{user_location()}. NumPy functions need concrete values, which do not exist "
            "while funcgrad traces a function: use the funcgrad.numpy function of the same "
            "name (import funcgrad.numpy as jnp) instead of numpy."
        )

    def __hash__(self):
        raise TypeError(f"unhashable type: traced array {self.aval.str_short()}")

    def __repr__(self) -> str:
        return f"Traced<{self.aval.str_short()}>with<{type(self._trace).__name__}>"


def _concretization_message(tracer, conversion: str, what: str) -> str:
    return (
        f"{conversion} was called on a traced array {tracer.aval.str_short()} at "
        f"{user_location()}, while tracing {tracer._trace.origin}. Its value is not known "
        f"during tracing, so Python cannot use it as {what}. Use funcgrad.numpy.where or "
        "funcgrad.lax.cond/select for a choice that depends on array values; if the value "
        "is really a fixed setting, pass it as a static argument (static_argnums) instead."
    )


def check_alive(tracer: Tracer) -> None:
    """Refuse a tracer whose transform has already finished."""
    if not tracer._trace.alive:
        raise UnexpectedTracerError(
            f"A traced array {tracer.aval.str_short()} from {tracer._trace.origin} was used at "
            f"{user_location()}, after that transformation finished. A value created inside a "
            "transformed function escaped it (stored in a global, an object attribute or a "
            "closure). Return the value from the function instead of storing it."
        )


def refuse_at_top_level(tracer: Tracer, receiver: str) -> NoReturn:
    """`receiver` got a tracer while no transform is running: it leaked out of one."""
    check_alive(tracer)
    raise UnexpectedTracerError(
        f"{receiver} received a tracer from {tracer._trace.origin} outside that "
        f"transformation (at {user_location()})."
    )


class EvalTrace(Trace):
    """The root trace: applies each primitive's NumPy implementation at once."""

    def __init__(self):
        super().__init__(None, "eager evaluation")

    def process_primitive(self, primitive, args, params):
        avals, values = [], []
        placed = False  # an operand committed to a device, or on a GPU
        for arg in args:
            if isinstance(arg, Tracer):
                refuse_at_top_level(arg, primitive.name)
            aval = get_aval(arg)
            avals.append(aval)
            if type(arg) is Array:
                value = arg._value
                placed = placed or arg._committed or type(value) is not np.ndarray
                values.append(value)
            else:
                # Foreign arrays are copied so that no result can alias a buffer the user
                # may mutate.
                values.append(np.array(arg, aval.dtype))
        out_aval = primitive.abstract_eval(*avals, **params)
        committed = False
        if placed or not _devices.placement_free():
            device, committed = _devices.placement(args, primitive.name)
            if device.platform != "cpu":
                from funcgrad.backends.cupy.eager import run_primitive

                outs = run_primitive(primitive, params, avals, values, device)
                if config.jax_debug_nans:
                    self._check_nans(primitive, values, outs)
                return _wrap_results(primitive, outs, out_aval, committed)
            values = [_devices.host_buffer(v) for v in values]
        out = primitive.impl(*values, **params)
        if config.jax_debug_nans:
            self._check_nans(primitive, values, out if primitive.multiple_results else [out])
        return _wrap_results(primitive, out, out_aval, committed)

    @staticmethod
    def _check_nans(primitive, values, outs) -> None:
        from funcgrad.compiler.debug_nans import check_eager_result

        host = _devices.host_buffer
        outs = [host(o) for o in outs]
        check_eager_result(
            primitive, [host(v) for v in values], outs if primitive.multiple_results else outs[0]
        )


def _wrap_results(primitive, out, out_aval, committed: bool):
    if primitive.multiple_results:
        return [from_buffer(buf, aval, committed) for buf, aval in zip(out, out_aval)]
    if type(out) is list:  # a device program's one output
        (out,) = out
    return from_buffer(out, out_aval, committed)


class _TraceContext(threading.local):
    trace: Trace = EvalTrace()


_context = _TraceContext()


def current_trace() -> Trace:
    return _context.trace


@contextlib.contextmanager
def set_current_trace(trace: Trace):
    previous = _context.trace
    _context.trace = trace
    try:
        yield trace
    finally:
        _context.trace = previous
