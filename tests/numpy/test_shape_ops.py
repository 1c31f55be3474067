"""funcgrad.numpy shape manipulation against NumPy: axis moves, joining and splitting,
repeating and tiling, flips and rolls, padding, diagonals and triangles, the array
methods, and the lax primitives behind them (iota, concatenate, pad, expand_dims).

Oracles: NumPy for values and shapes; JAX's promotion rules, derived by hand, for the
dtypes of joined arrays. Each table case runs over several dtypes and shapes (0-d, empty,
size-1 axes), eagerly and as a jaxpr (make_jaxpr + eval_jaxpr), which must agree
exactly. Hypothesis checks round trips (split then concatenate, roll by n then -n, pad
then slice) and agreement with NumPy on random shapes.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I8, I16, I32, U8 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.uint8))
BOOL = np.dtype(np.bool_)
DTYPES = (F32, F16, BF16, I32, U8, BOOL)


def values(x) -> np.ndarray:
    assert isinstance(x, jnp.ndarray), f"expected a funcgrad Array, got {type(x).__name__}"
    return np.asarray(x)


def as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def random_array(rng, shape, dtype):
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    return rng.integers(0, 50, size=shape).astype(dtype)


def check_against_numpy(fun, reference, args):
    """fun(*args) eagerly and through its jaxpr, both equal to reference(*args)."""
    want = [np.asarray(w) for w in as_list(reference(*args))]
    eager = as_list(fun(*args))
    closed = funcgrad.make_jaxpr(fun)(*args)
    staged = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    assert len(eager) == len(want) == len(staged)
    for got, traced, expected in zip(eager, staged, want):
        assert got.shape == expected.shape, (got.shape, expected.shape)
        if isinstance(
            traced, (np.ndarray, np.generic)
        ):  # eval_jaxpr hands back an input output as it is
            assert (traced.dtype, traced.shape) == (got.dtype, got.shape)
        else:
            assert traced.aval == got.aval
        np.testing.assert_array_equal(values(got), expected.astype(got.dtype))
        np.testing.assert_array_equal(np.asarray(traced), values(got))


def assert_location(err: BaseException, fun) -> None:
    assert f"test_shape_ops.py:{fun.__code__.co_firstlineno}" in str(err), str(err)


# ---------------------------------------------------------------------------------------
# One-array operations: (id, funcgrad function, NumPy reference, shapes)

SHAPES_ANY = [(), (0,), (4,), (2, 0, 3), (1, 3), (2, 3, 4)]
SHAPES_1D_UP = [(0,), (4,), (1, 3), (2, 0, 3), (2, 3, 4)]
SHAPES_2D_UP = [(1, 1), (3, 4), (4, 2), (0, 3), (2, 3, 4), (2, 0, 3)]
SHAPES_3D_UP = [(2, 3, 4), (1, 2, 2), (2, 0, 3), (1, 2, 3, 2)]

UNARY = [
    ("swapaxes", lambda x: jnp.swapaxes(x, 0, -1), lambda x: np.swapaxes(x, 0, -1), SHAPES_1D_UP),
    ("moveaxis", lambda x: jnp.moveaxis(x, 0, -1), lambda x: np.moveaxis(x, 0, -1), SHAPES_1D_UP),
    (
        "moveaxis_many",
        lambda x: jnp.moveaxis(x, (0, 1), (-1, 0)),
        lambda x: np.moveaxis(x, (0, 1), (-1, 0)),
        SHAPES_3D_UP,
    ),
    (
        "reshape_F",
        lambda x: jnp.reshape(x, -1, order="F"),
        lambda x: x.reshape(-1, order="F"),
        SHAPES_ANY,
    ),
    (
        "reshape_F_2d",
        lambda x: jnp.reshape(x, (x.shape[-1], -1), order="F"),
        lambda x: x.reshape((x.shape[-1], -1), order="F"),
        [(3, 4), (2, 3, 4), (1, 3)],
    ),
    ("ravel_F", lambda x: jnp.ravel(x, order="F"), lambda x: np.ravel(x, order="F"), SHAPES_ANY),
    ("flatten_method", lambda x: jnp.asarray(x).flatten(), lambda x: x.flatten(), SHAPES_ANY),
    ("ravel_method", lambda x: jnp.asarray(x).ravel(), lambda x: x.ravel(), SHAPES_ANY),
    ("squeeze_method", lambda x: jnp.asarray(x).squeeze(), lambda x: x.squeeze(), SHAPES_ANY),
    (
        "swapaxes_method",
        lambda x: jnp.asarray(x).swapaxes(0, 1),
        lambda x: x.swapaxes(0, 1),
        SHAPES_2D_UP,
    ),
    (
        "T_and_reshape",
        lambda x: jnp.asarray(x).T.reshape(-1),
        lambda x: x.T.reshape(-1),
        SHAPES_ANY,
    ),
    ("atleast_1d", jnp.atleast_1d, np.atleast_1d, SHAPES_ANY),
    ("atleast_2d", jnp.atleast_2d, np.atleast_2d, SHAPES_ANY),
    ("atleast_3d", jnp.atleast_3d, np.atleast_3d, SHAPES_ANY),
    ("flip_all", jnp.flip, np.flip, SHAPES_ANY),
    ("flip_axis", lambda x: jnp.flip(x, -1), lambda x: np.flip(x, -1), SHAPES_1D_UP),
    ("flip_tuple", lambda x: jnp.flip(x, (0, 1)), lambda x: np.flip(x, (0, 1)), SHAPES_2D_UP),
    ("fliplr", jnp.fliplr, np.fliplr, SHAPES_2D_UP),
    ("flipud", jnp.flipud, np.flipud, SHAPES_1D_UP),
    ("roll_flat", lambda x: jnp.roll(x, 3), lambda x: np.roll(x, 3), SHAPES_ANY),
    ("roll_axis", lambda x: jnp.roll(x, -5, 0), lambda x: np.roll(x, -5, 0), SHAPES_1D_UP),
    (
        "roll_tuple",
        lambda x: jnp.roll(x, (1, -2), (0, 1)),
        lambda x: np.roll(x, (1, -2), (0, 1)),
        SHAPES_2D_UP,
    ),
    (
        "roll_same_axis",
        lambda x: jnp.roll(x, (1, 2), 0),
        lambda x: np.roll(x, (1, 2), 0),
        SHAPES_1D_UP,
    ),
    ("rot90", jnp.rot90, np.rot90, SHAPES_2D_UP),
    ("rot90_k2", lambda x: jnp.rot90(x, 2), lambda x: np.rot90(x, 2), SHAPES_2D_UP),
    (
        "rot90_k3_axes",
        lambda x: jnp.rot90(x, -1, (2, 0)),
        lambda x: np.rot90(x, -1, (2, 0)),
        SHAPES_3D_UP,
    ),
    ("tile_int", lambda x: jnp.tile(x, 2), lambda x: np.tile(x, 2), SHAPES_ANY),
    ("tile_tuple", lambda x: jnp.tile(x, (2, 1, 3)), lambda x: np.tile(x, (2, 1, 3)), SHAPES_ANY),
    ("tile_zero", lambda x: jnp.tile(x, (0, 2)), lambda x: np.tile(x, (0, 2)), SHAPES_ANY),
    ("repeat_flat", lambda x: jnp.repeat(x, 2), lambda x: np.repeat(x, 2), SHAPES_ANY),
    ("repeat_axis", lambda x: jnp.repeat(x, 3, -1), lambda x: np.repeat(x, 3, -1), SHAPES_1D_UP),
    ("repeat_zero", lambda x: jnp.repeat(x, 0, 0), lambda x: np.repeat(x, 0, 0), SHAPES_1D_UP),
    (
        "repeat_counts",
        lambda x: jnp.repeat(x, [2, 0, 1], axis=1),
        lambda x: np.repeat(x, [2, 0, 1], axis=1),
        [(2, 3), (0, 3, 1), (1, 3, 2)],
    ),
    (
        "repeat_method",
        lambda x: jnp.asarray(x).repeat(2, 0),
        lambda x: x.repeat(2, 0),
        SHAPES_1D_UP,
    ),
    ("resize", lambda x: jnp.resize(x, (3, 5)), lambda x: np.resize(x, (3, 5)), SHAPES_ANY),
    ("pad_int", lambda x: jnp.pad(x, 2), lambda x: np.pad(x, 2), SHAPES_ANY),
    ("pad_pairs", lambda x: jnp.pad(x, (1, 2)), lambda x: np.pad(x, (1, 2)), SHAPES_ANY),
    (
        "pad_constant_per_axis",
        lambda x: jnp.pad(x, ((0, 1), (2, 1)), constant_values=((1, 2), (3, 4))),
        lambda x: np.pad(x, ((0, 1), (2, 1)), constant_values=((1, 2), (3, 4))),
        [(1, 3), (3, 4), (0, 2)],
    ),
    ("pad_empty_mode", lambda x: jnp.pad(x, 1, "empty"), lambda x: np.pad(x, 1), SHAPES_ANY),
    (
        "pad_edge",
        lambda x: jnp.pad(x, (2, 3), "edge"),
        lambda x: np.pad(x, (2, 3), "edge"),
        [(1,), (4,), (2, 3)],
    ),
    (
        "pad_wrap",
        lambda x: jnp.pad(x, (5, 7), "wrap"),
        lambda x: np.pad(x, (5, 7), "wrap"),
        [(1,), (3,), (2, 3)],
    ),
    (
        "pad_reflect",
        lambda x: jnp.pad(x, (5, 6), "reflect"),
        lambda x: np.pad(x, (5, 6), "reflect"),
        [(1,), (2,), (4,), (3, 2)],
    ),
    (
        "pad_symmetric",
        lambda x: jnp.pad(x, ((3, 0), (1, 4)), "symmetric"),
        lambda x: np.pad(x, ((3, 0), (1, 4)), "symmetric"),
        [(1, 1), (2, 3), (4, 2)],
    ),
    ("diagonal", jnp.diagonal, np.diagonal, SHAPES_2D_UP),
    ("diagonal_offset", lambda x: jnp.diagonal(x, 1), lambda x: np.diagonal(x, 1), SHAPES_2D_UP),
    (
        "diagonal_negative",
        lambda x: jnp.diagonal(x, -2),
        lambda x: np.diagonal(x, -2),
        SHAPES_2D_UP,
    ),
    ("diagonal_far", lambda x: jnp.diagonal(x, 9), lambda x: np.diagonal(x, 9), SHAPES_2D_UP),
    (
        "diagonal_axes",
        lambda x: jnp.diagonal(x, 1, 2, 0),
        lambda x: np.diagonal(x, 1, 2, 0),
        SHAPES_3D_UP,
    ),
    (
        "diagonal_method",
        lambda x: jnp.asarray(x).diagonal(-1),
        lambda x: x.diagonal(-1),
        SHAPES_2D_UP,
    ),
    ("tril", jnp.tril, np.tril, SHAPES_2D_UP),
    ("tril_k", lambda x: jnp.tril(x, -1), lambda x: np.tril(x, -1), SHAPES_2D_UP),
    ("triu", jnp.triu, np.triu, SHAPES_2D_UP),
    ("triu_k", lambda x: jnp.triu(x, 2), lambda x: np.triu(x, 2), SHAPES_2D_UP),
    ("diag_of_vector", jnp.diag, np.diag, [(0,), (1,), (4,)]),
    ("diag_of_vector_k", lambda x: jnp.diag(x, 2), lambda x: np.diag(x, 2), [(0,), (3,)]),
    ("diag_of_vector_neg_k", lambda x: jnp.diag(x, -1), lambda x: np.diag(x, -1), [(1,), (3,)]),
    ("diag_of_matrix", lambda x: jnp.diag(x, 1), lambda x: np.diag(x, 1), [(3, 4), (0, 2), (1, 1)]),
    ("diagflat", lambda x: jnp.diagflat(x, -1), lambda x: np.diagflat(x, -1), SHAPES_ANY[:5]),
    (
        "split_sections",
        lambda x: jnp.split(x, 2, -1),
        lambda x: np.split(x, 2, -1),
        [(4,), (0,), (2, 3, 4)],
    ),
    (
        "split_indices",
        lambda x: jnp.split(x, [1, -1, 9], 0),
        lambda x: np.split(x, [1, -1, 9], 0),
        SHAPES_1D_UP,
    ),
    ("array_split", lambda x: jnp.array_split(x, 3), lambda x: np.array_split(x, 3), SHAPES_1D_UP),
    ("hsplit", lambda x: jnp.hsplit(x, [1]), lambda x: np.hsplit(x, [1]), SHAPES_1D_UP),
    ("vsplit", lambda x: jnp.vsplit(x, [1, 2]), lambda x: np.vsplit(x, [1, 2]), SHAPES_2D_UP),
    ("dsplit", lambda x: jnp.dsplit(x, [1]), lambda x: np.dsplit(x, [1]), SHAPES_3D_UP),
    (
        "broadcast_to",
        lambda x: jnp.broadcast_to(x, (2, *x.shape)),
        lambda x: np.broadcast_to(x, (2, *x.shape)),
        SHAPES_ANY,
    ),
    ("append_flat", lambda x: jnp.append(x, x), lambda x: np.append(x, x), SHAPES_ANY),
    (
        "append_axis",
        lambda x: jnp.append(x, x, axis=0),
        lambda x: np.append(x, x, axis=0),
        SHAPES_1D_UP,
    ),
]


def _unary_params():
    return [
        pytest.param(fun, reference, shapes, dtype, id=f"{label}-{dtype.name}")
        for label, fun, reference, shapes in UNARY
        for dtype in DTYPES
    ]


@pytest.mark.parametrize("fun, reference, shapes, dtype", _unary_params())
def test_unary_shape_ops_match_numpy(fun, reference, shapes, dtype):
    rng = np.random.default_rng(0)
    for shape in shapes:
        x = random_array(rng, shape, dtype)
        try:
            check_against_numpy(fun, reference, (x,))
        except AssertionError as err:
            raise AssertionError(f"at {dtype.name}{list(shape)}: {err}") from None


@pytest.mark.parametrize("dtype", [F32, I32, U8, BOOL], ids=lambda d: d.name)
def test_trace_matches_numpy_with_sum_dtypes(dtype):
    rng = np.random.default_rng(1)
    sum_dtype = {F32: F32, I32: I32, U8: np.dtype(np.uint32), BOOL: I32}[dtype]
    for shape, args in [((3, 4), ()), ((4, 2), (1,)), ((2, 3, 4), (-1, 1, 2)), ((0, 2), ())]:
        x = random_array(rng, shape, dtype)
        got = jnp.trace(x, *args)
        assert got.dtype == sum_dtype
        np.testing.assert_array_equal(values(got), np.trace(x, *args).astype(sum_dtype))
    assert jnp.asarray(np.eye(3)).trace().dtype == F32


# ---------------------------------------------------------------------------------------
# Joining several arrays, with promotion

JOIN_CASES = [
    # (id, fun, reference, shapes of the operands)
    ("concatenate_0", jnp.concatenate, np.concatenate, [(2, 3), (1, 3), (0, 3)]),
    (
        "concatenate_1",
        lambda xs: jnp.concatenate(xs, 1),
        lambda xs: np.concatenate(xs, 1),
        [(2, 1), (2, 3)],
    ),
    (
        "concatenate_neg",
        lambda xs: jnp.concatenate(xs, -1),
        lambda xs: np.concatenate(xs, -1),
        [(4,), (0,)],
    ),
    (
        "concatenate_none",
        lambda xs: jnp.concatenate(xs, None),
        lambda xs: np.concatenate(xs, None),
        [(2, 3), (), (4,)],
    ),
    ("concatenate_one", jnp.concatenate, np.concatenate, [(2, 3)]),
    ("stack_0", jnp.stack, np.stack, [(2, 3), (2, 3), (2, 3)]),
    ("stack_last", lambda xs: jnp.stack(xs, -1), lambda xs: np.stack(xs, -1), [(2, 3), (2, 3)]),
    ("stack_scalars", jnp.stack, np.stack, [(), ()]),
    ("stack_empty", lambda xs: jnp.stack(xs, 1), lambda xs: np.stack(xs, 1), [(0, 2), (0, 2)]),
    ("hstack_1d", jnp.hstack, np.hstack, [(2,), (0,), (3,)]),
    ("hstack_2d", jnp.hstack, np.hstack, [(2, 1), (2, 3)]),
    ("hstack_scalars", jnp.hstack, np.hstack, [(), ()]),
    ("vstack", jnp.vstack, np.vstack, [(3,), (2, 3), ()][:2]),
    ("vstack_scalars", jnp.vstack, np.vstack, [(), ()]),
    ("dstack", jnp.dstack, np.dstack, [(2,), (2,)]),
    ("dstack_2d", jnp.dstack, np.dstack, [(2, 3), (2, 3)]),
    ("column_stack", jnp.column_stack, np.column_stack, [(3,), (3, 2), (3,)]),
    ("column_stack_scalars", jnp.column_stack, np.column_stack, [(), ()]),
    ("block_row", lambda xs: jnp.block(list(xs)), lambda xs: np.block(list(xs)), [(2, 2), (2, 1)]),
    (
        "block_grid",
        lambda xs: jnp.block([[xs[0], xs[1]], [xs[2]]]),
        lambda xs: np.block([[xs[0], xs[1]], [xs[2]]]),
        [(2, 2), (2, 1), (1, 3)],
    ),
    (
        "block_1d",
        lambda xs: jnp.block([xs[0], xs[1]]),
        lambda xs: np.block([xs[0], xs[1]]),
        [(2,), ()],
    ),
    (
        "broadcast_arrays",
        lambda xs: jnp.broadcast_arrays(*xs),
        lambda xs: np.broadcast_arrays(*xs),
        [(3, 1), (4,), ()],
    ),
    (
        "meshlike_broadcast",
        lambda xs: jnp.broadcast_arrays(*xs),
        lambda xs: np.broadcast_arrays(*xs),
        [(0, 1), (1, 5)],
    ),
]


def _join_params():
    return [
        pytest.param(fun, reference, shapes, dtype, id=f"{label}-{dtype.name}")
        for label, fun, reference, shapes in JOIN_CASES
        for dtype in DTYPES
    ]


@pytest.mark.parametrize("fun, reference, shapes, dtype", _join_params())
def test_joins_match_numpy(fun, reference, shapes, dtype):
    rng = np.random.default_rng(2)
    operands = tuple(random_array(rng, shape, dtype) for shape in shapes)
    check_against_numpy(lambda *xs: fun(list(xs)), lambda *xs: reference(list(xs)), operands)


PROMOTIONS = [
    # operands, the JAX result dtype, weak type
    ([np.ones(2, np.int8), np.ones(2, np.uint8)], I16, False),
    ([np.ones(2, np.float16), np.ones(2, ml_dtypes.bfloat16)], F32, False),
    ([np.ones(2, np.float16), jnp.asarray([2.0, 3.0])], F32, False),  # a list is strong
    ([np.ones(2, np.float16), jnp.full(2, 2.0)], F16, False),  # a Python-scalar fill is weak
    ([jnp.full(2, 1.0), jnp.full(2, 2.0)], F32, True),
    ([np.ones(2, np.bool_), np.ones(2, np.int32)], I32, False),
    ([np.ones(2, np.uint8), jnp.full(2, 3)], U8, False),
]


@pytest.mark.parametrize("operands, dtype, weak", PROMOTIONS)
@pytest.mark.parametrize("join", ["concatenate", "stack", "hstack", "vstack", "append"])
def test_joins_promote_like_jax(join, operands, dtype, weak):
    if join == "append":
        got = jnp.append(*operands)
    else:
        got = getattr(jnp, join)(operands)
    assert (got.dtype, got.weak_type) == (dtype, weak)
    wide = [np.asarray(o).astype(np.float64) for o in operands]
    want = np.append(*wide) if join == "append" else getattr(np, join)(wide)
    np.testing.assert_array_equal(values(got).astype(np.float64), want.astype(np.float64))


def test_concatenate_and_stack_dtype_argument():
    got = jnp.concatenate([np.ones(2, np.int32), np.zeros(1, np.int32)], dtype=jnp.float16)
    assert got.dtype == F16 and values(got).tolist() == [1, 1, 0]
    assert jnp.stack([np.ones(2), np.ones(2)], dtype=jnp.uint8).dtype == U8


def test_stack_of_tracers_and_of_an_array():
    fun = lambda x, y: jnp.stack([x, y, x], axis=1)  # noqa: E731
    x, y = np.arange(3, dtype=np.float32), np.ones(3, np.float32)
    check_against_numpy(fun, lambda a, b: np.stack([a, b, a], 1), (x, y))
    check_against_numpy(lambda a: jnp.stack(a), lambda a: np.stack(list(a)), (np.ones((2, 3)),))


# ---------------------------------------------------------------------------------------
# Traced shifts, counts and fills


def test_roll_by_a_traced_shift_matches_numpy():
    x = np.arange(10, dtype=np.float32).reshape(2, 5)
    fun = lambda s: jnp.roll(x, s, axis=1)  # noqa: E731
    closed = funcgrad.make_jaxpr(fun)(np.int32(0))
    for shift in range(-12, 13):
        (got,) = eval_jaxpr(closed.jaxpr, closed.consts, np.int32(shift))
        np.testing.assert_array_equal(values(got), np.roll(x, shift, axis=1))
    np.testing.assert_array_equal(
        values(jnp.roll(np.arange(5), jnp.asarray(7))), np.roll(np.arange(5), 7)
    )


@pytest.mark.parametrize("dtype", [F32, I32, BOOL], ids=lambda d: d.name)
def test_repeat_with_traced_counts_and_total_length(dtype):
    x = random_array(np.random.default_rng(3), (4, 2), dtype)
    fun = lambda r: jnp.repeat(x, r, axis=0, total_repeat_length=6)  # noqa: E731
    closed = funcgrad.make_jaxpr(fun)(np.zeros(4, np.int32))
    for counts in ([1, 2, 0, 3], [0, 0, 6, 0], [1, 1, 1, 0], [3, 3, 3, 3]):
        full = np.repeat(x, counts, axis=0)
        # JAX's rule: cut to total_repeat_length, or repeat the last element to reach it.
        want = (
            full[:6]
            if len(full) >= 6
            else np.concatenate([full, np.repeat(x[-1:], 6 - len(full), 0)])
        )
        (got,) = eval_jaxpr(closed.jaxpr, closed.consts, np.array(counts, np.int32))
        assert got.dtype == dtype
        np.testing.assert_array_equal(values(got), want)
        np.testing.assert_array_equal(
            values(jnp.repeat(x, np.array(counts), 0, total_repeat_length=6)), want
        )


def test_pad_with_a_traced_fill_value():
    fun = lambda v: jnp.pad(np.ones((2, 2), np.float32), 1, constant_values=v)  # noqa: E731
    check_against_numpy(
        fun, lambda v: np.pad(np.ones((2, 2)), 1, constant_values=v), (np.float32(7),)
    )


def test_pad_keeps_weak_type_and_casts_the_fill():
    got = jnp.pad(jnp.full(2, 1.0), 1, constant_values=2.5)
    assert (got.dtype, got.weak_type) == (F32, True)
    got = jnp.pad(np.ones(2, np.int32), 1, constant_values=2.7)
    assert got.dtype == I32 and values(got).tolist() == [2, 1, 1, 2]


def test_shape_size_ndim():
    x = np.ones((2, 0, 3))
    for a in (x, jnp.asarray(x), x.tolist(), 2.0):
        assert jnp.shape(a) == np.shape(a)
        assert jnp.ndim(a) == np.ndim(a)
        assert jnp.size(a) == np.size(a)
    assert jnp.size(x, -1) == 3
    assert jnp.broadcast_shapes((2, 1), (3,), 1) == (2, 3)
    assert jnp.broadcast_shapes() == ()

    def traced_shape(t):
        assert (jnp.shape(t), jnp.ndim(t), jnp.size(t)) == ((2, 0, 3), 3, 0)
        return t

    funcgrad.make_jaxpr(traced_shape)(x)


# ---------------------------------------------------------------------------------------
# Hypothesis: round trips and agreement with NumPy on random shapes

shapes = st.lists(st.integers(0, 4), min_size=1, max_size=3).map(tuple)


def _arange(shape):
    return np.arange(int(np.prod(shape)), dtype=np.int32).reshape(shape)


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_split_then_concatenate_round_trips(shape, data):
    x = _arange(shape)
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    points = sorted(data.draw(st.lists(st.integers(0, shape[axis]), max_size=3)))
    parts = jnp.split(x, points, axis)
    want = np.split(x, points, axis)
    assert [p.shape for p in parts] == [w.shape for w in want]
    np.testing.assert_array_equal(values(jnp.concatenate(parts, axis)), x)


@settings(max_examples=40, deadline=None)
@given(shapes, st.integers(-9, 9), st.data())
def test_roll_by_n_then_minus_n_is_the_identity(shape, shift, data):
    x = _arange(shape)
    axis = data.draw(st.none() | st.integers(-len(shape), len(shape) - 1))
    rolled = jnp.roll(x, shift, axis)
    np.testing.assert_array_equal(values(rolled), np.roll(x, shift, axis))
    np.testing.assert_array_equal(values(jnp.roll(rolled, -shift, axis)), x)


@settings(max_examples=40, deadline=None)
@given(shapes, st.data())
def test_pad_then_slice_gives_back_the_array(shape, data):
    x = _arange(shape)
    widths = [tuple(data.draw(st.lists(st.integers(0, 3), min_size=2, max_size=2))) for _ in shape]
    modes = ["constant", "edge", "wrap", "reflect", "symmetric"] if 0 not in shape else ["constant"]
    mode = data.draw(st.sampled_from(modes))
    padded = jnp.pad(x, widths, mode)
    np.testing.assert_array_equal(values(padded), np.pad(x, widths, mode))
    inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(widths, shape))
    np.testing.assert_array_equal(values(padded[inner]), x)


@settings(max_examples=30, deadline=None)
@given(shapes, st.lists(st.integers(0, 3), max_size=3).map(tuple))
def test_tile_matches_numpy(shape, reps):
    x = _arange(shape)
    np.testing.assert_array_equal(values(jnp.tile(x, reps)), np.tile(x, reps))


@settings(max_examples=30, deadline=None)
@given(shapes, st.integers(0, 4))
def test_array_split_matches_numpy(shape, sections):
    x = _arange(shape)
    sections += 1
    got = jnp.array_split(x, sections, -1)
    want = np.array_split(x, sections, -1)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_array_equal(values(g), w)


# ---------------------------------------------------------------------------------------
# Bad input: NumPy's exception types, naming the function, the shapes and the caller's line

AxisError = np.exceptions.AxisError
m23, m22, v3 = np.ones((2, 3)), np.ones((2, 2)), np.ones(3)

ERROR_CASES = [
    ("concatenate_shapes", ValueError, "(2, 3)", lambda: jnp.concatenate([m23, m22])),
    (
        "concatenate_ranks",
        ValueError,
        "same number of dimensions",
        lambda: jnp.concatenate([m23, v3]),
    ),
    ("concatenate_scalars", ValueError, "zero-dimensional", lambda: jnp.concatenate([1.0, 2.0])),
    ("concatenate_nothing", ValueError, "at least one", lambda: jnp.concatenate([])),
    ("concatenate_axis", AxisError, "out of bounds", lambda: jnp.concatenate([m23, m23], 2)),
    ("stack_shapes", ValueError, "same shape", lambda: jnp.stack([m23, m22])),
    ("stack_axis", AxisError, "out of bounds", lambda: jnp.stack([v3, v3], -3)),
    ("vstack_shapes", ValueError, "(1, 3)", lambda: jnp.vstack([v3, m22])),
    ("split_unequal", ValueError, "equal division", lambda: jnp.split(v3, 2)),
    ("split_zero_sections", ValueError, "larger than 0", lambda: jnp.split(v3, 0)),
    ("split_axis", AxisError, "out of bounds", lambda: jnp.split(m23, 1, 2)),
    ("split_float_points", TypeError, "ints", lambda: jnp.split(v3, [1.5])),
    ("vsplit_rank", ValueError, "2 or more", lambda: jnp.vsplit(v3, 1)),
    ("dsplit_rank", ValueError, "3 or more", lambda: jnp.dsplit(m23, 1)),
    ("swapaxes_axis", AxisError, "out of bounds", lambda: jnp.swapaxes(m23, 0, 2)),
    ("moveaxis_axis", AxisError, "out of bounds", lambda: jnp.moveaxis(m23, -3, 0)),
    ("moveaxis_lengths", ValueError, "same number", lambda: jnp.moveaxis(m23, (0, 1), (0,))),
    ("moveaxis_repeat", ValueError, "repeated axis", lambda: jnp.moveaxis(m23, (0, 0), (0, 1))),
    ("flip_axis", AxisError, "out of bounds", lambda: jnp.flip(v3, 1)),
    ("flip_float_axis", TypeError, "integer", lambda: jnp.flip(v3, 0.5)),
    ("fliplr_rank", ValueError, "at least 2-d", lambda: jnp.fliplr(v3)),
    ("flipud_rank", ValueError, "at least 1-d", lambda: jnp.flipud(1.0)),
    ("roll_lengths", ValueError, "same length", lambda: jnp.roll(m23, (1, 2, 3), (0, 1))),
    ("roll_axis", AxisError, "out of bounds", lambda: jnp.roll(v3, 1, 1)),
    ("rot90_rank", ValueError, "at least 2-d", lambda: jnp.rot90(v3)),
    ("rot90_same_axes", ValueError, "repeated axis", lambda: jnp.rot90(m23, 1, (1, 1))),
    ("tile_negative", ValueError, "non-negative", lambda: jnp.tile(v3, -1)),
    ("repeat_negative", ValueError, "negative", lambda: jnp.repeat(v3, -1)),
    ("repeat_counts", ValueError, "one count per element", lambda: jnp.repeat(v3, [1, 2])),
    ("repeat_axis", AxisError, "out of bounds", lambda: jnp.repeat(v3, 2, 1)),
    ("resize_negative", ValueError, "non-negative", lambda: jnp.resize(v3, (-1, 2))),
    ("reshape_negative", ValueError, "unknown dimension", lambda: jnp.reshape(v3, (-2, 1))),
    ("reshape_size", ValueError, "cannot reshape", lambda: jnp.reshape(m23, (4, 2))),
    ("reshape_order", ValueError, "order", lambda: jnp.reshape(m23, 6, order="X")),
    ("reshape_order_A", NotImplementedError, "order='A'", lambda: jnp.reshape(m23, 6, order="A")),
    ("broadcast_to_shape", ValueError, "(2, 3)", lambda: jnp.broadcast_to(m23, (3, 3))),
    ("broadcast_to_negative", ValueError, "negative", lambda: jnp.broadcast_to(v3, (-1, 3))),
    ("broadcast_arrays", ValueError, "(2, 3) (2, 2)", lambda: jnp.broadcast_arrays(m23, m22)),
    ("broadcast_shapes", ValueError, "(2,) (3,)", lambda: jnp.broadcast_shapes((2,), (3,))),
    ("expand_dims_axis", AxisError, "out of bounds", lambda: jnp.expand_dims(v3, 3)),
    ("squeeze_not_one", ValueError, "not equal to one", lambda: jnp.squeeze(m23, 0)),
    ("pad_negative", ValueError, "negative", lambda: jnp.pad(v3, (-1, 2))),
    ("pad_widths", ValueError, "does not fit", lambda: jnp.pad(m23, ((1, 2, 3),))),
    ("pad_mode", NotImplementedError, "mode", lambda: jnp.pad(v3, 1, "median")),
    ("pad_keyword", ValueError, "keyword", lambda: jnp.pad(v3, 1, "edge", constant_values=1)),
    ("pad_empty_edge", ValueError, "empty axis", lambda: jnp.pad(np.ones(0), 1, "edge")),
    (
        "pad_values_shape",
        ValueError,
        "does not fit",
        lambda: jnp.pad(v3, 1, constant_values=[1, 2, 3]),
    ),
    ("diagonal_rank", ValueError, "at least 2-d", lambda: jnp.diagonal(v3)),
    ("diagonal_same_axes", ValueError, "same", lambda: jnp.diagonal(m23, 0, 1, 1)),
    ("diag_rank", ValueError, "1-d or 2-d", lambda: jnp.diag(np.ones((2, 2, 2)))),
    ("tril_rank", ValueError, "at least 2-d", lambda: jnp.tril(v3)),
    ("triu_rank", ValueError, "at least 2-d", lambda: jnp.triu(2.0)),
    ("hstack_nothing", ValueError, "at least one", lambda: jnp.hstack([])),
    ("block_depths", ValueError, "depths are mismatched", lambda: jnp.block([[v3], v3])),
    ("block_empty", ValueError, "empty", lambda: jnp.block([[]])),
]


@pytest.mark.parametrize(
    "error, text, fun", [pytest.param(*case[1:], id=case[0]) for case in ERROR_CASES]
)
def test_bad_input_raises_numpys_exception_with_location(error, text, fun):
    with pytest.raises(error) as info:
        fun()
    message = str(info.value)
    assert text in message, message
    assert_location(info.value, fun)


def test_concatenate_error_names_the_shapes_under_make_jaxpr():
    fun = lambda x, y: jnp.concatenate([x, y], axis=1)  # noqa: E731
    with pytest.raises(ValueError) as info:
        funcgrad.make_jaxpr(fun)(np.ones((2, 3)), np.ones((3, 3)))
    assert "(2, 3)" in str(info.value) and "(3, 3)" in str(info.value)
    assert_location(info.value, fun)


def test_static_arguments_that_are_traced_raise_concretization_errors():
    for fun in [
        lambda n: jnp.split(np.ones(4), n),
        lambda n: jnp.tile(np.ones(2), n),
        lambda n: jnp.repeat(np.ones(2), n),
        lambda n: jnp.pad(np.ones(2), n),
        lambda n: jnp.diagonal(np.ones((2, 2)), n),
        lambda n: jnp.reshape(np.ones(4), (n, 2)),
    ]:
        with pytest.raises(funcgrad.errors.ConcretizationTypeError) as info:
            funcgrad.make_jaxpr(fun)(2)
        assert_location(info.value, fun)


# ---------------------------------------------------------------------------------------
# The lax primitives behind them: shape-rule errors name the primitive, operands and line

LAX_ERRORS = [
    (
        "concatenate",
        "f32[3], i32[3]",
        lambda: lax.concatenate([np.ones(3, np.float32), np.ones(3, np.int32)], 0),
    ),
    (
        "concatenate",
        "f32[2,3], f32[3,3]",
        lambda: lax.concatenate([np.ones((2, 3), np.float32), np.ones((3, 3), np.float32)], 1),
    ),
    ("concatenate", "f32[]", lambda: lax.concatenate([np.float32(1)], 0)),
    ("pad", "f32[3], f32[]", lambda: lax.pad(np.ones(3, np.float32), 0.0, [(-2, -2, 0)])),
    ("pad", "f32[3], f32[]", lambda: lax.pad(np.ones(3, np.float32), 0.0, [(0, 0, -1)])),
    ("pad", "f32[3], f32[]", lambda: lax.pad(np.ones(3, np.float32), 0.0, [(0, 0, 0)] * 2)),
    ("pad", "f32[3], f16[]", lambda: lax.pad(np.ones(3, np.float32), np.float16(0), [(1, 1, 0)])),
    ("iota", "shape (3,)", lambda: lax.broadcasted_iota(np.int32, (3,), 1)),
    ("iota", "bool", lambda: lax.iota(np.bool_, 3)),
    ("expand_dims", "f32[3]", lambda: lax.expand_dims(np.ones(3, np.float32), (0, 0))),
]


@pytest.mark.parametrize("primitive, operands, fun", LAX_ERRORS)
def test_lax_shape_rule_errors(primitive, operands, fun):
    with pytest.raises(TypeError) as info:
        fun()
    message = str(info.value)
    assert message.startswith(f"{primitive}:") and operands in message, message
    assert_location(info.value, fun)


def test_lax_pad_interior_and_negative_edges():
    x = np.arange(1, 4, dtype=np.int32)
    got = lax.pad(x, np.int32(0), [(-1, 2, 2)])
    # Interior: 1 0 0 2 0 0 3; the low edge trims the leading 1; two zeros go on the end.
    assert values(got).tolist() == [0, 0, 2, 0, 0, 3, 0, 0]
    assert lax.pad(x, 0, [(-3, 0, 0)]).shape == (0,)


def test_lax_new_primitives_keep_weak_types():
    weak = jnp.full(3, 1.0)
    assert lax.concatenate([weak, weak], 0).weak_type
    assert not lax.concatenate([weak, np.ones(3, np.float32)], 0).weak_type
    assert lax.pad(weak, 0.0, [(1, 1, 0)]).weak_type
    assert lax.expand_dims(weak, (0,)).weak_type
    assert not lax.iota(np.float32, 3).weak_type
