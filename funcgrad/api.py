"""The public transforms: make_jaxpr, eval_shape, jvp, vjp, grad, value_and_grad; vmap
and jit join them with their issues. Each flattens pytree arguments, traces a flat function and
rebuilds the output tree."""

from __future__ import annotations

import dataclasses
import functools
from typing import Callable, Sequence

import numpy as np

from funcgrad.compiler.jit import jit
from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, eval_jaxpr
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.interpreters import ad, batching
from funcgrad.interpreters.custom_derivatives import custom_jvp, custom_vjp
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.interpreters.remat import checkpoint, remat
from funcgrad.tree_util import (
    keystr,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_structure,
    tree_unflatten,
    treedef_is_leaf,
)

__all__ = [
    "make_jaxpr",
    "eval_shape",
    "ShapeDtypeStruct",
    "jvp",
    "vjp",
    "linearize",
    "grad",
    "value_and_grad",
    "jacfwd",
    "jacrev",
    "hessian",
    "custom_jvp",
    "custom_vjp",
    "checkpoint",
    "remat",
    "vmap",
    "jit",
]


class ShapeDtypeStruct:
    """A shape and dtype standing in for an array (what eval_shape returns)."""

    __slots__ = ("shape", "dtype", "weak_type")

    def __init__(self, shape, dtype, weak_type: bool = False):
        self.shape = tuple(shape)
        self.dtype = np.dtype(dtype)
        self.weak_type = weak_type

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, ShapeDtypeStruct)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and self.weak_type == other.weak_type
        )

    def __hash__(self) -> int:
        return hash((self.shape, self.dtype, self.weak_type))

    def __repr__(self) -> str:
        weak = ", weak_type=True" if self.weak_type else ""
        return f"ShapeDtypeStruct(shape={self.shape}, dtype={self.dtype.name}{weak})"


def _static_argnums(static_argnums) -> tuple[int, ...]:
    if isinstance(static_argnums, int):
        return (static_argnums,)
    return tuple(static_argnums)


def _fun_name(fun: Callable) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _split_static(transform: str, fun: Callable, args: tuple, static: Sequence[int]):
    """The traced arguments, their original positions, and how to put the static ones back."""
    for index in static:
        if not -len(args) <= index < len(args):
            raise ValueError(
                f"{transform}({_fun_name(fun)}): static_argnums contains {index}, but the "
                f"function was called with {len(args)} positional arguments (at "
                f"{user_location()})."
            )
    static = {i % len(args) for i in static}
    positions = [i for i in range(len(args)) if i not in static]

    def merge(dynamic_values):
        merged = list(args)
        for position, value in zip(positions, dynamic_values):
            merged[position] = value
        return merged

    return tuple(args[i] for i in positions), positions, merge


def _argument_name(path, positions) -> str:
    group, key, rest = path[0].idx, path[1], keystr(path[2:])
    if group == 0:
        return f"argument {positions[key.idx]}{' at ' + rest if rest else ''}"
    return f"keyword argument {key.key!r}{' at ' + rest if rest else ''}"


def _abstractify(transform: str, fun: Callable, leaves_with_paths, positions) -> list[ShapedArray]:
    avals = []
    for path, leaf in leaves_with_paths:
        if isinstance(leaf, ShapeDtypeStruct):
            avals.append(ShapedArray(leaf.shape, leaf.dtype, leaf.weak_type))
            continue
        try:
            avals.append(get_aval(leaf))
        except TypeError:
            raise TypeError(
                f"{transform}({_fun_name(fun)}): {_argument_name(path, positions)} is a "
                f"{type(leaf).__name__} ({str(leaf)[:40]!r}), not an array (at "
                f"{user_location()}). Only arrays and Python scalars can be traced: mark the "
                "argument static with static_argnums, or close over it instead of passing it."
            ) from None
    return avals


def _check_output(transform: str, fun: Callable, path, leaf) -> None:
    if isinstance(leaf, Tracer):
        return
    try:
        get_aval(leaf)
    except TypeError:
        raise TypeError(
            f"{transform}({_fun_name(fun)}): output {keystr(path) or '(the whole output)'} is a "
            f"{type(leaf).__name__} ({str(leaf)[:40]!r}), not an array. A transformed function "
            "must return arrays, Python scalars, or pytrees of them."
        ) from None


