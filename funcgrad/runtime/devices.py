"""Devices: the machines' processors that hold arrays and run programs, named as in JAX.

There are two platforms: "cpu", always present, and "gpu", an NVIDIA GPU found through
CuPy. The default platform is the GPU when CuPy finds one, else the CPU, as in JAX;
FUNCGRAD_PLATFORMS (or JAX_PLATFORMS), a comma-separated list such as "cpu" or "gpu,cpu",
restricts the platforms to those listed, the first being the default, and asking for one
that is not there is an error. `jit` compiles for the default platform's backend (the
LLVM backend on the CPU, CuPy on a GPU) unless FUNCGRAD_BACKEND or `backend=` says
otherwise.

An Array's buffer is a NumPy array (the CPU) or a CuPy array (a GPU). Placement follows
JAX: `device_put(x, device)` *commits* x to a device; arrays made any other way are
uncommitted and live on the default device. An operation runs on the device its committed
operands share (uncommitted operands are moved there), else on the default device, and
its result is committed when an operand was; operands committed to different devices are
an error, raised by `placement`. Transfers happen only there and at explicit calls.
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
    "default_device",
    "gpu_module",
    "is_device_buffer",
    "array_module",
    "buffer_device",
    "host_buffer",
    "move_buffer",
    "placement",
    "placement_free",
    "uncommitted_on_the_gpu",
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
    """The host, whose memory holds NumPy buffers."""
    return Device(0, "cpu", "cpu")


NO_GPU_HELP = (
    "The GPU runs through CuPy. Install CuPy for the machine's CUDA version (pip install "
    "cupy-cuda12x) on a machine with an NVIDIA GPU and its driver, or compute on the CPU "
    'instead: jit(f, backend="llvm") (or leave backend unset).'
)


def gpu_module():
    """CuPy, imported now; a RuntimeError saying what to do when it or a GPU is missing."""
    try:
        import cupy
    except ImportError as error:
        raise RuntimeError(f"CuPy is not installed. {NO_GPU_HELP}") from error
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except cupy.cuda.runtime.CUDARuntimeError as error:
        raise RuntimeError(f"CuPy finds no usable GPU ({error}). {NO_GPU_HELP}") from error
    if count == 0:
        raise RuntimeError(f"CuPy finds no GPU. {NO_GPU_HELP}")
    return cupy


def is_device_buffer(buffer) -> bool:
    """Whether `buffer` is a GPU array (CuPy's, or any `__cuda_array_interface__` exporter)."""
    return type(buffer) is not np.ndarray and hasattr(buffer, "__cuda_array_interface__")


def array_module(*buffers):
    """The array library for `buffers`: CuPy when one is a GPU array, else NumPy. Impls
    written against it run on either (DESIGN.md: "CuPy uses the same code through the
    array module")."""
    return gpu_module() if any(map(is_device_buffer, buffers)) else np


def buffer_device(buffer) -> Device:
    """The device holding `buffer`."""
    if not is_device_buffer(buffer):
        return cpu_device()
    number = int(getattr(getattr(buffer, "device", None), "id", 0))
    gpus = _gpus()
    return gpus[number] if number < len(gpus) else Device(number, "gpu", "gpu")


def host_buffer(buffer) -> np.ndarray:
    """`buffer`'s values in host memory: itself when it is there, else a copy."""
    if type(buffer) is np.ndarray:
        return buffer
    if is_device_buffer(buffer):
        return gpu_module().asnumpy(buffer)
    return np.asarray(buffer)


def move_buffer(buffer, device: Device):
    """`buffer`'s values on `device`: itself when it is there already, else a copy."""
    if device.platform == "cpu":
        return host_buffer(buffer)
    cupy = gpu_module()
    if is_device_buffer(buffer) and buffer_device(buffer) == device:
        return buffer
    with cupy.cuda.Device(device.id):
        return cupy.asarray(host_buffer(buffer) if is_device_buffer(buffer) else buffer)


def default_device() -> Device:
    """The device uncommitted arrays live on and operations without committed operands
    run on: the default platform's first."""
    if not _gpus():
        return cpu_device()
    return devices()[0]


def placement_free() -> bool:
    """Whether placement has nothing to decide: the CPU is the only device. (Arrays
    committed to it then make no difference to where anything runs.)"""
    return not _gpus()


def uncommitted_on_the_gpu(arrays) -> bool:
    """Whether every one of `arrays` is an uncommitted Array on the (one) GPU: where the
    CuPy backend's programs compiled for uncommitted arguments may run them as they are."""
    from funcgrad.runtime.array import Array

    return all(type(x) is Array and not x._committed and is_device_buffer(x._value) for x in arrays)


def placement(arrays, what: str) -> tuple[Device, bool]:
    """Where an operation on `arrays` (its operands, Arrays among other values) runs, and
    whether its results are committed there (see the module docstring). `what` names the
    operation in the error for operands committed to different devices."""
    from funcgrad.runtime.array import Array

    committed: dict[Device, int] = {}
    for number, x in enumerate(arrays):
        if type(x) is Array and x._committed:
            committed.setdefault(x.device, number)
    if len(committed) > 1:
        listed = ", ".join(f"{d} (argument {n})" for d, n in committed.items())
        raise ValueError(
            f"{what} at {user_location()} mixes arrays committed to different devices: "
            f"{listed}. Move them to one device first, e.g. funcgrad.device_put(x, "
            "funcgrad.devices()[0]); arrays not committed by device_put follow the others."
        )
    if committed:
        return next(iter(committed)), True
    return default_device(), False


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
    """`x` (a pytree) with every leaf an Array on `device`, committed to it; without a
    device, on the default device and uncommitted (as JAX). An Array already where it
    should be is returned as it is (arrays are immutable); others are copied there.

    >>> device_put({"w": np.ones(2)})                      # doctest: +SKIP
    {'w': Array([1., 1.], dtype=float32)}
    """
    from funcgrad.core.trace import Tracer
    from funcgrad.numpy import asarray
    from funcgrad.runtime.array import Array, from_buffer
    from funcgrad.tree_util import tree_map

    if device is not None and not isinstance(device, Device):
        raise TypeError(
            f"device_put at {user_location()}: device must be a Device from "
            f"funcgrad.devices(), not {type(device).__name__}."
        )
    if device is not None and device.platform == "gpu" and device not in _gpus():
        raise RuntimeError(_no_gpu(f"device_put(x, {device}) at {user_location()}"))
    target = device or default_device()

    def put(leaf):
        if isinstance(leaf, Tracer):
            return leaf
        array = leaf if isinstance(leaf, Array) else asarray(leaf)
        if array.device == target and array._committed == (device is not None):
            return array
        return from_buffer(move_buffer(array._value, target), array.aval, device is not None)

    return tree_map(put, x)


def device_get(x: Any) -> Any:
    """`x` (a pytree) with every Array leaf a NumPy array (copied from the GPU when it
    lives there); other leaves stay as they are.

    >>> device_get({"w": jnp.ones(2), "n": 3})             # doctest: +SKIP
    {'n': 3, 'w': array([1., 1.], dtype=float32)}
    """
    from funcgrad.runtime.array import Array
    from funcgrad.tree_util import tree_map

    return tree_map(lambda leaf: np.asarray(leaf) if isinstance(leaf, Array) else leaf, x)


def block_until_ready(x: Any) -> Any:
    """Wait until every array in the pytree `x` is computed; returns `x`. (Work on the
    CPU is done when a call returns; a GPU's runs asynchronously.)

    >>> block_until_ready(jnp.ones(2))                      # doctest: +SKIP
    Array([1., 1.], dtype=float32)
    """
    from funcgrad.tree_util import tree_leaves

    for leaf in tree_leaves(x):
        wait = getattr(leaf, "block_until_ready", None)
        if wait is not None:
            wait()
    return x
