"""Differentiation: the seed examples with hand-derived gradients, check_grads (forward
and reverse against finite differences, to second order) over primitives and composite
functions, and the error paths."""

import numpy as np
import pytest
from primitive_registry import rules_of_every_primitive

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.test_util import check_grads

rng = np.random.default_rng(0)


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


# ---------------------------------------------------------------------------------------
# The seed examples


def test_sum_of_x_times_y_plus_z():
    x, y, z = jnp.asarray([1.0, 2.0]), jnp.asarray([3.0, 4.0]), jnp.asarray([5.0, 6.0])
    gx, gy, gz = fg.grad(lambda x, y, z: (x * y + z).sum(), argnums=(0, 1, 2))(x, y, z)
    np.testing.assert_array_equal(gx, [3.0, 4.0])
    np.testing.assert_array_equal(gy, [1.0, 2.0])
    np.testing.assert_array_equal(gz, [1.0, 1.0])


def test_toy_graph():
    def loss(w1, w2, w3, w4, a):
        b = w1 * a
        c = w2 * a
        d = w3 * b + w4 * c
        return 10 - d

    w1, w2, w3, w4, a = 1.0, 2.0, 3.0, 4.0, 5.0
    grads = fg.grad(loss, argnums=(0, 1, 2, 3))(w1, w2, w3, w4, a)
    # dL/dw1 = -w3 a, dL/dw2 = -w4 a, dL/dw3 = -w1 a, dL/dw4 = -w2 a
    assert [float(g) for g in grads] == [-15.0, -20.0, -5.0, -10.0]


def test_dot_product():
    w, x = jnp.asarray([5.0, 3.0]), jnp.asarray([7.0, 1.0])
    np.testing.assert_array_equal(fg.grad(lambda x: jnp.dot(w, x))(x), [5.0, 3.0])
    np.testing.assert_array_equal(fg.grad(lambda w: jnp.dot(w, x))(w), [7.0, 1.0])


@pytest.mark.parametrize("x", [2.0, 10.0])
def test_affine(x):
    dw, db = fg.grad(lambda w, b: w * x + b, argnums=(0, 1))(3.0, 1.0)
    assert (float(dw), float(db)) == (x, 1.0)


def test_two_layer_relu_net_learns():
    data_rng = np.random.default_rng(1)
    x = data_rng.normal(size=(64, 10)).astype(np.float32)
    y = np.tanh(x @ data_rng.normal(size=(10, 1))).astype(np.float32)
    params = {
        "w1": data_rng.normal(size=(10, 32)).astype(np.float32) * 0.3,
        "b1": np.zeros(32, np.float32),
        "w2": data_rng.normal(size=(32, 1)).astype(np.float32) * 0.3,
        "b2": np.zeros(1, np.float32),
    }

    def loss(p):
        hidden = jnp.maximum(x @ p["w1"] + p["b1"], 0.0)
        return ((hidden @ p["w2"] + p["b2"] - y) ** 2).mean()

    first = float(loss(params))
    value_and_grad = fg.value_and_grad(loss)
    for _ in range(200):
        value, grads = value_and_grad(params)
        params = fg.tree.map(lambda p, g: p - 0.05 * g, params, grads)
    assert float(loss(params)) < 0.25 * first


# ---------------------------------------------------------------------------------------
# check_grads over primitives and composites (order 2, both modes)

