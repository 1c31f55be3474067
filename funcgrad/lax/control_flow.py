"""Primitives whose parameters hold jaxprs: `closed_call` (a jit call inside other
transforms) and structured control flow, `cond` (which `switch` also binds), `while` and
`scan`; `fori_loop` and `map` are built on them.

Bodies are traced once, to ClosedJaxprs whose constants are hoisted to leading operands,
so that a constant which is a tracer of an enclosing transform is an operand that
transform sees. Each primitive's rules follow it: shape rule, eager impl, jvp (the body's
jvp, with a fixed point over which loop carries have nonzero tangents), reverse mode
(partial evaluation splits a body into a known and an unknown part; a known `scan` emits
the residuals stacked along the scan axis, and the unknown part is transposed as a scan
running the other way), and batching (a batched predicate in `cond` becomes a select of
the branches; a batched `while` predicate runs until every member is done).
"""

from __future__ import annotations

import operator
from typing import Any, Callable, Sequence

import numpy as np

from funcgrad.compiler.passes.dce import dce_jaxpr, dce_rules
from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Var, eval_jaxpr, hoist_consts
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.core.trace import Tracer, set_current_trace
from funcgrad.interpreters import ad, batching
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.interpreters.remat import checkpoint
from funcgrad.lax.shape_rules import shape_error
from funcgrad.runtime.array import buffer_of
from funcgrad.runtime.devices import array_module
from funcgrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["closed_call", "cond", "switch", "while_loop", "fori_loop", "scan", "map"]

closed_call_p = Primitive("closed_call", multiple_results=True)


@closed_call_p.def_impl
def _closed_call_impl(*args, call_jaxpr: ClosedJaxpr):
    # Only the eager trace calls impls, so the body's equations evaluate eagerly too.
    outs = eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)
    return [buffer_of(out) for out in outs]


@closed_call_p.def_abstract_eval
def _closed_call_abstract_eval(*avals, call_jaxpr: ClosedJaxpr):
    expected = call_jaxpr.in_avals
    if len(avals) != len(expected) or any(
        a.shape != e.shape or a.dtype != e.dtype for a, e in zip(avals, expected)
    ):
        raise shape_error(
            "closed_call",
            list(avals),
            "operands do not match the called "
            f"jaxpr's inputs ({', '.join(e.str_short() for e in expected)})",
        )
    return call_jaxpr.out_avals


def closed_call(call_jaxpr: ClosedJaxpr, *args):
    """Apply `call_jaxpr` to `args`, as one equation in whatever trace is running.

    >>> lax.closed_call(make_jaxpr(jnp.sin)(1.0), 0.5)          # doctest: +SKIP
    [Array(0.47942555, dtype=float32)]
    """
    if call_jaxpr.consts:
        call_jaxpr, consts = hoist_consts(call_jaxpr)
        args = (*consts, *args)
    return closed_call_p.bind(*args, call_jaxpr=call_jaxpr)


# Differentiation: a call is differentiated by differentiating its body in place.


def _closed_call_jvp(primals, tangents, *, call_jaxpr: ClosedJaxpr):
    def body(*args):
        return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)

    return ad.jvp_flat(body, primals, tangents, "closed_call")


ad.primitive_jvps[closed_call_p] = _closed_call_jvp

# Under vmap a call is batched by batching its body in place.
batching.defcall(closed_call_p)


# ---------------------------------------------------------------------------------------
# Shared helpers: tracing bodies, joining the constants of several bodies, reordering


def _fun_name(fun) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _trace_body(fun: Callable, args: tuple, in_avals: Sequence[ShapedArray], what: str):
    """Trace `fun(*args)` (pytrees of leaves of `in_avals`): (ClosedJaxpr, out treedef)."""
    _, in_tree = tree_flatten(args)
    out_trees = []

    def flat_fun(*leaves):
        out_leaves, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, leaves)))
        for leaf in out_leaves:
            if not isinstance(leaf, Tracer):
                try:
                    get_aval(leaf)
                except TypeError:
                    raise TypeError(
                        f"{what} returned a {type(leaf).__name__} ({str(leaf)[:40]!r}), not an "
                        f"array (at {user_location()}). It must return arrays, Python scalars "
                        "or pytrees of them."
                    ) from None
        out_trees.append(out_tree)
        return out_leaves

    closed = trace_to_jaxpr(flat_fun, list(in_avals), f"{what} at {user_location()}")
    return closed, out_trees[0]


def _trace(fun: Callable, in_avals: Sequence[ShapedArray], origin: str) -> ClosedJaxpr:
    """Trace flat `fun` (inside a rule): a ClosedJaxpr without consts, and its consts."""
    return hoist_consts(trace_to_jaxpr(fun, list(in_avals), origin))


def _join_consts(closed_list: Sequence[ClosedJaxpr]) -> tuple[tuple[ClosedJaxpr, ...], list]:
    """Several bodies over the same operands as bodies that all take every body's
    constants first (each ignores the others'): (the bodies, the constants)."""
    hoisted = [hoist_consts(c) for c in closed_list]
    const_avals = [[v.aval for v in b.jaxpr.invars[: len(consts)]] for b, consts in hoisted]
    joined = []
    for index, (body, consts) in enumerate(hoisted):
        jaxpr, own = body.jaxpr, len(consts)
        before = [Var(a) for avals in const_avals[:index] for a in avals]
        after = [Var(a) for avals in const_avals[index + 1 :] for a in avals]
        invars = (*before, *jaxpr.invars[:own], *after, *jaxpr.invars[own:])
        joined.append(ClosedJaxpr(Jaxpr((), invars, jaxpr.outvars, jaxpr.eqns), ()))
    return tuple(joined), [c for _, consts in hoisted for c in consts]


def _reorder(closed: ClosedJaxpr, in_order: Sequence[int], out_order: Sequence[int]):
    """The same body (no consts) taking inputs and giving outputs in another order."""
    jaxpr = closed.jaxpr
    invars = tuple(jaxpr.invars[i] for i in in_order)
    outvars = tuple(jaxpr.outvars[i] for i in out_order)
    return ClosedJaxpr(Jaxpr((), invars, outvars, jaxpr.eqns), ())


def _split_list(items: Sequence, sizes: Sequence[int]) -> list[list]:
    out, start = [], 0
    for size in sizes:
        out.append(list(items[start : start + size]))
        start += size
    out.append(list(items[start:]))
    return out


def _types_text(avals: Sequence[ShapedArray]) -> str:
    return "(" + ", ".join(a.str_short() for a in avals) + ")"


def _same_types(a: Sequence[ShapedArray], b: Sequence[ShapedArray]) -> bool:
    return len(a) == len(b) and all(x.shape == y.shape and x.dtype == y.dtype for x, y in zip(a, b))


def _strong(leaf):
    """`leaf` as a strongly typed value of the same dtype."""
    from funcgrad.lax.elementwise import convert_element_type_p

    aval = get_aval(leaf)
    return convert_element_type_p.bind(leaf, new_dtype=aval.dtype, weak_type=False)


def _settle_weak_carry(leaves: list, out_avals: Sequence[ShapedArray]) -> list | None:
    """A weakly typed carry (a Python scalar) stays weak while the body keeps it weak, as in
    JAX; one the body makes strong starts strong. The leaves to trace again, or None."""
    changed = False
    for index, (leaf, out) in enumerate(zip(leaves, out_avals)):
        if get_aval(leaf).weak_type and not out.weak_type:
            leaves[index] = _strong(leaf)
            changed = True
    return leaves if changed else None


