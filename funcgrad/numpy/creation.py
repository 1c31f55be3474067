"""Making arrays: from Python or NumPy data (asarray, array), filled (zeros, full, the
`*_like` family), ranges (arange, linspace, logspace, geomspace) and index patterns (eye,
tri, meshgrid, indices).

Everything whose size is fixed by its arguments is built from `iota`, comparisons and
broadcast_in_dim, so it traces to a few equations instead of a large constant, and
bounds such as `linspace`'s start and stop may be traced values. Sizes must be static:
a traced length raises a ConcretizationTypeError that says which argument to make static.
"""

from __future__ import annotations

import builtins
import math
import operator

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.errors import ConcretizationTypeError, TracerArrayConversionError
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax.operands import scalar_array
from funcgrad.numpy.promotion import broadcast_shapes, broadcast_to_shape, default_float
from funcgrad.runtime import devices
from funcgrad.runtime.array import Array, from_buffer
from funcgrad.runtime.devices import default_device, is_device_buffer, move_buffer

__all__ = [
    "asarray",
    "array",
    "copy",
    "from_dlpack",
    "zeros",
    "ones",
    "full",
    "empty",
    "zeros_like",
    "ones_like",
    "full_like",
    "empty_like",
    "arange",
    "linspace",
    "logspace",
    "geomspace",
    "eye",
    "identity",
    "tri",
    "meshgrid",
    "indices",
]


# ---------------------------------------------------------------------------------------
# Static arguments


def static_int(name: str, what: str, value) -> int:
    """`value` as a Python int; a ConcretizationTypeError for a traced one, TypeError for a
    non-integer. Sizes, counts and axes must be known while tracing."""
    if isinstance(value, Tracer):
        raise ConcretizationTypeError(
            f"{name}: {what} must be a concrete integer, but got a traced array "
            f"{value.aval.str_short()} (at {user_location()}). The shape of the result depends "
            f"on it, and shapes must be known while tracing: pass {what} as a Python int or "
            "mark the argument static (static_argnums)."
        )
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(
            f"{name}: {what} must be an integer, got {type(value).__name__} {value!r} "
            f"(at {user_location()})."
        ) from None


def canonical_shape(name: str, shape) -> tuple[int, ...]:
    """A shape (an int or a sequence of ints) as a tuple of non-negative Python ints."""
    if isinstance(shape, (int, np.integer)) or (isinstance(shape, Tracer) and not shape.shape):
        shape = (shape,)
    try:
        shape = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{name}: shape must be an int or a sequence of ints, got {shape!r} "
            f"(at {user_location()})."
        ) from None
    sizes = tuple(static_int(name, "every size in shape", n) for n in shape)
    if any(n < 0 for n in sizes):
        raise ValueError(
            f"{name}: negative dimensions are not allowed, got shape {sizes} "
            f"(at {user_location()})."
        )
    return sizes


def canonical_dtype(name: str, dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, f"{name}: "))


def cast(x, dtype: np.dtype, weak_type: bool = False):
    """x at `dtype` with the given weak type (no equation when it already is)."""
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type and not is_python_scalar(x):
        return x
    if is_python_scalar(x):
        return scalar_array(x, dtype, weak_type)
    return ew.convert_element_type_p.bind(x, new_dtype=dtype, weak_type=weak_type)


def filled(shape: tuple[int, ...], value, dtype: np.dtype):
    """The Python scalar `value` broadcast to `shape` at `dtype` (strongly typed)."""
    return lax_shapes.broadcast_in_dim(scalar_array(value, dtype, False), shape, ())


# ---------------------------------------------------------------------------------------
# From data


def _leaves(data, out: list) -> list:
    if isinstance(data, (list, tuple)):
        for item in data:
            _leaves(item, out)
    else:
        out.append(data)
    return out


def _leaf_aval(name: str, leaf) -> ShapedArray:
    try:
        return get_aval(leaf)
    except TypeError:
        raise TypeError(
            f"{name}: cannot make an array from {type(leaf).__name__} {str(leaf)[:40]!r} (at "
            f"{user_location()}); pass numbers, arrays, or nested lists of them."
        ) from None


