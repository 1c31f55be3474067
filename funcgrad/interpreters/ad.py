"""Automatic differentiation: forward mode by a JVP trace, reverse mode by splitting the
JVP program into its primal and linear parts (partial evaluation) and transposing the
linear part.

Forward mode: `JVPTrace` carries (primal, tangent) pairs and applies each primitive's
jvp rule, with its parent trace current, so the rule's own operations are evaluated,
staged or transformed by whatever runs outside. A tangent may be the symbolic `Zero`,
which costs nothing until a rule needs an array.

Reverse mode (vjp, grad): the jvp of the function is traced to a jaxpr; equations that
depend only on primal inputs are "known" and run now, the rest depend linearly on the
tangents and form the linear jaxpr, which `backward_pass` runs in reverse with each
primitive's transpose rule. The same jvp rules serve both modes and every order.

Rule tables live here; their entries sit beside each primitive in `funcgrad/lax/`.
"""

from __future__ import annotations

from typing import Callable, Sequence

from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, Literal, Var
from funcgrad.core.trace import Trace, Tracer, check_alive, current_trace, set_current_trace

__all__ = [
    "Zero",
    "UndefinedPrimal",
    "primitive_jvps",
    "primitive_transposes",
    "partial_eval_rules",
    "defjvp",
    "defjvp_zero",
    "deflinear",
    "jvp_flat",
    "partial_eval_jaxpr",
    "split_jaxpr",
    "jvp_jaxpr",
    "tangent_aval",
    "backward_pass",
    "instantiate",
    "add_tangents",
]

primitive_jvps: dict = {}
primitive_transposes: dict = {}
# For call primitives whose equation must be split rather than kept whole when some
# inputs are unknown: rule(eqn, unknown_inputs) -> (known_eqn | None, linear_eqn,
# the original outvars that are unknown).
partial_eval_rules: dict = {}


