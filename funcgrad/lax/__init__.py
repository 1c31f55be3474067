"""funcgrad.lax: the primitives and their user-facing wrappers, as in `jax.lax`.

Each family module defines its primitives with all their rules; this namespace only
re-exports the public wrappers.
"""

from funcgrad.lax.control_flow import closed_call
from funcgrad.lax.elementwise import (
    add,
    convert_element_type,
    cos,
    div,
    eq,
    exp,
    ge,
    gt,
    le,
    log,
    lt,
    max,
    mul,
    ne,
    neg,
    pow,
    select,
    select_n,
    sin,
    sub,
    tanh,
)
from funcgrad.lax.linalg import dot_general
from funcgrad.lax.reductions import reduce_max, reduce_sum
from funcgrad.lax.shapes import broadcast_in_dim, reshape, rev, slice, squeeze, transpose

__all__ = [
    "add",
    "broadcast_in_dim",
    "closed_call",
    "convert_element_type",
    "cos",
    "div",
    "dot_general",
    "eq",
    "exp",
    "ge",
    "gt",
    "le",
    "log",
    "lt",
    "max",
    "mul",
    "ne",
    "neg",
    "pow",
    "reduce_max",
    "reduce_sum",
    "reshape",
    "rev",
    "select",
    "select_n",
    "sin",
    "slice",
    "squeeze",
    "sub",
    "tanh",
    "transpose",
]