UNARY = [
    ("sin", lax.sin, f32(4)),
    ("cos", lax.cos, f32(4)),
    ("tanh", lax.tanh, f32(4)),
    ("exp", lax.exp, f32(4)),
    ("log", lax.log, f32(4, low=0.5)),
    ("neg", lax.neg, f32(3)),
    ("sqrt", lax.sqrt, f32(3, low=0.5)),
    ("logistic", lax.logistic, f32(3)),
    ("log1p", lax.log1p, f32(3, low=0.1)),
    ("expm1", lax.expm1, f32(3)),
    ("integer_pow", lambda x: lax.integer_pow(x, 3), f32(3)),
    ("reduce_sum", lambda x: lax.reduce_sum(x, (1,)), f32(2, 3)),
    ("reduce_max", lambda x: lax.reduce_max(x, (0,)), f32(3, 2)),
    ("broadcast_in_dim", lambda x: lax.broadcast_in_dim(x, (2, 3), (1,)), f32(3)),
    ("broadcast size one", lambda x: lax.broadcast_in_dim(x, (4, 3), (0, 1)), f32(1, 3)),
    ("reshape", lambda x: lax.reshape(x, (3, 2)), f32(2, 3)),
    ("transpose", lambda x: lax.transpose(x, (1, 0)), f32(2, 3)),
    ("slice", lambda x: lax.slice(x, (1,), (6,), (2,)), f32(7)),
    ("rev", lambda x: lax.rev(x, (0,)), f32(4)),
    ("squeeze", lambda x: lax.squeeze(x, (0,)), f32(1, 3)),
    ("pad", lambda x: lax.pad(x, 0.0, [(1, 2, 1)]), f32(3)),
    ("cumsum", lambda x: lax.cumsum(x, 0), f32(4)),
    ("convert", lambda x: lax.convert_element_type(x, np.float32) * 2, f32(3)),
]
BINARY = [
    ("add", lax.add, f32(3), f32(3)),
    ("sub", lax.sub, f32(3), f32(3)),
    ("mul", lax.mul, f32(3), f32(3)),
    ("div", lax.div, f32(3), f32(3, low=0.5)),
    ("max", lax.max, f32(3), f32(3)),
    ("min", lax.min, f32(3), f32(3)),
    ("pow", lax.pow, f32(3, low=0.5), f32(3)),
    ("mul scalar", lax.mul, f32(), f32(3)),
    ("matmul", lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))), f32(2, 3), f32(3, 4)),
    (
        "batched dot",
        lambda a, b: lax.dot_general(a, b, (((1,), (2,)), ((0,), (0,)))),
        f32(2, 3, 4),
        f32(2, 5, 3),
    ),
    (
        "transposed dot",
        lambda a, b: lax.dot_general(a, b, (((0,), (1,)), ((), ()))),
        f32(3, 2),
        f32(4, 3),
    ),
    ("concatenate", lambda a, b: lax.concatenate([a, b], 0), f32(2), f32(3)),
    ("select", lambda a, b: lax.select(a > b, a, b), f32(4), f32(4)),
]


@pytest.mark.parametrize("name, fun, x", UNARY, ids=[u[0] for u in UNARY])
def test_unary_primitives(name, fun, x):
    check_grads(fun, (x,), order=2)


@pytest.mark.parametrize("name, fun, x, y", BINARY, ids=[b[0] for b in BINARY])
def test_binary_primitives(name, fun, x, y):
    check_grads(fun, (x, y), order=2)


def _mlp(params, x):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    return (hidden @ params["w2"]).sum()


def _softmax_xent(logits, labels):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - jnp.log(jnp.exp(shifted).sum(axis=-1, keepdims=True))
    return -(log_probs * labels).sum()


COMPOSITES = [
    ("mlp", _mlp, ({"w1": f32(3, 4), "b1": f32(4), "w2": f32(4, 2)}, f32(5, 3))),
    ("softmax cross-entropy", _softmax_xent, (f32(3, 4), np.eye(4, dtype=np.float32)[:3])),
    ("norm", lambda x: jnp.sqrt((x * x).sum()), (f32(5),)),
    ("piecewise where", lambda x: jnp.where(x > 0, x**2, -x), (f32(6),)),
    ("indexing", lambda x: x[1:, ::-1][0] * x[0, 2], (f32(3, 4),)),
    ("matmul chain", lambda a, b, v: a @ (b @ v), (f32(2, 3), f32(3, 4), f32(4))),
    ("mean and max", lambda x: x.mean(axis=0) * x.max(axis=1).sum(), (f32(3, 2),)),
    ("min reduction", lambda x: jnp.min(x, axis=1) ** 2, (f32(3, 4),)),
    ("logsumexp", lambda x: jnp.log(jnp.exp(x - x.max()).sum()) + x.max(), (f32(5),)),
    ("log_softmax", lambda x: x - jnp.log(jnp.exp(x).sum(axis=-1, keepdims=True)), (f32(2, 3),)),
    ("l1 norm", lambda x: jnp.abs(x).sum(), (f32(4, low=0.3),)),
    ("frobenius norm", lambda m: jnp.sqrt((m * m).sum()), (f32(3, 3),)),
    ("relu", lambda x: jnp.maximum(x, 0.0) * 2, (f32(5, low=0.2),)),
    ("leaky relu via where", lambda x: jnp.where(x > 0, x, 0.1 * x), (f32(6),)),
    ("sigmoid", lambda x: 1 / (1 + jnp.exp(-x)), (f32(4),)),
    (
        "gelu tanh",
        lambda x: 0.5 * x * (1 + jnp.tanh(0.79788456 * (x + 0.044715 * x**3))),
        (f32(4),),
    ),
    ("polynomial", lambda x: 3 * x**3 - 2 * x**2 + x - 7, (f32(4),)),
    ("rational", lambda x, y: (x * y + 1) / (y * y + 1), (f32(3), f32(3))),
    ("quadratic form", lambda q, v: v @ (q @ v), (f32(3, 3), f32(3))),
    ("outer product sum", lambda a, b: (a[:, None] * b[None, :]).sum(axis=0), (f32(3), f32(4))),
    ("batched matmul", lambda a, b: jnp.matmul(a, b).sum(axis=(1, 2)), (f32(2, 3, 4), f32(4, 2))),
    ("transpose and reshape", lambda x: (x.T.reshape(-1) * jnp.arange(6.0)).sum(), (f32(2, 3),)),
    ("concatenate and slice", lambda a, b: jnp.concatenate([a, b])[1:4] * 2, (f32(3), f32(2))),
    ("broadcast add", lambda a, b: jnp.tanh(a + b), (f32(3, 1), f32(4))),
    ("variance", lambda x: ((x - x.mean()) ** 2).mean(), (f32(6),)),
    ("cosine similarity", lambda a, b: (a @ b) / jnp.sqrt((a @ a) * (b @ b)), (f32(4), f32(4))),
    ("exp decay", lambda x, t: jnp.exp(-x * t).sum(), (f32(3, low=0.1), f32(3, low=0.1))),
    ("pytree list", lambda ps: ps[0] * ps[1] + ps[2] ** 2, ([f32(2), f32(2), f32(2)],)),
    ("reverse", lambda x: x[::-1] * x, (f32(5),)),
    ("cumulative sum", lambda x: jnp.cumsum(x) ** 2, (f32(4),)),
]


