"""Memory-bound array workloads: tanh-GELU, row softmax and layernorm, float32.

Each is one function of a NumPy-like module, so funcgrad, JAX, NumPy, PyTorch and CuPy all
run the same arithmetic; NumPy's result is the reference. Their floor is memory traffic:
inputs read once and the output written once.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import numpy as np

from bench import libraries
from bench.workloads.base import Instance, Workload, close_check, jit_implementations

__all__ = ["WORKLOADS", "gelu_tanh", "softmax", "layernorm", "eager_implementations"]

LAYERNORM_EPS = 1e-5


def gelu_tanh(np_like: Any, x):
    # x * x * x rather than x ** 3: NumPy eager has no fast path for a cube. Python float
    # constants are weakly typed in every library, so the result stays float32.
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1 + np_like.tanh(inner))


def softmax(np_like: Any, x):
    exps = np_like.exp(x - np_like.amax(x, axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def layernorm(np_like: Any, x, scale, bias):
    centered = x - x.mean(axis=-1, keepdims=True)
    variance = (centered * centered).mean(axis=-1, keepdims=True)
    inverse_deviation = 1 / np_like.sqrt(variance + LAYERNORM_EPS)  # one per row
    return centered * inverse_deviation * scale + bias


def eager_implementations(body: Callable, inputs: list[np.ndarray]) -> dict[str, Callable]:
    """`body(module, *inputs)` eagerly on NumPy, PyTorch (CPU) and CuPy (GPU, when present)."""
    found: dict[str, Callable] = {"numpy": functools.partial(body, np, *inputs)}
    if libraries.torch is not None:
        tensors = [libraries.torch.from_numpy(a) for a in inputs]
        found["torch"] = functools.partial(body, libraries.torch, *tensors)
    if libraries.cupy_ready():
        cupy = libraries.cupy
        on_gpu = [cupy.asarray(a) for a in inputs]
        wait = libraries.synchronizer("cupy")
        found["cupy"] = lambda: wait(body(cupy, *on_gpu))
    return found


def array_instance(body: Callable, inputs: list[np.ndarray], title: str, flops: float) -> Instance:
    """Every library's `body(module, *inputs)`, checked against NumPy's to float32 precision."""
    expected = body(np, *inputs)
    implementations = jit_implementations(
        lambda api, np_like, lax: functools.partial(body, np_like), tuple(inputs)
    )
    implementations.update(eager_implementations(body, inputs))
    bytes_moved = sum(a.nbytes for a in inputs) + expected.nbytes
    check = close_check(title, expected, rtol=2e-5, atol_scale=1e-6)
    return Instance(implementations, check, bytes_moved=bytes_moved, flops=flops)


def build_gelu(rng: np.random.Generator, size: int) -> Instance:
    x = rng.normal(size=size).astype(np.float32)
    # three multiplies for the cube and its scale, an add, a scale, 1 +, 0.5 * x and the
    # product: 8 flops an element (tanh not counted)
    return array_instance(gelu_tanh, [x], "tanh-GELU", flops=8 * size)


def build_softmax(rng: np.random.Generator, rows: int, cols: int) -> Instance:
    x = rng.normal(size=(rows, cols)).astype(np.float32)
    # max, subtract, sum, divide: 4 flops an element (exp not counted)
    return array_instance(softmax, [x], "softmax", flops=4 * rows * cols)


def build_layernorm(rng: np.random.Generator, rows: int, cols: int) -> Instance:
    x = (3 * rng.normal(size=(rows, cols)) + 1).astype(np.float32)
    scale = rng.normal(size=cols).astype(np.float32)
    bias = rng.normal(size=cols).astype(np.float32)
    # mean (1), centre (1), square and mean (2), normalise, scale, shift (3)
    return array_instance(layernorm, [x, scale, bias], "layernorm", flops=7 * rows * cols)


ROWS = {"full": (4096, 1024), "quick": (1024, 1024), "tiny": (8, 16)}

WORKLOADS = [
    Workload(
        "gelu",
        "tanh-GELU, {size:,} float32",
        {"full": {"size": 4 * 2**20}, "quick": {"size": 2**20}, "tiny": {"size": 1000}},
        build_gelu,
    ),
    Workload(
        "softmax",
        "row softmax, {rows}x{cols} float32",
        {size: {"rows": r, "cols": c} for size, (r, c) in ROWS.items()},
        build_softmax,
    ),
    Workload(
        "layernorm",
        "layernorm, {rows}x{cols} float32",
        {size: {"rows": r, "cols": c} for size, (r, c) in ROWS.items()},
        build_layernorm,
    ),
]
