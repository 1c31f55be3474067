"""Products of arrays with NumPy's shape rules, each one dot_general (or an elementwise
multiply for outer products): matmul, dot, vdot, inner, outer, tensordot, kron, cross."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import elementwise as ew
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax.linalg import dot_general
from funcgrad.lax.shapes import reshape as lax_reshape
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import (
    broadcast_arrays,
    broadcast_shapes,
    broadcast_to_shape,
    promote_dtypes,
)
from funcgrad.numpy.ufuncs import multiply, reflected, subtract

__all__ = ["matmul", "dot", "vdot", "inner", "outer", "tensordot", "kron", "cross"]


def _mismatch(name, a, b, axis_a, axis_b):
    return ValueError(
        f"{name}: shapes {a.shape} and {b.shape} are not aligned: size {a.shape[axis_a]} of "
        f"axis {axis_a % a.ndim} of the first != size {b.shape[axis_b]} of axis "
        f"{axis_b % b.ndim} of the second (at {user_location()}). Transpose or reshape an "
        "operand so the contracted sizes agree."
    )


@api_boundary
def matmul(a, b, /):
    """Matrix product with NumPy's rules: 1-d operands are vectors, leading axes broadcast."""
    a, b = promote_dtypes(asarray(a), asarray(b))
    a_aval, b_aval = get_aval(a), get_aval(b)
    if a_aval.ndim == 0 or b_aval.ndim == 0:
        raise ValueError(
            f"matmul: operands must be at least 1-d, got shapes {a_aval.shape} and "
            f"{b_aval.shape} (at {user_location()}); use * for scalars."
        )
    if a_aval.shape[-1] != b_aval.shape[-2 if b_aval.ndim > 1 else 0]:
        raise _mismatch("matmul", a_aval, b_aval, -1, -2 if b_aval.ndim > 1 else 0)
    a2 = a if a_aval.ndim > 1 else lax_reshape(a, (1, a_aval.shape[0]))
    b2 = b if b_aval.ndim > 1 else lax_reshape(b, (b_aval.shape[0], 1))
    a2_shape, b2_shape = get_aval(a2).shape, get_aval(b2).shape
    batch = broadcast_shapes("matmul", a2_shape[:-2], b2_shape[:-2])
    a2 = broadcast_to_shape(a2, batch + a2_shape[-2:])
    b2 = broadcast_to_shape(b2, batch + b2_shape[-2:])
    nb = len(batch)
    out = dot_general(a2, b2, (((nb + 1,), (nb,)), (tuple(range(nb)), tuple(range(nb)))))
    shape = list(batch)
    if a_aval.ndim > 1:
        shape.append(a2_shape[-2])
    if b_aval.ndim > 1:
        shape.append(b2_shape[-1])
    return out if tuple(shape) == get_aval(out).shape else lax_reshape(out, shape)


@api_boundary
def dot(a, b, /):
    """NumPy's dot: a sum product over the last axis of `a` and the second-to-last of `b`."""
    a, b = promote_dtypes(asarray(a), asarray(b))
    a_aval, b_aval = get_aval(a), get_aval(b)
    if a_aval.ndim == 0 or b_aval.ndim == 0:
        return multiply(a, b)
    b_axis = b_aval.ndim - 2 if b_aval.ndim > 1 else 0
    if a_aval.shape[-1] != b_aval.shape[b_axis]:
        raise _mismatch("dot", a_aval, b_aval, -1, b_axis)
    return dot_general(a, b, (((a_aval.ndim - 1,), (b_axis,)), ((), ())))


def _contract(a, b, axes_a, axes_b, preferred_element_type=None):
    numbers = ((tuple(axes_a), tuple(axes_b)), ((), ()))
    if get_aval(a).dtype == np.bool_:  # a sum of products of bools is "any of all"
        count = dot_general(
            ew.convert_element_type(a, np.int32), ew.convert_element_type(b, np.int32), numbers
        )
        return ew.ne(count, 0)
    return dot_general(a, b, numbers, preferred_element_type=preferred_element_type)


def _check_sizes(name, a, b, axes_a, axes_b) -> None:
    for axis_a, axis_b in zip(axes_a, axes_b):
        if a.shape[axis_a] != b.shape[axis_b]:
            raise ValueError(
                f"{name}: shape-mismatch for sum: axis {axis_a} of the first operand (shape "
                f"{a.shape}) has size {a.shape[axis_a]} but axis {axis_b} of the second "
                f"(shape {b.shape}) has size {b.shape[axis_b]} (at {user_location()}). The "
                "summed axes must have equal sizes."
            )


