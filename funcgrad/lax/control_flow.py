"""Primitives whose parameters hold jaxprs. For now `closed_call`: apply a ClosedJaxpr
to operands, the form a jit call takes inside other transforms. cond, while_loop and
scan join it with the control-flow issue."""

from __future__ import annotations

import numpy as np

from funcgrad.core.jaxpr import ClosedJaxpr, eval_jaxpr, hoist_consts
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.shape_rules import shape_error

__all__ = ["closed_call"]

closed_call_p = Primitive("closed_call", multiple_results=True)


@closed_call_p.def_impl
def _closed_call_impl(*args, call_jaxpr: ClosedJaxpr):
    # Only the eager trace calls impls, so the body's equations evaluate eagerly too.
    outs = eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)
    return [np.asarray(out) for out in outs]


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
    """Apply `call_jaxpr` to `args`, as one equation in whatever trace is running."""
    if call_jaxpr.consts:
        call_jaxpr, consts = hoist_consts(call_jaxpr)
        args = (*consts, *args)
    return closed_call_p.bind(*args, call_jaxpr=call_jaxpr)


# ---------------------------------------------------------------------------------------
# Differentiation: a call is differentiated by differentiating its body in place.


def _closed_call_jvp(primals, tangents, *, call_jaxpr: ClosedJaxpr):
    def body(*args):
        return eval_jaxpr(call_jaxpr.jaxpr, call_jaxpr.consts, *args)

    return ad.jvp_flat(body, primals, tangents, "closed_call")


ad.primitive_jvps[closed_call_p] = _closed_call_jvp

# Under vmap a call is batched by batching its body in place.
batching.defcall(closed_call_p)
