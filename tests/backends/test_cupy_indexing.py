"""The CUDA kernels' index arithmetic, checked without a GPU: the expressions codegen
renders to C are rendered to Python and evaluated with NumPy over every index, and must
reach exactly the elements NumPy's own views (transposed, sliced, reversed, broadcast)
and reductions reach."""

import math

import numpy as np
import pytest

from funcgrad.backends.cupy.indexing import (
    Const,
    Name,
    coordinates,
    offset,
    reduction_coordinates,
    row_count,
    to_c,
    to_python,
)

pytestmark = pytest.mark.eager_only("index arithmetic only; no jitted functions run")


def evaluate(expr, **names) -> np.ndarray:
    """The Python rendering of `expr`, evaluated with NumPy arrays bound to its names."""
    return np.asarray(eval(to_python(expr), {}, names))  # noqa: S307


def element_offsets(view: np.ndarray, base: np.ndarray) -> tuple[int, tuple]:
    """(first element's position in base, element strides) of a view of a 1-D base."""
    itemsize = base.itemsize
    start = (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // itemsize
    return start, tuple(s // itemsize for s in view.strides)


def views():
    base = np.arange(2 * 3 * 4 * 5, dtype=np.float32)
    block = base.reshape(2, 3, 4, 5)
    return base, {
        "contiguous": block,
        "transposed": block.transpose(3, 1, 0, 2),
        "sliced": block[:, 1:, ::2, 1:4],
        "reversed": block[::-1, :, ::-1],
        "reversed and strided": block[1, ::-2, 3, ::-3],
        "broadcast row": np.broadcast_to(block[0, 0, 0], (6, 5)),
        "broadcast column": np.broadcast_to(block[0, :, :1, 0], (3, 7)),
        "size-1 axes": block[:1, 2:3, :, :1],
        "scalar": block[1, 2, 3, 4, ...],
        "empty": block[:, :0],
    }


@pytest.mark.parametrize("name", list(views()[1]))
def test_reads_through_strides_reach_numpy_views_elements(name):
    base, table = views()
    view = np.asarray(table[name])
    start, strides = element_offsets(view, base)
    expr = offset(coordinates(Name("i"), view.shape), strides)
    flat = np.arange(view.size)
    got = base[start + evaluate(expr, i=flat)] if view.size else base[:0]
    np.testing.assert_array_equal(np.broadcast_to(got, flat.shape), view.ravel())


@pytest.mark.parametrize(
    "operand_shape, dims, shape",
    [
        ((5,), (1,), (4, 5)),  # a bias over rows
        ((4, 1), (0, 1), (4, 5)),  # keepdims column
        ((3,), (0,), (3, 2, 2)),
        ((2, 3), (0, 2), (2, 4, 3)),
        ((), (), (3, 3)),
        ((1, 1), (1, 2), (2, 1, 1)),
    ],
    ids=str,
)
def test_broadcast_in_dim_reads_match_numpy_broadcasting(operand_shape, dims, shape):
    """codegen's broadcast_in_dim: the operand's axes land on `dims`; size-1 axes read with
    stride 0."""
    operand = np.arange(math.prod(operand_shape), dtype=np.int64).reshape(operand_shape)
    point = coordinates(Name("i"), shape)
    strides = [s // 8 if n != 1 else 0 for s, n in zip(operand.strides, operand_shape)]
    expr = offset([point[d] for d in dims], strides)
    got = operand.ravel()[evaluate(expr, i=np.arange(math.prod(shape)))]
    expanded = [1] * len(shape)
    for d, n in zip(dims, operand_shape):
        expanded[d] = n
    want = np.broadcast_to(operand.reshape(expanded), shape).ravel()
    np.testing.assert_array_equal(np.broadcast_to(got, want.shape), want)


@pytest.mark.parametrize(
    "shape, reduced",
    [
        ((6, 7), (1,)),
        ((6, 7), (0,)),
        ((2, 3, 4), (1,)),
        ((2, 3, 4), (0, 2)),
        ((5,), (0,)),
        ((2, 3, 4), (0, 1, 2)),
        ((1, 4, 1), (1,)),
        ((3, 1, 4), (0, 1)),
    ],
    ids=str,
)
def test_reduction_layout_visits_each_point_once_in_numpy_row_order(shape, reduced):
    """Row r, position p: every point of the iteration space is visited exactly once, and
    summing by row gives NumPy's sum over the reduced axes in C order of the kept axes."""
    rows, per_row = row_count(shape, reduced), math.prod(shape[d] for d in reduced)
    row, position = np.meshgrid(np.arange(rows), np.arange(per_row), indexing="ij")
    coords = reduction_coordinates(Name("row"), Name("r"), shape, reduced)
    points = [np.broadcast_to(evaluate(c, row=row, r=position), row.shape) for c in coords]
    flat = np.ravel_multi_index(points, shape) if shape else np.zeros_like(row)
    assert sorted(flat.ravel().tolist()) == list(range(math.prod(shape)))
    x = np.random.default_rng(0).integers(-9, 9, size=shape)
    sums = x.ravel()[flat].sum(axis=1)
    np.testing.assert_array_equal(sums, x.sum(axis=reduced).ravel())


def test_c_and_python_renderings_agree_but_for_division_and_wide_literals():
    expr = offset(coordinates(Name("i"), (3, 4, 5)), (1, -20, 2**33))
    c, python = to_c(expr), to_python(expr)
    assert c.replace(" / ", " // ").replace(f"{2**33}LL", str(2**33)) == python
    assert "%" in c and "/" in c


def test_trivial_axes_cost_no_arithmetic():
    coords = coordinates(Name("i"), (1, 7, 1))
    assert coords[0] == Const(0) and coords[2] == Const(0)
    assert to_c(coords[1]) == "i"  # the only long axis: no division, no remainder
    assert to_c(offset(coords, (99, 1, 99))) == "i"