def _zeros_like_aval(aval: ShapedArray):
    return ad.instantiate(ad.Zero(aval))


def _check_index(name: str, avals: Sequence[ShapedArray], num_branches: int) -> None:
    index = avals[0]
    ok = index.shape == () and (
        index.dtype == np.dtype(np.int32) or (index.dtype == np.bool_ and num_branches == 2)
    )
    if not ok:
        raise shape_error(
            name,
            avals,
            f"the branch index must be an int32 scalar (or a bool scalar for two branches), "
            f"got {index.str_short()}",
        )


# ---------------------------------------------------------------------------------------
# cond: `branches[index](*operands)`, the index clamped into range (bool: False picks 0)

cond_p = Primitive("cond", multiple_results=True)


@cond_p.def_abstract_eval
def _cond_abstract_eval(index, *operands, branches):
    avals = [index, *operands]
    _check_index("cond", avals, len(branches))
    for number, branch in enumerate(branches):
        if not _same_types(branch.in_avals, operands):
            raise shape_error(
                "cond",
                avals,
                f"branch {number} takes {_types_text(branch.in_avals)}, not the operands",
            )
    first = branches[0].out_avals
    for number, branch in enumerate(branches[1:], 1):
        if not _same_types(branch.out_avals, first):
            raise shape_error(
                "cond",
                avals,
                f"branch {number} returns {_types_text(branch.out_avals)} but branch 0 "
                f"returns {_types_text(first)}",
            )
    return [
        ShapedArray(a.shape, a.dtype, all(b.out_avals[i].weak_type for b in branches))
        for i, a in enumerate(first)
    ]


def _clamped(index, num_branches: int) -> int:
    return min(max(int(index), 0), num_branches - 1)


@cond_p.def_impl
def _cond_impl(index, *operands, branches):
    branch = branches[_clamped(index, len(branches))]
    return [buffer_of(out) for out in eval_jaxpr(branch.jaxpr, branch.consts, *operands)]


def _bind_cond(index, branch_closed: Sequence[ClosedJaxpr], operands: Sequence) -> list:
    branches, consts = _join_consts(branch_closed)
    return cond_p.bind(index, *consts, *operands, branches=branches)


def _trace_branches(
    branch_funs, operands, names, operation: str = "cond"
) -> tuple[list[ClosedJaxpr], Any, list]:
    """Each branch traced on the operands; an error shows every branch's result type."""
    leaves, _ = tree_flatten(operands)
    avals = [get_aval(x) for x in leaves]
    traced = [
        _trace_body(fun, operands, avals, f"{name} of cond")
        for fun, name in zip(branch_funs, names)
    ]
    first_closed, first_tree = traced[0]
    for (closed, tree), name in zip(traced[1:], names[1:]):
        if tree != first_tree or not _same_types(closed.out_avals, first_closed.out_avals):
            raise TypeError(
                f"{operation}: the branches must return the same structure, shapes and dtypes, but "
                f"{names[0]} returns {first_tree} with types {_types_text(first_closed.out_avals)}"
                f" and {name} returns {tree} with types {_types_text(closed.out_avals)} (at "
                f"{user_location()}). Make the branches return values of the same types, "
                "e.g. with .astype(...) or jnp.zeros_like(...)."
            )
    return [closed for closed, _ in traced], first_tree, leaves


def cond(pred, true_fun: Callable, false_fun: Callable, *operands):
    """`true_fun(*operands)` if `pred` else `false_fun(*operands)`, as one staged choice:
    under jit both branches are compiled and only the chosen one runs.

    `pred` is a scalar bool, or a scalar integer (nonzero is true), as in JAX.

    >>> lax.cond(x > 0, lambda v: v * 2.0, lambda v: -v, x)      # doctest: +SKIP
    """
    if not callable(true_fun) or not callable(false_fun):
        raise TypeError(
            f"cond: true_fun and false_fun must be callable, got {type(true_fun).__name__} and "
            f"{type(false_fun).__name__} (at {user_location()})."
        )
    aval = get_aval(pred)
    if aval.shape != ():
        raise TypeError(
            f"cond: the predicate must be a scalar, got {aval.str_short()} (at "
            f"{user_location()}). Reduce it (e.g. jnp.all(p) or jnp.any(p)), or use "
            "jnp.where for an elementwise choice."
        )
    if aval.dtype != np.bool_:
        if not dtypes.is_integer(aval.dtype):
            raise TypeError(
                f"cond: the predicate must be a bool or integer scalar, got "
                f"{aval.str_short()} (at {user_location()}). Compare it, e.g. x > 0."
            )
        from funcgrad.lax.elementwise import ne

        pred = ne(pred, np.zeros((), aval.dtype))
    branches, out_tree, leaves = _trace_branches(
        [false_fun, true_fun], operands, ["false_fun", "true_fun"]
    )
    return tree_unflatten(out_tree, _bind_cond(pred, branches, leaves))


def switch(index, branches: Sequence[Callable], *operands):
    """`branches[index](*operands)`, the index clamped into `[0, len(branches) - 1]`.

    >>> lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], x)          # doctest: +SKIP
    """
    branches = list(branches)
    if not branches or not all(callable(b) for b in branches):
        raise TypeError(
            f"switch: branches must be a non-empty sequence of callables (at {user_location()})."
        )
    aval = get_aval(index)
    if aval.shape != () or not dtypes.is_integer(aval.dtype):
        raise TypeError(
            f"switch: the index must be an integer scalar, got {aval.str_short()} (at "
            f"{user_location()})."
        )
    if aval.dtype != np.int32 or aval.weak_type:
        from funcgrad.lax.elementwise import convert_element_type

        index = convert_element_type(index, np.int32)
    names = [f"branch {i}" for i in range(len(branches))]
    traced, out_tree, leaves = _trace_branches(branches, operands, names, "switch")
    return tree_unflatten(out_tree, _bind_cond(index, traced, leaves))


def _cond_jvp(primals, tangents, *, branches):
    index, *operands = primals
    nonzeros = [type(t) is not ad.Zero for t in tangents[1:]]
    out_nonzeros = [False] * len(branches[0].out_avals)
    for branch in branches:
        _, nz = ad.jvp_jaxpr(branch, nonzeros, False)
        out_nonzeros = [a or b for a, b in zip(out_nonzeros, nz)]
    jvps = [ad.jvp_jaxpr(branch, nonzeros, out_nonzeros)[0] for branch in branches]
    nz_tangents = [t for t, nz in zip(tangents[1:], nonzeros) if nz]
    outs = _bind_cond(index, jvps, [*operands, *nz_tangents])
    n = len(out_nonzeros)
    rest = iter(outs[n:])
    out_tangents = [
        next(rest) if nz else ad.Zero(ad.tangent_aval(a))
        for nz, a in zip(out_nonzeros, branches[0].out_avals)
    ]
    return outs[:n], out_tangents


ad.primitive_jvps[cond_p] = _cond_jvp


def _no_consts(closed: ClosedJaxpr, what: str) -> ClosedJaxpr:
    if closed.consts:
        raise AssertionError(f"{what}: a staged body unexpectedly captured constants")
    return closed


