"""The public transforms. For now: make_jaxpr and eval_shape; grad, vmap and jit join
them with their issues. Each flattens pytree arguments, traces a flat function and
rebuilds the output tree."""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.jaxpr import ClosedJaxpr
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.tree_util import keystr, tree_flatten_with_path, tree_unflatten

__all__ = ["make_jaxpr", "eval_shape", "ShapeDtypeStruct"]


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
