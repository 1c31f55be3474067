"""Index arithmetic of generated CUDA kernels, as small expressions rendered two ways.

A kernel finds the elements it touches from a flat index: it splits the index into
coordinates over the iteration space and reads each input at the sum of coordinate times
stride (strides in elements, 0 along broadcast axes, negative for reversed views).
Reduction kernels split two indices, the row (the kept axes) and the position within the
row (the reduced axes). The same expression renders as C for the kernel and as Python for
the tests, which evaluate it with NumPy over every index and compare the elements it
reaches with the ones NumPy's own views reach: the indexing is checked without a GPU.

Coordinates are never negative, so C's truncating `/` and `%` agree with Python's `//`
and `%` on every value the kernels divide.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

__all__ = [
    "Index",
    "Name",
    "Const",
    "coordinates",
    "names_in",
    "offset",
    "reduction_coordinates",
    "row_count",
    "to_c",
    "to_python",
]


class Index:
    """An integer expression over named integers (a flat index, a loop counter)."""

    def __add__(self, other: "Index") -> "Index":
        if isinstance(other, Const) and other.value == 0:
            return self
        if isinstance(self, Const) and self.value == 0:
            return other
        return _Binary("+", self, other)

    def __mul__(self, factor: int) -> "Index":
        if factor == 0 or (isinstance(self, Const) and self.value == 0):
            return Const(0)
        if isinstance(self, Const):
            return Const(self.value * factor)
        return self if factor == 1 else _Binary("*", self, Const(factor))

    def __floordiv__(self, divisor: int) -> "Index":
        return self if divisor == 1 else _Binary("/", self, Const(divisor))

    def __mod__(self, divisor: int) -> "Index":
        return Const(0) if divisor == 1 else _Binary("%", self, Const(divisor))


@dataclass(frozen=True)
class Name(Index):
    name: str


@dataclass(frozen=True)
class Const(Index):
    value: int


@dataclass(frozen=True)
class _Binary(Index):
    op: str
    left: Index
    right: Index


def coordinates(flat: Index, shape: Sequence[int]) -> list[Index]:
    """The C-order coordinates of `flat` in `shape` (axes of size 1 are 0; the outermost
    axis needs no remainder, since `flat` is below the size).

    >>> [to_python(c) for c in coordinates(Name("i"), (4, 1, 5))]
    ['(i // 5)', '0', '(i % 5)']
    """
    coords: list[Index] = []
    rest, inner = flat, 1
    for axis in reversed(range(len(shape))):
        size = shape[axis]
        outermost = all(s == 1 for s in shape[:axis])
        if size == 1:
            coords.append(Const(0))
            continue
        position = rest // inner
        coords.append(position if outermost else position % size)
        inner *= size
    return coords[::-1]


def offset(coords: Sequence[Index], strides: Sequence[int]) -> Index:
    """Sum of coordinate times stride: where an array with these element strides keeps
    the element at these coordinates, relative to its first element.

    >>> to_c(offset(coordinates(Name("i"), (2, 3)), (1, 2)))   # a transposed (3, 2) array
    '((i / 3) + ((i % 3) * 2))'
    """
    total: Index = Const(0)
    for coord, stride in zip(coords, strides):
        total = total + coord * stride
    return total


def reduction_coordinates(
    row: Index, position: Index, shape: Sequence[int], reduced: Sequence[int]
) -> list[Index]:
    """Coordinates in `shape` of the point a reduction kernel visits: the kept axes (in
    order) are `row`'s coordinates in the kept shape, the reduced axes `position`'s in
    the reduced shape. The rows of the output are then C-ordered like the kept axes.

    >>> [to_c(c) for c in reduction_coordinates(Name("row"), Name("r"), (4, 5, 6), (1,))]
    ['(row / 6)', 'r', '(row % 6)']
    """
    kept = [d for d in range(len(shape)) if d not in reduced]
    kept_coords = coordinates(row, [shape[d] for d in kept])
    reduced_coords = coordinates(position, [shape[d] for d in reduced])
    coords: list[Index] = [Const(0)] * len(shape)
    for axis, coord in zip(kept, kept_coords):
        coords[axis] = coord
    for axis, coord in zip(reduced, reduced_coords):
        coords[axis] = coord
    return coords


def row_count(shape: Sequence[int], reduced: Sequence[int]) -> int:
    """How many rows (kept points) a reduction over `reduced` has."""
    return math.prod(shape[d] for d in range(len(shape)) if d not in reduced)


def names_in(expr: Index) -> set[str]:
    """The names `expr` reads."""
    if isinstance(expr, Name):
        return {expr.name}
    if isinstance(expr, _Binary):
        return names_in(expr.left) | names_in(expr.right)
    return set()


def to_c(expr: Index) -> str:
    """The expression as C (64-bit signed arithmetic in the kernels)."""
    return _render(expr, "/", lambda v: f"{v}LL" if abs(v) >= 2**31 else str(v))


def to_python(expr: Index) -> str:
    """The expression as Python, valid over NumPy integer arrays too."""
    return _render(expr, "//", str)


def _render(expr: Index, divide: str, literal) -> str:
    if isinstance(expr, Name):
        return expr.name
    if isinstance(expr, Const):
        return literal(expr.value) if expr.value >= 0 else f"({literal(expr.value)})"
    op = divide if expr.op == "/" else expr.op
    return f"({_render(expr.left, divide, literal)} {op} {_render(expr.right, divide, literal)})"
