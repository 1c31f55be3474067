"""dot_general: the one contraction primitive (matmul, dot, einsum and tensordot are
built on it). Dimension numbers are ((lhs_contract, rhs_contract), (lhs_batch,
rhs_batch)); the result's axes are batch, then lhs free, then rhs free."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import check_axes, shape_error

__all__ = ["dot_general"]

dot_general_p = Primitive("dot_general")


def _free_axes(ndim: int, *used) -> list[int]:
    taken = {a for axes in used for a in axes}
    return [a for a in range(ndim) if a not in taken]


@dot_general_p.def_impl
def _dot_general_impl(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free_axes(lhs.ndim, lc, lb), _free_axes(rhs.ndim, rc, rb)
    batch = [lhs.shape[a] for a in lb]

    def size(shape, axes):
        return int(np.prod([shape[a] for a in axes], dtype=np.int64))

    # Bring both operands to (batch, rows, contracted) x (batch, contracted, cols), one matmul.
    lhs3 = np.transpose(lhs, [*lb, *lf, *lc]).reshape(
        size(lhs.shape, lb), size(lhs.shape, lf), size(lhs.shape, lc)
    )
    rhs3 = np.transpose(rhs, [*rb, *rc, *rf]).reshape(
        size(rhs.shape, rb), size(rhs.shape, rc), size(rhs.shape, rf)
    )
    out_dtype = preferred_element_type or lhs.dtype
    out = np.matmul(lhs3.astype(out_dtype, copy=False), rhs3.astype(out_dtype, copy=False))
    # NumPy computes bfloat16 products in float32; the result keeps the operands' dtype.
    out = out.astype(out_dtype, copy=False)
    return out.reshape([*batch, *(lhs.shape[a] for a in lf), *(rhs.shape[a] for a in rf)])


@dot_general_p.def_abstract_eval
def _dot_general_abstract_eval(
    lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers, precision, preferred_element_type
) -> ShapedArray:
    name, avals = "dot_general", [lhs, rhs]
    (lc, rc), (lb, rb) = dimension_numbers
    check_axes(name, lhs, (*lc, *lb), "lhs contracting and batch dimensions", avals)
    check_axes(name, rhs, (*rc, *rb), "rhs contracting and batch dimensions", avals)
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise shape_error(
            name,
            avals,
            f"dimension_numbers {dimension_numbers} pair different "
            "numbers of lhs and rhs dimensions",
        )
    for kind, left, right in (("contracting", lc, rc), ("batch", lb, rb)):
        for a, b in zip(left, right):
            if lhs.shape[a] != rhs.shape[b]:
                raise shape_error(
                    name,
                    avals,
                    f"{kind} dimension {a} of lhs (size {lhs.shape[a]}) does not "
                    f"match dimension {b} of rhs (size {rhs.shape[b]})",
                    "Check the operands' shapes: for x @ y the last axis of x must equal the "
                    "second-to-last axis of y.",
                )
    if lhs.dtype != rhs.dtype:
        raise shape_error(
            name, avals, "operand dtypes must be equal", "Convert one operand with .astype(...)."
        )
    if dtypes.dtype_kind(lhs.dtype) == "b":
        raise shape_error(
            name,
            avals,
            "bool operands cannot be contracted",
            "Convert them to a numeric dtype first.",
        )
    shape = [lhs.shape[a] for a in lb]
    shape += [lhs.shape[a] for a in _free_axes(lhs.ndim, lc, lb)]
    shape += [rhs.shape[a] for a in _free_axes(rhs.ndim, rc, rb)]
    out_dtype = preferred_element_type or lhs.dtype
    return ShapedArray(shape, out_dtype, lhs.weak_type and rhs.weak_type)


def _axes_tuple(axes) -> tuple[int, ...]:
    return tuple(int(a) for a in axes)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction, as in `jax.lax.dot_general`.

    >>> dot_general(x, y, (((1,), (0,)), ((), ())))   # matrix product  # doctest: +SKIP
    """
    lhs, rhs = coerce_scalars(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    numbers = ((_axes_tuple(lc), _axes_tuple(rc)), (_axes_tuple(lb), _axes_tuple(rb)))
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize_dtype(preferred_element_type)
    return dot_general_p.bind(
        lhs,
        rhs,
        dimension_numbers=numbers,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )
