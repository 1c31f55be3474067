"""`debug_print`: the side-effecting primitive behind `funcgrad.debug.print`.

Printing a traced value at trace time would show a tracer, not a number, and would happen
once per compilation instead of once per call. So printing is a primitive of its own,
staged into the program like any other and run when the program runs. It has no outputs;
`has_side_effects` is what keeps compiler passes from dropping it as dead code, merging
two prints or moving one past another, so prints appear in program order.

Its operands are the flattened leaves of the `(args, kwargs)` given to `debug.print`;
`in_tree` puts them back together and `fmt.format(*args, **kwargs)` makes the text, with
each leaf a funcgrad `Array`, so it formats the way NumPy formats the same values.

Under differentiation the primal values are printed and nothing flows to the tangents.
Under vmap the print is not run on the batched array: each example is printed on its own,
as a loop over the batch would. The batching rule moves the batch axis to the front and
counts it in `batch_depth`, the number of leading axes that are vmap axes, outermost vmap
first; the impl prints once per index of those axes, in row-major order.
"""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.shape_rules import shape_error
from funcgrad.runtime.array import from_buffer
from funcgrad.tree_util import PyTreeDef

__all__ = ["debug_print_p", "debug_print"]

debug_print_p = Primitive("debug_print", multiple_results=True, has_side_effects=True)


def debug_print(
    fmt: str, *leaves, in_tree: PyTreeDef, ordered: bool = False, batch_depth: int = 0
) -> None:
    """Bind `debug_print` on already-flattened leaves of `(args, kwargs)`."""
    debug_print_p.bind(*leaves, fmt=fmt, in_tree=in_tree, ordered=ordered, batch_depth=batch_depth)


def _print_formatted(fmt: str, in_tree: PyTreeDef, buffers) -> None:
    # A view, so that freezing the Array never freezes a buffer the program still owns.
    arrays = [
        from_buffer(np.asarray(b).view(), ShapedArray(np.shape(b), np.asarray(b).dtype))
        for b in buffers
    ]
    args, kwargs = in_tree.unflatten(arrays)
    builtins.print(fmt.format(*args, **kwargs))


@debug_print_p.def_impl
def _debug_print_impl(*buffers, fmt: str, in_tree: PyTreeDef, ordered: bool, batch_depth: int):
    if batch_depth == 0:
        _print_formatted(fmt, in_tree, buffers)
        return []
    for index in np.ndindex(*np.shape(buffers[0])[:batch_depth]):
        _print_formatted(fmt, in_tree, [b[index] for b in buffers])
    return []


@debug_print_p.def_abstract_eval
def _debug_print_abstract_eval(
    *avals, fmt: str, in_tree: PyTreeDef, ordered: bool, batch_depth: int
):
    if in_tree.num_leaves != len(avals):
        raise shape_error("debug_print", avals, f"in_tree expects {in_tree.num_leaves} operands")
    if batch_depth and any(a.shape[:batch_depth] != avals[0].shape[:batch_depth] for a in avals):
        raise shape_error("debug_print", avals, f"the {batch_depth} leading (vmap) axes differ")
    return []


def _debug_print_jvp(primals, tangents, **params):
    # Only primal values are printed; printing contributes nothing to any tangent.
    return debug_print_p.bind(*primals, **params), []


ad.primitive_jvps[debug_print_p] = _debug_print_jvp


def _debug_print_batch(axis_size, values, dims, *, batch_depth: int, **params):
    # This trace's axis goes in front of the vmap axes already counted: the trace that
    # batches a primitive later is the one further out.
    front = batching.batch_all_at_front(values, dims, axis_size)
    return debug_print_p.bind(*front, batch_depth=batch_depth + 1, **params), []


batching.primitive_batchers[debug_print_p] = _debug_print_batch
