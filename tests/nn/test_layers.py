"""funcgrad.nn layers: each layer's output against NumPy written here, gradients through
every layer against finite differences (forward and reverse), vmap of a layer against the
batched call, Sequential's bookkeeping, and the mistakes users make with layers.
"""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import nn, random
from funcgrad.test_util import check_grads

KEY = random.PRNGKey(0)
RNG = np.random.default_rng(0)


def f32(*shape):
    return RNG.normal(size=shape).astype(np.float32)


def numpy_tree(tree):
    return funcgrad.tree.map(lambda a: np.asarray(a, np.float64), tree)


def test_linear_is_x_at_kernel_plus_bias():
    x = f32(4, 6)
    layer = nn.Linear(3)
    params, state = layer.init(KEY, x)
    assert params["kernel"].shape == (6, 3) and params["bias"].shape == (3,)
    p = numpy_tree(params)
    y, new_state = layer.apply(params, state, x)
    np.testing.assert_allclose(np.asarray(y), x @ p["kernel"] + p["bias"], rtol=1e-5, atol=1e-6)
    assert new_state == {}
    no_bias, _ = nn.Dense(3, use_bias=False).init(KEY, x)
    assert set(no_bias) == {"kernel"}


def test_layer_norm_against_numpy():
    x = f32(5, 7) * 3 + 1
    layer = nn.LayerNorm()
    params, state = layer.init(KEY, x)
    params = {"scale": f32(7), "bias": f32(7)}
    y, _ = layer.apply(params, state, x)
    x64 = x.astype(np.float64)
    normal = (x64 - x64.mean(-1, keepdims=True)) / np.sqrt(x64.var(-1, keepdims=True) + 1e-6)
    want = normal * params["scale"] + params["bias"]
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-5)


def test_batch_norm_train_updates_running_statistics_and_eval_uses_them():
    x = f32(16, 3) * np.array([1.0, 2.0, 5.0], np.float32) + np.array([0.0, 1.0, -3.0], np.float32)
    layer = nn.BatchNorm(momentum=0.9)
    params, state = layer.init(KEY, x)
    y, state = layer.apply(params, state, x, train=True)
    x64 = x.astype(np.float64)
    mean, var = x64.mean(0), x64.var(0)
    np.testing.assert_allclose(np.asarray(y), (x64 - mean) / np.sqrt(var + 1e-5), atol=1e-5)
    np.testing.assert_allclose(np.asarray(state["mean"]), 0.1 * mean, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(state["var"]), 0.9 + 0.1 * var, rtol=1e-5)
    y_eval, same_state = layer.apply(params, state, x, train=False)
    running_mean, running_var = 0.1 * mean, 0.9 + 0.1 * var
    want = (x64 - running_mean) / np.sqrt(running_var + 1e-5)
    np.testing.assert_allclose(np.asarray(y_eval), want, rtol=1e-4, atol=1e-5)
    assert same_state is state


def test_batch_norm_over_channels_first():
    x = f32(4, 3, 2, 2)
    layer = nn.BatchNorm(axis=1)
    params, state = layer.init(KEY, x)
    assert params["scale"].shape == (3,)
    y, _ = layer.apply(params, state, x, train=True)
    x64 = x.astype(np.float64)
    mean = x64.mean((0, 2, 3), keepdims=True)
    var = x64.var((0, 2, 3), keepdims=True)
    np.testing.assert_allclose(np.asarray(y), (x64 - mean) / np.sqrt(var + 1e-5), atol=1e-5)


def test_dropout_train_and_eval():
    x = np.ones((200, 50), np.float32)
    layer = nn.Dropout(0.25)
    params, state = layer.init(KEY, x)
    y_eval, _ = layer.apply(params, state, x)
    np.testing.assert_array_equal(np.asarray(y_eval), x)
    y, _ = layer.apply(params, state, x, train=True, key=random.PRNGKey(3))
    y = np.asarray(y)
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75, rtol=1e-6)


def test_embedding_looks_up_rows():
    layer = nn.Embedding(10, 4)
    ids = np.array([[1, 9], [0, 1]], np.int32)
    params, state = layer.init(KEY, ids)
    y, _ = layer.apply(params, state, ids)
    np.testing.assert_array_equal(np.asarray(y), np.asarray(params["embedding"])[ids])


def test_flatten_keeps_the_batch_axis():
    x = f32(3, 2, 4, 5)
    y, _ = nn.Flatten().apply({}, {}, x)
    np.testing.assert_array_equal(np.asarray(y), x.reshape(3, 40))


