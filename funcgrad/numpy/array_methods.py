"""Operators and methods shared by `Array` and every `Tracer`.

Installing one set of methods on both classes is what makes a traced value behave
exactly like a concrete one: `x + 1`, `x @ w`, `x[0]`, `x.sum()` all bind primitives,
so they are evaluated, staged or transformed by whichever trace is current.
"""

from __future__ import annotations

from funcgrad.core.source_info import api_boundary
from funcgrad.core.trace import Tracer
from funcgrad.lax.elementwise import convert_element_type
from funcgrad.numpy import products, reductions, shape_ops, ufuncs
from funcgrad.numpy.indexing import getitem
from funcgrad.runtime.array import SETITEM_MESSAGE, Array

__all__ = ["install"]


def _swap(fun):
    def reflected(self, other):
        return fun(other, self)

    return reflected


def _setitem(self, idx, value):
    raise TypeError(SETITEM_MESSAGE)


def _reshape(self, *shape):
    return shape_ops.reshape(self, shape[0] if len(shape) == 1 else shape)


def _transpose(self, *axes):
    return shape_ops.transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


_METHODS = {
    "__add__": ufuncs.add,
    "__radd__": _swap(ufuncs.add),
    "__sub__": ufuncs.subtract,
    "__rsub__": _swap(ufuncs.subtract),
    "__mul__": ufuncs.multiply,
    "__rmul__": _swap(ufuncs.multiply),
    "__truediv__": ufuncs.true_divide,
    "__rtruediv__": _swap(ufuncs.true_divide),
    "__pow__": ufuncs.power,
    "__rpow__": _swap(ufuncs.power),
    "__matmul__": products.matmul,
    "__rmatmul__": _swap(products.matmul),
    "__neg__": ufuncs.negative,
    "__pos__": ufuncs.positive,
    "__eq__": ufuncs.equal,
    "__ne__": ufuncs.not_equal,
    "__lt__": ufuncs.less,
    "__le__": ufuncs.less_equal,
    "__gt__": ufuncs.greater,
    "__ge__": ufuncs.greater_equal,
    "__getitem__": api_boundary(getitem),
    "__setitem__": _setitem,
    "T": property(lambda self: shape_ops.transpose(self)),
    "reshape": _reshape,
    "transpose": _transpose,
    "astype": lambda self, dtype: convert_element_type(self, dtype),
    "sum": reductions.sum,
    "max": reductions.max,
    "mean": reductions.mean,
    "dot": products.dot,
}


def install() -> None:
    for cls in (Array, Tracer):
        for name, method in _METHODS.items():
            setattr(cls, name, method)
        # Elementwise __eq__ makes the classes unhashable, as NumPy arrays are.
        cls.__hash__ = None if cls is Array else Tracer.__hash__