def _flat(x):
    return lax_reshape(x, (get_aval(x).size,))


@api_boundary
def vdot(a, b, /, *, precision=None, preferred_element_type=None):
    """The dot product of the flattened arrays, conjugating `a` if it is complex.

    >>> vdot(jnp.array([1.0, 2.0]), jnp.array([3.0, 4.0]))  # doctest: +SKIP
    Array(11., dtype=float32)
    """
    a, b = promote_dtypes(asarray(a), asarray(b))
    a_aval, b_aval = get_aval(a), get_aval(b)
    if a_aval.size != b_aval.size:
        raise ValueError(
            f"vdot: the operands have {a_aval.size} and {b_aval.size} elements (shapes "
            f"{a_aval.shape} and {b_aval.shape}) (at {user_location()}); they need equal sizes."
        )
    if dtypes.dtype_kind(a_aval.dtype) == "c":
        a = ew.conj(a)
    return _contract(_flat(a), _flat(b), (0,), (0,), preferred_element_type)


@api_boundary
def inner(a, b, /, *, precision=None, preferred_element_type=None):
    """Sum product over the last axes of `a` and `b` (a product when either is 0-d).

    >>> inner(jnp.ones((2, 3)), jnp.ones(3))  # doctest: +SKIP
    Array([3., 3.], dtype=float32)
    """
    a, b = promote_dtypes(asarray(a), asarray(b))
    a_aval, b_aval = get_aval(a), get_aval(b)
    if a_aval.ndim == 0 or b_aval.ndim == 0:
        return multiply(a, b)
    axes_a, axes_b = (a_aval.ndim - 1,), (b_aval.ndim - 1,)
    _check_sizes("inner", a_aval, b_aval, axes_a, axes_b)
    return _contract(a, b, axes_a, axes_b, preferred_element_type)


@api_boundary
def outer(a, b, /, out=None):
    """The outer product of the flattened arrays: result[i, j] = a[i] * b[j].

    >>> outer(jnp.array([1.0, 2.0]), jnp.array([1.0, 10.0, 100.0])).shape  # doctest: +SKIP
    (2, 3)
    """
    if out is not None:
        raise TypeError(f"outer: the 'out' argument is not supported (at {user_location()}).")
    a, b = asarray(a), asarray(b)
    a_column = lax_reshape(a, (get_aval(a).size, 1))
    b_row = lax_reshape(b, (1, get_aval(b).size))
    return multiply(a_column, b_row)


def _tensordot_axes(axes, a, b):
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        count = int(axes)
        if count < 0 or count > min(a.ndim, b.ndim):
            raise ValueError(
                f"tensordot: axes={count} must be between 0 and the smaller rank of the "
                f"operands (shapes {a.shape} and {b.shape}) (at {user_location()})."
            )
        return tuple(range(a.ndim - count, a.ndim)), tuple(range(count))
    try:
        axes_a, axes_b = axes
    except (TypeError, ValueError):
        raise TypeError(
            f"tensordot: axes must be an int or a pair of axis sequences, got {axes!r} "
            f"(at {user_location()})."
        ) from None
    axes_a = (axes_a,) if isinstance(axes_a, (int, np.integer)) else tuple(axes_a)
    axes_b = (axes_b,) if isinstance(axes_b, (int, np.integer)) else tuple(axes_b)
    if len(axes_a) != len(axes_b):
        raise ValueError(
            f"tensordot: the axis lists {axes_a} and {axes_b} have different lengths "
            f"(at {user_location()})."
        )
    normalized = []
    for axes_x, x in ((axes_a, a), (axes_b, b)):
        out = []
        for axis in axes_x:
            if not -x.ndim <= axis < x.ndim:
                raise np.exceptions.AxisError(
                    f"tensordot: axis {axis} is out of bounds for an operand of shape "
                    f"{x.shape} (at {user_location()})."
                )
            out.append(int(axis) % x.ndim)
        if len(set(out)) != len(out):
            raise ValueError(f"tensordot: repeated axis in {axes_x} (at {user_location()}).")
        normalized.append(tuple(out))
    return tuple(normalized)


@api_boundary
def tensordot(a, b, axes=2, *, precision=None, preferred_element_type=None):
    """Sum products over the given axes: `axes=N` pairs the last N axes of `a` with the
    first N of `b`; `axes=(axes_a, axes_b)` names them. The result has a's remaining axes,
    then b's.

    >>> tensordot(jnp.ones((2, 3, 4)), jnp.ones((3, 4, 5)), axes=2).shape  # doctest: +SKIP
    (2, 5)
    """
    a, b = promote_dtypes(asarray(a), asarray(b))
    a_aval, b_aval = get_aval(a), get_aval(b)
    axes_a, axes_b = _tensordot_axes(axes, a_aval, b_aval)
    _check_sizes("tensordot", a_aval, b_aval, axes_a, axes_b)
    return _contract(a, b, axes_a, axes_b, preferred_element_type)