class Zero:
    """A symbolic zero tangent (or cotangent) of the given aval: no array, no work."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"Zero({self.aval.str_short()})"


class UndefinedPrimal:
    """In a transpose rule: the operand the rule transposes with respect to."""

    __slots__ = ("aval",)

    def __init__(self, aval: ShapedArray):
        self.aval = aval

    def __repr__(self) -> str:
        return f"UndefinedPrimal({self.aval.str_short()})"


def _zeros(aval: ShapedArray):
    from funcgrad.lax.operands import scalar_array
    from funcgrad.lax.shapes import broadcast_in_dim

    return broadcast_in_dim(scalar_array(0, aval.dtype, False), aval.shape, ())


def instantiate(tangent):
    """An array for a tangent that may be a symbolic Zero."""
    return _zeros(tangent.aval) if type(tangent) is Zero else tangent


def add_tangents(x, y):
    from funcgrad.lax.elementwise import add_p

    if type(x) is Zero:
        return y
    if type(y) is Zero:
        return x
    return add_p.bind(x, y)


# ---------------------------------------------------------------------------------------
# Rule helpers


def defjvp(primitive, *tangent_maps: Callable | None) -> None:
    """JVP from one map per operand: `map(tangent, *primals, **params)` gives that
    operand's contribution to the output tangent (None: the output does not depend on
    it); contributions are summed. For single-result primitives."""

    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        total = Zero(get_aval(out))
        for tangent_map, tangent in zip(tangent_maps, tangents):
            if tangent_map is not None and type(tangent) is not Zero:
                total = add_tangents(total, tangent_map(tangent, *primals, **params))
        shape = get_aval(out).shape
        if type(total) is not Zero and get_aval(total).shape != shape:
            # Elementwise primitives broadcast a rank-0 operand; so must its contribution,
            # when it is the only one (add(ones(3), y) has a tangent of shape (3,)).
            from funcgrad.lax.shapes import broadcast_in_dim

            total = broadcast_in_dim(total, shape, ())
        return out, total

    primitive_jvps[primitive] = rule


def defjvp_zero(primitive) -> None:
    """The output does not depend differentiably on the operands (comparisons, ...)."""

    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        if primitive.multiple_results:
            return out, [Zero(get_aval(o)) for o in out]
        return out, Zero(get_aval(out))

    primitive_jvps[primitive] = rule


def deflinear(primitive, transpose_rule: Callable) -> None:
    """A primitive linear in all its operands: its tangent is itself applied to the
    tangents, and `transpose_rule(cotangent, *operands, **params)` gives cotangents."""

    def rule(primals, tangents, **params):
        out = primitive.bind(*primals, **params)
        if all(type(t) is Zero for t in tangents):
            return out, Zero(get_aval(out))
        return out, primitive.bind(*map(instantiate, tangents), **params)

    primitive_jvps[primitive] = rule
    primitive_transposes[primitive] = transpose_rule


# ---------------------------------------------------------------------------------------
# Forward mode


class JVPTracer(Tracer):
    __slots__ = ("primal", "tangent")

    def __init__(self, trace: "JVPTrace", primal, tangent):
        self._trace = trace
        self.primal = primal
        self.tangent = tangent

    @property
    def aval(self) -> ShapedArray:
        return get_aval(self.primal)


class JVPTrace(Trace):
    def lift(self, value):
        if isinstance(value, JVPTracer) and value._trace is self:
            return value.primal, value.tangent
        if isinstance(value, Tracer):
            check_alive(value)
        return value, Zero(get_aval(value))

    def process_primitive(self, primitive, args, params):
        primals, tangents = zip(*map(self.lift, args)) if args else ((), ())
        with set_current_trace(self.parent):
            if all(type(t) is Zero for t in tangents):
                return primitive.bind(*primals, **params)
            rule = primitive_jvps.get(primitive)
            if rule is None:
                raise NotImplementedError(
                    f"differentiation rule for primitive {primitive.name!r} is not implemented "
                    "(no jvp rule)"
                )
            out, out_tangent = rule(primals, tangents, **params)
        if primitive.multiple_results:
            return [JVPTracer(self, p, t) for p, t in zip(out, out_tangent)]
        return JVPTracer(self, out, out_tangent)


def jvp_flat(fun: Callable, primals: Sequence, tangents: Sequence, origin: str):
    """Run flat `fun` on (primal, tangent) pairs; return flat primal and tangent outputs.

    Tangents of outputs that do not depend on the inputs come back as `Zero`.
    """
    trace = JVPTrace(current_trace(), origin)
    try:
        inputs = [JVPTracer(trace, p, t) for p, t in zip(primals, tangents)]
        with set_current_trace(trace):
            outputs = fun(*inputs)
        out_primals, out_tangents = [], []
        for out in outputs:
            primal, tangent = trace.lift(out)
            out_primals.append(primal)
            out_tangents.append(tangent)
        return out_primals, out_tangents
    finally:
        trace.invalidate()


# ---------------------------------------------------------------------------------------
# Reverse mode: split a jvp jaxpr into known (primal) and unknown (linear) parts


def split_jaxpr(closed: ClosedJaxpr, unknown_inputs: Sequence[bool], instantiate):
    """Split `closed` at the inputs marked unknown into a known and an unknown program.

    Returns (known, unknown, out_unknowns, num_residuals): `known` (a ClosedJaxpr) takes
    the known inputs and returns the known outputs followed by the residuals; `unknown`
    (a Jaxpr) takes the residuals then the unknown inputs and returns the unknown outputs.
    An output is unknown when it depends on an unknown input or `instantiate` (one flag,
    or one per output) asks for it in the unknown program. Control-flow bodies are split
    this way, with the same rules (`partial_eval_rules`) as the top-level program.
    """
    jaxpr = closed.jaxpr
    if isinstance(instantiate, bool):
        instantiate = [instantiate] * len(jaxpr.outvars)
    unknown = {v for v, flag in zip(jaxpr.invars, unknown_inputs) if flag}
    known_eqns, unknown_eqns = [], []
    for eqn in jaxpr.eqns:
        flags = [isinstance(v, Var) and v in unknown for v in eqn.invars]
        if not any(flags):
            known_eqns.append(eqn)
        elif eqn.primitive in partial_eval_rules:
            known_eqn, unknown_eqn, unknown_outs = partial_eval_rules[eqn.primitive](eqn, flags)
            if known_eqn is not None:
                known_eqns.append(known_eqn)
            unknown_eqns.append(unknown_eqn)
            unknown.update(unknown_outs)
        else:
            unknown_eqns.append(eqn)
            unknown.update(eqn.outvars)
    out_unknowns = [
        (isinstance(v, Var) and v in unknown) or bool(flag)
        for v, flag in zip(jaxpr.outvars, instantiate)
    ]
    known_outs = tuple(v for v, uk in zip(jaxpr.outvars, out_unknowns) if not uk)
    unknown_outs = tuple(v for v, uk in zip(jaxpr.outvars, out_unknowns) if uk)
    # Dead unknown work goes, and with it the residuals only it would have read.
    unknown_body = dce_jaxpr(Jaxpr((), (), unknown_outs, tuple(unknown_eqns)))
    residuals: dict[Var, None] = {}
    for eqn in unknown_body.eqns:
        for v in eqn.invars:
            if isinstance(v, Var) and v not in unknown:
                residuals[v] = None
    for v in unknown_outs:
        if isinstance(v, Var) and v not in unknown:
            residuals[v] = None
    residual_vars = tuple(residuals)
    known_invars = tuple(v for v, flag in zip(jaxpr.invars, unknown_inputs) if not flag)
    unknown_invars = tuple(v for v, flag in zip(jaxpr.invars, unknown_inputs) if flag)
    known_body = dce_jaxpr(
        Jaxpr(jaxpr.constvars, known_invars, known_outs + residual_vars, tuple(known_eqns))
    )
    known = ClosedJaxpr(known_body, closed.consts)
    unknown_jaxpr = Jaxpr((), residual_vars + unknown_invars, unknown_outs, unknown_body.eqns)
    return known, unknown_jaxpr, out_unknowns, len(residual_vars)


def partial_eval_jaxpr(closed: ClosedJaxpr, unknown_inputs: Sequence[bool], num_primal_outs: int):
    """Split `closed` into a known program and a linear one.

    Returns (known, linear, num_residuals): `known` takes the known inputs (consts
    included) and returns the first `num_primal_outs` outputs followed by the residuals;
    `linear` takes the residuals then the unknown inputs and returns the remaining
    outputs. Only residuals the linear program reads are kept.
    """
    num_outs = len(closed.jaxpr.outvars)
    instantiate = [False] * num_primal_outs + [True] * (num_outs - num_primal_outs)
    known, linear, out_unknowns, num_res = split_jaxpr(closed, unknown_inputs, instantiate)
    if any(out_unknowns[:num_primal_outs]):
        raise ValueError("a primal output depends on the tangents: a jvp rule is not linear")
    return known, linear, num_res


def jvp_jaxpr(closed: ClosedJaxpr, nonzeros: Sequence[bool], force_outs):
    """The jvp of a body as a jaxpr, for control-flow rules.

    The result takes (primals, tangents of the inputs marked in `nonzeros`) and returns
    (primal outputs, tangents of the outputs marked in the returned `out_nonzeros`). An
    output's tangent is there when it is not a symbolic zero or `force_outs` (one flag or
    one per output) asks for it; integer and bool values never have tangents.
    """
    from funcgrad.core import dtypes
    from funcgrad.core.jaxpr import eval_jaxpr
    from funcgrad.interpreters.partial_eval import trace_to_jaxpr

    in_avals = closed.in_avals
    nonzeros = [bool(nz) and dtypes.is_inexact(a.dtype) for nz, a in zip(nonzeros, in_avals)]
    n_out = len(closed.out_avals)
    if isinstance(force_outs, bool):
        force_outs = [force_outs] * n_out
    out_nonzeros: list[bool] = []

    def fun(*args):
        primals, rest = args[: len(in_avals)], iter(args[len(in_avals) :])
        tangents = [
            next(rest) if nz else Zero(tangent_aval(a)) for nz, a in zip(nonzeros, in_avals)
        ]
        outs, out_tangents = jvp_flat(
            lambda *a: eval_jaxpr(closed.jaxpr, closed.consts, *a),
            primals,
            tangents,
            "jvp of a control-flow body",
        )
        out_nonzeros[:] = [
            dtypes.is_inexact(a.dtype) and (type(t) is not Zero or bool(force))
            for t, a, force in zip(out_tangents, closed.out_avals, force_outs)
        ]
        kept = [instantiate(t) for t, nz in zip(out_tangents, out_nonzeros) if nz]
        return [*outs, *kept]

    tangent_avals = [tangent_aval(a) for nz, a in zip(nonzeros, in_avals) if nz]
    jaxpr = trace_to_jaxpr(fun, [*in_avals, *tangent_avals], "jvp of a control-flow body")
    return jaxpr, out_nonzeros


def tangent_aval(aval: ShapedArray) -> ShapedArray:
    """The aval of a tangent of a value of `aval` (strongly typed)."""
    return ShapedArray(aval.shape, aval.dtype)


def backward_pass(linear: Jaxpr, residuals: Sequence, cotangents: Sequence) -> list:
    """Cotangents of the linear jaxpr's unknown inputs, given its residual inputs and
    the cotangents of its outputs (each may be `Zero`)."""
    num_res = len(residuals)
    env = dict(zip(linear.invars[:num_res], residuals))
    linear_vars = set(linear.invars[num_res:])
    linear_eqns = []
    for eqn in linear.eqns:
        # An equation on residuals alone (a control-flow body may hold some) is not
        # linear: it runs forward, so that transpose rules see its values.
        if any(isinstance(v, Var) and v in linear_vars for v in eqn.invars):
            linear_vars.update(eqn.outvars)
            linear_eqns.append(eqn)
            continue
        args = [v.val if isinstance(v, Literal) else env[v] for v in eqn.invars]
        out = eqn.primitive.bind(*args, **eqn.params)
        env.update(zip(eqn.outvars, out if eqn.primitive.multiple_results else (out,)))
    cts: dict[Var, object] = {}

    def write(var, ct):
        if isinstance(var, Var) and var in linear_vars and type(ct) is not Zero:
            cts[var] = add_tangents(cts[var], ct) if var in cts else ct

    for var, ct in zip(linear.outvars, cotangents):
        write(var, ct)
    for eqn in reversed(linear_eqns):
        out_cts = [cts.pop(v, Zero(v.aval)) for v in eqn.outvars]
        if all(type(ct) is Zero for ct in out_cts):
            continue  # so single-result transpose rules never see a Zero cotangent
        rule = primitive_transposes.get(eqn.primitive)
        if rule is None:
            raise NotImplementedError(
                f"reverse-mode differentiation rule for primitive {eqn.primitive.name!r} is "
                "not implemented (no transpose rule)"
            )
        operands = [
            UndefinedPrimal(v.aval)
            if isinstance(v, Var) and v in linear_vars
            else (v.val if isinstance(v, Literal) else env[v])
            for v in eqn.invars
        ]
        ct_in = out_cts if eqn.primitive.multiple_results else out_cts[0]
        in_cts = rule(ct_in, *operands, **eqn.params)
        for var, ct in zip(eqn.invars, in_cts):
            if ct is not None:
                write(var, ct)
    return [cts.get(v, Zero(v.aval)) for v in linear.invars[num_res:]]
