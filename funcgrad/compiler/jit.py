"""jit: trace once per input signature, optimize, compile, and dispatch cached calls fast.

A call's signature is a `CacheKey`. A miss traces the function to a ClosedJaxpr, runs the
optimizing pipeline, groups the program for fusion, plans its buffers and generates one
Python function over NumPy buffers (compiler/stages.py). Called under another transform
(grad, vmap, make_jaxpr, an outer jit) a jitted function binds `closed_call` with its
traced jaxpr instead, so the transform's rules for calls apply without retracing.

The common call — positional funcgrad Arrays, no static or donated arguments — takes a
fast path: its key is the tuple of the arguments' avals, looked up in a dict of its own.

Where a call runs follows its arguments (runtime/devices.py): on the device they are
committed to, else the default device, with that device's backend (LLVM or CuPy) unless
`backend=` or FUNCGRAD_BACKEND names one; outputs are that backend's buffers (on the GPU
for CuPy) and committed when an argument was.
"""

from __future__ import annotations

import functools
import logging
import os
import sys
from typing import Callable, NamedTuple, Sequence

import numpy as np

from funcgrad.compiler.cache_miss import explain_cache_miss
from funcgrad.compiler.debug_nans import check_for_nans
from funcgrad.compiler.stages import Compiled, Lowered
from funcgrad.config import config
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import EvalTrace, Tracer, current_trace, refuse_at_top_level
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.lax.control_flow import closed_call
from funcgrad.runtime import devices as _devices
from funcgrad.runtime.array import Array, from_buffer
from funcgrad.runtime.devices import default_backend, gpu_module, host_buffer
from funcgrad.tree_util import flatten_to_key, tree_flatten, tree_leaves, tree_unflatten

__all__ = ["jit", "CacheKey", "JitFunction", "default_jit_backend"]

_log = logging.getLogger("funcgrad")


class CacheKey(NamedTuple):
    """What selects a compiled program. `in_tree` flattens `(dynamic positional args,
    dynamic keyword args)`; `dynamic_positions` are the positional indices those args had
    in the call; `statics` holds `("arg", index, value)` and `("kw", name, value)`."""

    in_tree: object
    avals: tuple
    statics: tuple
    dynamic_positions: tuple
    x64: bool
    backend: str


class _Entry:
    """One cache entry: the traced program, its output layout and, once run, its
    compiled form. `donated` marks the flat inputs whose buffers the caller gave up."""

    __slots__ = (
        "closed",
        "out_tree",
        "out_avals",
        "donated",
        "backend",
        "lowered",
        "compiled",
        "run",
    )

    def __init__(self, closed, out_tree, donated, backend: str):
        self.closed = closed
        self.backend = backend
        self.out_tree = out_tree
        self.out_avals = tuple(closed.out_avals)
        self.donated = donated
        self.lowered = None
        self.compiled = None
        self.run = None


class _StaticValue:
    """A static argument in a cache key: equal when of the same type and equal value, so
    `1` and `1.0` (or 0.0 and -0.0) — equal in Python, different programs — stay apart."""

    __slots__ = ("value", "_key")

    def __init__(self, value):
        self.value = value
        self._key = (type(value), repr(value) if isinstance(value, float) else value)

    def __hash__(self) -> int:
        return hash(self._key)

    def __eq__(self, other) -> bool:
        return type(other) is _StaticValue and self._key == other._key

    def __repr__(self) -> str:
        return repr(self.value)


def _fun_name(fun) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _program_name(fun) -> str:
    name = _fun_name(fun)
    return name if name.isidentifier() else "program"


