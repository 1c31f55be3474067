"""A stand-in for CuPy on machines without a GPU: a "GPU" whose memory is host memory.

It is what funcgrad imports as `cupy` in the tests of GPU arrays (install() puts it in
sys.modules): its `ndarray` is a type of its own, not NumPy's, and behaves as CuPy's does
where funcgrad could go wrong —

- converting it to a NumPy array implicitly (np.asarray, np.array, a NumPy function that
  makes one) raises TypeError, so a GPU buffer that reaches host code is caught; `.get()`
  and `asnumpy` copy it out, `asarray` copies host data in;
- NumPy's ufuncs and functions on it (`__array_ufunc__`, `__array_function__`) compute
  and give its arrays back, as CuPy's do, and refuse NumPy arrays among the operands;
- `RawModule` compiles the generated CUDA C for the host (cuda_host.py) and launches
  kernels on its arrays' memory;
- `__cuda_array_interface__` and DLPack export and import share memory, as on a GPU.

`to_device` and `to_host` count the copies between "host" and "device", and `launched`
the kernels run.
"""

from __future__ import annotations

import ctypes
import os
import sys
import tempfile
import types
from pathlib import Path

import numpy as np
from cuda_host import compile_for_host, launch_on_host

__all__ = ["install", "ndarray"]

IMPLICIT = (
    "Implicit conversion to a NumPy array is not allowed. Please use `.get()` to construct "
    "a NumPy array explicitly."
)


def _unwrap(value):
    if type(value) is ndarray:
        return value._a
    if type(value) is np.ndarray and value.ndim:
        raise TypeError(f"Unsupported type {type(value)} (a NumPy array among CuPy operands)")
    if isinstance(value, (list, tuple)):
        return type(value)(_unwrap(v) for v in value)
    return value


def _wrap(value):
    if type(value) is np.ndarray:
        return ndarray(value)
    if isinstance(value, np.generic):  # CuPy gives 0-d arrays where NumPy gives scalars
        return ndarray(np.asarray(value))
    if isinstance(value, tuple):
        return tuple(_wrap(v) for v in value)
    if isinstance(value, list):
        return [_wrap(v) for v in value]
    return value


class _Device:
    def __init__(self, id: int = 0):  # noqa: A002 (CuPy's name)
        self.id = id

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def synchronize(self) -> None:
        state.synchronized += 1