def _nested_dtype(name: str, leaves: list) -> np.dtype:
    """The dtype of a nested list: the promotion of its leaves (Python scalars weakly typed),
    as in JAX, so [int8_array, 3] is int8 and [1, 2.5] is float32."""
    if not leaves:
        return default_float()
    if builtins.all(type(leaf) is float for leaf in leaves):  # the common case, fast
        return default_float()
    pairs = {(a.dtype, a.weak_type) for a in (_leaf_aval(name, leaf) for leaf in leaves)}
    return dtypes.result_type(*pairs)[0]


def _stack_nested(name: str, data, dtype: np.dtype):
    """A nested list holding funcgrad arrays or tracers, stacked level by level."""
    if not isinstance(data, (list, tuple)):
        return cast(asarray(data), dtype)
    parts = [_stack_nested(name, item, dtype) for item in data]
    shapes = [get_aval(p).shape for p in parts]
    if builtins.any(s != shapes[0] for s in shapes):
        raise ValueError(
            f"{name}: the elements of a nested list must all have one shape, got shapes "
            f"{', '.join(map(str, shapes))} (at {user_location()}); an array cannot be ragged."
        )
    if not parts:
        return from_buffer(np.zeros((0,), dtype), ShapedArray((0,), dtype))
    rows = [lax_shapes.expand_dims(p, (0,)) for p in parts]
    return rows[0] if len(rows) == 1 else lax_shapes.concatenate(rows, 0)


def _from_host(data, name: str, dtype: np.dtype | None):
    if isinstance(data, (list, tuple)):
        leaves = _leaves(data, [])
        if dtype is None:
            dtype = _nested_dtype(name, leaves)
        if builtins.any(isinstance(leaf, (Array, Tracer)) for leaf in leaves):
            return _stack_nested(name, data, dtype)
    try:
        host = np.asarray(data) if dtype is None else np.asarray(data, dtype=dtype)
    except ValueError as err:
        raise ValueError(
            f"{name}: cannot make an array from {type(data).__name__} {str(data)[:40]!r} "
            f"(at {user_location()}): {err}. Nested lists must be rectangular."
        ) from None
    if host.dtype == object:
        raise TypeError(
            f"{name}: cannot make an array from {type(data).__name__} {str(data)[:40]!r} (at "
            f"{user_location()}); pass numbers, nested lists of numbers or arrays."
        )
    out_dtype = canonical_dtype(name, host.dtype)
    return from_buffer(np.array(host, dtype=out_dtype), ShapedArray(host.shape, out_dtype))


def _asarray(a, dtype, name: str):
    if dtype is not None:
        dtype = canonical_dtype(name, dtype)
    if isinstance(a, (Array, Tracer)):
        out = a
    elif is_device_buffer(a):  # a CuPy array (or another GPU exporter): copied on its GPU
        out = Array(a)
    else:
        if is_python_scalar(a):
            weak = dtype is None and type(a) is not bool
            out = scalar_array(a, dtype or dtypes.scalar_dtype(a), weak)
        else:
            out = _from_host(a, name, dtype)
        if devices._gpus():  # new arrays live on the default device
            out = from_buffer(move_buffer(out._value, default_device()), out.aval)
    if dtype is not None and dtype != get_aval(out).dtype:
        out = cast(out, dtype)
    return out


@api_boundary
def asarray(a, dtype=None, order=None, *, copy=None):
    """`a` as a funcgrad array (no copy if it already is one). Python scalars stay weakly typed.

    Nested lists may hold funcgrad arrays and traced values; they are stacked, promoting
    their dtypes as JAX does.

    >>> asarray([1.0, 2.0])
    Array([1., 2.], dtype=float32)
    """
    return _asarray(a, dtype, "asarray")


