"""Reductions, statistics and cumulative ops with NumPy's signatures and JAX's dtypes.

Every function takes `axis` as None (all axes), an int or a tuple (negative numbers count
from the end) and, where NumPy has them, `keepdims`, `dtype`, `where=` (a mask of the
elements that take part) and `initial=`. Result dtypes follow JAX: sums and products of
bools and small integers use the default integer (uint8 gives uint32), means, variances
and quantiles of integers are float32, and float16/bfloat16 statistics accumulate in
float32. The nan* variants are the same reductions with NaN masked out.

All of it is a few lax primitives: reduce_* (sum, prod, max, min, and, or), argmax/argmin,
the cumulative scans, sort (median and quantile) and elementwise selects.
"""

from __future__ import annotations

import builtins

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval, is_python_scalar
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions as red
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax import sorting as lax_sorting
from funcgrad.lax.operands import scalar_array
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.indexing import take_along_axis
from funcgrad.numpy.promotion import (
    broadcast_to_shape,
    default_float,
    promote_dtypes,
)

__all__ = [
    "sum",
    "prod",
    "max",
    "min",
    "amax",
    "amin",
    "mean",
    "average",
    "var",
    "std",
    "any",
    "all",
    "argmax",
    "argmin",
    "count_nonzero",
    "ptp",
    "median",
    "quantile",
    "percentile",
    "nanmedian",
    "nanquantile",
    "nanpercentile",
    "cumsum",
    "cumprod",
    "cumulative_sum",
    "cumulative_prod",
    "nancumsum",
    "nancumprod",
    "nansum",
    "nanprod",
    "nanmax",
    "nanmin",
    "nanmean",
    "nanvar",
    "nanstd",
    "nanargmax",
    "nanargmin",
]

_BOOL = np.dtype(np.bool_)
_INT32 = np.dtype(np.int32)


# ---------------------------------------------------------------------------------------
# Arguments


def normalize_axis(name: str, ndim: int, axis) -> int:
    """One axis as a non-negative int; AxisError (naming `name` and the user's line) if out
    of range, TypeError if not an integer."""
    if not isinstance(axis, (int, np.integer)) or isinstance(axis, (bool, np.bool_)):
        raise TypeError(f"{name}: axis must be an integer, got {axis!r} (at {user_location()}).")
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim} (at "
            f"{user_location()}). Use an axis in [{-ndim}, {ndim})."
            if ndim
            else f"{name}: axis {axis} is out of bounds for a 0-d array (at {user_location()}), "
            "which has no axes. Use axis=None."
        )
    return int(axis) % ndim


def normalize_axes(name: str, ndim: int, axis) -> tuple[int, ...]:
    """`axis` (None, an int or a sequence of ints) as sorted non-negative axes."""
    if axis is None:
        return tuple(range(ndim))
    axes = tuple(axis) if isinstance(axis, (tuple, list)) else (axis,)
    out = [normalize_axis(name, ndim, a) for a in axes]
    if len(set(out)) != len(out):
        raise ValueError(
            f"{name}: duplicate value in axis {axis!r} (at {user_location()}). Name each axis once."
        )
    return tuple(sorted(out))


def _check_out(name: str, out) -> None:
    if out is not None:
        raise NotImplementedError(
            f"{name}: the 'out' argument is not supported (at {user_location()}); funcgrad "
            "arrays are immutable, so use the returned array instead."
        )


def _keep(x, shape, axes, keepdims: bool):
    if not keepdims:
        return x
    return lax_shapes.reshape(x, [1 if i in axes else n for i, n in enumerate(shape)])


def _cast(x, dtype, weak_type: bool = False):
    """x as `dtype`; strongly typed unless asked, as JAX's reductions return."""
    aval = get_aval(x)
    if aval.dtype == dtype and aval.weak_type == weak_type:
        return x
    return ew.convert_element_type_p.bind(x, new_dtype=dtype, weak_type=weak_type)


def _full(shape, value, dtype):
    """An array of `shape` holding the Python scalar `value` as a strong `dtype`."""
    return broadcast_to_shape(scalar_array(value, dtype, False), tuple(shape))


def _user_dtype(name: str, dtype) -> np.dtype:
    return dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, f"{name}: "))


def _default_int() -> np.dtype:
    return dtypes.canonicalize_dtype(np.int64)


def _sum_dtype(dtype: np.dtype) -> np.dtype:
    """JAX's sum/prod dtype: bools and integers narrower than the default integer widen."""
    default_int = _default_int()
    kind = dtypes.dtype_kind(dtype)
    if kind == "b" or (kind == "i" and dtype.itemsize < default_int.itemsize):
        return default_int
    if kind == "u" and dtype.itemsize < default_int.itemsize:
        return dtypes.canonicalize_dtype(np.uint64)
    return dtype


def _accumulation_dtype(dtype: np.dtype) -> np.dtype:
    """Statistics of float16/bfloat16 accumulate in float32, as JAX's do."""
    if dtype in (np.dtype(np.float16), dtypes.bfloat16):
        return np.dtype(np.float32)
    return dtype


def _real_dtype(dtype: np.dtype) -> np.dtype:
    if dtypes.dtype_kind(dtype) == "c":
        return np.dtype(np.float64 if dtype == np.complex128 else np.float32)
    return dtype


def _where_mask(name: str, where, shape):
    """`where` broadcast to `shape` (it must broadcast to it, not widen it)."""
    mask = asarray(where)
    aval = get_aval(mask)
    if aval.dtype != _BOOL:
        raise TypeError(
            f"{name}: where= must be a bool array, got {aval.str_short()} (at "
            f"{user_location()}). Compare to get a mask, e.g. where=x > 0."
        )
    lines_up = aval.ndim <= len(shape) and builtins.all(
        m in (1, n) for m, n in zip(aval.shape[::-1], tuple(shape)[::-1])
    )
    if not lines_up:
        raise ValueError(
            f"{name}: the where= mask of shape {aval.shape} does not broadcast to the input "
            f"shape {tuple(shape)} (at {user_location()})."
        )
    return broadcast_to_shape(mask, tuple(shape))


def _isnan(x):
    aval = get_aval(x)
    if not dtypes.is_inexact(aval.dtype):
        return _full(aval.shape, False, _BOOL)
    return ew.ne(x, x)


def _replace_nan(x, value):
    aval = get_aval(x)
    if not dtypes.is_inexact(aval.dtype):
        return x
    return ew.select(ew.ne(x, x), _full(aval.shape, value, aval.dtype), x)


def _both(mask, other):
    return other if mask is None else ew.bitwise_and(mask, other)


# ---------------------------------------------------------------------------------------
# sum, prod, max, min, any, all: one lax reduction each, with where= and initial=


def _reduce(
    name: str,
    primitive,
    a,
    axis,
    keepdims: bool,
    *,
    dtype=None,
    initial=None,
    where=None,
    identity=None,
    combine=None,
):
    """Reduce `a` over `axis` with `primitive`; masked-out elements become `identity(dtype)`
    and `initial` joins the result through `combine`. `identity=None` marks a reduction
    without an identity (max, min): empty axes and where= then need `initial`."""
    a = asarray(a)
    aval = get_aval(a)
    axes = normalize_axes(name, aval.ndim, axis)
    dtype = aval.dtype if dtype is None else dtype
    x = _cast(a, dtype)
    if identity is None and initial is None:
        if where is not None:
            raise ValueError(
                f"{name}: reduction operation {name} has no identity, so a where= mask needs "
                f"initial= as well (at {user_location()}). Pass initial=, e.g. -jnp.inf for max."
            )
        if builtins.any(aval.shape[i] == 0 for i in axes):
            raise ValueError(
                f"{name}: zero-size array to reduction operation {name} which has no identity "
                f"(shape {aval.shape}, axis {axis}, at {user_location()}). Reduce non-empty "
                f"axes, or pass initial= to give empty reductions a value."
            )
    if where is not None:
        fill = identity(dtype) if identity is not None else initial
        fill_value = _cast(asarray(fill), dtype, False)
        x = ew.select(
            _where_mask(name, where, aval.shape), x, broadcast_to_shape(fill_value, aval.shape)
        )
    out = primitive.bind(x, axes=axes)
    if initial is not None:
        start = asarray(initial)
        if get_aval(start).shape:
            raise ValueError(
                f"{name}: initial= must be a scalar, got shape {get_aval(start).shape} (at "
                f"{user_location()})."
            )
        out = combine(out, _cast(start, dtype, get_aval(out).weak_type))
    return _keep(out, aval.shape, axes, keepdims)


def _sum_like(name, primitive, one, combine):
    def reduce(
        a,
        axis=None,
        dtype=None,
        out=None,
        keepdims: bool = False,
        initial=None,
        where=None,
        promote_integers: bool = True,
    ):
        _check_out(name, out)
        a = asarray(a)
        in_dtype = get_aval(a).dtype
        if dtype is not None:
            out_dtype = _user_dtype(name, dtype)
        elif promote_integers or in_dtype == _BOOL:
            out_dtype = _sum_dtype(in_dtype)
        else:
            out_dtype = in_dtype
        return _reduce(
            name,
            primitive,
            a,
            axis,
            keepdims,
            dtype=out_dtype,
            initial=initial,
            where=where,
            identity=lambda dtype: one,
            combine=combine,
        )

    return reduce


def _extremum(name, primitive, combine):
    def reduce(a, axis=None, out=None, keepdims: bool = False, initial=None, where=None):
        _check_out(name, out)
        return _reduce(
            name, primitive, a, axis, keepdims, initial=initial, where=where, combine=combine
        )

    return reduce


def _logical(name, primitive, identity):
    def reduce(a, axis=None, out=None, keepdims: bool = False, *, where=None):
        _check_out(name, out)
        a = asarray(a)
        aval = get_aval(a)
        truth = a if aval.dtype == _BOOL else ew.ne(a, _full((), 0, aval.dtype))
        return _reduce(
            name, primitive, truth, axis, keepdims, where=where, identity=lambda d: identity
        )

    return reduce


def _public(fun, name: str, doc: str):
    fun.__name__ = fun.__qualname__ = name
    fun.__doc__ = doc
    return api_boundary(fun)


sum = _public(
    _sum_like("sum", red.reduce_sum_p, 0, ew.add),
    "sum",
    "Sum of elements over `axis` (all axes when None).\n\n"
    "Bools and small integers sum in the default integer type (uint8 in uint32), as in JAX.\n\n"
    ">>> sum(jnp.array([[1, 2], [3, 4]]), axis=0)   # doctest: +SKIP\n"
    "Array([4, 6], dtype=int32)",
)
prod = _public(
    _sum_like("prod", red.reduce_prod_p, 1, ew.mul),
    "prod",
    "Product of elements over `axis`; dtypes as for `sum`.\n\n"
    ">>> prod(jnp.array([1.0, 2.0, 3.0]))   # doctest: +SKIP\n"
    "Array(6., dtype=float32)",
)
max = _public(
    _extremum("max", red.reduce_max_p, ew.max),
    "max",
    "Largest element over `axis` (NaN propagates). An empty reduction needs `initial`.\n\n"
    ">>> max(jnp.array([1, 5, 3]))   # doctest: +SKIP\n"
    "Array(5, dtype=int32)",
)
min = _public(
    _extremum("min", red.reduce_min_p, ew.min),
    "min",
    "Smallest element over `axis` (NaN propagates). An empty reduction needs `initial`.\n\n"
    ">>> min(jnp.array([1, 5, 3]))   # doctest: +SKIP\n"
    "Array(1, dtype=int32)",
)
amax = max
amin = min
any = _public(
    _logical("any", red.reduce_or_p, False),
    "any",
    "Whether any element over `axis` is nonzero (a bool array).\n\n"
    ">>> any(jnp.array([0, 0, 2]))   # doctest: +SKIP\n"
    "Array(True, dtype=bool)",
)
all = _public(
    _logical("all", red.reduce_and_p, True),
    "all",
    "Whether every element over `axis` is nonzero (a bool array).\n\n"
    ">>> all(jnp.array([1, 0]))   # doctest: +SKIP\n"
    "Array(False, dtype=bool)",
)


@api_boundary
def count_nonzero(a, axis=None, keepdims: bool = False):
    """Number of nonzero elements over `axis`, in the default integer type.

    >>> count_nonzero(jnp.array([0, 3, 0, 1]))   # doctest: +SKIP
    Array(2, dtype=int32)
    """
    a = asarray(a)
    aval = get_aval(a)
    nonzero = ew.ne(a, _full((), 0, aval.dtype)) if aval.dtype != _BOOL else a
    return sum(_cast(nonzero, _default_int(), False), axis=axis, keepdims=keepdims)


@api_boundary
def ptp(a, axis=None, out=None, keepdims: bool = False):
    """Range of values (max - min) over `axis`.

    >>> ptp(jnp.array([4, 1, 7]))   # doctest: +SKIP
    Array(6, dtype=int32)
    """
    _check_out("ptp", out)
    a = asarray(a)
    biggest = _reduce("ptp", red.reduce_max_p, a, axis, keepdims)
    smallest = _reduce("ptp", red.reduce_min_p, a, axis, keepdims)
    return ew.sub(biggest, smallest)


# ---------------------------------------------------------------------------------------
# argmax / argmin


def _index_reduction(name: str, primitive, a, axis, keepdims):
    a = asarray(a)
    aval = get_aval(a)
    if axis is None:
        x = lax_shapes.reshape(a, (aval.size,))
        position = 0
    else:
        x = a
        position = normalize_axis(name, aval.ndim, axis)
    if get_aval(x).shape[position] == 0:
        raise ValueError(
            f"{name}: attempt to get {name} of an empty sequence (shape {aval.shape}, axis "
            f"{axis}, at {user_location()}). Reduce over a non-empty axis."
        )
    out = primitive.bind(x, axes=(position,), index_dtype=_default_int())
    if not keepdims:
        return out
    if axis is None:
        return lax_shapes.reshape(out, (1,) * aval.ndim)
    return _keep(out, aval.shape, (position,), True)


