"""Trace + compile time of the MLP train step: the first call of a freshly jitted step, cold
(empty on-disk caches) and warm (its compiled code already on disk).

Each first call runs in a fresh Python process (`python -m bench.first_call`), so
no in-memory cache helps it; a sample is a cold process on an empty cache directory
(funcgrad's kernel cache, JAX's persistent compilation cache) followed by a warm process on
the directory the cold one filled. Each process first jits and calls a trivial function
(library start-up is not compile time), then times the step's first call, whose loss is
checked against the hand-written NumPy step.
"""

from __future__ import annotations

import functools
import itertools
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench import libraries
from bench.workloads.base import Instance, Workload
from bench.workloads.mlp import hand_train_step, make_train_step, train_data

__all__ = ["WORKLOADS", "probe"]

ROOT = Path(__file__).resolve().parents[2]
LIBRARIES = tuple(f"funcgrad-{backend}" for backend in libraries.FUNCGRAD_BACKENDS) + ("jax",)
STATES = ("cold", "warm")  # in this order: the cold process fills the cache


def probe(library: str, layer_sizes: tuple[int, ...], batch: int, cache: Path) -> dict:
    """In this process: start `library` up, then time the step's first call."""
    params, x, y = train_data(np.random.default_rng(0), layer_sizes, batch)
    if library == "jax":
        import jax
        import jax.numpy as np_like

        jax.config.update("jax_platforms", "cpu")
        jax.config.update("jax_compilation_cache_dir", str(cache / "jax"))
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        api, jit, wait = jax, jax.jit, jax.block_until_ready
        args = jax.device_put((params, x, y))
    else:
        os.environ["FUNCGRAD_CACHE_DIR"] = str(cache / "funcgrad")
        import funcgrad as api
        import funcgrad.numpy as np_like

        jit = functools.partial(api.jit, backend=library.removeprefix("funcgrad-"))
        wait = lambda tree: tree  # noqa: E731 (funcgrad's calls return finished arrays)
        args = api.tree_util.tree_map(np_like.asarray, (params, x, y))
    wait(jit(lambda a: np_like.tanh(a) + 1.0)(args[1]))
    start = time.perf_counter()
    _, loss = wait(jit(make_train_step(api, np_like))(*args))
    return {"seconds": time.perf_counter() - start, "loss": float(loss)}


def _first_call(library: str, layer_sizes: tuple[int, ...], batch: int, cache: str) -> dict:
    """`probe` in a fresh process."""
    path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "bench.first_call", library, cache]
    command += [json.dumps({"layer_sizes": layer_sizes, "batch": batch})]
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"{library} first-call process failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


@functools.lru_cache(maxsize=None)
def _sample(library: str, layer_sizes: tuple[int, ...], batch: int, index: int) -> dict:
    """A cold and a warm first call on one fresh cache directory. `index` tells samples
    apart, and the memo lets the cold and the warm workload share each sample."""
    with tempfile.TemporaryDirectory(prefix="funcgrad-bench-cache-") as cache:
        return {state: _first_call(library, layer_sizes, batch, cache) for state in STATES}


def _first_call_of_sample(state, library, layer_sizes, batch, samples) -> tuple[float, float]:
    """(seconds, loss) of the next sample's first call in `state`."""
    call = _sample(library, layer_sizes, batch, next(samples))[state]
    return call["seconds"], call["loss"]


def builder(state: str):
    def build(
        rng: np.random.Generator,
        layer_sizes: tuple[int, ...],
        batch: int,
        libraries_measured: tuple[str, ...] = LIBRARIES,
    ) -> Instance:
        params, x, y = train_data(np.random.default_rng(0), layer_sizes, batch)
        _, reference_loss = hand_train_step(np, params, x, y)
        implementations: dict = {}
        for library in LIBRARIES:
            if library == "jax" and libraries.jax is None:
                continue
            if library not in libraries_measured:
                implementations[library] = "not measured at this size (costs two processes)"
                continue
            implementations[library] = functools.partial(
                _first_call_of_sample, state, library, tuple(layer_sizes), batch, itertools.count()
            )

        def check(name: str, loss: float) -> None:
            np.testing.assert_allclose(loss, reference_loss, rtol=1e-4, err_msg=f"{name} loss")

        return Instance(implementations, check, self_timed=True)

    return build


SIZES = {
    "full": {"layer_sizes": (784, 512, 512, 10), "batch": 128},
    "quick": {
        "layer_sizes": (784, 512, 512, 10),
        "batch": 128,
        "libraries_measured": ("funcgrad-llvm", "jax"),
    },
    "tiny": {"layer_sizes": (12, 8, 8, 4), "batch": 5},
}

WORKLOADS = [
    Workload(
        "compile-cold",
        "MLP {layer_sizes} step: trace + compile + first call, empty disk cache",
        SIZES,
        builder("cold"),
        notes="each sample a fresh process; NumPy and PyTorch compile nothing",
    ),
    Workload(
        "compile-warm",
        "MLP {layer_sizes} step: trace + compile + first call, warm disk cache",
        SIZES,
        builder("warm"),
        notes="funcgrad's numpy backend has no disk cache: its warm call retraces and reoptimizes",
    ),
]