class JitFunction:
    """The callable `jit(fun)` returns."""

    def __init__(
        self,
        fun: Callable,
        static_argnums: Sequence[int],
        static_argnames: Sequence[str],
        donate_argnums: Sequence[int],
        backend: str,
        backend_given: bool = False,
    ):
        functools.update_wrapper(self, fun)
        self.fun = fun
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = tuple(static_argnames)
        self.donate_argnums = tuple(donate_argnums)
        # The backend on the default device; `backend_given`: jit(backend=...) or
        # FUNCGRAD_BACKEND chose it, so it runs wherever the arguments are.
        self.backend, self.backend_given = backend, backend_given
        self._cache: dict = {}
        # By x64 flag: the avals of positional Array arguments, or (structure key of the
        # arguments, avals of their leaves), -> the compiled program's runner on buffers.
        self._fast: dict = {False: {}, True: {}}
        self._fast_gpu: dict = {False: {}, True: {}}  # the same, for machines with a GPU
        self._fast_ok = not (static_argnums or static_argnames or donate_argnums)
        self.trace_count = 0

    def __get__(self, instance, owner=None):
        # A jitted method binds like a plain function: `self` becomes argument 0 (mark it
        # static with static_argnums=0, or make the object a pytree, as in JAX).
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __call__(self, *args, **kwargs):
        if not kwargs and self._fast_ok and type(current_trace()) is EvalTrace:
            # Only Arrays have `.aval` and `._value` at the top level (tracers exist only
            # under their trace), so a hit needs no further checks on the CPU alone; with
            # a GPU, the GPU's table holds for uncommitted arrays on it.
            free = _devices.placement_free()
            seen = (self._fast if free else self._fast_gpu)[config.jax_enable_x64]
            leaves = args
            run = seen.get(tuple([getattr(a, "aval", None) for a in args]))
            if run is None:
                leaves, structure = flatten_to_key(args)
                run = seen.get((structure, tuple([getattr(x, "aval", None) for x in leaves])))
            if run is not None and not config.jax_disable_jit:
                try:
                    buffers = [x._value for x in leaves]
                except AttributeError:  # a leaked tracer: the full path says what happened
                    return self._call(args, kwargs)
                if free or _devices.uncommitted_on_the_gpu(leaves):
                    return run(buffers)
        return self._call(args, kwargs)

    @api_boundary
    def _call(self, args, kwargs):
        if config.jax_disable_jit:
            return self.fun(*args, **kwargs)
        key, leaves, entry, (device, committed) = self._lookup(args, kwargs)
        if type(current_trace()) is not EvalTrace:
            return tree_unflatten(entry.out_tree, closed_call(entry.closed, *leaves))
        for leaf in leaves:
            if isinstance(leaf, Tracer):
                refuse_at_top_level(leaf, f"jit({_fun_name(self.fun)})")
        if entry.run is None:
            entry.lowered = self._lower(entry)
            entry.compiled = Compiled(entry.lowered)
            _show_stages(_fun_name(self.fun), entry)
            entry.run = _runner(self.fun, entry)
            free = _devices.placement_free()
            on_gpu = entry.backend == "cupy" and not committed and len(_devices._gpus()) == 1
            if self._fast_ok and not kwargs and (free or on_gpu):
                structure = flatten_to_key(args)[1]
                positional = tree_flatten(args)[1] == _positional(len(args))
                fast_key = key.avals if positional else (structure, key.avals)
                (self._fast if free else self._fast_gpu)[key.x64][fast_key] = entry.run.buffers
        if entry.backend == "cupy":
            with gpu_module().cuda.Device(device.id if device.platform == "gpu" else 0):
                return self._run(entry, leaves, committed)
        return self._run(entry, leaves, committed)

    def _run(self, entry: _Entry, leaves, committed: bool):
        if any(entry.donated):
            return self._donate_run(entry, leaves, committed)
        return entry.run(*leaves, committed=committed)

    def _placement(self, leaves) -> tuple[str, tuple]:
        """The backend this call compiles for, and (device, committed) from `placement`."""
        if _devices.placement_free():
            return self.backend, (_devices.cpu_device(), False)
        device, committed = _devices.placement(leaves, f"jit({_fun_name(self.fun)})")
        if self.backend_given:
            return self.backend, (device, committed)
        if device.platform == "gpu":
            return "cupy", (device, committed)
        return ("llvm" if self.backend == "cupy" else self.backend), (device, committed)

    def _lookup(self, args, kwargs):
        statics, static_positions, dyn_args, dyn_kwargs = self._split(args, kwargs)
        leaves, in_tree = tree_flatten((dyn_args, dyn_kwargs))
        avals = tuple(get_aval(x) for x in leaves)
        dynamic_positions = tuple(i for i in range(len(args)) if i not in static_positions)
        backend, placed = self._placement(leaves)
        key = CacheKey(in_tree, avals, statics, dynamic_positions, config.jax_enable_x64, backend)
        entry = self._cache.get(key)
        if entry is None:
            if self._cache and (config.jax_explain_cache_misses or _log.isEnabledFor(10)):
                level = logging.WARNING if config.jax_explain_cache_misses else logging.DEBUG
                _log.log(level, explain_cache_miss(self.fun, key, list(self._cache)))
            closed, out_tree = self._trace(args, kwargs, static_positions, dyn_args, in_tree)
            donated = self._donated_leaves(args, dynamic_positions, len(leaves))
            entry = self._cache[key] = _Entry(closed, out_tree, donated, backend)
        return key, leaves, entry, placed

    def _split(self, args, kwargs):
        static_positions = {
            i % len(args) for i in self.static_argnums if -len(args) <= i < len(args)
        }
        statics = []
        for i in sorted(static_positions):
            statics.append(("arg", i, _StaticValue(args[i])))
        for name in self.static_argnames:
            if name in kwargs:
                statics.append(("kw", name, _StaticValue(kwargs[name])))
        for kind, where, static in statics:
            value = static.value
            try:
                hash(static)
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

    def _donated_leaves(self, args, dynamic_positions, n_leaves) -> tuple:
        if not self.donate_argnums:
            return (False,) * n_leaves
        wanted = {i % len(args) for i in self.donate_argnums if -len(args) <= i < len(args)}
        marks = []
        for position in dynamic_positions:
            marks += [position in wanted] * len(tree_leaves(args[position]))
        return tuple(marks + [False] * (n_leaves - len(marks)))

    def _trace(self, args, kwargs, static_positions, dyn_args, in_tree):
        from funcgrad.api import _abstractify, _check_output
        from funcgrad.tree_util import tree_flatten_with_path

        def flat_fun(*flat):
            dyn_args, dyn_kwargs = tree_unflatten(in_tree, flat)
            dyn = iter(dyn_args)
            full = [args[i] if i in static_positions else next(dyn) for i in range(len(args))]
            static_kwargs = {k: kwargs[k] for k in self.static_argnames if k in kwargs}
            out_with_paths, out_tree = tree_flatten_with_path(
                self.fun(*full, **dyn_kwargs, **static_kwargs)
            )
            for path, leaf in out_with_paths:
                _check_output("jit", self.fun, path, leaf)
            out_trees.append(out_tree)
            return [leaf for _, leaf in out_with_paths]

        dyn_kwargs = {k: v for k, v in kwargs.items() if k not in self.static_argnames}
        positions = [i for i in range(len(args)) if i not in static_positions]
        with_paths, _ = tree_flatten_with_path((dyn_args, dyn_kwargs))
        avals = _abstractify("jit", self.fun, with_paths, positions)
        out_trees = []
        origin = f"jit of {_fun_name(self.fun)} at {user_location()}"
        closed = trace_to_jaxpr(flat_fun, avals, origin)
        self.trace_count += 1
        return closed, out_trees[0]

    def _donate_run(self, entry: _Entry, leaves, committed: bool):
        in_dtypes = [a.dtype for a in entry.closed.in_avals]
        # The NaN checker re-runs the program on its inputs, so they must survive the run.
        # CuPy's programs take no buffers over (its memory pool recycles them).
        reuse = not config.jax_debug_nans
        host = entry.backend != "cupy"
        buffers = [
            _donatable(x, dtype, reuse) if give and host else _buffer(x, dtype, entry.backend)
            for x, give, dtype in zip(leaves, entry.donated, in_dtypes)
        ]
        out = entry.run.buffers(buffers, committed)
        where = user_location()
        for x, give in zip(leaves, entry.donated):
            if give and type(x) is Array:
                x.delete(f"it was donated to jit({_fun_name(self.fun)}) at {where}")
        return out

    def lower(self, *args, **kwargs) -> Lowered:
        """The optimized, fusion-grouped program for these arguments' signature."""
        _, _, entry, _ = self._lookup(args, kwargs)
        return self._lower(entry)

    def _lower(self, entry: _Entry) -> Lowered:
        name = _program_name(self.fun)
        return Lowered(entry.closed, entry.donated, name, entry.out_tree, entry.backend)

    def eval_shape(self, *args, **kwargs):
        _, _, entry, _ = self._lookup(args, kwargs)
        from funcgrad.api import ShapeDtypeStruct

        return tree_unflatten(
            entry.out_tree, [ShapeDtypeStruct(a.shape, a.dtype) for a in entry.out_avals]
        )


