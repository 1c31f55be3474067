"""Operators and methods shared by `Array` and every `Tracer`.

Installing one set of methods on both classes is what makes a traced value behave
exactly like a concrete one: `x + 1`, `x @ w`, `x[0]`, `x.sum()` all bind primitives,
so they are evaluated, staged or transformed by whichever trace is current. Each family
module declares its own `ARRAY_METHODS` next to the functions they call.
"""

from __future__ import annotations

from funcgrad.core.trace import Tracer
from funcgrad.numpy import creation, indexing, products, reductions, shape_ops, sorting, ufuncs
from funcgrad.runtime.array import Array

__all__ = ["install"]

_FAMILIES = (creation, indexing, products, reductions, shape_ops, ufuncs, sorting)


def install() -> None:
    for cls in (Array, Tracer):
        for family in _FAMILIES:
            for name, method in family.ARRAY_METHODS.items():
                setattr(cls, name, method)
        # Elementwise __eq__ makes the classes unhashable, as NumPy arrays are.
        cls.__hash__ = None if cls is Array else Tracer.__hash__