@api_boundary
def from_dlpack(x, /, *, device=None, copy=None):
    """An array of the data of any DLPack exporter: a NumPy array or PyTorch CPU tensor
    (copied: funcgrad's host buffers are read-only and the exporter's may not be), or a
    GPU array — CuPy's, a PyTorch CUDA tensor — whose memory the result shares, as in JAX
    (`copy=True` copies it; writing into the exporter afterwards changes the result).
    `device` moves the result there.

    >>> from_dlpack(np.arange(3.0, dtype=np.float32))
    Array([0., 1., 2.], dtype=float32)
    """
    if isinstance(x, Tracer):
        raise TracerArrayConversionError(
            f"from_dlpack: got a traced {x.aval.str_short()} (at {user_location()}); DLPack "
            "reads a buffer that exists, so call from_dlpack outside jit and pass its result "
            "in (a funcgrad array needs no conversion)."
        )
    if not hasattr(x, "__dlpack__"):
        raise TypeError(
            f"from_dlpack: {type(x).__name__} has no __dlpack__ method (at {user_location()})."
            " Pass an object that exports DLPack: a NumPy array, a PyTorch tensor, ..."
        )
    if device is not None and not isinstance(device, devices.Device):
        raise TypeError(
            f"from_dlpack: device={device!r} is not a Device (at {user_location()}); pass one "
            "of funcgrad.devices(), or leave device unset."
        )
    kind = x.__dlpack_device__()[0] if hasattr(x, "__dlpack_device__") else 1
    if kind in _DLPACK_GPU_KINDS:
        buffer = devices.gpu_module().from_dlpack(x)
        out_dtype = canonical_dtype("from_dlpack", np.dtype(buffer.dtype))
        if copy or out_dtype != buffer.dtype:
            buffer = buffer.astype(out_dtype, copy=True)
        out = from_buffer(buffer, ShapedArray(buffer.shape, out_dtype))
    else:
        if copy is False:
            raise ValueError(
                f"from_dlpack: copy=False cannot be honoured for host memory (at "
                f"{user_location()}): funcgrad's host buffers are read-only, so the data is "
                "copied. Leave copy unset."
            )
        try:
            host = np.from_dlpack(x)
        except (BufferError, RuntimeError, TypeError) as error:
            raise ValueError(
                f"from_dlpack: cannot read a {type(x).__name__} through DLPack ({error}) (at "
                f"{user_location()}). Move the data to host memory or to a CUDA GPU first."
            ) from error
        out = asarray(host)
    return out if device is None else devices.device_put(out, device)


# DLPack's device types whose memory is a CUDA GPU's: kDLCUDA, kDLCUDAHost, kDLCUDAManaged.
_DLPACK_GPU_KINDS = (2, 3, 13)


@api_boundary
def array(object, dtype=None, copy: bool = True, order=None, ndmin: int = 0):
    """Like `asarray`, with `ndmin` leading size-1 axes as needed; funcgrad arrays are
    immutable, so a copy is never observable.

    >>> array(3.0, ndmin=2).shape
    (1, 1)
    """
    out = _asarray(object, dtype, "array")
    ndmin = static_int("array", "ndmin", ndmin)
    aval = get_aval(out)
    if aval.ndim < ndmin:
        out = lax_shapes.reshape(out, (1,) * (ndmin - aval.ndim) + aval.shape)
    return out


@api_boundary
def copy(a, order=None):
    """A copy of `a` (a new Array object over the same immutable values).

    >>> copy([1, 2])
    Array([1, 2], dtype=int32)
    """
    out = asarray(a)
    if type(out) is Array and out is a:
        return from_buffer(out._value, out.aval)
    return out


# ---------------------------------------------------------------------------------------
# Filled arrays


def _filled(name: str, shape, value, dtype):
    shape = canonical_shape(name, shape)
    if dtype is not None:
        dtype = canonical_dtype(name, dtype)
    if is_python_scalar(value):
        weak = dtype is None and type(value) is not bool
        fill = scalar_array(value, dtype or dtypes.scalar_dtype(value), weak)
    else:
        fill = asarray(value, dtype)
    fill_shape = get_aval(fill).shape
    if broadcast_shapes(name, fill_shape, shape) != shape:
        raise ValueError(
            f"{name}: fill_value of shape {fill_shape} cannot be broadcast to shape {shape} "
            f"(at {user_location()})."
        )
    return broadcast_to_shape(fill, shape)


@api_boundary
def zeros(shape, dtype=None):
    """An array of zeros (float32 unless `dtype` says otherwise).

    >>> zeros((2,), jnp.int32)                     # doctest: +SKIP
    Array([0, 0], dtype=int32)
    """
    return _filled("zeros", shape, 0.0, default_float() if dtype is None else dtype)