@pytest.mark.parametrize("name, fun, args", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_composites(name, fun, args):
    check_grads(fun, args, order=2)


def test_grad_is_traceable_and_composes():
    closed = fg.make_jaxpr(fg.grad(lambda x: jnp.sin(x).sum()))(np.ones(3, np.float32))
    assert "cos" in str(closed)
    third = fg.grad(fg.grad(fg.grad(lax.sin)))(np.float32(0.5))
    assert np.isclose(float(third), -np.cos(0.5), rtol=1e-6)


def test_jvp_and_vjp_of_pytrees():
    params = {"a": np.float32(2.0), "b": [np.float32(3.0)]}
    out, tangent = fg.jvp(
        lambda p: p["a"] * p["b"][0], (params,), ({"a": np.float32(1.0), "b": [np.float32(0.0)]},)
    )
    assert (float(out), float(tangent)) == (6.0, 3.0)
    out, vjp_fun = fg.vjp(lambda p: {"y": p["a"] * p["b"][0]}, params)
    (cotangent,) = vjp_fun({"y": np.float32(1.0)})
    assert float(cotangent["a"]) == 3.0 and float(cotangent["b"][0]) == 2.0


def test_dataclass_pytrees():
    import dataclasses

    @fg.tree_util.register_dataclass
    @dataclasses.dataclass
    class Linear:
        w: np.ndarray
        b: np.ndarray
        name: str = dataclasses.field(metadata=dict(static=True), default="layer")

    layer = Linear(np.asarray([[1.0, 2.0]], np.float32), np.asarray([0.5], np.float32))
    x = np.asarray([3.0, 4.0], np.float32)
    g = fg.grad(lambda p: (p.w @ x + p.b).sum())(layer)
    assert isinstance(g, Linear) and g.name == "layer"
    np.testing.assert_array_equal(g.w, [[3.0, 4.0]])
    np.testing.assert_array_equal(g.b, [1.0])


def test_has_aux():
    (value, aux), g = fg.value_and_grad(lambda x: ((x**2).sum(), x * 10), has_aux=True)(
        jnp.asarray([1.0, 2.0])
    )
    assert float(value) == 5.0
    np.testing.assert_array_equal(aux, [10.0, 20.0])
    np.testing.assert_array_equal(g, [2.0, 4.0])


# ---------------------------------------------------------------------------------------
# Bad input


def test_grad_of_non_scalar_output():
    with pytest.raises(
        TypeError, match=r"real scalar output, but the output has shape \(3,\) and dtype float32"
    ):
        fg.grad(lambda x: x * 2)(jnp.ones(3))


def test_grad_with_respect_to_an_integer():
    with pytest.raises(
        TypeError,
        match="requires real- or complex-valued inputs, but argument 0 holds int32.*test_ad.py",
    ):
        fg.grad(lambda n: n * 2.0)(3)


def test_has_aux_without_a_pair():
    with pytest.raises(TypeError, match=r"must return a pair \(output, auxiliary_data\)"):
        fg.grad(lambda x: x * 2.0, has_aux=True)(1.0)


def test_argnums_out_of_range():
    with pytest.raises(ValueError, match="argnums=2 is out of range for a call with 2"):
        fg.grad(lambda x, y: x * y, argnums=2)(1.0, 2.0)


def test_jvp_tangent_shape_mismatch():
    with pytest.raises(
        ValueError,
        match=r"tangent 0 has shape \(2,\) but its primal has shape "
        r"\(3,\)",
    ):
        fg.jvp(jnp.sin, (np.ones(3, np.float32),), (np.ones(2, np.float32),))


def test_vjp_cotangent_structure_mismatch():
    _, vjp_fun = fg.vjp(lambda x: (x, x), np.ones(2, np.float32))
    with pytest.raises(
        TypeError, match="the cotangent given to vjp_fun of <lambda>: expected the structure"
    ):
        vjp_fun(np.ones(2, np.float32))


def test_missing_rule_names_the_primitive(monkeypatch):
    from funcgrad.core import primitive as primitive_module

    monkeypatch.setattr(primitive_module, "_REGISTRY", dict(primitive_module._REGISTRY))
    twice_p = primitive_module.Primitive("test_twice_without_rules")
    twice_p.def_impl(lambda x: x * 2)
    twice_p.def_abstract_eval(lambda aval: aval)
    with pytest.raises(NotImplementedError, match="'test_twice_without_rules'.*no jvp rule"):
        fg.grad(lambda x: twice_p.bind(x))(np.float32(0.3))


def test_pad_is_differentiable_in_its_padding_value():
    def f(x, value):
        return (lax.pad(x, value, [(1, 2, 1)]) * np.arange(8, dtype=np.float32)).sum()

    gx, gv = fg.grad(f, argnums=(0, 1))(f32(3), np.float32(0.5))
    # Output positions 1, 3, 5 hold x; 0, 2, 4, 6, 7 hold the value.
    np.testing.assert_array_equal(gx, [1.0, 3.0, 5.0])
    assert float(gv) == 0 + 2 + 4 + 6 + 7


# ---------------------------------------------------------------------------------------
# Integer values: float0 tangents, as JAX


def test_integer_inputs_take_and_give_float0():
    float0 = fg.dtypes.float0
    out, tangents = fg.jvp(
        lambda x, n: (x * n, n * 2),
        (np.float32(2.0), np.int32(3)),
        (np.float32(1.0), np.zeros((), float0)),
    )
    assert float(tangents[0]) == 3.0
    assert tangents[1].dtype == float0 and tangents[1].shape == ()
    _, pullback = fg.vjp(lambda x, n: x * n, np.float32(2.0), np.arange(3, dtype=np.int32))
    gx, gn = pullback(np.ones(3, np.float32))
    assert float(gx) == 3.0 and gn.dtype == float0 and gn.shape == (3,)


def test_jvp_tangent_dtypes_are_checked():
    with pytest.raises(TypeError, match="primal 0 is int32, so its tangent must have dtype float0"):
        fg.jvp(lambda n: n * 2, (np.int32(1),), (np.int32(1),))
    with pytest.raises(
        TypeError, match="tangent 0 has dtype float16 but its primal has dtype float32"
    ):
        fg.jvp(jnp.sin, (np.float32(1.0),), (np.float16(1.0),))


# ---------------------------------------------------------------------------------------
# The registry: every primitive is differentiable or declared not to be


def test_every_primitive_has_a_jvp_rule_and_linear_ones_a_transpose():
    registry = rules_of_every_primitive()
    missing = {
        "jvp": sorted(n for n, r in registry.items() if not r["jvp"]),
        "linear": sorted(n for n, r in registry.items() if r["linear"] and not r["transpose"]),
    }
    assert missing == {"jvp": [], "linear": []}


def test_closed_call_is_differentiated_through_its_body():
    body = fg.make_jaxpr(lambda a, b: jnp.sin(a) * b)(f32(3), f32(3))

    def f(x, y):
        return lax.closed_call(body, x, y)[0]

    check_grads(f, (f32(3), f32(3)), order=2)