def _cond_partial_eval(eqn: JaxprEqn, unknown_inputs: Sequence[bool]):
    index_unknown, *operand_unknowns = unknown_inputs
    if index_unknown:
        return None, eqn, eqn.outvars
    branches = eqn.params["branches"]
    out_unknowns = [False] * len(eqn.outvars)
    for branch in branches:
        _, _, uk, _ = ad.split_jaxpr(branch, operand_unknowns, False)
        out_unknowns = [a or b for a, b in zip(out_unknowns, uk)]
    splits = [ad.split_jaxpr(branch, operand_unknowns, out_unknowns) for branch in branches]
    n_known = out_unknowns.count(False)
    # Each branch has residuals of its own: the known cond returns all of them, zeros in
    # the slots of the branches not taken, and each unknown branch reads its own slots.
    residual_avals = [s[0].out_avals[n_known:] for s in splits]
    all_residuals = [a for avals in residual_avals for a in avals]
    known_avals = [a for a, uk in zip(branches[0].in_avals, operand_unknowns) if not uk]
    known_branches, unknown_branches = [], []
    for number, (known, unknown, _, _) in enumerate(splits):
        before = sum(len(r) for r in residual_avals[:number])
        after = sum(len(r) for r in residual_avals[number + 1 :])

        def known_fun(*args, known=known, before=before, after=after):
            outs = eval_jaxpr(known.jaxpr, known.consts, *args)
            zeros_before = [_zeros_like_aval(a) for a in all_residuals[:before]]
            zeros_after = [_zeros_like_aval(a) for a in all_residuals[len(all_residuals) - after :]]
            return [*outs[:n_known], *zeros_before, *outs[n_known:], *zeros_after]

        known_branches.append(_no_consts(_trace(known_fun, known_avals, "cond")[0], "cond"))
        own = len(residual_avals[number])
        extra_before = [Var(a) for a in all_residuals[:before]]
        extra_after = [Var(a) for a in all_residuals[before + own :]]
        invars = (
            *extra_before,
            *unknown.invars[:own],
            *extra_after,
            *unknown.invars[own:],
        )
        unknown_branches.append(ClosedJaxpr(Jaxpr((), invars, unknown.outvars, unknown.eqns), ()))
    index, *operands = eqn.invars
    residual_vars = [Var(a) for a in all_residuals]
    known_eqn = JaxprEqn(
        cond_p,
        (index, *[v for v, uk in zip(operands, operand_unknowns) if not uk]),
        (*[v for v, uk in zip(eqn.outvars, out_unknowns) if not uk], *residual_vars),
        {"branches": tuple(known_branches)},
        eqn.source_info,
    )
    unknown_outs = [v for v, uk in zip(eqn.outvars, out_unknowns) if uk]
    unknown_eqn = JaxprEqn(
        cond_p,
        (index, *residual_vars, *[v for v, uk in zip(operands, operand_unknowns) if uk]),
        tuple(unknown_outs),
        {"branches": tuple(unknown_branches)},
        eqn.source_info,
    )
    return known_eqn, unknown_eqn, unknown_outs


ad.partial_eval_rules[cond_p] = _cond_partial_eval


def _transpose_body(closed: ClosedJaxpr, linear_flags: Sequence[bool]):
    """A function (residual inputs, output cotangents) -> cotangents of the linear inputs
    (instantiated), transposing the body `closed` whose inputs marked in `linear_flags`
    it is linear in."""
    jaxpr = closed.jaxpr
    residual_vars = [v for v, lin in zip(jaxpr.invars, linear_flags) if not lin]
    linear_vars = [v for v, lin in zip(jaxpr.invars, linear_flags) if lin]
    as_linear = Jaxpr((), (*residual_vars, *linear_vars), jaxpr.outvars, jaxpr.eqns)
    n_res = len(residual_vars)

    def transposed(*args):
        residuals, cts = args[:n_res], args[n_res:]
        in_cts = ad.backward_pass(as_linear, residuals, list(cts))
        return [ad.instantiate(ct) for ct in in_cts]

    return transposed


def _cond_transpose(cts, index, *operands, branches):
    if isinstance(index, ad.UndefinedPrimal):
        raise AssertionError("cond: the branch index cannot be linear")
    linear = [isinstance(op, ad.UndefinedPrimal) for op in operands]
    residuals = [op for op, lin in zip(operands, linear) if not lin]
    cts = [ad.instantiate(ct) for ct in cts]
    in_avals = [get_aval(r) for r in residuals] + [get_aval(ct) for ct in cts]
    transposed = [_trace(_transpose_body(b, linear), in_avals, "cond transpose") for b in branches]
    joined, consts = _join_consts([ClosedJaxpr(b.jaxpr, c) for b, c in transposed])
    outs = iter(cond_p.bind(index, *consts, *residuals, *cts, branches=joined))
    return [None] + [next(outs) if lin else None for lin in linear]


ad.primitive_transposes[cond_p] = _cond_transpose


def _cond_batch(trace, values, dims, *, branches):
    index, *operands = values
    index_dim, *operand_dims = dims
    if all(d is None for d in dims):
        return cond_p.bind(*values, branches=branches), [None] * len(branches[0].out_avals)
    size = trace.axis_size
    if index_dim is not None:
        # Each member may take another branch: run them all and select per member.
        from funcgrad.lax.elementwise import clamp, select_n
        from funcgrad.lax.shapes import broadcast_in_dim

        args = [
            batching.BatchTracer(trace, v, d) if d is not None else v
            for v, d in zip(operands, operand_dims)
        ]
        which = batching.BatchTracer(trace, index, index_dim)
        with set_current_trace(trace):
            results = [eval_jaxpr(b.jaxpr, b.consts, *args) for b in branches]
            if get_aval(which).dtype != np.bool_:
                which = clamp(np.int32(0), which, np.int32(len(branches) - 1))
            outs = []
            for cases in zip(*results):
                shape = get_aval(cases[0]).shape
                selector = broadcast_in_dim(which, shape, ()) if shape else which
                outs.append(select_n(selector, *cases))
        lifted = [trace.lift(out) for out in outs]
        return [v for v, _ in lifted], [d for _, d in lifted]
    in_batched = [d is not None for d in operand_dims]
    out_batched = [False] * len(branches[0].out_avals)
    for branch in branches:
        _, b = batching.batch_jaxpr_axes(branch, size, in_batched, False, trace.axis_name)
        out_batched = [x or y for x, y in zip(out_batched, b)]
    batched = [
        batching.batch_jaxpr_axes(b, size, in_batched, out_batched, trace.axis_name)[0]
        for b in branches
    ]
    moved = [
        batching.move_axis(v, d, 0, size) if d is not None else v
        for v, d in zip(operands, operand_dims)
    ]
    outs = _bind_cond(index, batched, moved)
    return outs, [0 if b else None for b in out_batched]


batching.trace_rules[cond_p] = _cond_batch


def _cond_dce(eqn: JaxprEqn, used_outputs: Sequence[bool]) -> JaxprEqn:
    """Drop unused results from every branch, and operands no branch reads any more."""
    bodies = [dce_jaxpr(b.jaxpr, used_outputs) for b in eqn.params["branches"]]
    reads = [_reads(body) for body in bodies]
    read = [
        any(body.invars[i] in r for body, r in zip(bodies, reads))
        for i in range(len(bodies[0].invars))
    ]
    branches = tuple(
        ClosedJaxpr(Jaxpr((), tuple(v for v, r in zip(b.invars, read) if r), b.outvars, b.eqns), ())
        for b in bodies
    )
    if all(read) and all(used_outputs):
        return eqn
    index, *operands = eqn.invars
    return JaxprEqn(
        cond_p,
        (index, *[v for v, r in zip(operands, read) if r]),
        tuple(v for v, u in zip(eqn.outvars, used_outputs) if u),
        {"branches": branches},
        eqn.source_info,
    )