@api_boundary
def argmax(a, axis=None, out=None, keepdims=None):
    """Index of the first maximum over `axis` (of the flattened array when None); NaN counts
    as the maximum.

    >>> argmax(jnp.array([1, 3, 3]))   # doctest: +SKIP
    Array(1, dtype=int32)
    """
    _check_out("argmax", out)
    return _index_reduction("argmax", red.argmax_p, a, axis, bool(keepdims))


@api_boundary
def argmin(a, axis=None, out=None, keepdims=None):
    """Index of the first minimum over `axis`; NaN counts as the minimum.

    >>> argmin(jnp.array([2, 1, 1]))   # doctest: +SKIP
    Array(1, dtype=int32)
    """
    _check_out("argmin", out)
    return _index_reduction("argmin", red.argmin_p, a, axis, bool(keepdims))


def _nan_index_reduction(name, primitive, a, axis, keepdims, fill):
    a = asarray(a)
    aval = get_aval(a)
    if not dtypes.is_inexact(aval.dtype):
        return _index_reduction(name, primitive, a, axis, keepdims)
    nan = ew.ne(a, a)
    index = _index_reduction(name, primitive, _replace_nan(a, fill), axis, keepdims)
    all_nan = all(nan, axis=axis, keepdims=keepdims)
    return ew.select(all_nan, _full(get_aval(index).shape, -1, get_aval(index).dtype), index)


@api_boundary
def nanargmax(a, axis=None, out=None, keepdims=None):
    """`argmax` ignoring NaNs; -1 where every element is NaN (as JAX)."""
    _check_out("nanargmax", out)
    return _nan_index_reduction("nanargmax", red.argmax_p, a, axis, bool(keepdims), -np.inf)


@api_boundary
def nanargmin(a, axis=None, out=None, keepdims=None):
    """`argmin` ignoring NaNs; -1 where every element is NaN (as JAX)."""
    _check_out("nanargmin", out)
    return _nan_index_reduction("nanargmin", red.argmin_p, a, axis, bool(keepdims), np.inf)


# ---------------------------------------------------------------------------------------
# mean, average, var, std


def _mean_dtypes(name: str, a_dtype, dtype):
    """(result dtype, accumulation dtype) of a statistic."""
    if dtype is not None:
        result = _user_dtype(name, dtype)
    elif dtypes.is_inexact(a_dtype):
        result = a_dtype
    else:
        result = default_float()
    compute = result if dtypes.is_inexact(result) else default_float()
    return result, _accumulation_dtype(compute)


def _count(shape, axes, mask, dtype):
    """How many elements each reduction sees: a Python float, or an array under where=."""
    if mask is None:
        return float(np.prod([shape[i] for i in axes], dtype=np.int64))
    return red.reduce_sum_p.bind(_cast(mask, dtype, False), axes=axes)


def _masked_sum(x, mask, axes):
    if mask is not None:
        x = ew.select(mask, x, _full(get_aval(x).shape, 0, get_aval(x).dtype))
    return red.reduce_sum_p.bind(x, axes=axes)


def _mean(name: str, a, axis, dtype, keepdims, mask_of):
    a = asarray(a)
    aval = get_aval(a)
    axes = normalize_axes(name, aval.ndim, axis)
    result, compute = _mean_dtypes(name, aval.dtype, dtype)
    x = _cast(a, compute)
    mask = mask_of(a)
    total = _masked_sum(x, mask, axes)
    out = ew.div(total, _count(aval.shape, axes, mask, compute))
    return _keep(_cast(out, result), aval.shape, axes, keepdims)


def _mask_maker(name, where, skip_nan: bool):
    def mask_of(a):
        shape = get_aval(a).shape
        mask = None if where is None else _where_mask(name, where, shape)
        if skip_nan and dtypes.is_inexact(get_aval(a).dtype):
            mask = _both(mask, ew.eq(ew.ne(a, a), _full((), False, _BOOL)))
        return mask

    return mask_of


@api_boundary
def mean(a, axis=None, dtype=None, out=None, keepdims: bool = False, *, where=None):
    """Arithmetic mean over `axis`; integers and bools average in float32 (float64 under x64).

    >>> mean(jnp.array([1, 2, 4]))   # doctest: +SKIP
    Array(2.3333333, dtype=float32)
    """
    _check_out("mean", out)
    return _mean("mean", a, axis, dtype, keepdims, _mask_maker("mean", where, False))


