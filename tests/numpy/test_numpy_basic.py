"""funcgrad.numpy against NumPy: ufuncs with broadcasting, JAX's type promotion and weak
types, reductions, matrix products, shape manipulation, array creation, basic indexing
(a hypothesis property against NumPy's own indexing) and the errors a user meets.

Oracles: NumPy for values and shapes; `tests/data/jax_promotion.json` (generated with
JAX 0.10.2) for result dtypes and weak types of binary operations; hand-derived answers
for JAX's own rules (sum dtypes, clamped indices, weak types of creation functions).
"""

from __future__ import annotations

import json
import operator
import pathlib

import ml_dtypes
import numpy as np
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I8, I16, I32, U8 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8))
BOOL = np.dtype(np.bool_)
PROMOTION_TABLE = json.loads(
    (pathlib.Path(__file__).parent.parent / "data" / "jax_promotion.json").read_text()
)


def values(x) -> np.ndarray:
    """The NumPy value of a funcgrad array, checking on the way that it is one."""
    assert isinstance(x, jnp.ndarray), f"expected a funcgrad Array, got {type(x).__name__}"
    return np.asarray(x)


def assert_location(err: BaseException, fun) -> None:
    """The message names this file and the line of `fun` (a one-line lambda)."""
    assert f"test_numpy_basic.py:{fun.__code__.co_firstlineno}" in str(err), str(err)


@pytest.fixture(params=["x32", "x64"])
def precision(request):
    previous = funcgrad.config.jax_enable_x64
    funcgrad.config.update("jax_enable_x64", request.param == "x64")
    try:
        yield request.param
    finally:
        funcgrad.config.update("jax_enable_x64", previous)


# ---------------------------------------------------------------------------------------
# Ufuncs with broadcasting

