"""Shared pieces of shape/dtype rules: the error every rule raises, and the rule of
elementwise primitives (equal shapes, with rank-0 operands broadcasting; equal dtypes
from an accepted set; weakly typed only if every operand is)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray
from funcgrad.core.source_info import user_location

__all__ = ["shape_error", "elementwise_rule", "check_axes", "KIND_NAMES"]

KIND_NAMES = {
    "b": "bool",
    "i": "signed integer",
    "u": "unsigned integer",
    "f": "floating",
    "c": "complex",
}


def shape_error(name: str, avals: Sequence[ShapedArray], problem: str, fix: str = "") -> TypeError:
    """A TypeError naming the primitive, its operands' types, the user's line and the fix."""
    operands = ", ".join(a.str_short() for a in avals)
    text = f"{name}: {problem}; operands were {operands} (at {user_location()})."
    return TypeError(f"{text} {fix}".rstrip())


def _check_kinds(name: str, avals, kinds: str) -> None:
    for aval in avals:
        if dtypes.dtype_kind(aval.dtype) not in kinds:
            accepted = ", ".join(KIND_NAMES[k] for k in kinds)
            raise shape_error(
                name,
                avals,
                f"dtype {aval.dtype.name} is not accepted (accepted: {accepted})",
                "Convert the operand with .astype(...) or funcgrad.lax.convert_element_type.",
            )


def elementwise_rule(name: str, kinds: str, result_dtype: np.dtype | None = None):
    """The abstract-eval rule of an elementwise primitive over dtypes of the given kinds.

    Results are memoized by operand avals: eager dispatch asks the same question often.
    """
    known: dict[tuple, ShapedArray] = {}

    def abstract_eval(*avals: ShapedArray) -> ShapedArray:
        out = known.get(avals)
        if out is None:
            out = known[avals] = check(*avals)
        return out

    def check(*avals: ShapedArray) -> ShapedArray:
        _check_kinds(name, avals, kinds)
        shapes = {a.shape for a in avals if a.shape}
        if len(shapes) > 1:
            raise shape_error(
                name,
                avals,
                "operand shapes must be equal (rank-0 operands broadcast)",
                "Broadcast explicitly (funcgrad.numpy functions broadcast like NumPy).",
            )
        if len({a.dtype for a in avals}) > 1:
            raise shape_error(
                name,
                avals,
                "operand dtypes must be equal",
                "Convert one operand with .astype(...) (funcgrad.numpy functions promote types).",
            )
        shape = shapes.pop() if shapes else ()
        if result_dtype is not None:
            return ShapedArray(shape, result_dtype)
        return ShapedArray(shape, avals[0].dtype, all(a.weak_type for a in avals))

    return abstract_eval


def check_axes(
    name: str, aval: ShapedArray, axes, what: str = "axes", operands=None
) -> tuple[int, ...]:
    """Validate a tuple of distinct, in-range, non-negative axes of `aval`.

    `operands` are the avals an error lists (all of the primitive's, by default just `aval`).
    """
    axes = tuple(axes)
    operands = operands or [aval]
    if any(not isinstance(a, (int, np.integer)) or not 0 <= a < aval.ndim for a in axes):
        raise shape_error(
            name,
            operands,
            f"{what} {axes} out of range for rank {aval.ndim}",
            f"Each axis must be in [0, {aval.ndim}).",
        )
    if len(set(axes)) != len(axes):
        raise shape_error(name, operands, f"{what} {axes} repeat an axis")
    return tuple(int(a) for a in axes)
