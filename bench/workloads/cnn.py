"""A LeNet-style CNN train step on 8x8 single-channel images: conv 5x5 SAME, relu, max-pool
2x2, conv 5x5 SAME, relu, max-pool 2x2, flatten, dense, relu, dense, softmax cross-entropy,
an SGD step. Images are random (shaped like scikit-learn's 8x8 digits): only time and
agreement are measured.

funcgrad and JAX run one step written against `lax.conv_general_dilated` and
`lax.reduce_window` (NHWC images, HWIO kernels); PyTorch uses torch.nn.functional (NCHW, so
images and kernels are transposed on the way in); NumPy's step is the reference, convolution
as im2col matmuls and its backward pass derived by hand.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import funcgrad as fg
from bench import libraries
from bench.workloads.base import Instance, Workload, jit_implementations, update_check

__all__ = ["WORKLOADS", "cnn_loss", "hand_train_step"]

LEARNING_RATE = 0.1
KERNEL = 5
DIMENSIONS = ("NHWC", "HWIO", "NHWC")


def cnn_loss(lax: Any, np_like: Any, params: dict, x, y):
    hidden = x
    for layer in ("1", "2"):
        hidden = lax.conv_general_dilated(
            hidden, params[f"conv{layer}"], (1, 1), "SAME", dimension_numbers=DIMENSIONS
        )
        hidden = np_like.maximum(hidden + params[f"conv{layer}_b"], 0.0)
        hidden = lax.reduce_window(hidden, -np.inf, lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    hidden = hidden.reshape(x.shape[0], -1)
    hidden = np_like.maximum(hidden @ params["dense1"] + params["dense1_b"], 0.0)
    logits = hidden @ params["dense2"] + params["dense2_b"]
    shifted = logits - np_like.amax(logits, axis=1, keepdims=True)
    log_probs = shifted - np_like.log(np_like.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def make_train_step(api: Any, np_like: Any, lax: Any):
    def train_step(params, x, y):
        loss = functools.partial(cnn_loss, lax, np_like)
        value, grads = api.value_and_grad(loss)(params, x, y)
        new_params = api.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        return new_params, value

    return train_step


def needs_convolution(lax: Any) -> str | None:
    if hasattr(lax, "conv_general_dilated") and hasattr(lax, "reduce_window"):
        return None
    return "needs lax.conv_general_dilated and lax.reduce_window"


# --- the NumPy reference: im2col convolution and a hand-derived backward pass ---------------


def _patches(x: np.ndarray) -> np.ndarray:
    """(batch, h, w, KERNEL * KERNEL * channels) windows of x padded for SAME, ordered as a
    HWIO kernel's leading axes so that a convolution is one matmul."""
    pad = KERNEL // 2
    padded = np.pad(x, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
    _, height, width, _ = x.shape
    windows = [
        padded[:, i : i + height, j : j + width, :] for i in range(KERNEL) for j in range(KERNEL)
    ]
    return np.stack(windows, axis=3).reshape(*x.shape[:3], -1)


def _patches_transpose(grad_patches: np.ndarray, shape: tuple) -> np.ndarray:
    """The gradient with respect to x of _patches(x): each window's gradient added back."""
    pad = KERNEL // 2
    batch, height, width, channels = shape
    grad = grad_patches.reshape(batch, height, width, KERNEL * KERNEL, channels)
    padded = np.zeros((batch, height + 2 * pad, width + 2 * pad, channels), grad.dtype)
    for index in range(KERNEL * KERNEL):
        i, j = divmod(index, KERNEL)
        padded[:, i : i + height, j : j + width, :] += grad[:, :, :, index, :]
    return padded[:, pad:-pad, pad:-pad, :]


def _pool_windows(x: np.ndarray) -> np.ndarray:
    batch, height, width, channels = x.shape
    windows = x.reshape(batch, height // 2, 2, width // 2, 2, channels)
    return windows.transpose(0, 1, 3, 5, 2, 4).reshape(batch, height // 2, width // 2, channels, 4)


def hand_train_step(params: dict, x: np.ndarray, y: np.ndarray):
    saved = []  # per conv layer: input patches, pre-activation, argmax of each pool window
    hidden = x
    for layer in ("1", "2"):
        kernel = params[f"conv{layer}"]
        patches = _patches(hidden)
        pre = patches @ kernel.reshape(-1, kernel.shape[-1]) + params[f"conv{layer}_b"]
        windows = _pool_windows(np.maximum(pre, 0.0))
        saved.append((patches, pre, windows.argmax(axis=-1), hidden.shape))
        hidden = windows.max(axis=-1)
    pooled_shape = hidden.shape
    flat = hidden.reshape(x.shape[0], -1)
    pre_dense = flat @ params["dense1"] + params["dense1_b"]
    dense = np.maximum(pre_dense, 0.0)
    logits = dense @ params["dense2"] + params["dense2_b"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = -((shifted - np.log(totals)) * y).sum() / x.shape[0]

    grads = {}
    grad_logits = (exps / totals * y.sum(axis=1, keepdims=True) - y) / x.shape[0]
    grads["dense2"], grads["dense2_b"] = dense.T @ grad_logits, grad_logits.sum(axis=0)
    grad_pre_dense = (grad_logits @ params["dense2"].T) * (pre_dense > 0)
    grads["dense1"], grads["dense1_b"] = flat.T @ grad_pre_dense, grad_pre_dense.sum(axis=0)
    grad_hidden = (grad_pre_dense @ params["dense1"].T).reshape(pooled_shape)
    for layer, (patches, pre, argmax, input_shape) in zip(("2", "1"), reversed(saved)):
        kernel = params[f"conv{layer}"]
        # the pool's gradient goes to the window's largest element
        grad_windows = (np.arange(4) == argmax[..., None]) * grad_hidden[..., None]
        batch, height, width, channels = pre.shape
        grad_relu = grad_windows.reshape(batch, height // 2, width // 2, channels, 2, 2)
        grad_relu = grad_relu.transpose(0, 1, 4, 2, 5, 3).reshape(pre.shape)
        grad_pre = grad_relu * (pre > 0)
        flat_patches = patches.reshape(-1, patches.shape[-1])
        flat_grad = grad_pre.reshape(-1, channels)
        grads[f"conv{layer}"] = (flat_patches.T @ flat_grad).reshape(kernel.shape)
        grads[f"conv{layer}_b"] = flat_grad.sum(axis=0)
        if layer == "2":
            grad_patches = flat_grad @ kernel.reshape(-1, channels).T
            grad_hidden = _patches_transpose(grad_patches, input_shape)
    new_params = {k: p - LEARNING_RATE * grads[k].astype(np.float32) for k, p in params.items()}
    return new_params, loss


# --- PyTorch ---------------------------------------------------------------------------------


def torch_train_step(params: dict, x, y):
    """The same step in NCHW: kernels (O, I, H, W), and the pooled maps flattened in NHWC order
    so that the dense layer's weights mean the same as in the other libraries."""
    torch = libraries.torch
    functional = torch.nn.functional
    leaves = {k: p.detach().requires_grad_() for k, p in params.items()}
    hidden = x.permute(0, 3, 1, 2)
    for layer in ("1", "2"):
        kernel = leaves[f"conv{layer}"].permute(3, 2, 0, 1)
        hidden = functional.conv2d(hidden, kernel, leaves[f"conv{layer}_b"], padding="same")
        hidden = functional.max_pool2d(torch.relu(hidden), 2)
    hidden = hidden.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
    hidden = torch.relu(hidden @ leaves["dense1"] + leaves["dense1_b"])
    logits = hidden @ leaves["dense2"] + leaves["dense2_b"]
    loss = -(functional.log_softmax(logits, dim=1) * y).sum() / x.shape[0]
    grads = torch.autograd.grad(loss, list(leaves.values()))
    with torch.no_grad():
        new_params = {k: p - LEARNING_RATE * g for (k, p), g in zip(leaves.items(), grads)}
    return new_params, loss.detach()


def init_params(rng: np.random.Generator, channels: tuple, hidden: int, classes: int, image: int):
    def normal(*shape, fan_in):
        return (rng.normal(size=shape) * np.sqrt(2 / fan_in)).astype(np.float32)

    first, second = channels
    flat = (image // 4) ** 2 * second
    return {
        "conv1": normal(KERNEL, KERNEL, 1, first, fan_in=KERNEL * KERNEL),
        "conv1_b": np.full(first, 0.01, np.float32),
        "conv2": normal(KERNEL, KERNEL, first, second, fan_in=KERNEL * KERNEL * first),
        "conv2_b": np.full(second, 0.01, np.float32),
        "dense1": normal(flat, hidden, fan_in=flat),
        "dense1_b": np.full(hidden, 0.01, np.float32),
        "dense2": normal(hidden, classes, fan_in=hidden),
        "dense2_b": np.zeros(classes, np.float32),
    }


def step_flops(batch: int, image: int, channels: tuple, hidden: int, classes: int) -> int:
    """Multiply-adds of the convolutions and dense layers, forward and backward (weight
    gradients everywhere; input gradients except for the data), two flops each."""
    first, second = channels
    taps = KERNEL * KERNEL
    conv1 = image * image * taps * first
    conv2 = (image // 2) ** 2 * taps * first * second
    dense = (image // 4) ** 2 * second * hidden + hidden * classes
    return 2 * batch * (2 * conv1 + 3 * conv2 + 3 * dense)


def build(
    rng: np.random.Generator, batch: int, image: int, channels: tuple, hidden: int, classes: int
) -> Instance:
    params = init_params(rng, channels, hidden, classes, image)
    x = rng.normal(size=(batch, image, image, 1)).astype(np.float32)
    y = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch)]
    reference = hand_train_step(params, x, y)
    implementations = jit_implementations(make_train_step, (params, x, y), needs_convolution)
    implementations["numpy"] = functools.partial(hand_train_step, params, x, y)
    if libraries.torch is not None:
        tensors = fg.tree_util.tree_map(libraries.torch.from_numpy, (params, x, y))
        implementations["torch"] = functools.partial(torch_train_step, *tensors)
    traffic = sum(a.nbytes for a in fg.tree_util.tree_leaves((params, x, y, reference)))
    return Instance(
        implementations,
        update_check("CNN train step", params, reference),
        bytes_moved=traffic,
        flops=step_flops(batch, image, tuple(channels), hidden, classes),
    )


WORKLOADS = [
    Workload(
        "cnn",
        "CNN train step, {image}x{image} images, channels {channels}, batch {batch}",
        {
            "full": {"batch": 64, "image": 8, "channels": (20, 50), "hidden": 500, "classes": 10},
            "quick": {"batch": 64, "image": 8, "channels": (20, 50), "hidden": 500, "classes": 10},
            "tiny": {"batch": 3, "image": 8, "channels": (2, 3), "hidden": 6, "classes": 4},
        },
        build,
    ),
]
