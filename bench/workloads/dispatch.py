"""Dispatch overhead: a cached jitted call of `sin(a) * b + a` on 8 float32 elements, where
only the Python path from call to result matters. NumPy and PyTorch run the same three
operations eagerly, the floor for a library that compiles nothing."""

from __future__ import annotations

import functools

import numpy as np

from bench.workloads.base import Instance, Workload, close_check, jit_implementations
from bench.workloads.elementwise import eager_implementations

__all__ = ["WORKLOADS", "tiny_program"]


def tiny_program(np_like, a, b):
    return np_like.sin(a) * b + a


def build(rng: np.random.Generator, size: int) -> Instance:
    a, b = (rng.normal(size=size).astype(np.float32) for _ in range(2))
    implementations = jit_implementations(
        lambda api, np_like, lax: functools.partial(tiny_program, np_like), (a, b)
    )
    implementations.update(eager_implementations(tiny_program, [a, b]))
    check = close_check("dispatch", tiny_program(np, a, b), rtol=1e-5, atol_scale=1e-6)
    return Instance(implementations, check, unit="µs")


WORKLOADS = [
    Workload(
        "dispatch",
        "jitted-call dispatch, sin(a) * b + a, {size} float32",
        {"full": {"size": 8}, "quick": {"size": 8}, "tiny": {"size": 8}},
        build,
    ),
]
