"""User-defined derivatives: `custom_jvp` and `custom_vjp`.

Both stage the user's function as a call primitive whose body is the traced function
and whose parameters carry the user's rules. Outside differentiation the call just
runs its body. Under the JVP trace, `custom_jvp_call` runs the user's jvp rule instead
of differentiating the body; `custom_vjp_call` runs the user's forward function and
emits a `custom_lin` equation on the tangents, which reverse mode transposes by calling
the user's backward function with the saved residuals. (Forward mode through a
custom_vjp function is an error, as in JAX.)
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

from funcgrad.core.avals import get_aval
from funcgrad.core.jaxpr import ClosedJaxpr, eval_jaxpr, hoist_consts
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.interpreters import ad, batching
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.runtime.array import buffer_of
from funcgrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["custom_jvp", "custom_vjp"]


def _call_impl(*args, call_jaxpr: ClosedJaxpr, **rules):
    return [buffer_of(out) for out in eval_jaxpr(call_jaxpr.jaxpr, (), *args)]


def _call_abstract_eval(*avals, call_jaxpr: ClosedJaxpr, **rules):
    return call_jaxpr.out_avals


def _staged(fun: Callable, name: str, args: tuple):
    """Trace `fun` on `args`; the hoisted body, its operands (consts first) and out tree."""
    flat_args, in_tree = tree_flatten(args)
    out_trees = []

    def flat_fun(*leaves):
        out_flat, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, leaves)))
        out_trees.append(out_tree)
        return out_flat

    closed = trace_to_jaxpr(
        flat_fun, [get_aval(x) for x in flat_args], f"{name} at {user_location()}"
    )
    hoisted, consts = hoist_consts(closed)
    return hoisted, [*consts, *flat_args], len(consts), in_tree, out_trees[0]


def _fun_name(fun) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


# ---------------------------------------------------------------------------------------
# custom_jvp

custom_jvp_call_p = Primitive("custom_jvp_call", multiple_results=True)
custom_jvp_call_p.def_impl(_call_impl)
custom_jvp_call_p.def_abstract_eval(_call_abstract_eval)


def _custom_jvp_call_jvp(primals, tangents, *, call_jaxpr, jvp_rule, num_consts):
    return jvp_rule(primals[num_consts:], [ad.instantiate(t) for t in tangents[num_consts:]])


ad.primitive_jvps[custom_jvp_call_p] = _custom_jvp_call_jvp


class custom_jvp:
    """A function with a user-defined jvp rule, as `jax.custom_jvp`.

    >>> @custom_jvp                                            # doctest: +SKIP
    ... def f(x):
    ...     return jnp.log1p(jnp.exp(x))
    >>> @f.defjvp                                              # doctest: +SKIP
    ... def f_jvp(primals, tangents):
    ...     (x,), (t,) = primals, tangents
    ...     return f(x), t * jax.nn.sigmoid(x)
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.jvp = None

    def defjvp(self, jvp: Callable) -> Callable:
        """Set the rule `jvp(primals, tangents) -> (primal_out, tangent_out)`."""
        self.jvp = jvp
        return jvp

    @api_boundary
    def __call__(self, *args):
        if self.jvp is None:
            raise AttributeError(
                f"custom_jvp function {_fun_name(self.fun)} has no jvp rule: define one with "
                f"@{_fun_name(self.fun)}.defjvp before calling it (at {user_location()})."
            )
        static = {i % len(args): args[i] for i in self.nondiff_argnums}
        dynamic = tuple(a for i, a in enumerate(args) if i not in static)

        def merged(values):
            it = iter(values)
            return [static[i] if i in static else next(it) for i in range(len(args))]

        def body(*dyn):
            return self.fun(*merged(dyn))

        call_jaxpr, operands, num_consts, in_tree, out_tree = _staged(
            body, f"custom_jvp of {_fun_name(self.fun)}", dynamic
        )
        user_jvp = self.jvp

        def jvp_rule(flat_primals, flat_tangents):
            primals = tree_unflatten(in_tree, flat_primals)
            tangents = tree_unflatten(in_tree, flat_tangents)
            nondiff = [static[i] for i in sorted(static)]
            out, tangent_out = user_jvp(*nondiff, tuple(primals), tuple(tangents))
            out_flat, tree = tree_flatten(out)
            tangent_flat, tangent_tree = tree_flatten(tangent_out)
            if tree != out_tree or tangent_tree != out_tree:
                raise TypeError(
                    f"the custom jvp rule of {_fun_name(self.fun)} must return (primal_out, "
                    f"tangent_out), each with the structure of the function's output "
                    f"{out_tree}; got {tree} and {tangent_tree}."
                )
            return out_flat, tangent_flat

        outs = custom_jvp_call_p.bind(
            *operands, call_jaxpr=call_jaxpr, jvp_rule=jvp_rule, num_consts=num_consts
        )
        return tree_unflatten(out_tree, outs)


