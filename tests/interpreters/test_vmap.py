"""vmap: composite functions against a Python loop, composition with grad and itself,
in_axes/out_axes forms, and the error paths."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax

rng = np.random.default_rng(7)
B = 4


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def loop(fun, in_axes, args):
    """The reference: stack fun over the examples, slicing mapped arguments."""
    outs = []
    for i in range(B):
        sliced = [a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)]
        outs.append(fun(*sliced))
    return fg.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *outs)


def _mlp(w1, w2, x):
    return jnp.tanh(x @ w1) @ w2


def _xent(logits, label_onehot):
    shifted = logits - logits.max()
    return -(label_onehot * (shifted - jnp.log(jnp.exp(shifted).sum()))).sum()


COMPOSITES = [
    ("sin times x", lambda x: jnp.sin(x) * x, (0,), (f32(B, 3),)),
    ("dot", jnp.dot, (0, 0), (f32(B, 3), f32(B, 3))),
    ("matvec shared matrix", lambda m, v: m @ v, (None, 0), (f32(2, 3), f32(B, 3))),
    ("matvec batched matrix", lambda m, v: m @ v, (0, None), (f32(B, 2, 3), f32(3))),
    ("matmul on axis 1", lambda a, b: a @ b, (1, 2), (f32(2, B, 3), f32(3, 2, B))),
    (
        "batched dot_general",
        lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
        (0, None),
        (f32(B, 2, 3, 4), f32(2, 4, 5)),
    ),
    (
        "dot_general rhs batched",
        lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
        (None, 1),
        (f32(2, 3, 4), f32(2, B, 4, 5)),
    ),
    ("mlp", _mlp, (None, None, 0), (f32(3, 4), f32(4, 2), f32(B, 3))),
    ("softmax cross-entropy", _xent, (0, 0), (f32(B, 5), np.eye(5, dtype=np.float32)[:B])),
    ("sum axis", lambda x: x.sum(axis=0), (1,), (f32(3, B),)),
    ("max keepdims", lambda x: x.max(axis=-1, keepdims=True), (0,), (f32(B, 2, 3),)),
    ("mean and var", lambda x: (x.mean(), x.var()), (0,), (f32(B, 6),)),
    ("argmax", lambda x: jnp.argmax(x), (0,), (f32(B, 5),)),
    ("cumsum", lambda x: jnp.cumsum(x), (0,), (f32(B, 4),)),
    ("sort", jnp.sort, (0,), (f32(B, 5),)),
    ("argsort", jnp.argsort, (1,), (f32(5, B),)),
    ("where", lambda x, y: jnp.where(x > 0, x, y), (0, None), (f32(B, 3), f32(3))),
    ("clip", lambda x: jnp.clip(x, -0.5, 0.5), (0,), (f32(B, 3),)),
    ("reshape", lambda x: x.reshape(3, 2), (0,), (f32(B, 6),)),
    ("transpose", lambda x: x.T, (2,), (f32(2, 3, B),)),
    ("expand and squeeze", lambda x: jnp.squeeze(x[None, :, None]), (0,), (f32(B, 3),)),
    ("slicing", lambda x: x[1:, ::-1], (0,), (f32(B, 3, 4),)),
    ("concatenate", lambda a, b: jnp.concatenate([a, b]), (0, None), (f32(B, 2), f32(3))),
    ("stack", lambda a, b: jnp.stack([a, b], axis=1), (0, 0), (f32(B, 2), f32(B, 2))),
    ("pad", lambda x: jnp.pad(x, (1, 2)), (0,), (f32(B, 3),)),
    ("broadcast_to", lambda x: jnp.broadcast_to(x, (2, 3)), (0,), (f32(B, 3),)),
    ("outer", jnp.outer, (0, None), (f32(B, 3), f32(2))),
    ("einsum", lambda a, b: jnp.einsum("ij,jk->ik", a, b), (0, 0), (f32(B, 2, 3), f32(B, 3, 2))),
    ("logsumexp", lambda x: fg.scipy.special.logsumexp(x), (0,), (f32(B, 5),)),
    ("softmax", lambda x: fg.nn.softmax(x), (1,), (f32(3, B),)),
    ("relu mlp layer", lambda w, x: fg.nn.relu(x @ w), (None, 0), (f32(3, 3), f32(B, 3))),
    ("scalar output", lambda x: (x**2).sum(), (0,), (f32(B, 3),)),
    ("python scalar math", lambda x: 2.0 * x + 1, (0,), (f32(B),)),
    ("closure constant", lambda x: x + np.arange(3, dtype=np.float32), (0,), (f32(B, 3),)),
]


@pytest.mark.parametrize("name, fun, in_axes, args", COMPOSITES, ids=[c[0] for c in COMPOSITES])
@settings(max_examples=5, deadline=None, database=None)
@given(data=st.data())
def test_vmap_matches_a_loop(name, fun, in_axes, args, data):
    # Move each mapped argument's batch axis to a position hypothesis picks (negative too).
    moved_args, moved_axes = [], []
    for arg, axis in zip(args, in_axes):
        if axis is None:
            moved_args.append(arg)
            moved_axes.append(None)
            continue
        ndim = np.ndim(arg)
        target = data.draw(st.integers(-ndim, ndim - 1))
        moved_args.append(np.moveaxis(arg, axis, target))
        moved_axes.append(target)
    in_axes, args = tuple(moved_axes), tuple(moved_args)
    got = fg.vmap(fun, in_axes=in_axes)(*args)
    want = loop(fun, in_axes, args)
    for g, w in zip(fg.tree.leaves(got), fg.tree.leaves(want)):
        assert np.shape(g) == np.shape(w)
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-5)


def test_per_example_gradients():
    w = f32(3)
    xs, ys = f32(B, 3), f32(B)

    def loss(w, x, y):
        return (jnp.dot(w, x) - y) ** 2

    per_example = fg.vmap(fg.grad(loss), in_axes=(None, 0, 0))(w, xs, ys)
    want = np.stack([np.asarray(fg.grad(loss)(w, xs[i], ys[i])) for i in range(B)])
    np.testing.assert_allclose(per_example, want, rtol=1e-5)


def test_grad_of_vmap_and_nested_vmap():
    x = f32(B, 3)
    g = fg.grad(lambda x: fg.vmap(lambda r: jnp.sin(r).sum())(x).sum())(x)
    np.testing.assert_allclose(g, np.cos(x), rtol=1e-6)
    m = f32(2, B, 3)
    np.testing.assert_allclose(
        fg.vmap(fg.vmap(lambda v: v * v.sum()))(m), m * m.sum(-1, keepdims=True), rtol=1e-5
    )


def test_vmap_of_jacrev():
    x = f32(B, 3)
    jac = fg.vmap(fg.jacrev(lambda v: jnp.sin(v) * 2.0))(x)
    want = np.stack([np.diag(2 * np.cos(r)) for r in x])
    np.testing.assert_allclose(jac, want, rtol=1e-5, atol=1e-6)


def test_pytree_in_axes_and_out_axes():
    params = {"w": f32(3), "b": f32(B)}
    out = fg.vmap(
        lambda p, x: {"y": p["w"] * x + p["b"]}, in_axes=({"w": None, "b": 0}, 0), out_axes={"y": 1}
    )(params, f32(B, 3))
    assert out["y"].shape == (3, B)
    x = f32(B, 2)
    out = fg.vmap(lambda v: (v.sum(), 3.0), out_axes=(0, None))(x)
    np.testing.assert_allclose(out[0], x.sum(1), rtol=1e-6)
    assert float(out[1]) == 3.0


def test_negative_in_axes_and_axis_size():
    x = f32(3, B)
    np.testing.assert_allclose(fg.vmap(jnp.sum, in_axes=-1)(x), x.sum(0), rtol=1e-6)
    out = fg.vmap(lambda: jnp.ones(2), axis_size=5)()
    assert out.shape == (5, 2)


def test_unbatched_output_is_broadcast():
    out = fg.vmap(lambda x: jnp.ones(2), in_axes=0)(f32(B, 3))
    np.testing.assert_array_equal(out, np.ones((B, 2)))


def test_inconsistent_sizes_name_the_arguments():
    with pytest.raises(
        ValueError,
        match=r"inconsistent sizes.*args\[0\] has size 4, "
        r"args\[1\] has size 5.*test_vmap.py",
    ):
        fg.vmap(lambda a, b: a + b.sum())(f32(4), f32(5))


def test_in_axes_not_matching_the_arguments():
    with pytest.raises(
        ValueError, match="in_axes has 1 entries but the function was called with 2"
    ):
        fg.vmap(lambda a, b: a, in_axes=(0,))(f32(B), f32(B))
    with pytest.raises(ValueError, match=r"in_axes\[0\].*does not match the structure"):
        fg.vmap(lambda p: p["a"], in_axes=({"b": 0},))({"a": f32(B)})


def test_out_axes_none_for_a_batched_output():
    with pytest.raises(ValueError, match="out_axes is None for output 0, but that output varies"):
        fg.vmap(lambda x: x * 2, out_axes=None)(f32(B))


def test_in_axes_out_of_range_and_nothing_mapped():
    with pytest.raises(ValueError, match="in_axes 2 is out of range for argument"):
        fg.vmap(jnp.sin, in_axes=2)(f32(B, 3))
    with pytest.raises(ValueError, match="at least one mapped argument"):
        fg.vmap(jnp.sin, in_axes=None)(f32(3))