BROADCAST_SHAPES = [
    ((3, 1), (4,)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((0,), (0,)),
    ((0, 3), (3,)),
    ((2, 1, 3), (4, 1)),
    ((5,), (1,)),
    ((), ()),
]

# name, NumPy reference, domain of the operands, result: "same", "inexact" or "bool"
BINARY_UFUNCS = [
    ("add", np.add, (-5, 5), "same"),
    ("subtract", np.subtract, (-5, 5), "same"),
    ("multiply", np.multiply, (-5, 5), "same"),
    ("maximum", np.maximum, (-5, 5), "same"),
    ("true_divide", np.true_divide, (1, 5), "inexact"),
    ("divide", np.divide, (1, 5), "inexact"),
    ("power", np.power, (1, 3), "same"),
    ("equal", np.equal, (-2, 2), "bool"),
    ("not_equal", np.not_equal, (-2, 2), "bool"),
    ("less", np.less, (-2, 2), "bool"),
    ("less_equal", np.less_equal, (-2, 2), "bool"),
    ("greater", np.greater, (-2, 2), "bool"),
    ("greater_equal", np.greater_equal, (-2, 2), "bool"),
]
UNARY_UFUNCS = [
    ("exp", np.exp, (-3, 3), "inexact"),
    ("log", np.log, (1, 5), "inexact"),
    ("tanh", np.tanh, (-3, 3), "inexact"),
    ("sin", np.sin, (-3, 3), "inexact"),
    ("cos", np.cos, (-3, 3), "inexact"),
    ("negative", np.negative, (-5, 5), "same"),
]
# int32 operands of these are a known funcgrad bug (see test_power_of_integers).


def _operand(rng, shape, dtype, domain):
    low, high = domain
    if dtype == I32:
        return rng.integers(low, high + 1, size=shape).astype(I32)
    # Whole numbers half the time, so equality comparisons meet ties.
    return rng.uniform(low, high, size=shape).round(int(rng.integers(0, 2))).astype(F32)


def _expected_dtype(result: str, dtype: np.dtype) -> np.dtype:
    return {"same": dtype, "bool": BOOL, "inexact": F32}[result]


def _compare(got, want, dtype):
    got_values = values(got)
    assert got_values.shape == np.shape(want)
    if dtype == F32:
        np.testing.assert_allclose(got_values, want, rtol=3e-6, atol=1e-6)
    else:
        np.testing.assert_array_equal(got_values, want)


@pytest.mark.parametrize(
    "name, reference, domain, result", BINARY_UFUNCS, ids=[u[0] for u in BINARY_UFUNCS]
)
def test_binary_ufunc_broadcasts_like_numpy(name, reference, domain, result):
    rng = np.random.default_rng(len(name))
    for dtype in (F32, I32):
        for lhs_shape, rhs_shape in BROADCAST_SHAPES:
            x, y = _operand(rng, lhs_shape, dtype, domain), _operand(rng, rhs_shape, dtype, domain)
            got = getattr(jnp, name)(x, y)
            want = reference(x.astype(np.float64), y.astype(np.float64))
            assert got.dtype == _expected_dtype(result, dtype), (dtype, lhs_shape, rhs_shape)
            assert not got.weak_type
            _compare(got, want, got.dtype)


@pytest.mark.parametrize(
    "name, reference, domain, result", UNARY_UFUNCS, ids=[u[0] for u in UNARY_UFUNCS]
)
def test_unary_ufunc_matches_numpy(name, reference, domain, result):
    rng = np.random.default_rng(len(name))
    for dtype in (F32, I32):
        for shape in [(), (0,), (7,), (2, 3)]:
            x = _operand(rng, shape, dtype, domain)
            got = getattr(jnp, name)(x)
            assert got.dtype == _expected_dtype(result, dtype)
            _compare(got, reference(x.astype(np.float64)), got.dtype)


OPERATORS = [
    operator.add,
    operator.sub,
    operator.mul,
    operator.truediv,
    operator.pow,
    operator.eq,
    operator.ne,
    operator.lt,
    operator.le,
    operator.gt,
    operator.ge,
]


@pytest.mark.parametrize("op", OPERATORS, ids=lambda op: op.__name__)
def test_operators_and_reflected_operators(op):
    rng = np.random.default_rng(0)
    x = rng.integers(1, 4, size=(2, 3)).astype(F32)
    y = rng.integers(1, 4, size=(3,)).astype(F32)
    fx = jnp.asarray(x)
    want = op(x.astype(np.float64), y.astype(np.float64))
    for got in (op(fx, y), op(fx, jnp.asarray(y))):
        assert got.dtype == (BOOL if want.dtype == BOOL else F32)
        _compare(got, want, got.dtype)
    # Python scalar and NumPy array on the left use the reflected operators.
    _compare(op(2.0, fx), op(2.0, x.astype(np.float64)), op(2.0, fx).dtype)
    reflected = op(y, fx)
    assert isinstance(reflected, jnp.ndarray)
    _compare(reflected, op(y.astype(np.float64), x.astype(np.float64)), reflected.dtype)


def test_positive_returns_an_array():
    x = np.array([1.5, -2.0], np.float32)
    got = jnp.positive(x)
    assert isinstance(got, jnp.ndarray) and values(got).tolist() == [1.5, -2.0]


def test_unary_operators():
    x = np.array([[1.5, -2.0], [0.0, 3.0]], np.float32)
    assert values(-jnp.asarray(x)).tolist() == (-x).tolist()
    assert values(+jnp.asarray(x)).tolist() == x.tolist()


def test_power_of_integers():
    got = jnp.power(np.array([2, 3, -2], np.int32), np.array([3, 2, 3], np.int32))
    assert got.dtype == I32 and values(got).tolist() == [8, 9, -8]


def test_add_of_bools_is_logical_or():
    got = jnp.add(np.array([True, True, False, False]), np.array([True, False, True, False]))
    assert got.dtype == BOOL and values(got).tolist() == [True, True, True, False]


def test_true_divide_of_integers_gives_float32():
    x, y = np.array([7, -7, 1, 0], np.int32), np.array([2, 2, 3, 5], np.int32)
    for got in (jnp.true_divide(x, y), jnp.divide(x, y), jnp.asarray(x) / y):
        assert got.dtype == F32 and not got.weak_type
        np.testing.assert_allclose(values(got), [3.5, -3.5, 1 / 3, 0.0], rtol=1e-7)
    scalar = jnp.true_divide(3, 2)
    assert (scalar.dtype, scalar.weak_type, float(scalar)) == (F32, True, 1.5)
    small = jnp.true_divide(np.array([7], np.int8), np.array([2], np.int8))
    assert small.dtype == F32 and values(small).tolist() == [3.5]


def test_where_broadcasts_and_promotes():
    cond = np.array([[True], [False], [True]])
    x = np.arange(4, dtype=np.float32)
    got = jnp.where(cond, x, 0)
    assert got.dtype == F32 and not got.weak_type
    np.testing.assert_array_equal(values(got), np.where(cond, x, 0))
    # A non-bool condition means "nonzero"; int32 with a weak float promotes to float32.
    ints = np.array([1, 2, 3], np.int32)
    got = jnp.where(np.array([1, 0, 2]), ints, 2.5)
    assert got.dtype == F32
    assert values(got).tolist() == [1.0, 2.5, 3.0]
    got = jnp.where(np.array([False, True]), np.array([1, 2], np.int8), np.array([3, 4], np.uint8))
    assert got.dtype == I16 and values(got).tolist() == [3, 2]
    empty = jnp.where(np.zeros((0, 2), bool), 1.0, np.ones(2, np.float32))
    assert empty.shape == (0, 2) and empty.dtype == F32


# ---------------------------------------------------------------------------------------
# Type promotion and weak types


def _promotion_operand(spec: str):
    kind, name = spec.split(":")
    if kind == "weak":
        return {"int": 3, "float": 2.5, "complex": 1 + 2j}[name]
    return np.ones((2,), BF16 if name == "bfloat16" else np.dtype(name))


def _promotion_rows():
    lefts = sorted({key.split("|")[0] for key in PROMOTION_TABLE["x32"]})
    return lefts


@pytest.mark.parametrize("left", _promotion_rows())
def test_binary_promotion_matches_jax_table(precision, left):
    table = PROMOTION_TABLE[precision]
    checked, mismatches = 0, []
    for key, (dtype, weak) in table.items():
        if not key.startswith(left + "|"):
            continue
        a, b = (_promotion_operand(spec) for spec in key.split("|"))
        got = jnp.add(a, b)
        checked += 1
        if (got.dtype.name, got.weak_type) != (dtype, weak):
            mismatches.append(
                f"{key}: JAX gives {dtype} weak={weak}, funcgrad "
                f"{got.dtype.name} weak={got.weak_type}"
            )
    assert checked > 0
    assert not mismatches, "\n".join(mismatches)


PROMOTION_CASES = [
    (
        "float16_plus_python_float",
        lambda: np.array([1.0, 0.5], np.float16) + jnp.asarray(2.0),
        F16,
        False,
        [3.0, 2.5],
    ),
    (
        "float16_array_plus_2.0",
        lambda: jnp.asarray(np.array([1.0, 0.5], np.float16)) + 2.0,
        F16,
        False,
        [3.0, 2.5],
    ),
    (
        "int32_plus_2.5",
        lambda: jnp.asarray(np.array([1, 2], np.int32)) + 2.5,
        F32,
        True,
        [3.5, 4.5],
    ),
    (
        "int8_plus_uint8",
        lambda: jnp.add(np.array([-100, 100], np.int8), np.array([200, 250], np.uint8)),
        I16,
        False,
        [100, 350],
    ),
    (
        "bfloat16_plus_float16",
        lambda: jnp.add(np.array([1.5], BF16), np.array([0.25], F16)),
        F32,
        False,
        [1.75],
    ),
    (
        "numpy_scalar_is_strong",
        lambda: jnp.add(np.float32(2.0), np.array([1.0], F16)),
        F32,
        False,
        [3.0],
    ),
    (
        "python_bool_is_strong_bool",
        lambda: jnp.add(np.array([1, 2], np.int8), True),
        I8,
        False,
        [2, 3],
    ),
    ("bool_plus_python_int", lambda: jnp.asarray(True) + 1, I32, True, 2),
    ("two_python_floats", lambda: jnp.add(2.0, 0.5), F32, True, 2.5),
    (
        "python_int_adopts_uint8",
        lambda: jnp.asarray(np.array([250], np.uint8)) + 3,
        U8,
        False,
        [253],
    ),
]


@pytest.mark.parametrize(
    "fun, dtype, weak, expected", [pytest.param(*case[1:], id=case[0]) for case in PROMOTION_CASES]
)
def test_promotion_cases(fun, dtype, weak, expected):
    got = fun()
    assert (got.dtype, got.weak_type) == (dtype, weak)
    np.testing.assert_array_equal(values(got).astype(np.float64), np.asarray(expected, np.float64))


ASARRAY_CASES = [
    ("python_float", 2.0, F32, True),
    ("python_int", 2, I32, True),
    ("python_bool", True, BOOL, False),
    ("python_complex", 1 + 2j, np.dtype(np.complex64), True),
    ("numpy_float32_scalar", np.float32(2.0), F32, False),
    ("numpy_0d_float64", np.array(2.0), F32, False),
    ("float_list", [1.0, 2.0], F32, False),
    ("int_list", [1, 2], I32, False),
    ("mixed_list", [1, 2.5], F32, False),
    ("bool_list", [True, False], BOOL, False),
    ("int64_array", np.array([1, 2], np.int64), I32, False),
    ("uint8_array", np.array([1, 2], np.uint8), U8, False),
    ("bfloat16_array", np.array([1, 2], BF16), BF16, False),
]


@pytest.mark.parametrize(
    "data, dtype, weak", [pytest.param(*case[1:], id=case[0]) for case in ASARRAY_CASES]
)
def test_asarray_dtype_and_weak_type(data, dtype, weak):
    got = jnp.asarray(data)
    assert (got.dtype, got.weak_type) == (dtype, weak)
    np.testing.assert_array_equal(values(got), np.asarray(data).astype(dtype))
    assert jnp.array(data).aval == got.aval


@pytest.mark.eager_only("a jitted call returns new Arrays, never its argument object")
def test_asarray_of_an_array_is_that_array():
    x = jnp.asarray([1.0, 2.0])
    assert jnp.asarray(x) is x
    converted = jnp.asarray(x, dtype=jnp.int32)
    assert converted.dtype == I32 and values(converted).tolist() == [1, 2]


def test_dtype_constructor_makes_an_array():
    got = jnp.float32(2.0)
    assert isinstance(got, jnp.ndarray) and got.dtype == F32 and not got.weak_type


# ---------------------------------------------------------------------------------------
# Reductions

AXES = [None, 0, -1, 2, (0, 2), (-1, 0), ()]


@pytest.mark.parametrize("axis", AXES, ids=repr)
@pytest.mark.parametrize("name", ["sum", "max", "mean"])
def test_reduction_axes_and_keepdims_match_numpy(name, axis):
    rng = np.random.default_rng(3)
    x = rng.uniform(-2, 2, size=(2, 3, 4)).astype(np.float32)
    for keepdims in (False, True):
        got = getattr(jnp, name)(x, axis=axis, keepdims=keepdims)
        want = getattr(np, name)(x.astype(np.float64), axis=axis, keepdims=keepdims)
        assert got.dtype == F32 and got.shape == want.shape
        np.testing.assert_allclose(values(got), want, rtol=1e-6, atol=1e-6)
        method = getattr(jnp.asarray(x), name)(axis=axis, keepdims=keepdims)
        np.testing.assert_array_equal(values(method), values(got))
    ints = rng.integers(-50, 50, size=(2, 3, 4)).astype(np.int32)
    if name != "mean":
        got = getattr(jnp, name)(ints, axis=axis)
        assert got.dtype == I32
        np.testing.assert_array_equal(values(got), getattr(np, name)(ints, axis=axis))


def test_reductions_of_scalars_and_empty_arrays():
    assert float(jnp.sum(np.float32(3.0))) == 3.0
    assert values(jnp.sum(np.zeros((0, 3), np.float32), axis=0)).tolist() == [0.0] * 3
    assert float(jnp.sum(np.zeros((0,), np.float32))) == 0.0
    assert jnp.max(np.zeros((0, 3), np.float32), axis=1).shape == (0,)
    mean = jnp.mean(np.array([1, 2, 4], np.int32))
    assert mean.dtype == F32 and float(mean) == pytest.approx(7 / 3)
    assert jnp.mean(np.array([1, 2], np.float16)).dtype == F16


SUM_DTYPES = [
    (BOOL, I32),
    (U8, np.dtype(np.uint32)),
    (I8, I32),
    (I16, I32),
    (np.dtype(np.uint16), np.dtype(np.uint32)),
    (I32, I32),
    (F16, F16),
    (BF16, BF16),
    (F32, F32),
]


@pytest.mark.parametrize("dtype, sum_dtype", SUM_DTYPES, ids=lambda d: d.name)
def test_sum_dtype_follows_jax(dtype, sum_dtype):
    data = [1, 1, 0] if dtype == BOOL else ([120, 100, 60] if dtype.kind in "iu" else [1.5, 2, 4])
    x = np.array(data, dtype)
    got = jnp.sum(x)
    assert got.dtype == sum_dtype
    assert float(got) == sum(float(v) for v in data)  # no wrap-around in the wider type
    assert jnp.max(x).dtype == dtype


def test_reduction_axis_errors():
    x = np.ones((2, 3), np.float32)
    cases = [
        lambda: jnp.sum(x, axis=2),
        lambda: jnp.max(x, axis=-3),
        lambda: jnp.mean(x, axis=(0, 5)),
        lambda: jnp.asarray(x).sum(axis=7),
    ]
    for fun in cases:
        with pytest.raises(np.exceptions.AxisError) as info:
            fun()
        assert_location(info.value, fun)
    with pytest.raises(ValueError, match="zero-size"):
        jnp.max(np.zeros((0, 3), np.float32))


# ---------------------------------------------------------------------------------------
# Matrix products

MATMUL_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3), (3, 4)),
    ((3, 2), (2, 3)),
    ((5, 2, 3), (3, 4)),
    ((2, 3), (5, 3, 4)),
    ((2, 1, 2, 3), (5, 3, 4)),
    ((3,), (5, 3, 4)),
    ((5, 2, 3), (3,)),
    ((0, 3), (3, 2)),
    ((2, 0), (0, 3)),
    ((1, 2, 3), (4, 3, 1)),
]
DOT_SHAPES = [
    ((3,), (3,)),
    ((2, 3), (3, 4)),
    ((3, 2), (2, 3)),
    ((2, 3), (3,)),
    ((3,), (3, 4)),
    ((2, 3, 4), (5, 4, 6)),
    ((4,), (5, 4, 6)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((0, 3), (3, 2)),
]


def _product_operands(lhs_shape, rhs_shape, dtype):
    rng = np.random.default_rng(len(lhs_shape) * 10 + len(rhs_shape))
    return (
        rng.integers(-3, 4, size=lhs_shape).astype(dtype),
        rng.integers(-3, 4, size=rhs_shape).astype(dtype),
    )


@pytest.mark.parametrize(
    "name, shapes",
    [("matmul", s) for s in MATMUL_SHAPES] + [("dot", s) for s in DOT_SHAPES],
    ids=lambda v: v if isinstance(v, str) else f"{v[0]}-{v[1]}",
)
def test_products_match_numpy(name, shapes):
    for dtype in (F32, I32):
        a, b = _product_operands(*shapes, dtype)
        got = getattr(jnp, name)(a, b)
        want = getattr(np, name)(a.astype(np.int64), b.astype(np.int64))
        assert got.dtype == dtype and got.shape == want.shape
        np.testing.assert_array_equal(values(got), want)
    if name == "matmul":
        a, b = _product_operands(*shapes, F32)
        np.testing.assert_array_equal(values(jnp.asarray(a) @ b), a @ b)
        np.testing.assert_array_equal(values(a @ jnp.asarray(b)), a @ b)


def test_products_promote_dtypes():
    a, b = np.ones((2, 3), np.int32), np.full((3,), 0.5, np.float32)
    got = jnp.matmul(a, b)
    assert got.dtype == F32 and values(got).tolist() == [1.5, 1.5]
    got = jnp.dot(np.ones(3, np.int8), np.full(3, 100, np.uint8))
    assert got.dtype == I16 and int(got) == 300
    got = jnp.asarray(np.ones((2, 2), np.float32)).dot(np.ones(2, np.float32))
    assert values(got).tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------------------
# Shape manipulation

A234 = np.arange(24, dtype=np.float32).reshape(2, 3, 4)

SHAPE_OPS = [
    ("reshape_minus_one_last", lambda x: jnp.reshape(x, (6, -1)), lambda x: x.reshape(6, -1)),
    (
        "reshape_minus_one_first",
        lambda x: jnp.reshape(x, (-1, 3, 2)),
        lambda x: x.reshape(-1, 3, 2),
    ),
    ("reshape_flat_minus_one", lambda x: jnp.reshape(x, -1), lambda x: x.reshape(-1)),
    ("reshape_method_varargs", lambda x: jnp.asarray(x).reshape(4, -1), lambda x: x.reshape(4, -1)),
    ("reshape_method_tuple", lambda x: jnp.asarray(x).reshape((3, 8)), lambda x: x.reshape(3, 8)),
    ("transpose_default", lambda x: jnp.transpose(x), lambda x: np.transpose(x)),
    ("transpose_axes", lambda x: jnp.transpose(x, (1, 2, 0)), lambda x: x.transpose(1, 2, 0)),
    (
        "transpose_negative_axes",
        lambda x: jnp.transpose(x, (-1, 0, -2)),
        lambda x: x.transpose(-1, 0, -2),
    ),
    (
        "transpose_method_varargs",
        lambda x: jnp.asarray(x).transpose(2, 0, 1),
        lambda x: x.transpose(2, 0, 1),
    ),
    ("T_property", lambda x: jnp.asarray(x).T, lambda x: x.T),
    (
        "broadcast_to_leading",
        lambda x: jnp.broadcast_to(x, (5, 2, 3, 4)),
        lambda x: np.broadcast_to(x, (5, 2, 3, 4)),
    ),
    (
        "broadcast_to_size_one",
        lambda x: jnp.broadcast_to(x[:, :1], (5, 2, 3, 4)),
        lambda x: np.broadcast_to(x[:, :1], (5, 2, 3, 4)),
    ),
    ("expand_dims_front", lambda x: jnp.expand_dims(x, 0), lambda x: np.expand_dims(x, 0)),
    ("expand_dims_negative", lambda x: jnp.expand_dims(x, -1), lambda x: np.expand_dims(x, -1)),
    (
        "expand_dims_tuple",
        lambda x: jnp.expand_dims(x, (0, 2, -1)),
        lambda x: np.expand_dims(x, (0, 2, -1)),
    ),
    (
        "squeeze_all",
        lambda x: jnp.squeeze(x[:1, None, :, :1]),
        lambda x: np.squeeze(x[:1, None, :, :1]),
    ),
    ("squeeze_axis", lambda x: jnp.squeeze(x[:1], 0), lambda x: np.squeeze(x[:1], 0)),
    (
        "squeeze_tuple",
        lambda x: jnp.squeeze(x[:1, :, :1], (0, -1)),
        lambda x: np.squeeze(x[:1, :, :1], (0, -1)),
    ),
    ("ravel", lambda x: jnp.ravel(x), lambda x: np.ravel(x)),
    ("ravel_of_transpose", lambda x: jnp.ravel(jnp.transpose(x)), lambda x: np.ravel(x.T)),
]


@pytest.mark.parametrize(
    "fun, reference", [pytest.param(*case[1:], id=case[0]) for case in SHAPE_OPS]
)
def test_shape_ops_match_numpy(fun, reference):
    got, want = fun(A234), reference(A234)
    assert got.dtype == F32 and got.shape == want.shape
    np.testing.assert_array_equal(values(got), want)


def test_shape_ops_on_scalars_and_empty_arrays():
    assert jnp.reshape(np.float32(2.0), (1, 1)).shape == (1, 1)
    assert jnp.reshape(np.zeros((0, 3)), (-1,)).shape == (0,)
    assert jnp.reshape(np.zeros((2, 0, 3)), (3, -1, 2)).shape == (3, 0, 2)
    assert jnp.ravel(np.zeros((2, 0))).shape == (0,)
    assert jnp.transpose(np.zeros((2, 0, 3))).shape == (3, 0, 2)
    assert jnp.expand_dims(np.float32(1.0), 0).shape == (1,)
    scalar = jnp.broadcast_to(2.0, (2, 3))
    assert scalar.shape == (2, 3) and values(scalar).tolist() == [[2.0] * 3] * 2
    assert jnp.squeeze(np.ones((1, 1))).shape == ()


# ---------------------------------------------------------------------------------------
# Creation

CREATION_CASES = [
    ("zeros_default", lambda: jnp.zeros(3), F32, False, [0.0] * 3),
    ("zeros_int32", lambda: jnp.zeros((2, 2), jnp.int32), I32, False, [[0, 0], [0, 0]]),
    ("zeros_float64_narrows", lambda: jnp.zeros(2, np.float64), F32, False, [0.0, 0.0]),
    ("zeros_bfloat16_scalar", lambda: jnp.zeros((), jnp.bfloat16), BF16, False, 0.0),
    ("zeros_empty", lambda: jnp.zeros((2, 0)), F32, False, np.zeros((2, 0))),
    ("ones_default", lambda: jnp.ones((2,)), F32, False, [1.0, 1.0]),
    ("ones_bool", lambda: jnp.ones(2, bool), BOOL, False, [True, True]),
    ("ones_float16", lambda: jnp.ones((1, 2), jnp.float16), F16, False, [[1.0, 1.0]]),
    ("full_python_float_is_weak", lambda: jnp.full((2,), 2.5), F32, True, [2.5, 2.5]),
    ("full_python_int_is_weak", lambda: jnp.full((2,), 3), I32, True, [3, 3]),
    ("full_python_bool_is_strong", lambda: jnp.full((2,), True), BOOL, False, [True, True]),
    ("full_with_dtype_is_strong", lambda: jnp.full((2,), 2.0, jnp.int32), I32, False, [2, 2]),
    ("full_numpy_scalar", lambda: jnp.full((2,), np.float16(1.5)), F16, False, [1.5, 1.5]),
    ("full_broadcasts_array", lambda: jnp.full((2, 2), [1, 2]), I32, False, [[1, 2], [1, 2]]),
    ("full_scalar_shape_int", lambda: jnp.full(3, -1.0, jnp.float32), F32, False, [-1.0] * 3),
]


@pytest.mark.parametrize(
    "fun, dtype, weak, expected", [pytest.param(*case[1:], id=case[0]) for case in CREATION_CASES]
)
def test_creation_dtype_weak_type_and_values(fun, dtype, weak, expected):
    got = fun()
    assert (got.dtype, got.weak_type) == (dtype, weak)
    want = np.asarray(expected)
    assert got.shape == want.shape
    np.testing.assert_array_equal(values(got).astype(np.float64), want.astype(np.float64))


# ---------------------------------------------------------------------------------------
# Basic indexing


@st.composite
def arrays_and_basic_indices(draw, ellipsis: bool):
    """An array of rank <= 3 and a basic index whose integers are in range: ints, slices
    with any bounds and steps, None, and (if `ellipsis`) one Ellipsis."""
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=3)))
    ndim = len(shape)
    n_front = draw(st.integers(0, ndim))
    n_back = draw(st.integers(0, ndim - n_front)) if ellipsis else 0

    def item(axis):
        size = shape[axis]
        if size and draw(st.booleans()):
            return draw(st.integers(-size, size - 1))
        bound = st.none() | st.integers(-6, 6)
        step = st.none() | st.sampled_from([1, 2, 3, -1, -2, -3])
        return slice(draw(bound), draw(bound), draw(step))

    items = [item(axis) for axis in range(n_front)]
    if ellipsis:
        items += [Ellipsis] + [item(axis) for axis in range(ndim - n_back, ndim)]
    for _ in range(draw(st.integers(0, 2))):
        items.insert(draw(st.integers(0, len(items))), None)
    index = tuple(items)
    if len(index) == 1 and draw(st.booleans()):
        index = index[0]
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape), index