def _trace(transform: str, fun: Callable, static: Sequence[int], args, kwargs):
    """Trace fun on abstract versions of (args, kwargs): the ClosedJaxpr and output treedef."""
    dynamic, positions, merge = _split_static(transform, fun, args, static)
    with_paths, in_tree = tree_flatten_with_path((dynamic, kwargs))
    in_avals = _abstractify(transform, fun, with_paths, positions)
    out_trees = []

    def flat_fun(*tracers):
        dyn_args, dyn_kwargs = tree_unflatten(in_tree, tracers)
        out_with_paths, out_tree = tree_flatten_with_path(fun(*merge(dyn_args), **dyn_kwargs))
        for path, leaf in out_with_paths:
            _check_output(transform, fun, path, leaf)
        out_trees.append(out_tree)
        return [leaf for _, leaf in out_with_paths]

    origin = f"{transform} of {_fun_name(fun)} at {user_location()}"
    closed = trace_to_jaxpr(flat_fun, in_avals, origin)
    return closed, out_trees[0]


def make_jaxpr(
    fun: Callable, static_argnums: int | Sequence[int] = ()
) -> Callable[..., ClosedJaxpr]:
    """A function that traces `fun` on the given arguments and returns its ClosedJaxpr.

    >>> make_jaxpr(jnp.sin)(jnp.ones(3))                      # doctest: +SKIP
    { lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }
    """
    static = _static_argnums(static_argnums)

    @functools.wraps(fun)
    @api_boundary
    def make(*args, **kwargs) -> ClosedJaxpr:
        closed, _ = _trace("make_jaxpr", fun, static, args, kwargs)
        return closed

    return make


@api_boundary
def eval_shape(fun: Callable, *args, **kwargs):
    """The shapes and dtypes `fun(*args, **kwargs)` would return, without computing it.

    Arguments may be arrays, Python scalars or ShapeDtypeStructs (pytrees of them).
    """
    closed, out_tree = _trace("eval_shape", fun, (), args, kwargs)
    return tree_unflatten(
        out_tree, [ShapeDtypeStruct(a.shape, a.dtype, a.weak_type) for a in closed.out_avals]
    )


# ---------------------------------------------------------------------------------------
# Differentiation


def _flat_primals(transform: str, fun: Callable, primals) -> tuple[list, object, list]:
    with_paths, in_tree = tree_flatten_with_path(tuple(primals))
    avals = _abstractify(
        transform, fun, [(path, leaf) for path, leaf in with_paths], list(range(len(primals)))
    )
    leaves = [leaf for _, leaf in with_paths]
    return leaves, in_tree, avals


@api_boundary
def jvp(fun: Callable, primals, tangents, has_aux: bool = False):
    """Forward mode: `(fun(*primals), d fun(primals) · tangents)`.

    >>> jvp(jnp.sin, (0.0,), (1.0,))                  # doctest: +SKIP
    (Array(0., dtype=float32, weak_type=True), Array(1., dtype=float32, weak_type=True))
    """
    if not isinstance(primals, (tuple, list)) or not isinstance(tangents, (tuple, list)):
        raise TypeError(
            f"jvp({_fun_name(fun)}): primals and tangents must be tuples or lists of arguments, "
            f"got {type(primals).__name__} and {type(tangents).__name__} (at {user_location()}); "
            "write jvp(f, (x,), (t,)) for one argument."
        )
    flat_p, in_tree, avals = _flat_primals("jvp", fun, primals)
    flat_t, tangent_tree = tree_flatten(tuple(tangents))
    if tangent_tree != in_tree:
        raise TypeError(
            f"jvp({_fun_name(fun)}): primals and tangents must have the same tree structure, "
            f"got {in_tree} and {tangent_tree} (at {user_location()})."
        )
    flat_t = [
        _jvp_tangent(fun, index, aval, t) for index, (aval, t) in enumerate(zip(avals, flat_t))
    ]
    out_trees = []

    def flat_fun(*args):
        out = fun(*tree_unflatten(in_tree, args))
        if has_aux:
            out, aux = _check_aux_pair("jvp", fun, out)
            out_trees.append(tree_structure(aux))
        flat_out, out_tree = tree_flatten(out)
        out_trees.insert(0, out_tree)
        return flat_out + (tree_leaves(aux) if has_aux else [])

    origin = f"jvp of {_fun_name(fun)} at {user_location()}"
    out_p, out_t = ad.jvp_flat(flat_fun, flat_p, flat_t, origin)
    out_tree = out_trees[0]
    n_out = out_tree.num_leaves
    primal_out = tree_unflatten(out_tree, out_p[:n_out])
    tangent_out = tree_unflatten(out_tree, [_output_tangent(t) for t in out_t[:n_out]])
    if has_aux:
        return primal_out, tangent_out, tree_unflatten(out_trees[1], out_p[n_out:])
    return primal_out, tangent_out


