"""The `Array` type: attributes, conversion to and from NumPy, JAX's repr, immutability,
Python protocols (len, iteration, scalars, hash, pickle) and 64-bit narrowing.

Expected values come from NumPy or are written out by hand; the repr strings are JAX's
format derived by hand (`Array(<numpy array2string>, dtype=<name>[, weak_type=True])`).
"""

from __future__ import annotations

import copy
import operator
import pickle

import ml_dtypes
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax

F32, I32, BOOL = np.dtype(np.float32), np.dtype(np.int32), np.dtype(np.bool_)
BF16 = np.dtype(ml_dtypes.bfloat16)


@pytest.fixture
def x64():
    previous = funcgrad.config.jax_enable_x64
    funcgrad.config.update("jax_enable_x64", True)
    try:
        yield
    finally:
        funcgrad.config.update("jax_enable_x64", previous)


# ---------------------------------------------------------------------------------------
# Attributes

ATTRIBUTE_CASES = [
    ("float_list", [1.0, 2.0, 3.0], (3,), F32, False),
    ("nested_int_list", [[1, 2, 3], [4, 5, 6]], (2, 3), I32, False),
    ("python_float", 2.5, (), F32, True),
    ("python_bool", True, (), BOOL, False),
    ("empty", np.zeros((2, 0, 3), np.float16), (2, 0, 3), np.dtype(np.float16), False),
    ("bfloat16", np.ones((4, 1), BF16), (4, 1), BF16, False),
]


@pytest.mark.parametrize(
    "data, shape, dtype, weak", [pytest.param(*case[1:], id=case[0]) for case in ATTRIBUTE_CASES]
)
def test_attributes(data, shape, dtype, weak):
    x = jnp.asarray(data)
    assert isinstance(x, funcgrad.Array)
    assert x.shape == shape and isinstance(x.shape, tuple)
    assert x.dtype == dtype and isinstance(x.dtype, np.dtype)
    assert x.ndim == len(shape)
    assert x.size == int(np.prod(shape)) and isinstance(x.size, int)
    assert x.weak_type is weak


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 3, 4), (2, 0)])
def test_T_reverses_the_axes(shape):
    data = np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape)
    transposed = jnp.asarray(data).T
    assert isinstance(transposed, funcgrad.Array)
    assert transposed.shape == data.T.shape
    np.testing.assert_array_equal(np.asarray(transposed), data.T)


# ---------------------------------------------------------------------------------------
# NumPy round trip

ROUND_TRIP_DTYPES = [
    np.float32,
    np.float16,
    ml_dtypes.bfloat16,
    np.int32,
    np.int8,
    np.uint8,
    np.bool_,
    np.complex64,
]