@api_boundary
def kron(a, b, /):
    """The Kronecker product: blocks a[i, j, ...] * b, tiled in a's layout.

    >>> kron(jnp.eye(2), jnp.ones((2, 2))).shape  # doctest: +SKIP
    (4, 4)
    """
    a, b = asarray(a), asarray(b)
    a_shape, b_shape = get_aval(a).shape, get_aval(b).shape
    ndim = max(len(a_shape), len(b_shape))
    a_shape = (1,) * (ndim - len(a_shape)) + a_shape
    b_shape = (1,) * (ndim - len(b_shape)) + b_shape
    # Interleave axes: a as (a0, 1, a1, 1, ...), b as (1, b0, 1, b1, ...), then merge pairs.
    a = lax_reshape(a, [n for size in a_shape for n in (size, 1)])
    b = lax_reshape(b, [n for size in b_shape for n in (1, size)])
    out = multiply(a, b)
    return lax_reshape(out, [m * n for m, n in zip(a_shape, b_shape)])


def _move_axis_last(name, x, axis):
    ndim = get_aval(x).ndim
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an operand of dimension {ndim} "
            f"(at {user_location()})."
        )
    axis = int(axis) % ndim
    order = [i for i in range(ndim) if i != axis] + [axis]
    return x if axis == ndim - 1 else lax_shapes.transpose(x, order)


def _component(x, k):
    shape = get_aval(x).shape
    start = [0] * len(shape)
    start[-1] = k
    piece = lax_shapes.slice(x, start, (*shape[:-1], k + 1))
    return lax_reshape(piece, shape[:-1])


@api_boundary
def cross(a, b, axisa: int = -1, axisb: int = -1, axisc: int = -1, axis=None):
    """The cross product of 3-vectors (or 2-vectors, taking z = 0) along the given axes,
    broadcasting the others. Two 2-vectors give the z component only.

    >>> cross(jnp.array([1.0, 0, 0]), jnp.array([0.0, 1, 0]))  # doctest: +SKIP
    Array([0., 0., 1.], dtype=float32)
    """
    if axis is not None:
        axisa = axisb = axisc = axis
    a, b = promote_dtypes(asarray(a), asarray(b))
    a = _move_axis_last("cross", a, axisa)
    b = _move_axis_last("cross", b, axisb)
    a_len, b_len = get_aval(a).shape[-1], get_aval(b).shape[-1]
    if a_len not in (2, 3) or b_len not in (2, 3):
        raise ValueError(
            f"cross: incompatible dimensions for cross product (dimension must be 2 or 3); "
            f"the vector axes have sizes {a_len} and {b_len} (shapes {get_aval(a).shape} and "
            f"{get_aval(b).shape} after moving them last) (at {user_location()})."
        )
    ax, ay = _component(a, 0), _component(a, 1)
    bx, by = _component(b, 0), _component(b, 1)
    z = multiply(ax, by) - multiply(ay, bx)
    if a_len == 2 and b_len == 2:
        return z
    az = _component(a, 2) if a_len == 3 else None
    bz = _component(b, 2) if b_len == 3 else None

    def times(u, v):
        return None if u is None or v is None else multiply(u, v)

    def minus(u, v):
        if v is None:
            return u
        return ew.neg(v) if u is None else subtract(u, v)

    x = minus(times(ay, bz), times(az, by))
    y = minus(times(az, bx), times(ax, bz))
    parts = broadcast_arrays("cross", x, y, z)
    batch = get_aval(parts[0]).shape
    stacked = lax_shapes.concatenate([lax_reshape(p, (*batch, 1)) for p in parts], len(batch))
    ndim = len(batch) + 1
    if not -ndim <= axisc < ndim:
        raise np.exceptions.AxisError(
            f"cross: axisc {axisc} is out of bounds for a result of dimension {ndim} "
            f"(at {user_location()})."
        )
    position = int(axisc) % ndim
    if position == ndim - 1:
        return stacked
    order = list(range(ndim - 1))
    order.insert(position, ndim - 1)
    return lax_shapes.transpose(stacked, order)


ARRAY_METHODS = {"__matmul__": matmul, "__rmatmul__": reflected(matmul), "dot": dot}
