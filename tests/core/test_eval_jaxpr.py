"""eval_jaxpr(make_jaxpr(f)) computes what f computes, and both match NumPy."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax, tree_util
from funcgrad.core.jaxpr import check_jaxpr, eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

rng = np.random.default_rng(0)


def _f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def _mlp_loss(params, x, y):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def _mlp_loss_np(params, x, y):
    hidden = np.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


_PARAMS = {"w1": _f32(4, 8), "b1": _f32(8), "w2": _f32(8, 3), "b2": _f32(3)}
_X = _f32(5, 4)
_Y = np.eye(3, dtype=np.float32)[[0, 2, 1, 1, 0]]
_OFFSET = _f32(3)

# (name, function, numpy reference, arguments)
PROGRAMS = [
    ("sin", jnp.sin, np.sin, (_f32(3),)),
    ("affine", lambda x: x * 2.0 + 1, lambda x: x * 2.0 + 1, (_f32(2, 3),)),
    ("closure constant", lambda x: x + _OFFSET, lambda x: x + _OFFSET, (_f32(3),)),
    ("broadcast", lambda x, y: x * y - y, lambda x, y: x * y - y, (_f32(3, 1), _f32(4))),
    ("relu", lambda x: jnp.maximum(x, 0.0), lambda x: np.maximum(x, 0.0), (_f32(6),)),
    (
        "where",
        lambda x: jnp.where(x > 0, x, jnp.exp(x) - 1),
        lambda x: np.where(x > 0, x, np.exp(x) - 1),
        (_f32(7),),
    ),
    (
        "matmul chain",
        lambda a, b, v: a @ (b @ v),
        lambda a, b, v: a @ (b @ v),
        (_f32(3, 4), _f32(4, 5), _f32(5)),
    ),
    ("batched matmul", jnp.matmul, np.matmul, (_f32(2, 3, 4), _f32(4, 2))),
    (
        "softmax",
        lambda x: jnp.exp(x) / jnp.exp(x).sum(axis=-1, keepdims=True),
        lambda x: np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True),
        (_f32(2, 5),),
    ),
    (
        "mean and max",
        lambda x: (x.mean(axis=0), x.max()),
        lambda x: (x.mean(axis=0), x.max()),
        (_f32(4, 3),),
    ),
    ("indexing", lambda x: x[1:, ::-2][None, 0], lambda x: x[1:, ::-2][None, 0], (_f32(3, 5),)),
    (
        "reshape transpose",
        lambda x: x.reshape(-1, 2).T,
        lambda x: x.reshape(-1, 2).T,
        (_f32(3, 4),),
    ),
    (
        "power and log",
        lambda x: jnp.log(x * x + 1.0) ** 1.5,
        lambda x: np.log(x * x + 1.0) ** 1.5,
        (_f32(5),),
    ),
    (
        "integer arithmetic",
        lambda i: (i * 3 - 1, i > 2, i / 2),
        lambda i: (i * 3 - 1, i > 2, (i / 2).astype(np.float32)),
        (np.arange(6, dtype=np.int32),),
    ),
    (
        "dtype conversion",
        lambda x: x.astype(jnp.float16) + 1,
        lambda x: x.astype(np.float16) + 1,
        (_f32(4),),
    ),
    (
        "lax select and cos",
        lambda p, x: lax.select(p, lax.cos(x), x),
        lambda p, x: np.where(p, np.cos(x), x),
        (np.array([True, False, True]), _f32(3)),
    ),
    (
        "pytree in and out",
        lambda d: {"s": d["a"] + d["b"][0], "t": [d["b"][1]]},
        lambda d: {"s": d["a"] + d["b"][0], "t": [d["b"][1]]},
        ({"a": _f32(2), "b": (_f32(2), _f32())},),
    ),
    ("mlp loss", _mlp_loss, _mlp_loss_np, (_PARAMS, _X, _Y)),
]


@pytest.mark.parametrize("name, fun, reference, args", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_eval_jaxpr_matches_eager_and_numpy(name, fun, reference, args):
    closed = fg.make_jaxpr(fun)(*args)
    check_jaxpr(closed)
    staged = eval_jaxpr(closed.jaxpr, closed.consts, *tree_util.tree_leaves(args))
    eager = tree_util.tree_leaves(fun(*tree_util.tree_map(jnp.asarray, args)))
    expected = tree_util.tree_leaves(reference(*args))
    assert len(staged) == len(eager) == len(expected)
    for s, e, ref in zip(staged, eager, expected):
        np.testing.assert_allclose(
            np.asarray(s, np.float64),
            np.asarray(ref, np.float64),
            rtol=2e-3 if np.asarray(ref).dtype == np.float16 else 1e-5,
            atol=1e-6,
        )
        assert_agrees_with_op_by_op(e, s)
        assert np.asarray(s).dtype == np.asarray(e).dtype


def test_out_avals_match_eager_results():
    closed = fg.make_jaxpr(_mlp_loss)(_PARAMS, _X, _Y)
    eager = _mlp_loss(_PARAMS, _X, _Y)
    assert closed.out_avals[0].shape == eager.shape == ()
    assert closed.out_avals[0].dtype == eager.dtype == np.float32


def test_static_argnums_are_python_values_during_tracing():
    def f(x, n, flag):
        for _ in range(n):
            x = x * 2.0
        return -x if flag else x

    closed = fg.make_jaxpr(f, static_argnums=(1, 2))(np.float32(1.5), 3, True)
    assert [e.primitive.name for e in closed.eqns] == ["mul", "mul", "mul", "neg"]
    (out,) = eval_jaxpr(closed.jaxpr, closed.consts, np.float32(1.5))
    assert float(out) == -12.0


def test_nested_make_jaxpr_closes_over_the_outer_tracer():
    def outer(x):
        inner = fg.make_jaxpr(lambda y: y * x)(np.float32(0))
        assert len(inner.consts) == 1  # the outer tracer, captured as a constant
        return lax.closed_call(inner, x)[0]

    closed = fg.make_jaxpr(outer)(np.float32(3))
    (out,) = eval_jaxpr(closed.jaxpr, closed.consts, np.float32(3))
    assert float(out) == 9.0


def test_eval_shape_gives_shapes_without_computing():
    out = fg.eval_shape(
        lambda a, b: {"y": a @ b, "n": (a > 0).sum()},
        fg.ShapeDtypeStruct((2, 3), np.float32),
        np.ones((3, 5), np.float32),
    )
    assert out == {
        "y": fg.ShapeDtypeStruct((2, 5), np.float32),
        "n": fg.ShapeDtypeStruct((), np.int32),
    }


def test_eval_jaxpr_argument_count_is_checked():
    closed = fg.make_jaxpr(jnp.sin)(np.float32(0))
    with pytest.raises(TypeError, match="takes 1 arguments, got 2"):
        eval_jaxpr(closed.jaxpr, closed.consts, 1.0, 2.0)


def test_constants_are_copied_at_trace_time():
    table = np.arange(3, dtype=np.float32)
    scale = np.array(2.0, np.float32)
    closed = fg.make_jaxpr(lambda x: x * scale + table + table)(np.ones(3, np.float32))
    assert len(closed.consts) == 1  # one constvar for the array used twice; the 0-d is a literal
    table[:] = 100.0
    scale[()] = 100.0
    (out,) = eval_jaxpr(closed.jaxpr, closed.consts, np.ones(3, np.float32))
    np.testing.assert_array_equal(np.asarray(out), [2.0, 4.0, 6.0])