def test_sequential_threads_params_state_and_keys():
    model = nn.Sequential(
        [nn.Linear(8), nn.relu, nn.BatchNorm(), nn.Dropout(0.5), nn.Linear(3), jnp.tanh]
    )
    x = f32(10, 5)
    params, state = model.init(KEY, x)
    assert len(params) == len(state) == 6
    assert params[0]["kernel"].shape == (5, 8) and params[4]["kernel"].shape == (8, 3)
    assert set(state[2]) == {"mean", "var"}
    assert model.uses_key and not nn.Sequential([nn.Linear(2)]).uses_key

    y, new_state = model.apply(params, state, x)  # eval: dropout off, running stats
    p = numpy_tree(params)
    hidden = np.maximum(x @ p[0]["kernel"] + p[0]["bias"], 0)
    hidden = (hidden - 0.0) / np.sqrt(1.0 + 1e-5) * p[2]["scale"] + p[2]["bias"]
    want = np.tanh(hidden @ p[4]["kernel"] + p[4]["bias"])
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-5)

    first, state_a = model.apply(params, state, x, train=True, key=random.PRNGKey(1))
    again, _ = model.apply(params, state, x, train=True, key=random.PRNGKey(1))
    other, _ = model.apply(params, state, x, train=True, key=random.PRNGKey(2))
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    assert not np.allclose(np.asarray(state_a[2]["mean"]), 0)


