"""The MLP train step: value_and_grad + SGD of a tanh MLP with softmax cross-entropy.

funcgrad and JAX run one jitted step written against their APIs; NumPy's step derives the
backward pass by hand (the reference, independent of autodiff); PyTorch runs its autograd
eagerly; CuPy runs the hand-written step on the GPU. The step is bound by its matmuls.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import funcgrad as fg
from bench import libraries
from bench.workloads.base import Instance, Workload, jit_implementations, update_check

__all__ = [
    "WORKLOADS",
    "init_params",
    "mlp_loss",
    "make_train_step",
    "hand_train_step",
    "step_flops",
    "LEARNING_RATE",
]

LEARNING_RATE = 0.1


def init_params(rng: np.random.Generator, layer_sizes: tuple[int, ...]) -> dict[str, np.ndarray]:
    params = {}
    for i, (n_in, n_out) in enumerate(zip(layer_sizes, layer_sizes[1:])):
        params[f"w{i}"] = (rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        params[f"b{i}"] = (rng.normal(size=n_out) * 0.1).astype(np.float32)
    return params


def mlp_loss(np_like: Any, params: dict, x, y):
    layers = len(params) // 2
    hidden = x
    for i in range(layers - 1):
        hidden = np_like.tanh(hidden @ params[f"w{i}"] + params[f"b{i}"])
    logits = hidden @ params[f"w{layers - 1}"] + params[f"b{layers - 1}"]
    shifted = logits - np_like.amax(logits, axis=1, keepdims=True)
    log_probs = shifted - np_like.log(np_like.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def make_train_step(api: Any, np_like: Any, lax: Any = None):
    """A fresh, unjitted train step of `api` (funcgrad or jax)."""

    def train_step(params, x, y):
        value, grads = api.value_and_grad(functools.partial(mlp_loss, np_like))(params, x, y)
        new_params = api.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        return new_params, value

    return train_step


def hand_train_step(xp: Any, params: dict, x, y):
    """The same step with the backward pass derived by hand, on NumPy or CuPy (`xp`)."""
    layers = len(params) // 2
    activations = [x]
    for i in range(layers - 1):
        activations.append(xp.tanh(activations[-1] @ params[f"w{i}"] + params[f"b{i}"]))
    logits = activations[-1] @ params[f"w{layers - 1}"] + params[f"b{layers - 1}"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = xp.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = -((shifted - xp.log(totals)) * y).sum() / x.shape[0]
    # d loss / d logits of -sum(y * log_softmax) / batch
    grad_out = (exps / totals * y.sum(axis=1, keepdims=True) - y) / x.shape[0]
    new_params = {}
    for i in range(layers - 1, -1, -1):
        weight = params[f"w{i}"]
        new_params[f"w{i}"] = weight - LEARNING_RATE * (activations[i].T @ grad_out)
        new_params[f"b{i}"] = params[f"b{i}"] - LEARNING_RATE * grad_out.sum(axis=0)
        if i > 0:
            grad_out = (grad_out @ weight.T) * (1 - activations[i] ** 2)
    return new_params, loss


def torch_train_step(params: dict, x, y):
    """PyTorch eager: the same loss, autograd for the gradient, an out-of-place update."""
    torch = libraries.torch
    leaves = {k: p.detach().requires_grad_() for k, p in params.items()}
    loss = mlp_loss(torch, leaves, x, y)
    grads = torch.autograd.grad(loss, list(leaves.values()))
    with torch.no_grad():
        new_params = {k: p - LEARNING_RATE * g for (k, p), g in zip(leaves.items(), grads)}
    return new_params, loss.detach()


def step_flops(layer_sizes: tuple[int, ...], batch: int) -> int:
    """Matmul flops of one step: x @ w for each layer, and backward the weight gradient of
    each layer plus the input gradient of every layer but the first (the data needs none);
    an (m, k) by (k, n) matmul is 2 m k n flops."""
    macs = sum(n_in * n_out for n_in, n_out in zip(layer_sizes, layer_sizes[1:]))
    return 2 * batch * (3 * macs - layer_sizes[0] * layer_sizes[1])


def train_data(rng: np.random.Generator, layer_sizes: tuple[int, ...], batch: int):
    params = init_params(rng, layer_sizes)
    x = rng.normal(size=(batch, layer_sizes[0])).astype(np.float32)
    y = np.eye(layer_sizes[-1], dtype=np.float32)[rng.integers(0, layer_sizes[-1], batch)]
    return params, x, y


def build(rng: np.random.Generator, layer_sizes: tuple[int, ...], batch: int) -> Instance:
    params, x, y = train_data(rng, layer_sizes, batch)
    reference = hand_train_step(np, params, x, y)
    implementations = jit_implementations(make_train_step, (params, x, y))
    implementations["numpy"] = functools.partial(hand_train_step, np, params, x, y)
    if libraries.torch is not None:
        tensors = fg.tree_util.tree_map(libraries.torch.from_numpy, (params, x, y))
        implementations["torch"] = functools.partial(torch_train_step, *tensors)
    if libraries.cupy_ready():
        cupy = libraries.cupy
        on_gpu = fg.tree_util.tree_map(cupy.asarray, (params, x, y))
        wait = libraries.synchronizer("cupy")
        implementations["cupy"] = lambda: wait(hand_train_step(cupy, *on_gpu))
    traffic = sum(a.nbytes for a in fg.tree_util.tree_leaves((params, x, y, reference)))
    return Instance(
        implementations,
        update_check("MLP train step", params, reference),
        bytes_moved=traffic,
        flops=step_flops(layer_sizes, batch),
    )


SIZES = {
    "full": {"layer_sizes": (784, 512, 512, 10), "batch": 128},
    "quick": {"layer_sizes": (784, 512, 512, 10), "batch": 128},
    "tiny": {"layer_sizes": (12, 8, 8, 4), "batch": 5},
}

WORKLOADS = [
    Workload(
        "mlp",
        "MLP {layer_sizes} train step, batch {batch}",
        SIZES,
        build,
    ),
]
