"""Collectives over a named vmap axis: psum, pmean, pmax, pmin, all_gather, axis_index.

`vmap(f, axis_name='i')` names its batch axis; inside `f` a collective over 'i' combines
the values of every example along it (a sum, a mean, a gather, ...), which is how
data-parallel code is written. Each collective is a primitive with an `axis_name` param
(a tuple of names). Its abstract eval gives the per-example aval; its batching rule (in
`batching.trace_rules`, which sees the trace) reduces over the batch axis when the
trace's name is among `axis_name`, and otherwise hands the primitive on to the enclosing
trace unchanged. A name that no enclosing vmap binds is a NameError at the user's line.
"""

from __future__ import annotations

from typing import Hashable

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.core.trace import current_trace
from funcgrad.interpreters import ad, batching
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions, shapes
from funcgrad.lax.indexing import dynamic_slice
from funcgrad.lax.operands import coerce_scalars
from funcgrad.tree_util import tree_map

__all__ = ["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index"]

_I32 = np.dtype(np.int32)


def _names(axis_name) -> tuple:
    return tuple(axis_name) if isinstance(axis_name, (tuple, list)) else (axis_name,)


def _unbound(op: str, name) -> NameError:
    return NameError(
        f"{op}: unbound axis name: {name!r} (at {user_location()}). A collective combines "
        f"values along an axis that an enclosing vmap(..., axis_name={name!r}) names; call "
        "it inside such a vmap."
    )


def _bound_axis_size(op: str, name: Hashable) -> int:
    """The size of the vmap axis called `name`, found by walking the trace stack."""
    trace = current_trace()
    while trace is not None:
        if isinstance(trace, batching.BatchTrace) and trace.axis_name == name:
            return trace.axis_size
        trace = trace.parent
    raise _unbound(op, name)


def _check_bound(op: str, names: tuple) -> None:
    for name in names:
        _bound_axis_size(op, name)


def _unbound_impl(primitive: Primitive):
    # Reached only when a staged collective is evaluated outside its vmap.
    def impl(*operands, axis_name, **params):
        raise _unbound(primitive.name, axis_name[0])

    return impl


def _same_aval(x: ShapedArray, **params) -> ShapedArray:
    return x


# ---------------------------------------------------------------------------------------
# Reductions over the axis: psum, pmean, pmax, pmin


def _reducing_collective(name: str, reduce_batch, reduce_shared):
    """A primitive that combines each example's value over the named axes. `reduce_batch(
    x, dim, axis_size)` reduces a value batched along `dim`; `reduce_shared(x, axis_size)`
    one that is the same for every example."""
    primitive = Primitive(name)
    primitive.def_impl(_unbound_impl(primitive))
    primitive.def_abstract_eval(_same_aval)

    def rule(trace, values, dims, *, axis_name):
        (x,), (dim,) = values, dims
        if trace.axis_name not in axis_name:
            return primitive.bind(x, axis_name=axis_name), dim
        if dim is None:
            out = reduce_shared(x, trace.axis_size)
        else:
            out = reduce_batch(x, dim, trace.axis_size)
        rest = tuple(n for n in axis_name if n != trace.axis_name)
        if rest:
            out = primitive.bind(out, axis_name=rest)
        return out, None

    batching.trace_rules[primitive] = rule
    return primitive


psum_p = _reducing_collective(
    "psum",
    lambda x, dim, size: reductions.reduce_sum(x, (dim,)),
    lambda x, size: ew.mul(x, size),
)
pmean_p = _reducing_collective(
    "pmean",
    lambda x, dim, size: ew.div(reductions.reduce_sum(x, (dim,)), size),
    lambda x, size: x,
)
pmax_p = _reducing_collective(
    "pmax", lambda x, dim, size: reductions.reduce_max(x, (dim,)), lambda x, size: x
)
pmin_p = _reducing_collective(
    "pmin", lambda x, dim, size: reductions.reduce_min(x, (dim,)), lambda x, size: x
)

