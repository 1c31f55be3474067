"""vmap of indexing (gather, the scatters, the dynamic slices) through jnp, against a Python
loop of the unbatched function: batched operand, batched indices or both, on any axis;
out-of-range and negative indices and starts; nested vmap; per-example gradients."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax

rng = np.random.default_rng(11)
B = 4
I32 = np.int32


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def ints(low, high, *shape):
    return rng.integers(low, high, size=shape).astype(I32)


def loop(fun, in_axes, args):
    """The reference: stack fun over the examples, slicing mapped arguments."""
    outs = []
    for i in range(B):
        sliced = [
            jnp.asarray(a if ax is None else np.take(a, i, axis=ax)) for a, ax in zip(args, in_axes)
        ]
        outs.append(fun(*sliced))
    return fg.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def unique_rows(count, size, *batch):
    """Distinct row indices per example (replacing scatters have no winner for repeats)."""
    rows = [rng.permutation(size)[:count] for _ in range(int(np.prod(batch, dtype=int)))]
    return np.asarray(rows, I32).reshape(*batch, count)


def _gather_2d(x, idx):
    return x[idx[:, 0], idx[:, 1]]


CASES = [
    # integer-array indexing: x[idx] (negative entries count from the end)
    ("x[idx] both batched", lambda x, i: x[i], (0, 0), (f32(B, 5, 3), ints(-5, 5, B, 4))),
    ("x[idx] operand batched", lambda x, i: x[i], (0, None), (f32(B, 5, 3), ints(-5, 5, 2, 3))),
    ("x[idx] indices batched", lambda x, i: x[i], (None, 0), (f32(5, 3), ints(-5, 5, B, 4))),
    ("x[idx] axes 2 and 1", lambda x, i: x[i], (2, 1), (f32(5, 3, B), ints(-5, 5, 2, B))),
    ("x[:, idx]", lambda x, i: x[:, i], (1, 0), (f32(3, B, 5), ints(0, 5, B, 2))),
    ("x[idx0, idx1]", _gather_2d, (0, 1), (f32(B, 4, 5), ints(0, 4, 3, B, 2))),
    ("x[idx, 1:3]", lambda x, i: x[i, 1:3], (0, 0), (f32(B, 5, 4), ints(0, 5, B, 2))),
    # a traced scalar index: a dynamic_slice, clamped; negative wraps first
    ("x[i] both batched", lambda x, i: x[i], (0, 0), (f32(B, 5, 2), np.array([0, 4, -1, 9], I32))),
    ("x[i] index batched", lambda x, i: x[i], (None, 0), (f32(5, 2), np.array([3, -2, 7, 0], I32))),
    ("x[i] operand batched", lambda x, i: x[i], (1, None), (f32(5, B, 2), np.array(-2, I32))),
    ("x[i, j]", lambda x, i, j: x[i, j], (0, 0, None), (f32(B, 3, 4), ints(-3, 3, B), I32(2))),
    # take and take_along_axis ('fill' gives NaN out of bounds, 'clip' clamps)
    ("take fill", lambda x, i: jnp.take(x, i, axis=0), (0, 0), (f32(B, 5), ints(-7, 7, B, 3))),
    (
        "take clip",
        lambda x, i: jnp.take(x, i, axis=1, mode="clip"),
        (None, 1),
        (f32(2, 5), ints(-3, 8, 3, B)),
    ),
    (
        "take_along_axis",
        lambda x, i: jnp.take_along_axis(x, i, axis=1),
        (0, 0),
        (f32(B, 3, 5), ints(0, 5, B, 3, 2)),
    ),
    (
        "take_along_axis shared operand",
        lambda x, i: jnp.take_along_axis(x, i, axis=0),
        (None, 2),
        (f32(4, 3), ints(-1, 5, 2, 3, B)),
    ),
    # scatters through .at[]
    (
        ".at[].set both batched",
        lambda x, i, u: x.at[i].set(u),
        (0, 0, 0),
        (f32(B, 6, 2), unique_rows(3, 6, B), f32(B, 3, 2)),
    ),
    (
        ".at[].set indices batched only",
        lambda x, i, u: x.at[i].set(u),
        (None, 0, None),
        (f32(6, 2), unique_rows(3, 6, B), f32(3, 2)),
    ),
    (
        ".at[].set updates batched only",
        lambda x, i, u: x.at[i].set(u),
        (None, None, 2),
        (f32(6, 2), unique_rows(3, 6, 1)[0], f32(3, 2, B)),
    ),
    (
        ".at[].add repeated indices",
        lambda x, i, u: x.at[i].add(u),
        (0, 1, 0),
        (f32(B, 4), ints(-4, 6, 5, B), f32(B, 5)),
    ),
    (
        ".at[].add operand batched only",
        lambda x, i, u: x.at[i].add(u),
        (1, None, None),
        (f32(4, B, 3), ints(0, 4, 5), f32(5, 3)),
    ),
    (
        ".at[].add scalar update",
        lambda x, i, u: x.at[i].add(u),
        (None, 0, 0),
        (f32(5), ints(0, 5, B, 3), f32(B)),
    ),
    (
        ".at[].mul",
        lambda x, i, u: x.at[i].multiply(u),
        (0, 0, None),
        (f32(B, 5), ints(0, 5, B, 4), f32(4)),
    ),
    (
        ".at[].min",
        lambda x, i, u: x.at[i].min(u),
        (0, 0, 0),
        (f32(B, 5), ints(0, 5, B, 6), f32(B, 6)),
    ),
    (
        ".at[].max 2-d index",
        lambda x, i, u: x.at[i[:, 0], i[:, 1]].max(u),
        (None, 0, 0),
        (f32(3, 4), ints(0, 3, B, 5, 2), f32(B, 5)),
    ),
    (
        ".at[i] traced scalar",
        lambda x, i, u: x.at[i].set(u),
        (0, 0, 0),
        (f32(B, 5, 2), np.array([0, 4, -1, 2], I32), f32(B, 2)),
    ),
    # dynamic slices with per-example starts (out of range and negative ones clamp)
    (
        "dynamic_slice starts batched",
        lambda x, i, j: lax.dynamic_slice(x, (i, j), (2, 3)),
        (None, 0, 0),
        (f32(4, 5), np.array([-3, 0, 2, 9], I32), np.array([4, -1, 1, 7], I32)),
    ),
    (
        "dynamic_slice all batched",
        lambda x, i, j: lax.dynamic_slice(x, (i, j), (3, 2)),
        (2, 0, None),
        (f32(4, 5, B), np.array([5, -6, 1, 2], I32), I32(4)),
    ),
    (
        "dynamic_slice operand batched",
        lambda x, i: lax.dynamic_slice(x, (i, 1), (2, 2)),
        (0, None),
        (f32(B, 3, 4), I32(7)),
    ),
    (
        "dynamic_update_slice starts batched",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i, 0)),
        (None, None, 0),
        (f32(5, 3), f32(2, 2), np.array([-1, 4, 2, 10], I32)),
    ),
    (
        "dynamic_update_slice all batched",
        lambda x, u, i, j: lax.dynamic_update_slice(x, u, (i, j)),
        (1, 0, 0, 0),
        (f32(5, B, 4), f32(B, 2, 3), np.array([3, -9, 0, 8], I32), np.array([2, 0, 5, -1], I32)),
    ),
    (
        "dynamic_update_slice update batched",
        lambda x, u, i: lax.dynamic_update_slice(x, u, (i,)),
        (None, 1, None),
        (f32(6), f32(3, B), I32(5)),
    ),
]


@pytest.mark.parametrize("name, fun, in_axes, args", CASES, ids=[c[0] for c in CASES])
def test_vmap_indexing_matches_a_loop(name, fun, in_axes, args):
    # Unmapped operands as funcgrad arrays, so that x[i] with a traced i is not NumPy's.
    args = [jnp.asarray(a) if ax is None else a for a, ax in zip(args, in_axes)]
    got = fg.vmap(fun, in_axes=in_axes)(*args)
    np.testing.assert_allclose(np.asarray(got), loop(fun, in_axes, args), rtol=1e-6, atol=1e-6)


def test_dynamic_slice_clamps_like_numpy():
    # An independent oracle for the clamping: starts are clamped into [0, n - size].
    x = f32(6, 5)
    starts = np.array([[-4, 1], [5, 9], [2, -1], [0, 3]], I32)
    got = fg.vmap(lambda s: lax.dynamic_slice(x, (s[0], s[1]), (3, 2)))(starts)
    for out, (r, c) in zip(np.asarray(got), starts):
        r = min(max(r + 6 if r < 0 else r, 0), 3)  # the wrapper wraps a negative start once
        c = min(max(c + 5 if c < 0 else c, 0), 3)
        np.testing.assert_array_equal(out, x[r : r + 3, c : c + 2])


def test_nested_vmap_of_gather_and_scatter():
    # Outer batch B on axis 1 of x and updates; inner batch 3 on axis 0 of every argument.
    x, idx, updates = f32(3, B, 5), ints(0, 5, B, 3, 2), f32(3, B, 2)

    def fun(x, i, u):
        return x[i].sum() + x.at[i].add(u)

    got = fg.vmap(fg.vmap(fun), in_axes=(1, 0, 1))(x, idx, updates)
    want = [
        [fun(jnp.asarray(x[k, b]), idx[b, k], jnp.asarray(updates[k, b])) for k in range(3)]
        for b in range(B)
    ]
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_vmap_of_grad_of_an_indexing_loss():
    w = f32(6, 3)

    def loss(w, x, rows, start):
        picked = w[rows] * x  # gather
        window = lax.dynamic_slice(w, (start, 0), (2, 3))  # per-example dynamic slice
        spread = jnp.zeros_like(w).at[rows].add(x)  # scatter_add
        return (
            (picked**2).sum()
            + (window * spread[:2]).sum()
            + jnp.take_along_axis(w[:4], rows[:, None] % 3, axis=1).sum()
        )

    x, rows, starts = f32(B, 4, 3), ints(-6, 6, B, 4), np.array([0, 5, -2, 3], I32)
    in_axes = (None, 0, 0, 0)
    got = fg.vmap(fg.grad(loss), in_axes=in_axes)(w, x, rows, starts)
    want = loop(fg.grad(loss), in_axes, (w, x, rows, starts))
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_vmap_of_grad_through_scatter_set_and_update_slice():
    def loss(x, u, rows, start):
        y = x.at[rows].set(u)
        z = lax.dynamic_update_slice(y, u[:1], (start, 0))
        return (jnp.sin(z) * jnp.arange(z.size).reshape(z.shape)).sum()

    x, u = f32(B, 5, 2), f32(B, 3, 2)
    rows, starts = unique_rows(3, 5, B), np.array([-1, 4, 0, 7], I32)
    in_axes = (0, 0, 0, 0)
    got = fg.vmap(fg.grad(loss, argnums=(0, 1)), in_axes=in_axes)(x, u, rows, starts)
    want = loop(fg.grad(loss, argnums=(0, 1)), in_axes, (x, u, rows, starts))
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-5)


def test_grad_of_vmapped_gather():
    x, idx = f32(B, 5), ints(0, 5, B, 3)

    def total(x):
        return (fg.vmap(lambda x, i: x[i] ** 2)(x, idx)).sum()

    want = np.zeros_like(x)
    for b in range(B):
        np.add.at(want[b], idx[b], 2 * x[b, idx[b]])
    np.testing.assert_allclose(np.asarray(fg.grad(total)(x)), want, rtol=1e-6)


@pytest.mark.parametrize("method", ["multiply", "min", "max"])
def test_vmap_of_grad_through_accumulating_scatters(method):
    def loss(x, rows, u):
        return (getattr(x.at[rows], method)(u) ** 2).sum()

    x, rows, u = f32(B, 4), ints(0, 4, B, 5), f32(B, 5)
    in_axes = (0, 0, 0)
    got = fg.vmap(fg.grad(loss, argnums=(0, 2)), in_axes=in_axes)(x, rows, u)
    want = loop(fg.grad(loss, argnums=(0, 2)), in_axes, (x, rows, u))
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("in_axes", [(0, 0), (0, None), (None, 0)])
def test_one_gather_for_the_whole_batch(in_axes):
    # No loop over the batch: the batched program holds a single gather, whatever B is.
    x, idx = f32(B, 5, 3), ints(0, 5, B, 2)
    args = [a if ax is not None else a[0] for a, ax in zip((x, idx), in_axes)]
    jaxpr = fg.make_jaxpr(fg.vmap(lambda x, i: jnp.asarray(x)[i], in_axes=in_axes))(*args)
    names = [eqn.primitive.name for eqn in jaxpr.jaxpr.eqns]
    assert names.count("gather") == 1, names
