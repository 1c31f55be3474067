"""Devices: the machines' processors that hold arrays and run programs, named as in JAX.

There are two platforms: "cpu", always present, and "gpu", an NVIDIA GPU found through
CuPy. The default platform is the GPU when CuPy finds one, else the CPU, as in JAX;
FUNCGRAD_PLATFORMS (or JAX_PLATFORMS), a comma-separated list such as "cpu" or "gpu,cpu",
restricts the platforms to those listed, the first being the default, and asking for one
that is not there is an error. `jit` compiles for the default platform's backend (the
LLVM backend on the CPU, CuPy on a GPU) unless FUNCGRAD_BACKEND or `backend=` says
otherwise.

funcgrad Arrays hold host memory: a program on the GPU moves its inputs there and its
outputs back at its boundary, so `device_put` places arrays on the CPU device only, and
`Array.devices()` is always the CPU's.
"""

from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from funcgrad.core.source_info import user_location

__all__ = [
    "Device",
    "devices",
    "local_devices",
    "default_backend",
    "cpu_device",
    "device_put",
    "device_get",
    "block_until_ready",
]

# Platform names users may write, by the platform they mean ("cuda" is JAX's name too).
_PLATFORMS = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu"}


@dataclass(frozen=True)
class Device:
    """One device: `platform` is "cpu" or "gpu"; `id` numbers the platform's devices.

    >>> devices()[0]                                       # doctest: +SKIP
    CpuDevice(id=0)
    """

    id: int
    platform: str
    device_kind: str
    process_index: int = 0

    def __repr__(self) -> str:
        kind = "CpuDevice" if self.platform == "cpu" else "CudaDevice"
        return f"{kind}(id={self.id})"


def cpu_device() -> Device:
    """The host: where every funcgrad Array's buffer lives."""
    return Device(0, "cpu", "cpu")


@functools.lru_cache(maxsize=1)
def _gpus() -> tuple[Device, ...]:
    """The GPUs CuPy finds (none when CuPy is not installed or finds no driver), looked
    for once per process: importing CuPy takes a while, and the answer does not change."""
    if importlib.util.find_spec("cupy") is None:
        return ()
    try:
        import cupy

        count = cupy.cuda.runtime.getDeviceCount()
        kinds = [cupy.cuda.runtime.getDeviceProperties(i)["name"] for i in range(count)]
    except Exception:  # CuPy without a driver or a GPU raises its own CUDA errors
        return ()
    names = [k.decode() if isinstance(k, bytes) else str(k) for k in kinds]
    return tuple(Device(i, "gpu", name) for i, name in enumerate(names))


def _platforms() -> list[str]:
    """The platforms in use, the default first."""
    variable = "FUNCGRAD_PLATFORMS" if os.environ.get("FUNCGRAD_PLATFORMS") else "JAX_PLATFORMS"
    setting = os.environ.get(variable, "").strip()
    if not setting:
        return ["gpu", "cpu"] if _gpus() else ["cpu"]
    chosen = []
    for name in (n.strip().lower() for n in setting.split(",") if n.strip()):
        if name not in _PLATFORMS:
            raise ValueError(
                f"{variable}={setting!r} names the unknown platform {name!r}; funcgrad knows "
                f"{', '.join(sorted(_PLATFORMS))} (cuda is gpu)."
            )
        platform = _PLATFORMS[name]
        if platform == "gpu" and not _gpus():
            raise RuntimeError(_no_gpu(f"{variable}={setting!r} asks for the GPU"))
        if platform not in chosen:
            chosen.append(platform)
    return chosen


def _no_gpu(what: str) -> str:
    return (
        f"{what}, but there is no GPU here: CuPy is not installed or finds no NVIDIA GPU. "
        "Install CuPy (pip install cupy-cuda12x) on a machine with an NVIDIA GPU and its "
        "driver, or use the CPU (JAX_PLATFORMS=cpu, or leave it unset)."
    )


def default_backend() -> str:
    """The default platform: "gpu" when CuPy finds a GPU, else "cpu" (as JAX's).

    >>> default_backend()                                  # doctest: +SKIP
    'cpu'
    """
    return _platforms()[0]


def devices(backend: str | None = None) -> list[Device]:
    """The devices of `backend` ("cpu", "gpu"), by default of the default platform.

    >>> devices("cpu")
    [CpuDevice(id=0)]
    """
    if backend is None:
        platform = default_backend()
    else:
        platform = _PLATFORMS.get(str(backend).lower())
        if platform is None:
            raise ValueError(
                f"devices({backend!r}) at {user_location()}: unknown backend; funcgrad knows "
                f"{', '.join(sorted(_PLATFORMS))}."
            )
        in_use = _platforms()
        if platform not in in_use:
            where = f"devices({backend!r}) at {user_location()}"
            if platform == "gpu" and not _gpus():
                raise RuntimeError(_no_gpu(f"{where} asks for the GPU"))
            raise RuntimeError(
                f"{where}: FUNCGRAD_PLATFORMS/JAX_PLATFORMS restrict the platforms to "
                f"{', '.join(in_use)}; add {platform} to use it."
            )
    return [cpu_device()] if platform == "cpu" else list(_gpus())


def local_devices(process_index: int | None = None, backend: str | None = None) -> list[Device]:
    """The devices this process drives: all of them (funcgrad runs in one process).

    >>> local_devices("cpu")                              # doctest: +SKIP
    [CpuDevice(id=0)]
    """
    return devices(backend)


def device_put(x: Any, device: Device | None = None) -> Any:
    """`x` (a pytree) with every leaf an Array on `device` (the CPU; see the module
    docstring). Arrays are immutable, so one already there is returned as it is.

    >>> device_put({"w": np.ones(2)})                      # doctest: +SKIP
    {'w': Array([1., 1.], dtype=float32)}
    """
    from funcgrad.core.trace import Tracer
    from funcgrad.numpy import asarray
    from funcgrad.runtime.array import Array
    from funcgrad.tree_util import tree_map

    if device is not None:
        if not isinstance(device, Device):
            raise TypeError(
                f"device_put at {user_location()}: device must be a Device from "
                f"funcgrad.devices(), not {type(device).__name__}."
            )
        if device.platform == "gpu":
            raise NotImplementedError(
                f"device_put(x, {device}) at {user_location()}: funcgrad Arrays live in host "
                'memory for now. jit(f, backend="cupy") runs f on the GPU, moving its '
                "inputs there and its outputs back; pass host arrays to it."
            )

    def put(leaf):
        if isinstance(leaf, (Array, Tracer)):
            return leaf
        return asarray(leaf)

    return tree_map(put, x)


def device_get(x: Any) -> Any:
    """`x` (a pytree) with every Array leaf a NumPy array; other leaves stay as they are.

    >>> device_get({"w": jnp.ones(2), "n": 3})             # doctest: +SKIP
    {'n': 3, 'w': array([1., 1.], dtype=float32)}
    """
    from funcgrad.runtime.array import Array
    from funcgrad.tree_util import tree_map

    return tree_map(lambda leaf: np.asarray(leaf) if isinstance(leaf, Array) else leaf, x)


def block_until_ready(x: Any) -> Any:
    """Wait until every array in the pytree `x` is computed; returns `x`. (funcgrad's
    programs return when their results are ready, so there is nothing to wait for.)

    >>> block_until_ready(jnp.ones(2))                      # doctest: +SKIP
    Array([1., 1.], dtype=float32)
    """
    from funcgrad.tree_util import tree_leaves

    for leaf in tree_leaves(x):
        wait = getattr(leaf, "block_until_ready", None)
        if wait is not None:
            wait()
    return x