def _is_float0(value) -> bool:
    return isinstance(value, (np.ndarray, np.generic)) and value.dtype == dtypes.float0


def _jvp_tangent(fun: Callable, index: int, aval: ShapedArray, tangent):
    """Check one tangent against its primal; integer primals take float0 (symbolic zero)."""
    t_shape = np.shape(tangent) if _is_float0(tangent) else get_aval(tangent).shape
    if t_shape != aval.shape:
        raise ValueError(
            f"jvp({_fun_name(fun)}): tangent {index} has shape {t_shape} but its primal has "
            f"shape {aval.shape} (at {user_location()}); they must match."
        )
    if not dtypes.is_inexact(aval.dtype):
        if not _is_float0(tangent):
            raise TypeError(
                f"jvp({_fun_name(fun)}): primal {index} is {aval.dtype.name}, so its tangent "
                f"must have dtype float0, got {get_aval(tangent).dtype.name} (at "
                f"{user_location()}). Pass np.zeros(shape, dtype=funcgrad.dtypes.float0)."
            )
        return ad.Zero(ShapedArray(aval.shape, aval.dtype))
    t_dtype = None if _is_float0(tangent) else get_aval(tangent).dtype
    if t_dtype != aval.dtype:
        raise TypeError(
            f"jvp({_fun_name(fun)}): tangent {index} has dtype "
            f"{'float0' if t_dtype is None else t_dtype.name} but its primal has dtype "
            f"{aval.dtype.name} (at {user_location()}); they must be equal."
        )
    return tangent


def _output_tangent(tangent):
    """A tangent as the user receives it: float0 zeros for integer and bool values."""
    aval = tangent.aval if type(tangent) is ad.Zero else get_aval(tangent)
    if not dtypes.is_inexact(aval.dtype):
        return np.zeros(aval.shape, dtypes.float0)
    return ad.instantiate(tangent)


def _check_aux_pair(transform: str, fun: Callable, out):
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        raise TypeError(
            f"{transform}({_fun_name(fun)}, has_aux=True): the function must return a pair "
            f"(output, auxiliary_data), got {type(out).__name__} (at {user_location()})."
        )
    return out


@dataclasses.dataclass
class _Linearized:
    """fun split at `primals` into values computed now and a linear jaxpr for later."""

    outputs: list  # flat primal outputs
    aux: list  # flat auxiliary outputs (has_aux)
    out_tree: object
    aux_tree: object
    in_tree: object
    in_avals: list
    out_avals: list
    linear: Jaxpr  # residuals, then input tangents -> output tangents
    residuals: list


def _linearize(
    transform: str, fun: Callable, primals, has_aux: bool, need_outputs: bool = True
) -> _Linearized:
    """Split fun at primals; without `need_outputs` the primal outputs are not computed
    (grad discards them), only the auxiliary data and the residuals."""
    flat_p, in_tree, avals = _flat_primals(transform, fun, primals)
    n_in = len(flat_p)
    trees = {"aux": None}

    def flat_fun(*args):
        out = fun(*tree_unflatten(in_tree, args))
        aux_leaves = []
        if has_aux:
            out, aux = _check_aux_pair(transform, fun, out)
            aux_leaves, trees["aux"] = tree_flatten(aux)
        flat_out, trees["out"] = tree_flatten(out)
        return flat_out + aux_leaves

    def jvp_fun(*args):
        out_p, out_t = ad.jvp_flat(flat_fun, args[:n_in], args[n_in:], origin)
        n_out = trees["out"].num_leaves
        return [*out_p, *map(ad.instantiate, out_t[:n_out])]

    origin = f"{transform} of {_fun_name(fun)} at {user_location()}"
    tangent_avals = [ShapedArray(a.shape, a.dtype) for a in avals]
    closed = trace_to_jaxpr(jvp_fun, [*avals, *tangent_avals], origin)
    n_out = trees["out"].num_leaves
    n_primal_out = len(closed.jaxpr.outvars) - n_out
    known, linear, _ = ad.partial_eval_jaxpr(closed, [False] * n_in + [True] * n_in, n_primal_out)
    if not need_outputs:
        used = [False] * n_out + [True] * (len(known.jaxpr.outvars) - n_out)
        pruned = dce_jaxpr(known.jaxpr, used)
        known = ClosedJaxpr(pruned, known.consts)
    results = eval_jaxpr(known.jaxpr, known.consts, *flat_p)
    if not need_outputs:
        results = [None] * n_out + results
    return _Linearized(
        outputs=results[:n_out],
        aux=results[n_out:n_primal_out],
        out_tree=trees["out"],
        aux_tree=trees["aux"],
        in_tree=in_tree,
        in_avals=avals,
        out_avals=closed.out_avals[:n_out],
        linear=linear,
        residuals=results[n_primal_out:],
    )


