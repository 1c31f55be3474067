"""funcgrad.debug: look at values while transformed code runs, as `jax.debug` does.

Python's own `print` inside a jitted or transformed function runs once, while tracing,
and shows tracers. `debug.print` instead stages a `debug_print` primitive
(funcgrad/lax/debugging.py) that prints the runtime values every time the program runs.
"""

from __future__ import annotations

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax.debugging import debug_print
from funcgrad.tree_util import keystr, tree_flatten_with_path

__all__ = ["print"]


def print(fmt: str, *args, ordered: bool = False, **kwargs) -> None:
    """Print `fmt.format(*args, **kwargs)` with the runtime values of array arguments.

    Works eagerly and inside `jit`, `grad` (the primal values are printed) and `vmap` (each
    example is printed on its own line, in batch order; with nested vmaps the outermost
    vmap's index varies slowest). Arguments are pytrees of arrays or Python scalars. Prints
    run in program order whether or not `ordered` is set: funcgrad runs a program's
    equations one after another and never reorders side effects.

    >>> import funcgrad, funcgrad.numpy as jnp
    >>> @funcgrad.jit
    ... def f(x):
    ...     funcgrad.debug.print("x = {x}", x=x)
    ...     return x * 2
    >>> _ = f(jnp.arange(3.0))
    x = [0. 1. 2.]
    """
    with_paths, in_tree = tree_flatten_with_path((args, kwargs))
    for path, leaf in with_paths:
        _check_printable(path, leaf)
    leaves = [leaf for _, leaf in with_paths]
    debug_print(fmt, *leaves, in_tree=in_tree, ordered=ordered)


def _check_printable(path, leaf) -> None:
    if isinstance(leaf, Tracer):
        return
    try:
        get_aval(leaf)
    except TypeError:
        group, rest = path[0].idx, path[1:]
        where = f"args{keystr(rest)}" if group == 0 else f"{rest[0].key}{keystr(rest[1:])}"
        raise TypeError(
            f"debug.print: {where} is a {type(leaf).__name__}, not an array (at "
            f"{user_location()}). Only arrays and Python scalars are passed through to the "
            "printed program; write other values into the format string itself."
        ) from None
