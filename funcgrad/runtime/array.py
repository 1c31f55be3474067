"""`Array`: funcgrad's immutable array, a read-only buffer plus its abstract value.

The buffer is a NumPy array in host memory, or a CuPy array on a GPU (see
runtime/devices.py for where arrays are placed and when they move).

Arithmetic, comparisons, indexing and the array methods are installed by
`funcgrad.numpy.array_methods` (the same ones tracers get), so every operation goes
through a primitive and therefore through whatever transform is running.
"""

from __future__ import annotations

import operator

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, register_aval_type
from funcgrad.core.source_info import user_location
from funcgrad.runtime import devices as _devices
from funcgrad.runtime.devices import Device, buffer_device, host_buffer, is_device_buffer

__all__ = ["Array", "from_buffer", "buffer_of", "setitem_error"]


def setitem_error() -> TypeError:
    """The error for `x[idx] = y` on an array or a tracer, pointing at the user's line."""
    return TypeError(
        f"funcgrad arrays are immutable: x[idx] = y is not allowed (at {user_location()}). "
        "Write the functional update x = x.at[idx].set(y) instead (also .add, .multiply, "
        ".min, .max)."
    )


class Array:
    """An immutable n-dimensional array.

    >>> import funcgrad.numpy as jnp
    >>> jnp.asarray([1.0, 2.0])
    Array([1., 2.], dtype=float32)
    """

    # _committed: placed on its device by device_put (or computed from such arrays).
    __slots__ = ("_value", "aval", "_committed", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, value, weak_type: bool = False):
        if is_device_buffer(value):
            cupy = _devices.gpu_module()
            dtype = dtypes.canonicalize_dtype(np.dtype(value.dtype))
            with cupy.cuda.Device(buffer_device(value).id):
                value = cupy.array(value, dtype=dtype)  # a private copy, on its GPU
        else:
            value = np.asarray(value)
            dtype = dtypes.canonicalize_dtype(value.dtype)
            value = np.array(value, dtype=dtype)  # a private copy: the caller may mutate theirs
            value.flags.writeable = False
        self._value = value
        self._committed = False
        self.aval = ShapedArray(value.shape, dtype, weak_type)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.aval.shape

    @property
    def dtype(self) -> np.dtype:
        return self.aval.dtype

    @property
    def ndim(self) -> int:
        return self.aval.ndim

    @property
    def size(self) -> int:
        return self.aval.size

    @property
    def weak_type(self) -> bool:
        return self.aval.weak_type

    def delete(self, reason: str = "Array.delete() was called") -> None:
        """Free this array's buffer; any later use raises an error saying why."""
        self._value = _DeletedBuffer(reason)

    def is_deleted(self) -> bool:
        return type(self._value) is _DeletedBuffer

    def devices(self) -> set[Device]:
        """The devices holding this array (one: the CPU, or the GPU holding its buffer)."""
        return {self.device}

    @property
    def device(self) -> Device:
        """The device holding this array."""
        return buffer_device(self._value)

    @property
    def committed(self) -> bool:
        """Whether device_put placed this array on its device (see runtime/devices.py)."""
        return self._committed

    def block_until_ready(self) -> "Array":
        """Wait for the computation producing this array: a GPU's work is asynchronous."""
        if is_device_buffer(self._value):
            _devices.gpu_module().cuda.Device(self.device.id).synchronize()
        return self

    @property
    def __cuda_array_interface__(self) -> dict:
        """The GPU buffer, shared without a copy, for CuPy, PyTorch, Numba and the like (an
        AttributeError for an array in host memory, as for a NumPy array). A consumer
        that writes into it changes this array: don't."""
        if not is_device_buffer(self._value):
            raise AttributeError(
                "__cuda_array_interface__: this Array is in host memory; it has one only on "
                "a GPU (funcgrad.device_put(x, funcgrad.devices('gpu')[0]))."
            )
        return self._value.__cuda_array_interface__

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """The buffer for DLPack consumers (torch.from_dlpack, np.from_dlpack, cupy's, ...).
        A GPU buffer is shared without a copy; a host buffer is marked read-only, and a
        consumer of the protocol before 1.0, which has no read-only flag, gets a copy."""
        extra = {k: v for k, v in (("dl_device", dl_device), ("copy", copy)) if v is not None}
        if max_version is not None:
            extra["max_version"] = max_version
        if is_device_buffer(self._value):
            try:
                return self._value.__dlpack__(stream=stream, **extra)
            except TypeError:  # a CuPy older than DLPack 1.0 takes only `stream`
                return self._value.__dlpack__(stream=stream)
        value = np.asarray(self)
        if max_version is None or tuple(max_version) < (1, 0):
            return np.array(value).__dlpack__(stream=stream)
        return value.__dlpack__(stream=stream, **extra)

    def __dlpack_device__(self) -> tuple:
        if is_device_buffer(self._value):
            return self._value.__dlpack_device__()
        return np.asarray(self).__dlpack_device__()

    def _host(self) -> np.ndarray:
        """The values in host memory (copied from a GPU)."""
        return host_buffer(self._value)

    def __array__(self, dtype=None, copy=None):
        if type(self._value) is _DeletedBuffer:
            self._value._fail()
        if type(self._value) is not np.ndarray:  # a GPU buffer: copied to the host
            if copy is False:
                raise ValueError(
                    f"np.asarray(x, copy=False) at {user_location()}: x is on {self.device}, "
                    "so reading it on the host copies it. Drop copy=False, or use "
                    "funcgrad.device_get(x)."
                )
            host = host_buffer(self._value)
            return host if dtype is None else host.astype(dtype, copy=False)
        if copy:
            return np.array(self._value, dtype=dtype)
        if dtype is None:
            # jit's dispatch wraps fresh buffers without freezing them; only here can a
            # caller reach one, so this is where it becomes read-only.
            self._value.flags.writeable = False
            return self._value
        return self._value.astype(dtype)

    def item(self, *args):
        return self._host().item(*args)

    def tolist(self):
        return self._host().tolist()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"The truth value of an array with {self.size} elements is ambiguous (a "
                f"{self.aval.str_short()} used as a condition at {user_location()}). Use "
                "a.any() or a.all(); for elementwise logic write (a > 0) & (a < 2) or "
                "jnp.logical_and/logical_or instead of Python's `and`/`or`."
            )
        return bool(self._host())

    def __int__(self) -> int:
        return int(self._host())

    def __index__(self) -> int:
        return self._host().__index__()

    def __float__(self) -> float:
        return float(self._host())

    def __complex__(self) -> complex:
        return complex(self._host())

    def __format__(self, spec: str) -> str:
        return format(self._host().item(), spec) if self.ndim == 0 else format(str(self), spec)

    def __setitem__(self, idx, value):
        raise setitem_error()

    __hash__ = None

    def __reduce__(self):
        return (from_numpy_weak, (self._host(), self.aval.weak_type))

    def __str__(self) -> str:
        return str(self._host())

    def __repr__(self) -> str:
        prefix = "Array("
        dtype_name = self.dtype.name
        suffix = f", dtype={dtype_name}" + (", weak_type=True" if self.weak_type else "") + ")"
        if self.size == 0 and self.ndim > 1:
            body = f"[], shape={self.shape}"
        else:
            body = np.array2string(self._host(), separator=", ", prefix=prefix, suffix=suffix)
        return prefix + body + suffix