def _check_like(what: str, fun: Callable, values, tree, avals):
    flat, value_tree = tree_flatten(values)
    if value_tree != tree:
        raise TypeError(
            f"{what} of {_fun_name(fun)}: expected the structure {tree}, got {value_tree} (at "
            f"{user_location()})."
        )
    for index, (aval, value) in enumerate(zip(avals, flat)):
        if get_aval(value).shape != aval.shape:
            raise ValueError(
                f"{what} of {_fun_name(fun)}: leaf {index} has shape {get_aval(value).shape} but "
                f"should have shape {aval.shape} (at {user_location()})."
            )
    return flat


@api_boundary
def vjp(fun: Callable, *primals, has_aux: bool = False):
    """Reverse mode: `(fun(*primals), vjp_fun)` where `vjp_fun(cotangent)` gives one
    cotangent per primal. The primal work runs now; `vjp_fun` runs only the linear part.
    """
    lin = _linearize("vjp", fun, primals, has_aux)

    def vjp_fun(cotangent):
        flat_ct = _check_like(
            "the cotangent given to vjp_fun", fun, cotangent, lin.out_tree, lin.out_avals
        )
        cts = ad.backward_pass(lin.linear, lin.residuals, flat_ct)
        cts = [
            _output_tangent(ct)
            if not dtypes.is_inexact(aval.dtype)
            else _cast_like(ad.instantiate(ct), aval)
            for ct, aval in zip(cts, lin.in_avals)
        ]
        return tree_unflatten(lin.in_tree, cts)

    out = tree_unflatten(lin.out_tree, lin.outputs)
    if has_aux:
        return out, api_boundary(vjp_fun), tree_unflatten(lin.aux_tree, lin.aux)
    return out, api_boundary(vjp_fun)


@api_boundary
def linearize(fun: Callable, *primals, has_aux: bool = False):
    """`(fun(*primals), f_jvp)` where `f_jvp(*tangents)` is the linear map at `primals`,
    evaluated from stored residuals without re-running the primal computation."""
    lin = _linearize("linearize", fun, primals, has_aux)

    def f_jvp(*tangents):
        flat_t = _check_like(
            "the tangents given to f_jvp", fun, tuple(tangents), lin.in_tree, lin.in_avals
        )
        outs = eval_jaxpr(lin.linear, (), *lin.residuals, *flat_t)
        return tree_unflatten(lin.out_tree, outs)

    out = tree_unflatten(lin.out_tree, lin.outputs)
    if has_aux:
        return out, api_boundary(f_jvp), tree_unflatten(lin.aux_tree, lin.aux)
    return out, api_boundary(f_jvp)


def _cast_like(value, aval: ShapedArray):
    from funcgrad.lax.elementwise import convert_element_type_p

    value_aval = get_aval(value)
    if value_aval.dtype == aval.dtype and value_aval.weak_type == aval.weak_type:
        return value
    return convert_element_type_p.bind(value, new_dtype=aval.dtype, weak_type=aval.weak_type)


def _argnums_tuple(fun: Callable, argnums, nargs: int, transform: str) -> tuple[int, ...]:
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not isinstance(n, int) or not -nargs <= n < nargs:
            raise ValueError(
                f"{transform}({_fun_name(fun)}): argnums={argnums!r} is out of range for a call "
                f"with {nargs} positional arguments (at {user_location()}). Number the "
                f"arguments to differentiate from 0 to {nargs - 1}, and pass them positionally."
            )
    return tuple(n % nargs for n in nums)