@api_boundary
def nanmean(a, axis=None, dtype=None, out=None, keepdims: bool = False, *, where=None):
    """`mean` of the non-NaN elements; NaN where there are none."""
    _check_out("nanmean", out)
    return _mean("nanmean", a, axis, dtype, keepdims, _mask_maker("nanmean", where, True))


def _variance(name, a, axis, dtype, ddof, keepdims, where, correction, skip_nan):
    if correction is None:
        correction = ddof
    elif not isinstance(ddof, int) or ddof != 0:
        raise ValueError(
            f"{name}: ddof and correction can't be provided simultaneously (at "
            f"{user_location()}). Pass one of them."
        )
    a = asarray(a)
    aval = get_aval(a)
    axes = normalize_axes(name, aval.ndim, axis)
    result, compute = _mean_dtypes(name, _real_dtype(aval.dtype), dtype)
    if dtypes.dtype_kind(aval.dtype) == "c":
        compute = aval.dtype
    x = _cast(a, compute)
    mask = _mask_maker(name, where, skip_nan)(a)
    count = _count(aval.shape, axes, mask, _real_dtype(compute))
    centre = _keep(ew.div(_masked_sum(x, mask, axes), count), aval.shape, axes, True)
    deviation = ew.sub(x, broadcast_to_shape(centre, aval.shape))
    if dtypes.dtype_kind(compute) == "c":
        squares = ew.real(ew.mul(deviation, ew.conj(deviation)))
    else:
        squares = ew.mul(deviation, deviation)
    if isinstance(count, float):
        divisor = builtins.max(count - correction, 0.0)
    else:
        divisor = ew.max(ew.sub(count, float(correction)), 0.0)
    out = ew.div(_masked_sum(squares, mask, axes), divisor)
    return _keep(_cast(out, result), aval.shape, axes, keepdims)


@api_boundary
def var(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where=None,
    correction=None,
):
    """Variance over `axis`, dividing by N - ddof (or N - correction).

    >>> var(jnp.array([1.0, 2.0, 3.0, 4.0]))   # doctest: +SKIP
    Array(1.25, dtype=float32)
    """
    _check_out("var", out)
    return _variance("var", a, axis, dtype, ddof, keepdims, where, correction, False)


@api_boundary
def nanvar(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where=None,
    correction=None,
):
    """`var` of the non-NaN elements."""
    _check_out("nanvar", out)
    return _variance("nanvar", a, axis, dtype, ddof, keepdims, where, correction, True)


@api_boundary
def std(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where=None,
    correction=None,
):
    """Standard deviation over `axis`: the square root of `var`.

    >>> std(jnp.array([1.0, 3.0]))   # doctest: +SKIP
    Array(1., dtype=float32)
    """
    _check_out("std", out)
    return ew.sqrt(_variance("std", a, axis, dtype, ddof, keepdims, where, correction, False))


@api_boundary
def nanstd(
    a,
    axis=None,
    dtype=None,
    out=None,
    ddof: int = 0,
    keepdims: bool = False,
    *,
    where=None,
    correction=None,
):
    """`std` of the non-NaN elements."""
    _check_out("nanstd", out)
    return ew.sqrt(_variance("nanstd", a, axis, dtype, ddof, keepdims, where, correction, True))


