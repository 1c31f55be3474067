"""`Array`: funcgrad's immutable array, a read-only backend buffer plus its abstract value.

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
from funcgrad.runtime.devices import Device, cpu_device

__all__ = ["Array", "from_buffer", "setitem_error"]


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

    __slots__ = ("_value", "aval", "__weakref__")
    __array_priority__ = 1000

    def __init__(self, value, weak_type: bool = False):
        value = np.asarray(value)
        dtype = dtypes.canonicalize_dtype(value.dtype)
        value = np.array(value, dtype=dtype)  # a private copy: the caller may mutate theirs
        value.flags.writeable = False
        self._value = value
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
        """The devices holding this array: the CPU's (funcgrad Arrays live in host memory)."""
        return {cpu_device()}

    @property
    def device(self) -> Device:
        """The device holding this array (see `devices`)."""
        return cpu_device()

    def block_until_ready(self) -> "Array":
        """Wait for the computation producing this array (eager NumPy work is already done)."""
        return self

    def __dlpack__(self, *, stream=None, max_version=None, dl_device=None, copy=None):
        """The host buffer for DLPack consumers (torch.from_dlpack, np.from_dlpack, ...),
        marked read-only; a consumer of the protocol before 1.0, which has no read-only
        flag, gets a copy."""
        value = np.asarray(self)
        if max_version is None or tuple(max_version) < (1, 0):
            return np.array(value).__dlpack__(stream=stream)
        extra = {k: v for k, v in (("dl_device", dl_device), ("copy", copy)) if v is not None}
        return value.__dlpack__(stream=stream, max_version=max_version, **extra)

    def __dlpack_device__(self) -> tuple:
        return np.asarray(self).__dlpack_device__()

    def __array__(self, dtype=None, copy=None):
        if type(self._value) is _DeletedBuffer:
            self._value._fail()
        if copy:
            return np.array(self._value, dtype=dtype)
        if dtype is None:
            # jit's dispatch wraps fresh buffers without freezing them; only here can a
            # caller reach one, so this is where it becomes read-only.
            self._value.flags.writeable = False
            return self._value
        return self._value.astype(dtype)

    def item(self, *args):
        return self._value.item(*args)

    def tolist(self):
        return self._value.tolist()

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"The truth value of an array with {self.size} elements is ambiguous (a "
                f"{self.aval.str_short()} used as a condition at {user_location()}). Use "
                "a.any() or a.all(); for elementwise logic write (a > 0) & (a < 2) or "
                "jnp.logical_and/logical_or instead of Python's `and`/`or`."
            )
        return bool(self._value)

    def __int__(self) -> int:
        return int(self._value)

    def __index__(self) -> int:
        return self._value.__index__()

    def __float__(self) -> float:
        return float(self._value)

    def __complex__(self) -> complex:
        return complex(self._value)

    def __format__(self, spec: str) -> str:
        return format(self._value.item(), spec) if self.ndim == 0 else format(str(self), spec)

    def __setitem__(self, idx, value):
        raise setitem_error()

    __hash__ = None

    def __reduce__(self):
        return (from_numpy_weak, (self._value, self.aval.weak_type))

    def __str__(self) -> str:
        return str(self._value)

    def __repr__(self) -> str:
        prefix = "Array("
        dtype_name = self.dtype.name
        suffix = f", dtype={dtype_name}" + (", weak_type=True" if self.weak_type else "") + ")"
        if self.size == 0 and self.ndim > 1:
            body = f"[], shape={self.shape}"
        else:
            body = np.array2string(self._value, separator=", ", prefix=prefix, suffix=suffix)
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


def from_buffer(buffer, aval: ShapedArray) -> Array:
    """Wrap a buffer this process just produced (no copy), freezing it."""
    if type(buffer) is not np.ndarray or buffer.dtype != aval.dtype:
        buffer = np.asarray(buffer, dtype=aval.dtype)
    buffer.flags.writeable = False
    array = Array.__new__(Array)
    array._value = buffer
    array.aval = aval
    return array
