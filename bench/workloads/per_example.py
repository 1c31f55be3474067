"""Per-example gradients: vmap(grad(loss)) of a 784-128-10 tanh MLP over a batch, the
parameters shared (in_axes=(None, 0, 0)).

funcgrad and JAX jit one vmap of grad; NumPy computes every example's gradient at once by
hand (the reference); PyTorch uses torch.func.vmap of torch.func.grad.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import funcgrad as fg
from bench import libraries
from bench.workloads.base import Instance, Workload, close_check, jit_implementations

__all__ = ["WORKLOADS", "example_loss", "hand_per_example_grads"]


def example_loss(np_like: Any, params: dict, x, y):
    """Cross-entropy of one example (x a vector, y one-hot)."""
    hidden = np_like.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - np_like.amax(logits)
    return -(y * (shifted - np_like.log(np_like.exp(shifted).sum()))).sum()


def hand_per_example_grads(params: dict, xs: np.ndarray, ys: np.ndarray) -> dict:
    """Every example's gradient at once, the batch axis leading each result."""
    hidden = np.tanh(xs @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    exps = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs = exps / exps.sum(axis=1, keepdims=True)
    grad_logits = probs * ys.sum(axis=1, keepdims=True) - ys
    grad_pre = (grad_logits @ params["w2"].T) * (1 - hidden * hidden)
    return {
        "w1": np.einsum("bi,bj->bij", xs, grad_pre),
        "b1": grad_pre,
        "w2": np.einsum("bi,bj->bij", hidden, grad_logits),
        "b2": grad_logits,
    }


def build(rng: np.random.Generator, features: int, hidden: int, classes: int, batch: int):
    params = {
        "w1": (rng.normal(size=(features, hidden)) / np.sqrt(features)).astype(np.float32),
        "b1": np.zeros(hidden, np.float32),
        "w2": (rng.normal(size=(hidden, classes)) / np.sqrt(hidden)).astype(np.float32),
        "b2": np.zeros(classes, np.float32),
    }
    xs = rng.normal(size=(batch, features)).astype(np.float32)
    ys = np.eye(classes, dtype=np.float32)[rng.integers(0, classes, batch)]
    reference = hand_per_example_grads(params, xs, ys)

    def make(api, np_like, lax):
        return api.vmap(api.grad(functools.partial(example_loss, np_like)), in_axes=(None, 0, 0))

    implementations = jit_implementations(make, (params, xs, ys))
    implementations["numpy"] = functools.partial(hand_per_example_grads, params, xs, ys)
    torch = libraries.torch
    if torch is not None:
        tensors = fg.tree_util.tree_map(torch.from_numpy, (params, xs, ys))
        per_example = torch.func.vmap(
            torch.func.grad(functools.partial(example_loss, torch)), in_dims=(None, 0, 0)
        )
        implementations["torch"] = functools.partial(per_example, *tensors)
    macs = features * hidden + hidden * classes
    # forward, the weight gradients, and the hidden layer's gradient
    flops = batch * 2 * (2 * macs + hidden * classes)
    traffic = xs.nbytes + ys.nbytes + sum(g.nbytes for g in reference.values())
    check = close_check("per-example grads", reference, rtol=1e-4, atol_scale=1e-5)
    return Instance(implementations, check, bytes_moved=traffic, flops=flops)


WORKLOADS = [
    Workload(
        "per-example",
        "per-example grads, vmap(grad), MLP {features}-{hidden}-{classes}, batch {batch}",
        {
            "full": {"features": 784, "hidden": 128, "classes": 10, "batch": 128},
            "quick": {"features": 784, "hidden": 128, "classes": 10, "batch": 128},
            "tiny": {"features": 6, "hidden": 5, "classes": 3, "batch": 4},
        },
        build,
    ),
]