@functools.lru_cache(maxsize=64)
def _positional(n: int):
    return tree_flatten(tuple(range(n)))[1]


def _show_stages(name: str, entry: _Entry) -> None:
    """FUNCGRAD_DEBUG=1 prints each traced program, 2 also the optimized one with its
    fusion groups, 3 also the generated kernels (to stderr, once per compilation)."""
    level = os.environ.get("FUNCGRAD_DEBUG", "0")
    level = int(level) if level.isdigit() else 0
    stages = [("traced", entry.closed), ("optimized", entry.lowered), ("kernels", entry.compiled)]
    for title, stage in stages[:level]:
        text = stage if title == "traced" else stage.as_text()
        print(f"--- jit({name}) {title} ---\n{text}", file=sys.stderr)


def _buffer(x, dtype, backend: str):
    """x's buffer for `backend`: an Array's own (immutable; a GPU's copied to the host for
    the host's backends), or a private copy of anything else."""
    if type(x) is not Array:
        return np.array(x, dtype)
    buffer = x._value
    return buffer if type(buffer) is np.ndarray or backend == "cupy" else host_buffer(buffer)


def _donatable(x, dtype, reuse: bool):
    """A writeable buffer holding x's value: x's own when nothing else can see it."""
    if type(x) is Array and reuse and type(x._value) is np.ndarray:
        buffer = x._value
        # References: x._value, this local, getrefcount's argument; a view would add its .base.
        if buffer.base is None and sys.getrefcount(buffer) <= 3:
            buffer.flags.writeable = True
            return buffer
        return np.array(buffer)
    return np.array(x, dtype)