@api_boundary
def average(a, axis=None, weights=None, returned: bool = False, keepdims: bool = False):
    """Weighted mean over `axis`; with `returned`, also the sum of the weights.

    `weights` has the shape of `a`, or is 1-D along a single `axis`.

    >>> average(jnp.array([1.0, 2.0]), weights=jnp.array([3.0, 1.0]))   # doctest: +SKIP
    Array(1.25, dtype=float32)
    """
    a = asarray(a)
    aval = get_aval(a)
    if weights is None:
        out = mean(a, axis=axis, keepdims=keepdims)
        axes = normalize_axes("average", aval.ndim, axis)
        count = float(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
        total = _full(get_aval(out).shape, count, get_aval(out).dtype)
        return (out, total) if returned else out
    a, weights = promote_dtypes(a, asarray(weights), inexact=True)
    w_aval = get_aval(weights)
    axes = normalize_axes("average", aval.ndim, axis)
    if w_aval.shape != aval.shape:
        if axis is None or isinstance(axis, (tuple, list)):
            raise TypeError(
                f"average: axis must be a single int when the weights (shape {w_aval.shape}) "
                f"and the array (shape {aval.shape}) differ in shape (at {user_location()})."
            )
        if w_aval.ndim != 1 or w_aval.shape[0] != aval.shape[axes[0]]:
            raise ValueError(
                f"average: 1-D weights must match the length of axis {axis} ({aval.shape[axes[0]]}"
                f"), got shape {w_aval.shape} (at {user_location()})."
            )
        weights = lax_shapes.broadcast_in_dim(weights, aval.shape, axes)
    compute = _accumulation_dtype(get_aval(a).dtype)
    x, w = _cast(a, compute), _cast(weights, compute)
    weight_sum = red.reduce_sum_p.bind(w, axes=axes)
    out = ew.div(red.reduce_sum_p.bind(ew.mul(x, w), axes=axes), weight_sum)
    result_dtype = get_aval(a).dtype
    out = _keep(_cast(out, result_dtype), aval.shape, axes, keepdims)
    if not returned:
        return out
    return out, _keep(_cast(weight_sum, result_dtype), aval.shape, axes, keepdims)


# ---------------------------------------------------------------------------------------
# NaN-ignoring sums and extrema


def _nan_sum_like(name: str, fun, fill):
    def reduce(
        a,
        axis=None,
        dtype=None,
        out=None,
        keepdims: bool = False,
        initial=None,
        where=None,
    ):
        _check_out(name, out)
        return fun(
            _replace_nan(asarray(a), fill),
            axis=axis,
            dtype=dtype,
            keepdims=keepdims,
            initial=initial,
            where=where,
        )

    return reduce


def _nan_extremum(name: str, fun, fill):
    def reduce(a, axis=None, out=None, keepdims: bool = False, initial=None, where=None):
        _check_out(name, out)
        a = asarray(a)
        aval = get_aval(a)
        out = fun(_replace_nan(a, fill), axis=axis, keepdims=keepdims, initial=initial, where=where)
        if not dtypes.is_inexact(aval.dtype) or initial is not None:
            return out
        # A slice of only NaNs (or only masked-out elements) has no answer: NaN, as NumPy.
        seen = ew.eq(_isnan(a), _full((), False, _BOOL))
        if where is not None:
            seen = ew.bitwise_and(seen, _where_mask(name, where, aval.shape))
        none_seen = ew.eq(any(seen, axis=axis, keepdims=keepdims), _full((), False, _BOOL))
        return ew.select(none_seen, _full(get_aval(out).shape, np.nan, get_aval(out).dtype), out)

    return reduce


nansum = _public(
    _nan_sum_like("nansum", sum, 0),
    "nansum",
    "`sum` treating NaN as zero.\n\n"
    ">>> nansum(jnp.array([1.0, jnp.nan, 2.0]))   # doctest: +SKIP\n"
    "Array(3., dtype=float32)",
)
nanprod = _public(_nan_sum_like("nanprod", prod, 1), "nanprod", "`prod` treating NaN as one.")
nanmax = _public(
    _nan_extremum("nanmax", max, -np.inf),
    "nanmax",
    "`max` ignoring NaN; NaN where a slice holds only NaN.\n\n"
    ">>> nanmax(jnp.array([1.0, jnp.nan]))   # doctest: +SKIP\n"
    "Array(1., dtype=float32)",
)
nanmin = _public(
    _nan_extremum("nanmin", min, np.inf),
    "nanmin",
    "`min` ignoring NaN; NaN where a slice holds only NaN.",
)


# ---------------------------------------------------------------------------------------
# median, quantile, percentile: sort along the reduced axes, then interpolate

_QUANTILE_METHODS = ("linear", "lower", "higher", "midpoint", "nearest")


def _check_q(name: str, q, scale: float) -> None:
    if isinstance(q, Tracer):
        return
    values = np.asarray(q, dtype=np.float64)
    if np.any(~((values >= 0) & (values <= scale))):
        raise ValueError(
            f"{name}: q must be in [0, {scale:g}], got {values.tolist()} (at {user_location()})."
        )


def _take_last(sorted_values, index, lead: int):
    """sorted_values[..., index] for an int32 `index` of shape q_shape + batch (one index
    per row, possibly traced): a gather along the last axis."""
    shape = get_aval(index).shape + (get_aval(sorted_values).shape[-1],)
    rows = sorted_values
    if lead:
        rows = lax_shapes.broadcast_in_dim(rows, shape, tuple(range(lead, len(shape))))
    picked = take_along_axis(rows, lax_shapes.expand_dims(index, (-1,)), -1, mode="clip")
    return lax_shapes.reshape(picked, shape[:-1])


def _quantile(name, a, q, axis, method, keepdims, ignore_nan, scale=1.0):
    if method not in _QUANTILE_METHODS:
        raise ValueError(
            f"{name}: method {method!r} is not supported (at {user_location()}); use one of "
            f"{', '.join(_QUANTILE_METHODS)}."
        )
    a = asarray(a)
    q = q if is_python_scalar(q) else asarray(q)
    _check_q(name, q, scale)
    a_dtype = get_aval(a).dtype
    result = a_dtype if dtypes.is_inexact(a_dtype) else default_float()
    if dtypes.dtype_kind(result) == "c":
        raise TypeError(
            f"{name}: complex arrays have no order, so no quantiles (at {user_location()}). "
            "Pass the real part or the magnitude."
        )
    compute = _accumulation_dtype(result)
    a = _cast(a, compute, False)
    q = scalar_array(q, compute, False) if is_python_scalar(q) else _cast(q, compute, False)
    if scale != 1.0:
        q = ew.div(q, scale)
    aval = get_aval(a)
    axes = normalize_axes(name, aval.ndim, axis)
    kept = [i for i in range(aval.ndim) if i not in axes]
    batch = tuple(aval.shape[i] for i in kept)
    size = int(np.prod([aval.shape[i] for i in axes], dtype=np.int64))
    order = tuple(kept) + axes
    rows = lax_shapes.reshape(a, batch + (size,), None if order == tuple(sorted(order)) else order)
    (ordered,) = lax_sorting.sort_p.bind(rows, dimension=len(batch), is_stable=True, num_keys=1)

    nan = ew.ne(ordered, ordered)
    q_shape = get_aval(q).shape
    shape = q_shape + batch
    lead = len(q_shape)
    if ignore_nan:
        count = red.reduce_sum_p.bind(
            _cast(ew.eq(nan, _full((), False, _BOOL)), compute, False), axes=(len(batch),)
        )
        count = lax_shapes.broadcast_in_dim(count, shape, tuple(range(lead, len(shape))))
    else:
        count = _full(shape, float(size), compute)
    qs = lax_shapes.broadcast_in_dim(q, shape, tuple(range(lead)))
    last = ew.max(ew.sub(count, 1.0), 0.0)
    position = ew.min(ew.max(ew.mul(qs, last), 0.0), last)
    low = ew.floor(position)
    high = ew.min(ew.add(low, 1.0), last)
    high = ew.select(ew.gt(position, low), high, low)
    fraction = ew.sub(position, low)
    if size == 0:
        nothing = _full(shape, np.nan, compute)
        low_value = high_value = nothing
    else:
        low_value = _take_last(ordered, _cast(low, _INT32, False), lead)
        high_value = _take_last(ordered, _cast(high, _INT32, False), lead)

    if method == "lower":
        out = low_value
    elif method == "higher":
        out = high_value
    elif method == "nearest":
        out = ew.select(ew.le(fraction, 0.5), low_value, high_value)
    elif method == "midpoint":
        out = ew.mul(ew.add(low_value, high_value), 0.5)
    else:
        # NumPy's lerp: from the nearer end, so that q=1 gives the maximum exactly.
        step = ew.sub(high_value, low_value)
        from_low = ew.add(low_value, ew.mul(step, fraction))
        from_high = ew.sub(high_value, ew.mul(step, ew.sub(1.0, fraction)))
        out = ew.select(ew.ge(fraction, 0.5), from_high, from_low)
        out = ew.select(ew.eq(low_value, high_value), low_value, out)

    undefined = ew.eq(count, 0.0)
    if not ignore_nan:
        has_nan = red.reduce_or_p.bind(nan, axes=(len(batch),))
        has_nan = lax_shapes.broadcast_in_dim(has_nan, shape, tuple(range(lead, len(shape))))
        undefined = ew.bitwise_or(undefined, has_nan)
    out = ew.select(undefined, _full(shape, np.nan, compute), out)
    out = _cast(out, result)
    if keepdims:
        out = lax_shapes.reshape(
            out, q_shape + tuple(1 if i in axes else n for i, n in enumerate(aval.shape))
        )
    return out


def _quantile_api(name: str, ignore_nan: bool, scale: float, doc: str):
    def quantile(
        a,
        q,
        axis=None,
        out=None,
        overwrite_input: bool = False,
        method: str = "linear",
        keepdims: bool = False,
    ):
        _check_out(name, out)
        return _quantile(name, a, q, axis, method, keepdims, ignore_nan, scale)

    return _public(quantile, name, doc)


quantile = _quantile_api(
    "quantile",
    False,
    1.0,
    "The q-th quantiles (q in [0, 1]) over `axis`; the result's leading axes are q's.\n\n"
    "`method` is linear (default), lower, higher, midpoint or nearest (which, as in JAX, "
    "rounds exact halves down). A slice holding NaN gives NaN.\n\n"
    ">>> quantile(jnp.array([1.0, 2.0, 3.0, 4.0]), 0.5)   # doctest: +SKIP\n"
    "Array(2.5, dtype=float32)",
)
percentile = _quantile_api(
    "percentile", False, 100.0, "`quantile` with q given in percent, in [0, 100]."
)
nanquantile = _quantile_api(
    "nanquantile", True, 1.0, "`quantile` of the non-NaN elements; NaN where there are none."
)
nanpercentile = _quantile_api("nanpercentile", True, 100.0, "`percentile` of the non-NaN elements.")


@api_boundary
def median(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """The median over `axis` (the mean of the two middle elements for an even count).

    >>> median(jnp.array([3.0, 1.0, 2.0, 10.0]))   # doctest: +SKIP
    Array(2.5, dtype=float32)
    """
    _check_out("median", out)
    return _quantile("median", a, 0.5, axis, "midpoint", keepdims, False)


@api_boundary
def nanmedian(a, axis=None, out=None, overwrite_input: bool = False, keepdims: bool = False):
    """`median` of the non-NaN elements."""
    _check_out("nanmedian", out)
    return _quantile("nanmedian", a, 0.5, axis, "midpoint", keepdims, True)


# ---------------------------------------------------------------------------------------
# Cumulative sums and products


def _cumulative(name: str, primitive, a, axis, dtype, result_dtype, include_initial=None):
    a = asarray(a)
    aval = get_aval(a)
    if axis is None:
        a = lax_shapes.reshape(a, (aval.size,))
        aval = get_aval(a)
        axis = 0
    position = normalize_axis(name, aval.ndim, axis)
    out_dtype = _user_dtype(name, dtype) if dtype is not None else result_dtype(aval.dtype)
    out = primitive.bind(_cast(a, out_dtype), axis=position, reverse=False)
    if include_initial is not None:
        config = [(1 if i == position else 0, 0, 0) for i in range(aval.ndim)]
        out = lax_shapes.pad(out, _cast(asarray(include_initial), out_dtype, False), config)
    return out


def _bool_to_int(dtype):
    return _default_int() if dtype == _BOOL else dtype


def _cumulative_api(name: str, primitive, skip_nan, doc: str):
    def scan(a, axis=None, dtype=None, out=None):
        _check_out(name, out)
        a = asarray(a)
        if skip_nan is not None:
            a = _replace_nan(a, skip_nan)
        return _cumulative(name, primitive, a, axis, dtype, _bool_to_int)

    return _public(scan, name, doc)


cumsum = _cumulative_api(
    "cumsum",
    red.cumsum_p,
    None,
    "Running sum along `axis` (of the flattened array when None). Bools sum as integers;\n"
    "other dtypes are kept (as in JAX, int8 stays int8).\n\n"
    ">>> cumsum(jnp.array([1, 2, 3]))   # doctest: +SKIP\n"
    "Array([1, 3, 6], dtype=int32)",
)
cumprod = _cumulative_api("cumprod", red.cumprod_p, None, "Running product along `axis`.")
nancumsum = _cumulative_api("nancumsum", red.cumsum_p, 0, "`cumsum` treating NaN as zero.")
nancumprod = _cumulative_api("nancumprod", red.cumprod_p, 1, "`cumprod` treating NaN as one.")


def _array_api_axis(name: str, x, axis):
    ndim = get_aval(x).ndim
    if axis is None and ndim != 1:
        raise ValueError(
            f"{name}: the input has rank {ndim}, so axis must be given (at {user_location()}); "
            "axis may be left out only for one-dimensional arrays."
        )
    return 0 if axis is None else axis


@api_boundary
def cumulative_sum(x, /, *, axis=None, dtype=None, include_initial: bool = False):
    """The Array API's running sum: `axis` is needed unless x is 1-D; `include_initial`
    starts the result with a zero. Small integers widen as in `sum`.

    >>> cumulative_sum(jnp.array([1, 2]), include_initial=True)   # doctest: +SKIP
    Array([0, 1, 3], dtype=int32)
    """
    x = asarray(x)
    axis = _array_api_axis("cumulative_sum", x, axis)
    return _cumulative(
        "cumulative_sum", red.cumsum_p, x, axis, dtype, _sum_dtype, 0 if include_initial else None
    )


@api_boundary
def cumulative_prod(x, /, *, axis=None, dtype=None, include_initial: bool = False):
    """The Array API's running product; `include_initial` starts the result with a one."""
    x = asarray(x)
    axis = _array_api_axis("cumulative_prod", x, axis)
    return _cumulative(
        "cumulative_prod",
        red.cumprod_p,
        x,
        axis,
        dtype,
        _bool_to_int,
        1 if include_initial else None,
    )


ARRAY_METHODS = {
    "sum": sum,
    "prod": prod,
    "max": max,
    "min": min,
    "mean": mean,
    "var": var,
    "std": std,
    "any": any,
    "all": all,
    "argmax": argmax,
    "argmin": argmin,
    "cumsum": cumsum,
    "cumprod": cumprod,
    "ptp": ptp,
}
