"""Matrix products: matmul and dot, as dot_general with NumPy's shape rules."""

from __future__ import annotations

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax.linalg import dot_general
from funcgrad.lax.shapes import reshape as lax_reshape
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import broadcast_shapes, broadcast_to_shape, promote_dtypes
from funcgrad.numpy.ufuncs import multiply, reflected

__all__ = ["matmul", "dot"]


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


ARRAY_METHODS = {"__matmul__": matmul, "__rmatmul__": reflected(matmul), "dot": dot}