def _check_basic_index(x, index):
    got = jnp.asarray(x)[index]
    want = x[index]
    assert got.dtype == F32 and got.shape == want.shape, (x.shape, index)
    np.testing.assert_array_equal(values(got), want)


@settings(max_examples=250, deadline=None)
@given(arrays_and_basic_indices(ellipsis=False))
def test_basic_indexing_matches_numpy(case):
    _check_basic_index(*case)


@settings(max_examples=25, deadline=None, phases=[Phase.generate])
@given(arrays_and_basic_indices(ellipsis=True))
def test_basic_indexing_with_ellipsis_matches_numpy(case):
    _check_basic_index(*case)


# (shape, index, the in-range index JAX clamps it to): gathers clamp, never raise.
CLAMPED = [
    ((5,), 7, 4),
    ((5,), -9, 0),
    ((5,), 5, 4),
    ((5,), -6, 0),
    ((3, 4), (7, -9), (2, 0)),
    ((3, 4), (slice(1, 3), 10), (slice(1, 3), 3)),
    ((3, 4), (None, -100), (None, 0)),
    ((2, 3, 4), (1, slice(None, None, -1), 99), (1, slice(None, None, -1), 3)),
]


@pytest.mark.parametrize("shape, index, clamped", CLAMPED, ids=[str(c[1]) for c in CLAMPED])
def test_out_of_range_integer_indices_clamp(shape, index, clamped):
    x = np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)
    got = jnp.asarray(x)[index]
    np.testing.assert_array_equal(values(got), x[clamped])
    assert got.shape == x[clamped].shape


