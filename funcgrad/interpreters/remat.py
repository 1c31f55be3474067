"""checkpoint (remat): trade memory for compute in reverse mode.

`checkpoint(f)` stages f as a `remat_call` equation. Differentiating it produces a
remat_call of f's jvp; when reverse mode splits the program, that equation splits into
a known part that computes only f's outputs, and a linear part that keeps the whole jvp
body and takes f's *inputs* as its residuals. Transposing the linear part recomputes
f's intermediate values from those inputs instead of having stored them.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Var, eval_jaxpr, hoist_consts
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.interpreters import ad, batching
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.runtime.array import buffer_of
from funcgrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["checkpoint", "remat"]

remat_call_p = Primitive("remat_call", multiple_results=True)


@remat_call_p.def_impl
def _remat_call_impl(*args, call_jaxpr: ClosedJaxpr, num_primals: int):
    return [buffer_of(out) for out in eval_jaxpr(call_jaxpr.jaxpr, (), *args)]


@remat_call_p.def_abstract_eval
def _remat_call_abstract_eval(*avals, call_jaxpr: ClosedJaxpr, num_primals: int):
    return call_jaxpr.out_avals


def _jvp_body(call_jaxpr: ClosedJaxpr) -> tuple[ClosedJaxpr, tuple]:
    """The jaxpr of (consts, primals, tangents) -> (primal outs, tangent outs) for a
    body, and the consts its jvp rules created."""
    n = len(call_jaxpr.in_avals)

    def jvp_fun(*args):
        outs, tangents = ad.jvp_flat(
            lambda *a: eval_jaxpr(call_jaxpr.jaxpr, (), *a), args[:n], args[n:], "remat"
        )
        return [*outs, *map(ad.instantiate, tangents)]

    tangent_avals = [ShapedArray(a.shape, a.dtype) for a in call_jaxpr.in_avals]
    closed = trace_to_jaxpr(jvp_fun, [*call_jaxpr.in_avals, *tangent_avals], "remat jvp")
    return hoist_consts(closed)


def _remat_jvp(primals, tangents, *, call_jaxpr, num_primals):
    body, consts = _jvp_body(call_jaxpr)
    outs = remat_call_p.bind(
        *consts,
        *primals,
        *map(ad.instantiate, tangents),
        call_jaxpr=body,
        num_primals=len(consts) + len(primals),
    )
    half = len(outs) // 2
    return outs[:half], outs[half:]


def _remat_partial_eval(eqn: JaxprEqn, unknown_inputs: Sequence[bool]):
    n = eqn.params["num_primals"]
    if any(unknown_inputs[:n]):
        return None, eqn, eqn.outvars  # primal inputs unknown: nothing to split
    body = eqn.params["call_jaxpr"]
    half = len(eqn.outvars) // 2
    primal_body = dce_jaxpr(body.jaxpr, [True] * half + [False] * half)
    primal_body = Jaxpr((), primal_body.invars[:n], primal_body.outvars, primal_body.eqns)
    known = JaxprEqn(
        remat_call_p,
        eqn.invars[:n],
        eqn.outvars[:half],
        {"call_jaxpr": ClosedJaxpr(primal_body, ()), "num_primals": n},
        eqn.source_info,
    )
    dummies = tuple(Var(v.aval) for v in eqn.outvars[:half])
    linear = JaxprEqn(
        remat_call_p, eqn.invars, dummies + tuple(eqn.outvars[half:]), eqn.params, eqn.source_info
    )
    return known, linear, eqn.outvars[half:]


def _remat_transpose(cts, *operands, call_jaxpr, num_primals):
    body = call_jaxpr
    half = len(body.out_avals) // 2
    unknown = [isinstance(op, ad.UndefinedPrimal) for op in operands]
    known, linear, _ = ad.partial_eval_jaxpr(body, unknown, half)
    defined = [op for op in operands if not isinstance(op, ad.UndefinedPrimal)]
    # The rematerialization: recompute the body's residuals from its inputs now.
    results = eval_jaxpr(known.jaxpr, known.consts, *defined)
    in_cts = ad.backward_pass(linear, results[half:], list(cts[half:]))
    in_cts = iter(in_cts)
    return [next(in_cts) if flag else None for flag in unknown]


ad.primitive_jvps[remat_call_p] = _remat_jvp
ad.partial_eval_rules[remat_call_p] = _remat_partial_eval
ad.primitive_transposes[remat_call_p] = _remat_transpose


def checkpoint(
    fun: Callable,
    *,
    prevent_cse: bool = True,
    policy=None,
    static_argnums: int | Sequence[int] = (),
):
    """`fun`, but reverse mode recomputes its intermediates instead of storing them.

    >>> layer = checkpoint(lambda w, x: jnp.tanh(x @ w))     # doctest: +SKIP
    """
    static = (static_argnums,) if isinstance(static_argnums, int) else tuple(static_argnums)
    if policy is not None:
        raise NotImplementedError("checkpoint policies are not supported yet; omit policy=")

    @functools.wraps(fun)
    @api_boundary
    def remat_fun(*args):
        fixed = {i % len(args): args[i] for i in static}
        dynamic = tuple(a for i, a in enumerate(args) if i not in fixed)
        flat, in_tree = tree_flatten(dynamic)
        out_trees = []

        def body(*leaves):
            values = iter(tree_unflatten(in_tree, leaves))
            full = [fixed[i] if i in fixed else next(values) for i in range(len(args))]
            out_flat, out_tree = tree_flatten(fun(*full))
            out_trees.append(out_tree)
            return out_flat

        closed = trace_to_jaxpr(
            body,
            [get_aval(x) for x in flat],
            f"checkpoint of {getattr(fun, '__name__', 'fun')} at {user_location()}",
        )
        hoisted, consts = hoist_consts(closed)
        outs = remat_call_p.bind(
            *consts, *flat, call_jaxpr=hoisted, num_primals=len(consts) + len(flat)
        )
        return tree_unflatten(out_trees[0], outs)

    return remat_fun


remat = checkpoint

# Under vmap a call is batched by batching its body in place.


def _remat_batch(trace, values, dims, *, call_jaxpr, num_primals):
    """One remat_call of the batched body, so rematerialization survives vmap."""
    operands = batching.batch_all_at_front(values, dims, trace.axis_size)
    body, consts = batching.batch_jaxpr(call_jaxpr, trace.axis_size, trace.axis_name)
    outs = remat_call_p.bind(
        *consts, *operands, call_jaxpr=body, num_primals=len(consts) + num_primals
    )
    return outs, [0] * len(outs)


batching.trace_rules[remat_call_p] = _remat_batch