# Under vmap, out[j] = sum_i x[i] for every example j, so the cotangent of x[i] is
# sum_j ct[j]: psum is its own transpose, and so is pmean (each term divided by n).
ad.deflinear(psum_p, lambda ct, x, *, axis_name: [psum_p.bind(ct, axis_name=axis_name)])
ad.deflinear(pmean_p, lambda ct, x, *, axis_name: [pmean_p.bind(ct, axis_name=axis_name)])


def _extremum_jvp(primitive: Primitive):
    # The tangent of the examples that attain the extremum, averaged over ties.
    def rule(primals, tangents, *, axis_name):
        (x,), (x_dot,) = primals, tangents
        out = primitive.bind(x, axis_name=axis_name)
        attains = ew.convert_element_type(ew.eq(x, out), get_aval(x_dot).dtype)
        ties = psum_p.bind(attains, axis_name=axis_name)
        return out, ew.div(psum_p.bind(ew.mul(x_dot, attains), axis_name=axis_name), ties)

    ad.primitive_jvps[primitive] = rule


_extremum_jvp(pmax_p)
_extremum_jvp(pmin_p)


def _tree_collective(op: str, primitive: Primitive, x, axis_name):
    names = _names(axis_name)
    _check_bound(op, names)

    def one(leaf):
        (leaf,) = coerce_scalars(leaf)
        return primitive.bind(leaf, axis_name=names)

    return tree_map(one, x)


def psum(x, axis_name):
    """Sum `x` (an array or a pytree of arrays) over the vmap axis `axis_name` (or a tuple
    of names): every example gets the total.

    >>> vmap(lambda v: v / psum(v, 'i'), axis_name='i')(jnp.arange(1.0, 4.0))  # doctest: +SKIP
    Array([0.16666667, 0.33333334, 0.5       ], dtype=float32)
    """
    return _tree_collective("psum", psum_p, x, axis_name)


def pmean(x, axis_name):
    """Mean of `x` (an array or pytree) over the vmap axis `axis_name`; integers average to
    floats.

    >>> vmap(lambda v: pmean(v, 'i'), axis_name='i')(jnp.arange(4.0))  # doctest: +SKIP
    Array([1.5, 1.5, 1.5, 1.5], dtype=float32)
    """

    def inexact(leaf):
        (leaf,) = coerce_scalars(leaf)
        if dtypes.is_inexact(get_aval(leaf).dtype):
            return leaf
        return ew.convert_element_type(leaf, dtypes.canonicalize_dtype(np.float64))

    return _tree_collective("pmean", pmean_p, tree_map(inexact, x), axis_name)


def pmax(x, axis_name):
    """Elementwise maximum of `x` (an array or pytree) over the vmap axis `axis_name`.

    >>> vmap(lambda v: pmax(v, 'i'), axis_name='i')(jnp.array([1, 5, 2]))  # doctest: +SKIP
    Array([5, 5, 5], dtype=int32)
    """
    return _tree_collective("pmax", pmax_p, x, axis_name)


def pmin(x, axis_name):
    """Elementwise minimum of `x` (an array or pytree) over the vmap axis `axis_name`.

    >>> vmap(lambda v: pmin(v, 'i'), axis_name='i')(jnp.array([1, 5, 2]))  # doctest: +SKIP
    Array([1, 1, 1], dtype=int32)
    """
    return _tree_collective("pmin", pmin_p, x, axis_name)


# ---------------------------------------------------------------------------------------
# all_gather and axis_index

all_gather_p = Primitive("all_gather")
all_gather_p.def_impl(_unbound_impl(all_gather_p))


@all_gather_p.def_abstract_eval
def _all_gather_abstract_eval(x: ShapedArray, *, axis_name, axis_size, axis, tiled):
    shape = list(x.shape)
    if tiled:
        shape[axis] *= axis_size
    else:
        shape.insert(axis, axis_size)
    return ShapedArray(shape, x.dtype, x.weak_type)