class ndarray(np.lib.mixins.NDArrayOperatorsMixin):  # noqa: N801 (CuPy's name)
    """A "device" array: NumPy memory behind CuPy's manners."""

    __slots__ = ("_a",)

    def __init__(self, a: np.ndarray):
        self._a = a

    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    strides = property(lambda self: self._a.strides)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    nbytes = property(lambda self: self._a.nbytes)
    itemsize = property(lambda self: self._a.itemsize)
    base = property(lambda self: self._a.base)
    T = property(lambda self: ndarray(self._a.T))
    device = property(lambda self: _Device(0))

    def __array__(self, *args, **kwargs):
        raise TypeError(IMPLICIT)

    def get(self) -> np.ndarray:
        state.to_host += 1
        return self._a.copy()

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        if "out" in kwargs:
            kwargs["out"] = tuple(_unwrap(o) for o in kwargs["out"])
        return _wrap(getattr(ufunc, method)(*_unwrap(inputs), **kwargs))

    def __array_function__(self, func, types, args, kwargs):
        return _wrap(func(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

    def __getitem__(self, index):
        return _wrap(self._a[_unwrap(index)])

    def __setitem__(self, index, value):
        self._a[_unwrap(index)] = _unwrap(value)

    def __getattr__(self, name):
        attribute = getattr(self._a, name)
        if not callable(attribute):
            return attribute

        def method(*args, **kwargs):
            return _wrap(attribute(*_unwrap(args), **{k: _unwrap(v) for k, v in kwargs.items()}))

        return method

    def __len__(self) -> int:
        return len(self._a)

    def __iter__(self):
        return (ndarray(np.asarray(row)) for row in self._a)

    # CuPy reads a scalar back to the host for these (a synchronizing copy).
    def __bool__(self):
        return bool(self._a)

    def __int__(self):
        return int(self._a)

    def __float__(self):
        return float(self._a)

    def __index__(self):
        return self._a.__index__()

    def item(self):
        return self._a.item()

    def __repr__(self) -> str:
        return f"fake_cupy.{self._a!r}"

    @property
    def __cuda_array_interface__(self) -> dict:
        a = self._a
        return {
            "shape": a.shape,
            "typestr": a.dtype.str,
            "descr": [("", a.dtype.str)],
            "data": (a.ctypes.data, False),
            "strides": None if a.flags.c_contiguous else a.strides,
            "version": 3,
        }

    def __dlpack_device__(self) -> tuple:
        return (2, 0)  # kDLCUDA, device 0

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self._a.__dlpack__()


class _HostDLPack:
    """Presents another exporter's DLPack capsule to NumPy as the host memory it is."""

    def __init__(self, exporter):
        self.exporter = exporter

    def __dlpack_device__(self) -> tuple:
        return (1, 0)

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self.exporter.__dlpack__()


def _from_interface(obj) -> np.ndarray:
    """The memory behind another object's __cuda_array_interface__, shared."""
    interface = obj.__cuda_array_interface__
    dtype = np.dtype(interface["typestr"])
    shape = tuple(interface["shape"])
    strides = interface.get("strides") or None
    pointer = interface["data"][0]
    span = dtype.itemsize
    if shape and all(shape):
        steps = strides or np.empty(shape, dtype).strides
        span += sum((n - 1) * abs(s) for n, s in zip(shape, steps))
    memory = (ctypes.c_char * max(span, 1)).from_address(pointer) if pointer else bytearray(1)
    return np.ndarray(shape, dtype, buffer=memory, strides=strides)


def asarray(value, dtype=None, order=None):
    if type(value) is ndarray:
        return value if dtype is None else ndarray(value._a.astype(dtype, copy=False))
    if hasattr(value, "__cuda_array_interface__"):
        shared = _from_interface(value)
        return ndarray(shared if dtype is None else shared.astype(dtype, copy=False))
    state.to_device += 1
    return ndarray(np.array(value, dtype=dtype))


def array(value, dtype=None, copy=True):
    out = asarray(value, dtype)
    return ndarray(out._a.copy()) if copy else out


def asnumpy(value) -> np.ndarray:
    return value.get() if type(value) is ndarray else np.asarray(value)


def from_dlpack(exporter) -> ndarray:
    return ndarray(np.from_dlpack(_HostDLPack(exporter)))


class _Module:
    def __init__(self, code: str):
        self.library, _ = compile_for_host(state.directory, code)

    def get_function(self, name: str):
        function = getattr(self.library, f"fg_launch_{name}")

        def launch(grid, block, args):
            state.launched.append(name)
            launch_on_host(function, grid, block, [a._a.ctypes.data for a in args])

        return launch


class _State:
    def __init__(self):
        # FAKE_CUPY_KERNELS keeps the compiled kernels between runs.
        kept = os.environ.get("FAKE_CUPY_KERNELS")
        self.directory = Path(kept or tempfile.mkdtemp(prefix="fake-cupy-"))
        self.directory.mkdir(parents=True, exist_ok=True)
        self.to_device = self.to_host = 0  # copies between host and "device"
        self.launched: list[str] = []
        self.synchronized = 0


state = _State()


def _module() -> types.ModuleType:
    cupy = types.ModuleType("cupy")
    cupy.__spec__ = None
    cupy.ndarray = ndarray
    cupy.asarray, cupy.array, cupy.asnumpy, cupy.from_dlpack = asarray, array, asnumpy, from_dlpack
    cupy.empty = lambda shape, dtype=float: ndarray(np.empty(shape, dtype))
    cupy.zeros = lambda shape, dtype=float: ndarray(np.zeros(shape, dtype))
    cupy.matmul = lambda a, b: ndarray(np.matmul(_unwrap(a), _unwrap(b)))
    cupy.stack = lambda arrays, axis=0: ndarray(np.stack(_unwrap(list(arrays)), axis))
    cupy.ascontiguousarray = lambda a, dtype=None: ndarray(np.ascontiguousarray(a._a, dtype))
    cupy.RawModule = lambda code: _Module(code)
    as_strided = lambda x, shape=None, strides=None: ndarray(  # noqa: E731
        np.lib.stride_tricks.as_strided(x._a, shape, strides)
    )
    cupy.lib = types.SimpleNamespace(stride_tricks=types.SimpleNamespace(as_strided=as_strided))

    class CUDARuntimeError(RuntimeError):
        pass

    runtime = types.SimpleNamespace(
        getDeviceCount=lambda: 1,
        getDeviceProperties=lambda i: {"name": b"Host stand-in GPU"},
        CUDARuntimeError=CUDARuntimeError,
    )
    cupy.cuda = types.SimpleNamespace(runtime=runtime, Device=_Device)
    cupy.state = state
    return cupy


def install(monkeypatch=None) -> types.ModuleType:
    """Make `import cupy` give the stand-in, and funcgrad find its one "GPU", for the
    rest of a test (monkeypatch undoes it), or for the whole process without one
    (conftest.py does that for FUNCGRAD_TEST_GPU_STANDIN=1: the suite with the stand-in
    GPU as the default device)."""
    import funcgrad.runtime.devices as devices

    cupy = _module()
    devices._gpus.cache_clear()
    if monkeypatch is None:
        sys.modules["cupy"] = cupy
        devices._gpus = _one_gpu
    else:
        monkeypatch.setitem(sys.modules, "cupy", cupy)
        monkeypatch.setattr(devices, "_gpus", _one_gpu)
    state.launched.clear()
    state.to_device = state.to_host = 0
    return cupy


def _one_gpu() -> tuple:
    from funcgrad.runtime.devices import Device

    return (Device(0, "gpu", "Host stand-in GPU"),)