@pytest.mark.parametrize("dtype", ROUND_TRIP_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("shape", [(), (0,), (2, 3)], ids=str)
def test_numpy_round_trip(dtype, shape):
    source = (np.arange(int(np.prod(shape))) % 3).reshape(shape).astype(dtype)
    if source.dtype.kind == "c":
        source = source * np.complex64(1 - 2j)
    wide = np.complex128 if source.dtype.kind == "c" else np.float64
    x = jnp.asarray(source)
    back = np.asarray(x)
    assert back.dtype == source.dtype and back.shape == source.shape
    np.testing.assert_array_equal(back.astype(wide), source.astype(wide))
    again = jnp.asarray(back)
    assert again.aval == x.aval
    np.testing.assert_array_equal(np.asarray(again).astype(wide), source.astype(wide))


def test_array_conversion_with_dtype_and_copy():
    x = jnp.asarray([1.5, 2.5])
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert np.asarray(x, dtype=np.int32).tolist() == [1, 2]
    copied = np.array(x, copy=True)
    copied[0] = 9.0  # a copy is the caller's to write
    assert np.asarray(x).tolist() == [1.5, 2.5]
    assert x.tolist() == [1.5, 2.5] and jnp.asarray(2.5).item() == 2.5


# ---------------------------------------------------------------------------------------
# repr and str, in JAX's format

REPR_CASES = [
    ("float_vector", lambda: jnp.asarray([1.0, 2.0]), "Array([1., 2.], dtype=float32)"),
    ("weak_scalar", lambda: jnp.asarray(2.0), "Array(2., dtype=float32, weak_type=True)"),
    ("bool_vector", lambda: jnp.asarray([True, False]), "Array([ True, False], dtype=bool)"),
    (
        "int_matrix",
        lambda: jnp.asarray(np.array([[1, 2], [3, 40]], np.int32)),
        "Array([[ 1,  2],\n       [ 3, 40]], dtype=int32)",
    ),
    ("weak_int_scalar", lambda: jnp.asarray(3), "Array(3, dtype=int32, weak_type=True)"),
    ("strong_scalar", lambda: jnp.asarray(np.float32(-0.5)), "Array(-0.5, dtype=float32)"),
    (
        "weak_matrix",
        lambda: jnp.full((2, 2), 0.5),
        "Array([[0.5, 0.5],\n       [0.5, 0.5]], dtype=float32, weak_type=True)",
    ),
    (
        "float16_vector",
        lambda: jnp.asarray(np.array([1.5, -2.25], np.float16)),
        "Array([ 1.5 , -2.25], dtype=float16)",
    ),
    ("empty_vector", lambda: jnp.zeros((0,)), "Array([], dtype=float32)"),
    ("empty_matrix", lambda: jnp.zeros((2, 0), jnp.int32), "Array([], shape=(2, 0), dtype=int32)"),
]


@pytest.mark.parametrize(
    "make, expected", [pytest.param(*case[1:], id=case[0]) for case in REPR_CASES]
)
def test_repr_matches_jax(make, expected):
    assert repr(make()) == expected


def test_str_and_format_follow_numpy():
    assert str(jnp.asarray([1.0, 2.0])) == "[1. 2.]"
    assert str(jnp.asarray(np.array([[1, 2], [3, 4]], np.int32))) == "[[1 2]\n [3 4]]"
    assert f"{jnp.asarray(2.5):.2f}" == "2.50"


# ---------------------------------------------------------------------------------------
# Immutability


def test_buffer_is_read_only():
    x = jnp.asarray([1.0, 2.0, 3.0])
    buffer = np.asarray(x)
    assert not buffer.flags.writeable
    with pytest.raises(ValueError):
        buffer[0] = 5.0
    assert x.tolist() == [1.0, 2.0, 3.0]
    # Results of primitives are frozen too.
    assert not np.asarray(lax.add(x, x)).flags.writeable


@pytest.mark.parametrize(
    "make",
    [
        jnp.asarray,
        jnp.array,
        lambda s: lax.reshape(s, (3,)),
        lambda s: jnp.reshape(s, (3, 1)),
        lambda s: jnp.asarray(s)[:],
    ],
    ids=["asarray", "array", "lax.reshape", "jnp.reshape", "slice"],
)
def test_mutating_the_source_does_not_change_the_array(make):
    source = np.array([1.0, 2.0, 3.0], np.float32)
    x = make(source)
    source[:] = -7.0
    np.testing.assert_array_equal(np.asarray(x).ravel(), [1.0, 2.0, 3.0])


@pytest.mark.parametrize(
    "x",
    [jnp.asarray([1.0, 2.0]), jnp.asarray(np.ones((2, 2), np.int32)), jnp.asarray(2.0)],
    ids=["vector", "matrix", "scalar"],
)
def test_item_assignment_raises_and_points_to_at_set(x):
    before = np.asarray(x).copy()
    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set"):
        x[0] = 1
    with pytest.raises(TypeError, match=r"x\.at\[idx\]\.set"):
        x[...] = 0
    np.testing.assert_array_equal(np.asarray(x), before)


def test_attributes_cannot_be_reassigned():
    x = jnp.asarray([1.0])
    with pytest.raises(AttributeError):
        x.shape = (2,)


def test_block_until_ready_returns_the_array():
    x = jnp.asarray([1.0, 2.0])
    assert x.block_until_ready() is x
    y = lax.mul(x, 2.0)
    assert y.block_until_ready() is y


def test_hash_raises_type_error():
    with pytest.raises(TypeError):
        hash(jnp.asarray([1.0]))
    with pytest.raises(TypeError):
        hash(jnp.asarray(1.0))
    with pytest.raises(TypeError):
        {jnp.asarray(1.0): 1}


# ---------------------------------------------------------------------------------------
# Python protocols


def test_len_and_iteration():
    data = np.arange(6, dtype=np.int32).reshape(3, 2)
    x = jnp.asarray(data)
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3
    for row, expected in zip(rows, data):
        assert isinstance(row, funcgrad.Array) and row.dtype == I32
        assert np.asarray(row).tolist() == expected.tolist()
    assert [float(v) for v in jnp.asarray([0.5, 1.5])] == [0.5, 1.5]
    assert len(jnp.zeros((0, 4))) == 0 and list(jnp.zeros((0, 4))) == []


def test_len_and_iteration_of_0d_raise_type_error():
    scalar = jnp.asarray(2.0)
    with pytest.raises(TypeError):
        len(scalar)
    with pytest.raises(TypeError):
        iter(scalar)


SCALAR_CONVERSIONS = [
    (float, 2.75, 2.75),
    (int, 2.75, 2),
    (int, -2.75, -2),
    (bool, 0.0, False),
    (bool, 0.5, True),
    (int, np.int32(7), 7),
    (bool, True, True),
    (complex, 1.5, 1.5 + 0j),
]


@pytest.mark.parametrize("convert, value, expected", SCALAR_CONVERSIONS)
def test_scalar_conversions_of_0d(convert, value, expected):
    got = convert(jnp.asarray(value))
    assert type(got) is convert and got == expected


def test_index_protocol():
    assert operator.index(jnp.asarray(3)) == 3
    assert list(range(5))[jnp.asarray(np.int32(2))] == 2
    with pytest.raises(TypeError):
        operator.index(jnp.asarray(3.0))


def test_truth_value_of_many_elements_is_ambiguous():
    with pytest.raises(ValueError):
        bool(jnp.asarray([1.0, 2.0]))


@pytest.mark.parametrize(
    "x",
    [
        jnp.asarray([1.0, -2.0]),
        jnp.asarray(2.0),
        jnp.asarray(np.arange(6, dtype=np.int8).reshape(2, 3)),
        jnp.asarray(np.array([1.5], ml_dtypes.bfloat16)),
        jnp.zeros((0, 2)),
        jnp.full((2,), 3),
    ],
    ids=["vector", "weak_scalar", "int8_matrix", "bfloat16", "empty", "weak_int_vector"],
)
def test_pickle_and_copy_round_trip(x):
    for clone in (pickle.loads(pickle.dumps(x)), copy.copy(x), copy.deepcopy(x)):
        assert isinstance(clone, funcgrad.Array)
        assert clone.aval == x.aval  # shape, dtype and weak_type
        np.testing.assert_array_equal(
            np.asarray(clone).astype(np.float64), np.asarray(x).astype(np.float64)
        )
        assert not np.asarray(clone).flags.writeable


# ---------------------------------------------------------------------------------------
# 64-bit inputs narrow to 32 bits unless jax_enable_x64 is on

WIDE = [
    (np.float64, np.float32),
    (np.int64, np.int32),
    (np.uint64, np.uint32),
    (np.complex128, np.complex64),
]


@pytest.mark.parametrize("wide, narrow", WIDE, ids=lambda d: np.dtype(d).name)
def test_64_bit_input_narrows_by_default(wide, narrow):
    assert not funcgrad.config.jax_enable_x64
    x = jnp.asarray(np.array([1, 2, 3], wide))
    assert x.dtype == narrow and np.asarray(x).dtype == narrow
    assert np.asarray(x).tolist() == [1, 2, 3]
    assert lax.neg(np.array([1], wide)).dtype == narrow  # operands of primitives too


@pytest.mark.parametrize("wide, narrow", WIDE, ids=lambda d: np.dtype(d).name)
def test_64_bit_input_is_kept_with_x64(x64, wide, narrow):
    x = jnp.asarray(np.array([1, 2, 3], wide))
    assert x.dtype == wide and np.asarray(x).dtype == wide
    assert np.asarray(x).tolist() == [1, 2, 3]


def test_x64_changes_defaults_and_is_restored(x64):
    assert jnp.asarray(2.0).dtype == np.float64 and jnp.asarray(2.0).weak_type
    assert jnp.asarray(2).dtype == np.int64
    assert jnp.zeros(2).dtype == np.float64
    big = jnp.asarray(np.array([2**40], np.int64))
    assert int(big[0]) == 2**40


def test_x64_flag_is_off_again():
    # Runs after the x64 tests (file order): the fixture must have restored the default.
    assert not funcgrad.config.jax_enable_x64
    assert jnp.asarray(2.0).dtype == F32 and jnp.zeros(2).dtype == F32


def test_tracers_share_len_and_iteration():
    def f(v):
        assert len(v) == 3
        rows = list(v)
        with pytest.raises(TypeError, match="len\\(\\) of unsized object"):
            len(rows[0].sum())
        return rows[0] + rows[2]

    out = funcgrad.make_jaxpr(f)(np.ones((3, 2), np.float32))
    assert [e.primitive.name for e in out.eqns][-1] == "add"
