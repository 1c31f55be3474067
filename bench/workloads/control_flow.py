"""Loops under jit.

- The gradient of a tanh RNN through `lax.scan`: h_t = tanh(x_t W_x + h_{t-1} W_h + b), loss
  the mean of the squared final state, gradients with respect to W_x, W_h and b. funcgrad and
  JAX differentiate one scan written against their `lax`; NumPy backpropagates through time
  by hand (the reference); PyTorch runs a Python loop under autograd.
- The per-iteration overhead of a nearly empty `fori_loop` (one scalar multiply-add), against
  the same loop in Python on NumPy scalars.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

import funcgrad as fg
from bench import libraries
from bench.workloads.base import Instance, Workload, close_check, jit_implementations

__all__ = ["WORKLOADS", "rnn_loss", "hand_rnn_grad", "loop_body"]


def rnn_loss(lax: Any, np_like: Any, params: dict, xs):
    def cell(h, x):
        return np_like.tanh(x @ params["w_x"] + h @ params["w_h"] + params["b"]), None

    start = np_like.zeros((xs.shape[1], params["w_h"].shape[0]), np.float32)
    h, _ = lax.scan(cell, start, xs)
    return np_like.mean(h * h)


def hand_rnn_grad(params: dict, xs: np.ndarray) -> dict:
    """Backpropagation through time by hand."""
    w_x, w_h, b = params["w_x"], params["w_h"], params["b"]
    hs = [np.zeros((xs.shape[1], w_h.shape[0]), np.float32)]
    for x in xs:
        hs.append(np.tanh(x @ w_x + hs[-1] @ w_h + b))
    grad_h = 2.0 * hs[-1] / hs[-1].size
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(len(xs) - 1, -1, -1):
        grad_pre = grad_h * (1.0 - hs[t + 1] * hs[t + 1])
        grads["w_x"] += xs[t].T @ grad_pre
        grads["w_h"] += hs[t].T @ grad_pre
        grads["b"] += grad_pre.sum(axis=0)
        grad_h = grad_pre @ w_h.T
    return grads


def torch_rnn_grad(params: dict, xs) -> dict:
    torch = libraries.torch
    leaves = {k: p.detach().requires_grad_() for k, p in params.items()}
    h = torch.zeros((xs.shape[1], leaves["w_h"].shape[0]))
    for x in xs:
        h = torch.tanh(x @ leaves["w_x"] + h @ leaves["w_h"] + leaves["b"])
    grads = torch.autograd.grad(torch.mean(h * h), list(leaves.values()))
    return dict(zip(leaves, grads))


def build(rng: np.random.Generator, steps: int, hidden: int, batch: int, features: int):
    params = {
        "w_x": (rng.normal(size=(features, hidden)) / np.sqrt(features)).astype(np.float32),
        "w_h": (rng.normal(size=(hidden, hidden)) / np.sqrt(hidden)).astype(np.float32),
        "b": (0.1 * rng.normal(size=hidden)).astype(np.float32),
    }
    xs = rng.normal(size=(steps, batch, features)).astype(np.float32)
    reference = hand_rnn_grad(params, xs)
    implementations = jit_implementations(
        lambda api, np_like, lax: api.grad(functools.partial(rnn_loss, lax, np_like)),
        (params, xs),
    )
    implementations["numpy"] = functools.partial(hand_rnn_grad, params, xs)
    if libraries.torch is not None:
        tensors = fg.tree_util.tree_map(libraries.torch.from_numpy, (params, xs))
        implementations["torch"] = functools.partial(torch_rnn_grad, *tensors)
    # forward x W_x and h W_h; backward the two weight gradients and the state's gradient
    flops = steps * 2 * batch * (2 * features * hidden + 3 * hidden * hidden)
    traffic = xs.nbytes + 2 * sum(p.nbytes for p in params.values())
    # float32 sums over many steps: agree to a few parts in 1e4 of each gradient's scale
    check = close_check("RNN grad", reference, rtol=1e-3, atol_scale=1e-3)
    return Instance(implementations, check, bytes_moved=traffic, flops=flops)


def loop_body(i, x):
    return x * np.float32(0.999) + np.float32(1.0)


def build_loop(rng: np.random.Generator, iterations: int) -> Instance:
    def python_loop():
        x = np.float32(0.0)
        for i in range(iterations):
            x = loop_body(i, x)
        return x

    start = np.float32(0.0)
    implementations = jit_implementations(
        lambda api, np_like, lax: lambda x: lax.fori_loop(0, iterations, loop_body, x), (start,)
    )
    implementations["numpy"] = python_loop
    # the closed form of x -> 0.999 x + 1 from 0: (1 - 0.999^n) / (1 - 0.999)
    expected = np.float32((1 - 0.999**iterations) / (1 - 0.999))
    check = close_check("fori_loop", expected, rtol=1e-4, atol_scale=0.0)
    return Instance(implementations, check, unit="ms")


WORKLOADS = [
    Workload(
        "rnn",
        "RNN grad through scan, {steps} steps, hidden {hidden}, batch {batch}",
        {
            "full": {"steps": 200, "hidden": 256, "batch": 32, "features": 64},
            "quick": {"steps": 50, "hidden": 256, "batch": 32, "features": 64},
            "tiny": {"steps": 5, "hidden": 8, "batch": 3, "features": 4},
        },
        build,
    ),
    Workload(
        "fori-loop",
        "empty fori_loop, {iterations:,} iterations",
        {
            "full": {"iterations": 100_000},
            "quick": {"iterations": 10_000},
            "tiny": {"iterations": 10},
        },
        build_loop,
        notes="a jitted loop's overhead per iteration is this time divided by the iterations",
    ),
]