def _reads(jaxpr: Jaxpr) -> set:
    """The variables a jaxpr reads (in equations or as outputs)."""
    read = {v for e in jaxpr.eqns for v in e.invars if isinstance(v, Var)}
    return read | {v for v in jaxpr.outvars if isinstance(v, Var)}


dce_rules[cond_p] = _cond_dce


# ---------------------------------------------------------------------------------------
# while: repeat `body` on the carry while `cond` holds

while_p = Primitive("while", multiple_results=True)


@while_p.def_abstract_eval
def _while_abstract_eval(*avals, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    carry = avals[cond_nconsts + body_nconsts :]
    cond_consts = avals[:cond_nconsts]
    body_consts = avals[cond_nconsts : cond_nconsts + body_nconsts]
    if not _same_types(cond_jaxpr.in_avals, [*cond_consts, *carry]):
        raise shape_error("while", list(avals), "the cond jaxpr does not take the carry")
    if not _same_types(body_jaxpr.in_avals, [*body_consts, *carry]):
        raise shape_error("while", list(avals), "the body jaxpr does not take the carry")
    out = cond_jaxpr.out_avals
    if len(out) != 1 or out[0].shape != () or out[0].dtype != np.bool_:
        raise shape_error("while", list(avals), f"cond returns {_types_text(out)}, not bool[]")
    if not _same_types(body_jaxpr.out_avals, carry):
        raise shape_error(
            "while", list(avals), f"the body returns {_types_text(body_jaxpr.out_avals)}"
        )
    return list(carry)


@while_p.def_impl
def _while_impl(*args, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts, carry = _split_list(args, [cond_nconsts, body_nconsts])
    while eval_jaxpr(cond_jaxpr.jaxpr, (), *cond_consts, *carry)[0]:
        carry = eval_jaxpr(body_jaxpr.jaxpr, (), *body_consts, *carry)
    return [buffer_of(c) for c in carry]


def _carry_error(name: str, fun, in_tree, in_avals, out_tree, out_avals) -> TypeError:
    return TypeError(
        f"{name}: {_fun_name(fun)} must return a carry of the same structure and types as "
        f"its input carry, but the carry goes in as {in_tree} with types "
        f"{_types_text(in_avals)} and comes out as {out_tree} with types "
        f"{_types_text(out_avals)} (at {user_location()}). Keep every carry's shape and "
        "dtype fixed across iterations (cast with .astype(...) where a dtype changes)."
    )


def while_loop(cond_fun: Callable, body_fun: Callable, init_val, *, max_steps: int | None = None):
    """Repeat `val = body_fun(val)` while `cond_fun(val)` is true; returns the final `val`.

    `max_steps` (a funcgrad extension) bounds the number of iterations: the loop then
    runs as a `scan` of `max_steps` steps that each apply `body_fun` only while
    `cond_fun` holds, which makes it differentiable in reverse mode. The body is
    checkpointed: the backward pass stores each step's carry and recomputes the body's
    intermediates from it, so memory grows with the carry, not with the body.

    >>> lax.while_loop(lambda v: v < 10, lambda v: v * 2, 1)      # doctest: +SKIP
    Array(16, dtype=int32, weak_type=True)
    """
    if not callable(cond_fun) or not callable(body_fun):
        raise TypeError(
            f"while_loop: cond_fun and body_fun must be callable (at {user_location()})."
        )
    if max_steps is not None:
        if not isinstance(max_steps, (int, np.integer)) or max_steps < 0:
            raise ValueError(
                f"while_loop: max_steps must be a non-negative int, got {max_steps!r} (at "
                f"{user_location()})."
            )

        step_body = checkpoint(body_fun)

        def bounded_step(carry, _):
            return cond(cond_fun(carry), step_body, lambda c: c, carry), None

        return scan(bounded_step, init_val, None, length=int(max_steps))[0]
    leaves, in_tree = tree_flatten(init_val)
    while True:
        avals = [get_aval(x) for x in leaves]
        init = tree_unflatten(in_tree, leaves)
        body_closed, body_tree = _trace_body(body_fun, (init,), avals, "body_fun of while_loop")
        if body_tree != in_tree or not _same_types(body_closed.out_avals, avals):
            raise _carry_error(
                "while_loop", body_fun, in_tree, avals, body_tree, body_closed.out_avals
            )
        retrace = _settle_weak_carry(leaves, body_closed.out_avals)
        if retrace is None:
            break
        leaves = retrace
    cond_closed, cond_tree = _trace_body(cond_fun, (init,), avals, "cond_fun of while_loop")
    out = cond_closed.out_avals
    if len(out) != 1 or out[0].shape != () or out[0].dtype != np.bool_:
        raise TypeError(
            f"while_loop: cond_fun must return a scalar bool, got {cond_tree} with types "
            f"{_types_text(out)} (at {user_location()}). Compare, e.g. i < n."
        )
    cond_jaxpr, cond_consts = hoist_consts(cond_closed)
    body_jaxpr, body_consts = hoist_consts(body_closed)
    outs = while_p.bind(
        *cond_consts,
        *body_consts,
        *leaves,
        cond_jaxpr=cond_jaxpr,
        body_jaxpr=body_jaxpr,
        cond_nconsts=len(cond_consts),
        body_nconsts=len(body_consts),
    )
    return tree_unflatten(in_tree, outs)


def _while_jvp(primals, tangents, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    cond_consts, body_consts, carry = _split_list(primals, [cond_nconsts, body_nconsts])
    _, body_tangents, carry_tangents = _split_list(tangents, [cond_nconsts, body_nconsts])
    consts_nz = [type(t) is not ad.Zero for t in body_tangents]
    carry_nz = [type(t) is not ad.Zero for t in carry_tangents]
    while True:
        _, out_nz = ad.jvp_jaxpr(body_jaxpr, consts_nz + carry_nz, carry_nz)
        new = [a or b for a, b in zip(carry_nz, out_nz)]
        if new == carry_nz:
            break
        carry_nz = new
    body_jvp, carry_nz = ad.jvp_jaxpr(body_jaxpr, consts_nz + carry_nz, carry_nz)
    body_jvp, jvp_consts = hoist_consts(body_jvp)
    n_jc, n_bc, n_c = len(jvp_consts), body_nconsts, len(carry)
    n_ct, n_t = sum(consts_nz), sum(carry_nz)
    # body_jvp takes (jvp consts, consts, carry, const tangents, carry tangents).
    in_order = [
        *range(n_jc + n_bc),
        *range(n_jc + n_bc + n_c, n_jc + n_bc + n_c + n_ct),
        *range(n_jc + n_bc, n_jc + n_bc + n_c),
        *range(n_jc + n_bc + n_c + n_ct, n_jc + n_bc + n_c + n_ct + n_t),
    ]
    body = _reorder(body_jvp, in_order, range(n_c + n_t))
    tangent_avals = [ad.tangent_aval(a) for a, nz in zip(body_jaxpr.out_avals, carry_nz) if nz]
    extra = [Var(a) for a in tangent_avals]
    cj = cond_jaxpr.jaxpr
    cond_aug = ClosedJaxpr(Jaxpr((), (*cj.invars, *extra), cj.outvars, cj.eqns), ())
    const_tangents = [t for t, nz in zip(body_tangents, consts_nz) if nz]
    init_tangents = [ad.instantiate(t) for t, nz in zip(carry_tangents, carry_nz) if nz]
    outs = while_p.bind(
        *cond_consts,
        *jvp_consts,
        *body_consts,
        *const_tangents,
        *carry,
        *init_tangents,
        cond_jaxpr=cond_aug,
        body_jaxpr=body,
        cond_nconsts=cond_nconsts,
        body_nconsts=n_jc + n_bc + n_ct,
    )
    rest = iter(outs[n_c:])
    out_tangents = [
        next(rest) if nz else ad.Zero(ad.tangent_aval(a))
        for nz, a in zip(carry_nz, body_jaxpr.out_avals)
    ]
    return outs[:n_c], out_tangents


ad.primitive_jvps[while_p] = _while_jvp


def _while_partial_eval(eqn: JaxprEqn, unknown_inputs: Sequence[bool]):
    where = f" (while_loop at {eqn.source_info})" if eqn.source_info else ""
    raise TypeError(
        f"Reverse-mode differentiation does not work for lax.while_loop with a trip count "
        f"known only at run time{where}: the number of steps to store is unknown. Pass "
        "max_steps=N to while_loop (a funcgrad extension: at most N steps, as a scan), use "
        "fori_loop with Python int bounds or scan, or use forward mode (jvp, jacfwd)."
    )


ad.partial_eval_rules[while_p] = _while_partial_eval


def _while_batch(trace, values, dims, *, cond_jaxpr, body_jaxpr, cond_nconsts, body_nconsts):
    params = dict(
        cond_jaxpr=cond_jaxpr,
        body_jaxpr=body_jaxpr,
        cond_nconsts=cond_nconsts,
        body_nconsts=body_nconsts,
    )
    n_carry = len(values) - cond_nconsts - body_nconsts
    if all(d is None for d in dims):
        return while_p.bind(*values, **params), [None] * n_carry
    size, name = trace.axis_size, trace.axis_name
    cc_b, bc_b, carry_b = _split_list([d is not None for d in dims], [cond_nconsts, body_nconsts])
    while True:
        _, (pred_b,) = batching.batch_jaxpr_axes(cond_jaxpr, size, cc_b + carry_b, False, name)
        if pred_b:
            # Members finish at different steps: every carry must be able to stop alone.
            carry_b = [True] * n_carry
        _, out_b = batching.batch_jaxpr_axes(body_jaxpr, size, bc_b + carry_b, carry_b, name)
        new = [a or b for a, b in zip(carry_b, out_b)]
        if new == carry_b:
            break
        carry_b = new
    cond_b, _ = batching.batch_jaxpr_axes(cond_jaxpr, size, cc_b + carry_b, False, name)
    body_b, _ = batching.batch_jaxpr_axes(body_jaxpr, size, bc_b + carry_b, carry_b, name)
    cond_b, cond_consts = hoist_consts(cond_b)
    body_b, body_consts = hoist_consts(body_b)
    flags = cc_b + bc_b + carry_b
    moved = [batching.move_axis(v, d, 0, size) if b else v for v, d, b in zip(values, dims, flags)]
    cond_ops, body_ops, carry = _split_list(moved, [cond_nconsts, body_nconsts])
    if not pred_b:
        outs = while_p.bind(
            *cond_consts,
            *cond_ops,
            *body_consts,
            *body_ops,
            *carry,
            cond_jaxpr=cond_b,
            body_jaxpr=body_b,
            cond_nconsts=len(cond_consts) + cond_nconsts,
            body_nconsts=len(body_consts) + body_nconsts,
        )
        return outs, [0 if b else None for b in carry_b]
    from funcgrad.lax.elementwise import select_n
    from funcgrad.lax.reductions import reduce_or
    from funcgrad.lax.shapes import broadcast_in_dim

    n_cc = len(cond_consts) + cond_nconsts
    n_bc = len(body_consts) + body_nconsts
    cond_avals = cond_b.in_avals
    body_avals = body_b.in_avals

    def any_running(*args):
        (pred,) = eval_jaxpr(cond_b.jaxpr, (), *args)
        return [reduce_or(pred, (0,))]

    def step_running(*args):
        cond_args, body_args, carry = _split_list(args, [n_cc, n_bc])
        (pred,) = eval_jaxpr(cond_b.jaxpr, (), *cond_args, *carry)
        new = eval_jaxpr(body_b.jaxpr, (), *body_args, *carry)
        outs = []
        for old, value in zip(carry, new):
            shape = get_aval(old).shape
            which = broadcast_in_dim(pred, shape, (0,)) if len(shape) > 1 else pred
            outs.append(select_n(which, old, value))
        return outs

    carry_avals = body_avals[n_bc:]
    any_closed, any_consts = _trace(any_running, cond_avals, "batched while")
    step_closed, step_consts = _trace(
        step_running, [*cond_avals[:n_cc], *body_avals[:n_bc], *carry_avals], "batched while"
    )
    outs = while_p.bind(
        *any_consts,
        *cond_consts,
        *cond_ops,
        *step_consts,
        *cond_consts,
        *cond_ops,
        *body_consts,
        *body_ops,
        *carry,
        cond_jaxpr=any_closed,
        body_jaxpr=step_closed,
        cond_nconsts=len(any_consts) + n_cc,
        body_nconsts=len(step_consts) + n_cc + n_bc,
    )
    return outs, [0] * n_carry


batching.trace_rules[while_p] = _while_batch


# ---------------------------------------------------------------------------------------
# scan: a loop over the leading axis of `xs`, threading a carry and stacking outputs


scan_p = Primitive("scan", multiple_results=True)


@scan_p.def_abstract_eval
def _scan_abstract_eval(*avals, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split_list(avals, [num_consts, num_carry])
    for x in xs:
        if x.shape[:1] != (length,):
            raise shape_error(
                "scan", list(avals), f"every xs operand must have leading axis {length}"
            )
    x_avals = [ShapedArray(x.shape[1:], x.dtype) for x in xs]
    if not _same_types(jaxpr.in_avals, [*consts, *carry, *x_avals]):
        raise shape_error(
            "scan", list(avals), f"the body takes {_types_text(jaxpr.in_avals)}, not the operands"
        )
    carry_out, ys = _split_list(jaxpr.out_avals, [num_carry])
    if not _same_types(carry_out, carry):
        raise shape_error("scan", list(avals), f"the body returns carry {_types_text(carry_out)}")
    return list(carry) + [ShapedArray((length, *y.shape), y.dtype, y.weak_type) for y in ys]


@scan_p.def_impl
def _scan_impl(*args, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split_list(args, [num_consts, num_carry])
    y_avals = jaxpr.out_avals[num_carry:]
    steps: list[list] = [[None] * length for _ in y_avals]  # each y's rows, by step
    for i in reversed(range(length)) if reverse else range(length):
        outs = eval_jaxpr(jaxpr.jaxpr, (), *consts, *carry, *[x[i] for x in xs])
        carry = outs[:num_carry]
        for rows, out in zip(steps, outs[num_carry:]):
            rows[i] = buffer_of(out)
    ys = [
        array_module(*rows).stack(rows).astype(a.dtype, copy=False)
        if length
        else np.empty((0, *a.shape), a.dtype)
        for rows, a in zip(steps, y_avals)
    ]
    return [buffer_of(c) for c in carry] + ys


def scan(
    f: Callable,
    init,
    xs=None,
    length: int | None = None,
    reverse: bool = False,
    unroll: int | bool = 1,
):
    """Loop `carry, y = f(carry, x)` over the leading axis of `xs`, returning the final
    carry and the `y`s stacked: a Python loop written as one staged operation.

    `init`, `xs` and the outputs may be pytrees; `xs=None` needs `length`. `reverse`
    runs from the last element to the first (outputs stay in xs order).

    >>> def step(total, x):                                     # doctest: +SKIP
    ...     return total + x, total
    >>> lax.scan(step, 0.0, jnp.arange(4.0))                    # doctest: +SKIP
    (Array(6., dtype=float32), Array([0., 0., 1., 3.], dtype=float32))
    """
    if not callable(f):
        raise TypeError(f"scan: f must be callable, got {type(f).__name__} (at {user_location()}).")
    if isinstance(unroll, bool):
        unroll = 1 if not unroll else max(length or 1, 1)
    if not isinstance(unroll, (int, np.integer)) or unroll < 1:
        raise ValueError(f"scan: unroll must be a positive int or a bool, got {unroll!r}.")
    x_leaves, x_tree = tree_flatten(xs)
    lengths = {}
    for index, leaf in enumerate(x_leaves):
        aval = get_aval(leaf)
        if aval.ndim == 0:
            raise ValueError(
                f"scan: xs leaf {index} is a scalar {aval.str_short()}, but scan slices "
                f"every xs leaf along its leading axis (at {user_location()})."
            )
        lengths[index] = aval.shape[0]
    if len(set(lengths.values())) > 1:
        listed = ", ".join(f"leaf {i} has {n}" for i, n in lengths.items())
        raise ValueError(
            f"scan: every xs leaf must have the same leading axis length, but {listed} (at "
            f"{user_location()}). Give all inputs one length along axis 0."
        )
    if lengths:
        found = next(iter(lengths.values()))
        if length is not None and int(length) != found:
            raise ValueError(
                f"scan: length={length} but the xs leaves have leading axis length {found} (at "
                f"{user_location()})."
            )
        length = found
    elif length is None:
        raise ValueError(
            f"scan: with no xs (xs=None or empty), pass length=... to say how many steps (at "
            f"{user_location()})."
        )
    length = operator.index(length)
    init_leaves, carry_tree = tree_flatten(init)
    x_avals = [ShapedArray(get_aval(x).shape[1:], get_aval(x).dtype) for x in x_leaves]
    x_slice = tree_unflatten(x_tree, x_leaves)  # a stand-in with the right structure

    def body(carry, x):
        out = f(carry, x)
        if not isinstance(out, (tuple, list)) or len(out) != 2:
            what = "an array" if isinstance(out, Tracer) else type(out).__name__
            raise TypeError(
                f"scan: {_fun_name(f)} must return a pair (carry, y), got {what} (at "
                f"{user_location()})."
            )
        return tuple(out)

    while True:
        carry_avals = [get_aval(x) for x in init_leaves]
        carry = tree_unflatten(carry_tree, init_leaves)
        closed, out_tree = _trace_body(
            body, (carry, x_slice), [*carry_avals, *x_avals], f"{_fun_name(f)} of scan"
        )
        carry_out_tree, y_tree = out_tree.children()
        carry_out_avals = closed.out_avals[: carry_out_tree.num_leaves]
        if carry_out_tree != carry_tree or not _same_types(carry_out_avals, carry_avals):
            raise _carry_error("scan", f, carry_tree, carry_avals, carry_out_tree, carry_out_avals)
        retrace = _settle_weak_carry(init_leaves, carry_out_avals)
        if retrace is None:
            break
        init_leaves = retrace
    n_carry = len(init_leaves)
    body, consts = hoist_consts(closed)
    outs = scan_p.bind(
        *consts,
        *init_leaves,
        *x_leaves,
        jaxpr=body,
        num_consts=len(consts),
        num_carry=n_carry,
        length=length,
        reverse=bool(reverse),
        unroll=int(unroll),
    )
    return tree_unflatten(carry_tree, outs[:n_carry]), tree_unflatten(y_tree, outs[n_carry:])


def _scan_params(jaxpr, num_consts, num_carry, length, reverse, unroll) -> dict:
    return dict(
        jaxpr=jaxpr,
        num_consts=num_consts,
        num_carry=num_carry,
        length=length,
        reverse=reverse,
        unroll=unroll,
    )


def _scan_jvp(primals, tangents, *, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, carry, xs = _split_list(primals, [num_consts, num_carry])
    nonzero = [type(t) is not ad.Zero for t in tangents]
    consts_nz, carry_nz, xs_nz = _split_list(nonzero, [num_consts, num_carry])
    n_ys = len(jaxpr.out_avals) - num_carry
    while True:
        _, out_nz = ad.jvp_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys)
        new = [a or b for a, b in zip(carry_nz, out_nz[:num_carry])]
        if new == carry_nz:
            break
        carry_nz = new
    body_jvp, out_nz = ad.jvp_jaxpr(jaxpr, consts_nz + carry_nz + xs_nz, carry_nz + [False] * n_ys)
    carry_nz, ys_nz = out_nz[:num_carry], out_nz[num_carry:]
    body_jvp, jvp_consts = hoist_consts(body_jvp)
    n_jc, n_c, n_x = len(jvp_consts), num_carry, len(xs)
    n_ct, n_t, n_xt = sum(consts_nz), sum(carry_nz), sum(xs_nz)
    # body_jvp takes (jvp consts, consts, carry, xs, const/carry/xs tangents) and gives
    # (carry, ys, carry tangents, ys tangents).
    base = n_jc + num_consts + n_c + n_x
    in_order = [
        *range(n_jc + num_consts),
        *range(base, base + n_ct),
        *range(n_jc + num_consts, n_jc + num_consts + n_c),
        *range(base + n_ct, base + n_ct + n_t),
        *range(n_jc + num_consts + n_c, base),
        *range(base + n_ct + n_t, base + n_ct + n_t + n_xt),
    ]
    n_ysj = sum(ys_nz)
    out_order = [
        *range(n_c),
        *range(n_c + n_ys, n_c + n_ys + n_t),
        *range(n_c, n_c + n_ys),
        *range(n_c + n_ys + n_t, n_c + n_ys + n_t + n_ysj),
    ]
    body = _reorder(body_jvp, in_order, out_order)
    consts_t, carry_t, xs_t = _split_list(tangents, [num_consts, num_carry])
    outs = scan_p.bind(
        *jvp_consts,
        *consts,
        *[t for t, nz in zip(consts_t, consts_nz) if nz],
        *carry,
        *[ad.instantiate(t) for t, nz in zip(carry_t, carry_nz) if nz],
        *xs,
        *[t for t, nz in zip(xs_t, xs_nz) if nz],
        **_scan_params(body, n_jc + num_consts + n_ct, n_c + n_t, length, reverse, unroll),
    )
    carry_out, carry_t_out, ys, ys_t = _split_list(outs, [n_c, n_t, n_ys])
    out_avals = _scan_abstract_eval(
        *[get_aval(p) for p in primals],
        **_scan_params(jaxpr, num_consts, num_carry, length, reverse, unroll),
    )
    rest_c, rest_y = iter(carry_t_out), iter(ys_t)
    tangents_out = [
        next(rest_c) if nz else ad.Zero(ad.tangent_aval(a))
        for nz, a in zip(carry_nz, out_avals[:n_c])
    ] + [
        next(rest_y) if nz else ad.Zero(ad.tangent_aval(a)) for nz, a in zip(ys_nz, out_avals[n_c:])
    ]
    return [*carry_out, *ys], tangents_out


ad.primitive_jvps[scan_p] = _scan_jvp


def _scan_partial_eval(eqn: JaxprEqn, unknown_inputs: Sequence[bool]):
    params = eqn.params
    jaxpr, num_consts, num_carry = params["jaxpr"], params["num_consts"], params["num_carry"]
    length = params["length"]
    consts_uk, carry_uk, xs_uk = _split_list(list(unknown_inputs), [num_consts, num_carry])
    n_ys = len(jaxpr.out_avals) - num_carry
    while True:
        _, _, out_uk, _ = ad.split_jaxpr(
            jaxpr, consts_uk + carry_uk + xs_uk, carry_uk + [False] * n_ys
        )
        new = [a or b for a, b in zip(carry_uk, out_uk[:num_carry])]
        if new == carry_uk:
            break
        carry_uk = new
    known, unknown, out_uk, num_res = ad.split_jaxpr(
        jaxpr, consts_uk + carry_uk + xs_uk, carry_uk + [False] * n_ys
    )
    ys_uk = out_uk[num_carry:]
    body = jaxpr.jaxpr
    const_vars = body.invars[:num_consts]
    known_const_vars = [v for v, uk in zip(const_vars, consts_uk) if not uk]
    outer_const = dict(zip(const_vars, eqn.invars[:num_consts]))
    residuals = known.jaxpr.outvars[len(known.jaxpr.outvars) - num_res :]
    consts, init, xs = _split_list(list(eqn.invars), [num_consts, num_carry])
    outer_xs = dict(zip(body.invars[num_consts + num_carry :], xs))
    # A residual that is a loop-invariant operand reaches the unknown scan as itself, one
    # that is a slice of an xs operand as that operand; only the others are stacked by
    # the known scan, one per step.
    forwarded = [r in known_const_vars for r in residuals]
    n_known_outs = len(known.jaxpr.outvars) - num_res
    emitted = [r for r, f in zip(residuals, forwarded) if not f and r not in outer_xs]
    known_body = Jaxpr(
        (), known.jaxpr.invars, (*known.jaxpr.outvars[:n_known_outs], *emitted), known.jaxpr.eqns
    )
    stacked_vars = {r: Var(ShapedArray((length, *r.aval.shape), r.aval.dtype)) for r in emitted}
    stacked = [
        outer_xs[r] if r in outer_xs else stacked_vars[r]
        for r, f in zip(residuals, forwarded)
        if not f
    ]
    carry_outs, ys_outs = _split_list(list(eqn.outvars), [num_carry])
    known_eqn = JaxprEqn(
        scan_p,
        (
            *[v for v, uk in zip(consts, consts_uk) if not uk],
            *[v for v, uk in zip(init, carry_uk) if not uk],
            *[v for v, uk in zip(xs, xs_uk) if not uk],
        ),
        (
            *[v for v, uk in zip(carry_outs, carry_uk) if not uk],
            *[v for v, uk in zip(ys_outs, ys_uk) if not uk],
            *stacked_vars.values(),
        ),
        {
            **params,
            "jaxpr": ClosedJaxpr(known_body, ()),
            "num_consts": len(known_const_vars),
            "num_carry": carry_uk.count(False),
        },
        eqn.source_info,
    )
    # The unknown body takes (residuals, unknown consts, carry, xs); the scan wants
    # (forwarded residuals, unknown consts), carry, (stacked residuals, unknown xs).
    n_ukc, n_ukcarry = consts_uk.count(True), carry_uk.count(True)
    fwd_idx = [i for i, f in enumerate(forwarded) if f]
    stk_idx = [i for i, f in enumerate(forwarded) if not f]
    in_order = [
        *fwd_idx,
        *range(num_res, num_res + n_ukc),
        *range(num_res + n_ukc, num_res + n_ukc + n_ukcarry),
        *stk_idx,
        *range(num_res + n_ukc + n_ukcarry, len(unknown.invars)),
    ]
    unknown_body = _reorder(ClosedJaxpr(unknown, ()), in_order, range(len(unknown.outvars)))
    unknown_outs = [
        *[v for v, uk in zip(carry_outs, carry_uk) if uk],
        *[v for v, uk in zip(ys_outs, ys_uk) if uk],
    ]
    unknown_eqn = JaxprEqn(
        scan_p,
        (
            *[outer_const[residuals[i]] for i in fwd_idx],
            *[v for v, uk in zip(consts, consts_uk) if uk],
            *[v for v, uk in zip(init, carry_uk) if uk],
            *stacked,
            *[v for v, uk in zip(xs, xs_uk) if uk],
        ),
        tuple(unknown_outs),
        {
            **params,
            "jaxpr": unknown_body,
            "num_consts": len(fwd_idx) + n_ukc,
            "num_carry": n_ukcarry,
        },
        eqn.source_info,
    )
    return known_eqn, unknown_eqn, unknown_outs


ad.partial_eval_rules[scan_p] = _scan_partial_eval


def _scan_transpose(cts, *operands, jaxpr, num_consts, num_carry, length, reverse, unroll):
    consts, init, xs = _split_list(operands, [num_consts, num_carry])
    consts_lin = [isinstance(c, ad.UndefinedPrimal) for c in consts]
    xs_lin = [isinstance(x, ad.UndefinedPrimal) for x in xs]
    # Carries are linear in a linear scan; a carry whose initial value is known is one
    # forced into the linear part, whose cotangent nobody asks for.
    linear_flags = consts_lin + [True] * num_carry + xs_lin
    res_consts = [c for c, lin in zip(consts, consts_lin) if not lin]
    res_xs = [x for x, lin in zip(xs, xs_lin) if not lin]
    body_avals = jaxpr.in_avals
    lin_const_avals = [a for a, lin in zip(body_avals[:num_consts], consts_lin) if lin]
    carry_avals = body_avals[num_consts : num_consts + num_carry]
    x_avals = body_avals[num_consts + num_carry :]
    res_x_avals = [a for a, lin in zip(x_avals, xs_lin) if not lin]
    y_avals = jaxpr.out_avals[num_carry:]
    cts = [ad.instantiate(ct) for ct in cts]
    ct_carry, ct_ys = cts[:num_carry], cts[num_carry:]
    transposed = _transpose_body(jaxpr, linear_flags)
    n_rc, n_lc, n_rx = len(res_consts), len(lin_const_avals), len(res_x_avals)

    def step(*args):
        res_c, acc, carry_ct, res_x, y_ct = _split_list(args, [n_rc, n_lc, num_carry, n_rx])
        # backward_pass wants residuals in the body's input order: consts then xs.
        in_cts = transposed(*res_c, *res_x, *carry_ct, *y_ct)
        const_cts, carry_in_cts, x_cts = _split_list(in_cts, [n_lc, num_carry])
        new_acc = [ad.add_tangents(a, c) for a, c in zip(acc, const_cts)]
        return [*new_acc, *carry_in_cts, *x_cts]

    in_avals = [
        *[get_aval(c) for c in res_consts],
        *[ad.tangent_aval(a) for a in lin_const_avals],
        *[ad.tangent_aval(a) for a in carry_avals],
        *res_x_avals,
        *[ad.tangent_aval(a) for a in y_avals],
    ]
    body, body_consts = _trace(step, in_avals, "scan transpose")
    zeros = [_zeros_like_aval(ad.tangent_aval(a)) for a in lin_const_avals]
    outs = scan_p.bind(
        *body_consts,
        *res_consts,
        *zeros,
        *ct_carry,
        *res_xs,
        *ct_ys,
        **_scan_params(
            body, len(body_consts) + n_rc, n_lc + num_carry, length, not reverse, unroll
        ),
    )
    const_cts, init_cts, x_cts = _split_list(outs, [n_lc, num_carry])
    const_iter, x_iter = iter(const_cts), iter(x_cts)
    return (
        [next(const_iter) if lin else None for lin in consts_lin]
        + [ct if isinstance(op, ad.UndefinedPrimal) else None for ct, op in zip(init_cts, init)]
        + [next(x_iter) if lin else None for lin in xs_lin]
    )


ad.primitive_transposes[scan_p] = _scan_transpose


def _scan_batch(trace, values, dims, *, jaxpr, num_consts, num_carry, length, reverse, unroll):
    params = _scan_params(jaxpr, num_consts, num_carry, length, reverse, unroll)
    n_ys = len(jaxpr.out_avals) - num_carry
    if all(d is None for d in dims):
        return scan_p.bind(*values, **params), [None] * (num_carry + n_ys)
    size, name = trace.axis_size, trace.axis_name
    consts_b, carry_b, xs_b = _split_list([d is not None for d in dims], [num_consts, num_carry])
    while True:
        _, out_b = batching.batch_jaxpr_axes(
            jaxpr, size, consts_b + carry_b + xs_b, carry_b + [False] * n_ys, name
        )
        new = [a or b for a, b in zip(carry_b, out_b[:num_carry])]
        if new == carry_b:
            break
        carry_b = new
    body, out_b = batching.batch_jaxpr_axes(
        jaxpr, size, consts_b + carry_b + xs_b, carry_b + [False] * n_ys, name
    )
    body, body_consts = hoist_consts(body)
    consts, carry, xs = _split_list(values, [num_consts, num_carry])
    consts_d, carry_d, xs_d = _split_list(dims, [num_consts, num_carry])
    consts = [
        batching.move_axis(v, d, 0, size) if b else v for v, d, b in zip(consts, consts_d, consts_b)
    ]
    carry = [
        batching.move_axis(v, d, 0, size) if b else v for v, d, b in zip(carry, carry_d, carry_b)
    ]
    # The scan axis stays first: a batched xs gets its batch axis second, so each step's
    # slice has it first, and batched ys come out with it second.
    xs = [batching.move_axis(v, d, 1, size) if b else v for v, d, b in zip(xs, xs_d, xs_b)]
    outs = scan_p.bind(
        *body_consts,
        *consts,
        *carry,
        *xs,
        **_scan_params(body, len(body_consts) + num_consts, num_carry, length, reverse, unroll),
    )
    out_dims = [0 if b else None for b in carry_b] + [1 if b else None for b in out_b[num_carry:]]
    return outs, out_dims


batching.trace_rules[scan_p] = _scan_batch


def _scan_dce(eqn: JaxprEqn, used_outputs: Sequence[bool]) -> JaxprEqn:
    """Drop unused stacked outputs, carries that neither reach a used output nor feed
    another live carry, and operands the body no longer reads."""
    params = eqn.params
    body, num_consts, num_carry = params["jaxpr"].jaxpr, params["num_consts"], params["num_carry"]
    used_carry, used_ys = list(used_outputs[:num_carry]), list(used_outputs[num_carry:])
    carry_in = body.invars[num_consts : num_consts + num_carry]
    while True:
        pruned = dce_jaxpr(body, used_carry + used_ys)
        read = _reads(pruned)
        new = [u or v in read for u, v in zip(used_carry, carry_in)]
        if new == used_carry:
            break
        used_carry = new
    keep_in = [
        v in read or num_consts <= i < num_consts + num_carry and used_carry[i - num_consts]
        for i, v in enumerate(body.invars)
    ]
    used = used_carry + used_ys
    if all(keep_in) and all(used):
        return eqn
    consts_keep, carry_keep, _ = _split_list(keep_in, [num_consts, num_carry])
    new_body = Jaxpr(
        (), tuple(v for v, k in zip(body.invars, keep_in) if k), pruned.outvars, pruned.eqns
    )
    return JaxprEqn(
        scan_p,
        tuple(v for v, k in zip(eqn.invars, keep_in) if k),
        tuple(v for v, u in zip(eqn.outvars, used) if u),
        {
            **params,
            "jaxpr": ClosedJaxpr(new_body, ()),
            "num_consts": sum(consts_keep),
            "num_carry": sum(carry_keep),
        },
        eqn.source_info,
    )


dce_rules[scan_p] = _scan_dce


def fori_loop(lower, upper, body_fun: Callable, init_val, *, unroll: int | bool | None = None):
    """`val = body_fun(i, val)` for `i` from `lower` to `upper - 1`; returns the final `val`.

    With Python (concrete) bounds the loop is a `scan` of `upper - lower` steps, so it is
    differentiable in reverse mode; with traced bounds it is a `while_loop`.

    >>> lax.fori_loop(0, 5, lambda i, total: total + i, 0)      # doctest: +SKIP
    Array(10, dtype=int32, weak_type=True)
    """
    if not callable(body_fun):
        raise TypeError(f"fori_loop: body_fun must be callable (at {user_location()}).")
    for bound in (lower, upper):
        aval = get_aval(bound)
        if aval.shape != () or not dtypes.is_integer(aval.dtype):
            raise TypeError(
                f"fori_loop: lower and upper must be integer scalars, got {aval.str_short()} "
                f"(at {user_location()}). Pass Python ints (fori_loop(0, 10, ...)) or integer "
                "arrays (n.astype(jnp.int32)); for a float range, loop over an integer counter "
                "and compute the float from it."
            )
    dtype = np.result_type(get_aval(lower).dtype, get_aval(upper).dtype)
    dtype = dtypes.canonicalize_dtype(dtype)
    # With Python int bounds the counter is weakly typed, as in JAX.
    weak = get_aval(lower).weak_type and get_aval(upper).weak_type
    if not isinstance(lower, Tracer) and not isinstance(upper, Tracer):
        from funcgrad.lax.elementwise import convert_element_type_p

        start, stop = int(np.asarray(lower)), int(np.asarray(upper))
        # The counter is scanned over rather than carried: the loop's only carry is the
        # user's, and the counter never needs a tangent.
        indices = np.arange(start, max(start, stop), dtype=dtype)

        def counter(i):
            if not weak:
                return i
            return convert_element_type_p.bind(i, new_dtype=dtype, weak_type=True)

        result, _ = scan(
            lambda value, i: (body_fun(counter(i), value), None),
            init_val,
            indices,
            unroll=1 if unroll is None else unroll,
        )
        return result
    from funcgrad.lax.elementwise import convert_element_type, lt

    if not weak:
        lower = convert_element_type(lower, dtype)
        upper = convert_element_type(upper, dtype)

    def while_body(carry):
        i, stop, value = carry
        return i + 1, stop, body_fun(i, value)

    return while_loop(lambda c: lt(c[0], c[1]), while_body, (lower, upper, init_val))[2]


def map(f: Callable, xs):
    """`f` applied to each slice of `xs` along its leading axis, the results stacked, as
    one staged loop (a `scan` without carry).

    >>> lax.map(lambda row: row.sum(), jnp.ones((3, 4)))        # doctest: +SKIP
    Array([4., 4., 4.], dtype=float32)
    """
    if not callable(f):
        raise TypeError(f"map: f must be callable, got {type(f).__name__} (at {user_location()}).")
    return scan(lambda carry, x: (carry, f(x)), (), xs)[1]