register_aval_type(Array, operator.attrgetter("aval"))


class _DeletedBuffer:
    """Stands in for a deleted array's buffer: every use raises, saying why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def _fail(self, *args, **kwargs):
        from funcgrad.core.source_info import user_location

        raise RuntimeError(
            f"this Array has been deleted: {self.reason}; it is used again at "
            f"{user_location()}. A donated argument's buffer is reused for the outputs: use "
            "the jitted function's outputs instead, pass a copy, or drop donate_argnums."
        )

    def __getattr__(self, name):
        self._fail()

    __array__ = __array_function__ = __array_ufunc__ = __len__ = __iter__ = _fail
    __bool__ = __float__ = __int__ = __index__ = __getitem__ = __str__ = __repr__ = _fail


def from_numpy_weak(value: np.ndarray, weak_type: bool) -> Array:
    return Array(value, weak_type)


def from_buffer(buffer, aval: ShapedArray, committed: bool = False) -> Array:
    """Wrap a buffer this process just produced (no copy), freezing it when it is the
    host's (CuPy arrays have no read-only flag)."""
    if type(buffer) is not np.ndarray or buffer.dtype != aval.dtype:
        if is_device_buffer(buffer):
            if buffer.dtype != aval.dtype:
                buffer = buffer.astype(aval.dtype)
            return _wrap(buffer, aval, committed)
        buffer = np.asarray(buffer, dtype=aval.dtype)
    buffer.flags.writeable = False
    return _wrap(buffer, aval, committed)


def _wrap(buffer, aval: ShapedArray, committed: bool) -> Array:
    array = Array.__new__(Array)
    array._value = buffer
    array._committed = committed
    array.aval = aval
    return array


def buffer_of(x):
    """The buffer behind an eagerly computed value: an Array's own, wherever it lives (so
    impls that evaluate jaxprs keep GPU results on the GPU), else `np.asarray(x)`."""
    return x._value if type(x) is Array else np.asarray(x)