# ---------------------------------------------------------------------------------------
# custom_vjp

custom_vjp_call_p = Primitive("custom_vjp_call", multiple_results=True)
custom_vjp_call_p.def_impl(_call_impl)
custom_vjp_call_p.def_abstract_eval(_call_abstract_eval)

# custom_lin(*residuals, *tangents) stands for the unknown linear map whose transpose is
# the user's bwd; it never runs forward.
custom_lin_p = Primitive("custom_lin", multiple_results=True)


@custom_lin_p.def_impl
def _custom_lin_impl(*args, **params):
    raise TypeError(
        "can't apply forward-mode autodiff (jvp) to a custom_vjp function; use grad or vjp, "
        "or define the function with custom_jvp instead."
    )


def _custom_lin_jvp(primals, tangents, **params):
    _custom_lin_impl()


@custom_lin_p.def_abstract_eval
def _custom_lin_abstract_eval(*avals, num_residuals, bwd, out_avals, residual_tree, in_tree):
    return list(out_avals)


def _custom_lin_transpose(cts, *operands, num_residuals, bwd, out_avals, residual_tree, in_tree):
    residuals = tree_unflatten(residual_tree, operands[:num_residuals])
    in_cts = bwd(residuals, [ad.instantiate(ct) for ct in cts])
    if not isinstance(in_cts, (tuple, list)) or len(in_cts) != len(in_tree.children()):
        raise TypeError(
            f"the custom_vjp bwd function must return a tuple with one cotangent per primal "
            f"argument ({len(in_tree.children())}), got {type(in_cts).__name__} {in_cts!r:.60}."
        )
    # None stands for a zero cotangent of a whole argument, as in JAX.
    undefined = iter(operands[num_residuals:])
    flat = []
    for ct, child in zip(in_cts, in_tree.children()):
        avals = [next(undefined).aval for _ in range(child.num_leaves)]
        if ct is None:
            flat += [ad.Zero(aval) for aval in avals]
            continue
        leaves, tree = tree_flatten(ct)
        if tree != child:
            raise TypeError(
                f"the custom_vjp bwd function returned a cotangent structured {tree} for an "
                f"argument structured {child}."
            )
        flat += leaves
    return [None] * num_residuals + flat


ad.primitive_transposes[custom_lin_p] = _custom_lin_transpose
ad.primitive_jvps[custom_lin_p] = _custom_lin_jvp  # declared impossible, as in JAX


def _custom_vjp_call_jvp(primals, tangents, *, call_jaxpr, fwd_rule, num_consts):
    outs, residuals, residual_tree, bwd, in_tree = fwd_rule(primals[num_consts:])
    out_avals = tuple(get_aval(o) for o in outs)
    tangent_outs = custom_lin_p.bind(
        *residuals,
        *map(ad.instantiate, tangents[num_consts:]),
        num_residuals=len(residuals),
        bwd=bwd,
        out_avals=out_avals,
        residual_tree=residual_tree,
        in_tree=in_tree,
    )
    return outs, tangent_outs


ad.primitive_jvps[custom_vjp_call_p] = _custom_vjp_call_jvp


