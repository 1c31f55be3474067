"""vmap: automatic vectorization by a batching trace.

`BatchTrace` carries each value with the axis (`batch_dim`) along which it is batched,
or `None` when it is the same for every example. Applying a primitive calls its
batching rule, with the parent trace current: the rule gets the unbatched operands and
their batch axes and returns the batched result and its batch axis, built from the same
primitives, never a loop over the batch. Values not batched at all skip the rule.
"""

from __future__ import annotations

from typing import Callable, Sequence

from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.trace import Trace, Tracer, check_alive, current_trace, set_current_trace

__all__ = [
    "primitive_batchers",
    "trace_rules",
    "batch_flat",
    "move_axis",
    "defvectorized",
    "defbroadcasting",
    "defreduction",
    "defcall",
    "batch_jaxpr",
    "batch_jaxpr_axes",
    "batch_all_at_front",
]

primitive_batchers: dict = {}

# Rules that need the trace itself: collectives (psum, all_gather, axis_index, ...) compare
# its `axis_name`, and call primitives run their body on it, so that collectives inside a
# call still see the named axis. `rule(trace, values, dims, **params) -> (out, out_dim)`,
# called with the parent trace current, before the shortcut for unbatched operands: a psum
# of a shared value still sums over the axis, and axis_index has no operands at all.
trace_rules: dict = {}


class BatchTracer(Tracer):
    __slots__ = ("value", "batch_dim")

    def __init__(self, trace: "BatchTrace", value, batch_dim):
        self._trace = trace
        self.value = value
        self.batch_dim = batch_dim

    @property
    def aval(self) -> ShapedArray:
        aval = get_aval(self.value)
        if self.batch_dim is None:
            return aval
        shape = aval.shape[: self.batch_dim] + aval.shape[self.batch_dim + 1 :]
        return ShapedArray(shape, aval.dtype, aval.weak_type)


class BatchTrace(Trace):
    def __init__(self, parent: Trace, origin: str, axis_size: int, axis_name=None):
        super().__init__(parent, origin)
        self.axis_size = axis_size
        self.axis_name = axis_name

    def lift(self, value):
        if isinstance(value, BatchTracer) and value._trace is self:
            return value.value, value.batch_dim
        if isinstance(value, Tracer):
            check_alive(value)
        return value, None

    def process_primitive(self, primitive, args, params):
        values, dims = zip(*map(self.lift, args)) if args else ((), ())
        with set_current_trace(self.parent):
            trace_rule = trace_rules.get(primitive)
            if trace_rule is not None:
                out, out_dims = trace_rule(self, values, dims, **params)
            elif all(d is None for d in dims):
                return primitive.bind(*values, **params)
            else:
                rule = primitive_batchers.get(primitive)
                if rule is None:
                    raise NotImplementedError(
                        f"batching rule for primitive {primitive.name!r} is not implemented (vmap)"
                    )
                out, out_dims = rule(self.axis_size, values, dims, **params)
        if primitive.multiple_results:
            return [BatchTracer(self, v, d) for v, d in zip(out, out_dims)]
        return BatchTracer(self, out, out_dims)


def batch_flat(
    fun: Callable, values: Sequence, dims: Sequence, axis_size: int, origin: str, axis_name=None
):
    """Run flat `fun` on batched values; return the flat outputs and their batch axes."""
    trace = BatchTrace(current_trace(), origin, axis_size, axis_name)
    try:
        inputs = [BatchTracer(trace, v, d) if d is not None else v for v, d in zip(values, dims)]
        with set_current_trace(trace):
            outputs = fun(*inputs)
        lifted = [trace.lift(out) for out in outputs]
        return [v for v, _ in lifted], [d for _, d in lifted]
    finally:
        trace.invalidate()


# ---------------------------------------------------------------------------------------
# Helpers for rules


def move_axis(x, source: int | None, destination: int, axis_size: int):
    """x with its batch axis moved to `destination` (broadcast in if it has none)."""
    from funcgrad.lax.shapes import broadcast_in_dim, transpose

    aval = get_aval(x)
    if source is None:
        shape = list(aval.shape)
        shape.insert(destination, axis_size)
        dims = [i for i in range(len(shape)) if i != destination]
        return broadcast_in_dim(x, shape, dims)
    if source == destination:
        return x
    order = [i for i in range(aval.ndim) if i != source]
    order.insert(destination, source)
    return transpose(x, order)


def defvectorized(primitive) -> None:
    """A unary primitive that acts elementwise: the batch axis just passes through."""

    def rule(axis_size, values, dims, **params):
        return primitive.bind(*values, **params), dims[0]

    primitive_batchers[primitive] = rule


