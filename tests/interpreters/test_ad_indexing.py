"""Differentiation of the indexing primitives (gather, the scatter family, dynamic_slice,
dynamic_update_slice) and of the funcgrad.numpy indexing built on them: check_grads to
second order in both modes over several dimension-number configurations and modes,
hand-derived gradients for clamped reads and dropped writes, and a registry check."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad
from funcgrad.lax import indexing
from funcgrad.lax.indexing import dynamic_slice_p, dynamic_update_slice_p
from funcgrad.test_util import check_grads

rng = np.random.default_rng(0)
GDN, SDN = lax.GatherDimensionNumbers, lax.ScatterDimensionNumbers


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def distinct(x_shape, u_shape):
    """An operand and updates whose values are all at least 0.1 apart, so that min/max
    choices are away from ties."""
    x_size, u_size = int(np.prod(x_shape)), int(np.prod(u_shape))
    values = (rng.permutation(x_size + u_size) * 0.1 - 1.0).astype(np.float32)
    return values[:x_size].reshape(x_shape), values[x_size:].reshape(u_shape)


def i32(*values):
    return np.asarray(values, np.int32)


# ---------------------------------------------------------------------------------------
# The primitives, in several dimension-number configurations

ROWS = GDN(offset_dims=(1,), collapsed_slice_dims=(0,), start_index_map=(0,))
WINDOWS = GDN(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0, 1))
BATCHED = GDN(
    offset_dims=(),
    collapsed_slice_dims=(1,),
    start_index_map=(1,),
    operand_batching_dims=(0,),
    start_indices_batching_dims=(0,),
)
COLUMNS_FIRST = GDN(offset_dims=(0,), collapsed_slice_dims=(1,), start_index_map=(1,))
ROW_IDX = i32([0], [3], [3], [-2], [5])  # repeated, below and above the 4 rows
WINDOW_STARTS = i32([0, 0], [1, 2], [3, 3], [-1, 1], [1, 2])
BATCH_IDX = i32([[0], [2], [2]], [[3], [-1], [1]])

GATHERS = [
    ("rows clamped", lambda x: lax.gather(x, ROW_IDX, ROWS, (1, 3)), f32(4, 3)),
    ("rows clip", lambda x: lax.gather(x, ROW_IDX, ROWS, (1, 3), mode="clip"), f32(4, 3)),
    (
        "rows fill",
        lambda x: lax.gather(x, ROW_IDX, ROWS, (1, 3), mode="fill", fill_value=-1.0),
        f32(4, 3),
    ),
    ("windows clamped", lambda x: lax.gather(x, WINDOW_STARTS, WINDOWS, (2, 2)), f32(4, 4)),
    (
        "windows fill",
        lambda x: lax.gather(x, WINDOW_STARTS, WINDOWS, (2, 2), mode="fill", fill_value=0.0),
        f32(4, 4),
    ),
    ("operand batching dims", lambda x: lax.gather(x, BATCH_IDX, BATCHED, (1, 1)), f32(2, 3)),
    (
        "offset dim first",
        lambda x: lax.gather(x, i32([2], [0], [9]), COLUMNS_FIRST, (2, 1)),
        f32(2, 4),
    ),
    (
        "empty index vector",
        lambda x: lax.gather(x, np.zeros((2, 0), np.int32), GDN((1, 2), (), ()), (2, 3)),
        f32(2, 3),
    ),
]


@pytest.mark.parametrize("name, fun, x", GATHERS, ids=[g[0] for g in GATHERS])
def test_gather(name, fun, x):
    check_grads(fun, (x,), order=2)


ROWS_SCATTER = SDN(
    update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
)
WINDOWS_SCATTER = SDN(
    update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0, 1)
)
BATCHED_SCATTER = SDN(
    update_window_dims=(),
    inserted_window_dims=(1,),
    scatter_dims_to_operand_dims=(1,),
    operand_batching_dims=(0,),
    scatter_indices_batching_dims=(0,),
)
UNIQUE_ROWS = i32([2], [0], [7], [-1])  # in bounds once each, two dropped


def rows(op, idx=ROW_IDX, **kw):
    return lambda x, u: op(x, idx, u, ROWS_SCATTER, **kw)


def windows(op, **kw):
    return lambda x, u: op(x, WINDOW_STARTS, u, WINDOWS_SCATTER, **kw)


SCATTERS = [
    ("add rows repeated dropped", rows(lax.scatter_add), f32(4, 3), f32(5, 3)),
    ("add rows clip", rows(lax.scatter_add, mode="clip"), f32(4, 3), f32(5, 3)),
    ("add windows", windows(lax.scatter_add), f32(4, 4), f32(5, 2, 2)),
    (
        "add operand batching dims",
        lambda x, u: lax.scatter_add(x, BATCH_IDX, u, BATCHED_SCATTER),
        f32(2, 3),
        f32(2, 3),
    ),
    ("set rows unique", rows(lax.scatter, UNIQUE_ROWS, unique_indices=True), f32(4, 3), f32(4, 3)),
    ("set rows repeated", rows(lax.scatter), f32(4, 3), f32(5, 3)),
    ("set rows clip", rows(lax.scatter, mode="clip"), f32(4, 3), f32(5, 3)),
    ("set windows overlapping", windows(lax.scatter), f32(4, 4), f32(5, 2, 2)),
    ("mul rows repeated", rows(lax.scatter_mul), f32(4, 3), f32(5, 3)),
    (
        "mul rows unique",
        rows(lax.scatter_mul, UNIQUE_ROWS, unique_indices=True),
        f32(4, 3),
        f32(4, 3),
    ),
    ("mul rows clip", rows(lax.scatter_mul, mode="clip"), f32(4, 3), f32(5, 3)),
    ("mul windows", windows(lax.scatter_mul), f32(4, 4), f32(5, 2, 2)),
    (
        "mul with zero updates",
        rows(lax.scatter_mul),
        f32(4, 3),
        np.array([[0, 1, 0], [0, 2, 1.5], [0, 0, 0], [1, 1, 1], [0, 0, 0]], np.float32),
    ),
    ("min rows repeated", rows(lax.scatter_min), *distinct((4, 3), (5, 3))),
    ("max rows repeated", rows(lax.scatter_max), *distinct((4, 3), (5, 3))),
    ("max rows clip", rows(lax.scatter_max, mode="clip"), *distinct((4, 3), (5, 3))),
    ("min windows", windows(lax.scatter_min), *distinct((4, 4), (5, 2, 2))),
]


@pytest.mark.parametrize("name, fun, x, u", SCATTERS, ids=[s[0] for s in SCATTERS])
def test_scatter(name, fun, x, u):
    check_grads(fun, (x, u), order=2)


DYNAMIC = [
    ("slice in bounds", lambda x: dynamic_slice_p.bind(x, 1, 0, slice_sizes=(2, 3)), f32(4, 3)),
    ("slice clamped", lambda x: dynamic_slice_p.bind(x, 5, -2, slice_sizes=(2, 2)), f32(4, 3)),
    ("slice wrapper", lambda x: lax.dynamic_slice(x, (-2, 1), (2, 2)), f32(4, 3)),
]


@pytest.mark.parametrize("name, fun, x", DYNAMIC, ids=[d[0] for d in DYNAMIC])
def test_dynamic_slice(name, fun, x):
    check_grads(fun, (x,), order=2)


@pytest.mark.parametrize("starts", [(1, 1), (3, -1), (-5, 9)])
def test_dynamic_update_slice(starts):
    fun = lambda x, u: dynamic_update_slice_p.bind(x, u, *map(np.int32, starts))  # noqa: E731
    check_grads(fun, (f32(4, 3), f32(2, 2)), order=2)
    # the update, times itself: linear in (operand, update) jointly, squared afterwards
    check_grads(lambda x, u: fun(x, u) ** 2, (f32(4, 3), f32(2, 2)), order=2)


# ---------------------------------------------------------------------------------------
# funcgrad.numpy indexing and .at updates


def arr(fun):
    """`fun` on funcgrad arrays (check_grads passes NumPy arrays)."""
    return lambda *args: fun(*map(jnp.asarray, args))


IDX = np.array([2, 0, 2, -1])  # a repeat and a negative index
NUMPY_INDEXING = [
    ("int array", arr(lambda x: x[IDX]), (f32(4, 3),)),
    ("int array, second axis", arr(lambda x: x[:, IDX] * x[0, 1]), (f32(2, 4),)),
    ("slice and int array", arr(lambda x: x[1:, IDX]), (f32(3, 4),)),
    ("two int arrays", arr(lambda x: x[IDX[:2], IDX[2:]]), (f32(3, 3),)),
    ("take", arr(lambda x: jnp.take(x, IDX, axis=1)), (f32(2, 3),)),
    ("take flat", arr(lambda x: jnp.take(x, IDX)), (f32(2, 3),)),
    (
        "take_along_axis",
        arr(lambda x: jnp.take_along_axis(x, jnp.asarray([[1, 0, 1], [2, 2, 0]]), axis=1)),
        (f32(2, 3),),
    ),
    ("at set", arr(lambda x, u: x.at[IDX[:2]].set(u)), (f32(4, 3), f32(2, 3))),
    ("at set repeated", arr(lambda x, u: x.at[IDX].set(u)), (f32(4, 3), f32(4, 3))),
    ("at add repeated", arr(lambda x, u: x.at[IDX].add(u)), (f32(4, 3), f32(4, 3))),
    ("at add scalar", arr(lambda x, u: x.at[1, IDX[:2]].add(u)), (f32(4, 3), f32())),
    ("at multiply", arr(lambda x, u: x.at[IDX].multiply(u)), (f32(4, 3), f32(4, 3))),
    ("at min", arr(lambda x, u: x.at[IDX[:2]].min(u)), distinct((4, 3), (2, 3))),
    ("at max repeated", arr(lambda x, u: x.at[IDX].max(u)), distinct((4, 3), (4, 3))),
    ("at apply", arr(lambda x: x.at[IDX[:2]].apply(jnp.sin)), (f32(4),)),
    ("at get fill", arr(lambda x: x.at[IDX + 2].get(mode="fill", fill_value=0.0)), (f32(4),)),
]


@pytest.mark.parametrize("name, fun, args", NUMPY_INDEXING, ids=[n[0] for n in NUMPY_INDEXING])
def test_numpy_indexing(name, fun, args):
    check_grads(fun, args, order=2)


def test_gather_loss_composite():
    # A softmax cross-entropy whose labels pick log-probabilities by integer indexing.
    labels = np.array([2, 0, 1])

    def loss(logits):
        logits = jnp.asarray(logits)
        log_probs = logits - jnp.log(jnp.exp(logits).sum(axis=1, keepdims=True))
        return -log_probs[jnp.arange(3), labels].sum()

    check_grads(loss, (f32(3, 4),), order=2)


def test_traced_integer_index():
    # Under make_jaxpr the index is a tracer: x[i] is a dynamic_slice (negative i wraps,
    # past-the-end i clamps), and its gradient lands on the element read.
    x, weights = np.arange(5, dtype=np.float32), np.float32(3.0)
    traced = fg.make_jaxpr(lambda x, i: fg.grad(lambda x: jnp.asarray(x)[i] ** 2 * weights)(x))(
        x, np.int32(0)
    )
    for i, read in [(1, 1), (-1, 4), (9, 4), (-9, 0)]:
        (grad,) = eval_jaxpr(traced.jaxpr, traced.consts, x, np.int32(i))
        expected = np.zeros(5, np.float32)
        expected[read] = 2 * x[read] * weights
        np.testing.assert_array_equal(grad, expected)


def test_jnp_traced_index_check_grads():
    jaxpr = fg.make_jaxpr(lambda x, i: jnp.asarray(x)[i].sum() * jnp.asarray(x)[1:, i])(
        f32(3, 4), 2
    )
    check_grads(lambda x: lax.closed_call(jaxpr, x, np.int32(2))[0], (f32(3, 4),), order=2)


# ---------------------------------------------------------------------------------------
# Out-of-bounds: clamped reads, filled reads, dropped writes (hand-derived)


def test_clamped_read_gradient_lands_on_the_clamped_element():
    x = jnp.asarray([1.0, 2.0, 3.0])
    grad = fg.grad(lambda x: (x[np.array([5, -7, 1])] * jnp.asarray([10.0, 20.0, 30.0])).sum())(x)
    # 5 clamps to 2 (weight 10); -7 wraps to -4, which clamps to 0 (weight 20)
    np.testing.assert_array_equal(grad, [20.0, 30.0, 10.0])


def test_clamped_window_read():
    starts = i32([3, 3])  # a 2x2 window clamped to start at (2, 1) of a 4x3 operand
    grad = fg.grad(lambda x: lax.gather(x, starts, GDN((0, 1), (), (0, 1)), (2, 2)).sum())(
        np.ones((4, 3), np.float32)
    )
    expected = np.zeros((4, 3), np.float32)
    expected[2:4, 1:3] = 1
    np.testing.assert_array_equal(grad, expected)


def test_filled_read_gets_no_gradient():
    x = jnp.asarray([1.0, 2.0, 3.0])
    get = lambda x: x.at[np.array([1, 3, -4])].get(mode="fill", fill_value=7.0)  # noqa: E731
    np.testing.assert_array_equal(get(x), [2.0, 7.0, 7.0])
    np.testing.assert_array_equal(fg.grad(lambda x: get(x).sum())(x), [0.0, 1.0, 0.0])
    _, tangent = fg.jvp(get, (x,), (jnp.ones(3),))
    np.testing.assert_array_equal(tangent, [1.0, 0.0, 0.0])


@pytest.mark.parametrize("method", ["set", "add", "multiply", "min", "max"])
def test_dropped_write_gets_no_gradient(method):
    x, u = jnp.asarray([1.0, 2.0, 3.0]), jnp.asarray([-5.0, 6.0, 9.0])

    def f(x, u):
        return getattr(x.at[np.array([1, 3, -5])], method)(u).sum()

    gx, gu = fg.grad(f, argnums=(0, 1))(x, u)
    assert float(gu[1]) == 0.0 and float(gu[2]) == 0.0  # index 3 and -5 are dropped
    expected = {"set": 1.0, "add": 1.0, "multiply": 2.0, "min": 1.0, "max": 0.0}[method]
    assert float(gu[0]) == expected
    assert float(gx[0]) == 1.0 and float(gx[2]) == 1.0


def test_clipped_write_lands_on_the_clamped_element():
    x, u = jnp.zeros(3), jnp.asarray([1.0, 2.0])
    f = lambda x, u: (x.at[np.array([5, 0])].add(u, mode="clip") * jnp.arange(3.0)).sum()  # noqa: E731
    gx, gu = fg.grad(f, argnums=(0, 1))(x, u)
    np.testing.assert_array_equal(gu, [2.0, 0.0])
    np.testing.assert_array_equal(gx, [0.0, 1.0, 2.0])


def test_repeated_set_only_the_kept_update_gets_gradient():
    x, u = jnp.zeros(3), jnp.asarray([1.0, 2.0, 3.0])
    out = x.at[np.array([1, 1, 0])].set(u)
    kept = int(np.flatnonzero(np.asarray(out)[1] == np.asarray(u))[0])  # whichever won
    gu = fg.grad(lambda u: (x.at[np.array([1, 1, 0])].set(u) * jnp.arange(3.0)).sum())(u)
    expected = np.zeros(3, np.float32)
    expected[kept] = 1.0
    np.testing.assert_array_equal(gu, expected)


def test_repeated_add_accumulates_cotangent():
    gx, gu = fg.grad(lambda x, u: (x.at[np.array([0, 0, 2])].add(u) ** 2).sum(), argnums=(0, 1))(
        jnp.asarray([1.0, 1.0, 1.0]), jnp.asarray([1.0, 2.0, 3.0])
    )
    np.testing.assert_array_equal(gx, [8.0, 2.0, 8.0])
    np.testing.assert_array_equal(gu, [8.0, 8.0, 8.0])


def test_repeated_multiply_with_a_zero():
    # out[0] = 2 * u0 * u1 * u2: d/du_k is 2 times the product of the other two
    u = jnp.asarray([3.0, 0.0, 5.0])
    gu = fg.grad(lambda u: jnp.asarray([2.0, 1.0]).at[np.array([0, 0, 0])].multiply(u)[0])(u)
    np.testing.assert_array_equal(gu, [0.0, 30.0, 0.0])


def test_max_ties_split_the_tangent():
    x = jnp.asarray([1.0, 4.0])
    gx, gu = fg.grad(lambda x, u: x.at[np.array([0, 0])].max(u)[0], argnums=(0, 1))(
        x, jnp.asarray([1.0, 1.0])
    )
    np.testing.assert_allclose(gx, [1 / 3, 0.0])
    np.testing.assert_allclose(gu, [1 / 3, 1 / 3])


def test_grad_jaxpr_of_indexing_is_a_scatter_add():
    jaxpr = fg.make_jaxpr(fg.grad(lambda x: x[np.array([0, 2, 2])].sum()))(np.ones(3, np.float32))
    names = [eqn.primitive.name for eqn in jaxpr.jaxpr.eqns]
    assert "scatter_add" in names and "scatter" not in names


# ---------------------------------------------------------------------------------------
# The registry: every indexing primitive differentiates, and the linear ones transpose

LINEAR = {
    "gather",
    "scatter",
    "scatter_add",
    "scatter_mul",
    "dynamic_slice",
    "dynamic_update_slice",
}


def test_every_indexing_primitive_has_its_rules():
    primitives = {p.name: p for p in vars(indexing).values() if isinstance(p, Primitive)}
    assert LINEAR < set(primitives)
    assert not [name for name, p in primitives.items() if p not in ad.primitive_jvps]
    assert not [name for name in LINEAR if primitives[name] not in ad.primitive_transposes]