def _gradient(fun: Callable, argnums, has_aux: bool, need_value: bool):
    """The function behind grad and value_and_grad: (value or None, aux or None, grads)."""

    def gradient(*args, **kwargs):
        nums = _argnums_tuple(fun, argnums, len(args), "grad")
        for n in nums:
            for leaf in tree_leaves(args[n]):
                dtype = get_aval(leaf).dtype
                if not dtypes.is_inexact(dtype):
                    raise TypeError(
                        f"grad({_fun_name(fun)}) requires real- or complex-valued inputs, but "
                        f"argument {n} holds {dtype.name} (at {user_location()}). Differentiate "
                        "with respect to float arrays, or move this argument out of argnums."
                    )

        def partial(*diff_args):
            full = list(args)
            for n, value in zip(nums, diff_args):
                full[n] = value
            return fun(*full, **kwargs)

        lin = _linearize("grad", partial, tuple(args[n] for n in nums), has_aux, need_value)
        out_aval = lin.out_avals[0] if lin.out_tree.num_leaves == 1 else None
        if (
            out_aval is None
            or not treedef_is_leaf(lin.out_tree)
            or out_aval.shape != ()
            or not dtypes.is_float(out_aval.dtype)
        ):
            what = (
                f"shape {out_aval.shape} and dtype {out_aval.dtype.name}"
                if out_aval is not None and treedef_is_leaf(lin.out_tree)
                else f"structure {lin.out_tree}"
            )
            raise TypeError(
                f"grad({_fun_name(fun)}): the gradient is defined only for functions with a "
                f"real scalar output, but the output has {what} (at {user_location()}). "
                "Reduce it (e.g. .sum()), or use vjp or jacrev."
            )
        from funcgrad.lax.operands import scalar_array

        cts = ad.backward_pass(
            lin.linear, lin.residuals, [scalar_array(1.0, out_aval.dtype, False)]
        )
        cts = [_cast_like(ad.instantiate(ct), aval) for ct, aval in zip(cts, lin.in_avals)]
        grads = tree_unflatten(lin.in_tree, cts)
        grads = grads[0] if isinstance(argnums, int) else tuple(grads)
        value = lin.outputs[0] if need_value else None
        aux = tree_unflatten(lin.aux_tree, lin.aux) if has_aux else None
        return value, aux, grads

    return gradient


def value_and_grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """A function returning `(fun(*args), gradient)`; the output must be a real scalar.

    >>> value_and_grad(lambda x: (x ** 2).sum())(jnp.arange(3.0))   # doctest: +SKIP
    (Array(5., dtype=float32), Array([0., 2., 4.], dtype=float32))
    """
    gradient = _gradient(fun, argnums, has_aux, need_value=True)

    @functools.wraps(fun)
    @api_boundary
    def value_and_grad_fun(*args, **kwargs):
        value, aux, grads = gradient(*args, **kwargs)
        return ((value, aux), grads) if has_aux else (value, grads)

    return value_and_grad_fun