class custom_vjp:
    """A function with a user-defined vjp, as `jax.custom_vjp`.

    >>> @custom_vjp                                            # doctest: +SKIP
    ... def clip_gradient(x):
    ...     return x
    >>> clip_gradient.defvjp(lambda x: (x, None), lambda res, g: (jnp.clip(g, -1, 1),))
    """

    def __init__(self, fun: Callable, nondiff_argnums: Sequence[int] = ()):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.nondiff_argnums = tuple(nondiff_argnums)
        self.fwd = self.bwd = None

    def defvjp(self, fwd: Callable, bwd: Callable) -> None:
        """`fwd(*args) -> (out, residuals)`; `bwd(residuals, out_cotangent) -> tuple`."""
        self.fwd, self.bwd = fwd, bwd

    @api_boundary
    def __call__(self, *args):
        if self.fwd is None:
            raise AttributeError(
                f"custom_vjp function {_fun_name(self.fun)} has no vjp rule: call "
                f"{_fun_name(self.fun)}.defvjp(fwd, bwd) before calling it (at "
                f"{user_location()})."
            )
        static = {i % len(args): args[i] for i in self.nondiff_argnums}
        dynamic = tuple(a for i, a in enumerate(args) if i not in static)
        nondiff = [static[i] for i in sorted(static)]

        def merged(values):
            it = iter(values)
            return [static[i] if i in static else next(it) for i in range(len(args))]

        call_jaxpr, operands, num_consts, in_tree, out_tree = _staged(
            lambda *dyn: self.fun(*merged(dyn)), f"custom_vjp of {_fun_name(self.fun)}", dynamic
        )
        fwd, bwd = self.fwd, self.bwd

        def fwd_rule(flat_primals):
            out, residuals = fwd(*merged(tree_unflatten(in_tree, flat_primals)))
            out_flat, tree = tree_flatten(out)
            if tree != out_tree:
                raise TypeError(
                    f"the custom_vjp fwd of {_fun_name(self.fun)} must return (output, "
                    f"residuals) with the output structured like the function's {out_tree}; "
                    f"got {tree}."
                )
            residual_flat, residual_tree = tree_flatten(residuals)

            def user_bwd(res, cts):
                return bwd(*nondiff, res, tree_unflatten(out_tree, cts))

            return out_flat, residual_flat, residual_tree, user_bwd, in_tree

        outs = custom_vjp_call_p.bind(
            *operands, call_jaxpr=call_jaxpr, fwd_rule=fwd_rule, num_consts=num_consts
        )
        return tree_unflatten(out_tree, outs)


# Under vmap a call is batched by batching its body in place.


def _custom_jvp_call_batch(trace, values, dims, *, call_jaxpr, jvp_rule, num_consts):
    """One custom_jvp_call of the batched body, whose rule is the user's rule vmapped: the
    custom derivative survives vmap, so grad(vmap(f)) still uses it."""
    from funcgrad.api import vmap

    size, name = trace.axis_size, trace.axis_name
    operands = batching.batch_all_at_front(values, dims, size)
    body, consts = batching.batch_jaxpr(call_jaxpr, size, name)

    def batched_rule(primals, tangents):
        out, tangent_out = vmap(lambda p, t: tuple(jvp_rule(p, t)), axis_name=name)(
            list(primals), list(tangents)
        )
        return list(out), list(tangent_out)

    outs = custom_jvp_call_p.bind(
        *consts,
        *operands,
        call_jaxpr=body,
        jvp_rule=batched_rule,
        num_consts=len(consts) + num_consts,
    )
    return outs, [0] * len(outs)


batching.trace_rules[custom_jvp_call_p] = _custom_jvp_call_batch


def _custom_vjp_call_batch(trace, values, dims, *, call_jaxpr, fwd_rule, num_consts):
    """One custom_vjp_call of the batched body, with fwd and bwd vmapped."""
    from funcgrad.api import vmap

    size, name = trace.axis_size, trace.axis_name
    operands = batching.batch_all_at_front(values, dims, size)
    body, consts = batching.batch_jaxpr(call_jaxpr, size, name)

    def batched_fwd(flat_primals):
        static = {}

        def one_example(primals):
            out, residuals, residual_tree, bwd, in_tree = fwd_rule(primals)
            static.update(residual_tree=residual_tree, bwd=bwd, in_tree=in_tree)
            return out, residuals

        out, residuals = vmap(one_example, axis_name=name)(list(flat_primals))
        bwd = static["bwd"]

        def batched_bwd(residual_values, cotangents):
            return vmap(bwd, axis_name=name)(residual_values, cotangents)

        return list(out), list(residuals), static["residual_tree"], batched_bwd, static["in_tree"]

    outs = custom_vjp_call_p.bind(
        *consts,
        *operands,
        call_jaxpr=body,
        fwd_rule=batched_fwd,
        num_consts=len(consts) + num_consts,
    )
    return outs, [0] * len(outs)


batching.trace_rules[custom_vjp_call_p] = _custom_vjp_call_batch
