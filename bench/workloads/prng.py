"""Random normals: a jitted `random.normal(key, (n,))`, float32.

funcgrad and JAX draw the same numbers (Threefry-2x32), so theirs are compared bit for bit
with JAX's draw when JAX is present, else with funcgrad's NumPy backend (the reference
evaluator). NumPy's Generator (PCG64), PyTorch and CuPy draw their own numbers: they are
timed as baselines and checked only for the mean and spread of a standard normal.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import funcgrad as fg
from bench import libraries
from bench.workloads.base import Instance, Workload, jit_implementations

__all__ = ["WORKLOADS"]

THREEFRY = ("funcgrad-", "jax")  # key prefixes of the implementations drawing Threefry bits


def build(rng: np.random.Generator, size: int) -> Instance:
    key = np.asarray(fg.random.PRNGKey(0))
    implementations: dict[str, Any] = jit_implementations(
        lambda api, np_like, lax: lambda k: api.random.normal(k, (size,)), (key,)
    )
    generator = np.random.default_rng(0)
    implementations["numpy"] = lambda: generator.standard_normal(size, dtype=np.float32)
    torch = libraries.torch
    if torch is not None:
        torch_generator = torch.Generator().manual_seed(0)
        implementations["torch"] = lambda: torch.randn(size, generator=torch_generator)
    if libraries.cupy_ready():
        cupy, wait = libraries.cupy, libraries.synchronizer("cupy")
        implementations["cupy"] = lambda: wait(cupy.random.standard_normal(size, np.float32))
    source = "jax" if callable(implementations.get("jax")) else "funcgrad-numpy"
    threefry_bits = np.asarray(libraries.to_numpy(implementations[source]())).view(np.uint32)

    def check(name: str, result: Any) -> None:
        values = np.asarray(libraries.to_numpy(result))
        assert values.shape == (size,) and values.dtype == np.float32, (
            f"normals, {name}: {values.dtype}{list(values.shape)}, not float32[{size}]"
        )
        if name.startswith(THREEFRY):
            np.testing.assert_array_equal(
                values.view(np.uint32), threefry_bits, f"normals, {name} against {source}"
            )
        # a standard normal's sample mean and variance, to five standard errors
        assert abs(values.mean()) < 5 / np.sqrt(size), f"normals, {name}: mean {values.mean()}"
        assert abs(values.var() - 1) < 5 * np.sqrt(2 / size), f"normals, {name}: {values.var()}"

    return Instance(implementations, check, bytes_moved=4 * size)


WORKLOADS = [
    Workload(
        "prng",
        "PRNG normals, {size:,} float32",
        {"full": {"size": 10_000_000}, "quick": {"size": 1_000_000}, "tiny": {"size": 1000}},
        build,
    ),
]