@api_boundary
def ones(shape, dtype=None):
    """An array of ones (float32 unless `dtype` says otherwise)."""
    return _filled("ones", shape, 1.0, default_float() if dtype is None else dtype)


@api_boundary
def empty(shape, dtype=None):
    """As in JAX, an array of zeros: funcgrad never hands out uninitialized memory."""
    return _filled("empty", shape, 0.0, default_float() if dtype is None else dtype)


@api_boundary
def full(shape, fill_value, dtype=None):
    """An array of `shape` filled with `fill_value` (weakly typed for a Python scalar).

    >>> full((2,), 7)                              # doctest: +SKIP
    Array([7, 7], dtype=int32, weak_type=True)
    """
    return _filled("full", shape, fill_value, dtype)


def _like(name: str, a, fill_value, dtype, shape):
    aval = get_aval(a) if isinstance(a, (Array, Tracer)) or is_python_scalar(a) else None
    if aval is None:
        aval = get_aval(asarray(a))
    out_shape = aval.shape if shape is None else canonical_shape(name, shape)
    out_dtype = aval.dtype if dtype is None else canonical_dtype(name, dtype)
    weak = dtype is None and aval.weak_type
    fill = asarray(fill_value)
    fill_shape = get_aval(fill).shape
    if broadcast_shapes(name, fill_shape, out_shape) != out_shape:
        raise ValueError(
            f"{name}: fill_value of shape {fill_shape} cannot be broadcast to shape {out_shape} "
            f"(at {user_location()})."
        )
    return broadcast_to_shape(cast(fill, out_dtype, weak), out_shape)


@api_boundary
def zeros_like(a, dtype=None, shape=None):
    """Zeros with the dtype (and weak type) and shape of `a`, unless overridden.

    >>> zeros_like(jnp.ones(2, jnp.int8))          # doctest: +SKIP
    Array([0, 0], dtype=int8)
    """
    return _like("zeros_like", a, 0, dtype, shape)


@api_boundary
def ones_like(a, dtype=None, shape=None):
    """Ones with the dtype and shape of `a`, unless overridden."""
    return _like("ones_like", a, 1, dtype, shape)


@api_boundary
def empty_like(prototype, dtype=None, shape=None):
    """As in JAX, `zeros_like`."""
    return _like("empty_like", prototype, 0, dtype, shape)


@api_boundary
def full_like(a, fill_value, dtype=None, shape=None):
    """`fill_value` (converted to `a`'s dtype) in the shape of `a`, unless overridden.

    >>> full_like(jnp.ones(2, jnp.int32), 2.7)     # doctest: +SKIP
    Array([2, 2], dtype=int32)
    """
    return _like("full_like", a, fill_value, dtype, shape)


# ---------------------------------------------------------------------------------------
# Ranges


def _static_bound(what: str, value):
    if isinstance(value, Tracer):
        raise ConcretizationTypeError(
            f"arange: {what} is a traced array {value.aval.str_short()} (at {user_location()}); "
            "the length of arange's result depends on its bounds, and shapes must be known "
            "while tracing. Pass start/stop/step as Python numbers or static arguments "
            "(static_argnums), or build the range from a fixed length: "
            "start + jnp.arange(n) * step."
        )
    if isinstance(value, Array):
        if value.ndim:
            raise ValueError(f"arange: {what} must be a scalar, got shape {value.shape}.")
        return value._value.item(), value.aval
    if isinstance(value, (np.ndarray, np.generic)):
        return np.asarray(value).item(), get_aval(value)
    if not is_python_scalar(value) or isinstance(value, complex):
        raise TypeError(
            f"arange: {what} must be a real number, got {type(value).__name__} {value!r} "
            f"(at {user_location()})."
        )
    return value, get_aval(value)