def test_indexing_keeps_weak_type_and_dtype():
    weak = jnp.full((3,), 2.0)
    assert weak[1].weak_type and weak[1].dtype == F32
    assert jnp.asarray(np.array([1, 2], np.uint8))[0].dtype == U8


# ---------------------------------------------------------------------------------------
# Errors: the exception class NumPy/JAX use, naming the problem and the user's line.

x5 = np.arange(5, dtype=np.float32)
m23 = np.ones((2, 3), np.float32)

ERRORS = [
    ("broadcast_add", ValueError, ("(2, 3)", "(4,)"), lambda: jnp.add(m23, np.ones(4))),
    ("broadcast_operator", ValueError, ("(2, 3)", "(2,)"), lambda: jnp.asarray(m23) * np.ones(2)),
    (
        "broadcast_where",
        ValueError,
        ("(2,)", "(2, 3)"),
        lambda: jnp.where(np.ones(2, bool), m23, 0.0),
    ),
    ("broadcast_to", ValueError, ("(2, 3)", "(3, 3)"), lambda: jnp.broadcast_to(m23, (3, 3))),
    ("axis_sum", np.exceptions.AxisError, ("axis 2",), lambda: jnp.sum(m23, axis=2)),
    ("axis_expand_dims", np.exceptions.AxisError, ("axis 3",), lambda: jnp.expand_dims(m23, 3)),
    ("axis_squeeze", np.exceptions.AxisError, ("axis -3",), lambda: jnp.squeeze(m23, -3)),
    ("axis_transpose", np.exceptions.AxisError, ("axis 2",), lambda: jnp.transpose(m23, (0, 2))),
    ("float_index", IndexError, ("float",), lambda: jnp.asarray(x5)[1.0]),
    ("float_index_in_tuple", IndexError, ("float",), lambda: jnp.asarray(m23)[0, 1.5]),
    ("too_many_indices", IndexError, ("too many indices",), lambda: jnp.asarray(x5)[0, 0]),
    ("too_many_with_slices", IndexError, ("too many indices",), lambda: jnp.asarray(m23)[:, 0, :]),
    ("reshape_size", ValueError, ("size 5", "(2, 3)"), lambda: jnp.reshape(x5, (2, 3))),
    ("reshape_minus_one", ValueError, ("size 5",), lambda: jnp.asarray(x5).reshape(2, -1)),
    ("reshape_two_unknowns", ValueError, ("(-1, -1)",), lambda: jnp.reshape(x5, (-1, -1))),
    (
        "matmul_misaligned",
        ValueError,
        ("(2, 3)", "(4, 2)"),
        lambda: jnp.matmul(m23, np.ones((4, 2))),
    ),
    ("matmul_vectors", ValueError, ("(3,)", "(4,)"), lambda: jnp.matmul(np.ones(3), np.ones(4))),
    ("matmul_operator", ValueError, ("(2, 3)", "(2, 3)"), lambda: jnp.asarray(m23) @ m23),
    ("dot_misaligned", ValueError, ("(2, 3)", "(2,)"), lambda: jnp.dot(m23, np.ones(2))),
    ("asarray_object_array", TypeError, ("asarray",), lambda: jnp.asarray(np.array([object()]))),
    ("asarray_dict", TypeError, ("dict",), lambda: jnp.asarray({"a": 1})),
    ("asarray_none", TypeError, ("NoneType",), lambda: jnp.asarray(None)),
    (
        "unsupported_dtype",
        TypeError,
        ("supported dtypes", "float32", "bfloat16", "bool"),
        lambda: jnp.asarray(np.array(["a"])),
    ),
]


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_errors(exception, fragments, fun):
    with pytest.raises(exception) as info:
        fun()
    assert type(info.value) is exception
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert_location(info.value, fun)


def test_numpy_raises_the_same_exception_classes():
    # The oracle for the exception classes above: NumPy raises them for the same mistakes.
    for fun, exception in [
        (lambda: np.add(m23, np.ones(4)), ValueError),
        (lambda: np.sum(m23, axis=2), np.exceptions.AxisError),
        (lambda: x5[1.0], IndexError),
        (lambda: x5[0, 0], IndexError),
        (lambda: np.reshape(x5, (2, 3)), ValueError),
        (lambda: np.matmul(m23, np.ones((4, 2))), ValueError),
    ]:
        with pytest.raises(exception):
            fun()
