"""dtype policy: which dtypes exist, how 64-bit narrows, and JAX's promotion lattice.

As in JAX, float32/int32 are the defaults and 64-bit types are narrowed to 32 bits
unless `jax_enable_x64` is on. Python scalars are *weakly typed*: they take the dtype
of whatever array they meet (`float16_array + 2.0` is float16). Binary promotion is
the least upper bound in a small lattice, not NumPy's value-based rules, so results
never depend on values and are the same under jit and eagerly.
"""

from __future__ import annotations

import functools

import ml_dtypes
import numpy as np

from funcgrad.config import config
from funcgrad.core.source_info import user_location

__all__ = [
    "bfloat16",
    "float0",
    "SUPPORTED_DTYPES",
    "canonicalize_dtype",
    "check_dtype",
    "scalar_dtype",
    "result_type",
    "lattice_join",
    "dtype_kind",
    "is_float",
    "is_integer",
    "is_inexact",
]

bfloat16 = np.dtype(ml_dtypes.bfloat16)

# The tangent type of integer and bool values, as in JAX: a dtype with no data, so a
# derivative with respect to an integer is a shape and nothing else.
float0 = np.dtype([("float0", np.void, 0)])

_b1 = np.dtype(np.bool_)
_u8, _u16, _u32, _u64 = (np.dtype(t) for t in (np.uint8, np.uint16, np.uint32, np.uint64))
_i8, _i16, _i32, _i64 = (np.dtype(t) for t in (np.int8, np.int16, np.int32, np.int64))
_f16, _f32, _f64 = (np.dtype(t) for t in (np.float16, np.float32, np.float64))
_c64, _c128 = np.dtype(np.complex64), np.dtype(np.complex128)

SUPPORTED_DTYPES = (
    _b1,
    _i8,
    _i16,
    _i32,
    _i64,
    _u8,
    _u16,
    _u32,
    _u64,
    _f16,
    bfloat16,
    _f32,
    _f64,
    _c64,
    _c128,
)

# 'b' bool, 'i' signed, 'u' unsigned, 'f' real floating, 'c' complex. bfloat16 is
# listed by hand because NumPy reports it as kind 'V'.
_KIND = {dtype: dtype.kind for dtype in SUPPORTED_DTYPES}
_KIND[bfloat16] = "f"

_NARROW = {_i64: _i32, _u64: _u32, _f64: _f32, _c128: _c64}

# Edges point from a type to the types it promotes to. int, float and complex are the
# weak (Python scalar) types.
_LATTICE = {
    _b1: [int],
    int: [_u8, _i8],
    _u8: [_i16, _u16],
    _u16: [_i32, _u32],
    _u32: [_i64, _u64],
    _u64: [float],
    _i8: [_i16],
    _i16: [_i32],
    _i32: [_i64],
    _i64: [float],
    float: [bfloat16, _f16, complex],
    bfloat16: [_f32],
    _f16: [_f32],
    _f32: [_f64, _c64],
    _f64: [_c128],
    complex: [_c64],
    _c64: [_c128],
    _c128: [],
}


def _upper_bounds():
    bounds = {}
    for node in _LATTICE:
        seen, stack = {node}, [node]
        while stack:
            for parent in _LATTICE[stack.pop()]:
                if parent not in seen:
                    seen.add(parent)
                    stack.append(parent)
        bounds[node] = frozenset(seen)
    return bounds


_UPPER_BOUNDS = _upper_bounds()
_WEAK_OF_KIND = {"b": _b1, "i": int, "u": int, "f": float, "c": complex}
_DEFAULT_OF_WEAK = {int: _i64, float: _f64, complex: _c128}


def dtype_kind(dtype) -> str:
    """'b', 'i', 'u', 'f' or 'c'."""
    return _KIND[np.dtype(dtype)]


def is_float(dtype) -> bool:
    return _KIND.get(np.dtype(dtype)) == "f"