def test_layers_are_hashable_static_arguments():
    model = nn.Sequential([nn.Linear(4), nn.relu, nn.Linear(2)])
    x = f32(3, 5)
    params, state = model.init(KEY, x)
    apply = funcgrad.jit(lambda m, p, v: m.apply(p, state, v)[0], static_argnums=0)
    np.testing.assert_allclose(
        np.asarray(apply(model, params, x)),
        np.asarray(model.apply(params, state, x)[0]),
        rtol=1e-6,
    )
    assert hash(nn.Linear(4)) == hash(nn.Linear(4))


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """ "SAME": the output has ceil(size / stride) positions; the padding they need is split
    with the smaller half before."""
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d_nhwc64(x, kernel, stride=1):
    """A direct loop over output pixels with "SAME" padding, in float64."""
    n, h, w, _ = x.shape
    kh, kw, _, out = kernel.shape
    pads = ((0, 0), same_padding(h, kh, stride), same_padding(w, kw, stride), (0, 0))
    padded = np.pad(x.astype(np.float64), pads)
    y = np.zeros((n, -(-h // stride), -(-w // stride), out))
    for i in range(y.shape[1]):
        for j in range(y.shape[2]):
            patch = padded[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            y[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, kernel)
    return y


def test_conv2d_against_a_loop():
    x = f32(2, 6, 5, 3)
    layer = nn.Conv2d(4, 3)
    params, state = layer.init(KEY, x)
    assert params["kernel"].shape == (3, 3, 3, 4) and params["bias"].shape == (4,)
    p = numpy_tree(params)
    y, _ = layer.apply(params, state, x)
    want = conv2d_nhwc64(x, p["kernel"]) + p["bias"]
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-4, atol=1e-5)
    strided, _ = nn.Conv2d(4, 3, strides=2).apply(params, state, x)
    want = conv2d_nhwc64(x, p["kernel"], stride=2) + p["bias"]
    np.testing.assert_allclose(np.asarray(strided), want, rtol=1e-4, atol=1e-5)


def test_conv2d_channels_first_matches_channels_last():
    x = f32(2, 5, 5, 3)
    nhwc = nn.Conv2d(4, 3)
    params, state = nhwc.init(KEY, x)
    y_last, _ = nhwc.apply(params, state, x)
    nchw = nn.Conv2d(4, 3, data_format="NCHW")
    y_first, _ = nchw.apply(params, state, x.transpose(0, 3, 1, 2))
    np.testing.assert_allclose(
        np.asarray(y_first), np.asarray(y_last).transpose(0, 3, 1, 2), rtol=1e-5, atol=1e-6
    )


def test_pooling_against_numpy():
    x = f32(2, 6, 4, 3)
    blocks = x.reshape(2, 3, 2, 2, 2, 3)
    y, _ = nn.MaxPool(2).apply({}, {}, x)
    np.testing.assert_array_equal(np.asarray(y), blocks.max(axis=(2, 4)))
    y, _ = nn.AvgPool(2).apply({}, {}, x)
    np.testing.assert_allclose(np.asarray(y), blocks.mean(axis=(2, 4)), rtol=1e-6)
    overlapping, _ = nn.MaxPool(3, strides=1).apply({}, {}, x)
    want = np.stack(
        [
            np.stack([x[:, i : i + 3, j : j + 3].max(axis=(1, 2)) for j in range(2)], 1)
            for i in range(4)
        ],
        1,
    )
    np.testing.assert_array_equal(np.asarray(overlapping), want)


def test_conv2d_and_pooling_need_rank_four():
    params, state = nn.Conv2d(2, 3).init(KEY, f32(1, 4, 4, 1))
    with pytest.raises(
        ValueError, match=r"Conv2d: expects inputs of shape .*got shape \(4, 4, 1\)"
    ):
        nn.Conv2d(2, 3).apply(params, state, f32(4, 4, 1))
    with pytest.raises(ValueError, match="add a batch axis"):
        nn.MaxPool(2).apply({}, {}, f32(4, 4, 1))
    with pytest.raises(ValueError, match="groups=2 must divide both the input channels"):
        nn.Conv2d(4, 3, groups=2).init(KEY, f32(1, 4, 4, 3))


LAYERS = {
    "linear": (nn.Linear(3), (4, 5)),
    "conv2d": (nn.Conv2d(3, 3, strides=2), (2, 5, 5, 2)),
    "max_pool": (nn.MaxPool(2), (2, 4, 4, 2)),
    "avg_pool": (nn.AvgPool(3, strides=1, padding="SAME"), (2, 4, 4, 2)),
    "layer_norm": (nn.LayerNorm(), (4, 5)),
    "batch_norm": (nn.BatchNorm(), (6, 3)),
    "embedding_free_mlp": (nn.Sequential([nn.Linear(4), nn.gelu, nn.Linear(2)]), (3, 5)),
}


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradients_through_layers(name, x64):
    layer, shape = LAYERS[name]
    x = RNG.normal(size=shape)
    params, state = layer.init(KEY, jnp.asarray(x))
    params = funcgrad.tree.map(
        lambda a: np.asarray(a, np.float64) + RNG.normal(size=a.shape) * 0.1, params
    )

    def output(params, x):
        return layer.apply(params, state, x, train=True)[0]

    check_grads(output, (params, x), order=1, modes=("fwd", "rev"))


@pytest.mark.parametrize(
    "name", ["linear", "conv2d", "max_pool", "layer_norm", "embedding_free_mlp"]
)
def test_vmap_of_a_layer_equals_the_batched_call(name):
    layer, shape = LAYERS[name]
    x = f32(*shape)
    params, state = layer.init(KEY, x)

    def one(example):
        return layer.apply(params, state, example[None])[0][0]

    np.testing.assert_allclose(
        np.asarray(funcgrad.vmap(one)(x)),
        np.asarray(layer.apply(params, state, x)[0]),
        rtol=1e-5,
        atol=1e-6,
    )


def test_linear_applied_to_the_wrong_width():
    params, state = nn.Linear(3).init(KEY, f32(2, 5))
    with pytest.raises(
        ValueError, match=r"expects inputs of shape \(\.\.\., 5\), got shape \(2, 4\)"
    ):
        nn.Linear(3).apply(params, state, f32(2, 4))


def test_dropout_in_training_without_a_key():
    model = nn.Sequential([nn.Linear(3), nn.Dropout(0.1)])
    params, state = model.init(KEY, f32(2, 5))
    with pytest.raises(ValueError, match=r"training needs a PRNG key .*test_layers\.py:\d+"):
        model.apply(params, state, f32(2, 5), train=True)


def test_embedding_with_float_ids():
    params, state = nn.Embedding(5, 2).init(KEY, np.zeros(3, np.int32))
    with pytest.raises(TypeError, match="ids must be integers, got dtype float32"):
        nn.Embedding(5, 2).apply(params, state, np.zeros(3, np.float32))


def test_sequential_mistakes():
    with pytest.raises(TypeError, match="every layer must be an nn.Module or a function"):
        nn.Sequential([nn.Linear(2), 3])
    model = nn.Sequential([nn.Linear(2), nn.relu])
    params, state = model.init(KEY, f32(1, 3))
    with pytest.raises(ValueError, match="got params for 1 and state for 2 layers"):
        model.apply(params[:1], state, f32(1, 3))


def test_batch_norm_needs_a_batch_axis():
    with pytest.raises(ValueError, match="BatchNorm needs a batch axis"):
        nn.BatchNorm().init(KEY, f32(3))
