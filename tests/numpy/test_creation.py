"""funcgrad.numpy array creation against NumPy: from data (asarray/array with nested lists
of arrays and tracers), filled arrays and the *_like family, ranges (arange, linspace,
logspace, geomspace) and index patterns (eye, identity, tri, meshgrid, indices).

Oracles: NumPy for values and shapes; JAX's documented rules, derived by hand, for result
dtypes and weak types (integer bounds give int32, float ones float32; the *_like family
keeps the prototype's dtype and weak type; a Python-scalar fill is weak). Every case runs
eagerly and as a jaxpr (make_jaxpr + eval_jaxpr), which must agree exactly.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I8, I16, I32, U8 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8))
BOOL = np.dtype(np.bool_)
DTYPES = (F32, F16, BF16, I32, U8, BOOL)
# rtol = atol by result dtype for values computed with a few float operations.
TOLERANCE = {F32: 2e-6, F16: 2e-3, BF16: 1.6e-2}


def values(x) -> np.ndarray:
    assert isinstance(x, jnp.ndarray), f"expected a funcgrad Array, got {type(x).__name__}"
    return np.asarray(x)


def assert_matches(got, want, dtype, tol=None):
    want = np.asarray(want)
    assert got.dtype == dtype and got.shape == want.shape, (got.aval, want.shape)
    got_values = values(got)
    if tol is None and dtype in TOLERANCE and np.issubdtype(want.dtype, np.floating):
        tol = TOLERANCE[dtype]
    if tol:
        np.testing.assert_allclose(
            got_values.astype(np.float64), want.astype(np.float64), rtol=tol, atol=tol
        )
    else:
        np.testing.assert_array_equal(got_values, want.astype(dtype))


def traced(fun, *args):
    """fun(*args) evaluated through its jaxpr (checking that tracing gives the same avals)."""
    closed = funcgrad.make_jaxpr(fun)(*args)
    outs = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    return outs


def check_eager_and_traced(fun, args, want, dtype, weak=False, tol=None):
    eager = fun(*args)
    assert_matches(eager, want, dtype, tol)
    assert eager.weak_type is weak
    (staged,) = traced(fun, *args)
    assert staged.aval == eager.aval
    assert_agrees_with_op_by_op(eager, staged)


def assert_location(err: BaseException, fun) -> None:
    assert f"test_creation.py:{fun.__code__.co_firstlineno}" in str(err), str(err)


# ---------------------------------------------------------------------------------------
# Filled arrays and the *_like family, across dtypes and shapes

SHAPES = [(), (0,), (3,), (2, 0, 3), (1, 4)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_filled_arrays_match_numpy(dtype, shape):
    check_eager_and_traced(lambda: jnp.zeros(shape, dtype), (), np.zeros(shape), dtype)
    check_eager_and_traced(lambda: jnp.ones(shape, dtype), (), np.ones(shape), dtype)
    check_eager_and_traced(lambda: jnp.empty(shape, dtype), (), np.zeros(shape), dtype)
    check_eager_and_traced(lambda: jnp.full(shape, 1, dtype), (), np.ones(shape), dtype)
    x = np.ones(shape, dtype)
    for fun, fill in [(jnp.zeros_like, 0), (jnp.ones_like, 1), (jnp.empty_like, 0)]:
        check_eager_and_traced(fun, (x,), np.full(shape, fill), dtype)
    check_eager_and_traced(lambda a: jnp.full_like(a, 1), (x,), np.ones(shape), dtype)
    check_eager_and_traced(
        lambda a: jnp.zeros_like(a, dtype=jnp.int8, shape=(2,)), (x,), np.zeros(2), I8
    )


LIKE_CASES = [
    # (id, fun, dtype, weak, expected)
    ("zeros_like_keeps_int8", lambda: jnp.zeros_like(np.ones(2, np.int8)), I8, False, [0, 0]),
    ("zeros_like_keeps_weak", lambda: jnp.zeros_like(jnp.asarray(2.0)), F32, True, 0.0),
    ("zeros_like_python_int", lambda: jnp.zeros_like(3), I32, True, 0),
    ("zeros_like_list", lambda: jnp.zeros_like([1.0, 2.0]), F32, False, [0.0, 0.0]),
    ("ones_like_dtype_is_strong", lambda: jnp.ones_like(2.0, jnp.float16), F16, False, 1.0),
    ("full_like_casts_fill", lambda: jnp.full_like(np.ones(2, np.int32), 2.7), I32, False, [2, 2]),
    (
        "full_like_array_fill",
        lambda: jnp.full_like(np.ones((2, 2)), [1, 2]),
        F32,
        False,
        [[1, 2]] * 2,
    ),
    (
        "full_like_shape",
        lambda: jnp.full_like(np.ones(2, np.uint8), 7, shape=(1, 3)),
        U8,
        False,
        [[7] * 3],
    ),
    ("full_python_float_weak", lambda: jnp.full((2,), 0.5), F32, True, [0.5, 0.5]),
    ("full_numpy_fill_strong", lambda: jnp.full((), np.int8(3)), I8, False, 3),
    ("full_bfloat16", lambda: jnp.full(2, 1.5, jnp.bfloat16), BF16, False, [1.5, 1.5]),
    ("empty_default_float32", lambda: jnp.empty(2), F32, False, [0.0, 0.0]),
    ("copy_keeps_values", lambda: jnp.copy(np.arange(3, dtype=np.uint8)), U8, False, [0, 1, 2]),
]


@pytest.mark.parametrize(
    "fun, dtype, weak, expected", [pytest.param(*case[1:], id=case[0]) for case in LIKE_CASES]
)
def test_like_functions_keep_dtype_and_weak_type(fun, dtype, weak, expected):
    check_eager_and_traced(fun, (), np.asarray(expected), dtype, weak)


def test_like_functions_of_a_tracer_do_not_depend_on_its_values():
    closed = funcgrad.make_jaxpr(lambda x: jnp.ones_like(x))(np.ones(3, np.float16))
    (out,) = eval_jaxpr(closed.jaxpr, closed.consts, np.zeros(3, np.float16))
    assert out.dtype == F16 and values(out).tolist() == [1.0] * 3


def test_copy_is_a_new_array_with_equal_values():
    x = jnp.arange(3)
    y = jnp.copy(x)
    assert y is not x and y.aval == x.aval
    np.testing.assert_array_equal(values(y), values(x))


# ---------------------------------------------------------------------------------------
# asarray / array from nested data


def test_asarray_stacks_nested_lists_of_arrays_with_promotion():
    f16 = jnp.asarray(np.array([1.0, 2.0], np.float16))
    got = jnp.asarray([f16, [3.0, 4.0]])
    assert_matches(got, [[1, 2], [3, 4]], F16)  # Python floats are weak: float16 wins
    assert not got.weak_type
    got = jnp.asarray([np.int8(1), jnp.asarray(np.uint8(2))])
    assert_matches(got, [1, 2], I16)  # int8 with uint8 is int16
    got = jnp.array([[jnp.asarray(1.0), 2], [3, 4]])
    assert_matches(got, [[1, 2], [3, 4]], F32)
    assert not got.weak_type
    assert_matches(jnp.asarray([np.int8(1), 300 - 256]), [1, 44], I8)  # int8 with weak int


def test_asarray_of_a_list_of_tracers_stacks_them():
    def fun(x, y):
        return jnp.asarray([[x, y], [y, 2.0]])

    args = (np.float32(1.5), np.float32(-1.0))
    check_eager_and_traced(fun, args, [[1.5, -1.0], [-1.0, 2.0]], F32)
    closed = funcgrad.make_jaxpr(fun)(*args)
    assert "concatenate" in {eqn.primitive.name for eqn in closed.eqns}


def test_asarray_honours_dtype_and_accepts_copy():
    assert_matches(jnp.asarray([1.7, -2.2], dtype=jnp.int32), [1, -2], I32)
    assert_matches(jnp.asarray([1, 2], dtype=jnp.bfloat16, copy=True), [1, 2], BF16)
    assert_matches(jnp.asarray(np.arange(3), jnp.uint8, copy=False), [0, 1, 2], U8)
    got = jnp.asarray([jnp.asarray(1.5)], dtype=jnp.float16)
    assert_matches(got, [1.5], F16)
    assert_matches(jnp.array([], dtype=jnp.int32), np.zeros(0), I32)
    assert_matches(jnp.asarray([]), np.zeros(0), F32)
    assert_matches(jnp.asarray(((1, 2), (3, 4))), [[1, 2], [3, 4]], I32)


@pytest.mark.parametrize("ndmin", [0, 1, 2, 4])
@pytest.mark.parametrize("data", [2.0, [1, 2], np.ones((2, 3))], ids=["scalar", "list", "2d"])
def test_array_ndmin_matches_numpy(data, ndmin):
    want = np.array(data, ndmin=ndmin)
    got = jnp.array(data, ndmin=ndmin)
    assert got.shape == want.shape
    np.testing.assert_array_equal(values(got), want)


# ---------------------------------------------------------------------------------------
# arange

ARANGE_CASES = [
    # args, kwargs, result dtype
    ((5,), {}, I32),
    ((0,), {}, I32),
    ((-3,), {}, I32),
    ((2, 9), {}, I32),
    ((9, 2), {}, I32),
    ((1, 10, 3), {}, I32),
    ((10, 0, -3), {}, I32),
    ((10, 0, 3), {}, I32),
    ((5.0,), {}, F32),
    ((0, 1, 0.1), {}, F32),
    ((0.5, 4), {}, F32),
    ((-1.5, 1.5, 0.5), {}, F32),
    ((5,), {"dtype": jnp.float16}, F16),
    ((5,), {"dtype": jnp.bfloat16}, BF16),
    ((0.0, 1.0, 0.25), {"dtype": jnp.bfloat16}, BF16),
    ((2, 8, 2), {"dtype": jnp.uint8}, U8),
    ((np.int8(4),), {}, I8),
    ((jnp.asarray(4),), {}, I32),
    ((np.float32(1), 4), {}, F32),
]


@pytest.mark.parametrize("args, kwargs, dtype", ARANGE_CASES, ids=str)
def test_arange_matches_numpy_with_jax_dtypes(args, kwargs, dtype):
    host = [np.asarray(a).item() if not isinstance(a, (int, float)) else a for a in args]
    want = np.arange(*host, dtype=np.float64 if dtype.kind == "f" or dtype == BF16 else None)
    check_eager_and_traced(lambda: jnp.arange(*args, **kwargs), (), want, dtype)


@settings(max_examples=60, deadline=None)
@given(st.integers(-20, 20), st.integers(-20, 20), st.integers(-5, 5).filter(lambda s: s != 0))
def test_arange_of_integers_is_numpy_arange(start, stop, step):
    got = jnp.arange(start, stop, step)
    assert got.dtype == I32
    np.testing.assert_array_equal(values(got), np.arange(start, stop, step))


def test_arange_with_a_traced_bound_raises_a_concretization_error():
    fun = lambda n: jnp.arange(n)  # noqa: E731
    with pytest.raises(funcgrad.errors.ConcretizationTypeError) as info:
        funcgrad.make_jaxpr(fun)(3)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert "arange" in message and "static" in message, message
    assert_location(info.value, fun)


def test_arange_static_bounds_inside_a_traced_function():
    closed = funcgrad.make_jaxpr(lambda x: x + jnp.arange(3))(np.ones(3, np.int32))
    assert [eqn.primitive.name for eqn in closed.eqns] == ["iota", "add"]


# ---------------------------------------------------------------------------------------
# linspace, logspace, geomspace


@pytest.mark.parametrize("num", [0, 1, 2, 5])
@pytest.mark.parametrize("endpoint", [True, False])
@pytest.mark.parametrize("dtype", [None, F16, BF16, I32], ids=str)
def test_linspace_matches_numpy(num, endpoint, dtype):
    want = np.linspace(-2.5, 7.0, num, endpoint, dtype=np.int32 if dtype == I32 else None)
    fun = lambda: jnp.linspace(-2.5, 7.0, num, endpoint, dtype=dtype)  # noqa: E731
    check_eager_and_traced(fun, (), want, F32 if dtype is None else dtype)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_linspace_of_array_bounds_along_axis(axis):
    start, stop = np.array([0.0, 1.0, -4.0], np.float32), np.float32(2.0)
    want = np.linspace(start, stop, 4, axis=axis)
    fun = lambda a, b: jnp.linspace(a, b, 4, axis=axis)  # noqa: E731
    check_eager_and_traced(fun, (start, stop), want, F32)


def test_linspace_endpoints_are_exact_and_retstep_matches_numpy():
    got, step = jnp.linspace(0.1, 0.7, 7, retstep=True)
    want, want_step = np.linspace(np.float32(0.1), np.float32(0.7), 7, retstep=True)
    assert values(got)[-1] == np.float32(0.7) and values(got)[0] == np.float32(0.1)
    np.testing.assert_allclose(float(step), want_step, rtol=1e-6)
    _, step = jnp.linspace(0.0, 1.0, 1, retstep=True)
    assert np.isnan(float(step))  # NumPy's step when there is no interval


def test_linspace_traced_bounds():
    fun = lambda a, b: jnp.linspace(a, b, 5)  # noqa: E731
    check_eager_and_traced(fun, (np.float32(1), np.float32(3)), np.linspace(1, 3, 5), F32)


@pytest.mark.parametrize(
    "fun, reference",
    [
        (lambda: jnp.logspace(0.0, 3.0, 4), lambda: np.logspace(0.0, 3.0, 4)),
        (lambda: jnp.logspace(0, 3, 4, base=2.0), lambda: np.logspace(0, 3, 4, base=2.0)),
        (lambda: jnp.logspace(1, 2, 3, endpoint=False), lambda: np.logspace(1, 2, 3, False)),
        (lambda: jnp.geomspace(1, 1000, 4), lambda: np.geomspace(1, 1000, 4)),
        (lambda: jnp.geomspace(-1, -16, 5), lambda: np.geomspace(-1, -16, 5)),
        (lambda: jnp.geomspace(2, 32, 4, endpoint=False), lambda: np.geomspace(2, 32, 4, False)),
        (
            lambda: jnp.geomspace(np.array([1.0, 8.0]), np.array([100.0, 1.0]), 3, axis=1),
            lambda: np.geomspace(np.array([1.0, 8.0]), np.array([100.0, 1.0]), 3, axis=1),
        ),
    ],
)
def test_logspace_and_geomspace_match_numpy(fun, reference):
    check_eager_and_traced(fun, (), reference(), F32, tol=4e-6)


def test_geomspace_endpoints_are_exact():
    got = values(jnp.geomspace(3.0, 300.0, 7))
    assert got[0] == 3.0 and got[-1] == 300.0


# ---------------------------------------------------------------------------------------
# eye, identity, tri, meshgrid, indices

EYE_SIZES = [(0, None, 0), (1, None, 0), (3, None, 0), (3, 4, 1), (4, 3, -2), (2, 5, 7), (3, 0, 0)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.name)
def test_eye_and_tri_match_numpy(dtype):
    for n, m, k in EYE_SIZES:
        eye = lambda n=n, m=m, k=k: jnp.eye(n, m, k, dtype)  # noqa: E731
        tri = lambda n=n, m=m, k=k: jnp.tri(n, m, k, dtype)  # noqa: E731
        check_eager_and_traced(eye, (), np.eye(n, m, k), dtype)
        check_eager_and_traced(tri, (), np.tri(n, m, k), dtype)
    check_eager_and_traced(lambda: jnp.identity(3, dtype), (), np.identity(3), dtype)


def test_eye_default_dtype_and_traced_offset():
    check_eager_and_traced(lambda: jnp.eye(2), (), np.eye(2), F32)
    check_eager_and_traced(lambda: jnp.tri(2), (), np.tri(2), F32)
    fun = lambda k: jnp.eye(3, 4, k)  # noqa: E731
    check_eager_and_traced(fun, (np.int32(1),), np.eye(3, 4, 1), F32)


@pytest.mark.parametrize("indexing", ["xy", "ij"])
@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("sizes", [(3,), (2, 3), (2, 0, 4), (1, 2, 3)], ids=str)
def test_meshgrid_matches_numpy(sizes, sparse, indexing):
    vectors = [np.arange(n, dtype=np.float32) * (i + 1) for i, n in enumerate(sizes)]
    want = np.meshgrid(*vectors, sparse=sparse, indexing=indexing)
    fun = lambda *xs: jnp.meshgrid(*xs, sparse=sparse, indexing=indexing)  # noqa: E731
    got = fun(*vectors)
    staged = traced(fun, *vectors)
    assert len(got) == len(want) == len(staged)
    for g, s, w in zip(got, staged, want):
        assert_matches(g, w, F32)
        assert s.aval == g.aval


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("dims", [(), (0,), (3,), (2, 3), (2, 1, 3)], ids=str)
def test_indices_match_numpy(dims, sparse):
    want = np.indices(dims, sparse=sparse)
    got = jnp.indices(dims, sparse=sparse)
    if sparse:
        assert len(got) == len(want)
        for g, w in zip(got, want):
            assert_matches(g, w, I32)
    else:
        check_eager_and_traced(lambda: jnp.indices(dims), (), want, I32)
    assert_matches(jnp.indices((2,), dtype=jnp.uint8), np.indices((2,)), U8)


# ---------------------------------------------------------------------------------------
# Bad input: NumPy's exception types, naming the function and the caller's line

ERROR_CASES = [
    ("zeros_negative", ValueError, "negative dimensions", lambda: jnp.zeros((2, -1))),
    ("ones_negative_int", ValueError, "negative dimensions", lambda: jnp.ones(-3)),
    ("full_negative", ValueError, "negative dimensions", lambda: jnp.full((-1,), 2.0)),
    ("eye_negative", ValueError, "negative dimensions", lambda: jnp.eye(-2)),
    ("tri_negative", ValueError, "negative dimensions", lambda: jnp.tri(2, -1)),
    ("zeros_float_shape", TypeError, "integer", lambda: jnp.zeros((2.5,))),
    ("full_fill_shape", ValueError, "broadcast", lambda: jnp.full((2,), [1, 2, 3])),
    ("full_like_fill_shape", ValueError, "broadcast", lambda: jnp.full_like(np.ones(2), [1, 2, 3])),
    ("linspace_negative_num", ValueError, "non-negative", lambda: jnp.linspace(0, 1, -1)),
    (
        "linspace_axis",
        np.exceptions.AxisError,
        "out of bounds",
        lambda: jnp.linspace(0, 1, 3, axis=2),
    ),
    ("linspace_bounds", ValueError, "broadcast", lambda: jnp.linspace(np.ones(2), np.ones(3), 4)),
    ("geomspace_zero", ValueError, "non-zero", lambda: jnp.geomspace(0.0, 1.0, 3)),
    ("arange_zero_step", ZeroDivisionError, "step", lambda: jnp.arange(0, 4, 0)),
    ("arange_complex", TypeError, "real", lambda: jnp.arange(1j)),
    ("meshgrid_2d", ValueError, "1-d", lambda: jnp.meshgrid(np.ones((2, 2)), np.ones(3))),
    ("meshgrid_indexing", ValueError, "indexing", lambda: jnp.meshgrid(np.ones(2), indexing="x")),
    ("ragged_list", ValueError, "rectangular", lambda: jnp.asarray([[1, 2], [3]])),
    ("ragged_arrays", ValueError, "ragged", lambda: jnp.asarray([jnp.ones(2), jnp.ones(3)])),
    ("object_data", TypeError, "cannot make an array", lambda: jnp.asarray(["a", object()])),
    ("bad_dtype", TypeError, "not a dtype", lambda: jnp.zeros(2, "notatype")),
]


@pytest.mark.parametrize(
    "error, text, fun", [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES]
)
@pytest.mark.eager_only("geomspace checks bound values eagerly only", params=["geomspace_zero"])
def test_bad_input_raises_numpys_exception_with_location(error, text, fun):
    with pytest.raises(error) as info:
        fun()
    assert text in str(info.value), str(info.value)
    assert_location(info.value, fun)


def test_traced_sizes_raise_concretization_errors():
    cases = [
        lambda n: jnp.zeros(n),
        lambda n: jnp.eye(n),
        lambda n: jnp.linspace(0.0, 1.0, n),
        lambda n: jnp.full((n, 2), 1.0),
    ]
    for fun in cases:
        with pytest.raises(funcgrad.errors.ConcretizationTypeError) as info:
            funcgrad.make_jaxpr(fun)(3)
        assert_location(info.value, fun)