def is_integer(dtype) -> bool:
    return _KIND.get(np.dtype(dtype)) in ("i", "u")


def is_inexact(dtype) -> bool:
    return _KIND.get(np.dtype(dtype)) in ("f", "c")


def check_dtype(dtype, where: str = "") -> np.dtype:
    """`np.dtype(dtype)`, raising a TypeError that lists the choices when unsupported."""
    try:
        dtype = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{where}{dtype!r} is not a dtype (at {user_location()}): {err}") from None
    if dtype not in _KIND:
        names = ", ".join(d.name for d in SUPPORTED_DTYPES)
        raise TypeError(
            f"{where}dtype {dtype} is not supported by funcgrad (at {user_location()}); "
            f"supported dtypes are {names}. "
            "Convert the data first, e.g. np.asarray(x, dtype=np.float32)."
        )
    return dtype


def canonicalize_dtype(dtype) -> np.dtype:
    """The dtype funcgrad really uses: 64-bit types become 32-bit unless x64 is enabled."""
    dtype = check_dtype(dtype)
    if config.jax_enable_x64:
        return dtype
    return _NARROW.get(dtype, dtype)


def scalar_dtype(value) -> np.dtype:
    """The (canonical) dtype of a Python scalar: bool, int32, float32 or complex64 by default."""
    kind = type(value)
    if kind is bool:
        return _b1
    if kind is int or isinstance(value, int):
        return canonicalize_dtype(_i64)
    if isinstance(value, float):
        return canonicalize_dtype(_f64)
    if isinstance(value, complex):
        return canonicalize_dtype(_c128)
    raise TypeError(f"{value!r} of type {kind.__name__} is not a Python scalar")


def _lattice_node(dtype: np.dtype, weak: bool):
    return _WEAK_OF_KIND[_KIND[dtype]] if weak else dtype


def lattice_join(*dtype_weak_pairs: tuple[np.dtype, bool]) -> np.dtype:
    """The least upper bound of `(dtype, weak_type)` pairs in the lattice, before any
    64-bit narrowing (what `jnp.promote_types` answers for the dtypes it is given)."""
    node = _least_upper_bound({_lattice_node(d, w) for d, w in dtype_weak_pairs})
    return np.dtype(_DEFAULT_OF_WEAK.get(node, node))


def _least_upper_bound(nodes) -> object:
    common = frozenset.intersection(*(_UPPER_BOUNDS[n] for n in nodes))
    for candidate in common:
        if _UPPER_BOUNDS[candidate] == common:
            return candidate
    raise TypeError(f"no common type for {nodes}")


def result_type(*dtype_weak_pairs: tuple[np.dtype, bool]) -> tuple[np.dtype, bool]:
    """Promote `(dtype, weak_type)` pairs to one `(dtype, weak_type)`, as JAX does.

    >>> result_type((np.dtype('float16'), False), (np.dtype('float32'), True))
    (dtype('float16'), False)
    """
    return _cached_result_type(dtype_weak_pairs, config.jax_enable_x64)


@functools.lru_cache(maxsize=4096)
def _cached_result_type(dtype_weak_pairs, x64: bool) -> tuple[np.dtype, bool]:
    dtypes = {dtype for dtype, _ in dtype_weak_pairs}
    weaks = [weak for _, weak in dtype_weak_pairs]
    if len(dtype_weak_pairs) == 1:
        out, weak = dtype_weak_pairs[0]
    elif len(dtypes) == 1 and not all(weaks):
        out, weak = next(iter(dtypes)), False
    elif all(weaks):
        out, weak = _least_upper_bound({_lattice_node(d, False) for d in dtypes}), True
    else:
        node = _least_upper_bound({_lattice_node(d, w) for d, w in dtype_weak_pairs})
        out, weak = node, node in _DEFAULT_OF_WEAK
    if out in _DEFAULT_OF_WEAK:
        out = _DEFAULT_OF_WEAK[out]
    out = canonicalize_dtype(out)
    return out, weak and out != _b1