def _all_gather_collective(trace, values, dims, *, axis_name, axis_size, axis, tiled):
    (x,), (dim,) = values, dims
    if trace.axis_name not in axis_name:
        params = dict(axis_name=axis_name, axis_size=axis_size, tiled=tiled)
        if dim is None:
            return all_gather_p.bind(x, axis=axis, **params), None
        # The enclosing vmap sees this batch axis as an ordinary one: put it in front.
        x = batching.move_axis(x, dim, 0, trace.axis_size)
        return all_gather_p.bind(x, axis=axis + 1, **params), 0
    out = batching.move_axis(x, dim, axis, axis_size)
    if tiled:
        shape = list(get_aval(out).shape)
        shape[axis : axis + 2] = [shape[axis] * shape[axis + 1]]
        out = shapes.reshape(out, tuple(shape))
    return out, None


batching.trace_rules[all_gather_p] = _all_gather_collective


def _all_gather_transpose(ct, x, *, axis_name, axis_size, axis, tiled):
    # Example i's value lands in slot i of every example's result: its cotangent is the
    # sum over examples of slot i, picked out with axis_index.
    total = psum_p.bind(ct, axis_name=axis_name)
    if tiled:
        shape = list(get_aval(total).shape)
        shape[axis : axis + 1] = [axis_size, shape[axis] // axis_size]
        total = shapes.reshape(total, tuple(shape))
    index = axis_index_p.bind(axis_name=axis_name)
    starts = [0] * get_aval(total).ndim
    starts[axis] = index
    sizes = list(get_aval(total).shape)
    sizes[axis] = 1
    return [shapes.squeeze(dynamic_slice(total, starts, sizes), (axis,))]


ad.deflinear(all_gather_p, _all_gather_transpose)


def all_gather(x, axis_name, *, axis_index_groups=None, axis: int = 0, tiled: bool = False):
    """Every example's `x` (an array or pytree), stacked along a new axis `axis` (or, with
    `tiled`, concatenated along the existing one), for every example of the vmap axis
    `axis_name`.

    >>> vmap(lambda v: all_gather(v, 'i'), axis_name='i')(jnp.arange(3.0)).shape  # doctest: +SKIP
    (3, 3)
    """
    if axis_index_groups is not None:
        raise NotImplementedError("all_gather: axis_index_groups is not supported by funcgrad.")
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError(
            f"all_gather over several axes {names} is not supported by funcgrad yet; gather "
            "over one axis name at a time."
        )
    size = _bound_axis_size("all_gather", names[0])

    def one(leaf):
        (leaf,) = coerce_scalars(leaf)
        ndim = get_aval(leaf).ndim
        limit = ndim if tiled else ndim + 1
        if not -limit <= axis < limit:
            raise ValueError(
                f"all_gather: axis {axis} is out of range for an operand of rank {ndim} "
                f"(tiled={tiled}) (at {user_location()})."
            )
        params = dict(axis_name=names, axis_size=size, axis=axis % limit, tiled=bool(tiled))
        return all_gather_p.bind(leaf, **params)

    return tree_map(one, x)


axis_index_p = Primitive("axis_index")
axis_index_p.def_impl(_unbound_impl(axis_index_p))
axis_index_p.def_abstract_eval(lambda *, axis_name: ShapedArray((), _I32))


def _axis_index_collective(trace, values, dims, *, axis_name):
    if trace.axis_name not in axis_name:
        return axis_index_p.bind(axis_name=axis_name), None
    return shapes.iota(_I32, trace.axis_size), 0


batching.trace_rules[axis_index_p] = _axis_index_collective
ad.defjvp_zero(axis_index_p)


def axis_index(axis_name):
    """Each example's position (int32) along the vmap axis `axis_name`.

    >>> vmap(lambda v: axis_index('i'), axis_name='i')(jnp.zeros(3))  # doctest: +SKIP
    Array([0, 1, 2], dtype=int32)
    """
    names = _names(axis_name)
    if len(names) != 1:
        raise NotImplementedError(
            f"axis_index over several axes {names} is not supported by funcgrad yet."
        )
    _check_bound("axis_index", names)
    return axis_index_p.bind(axis_name=names)
