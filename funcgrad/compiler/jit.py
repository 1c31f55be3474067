"""jit: trace once per input signature, compile, and dispatch cached calls quickly.

The cache key is (input treedef, avals, static arguments, x64 flag). A miss traces the
function to a ClosedJaxpr and compiles it with the NumPy backend into one generated
Python function. Called under another transform (grad, vmap, make_jaxpr, an outer jit),
a jitted function binds `closed_call` with its traced jaxpr instead, so the transform's
rules for calls apply without retracing the user's code.
"""

from __future__ import annotations

import functools
from typing import Callable, Sequence

import numpy as np

from funcgrad.backends.numpy.codegen import compile_jaxpr
from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.config import config
from funcgrad.core.avals import get_aval
from funcgrad.core.jaxpr import ClosedJaxpr
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import EvalTrace, current_trace
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.lax.control_flow import closed_call
from funcgrad.runtime.array import Array, from_buffer
from funcgrad.tree_util import tree_flatten, tree_unflatten

__all__ = ["jit"]


class _Compiled:
    """One cache entry: the traced program, its compiled form and its output layout."""

    __slots__ = ("closed", "program", "out_tree", "out_avals")

    def __init__(self, closed, program, out_tree):
        self.closed = closed
        self.program = program
        self.out_tree = out_tree
        self.out_avals = closed.out_avals


def _fun_name(fun) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


class JitFunction:
    """The callable `jit(fun)` returns."""

    def __init__(
        self,
        fun: Callable,
        static_argnums: Sequence[int],
        static_argnames: Sequence[str],
        donate_argnums: Sequence[int],
    ):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = tuple(static_argnames)
        self.donate_argnums = tuple(donate_argnums)
        self._cache: dict = {}
        self.trace_count = 0

    def _split(self, args, kwargs):
        static_positions = {
            i % len(args) for i in self.static_argnums if -len(args) <= i < len(args)
        }
        statics = []
        for i in sorted(static_positions):
            statics.append(("arg", i, args[i]))
        for name in self.static_argnames:
            if name in kwargs:
                statics.append(("kw", name, kwargs[name]))
        for kind, where, value in statics:
            try:
                hash(value)
            except TypeError:
                label = f"argument {where}" if kind == "arg" else f"keyword argument {where!r}"
                raise TypeError(
                    f"jit({_fun_name(self.fun)}): static {label} is a {type(value).__name__}, "
                    f"which is not hashable (at {user_location()}). Static arguments key the "
                    "compilation cache: pass a hashable value (a tuple instead of a list), or "
                    "make the argument a traced array instead of static."
                ) from None
        dynamic_args = tuple(a for i, a in enumerate(args) if i not in static_positions)
        dynamic_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        return tuple(statics), static_positions, dynamic_args, dynamic_kwargs

    def _trace(self, args, kwargs, static_positions, dynamic, in_tree):
        from funcgrad.api import _abstractify
        from funcgrad.tree_util import tree_flatten_with_path

        def flat_fun(*flat):
            dyn_args, dyn_kwargs = tree_unflatten(in_tree, flat)
            dyn = iter(dyn_args)
            full = [args[i] if i in static_positions else next(dyn) for i in range(len(args))]
            static_kwargs = {k: kwargs[k] for k in self.static_argnames if k in kwargs}
            out = self.fun(*full, **dyn_kwargs, **static_kwargs)
            out_flat, out_tree = tree_flatten(out)
            out_trees.append(out_tree)
            return out_flat

        positions = [i for i in range(len(args)) if i not in static_positions]
        with_paths, _ = tree_flatten_with_path(dynamic)
        avals = _abstractify("jit", self.fun, with_paths, positions)
        out_trees = []
        origin = f"jit of {_fun_name(self.fun)} at {user_location()}"
        closed = trace_to_jaxpr(flat_fun, avals, origin)
        self.trace_count += 1
        return closed, out_trees[0]

    @api_boundary
    def __call__(self, *args, **kwargs):
        if config.jax_disable_jit:
            return self.fun(*args, **kwargs)
        statics, static_positions, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        avals = tuple(get_aval(x) for x in leaves)
        key = (in_tree, avals, statics, config.jax_enable_x64)
        entry = self._cache.get(key)
        if entry is None:
            closed, out_tree = self._trace(
                args, kwargs, static_positions, (dyn_args, dyn_kwargs), in_tree
            )
            entry = self._cache[key] = _Compiled(closed, None, out_tree)
        if not isinstance(current_trace(), EvalTrace):
            outs = closed_call(entry.closed, *leaves)
            return tree_unflatten(entry.out_tree, outs)
        if entry.program is None:
            optimized = ClosedJaxpr(dce_jaxpr(entry.closed.jaxpr), entry.closed.consts)
            entry.program = compile_jaxpr(optimized, _program_name(self.fun))
        buffers = [
            x._value if type(x) is Array else np.array(x, aval.dtype)
            for x, aval in zip(leaves, avals)
        ]
        outs = entry.program(*buffers)
        return tree_unflatten(
            entry.out_tree, [from_buffer(b, a) for b, a in zip(outs, entry.out_avals)]
        )


def _program_name(fun) -> str:
    name = _fun_name(fun)
    return name if name.isidentifier() else "program"


def jit(
    fun: Callable,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    donate_argnums: int | Sequence[int] = (),
):
    """Compile `fun` per input signature; calls with a seen signature skip tracing.

    >>> fast = jit(lambda x: jnp.sin(x) * 2.0)                 # doctest: +SKIP
    """
    as_tuple = lambda v: (v,) if isinstance(v, (int, str)) else tuple(v)  # noqa: E731
    return JitFunction(
        fun, as_tuple(static_argnums), as_tuple(static_argnames), as_tuple(donate_argnums)
    )
