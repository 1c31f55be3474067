"""The libraries a run compares and the devices they run on, each imported when installed.

JAX, PyTorch and CuPy are optional: a missing one is None here and its columns are left out.
An implementation is named by a key that the tables, the JSON file and the plot share:
`funcgrad-<backend>` for each backend `funcgrad.jit` knows, `numpy`, `jax` (XLA on the
CPU), `torch` (eager, CPU) and, when a GPU is present, `cupy` and `jax-gpu`. JAX's CPU column
pins its arrays to the CPU device so that a machine with a GPU still compares like with like.
"""

from __future__ import annotations

import os
import platform
from typing import Any, Callable

import numpy as np

import funcgrad as fg
from funcgrad.compiler.jit import BACKENDS

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = jnp = None
try:
    import torch
except ImportError:
    torch = None
try:
    import cupy
except ImportError:
    cupy = None

__all__ = [
    "jax",
    "jnp",
    "torch",
    "cupy",
    "FUNCGRAD_BACKENDS",
    "TITLES",
    "jax_device",
    "cupy_ready",
    "to_numpy",
    "synchronizer",
    "versions",
    "machine",
]


def jax_device(kind: str) -> Any | None:
    """JAX's first device of `kind` ("cpu" or "gpu"), or None when JAX or the device is
    missing."""
    if jax is None:
        return None
    try:
        return jax.devices(kind)[0]
    except RuntimeError:
        return None


def cupy_ready() -> bool:
    """CuPy is installed and sees a GPU."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except cupy.cuda.runtime.CUDARuntimeError:
        return False


# Backends by their own names ("cpu" and "gpu" are aliases); numpy, the reference, comes
# last; cupy needs a GPU.
FUNCGRAD_BACKENDS = tuple(
    sorted(
        {b for b in BACKENDS.values() if b != "cupy" or cupy_ready()},
        key=lambda b: (b == "numpy", b),
    )
)

TITLES = {
    **{f"funcgrad-{backend}": f"funcgrad {backend}" for backend in FUNCGRAD_BACKENDS},
    "jax": "JAX jit",
    "numpy": "NumPy",
    "torch": "PyTorch eager",
    "cupy": "CuPy (GPU)",
    "jax-gpu": "JAX jit (GPU)",
}


def to_numpy(tree: Any) -> Any:
    """Results of any library as NumPy arrays (GPU ones copied back), for checking."""

    def leaf(value):
        if torch is not None and isinstance(value, torch.Tensor):
            return value.detach().cpu().numpy()
        if cupy is not None and isinstance(value, cupy.ndarray):
            return cupy.asnumpy(value)
        return np.asarray(value)

    return fg.tree_util.tree_map(leaf, tree)


def synchronizer(lib: str) -> Callable[[Any], Any]:
    """A function that waits for `lib`'s asynchronous work on a result and returns it, so a
    timed call covers the computation and not only its dispatch."""
    if lib.startswith("jax"):
        return jax.block_until_ready
    if lib.startswith("funcgrad"):  # the CuPy backend's results are on the GPU
        return fg.block_until_ready
    if lib == "cupy":

        def wait(result):
            cupy.cuda.Device().synchronize()
            return result

        return wait
    return lambda result: result


def versions() -> dict[str, str]:
    """Versions of every library in the run."""
    import llvmlite

    found = {"python": platform.python_version(), "numpy": np.__version__}
    found["funcgrad"] = getattr(fg, "__version__", "?")
    found["llvmlite"] = llvmlite.__version__
    for name, module in (("jax", jax), ("torch", torch), ("cupy", cupy)):
        if module is not None:
            found[name] = module.__version__
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _gpu_name() -> str | None:
    device = jax_device("gpu")
    if device is not None:
        return device.device_kind
    if cupy_ready():
        return cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return None


def machine() -> dict[str, Any]:
    """What the run ran on: CPU, cores, load, GPU, thread settings and versions."""
    from funcgrad.backends.llvm.threads import default_thread_count

    thread_settings = (
        "OPENBLAS_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "XLA_FLAGS",
        "FUNCGRAD_NUM_THREADS",
    )
    return {
        "cpu": _cpu_model(),
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "load_average": os.getloadavg()[0],
        "gpu": _gpu_name(),
        "threads": {name: os.environ[name] for name in thread_settings if name in os.environ},
        "funcgrad_llvm_threads": default_thread_count(),
        "torch_threads": torch.get_num_threads() if torch is not None else None,
        "versions": versions(),
    }
