"""Reductions over a set of axes: reduce_sum and reduce_max."""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import KIND_NAMES, check_axes, shape_error

__all__ = ["reduce_sum", "reduce_max"]


def _reduction_rule(name: str, kinds: str):
    def abstract_eval(operand: ShapedArray, *, axes) -> ShapedArray:
        if dtypes.dtype_kind(operand.dtype) not in kinds:
            accepted = ", ".join(KIND_NAMES[k] for k in kinds)
            raise shape_error(
                name,
                [operand],
                f"dtype {operand.dtype.name} is not accepted (accepted: {accepted})",
            )
        axes = check_axes(name, operand, axes)
        shape = [n for i, n in enumerate(operand.shape) if i not in axes]
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    return abstract_eval


def _lowest(dtype: np.dtype):
    if dtype.kind == "b":
        return False
    if dtypes.is_integer(dtype):
        return np.iinfo(dtype).min
    return -np.inf


reduce_sum_p = Primitive("reduce_sum")
reduce_sum_p.def_abstract_eval(_reduction_rule("reduce_sum", "iufc"))


@reduce_sum_p.def_impl
def _reduce_sum_impl(operand, *, axes):
    return np.sum(operand, axis=axes, dtype=operand.dtype)


reduce_max_p = Primitive("reduce_max")
reduce_max_p.def_abstract_eval(_reduction_rule("reduce_max", "biuf"))


@reduce_max_p.def_impl
def _reduce_max_impl(operand, *, axes):
    # The identity of max is the dtype's lowest value, so empty reductions are defined.
    return np.max(operand, axis=axes, initial=_lowest(operand.dtype))


def _normalize_axes(operand, axes) -> tuple[int, ...]:
    ndim = get_aval(operand).ndim
    return tuple(int(a) + ndim if a < 0 else int(a) for a in axes)


def reduce_sum(operand, axes):
    """Sum over `axes` (a sequence of axis numbers; negative ones count from the end)."""
    (operand,) = coerce_scalars(operand)
    return reduce_sum_p.bind(operand, axes=_normalize_axes(operand, axes))


def reduce_max(operand, axes):
    """Maximum over `axes`; -inf (or the lowest integer) for an empty reduction."""
    (operand,) = coerce_scalars(operand)
    return reduce_max_p.bind(operand, axes=_normalize_axes(operand, axes))