def defbroadcasting(primitive, rank0_operands_broadcast: bool = True) -> None:
    """An elementwise primitive of any arity: every batched operand gets its batch axis in
    front; operands that then differ in rank are broadcast to the common shape. Unbatched
    rank-0 operands stay scalars when the primitive broadcasts them itself."""

    def rule(axis_size, values, dims, **params):
        from funcgrad.lax.shapes import broadcast_in_dim

        example_shapes = [
            get_aval(v).shape if d is None else get_aval(v).shape[:d] + get_aval(v).shape[d + 1 :]
            for v, d in zip(values, dims)
        ]
        shape = next((s for s in example_shapes if s), ())
        operands = []
        for value, dim, example in zip(values, dims, example_shapes):
            if dim is None:
                operands.append(value)  # rank-0 broadcasts; otherwise shapes already agree
                continue
            value = move_axis(value, dim, 0, axis_size)
            if example != shape:
                value = broadcast_in_dim(value, (axis_size, *shape), (0,))
            operands.append(value)
        full = (axis_size, *shape)
        operands = [
            broadcast_in_dim(v, full, tuple(range(1, len(s) + 1)))
            if d is None and (s or not rank0_operands_broadcast)
            else v
            for v, d, s in zip(operands, dims, example_shapes)
        ]
        out = primitive.bind(*operands, **params)
        if primitive.multiple_results:
            return out, [0] * len(out)
        return out, 0

    primitive_batchers[primitive] = rule


def defreduction(primitive, axes_param: str = "axes") -> None:
    """A primitive of one operand with an axes (or axis) parameter: put the batch axis in
    front and shift the parameter past it."""

    def rule(axis_size, values, dims, **params):
        (value,), (dim,) = values, dims
        value = move_axis(value, dim, 0, axis_size)
        param = params[axes_param]
        shifted = tuple(a + 1 for a in param) if isinstance(param, tuple) else param + 1
        out = primitive.bind(value, **{**params, axes_param: shifted})
        if primitive.multiple_results:
            return out, [0] * len(out)
        return out, 0

    primitive_batchers[primitive] = rule


def defcall(primitive) -> None:
    """A call primitive (param `call_jaxpr`) is batched by running its body on this very
    trace, as if the call were inlined."""
    from funcgrad.core.jaxpr import eval_jaxpr

    def rule(trace, values, dims, *, call_jaxpr, **params):
        args = [v if d is None else BatchTracer(trace, v, d) for v, d in zip(values, dims)]
        with set_current_trace(trace):
            outs = eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)
        lifted = [trace.lift(out) for out in outs]
        return [v for v, _ in lifted], [d for _, d in lifted]

    trace_rules[primitive] = rule


def batch_all_at_front(values, dims, axis_size: int) -> list:
    """Every value with its batch axis first (unbatched ones broadcast)."""
    return [move_axis(v, d, 0, axis_size) for v, d in zip(values, dims)]


def batch_jaxpr(call_jaxpr, axis_size: int, axis_name=None):
    """The body vmapped over a leading axis of every input, every output batched at 0:
    (the hoisted jaxpr, the constants it takes first). Call primitives that must stay one
    equation (to keep custom rules or rematerialization) are batched this way."""
    from funcgrad.core.jaxpr import eval_jaxpr, hoist_consts
    from funcgrad.interpreters.partial_eval import trace_to_jaxpr

    in_avals = [
        ShapedArray((axis_size, *a.shape), a.dtype, a.weak_type) for a in call_jaxpr.in_avals
    ]

    def batched(*args):
        outs, dims = batch_flat(
            lambda *a: eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *a),
            args,
            [0] * len(args),
            axis_size,
            "batched call",
            axis_name,
        )
        return [move_axis(o, d, 0, axis_size) for o, d in zip(outs, dims)]

    return hoist_consts(trace_to_jaxpr(batched, in_avals, "batched call"))


def batch_jaxpr_axes(
    closed, axis_size: int, in_batched, force_outs, axis_name=None, origin="batched body"
):
    """A body vmapped over axis 0 of the inputs marked in `in_batched` (the others are
    shared), for control-flow rules: (the ClosedJaxpr, out_batched). An output is batched
    at axis 0 when it varies along the axis or `force_outs` (one flag, or one per output)
    asks for it; other outputs come back unbatched."""
    from funcgrad.core.jaxpr import eval_jaxpr
    from funcgrad.interpreters.partial_eval import trace_to_jaxpr

    n_out = len(closed.out_avals)
    if isinstance(force_outs, bool):
        force_outs = [force_outs] * n_out
    in_avals = [
        ShapedArray((axis_size, *a.shape), a.dtype, a.weak_type) if batched else a
        for a, batched in zip(closed.in_avals, in_batched)
    ]
    out_batched: list[bool] = []

    def batched(*args):
        outs, dims = batch_flat(
            lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a),
            args,
            [0 if b else None for b in in_batched],
            axis_size,
            origin,
            axis_name,
        )
        out_batched[:] = [d is not None or bool(f) for d, f in zip(dims, force_outs)]
        return [
            move_axis(o, d, 0, axis_size) if b else o for o, d, b in zip(outs, dims, out_batched)
        ]

    return trace_to_jaxpr(batched, in_avals, origin), out_batched