@api_boundary
def arange(start, stop=None, step=None, dtype=None):
    """Evenly spaced values in [start, stop) (int32 for integer bounds, float32 otherwise).

    The bounds must be concrete: the result's length depends on them.

    >>> arange(3)                                  # doctest: +SKIP
    Array([0, 1, 2], dtype=int32)
    """
    bounds = {"start": start, "stop": stop, "step": step}
    given = {k: _static_bound(k, v) for k, v in bounds.items() if v is not None}
    if dtype is None:
        dtype = dtypes.result_type(*{(aval.dtype, aval.weak_type) for _, aval in given.values()})
        dtype = dtype[0]
    dtype = canonical_dtype("arange", dtype)
    first, last = (0, given["start"][0]) if stop is None else (given["start"][0], given["stop"][0])
    delta = given["step"][0] if step is not None else 1
    if delta == 0:
        raise ZeroDivisionError(f"arange: step must not be zero (at {user_location()}).")
    integral = builtins.all(isinstance(v, (int, np.integer)) for v in (first, last, delta))
    if integral and dtypes.dtype_kind(dtype) in "iuf":
        # iota * step + start: exact, and a three-equation program instead of a constant.
        out = lax_shapes.iota(dtype, builtins.max(0, -((first - last) // delta)))
        if delta != 1:
            out = ew.mul(out, cast(delta, dtype))
        if first != 0:
            out = ew.add(out, cast(first, dtype))
        return out
    # Fractional bounds: NumPy's own arange at the result dtype (bfloat16 via float32).
    host_dtype = np.float32 if dtype == dtypes.bfloat16 else dtype
    host = np.arange(first, last, delta, dtype=host_dtype).astype(dtype)
    return from_buffer(host, ShapedArray(host.shape, dtype))


def _inexact(dtype: np.dtype) -> np.dtype:
    return dtype if dtypes.is_inexact(dtype) else default_float()


def _floor(x):
    """floor(x) of a float array as integers-valued floats: truncate, then step down where
    truncation went up (negative non-integers)."""
    dtype = get_aval(x).dtype
    int_type = dtypes.canonicalize_dtype(np.int64)
    truncated = cast(cast(x, int_type), dtype)
    return ew.select(ew.gt(truncated, x), ew.sub(truncated, cast(1, dtype)), truncated)


def _bounds(name: str, start, stop, dtype):
    start, stop = asarray(start), asarray(stop)
    if dtype is None:
        pairs = [(get_aval(v).dtype, get_aval(v).weak_type) for v in (start, stop)]
        dtype = _inexact(dtypes.result_type(*pairs)[0])
    dtype = canonical_dtype(name, dtype)
    compute = _inexact(dtype)
    shape = broadcast_shapes(name, get_aval(start).shape, get_aval(stop).shape)
    start = broadcast_to_shape(cast(start, compute), shape)
    stop = broadcast_to_shape(cast(stop, compute), shape)
    return start, stop, dtype, compute, shape


def _along(x, axis: int, num: int, ndim: int):
    """x (of the bounds' shape) broadcast along a new axis of length `num` at `axis`."""
    shape = list(get_aval(x).shape)
    kept = [d for d in range(ndim + 1) if d != axis]
    shape.insert(axis, num)
    return lax_shapes.broadcast_in_dim(x, shape, kept)


def _normalize_axis(name: str, axis, ndim: int) -> int:
    axis = static_int(name, "axis", axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim} "
            f"(at {user_location()})."
        )
    return axis % ndim


@api_boundary
def linspace(start, stop, num: int = 50, endpoint: bool = True, retstep: bool = False,
             dtype=None, axis: int = 0):  # fmt: skip
    """`num` evenly spaced values from start to stop (inclusive when `endpoint`).

    start and stop may be arrays (broadcast together; the samples run along `axis`) and
    may be traced; `num` must be static. With an integer dtype the values are floored.

    >>> linspace(0.0, 1.0, 5)                      # doctest: +SKIP
    Array([0.  , 0.25, 0.5 , 0.75, 1.  ], dtype=float32)
    """
    num = static_int("linspace", "num", num)
    if num < 0:
        raise ValueError(
            f"linspace: number of samples, {num}, must be non-negative (at {user_location()})."
        )
    start, stop, dtype, compute, shape = _bounds("linspace", start, stop, dtype)
    ndim = len(shape)
    axis = _normalize_axis("linspace", axis, ndim + 1)
    intervals = num - 1 if endpoint else num
    out = _along(start, axis, num, ndim)
    if intervals > 0:
        step = ew.div(ew.sub(stop, start), cast(intervals, compute))
        counts = lax_shapes.broadcasted_iota(compute, get_aval(out).shape, axis)
        out = ew.add(out, ew.mul(counts, _along(step, axis, num, ndim)))
        if endpoint:
            # The last sample is exactly `stop`, whatever the rounding of start + i * step.
            is_last = ew.eq(counts, cast(num - 1, compute))
            out = ew.select(is_last, _along(stop, axis, num, ndim), out)
    else:
        step = broadcast_to_shape(cast(math.nan, compute), shape)  # NumPy's step then is NaN
    if dtypes.is_integer(dtype):
        out = _floor(out)
    out = cast(out, dtype)
    return (out, step) if retstep else out


@api_boundary
def logspace(start, stop, num: int = 50, endpoint: bool = True, base=10.0, dtype=None,
             axis: int = 0):  # fmt: skip
    """`base ** linspace(start, stop, num)`.

    >>> logspace(0.0, 2.0, 3)                      # doctest: +SKIP
    Array([  1.,  10., 100.], dtype=float32)
    """
    exponents = linspace(start, stop, num, endpoint, dtype=None, axis=axis)
    compute = get_aval(exponents).dtype
    if dtype is not None:
        compute = _inexact(canonical_dtype("logspace", dtype))
    exponents = cast(exponents, compute)
    base = cast(asarray(base), compute)
    base_shape = get_aval(base).shape
    if base_shape:
        base = broadcast_to_shape(
            lax_shapes.expand_dims(base, (axis % (len(base_shape) + 1),)), get_aval(exponents).shape
        )
    out = ew.pow(base, exponents)
    return out if dtype is None else cast(out, canonical_dtype("logspace", dtype))


def _abs(x):
    return ew.select(ew.lt(x, cast(0, get_aval(x).dtype)), ew.neg(x), x)


@api_boundary
def geomspace(start, stop, num: int = 50, endpoint: bool = True, dtype=None, axis: int = 0):
    """`num` values from start to stop spaced evenly on a log scale (a geometric progression).

    start and stop must be non-zero and of one sign (negative bounds give negative values).

    >>> geomspace(1.0, 1000.0, 4)                  # doctest: +SKIP
    Array([   1.,   10.,  100., 1000.], dtype=float32)
    """
    num = static_int("geomspace", "num", num)
    start, stop, out_dtype, compute, shape = _bounds("geomspace", start, stop, dtype)
    for name, bound in (("start", start), ("stop", stop)):
        if isinstance(bound, Array) and np.any(np.asarray(bound) == 0):
            raise ValueError(
                f"geomspace: {name} must be non-zero, got {np.asarray(bound)} "
                f"(at {user_location()}); a geometric sequence cannot start or stop at 0."
            )
    negative = ew.lt(start, cast(0, compute))
    sign = ew.select(negative, filled(shape, -1, compute), filled(shape, 1, compute))
    log_start, log_stop = ew.log(_abs(start)), ew.log(_abs(stop))
    exponents = linspace(log_start, log_stop, num, endpoint, axis=axis)
    out = ew.exp(exponents)
    ndim = len(shape)
    axis = _normalize_axis("geomspace", axis, ndim + 1)
    counts = lax_shapes.broadcasted_iota(np.int32, get_aval(out).shape, axis)
    # The end points are exactly start and stop, as NumPy makes them.
    first = ew.eq(counts, cast(0, np.dtype(np.int32)))
    out = ew.select(first, _along(_abs(start), axis, num, ndim), out)
    if endpoint and num > 1:
        last = ew.eq(counts, cast(num - 1, np.dtype(np.int32)))
        out = ew.select(last, _along(_abs(stop), axis, num, ndim), out)
    out = ew.mul(out, _along(sign, axis, num, ndim))
    if dtypes.is_integer(out_dtype):
        out = _floor(out)
    return cast(out, out_dtype)


# ---------------------------------------------------------------------------------------
# Index patterns


def band_mask(name: str, rows: int, cols: int, k, compare):
    """bool[rows, cols]: compare(column - row, k), e.g. ew.eq for a diagonal, ew.le for a
    lower triangle. `k` may be traced."""
    int_type = np.dtype(np.int32)
    row = lax_shapes.broadcasted_iota(int_type, (rows, cols), 0)
    col = lax_shapes.broadcasted_iota(int_type, (rows, cols), 1)
    if isinstance(k, (Tracer, Array)):
        if get_aval(k).shape:
            raise ValueError(
                f"{name}: the diagonal offset k must be a scalar (at {user_location()})."
            )
        k = cast(k, int_type)
    else:
        k = cast(static_int(name, "k", k), int_type)
    return compare(ew.sub(col, row), k)


def _matrix_size(name: str, n, m):
    n = static_int(name, "N", n)
    m = n if m is None else static_int(name, "M", m)
    if n < 0 or m < 0:
        raise ValueError(
            f"{name}: negative dimensions are not allowed, got N={n}, M={m} (at {user_location()})."
        )
    return n, m


@api_boundary
def eye(N, M=None, k=0, dtype=None):
    """An N x M array with ones on diagonal `k` (0 main, > 0 above, < 0 below).

    >>> eye(2, dtype=jnp.int32)                    # doctest: +SKIP
    Array([[1, 0],
           [0, 1]], dtype=int32)
    """
    n, m = _matrix_size("eye", N, M)
    dtype = canonical_dtype("eye", default_float() if dtype is None else dtype)
    return cast(band_mask("eye", n, m, k, ew.eq), dtype)


@api_boundary
def identity(n, dtype=None):
    """The n x n identity matrix."""
    return eye(n, dtype=dtype)


@api_boundary
def tri(N, M=None, k=0, dtype=None):
    """An N x M array with ones at and below diagonal `k`, zeros above.

    >>> tri(2, 3)                                  # doctest: +SKIP
    Array([[1., 0., 0.],
           [1., 1., 0.]], dtype=float32)
    """
    n, m = _matrix_size("tri", N, M)
    dtype = canonical_dtype("tri", default_float() if dtype is None else dtype)
    return cast(band_mask("tri", n, m, k, ew.le), dtype)


@api_boundary
def meshgrid(*xi, copy: bool = True, sparse: bool = False, indexing: str = "xy"):
    """Coordinate arrays from 1-d coordinate vectors ('xy': Cartesian, 'ij': matrix order).

    >>> [g.shape for g in meshgrid(jnp.zeros(2), jnp.zeros(3))]
    [(3, 2), (3, 2)]
    """
    if indexing not in ("xy", "ij"):
        raise ValueError(
            f"meshgrid: indexing must be 'xy' or 'ij', got {indexing!r} (at {user_location()})."
        )
    arrays = [asarray(x) for x in xi]
    shapes = [get_aval(x).shape for x in arrays]
    if builtins.any(len(s) != 1 for s in shapes):
        raise ValueError(
            f"meshgrid: arguments must be 1-d, got shapes {', '.join(map(str, shapes))} "
            f"(at {user_location()}); ravel them first."
        )
    sizes = [s[0] for s in shapes]
    axes = list(range(len(arrays)))
    if indexing == "xy" and len(arrays) >= 2:
        axes[0], axes[1] = 1, 0
    full = [1] * len(arrays)
    for size, axis in zip(sizes, axes):
        full[axis] = size
    out = []
    for x, size, axis in zip(arrays, sizes, axes):
        shape = [1] * len(arrays) if sparse else list(full)
        shape[axis] = size
        out.append(lax_shapes.broadcast_in_dim(x, shape, (axis,)))
    return out


@api_boundary
def indices(dimensions, dtype=None, sparse: bool = False):
    """The index of every position of a grid of shape `dimensions`: out[i][p] = p[i].

    >>> indices((2, 3)).shape
    (2, 2, 3)
    """
    shape = canonical_shape("indices", dimensions)
    dtype = canonical_dtype("indices", np.int64 if dtype is None else dtype)
    grids = []
    for axis, size in enumerate(shape):
        grid_shape = [1] * len(shape) if sparse else list(shape)
        grid_shape[axis] = size
        grids.append(lax_shapes.broadcasted_iota(dtype, grid_shape, axis))
    if sparse:
        return tuple(grids)
    if not grids:
        return from_buffer(np.zeros((0,), dtype), ShapedArray((0,), dtype))
    return lax_shapes.concatenate([lax_shapes.expand_dims(g, (0,)) for g in grids], 0)


ARRAY_METHODS = {"astype": lambda self, dtype: asarray(self, dtype)}