def grad(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The gradient of a real scalar-valued `fun` with respect to the `argnums` arguments.

    >>> grad(lambda x: (x ** 2).sum())(jnp.arange(3.0))            # doctest: +SKIP
    Array([0., 2., 4.], dtype=float32)
    """
    gradient = _gradient(fun, argnums, has_aux, need_value=False)

    @functools.wraps(fun)
    @api_boundary
    def grad_fun(*args, **kwargs):
        _, aux, grads = gradient(*args, **kwargs)
        return (grads, aux) if has_aux else grads

    return grad_fun


def _standard_basis(avals: Sequence[ShapedArray]) -> list[np.ndarray]:
    """For leaves of the given avals, the rows of one identity matrix over all their
    elements, split by leaf: leaf i gets shape (total elements, *aval_i.shape)."""
    total = sum(a.size for a in avals)
    rows, offset = [], 0
    for aval in avals:
        block = np.zeros((total, aval.size), aval.dtype)
        block[offset : offset + aval.size] = np.eye(aval.size, dtype=aval.dtype)
        rows.append(block.reshape((total, *aval.shape)))
        offset += aval.size
    return rows


def _jacobian(fun: Callable, argnums, has_aux: bool, forward: bool):
    """Jacobian by vmap of jvp over the input basis (forward) or of vjp over the output
    basis (reverse)."""
    transform = "jacfwd" if forward else "jacrev"

    @functools.wraps(fun)
    @api_boundary
    def jacobian(*args, **kwargs):
        from funcgrad.numpy.shape_ops import moveaxis, reshape

        nums = _argnums_tuple(fun, argnums, len(args), transform)
        flat_in, in_tree = tree_flatten(tuple(args[n] for n in nums))
        in_avals = [get_aval(x) for x in flat_in]
        for aval in in_avals:
            if not dtypes.is_inexact(aval.dtype):
                raise TypeError(
                    f"{transform}({_fun_name(fun)}) requires real- or complex-valued inputs, "
                    f"but an input holds {aval.dtype.name} (at {user_location()})."
                )

        def flat_fun(*leaves):
            full = list(args)
            for n, value in zip(nums, tree_unflatten(in_tree, leaves)):
                full[n] = value
            return fun(*full, **kwargs)

        if forward:

            def push(*tangents):
                return tree_leaves(jvp(flat_fun, tuple(flat_in), tangents, has_aux=has_aux)[1])

            out = flat_fun(*flat_in)
            aux = None
            if has_aux:
                out, aux = _check_aux_pair(transform, fun, out)
            out_leaves, out_tree = tree_flatten(out)
            out_avals = [get_aval(o) for o in out_leaves]
            columns = vmap(push)(*_standard_basis(in_avals))  # per output: (N_in, *out)
            blocks, offset = [], 0
            for aval in in_avals:
                part = [moveaxis(c[offset : offset + aval.size], 0, -1) for c in columns]
                blocks.append(
                    [reshape(p, (*o.shape, *aval.shape)) for p, o in zip(part, out_avals)]
                )
                offset += aval.size
            blocks = [[blocks[i][j] for i in range(len(in_avals))] for j in range(len(out_avals))]
        else:
            result = vjp(flat_fun, *flat_in, has_aux=has_aux)
            out, pullback = result[0], result[1]
            aux = result[2] if has_aux else None
            out_leaves, out_tree = tree_flatten(out)
            out_avals = [get_aval(o) for o in out_leaves]

            def pull(*cotangents):
                return list(pullback(tree_unflatten(out_tree, list(cotangents))))

            rows = vmap(pull)(*_standard_basis(out_avals))  # per input: (N_out, *in)
            blocks, offset = [], 0
            for aval in out_avals:
                blocks.append(
                    [
                        reshape(r[offset : offset + aval.size], (*aval.shape, *a.shape))
                        for r, a in zip(rows, in_avals)
                    ]
                )
                offset += aval.size
        per_output = []
        for pieces in blocks:
            structured = tree_unflatten(in_tree, pieces)
            per_output.append(structured[0] if isinstance(argnums, int) else structured)
        jac = tree_unflatten(out_tree, per_output)
        return (jac, aux) if has_aux else jac

    return jacobian


def jacfwd(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The Jacobian of `fun` by forward mode: output shape + input shape per leaf pair."""
    return _jacobian(fun, argnums, has_aux, forward=True)


def jacrev(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The Jacobian of `fun` by reverse mode: output shape + input shape per leaf pair."""
    return _jacobian(fun, argnums, has_aux, forward=False)


def hessian(fun: Callable, argnums: int | Sequence[int] = 0, has_aux: bool = False):
    """The Hessian of a scalar `fun`: forward mode over reverse mode."""
    return jacfwd(jacrev(fun, argnums, has_aux), argnums, has_aux)


# ---------------------------------------------------------------------------------------
# Vectorization


def _axes_for_leaves(transform: str, fun: Callable, axes, tree, what: str) -> list:
    """Broadcast an in_axes/out_axes prefix spec over `tree`'s leaves."""
    if axes is None or isinstance(axes, int):
        return [axes] * tree.num_leaves
    try:
        return _flatten_prefix(axes, tree)
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{transform}({_fun_name(fun)}): {what} {axes!r} does not match the structure of "
            f"the values {tree} (at {user_location()}): {err}. Give an int, None, or a pytree "
            "prefix of the values with ints/None at its leaves."
        ) from None


def _flatten_prefix(prefix, tree) -> list:
    """Each leaf of `tree` paired with the entry of `prefix` that covers it."""
    from funcgrad.tree_util import tree_map

    marked = tree_unflatten(tree, list(range(tree.num_leaves)))
    out = [None] * tree.num_leaves

    def assign(axis, subtree):
        for index in tree_leaves(subtree):
            out[index] = axis

    tree_map(assign, prefix, marked, is_leaf=lambda x: x is None)
    return out


def vmap(fun: Callable, in_axes=0, out_axes=0, axis_size: int | None = None, axis_name=None):
    """Vectorize `fun` over a new leading (or `in_axes`) axis of its arguments.

    >>> vmap(jnp.dot)(jnp.ones((5, 3)), jnp.ones((5, 3))).shape      # doctest: +SKIP
    (5,)
    """

    @functools.wraps(fun)
    @api_boundary
    def vmapped(*args):
        in_spec = tuple(in_axes) if isinstance(in_axes, list) else in_axes
        if isinstance(in_spec, tuple) and len(in_spec) != len(args):
            raise ValueError(
                f"vmap({_fun_name(fun)}): in_axes has {len(in_spec)} entries but the function "
                f"was called with {len(args)} positional arguments (at {user_location()}). Give "
                "one entry per positional argument (None for an argument that is not mapped)."
            )
        with_paths, in_tree = tree_flatten_with_path(args)
        leaves = [leaf for _, leaf in with_paths]
        spec = in_spec if isinstance(in_spec, tuple) else (in_spec,) * len(args)
        dims = []
        for position, (arg, axis) in enumerate(zip(args, spec)):
            sub_leaves, sub_tree = tree_flatten(arg)
            dims += _axes_for_leaves("vmap", fun, axis, sub_tree, f"in_axes[{position}]")
        sizes = {}
        for (path, leaf), dim in zip(with_paths, dims):
            if dim is None:
                continue
            ndim = get_aval(leaf).ndim
            if not -ndim <= dim < ndim:
                raise ValueError(
                    f"vmap({_fun_name(fun)}): in_axes {dim} is out of range for argument "
                    f"{keystr(path)} of rank {ndim} (at {user_location()}). Use an axis in "
                    f"[{-ndim}, {ndim}), or None to pass the argument unmapped."
                )
            sizes[keystr(path)] = get_aval(leaf).shape[dim % ndim]
        dims = [None if d is None else d % get_aval(x).ndim for d, x in zip(dims, leaves)]
        if len(set(sizes.values())) > 1:
            listed = ", ".join(f"args{name} has size {n}" for name, n in sizes.items())
            raise ValueError(
                f"vmap({_fun_name(fun)}) got inconsistent sizes for the mapped axes: {listed} "
                f"(at {user_location()}). All mapped axes must have the same size."
            )
        if not sizes and axis_size is None:
            raise ValueError(
                f"vmap({_fun_name(fun)}) must have at least one mapped argument (in_axes not "
                f"None) or be given axis_size (at {user_location()})."
            )
        size = axis_size if axis_size is not None else next(iter(sizes.values()))
        if sizes and axis_size is not None and size != next(iter(sizes.values())):
            raise ValueError(
                f"vmap({_fun_name(fun)}): axis_size={axis_size} but the mapped axes have size "
                f"{next(iter(sizes.values()))} (at {user_location()})."
            )
        out_trees = []

        def flat_fun(*flat_args):
            out_flat, out_tree = tree_flatten(fun(*tree_unflatten(in_tree, flat_args)))
            out_trees.append(out_tree)
            return out_flat

        origin = f"vmap of {_fun_name(fun)} at {user_location()}"
        outs, out_dims = batching.batch_flat(flat_fun, leaves, dims, size, origin, axis_name)
        out_tree = out_trees[0]
        targets = _axes_for_leaves("vmap", fun, out_axes, out_tree, "out_axes")
        results = []
        for index, (value, dim, target) in enumerate(zip(outs, out_dims, targets)):
            if target is None:
                if dim is not None:
                    raise ValueError(
                        f"vmap({_fun_name(fun)}): out_axes is None for output {index}, but that "
                        f"output varies along the mapped axis (at {user_location()}). Use an "
                        "integer out_axes, or return a value that does not depend on it."
                    )
                results.append(value)
                continue
            value = _as_array(value)
            ndim = get_aval(value).ndim + (1 if dim is None else 0)
            if not -ndim <= target < ndim:
                raise ValueError(
                    f"vmap({_fun_name(fun)}): out_axes {target} is out of range for output "
                    f"{index}, which has rank {ndim} with the mapped axis (at "
                    f"{user_location()}). Use an axis in [{-ndim}, {ndim})."
                )
            results.append(batching.move_axis(value, dim, target % ndim, size))
        return tree_unflatten(out_tree, results)

    return vmapped


def _as_array(value):
    from funcgrad.numpy.creation import asarray

    return asarray(value) if is_python_scalar(value) else value