def _runner(fun, entry: _Entry) -> Callable:
    """The function a cached call runs: input leaves in, output pytree out."""
    program = entry.compiled.program
    out_avals, out_tree = entry.out_avals, entry.out_tree
    name, closed = _fun_name(fun), entry.closed
    in_dtypes = [a.dtype for a in closed.in_avals]
    single = out_tree.num_leaves == 1 and out_tree == tree_flatten(0)[1]
    out_aval, new_array = out_avals[0] if single else None, Array.__new__
    backend = entry.backend

    def run_buffers(buffers, committed: bool = False):
        outs = program(*buffers)
        if config.jax_debug_nans:
            host = [host_buffer(b) for b in buffers], [host_buffer(o) for o in outs]
            check_for_nans(name, closed, *host)
        if single:
            # from_buffer without its checks (the program returns exactly these dtypes) and
            # without freezing the buffer, which Array.__array__ does if it is ever exposed.
            out = outs[0]
            if type(out) is not np.ndarray:  # a NumPy scalar from an impl, or a GPU array
                return from_buffer(out, out_aval, committed)
            array = new_array(Array)
            array._value, array.aval, array._committed = out, out_aval, committed
            return array
        outs = [from_buffer(b, a, committed) for b, a in zip(outs, out_avals)]
        return tree_unflatten(out_tree, outs)

    def run(*leaves, committed: bool = False):
        buffers = [_buffer(x, dtype, backend) for x, dtype in zip(leaves, in_dtypes)]
        return run_buffers(buffers, committed)

    run.buffers = run_buffers
    return run


# The backends jit can compile for; "cpu" and "gpu" name each platform's backend (LLVM,
# CuPy), as in JAX.
BACKENDS = {"numpy": "numpy", "llvm": "llvm", "cpu": "llvm", "cupy": "cupy", "gpu": "cupy"}


def default_jit_backend() -> str:
    """The backend `jit` compiles for when not told: FUNCGRAD_BACKEND, else the default
    platform's (funcgrad.default_backend(): the GPU's when CuPy finds one)."""
    chosen = os.environ.get("FUNCGRAD_BACKEND") or default_backend()
    if chosen not in BACKENDS:
        raise ValueError(
            f"FUNCGRAD_BACKEND={chosen!r} is not a backend; available: "
            f"{', '.join(sorted(BACKENDS))}."
        )
    return BACKENDS[chosen]


def jit(
    fun: Callable,
    static_argnums: int | Sequence[int] = (),
    static_argnames: str | Sequence[str] = (),
    donate_argnums: int | Sequence[int] = (),
    backend: str | None = None,
):
    """Compile `fun` per input signature; calls with a seen signature skip tracing.

    >>> fast = jit(lambda x: jnp.sin(x) * 2.0)                 # doctest: +SKIP
    """
    if not callable(fun):
        raise TypeError(
            f"jit expects a function, got {type(fun).__name__} {fun!r:.40} (at "
            f"{user_location()}). Pass the function itself: jit(f), not jit(f(x))."
        )
    if backend is not None and backend not in BACKENDS:
        raise ValueError(
            f"jit: unknown backend {backend!r} (at {user_location()}); available: "
            f"{', '.join(sorted(BACKENDS))}. Leave backend=None for the default."
        )
    as_tuple = lambda v: (v,) if isinstance(v, (int, str)) else tuple(v)  # noqa: E731
    return JitFunction(
        fun,
        as_tuple(static_argnums),
        as_tuple(static_argnames),
        as_tuple(donate_argnums),
        BACKENDS[backend] if backend is not None else default_jit_backend(),
        backend is not None or bool(os.environ.get("FUNCGRAD_BACKEND")),
    )
