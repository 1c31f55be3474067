"""Questions about dtypes, answered as jax.numpy answers them: promote_types and
result_type (JAX's promotion lattice with weak types, not NumPy's rules), can_cast,
issubdtype and isdtype (bfloat16 counts as floating), finfo/iinfo (bfloat16 included),
the abstract scalar types (floating, integer, ...) and iscomplexobj/isrealobj/isscalar.

Python scalar types (`int`, `float`, `complex`) and Python scalars are *weak*: they adopt
the dtype of whatever they meet, as everywhere in funcgrad.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval, is_python_scalar
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.runtime.array import Array

__all__ = [
    "promote_types",
    "result_type",
    "can_cast",
    "issubdtype",
    "isdtype",
    "finfo",
    "iinfo",
    "generic",
    "number",
    "inexact",
    "floating",
    "complexfloating",
    "integer",
    "signedinteger",
    "unsignedinteger",
    "iscomplexobj",
    "isrealobj",
    "isscalar",
]

# The abstract scalar types are NumPy's own, as in JAX; issubdtype places bfloat16 (which
# NumPy does not know as floating) under floating.
generic = np.generic
number = np.number
inexact = np.inexact
floating = np.floating
complexfloating = np.complexfloating
integer = np.integer
signedinteger = np.signedinteger
unsignedinteger = np.unsignedinteger

_WEAK_TYPES = {
    int: np.dtype(np.int64),
    float: np.dtype(np.float64),
    complex: np.dtype(np.complex128),
}
_ABSTRACT_KINDS = {
    np.generic: "biufc",
    np.number: "iufc",
    np.inexact: "fc",
    np.floating: "f",
    np.complexfloating: "c",
    np.integer: "iu",
    np.signedinteger: "i",
    np.unsignedinteger: "u",
    np.bool_: "b",
}


def _to_dtype(value, name: str) -> np.dtype:
    """np.dtype of a dtype-like (including funcgrad's scalar types), with a clear error."""
    try:
        dtype = np.dtype(value)
    except TypeError:
        dtype = getattr(value, "dtype", None)
    if not isinstance(dtype, np.dtype):
        raise TypeError(
            f"{name}: {value!r} is not a dtype (at {user_location()}); pass a dtype such as "
            "jnp.float32 or 'int8'."
        )
    return dtypes.check_dtype(dtype, f"{name}: ")


def _weak_pair(value, name: str) -> tuple[np.dtype, bool]:
    """(dtype, weak_type) of anything result_type accepts."""
    if value is bool:
        return np.dtype(np.bool_), False
    if any(value is t for t in _WEAK_TYPES):
        return _WEAK_TYPES[value], True
    if isinstance(value, (Array, Tracer)) or is_python_scalar(value):
        aval = get_aval(value)
        return aval.dtype, aval.weak_type
    if isinstance(value, (np.ndarray, np.generic)):
        return dtypes.check_dtype(value.dtype, f"{name}: "), False
    return _to_dtype(value, name), False


@api_boundary
def promote_types(a, b) -> np.dtype:
    """The dtype two dtypes promote to in JAX's lattice (not NumPy's table).

    Python's `int`, `float` and `complex` are weak: `promote_types(float, jnp.float16)` is
    float16. The result is not narrowed to 32 bits when x64 is off.

    >>> promote_types(jnp.int8, jnp.uint8)
    dtype('int16')
    >>> promote_types(jnp.bfloat16, jnp.float16)
    dtype('float32')
    """
    # The lattice join without 64-bit narrowing: promote_types answers for the dtypes given.
    return dtypes.lattice_join(_weak_pair(a, "promote_types"), _weak_pair(b, "promote_types"))


@api_boundary
def result_type(*args) -> np.dtype:
    """The dtype funcgrad gives an operation on `args` (arrays, dtypes, Python scalars or
    scalar types). As for the operands of an operation, 64-bit inputs are narrowed to 32
    bits first unless x64 is on (so uint64 with int8 is int32, as in JAX).

    >>> result_type(jnp.ones(2, jnp.float16), 2.0)
    dtype('float16')
    """
    if not args:
        raise ValueError(f"result_type: at least one argument is required (at {user_location()}).")
    pairs = [_weak_pair(a, "result_type") for a in args]
    return dtypes.result_type(*((dtypes.canonicalize_dtype(d), weak) for d, weak in pairs))[0]


@api_boundary
def can_cast(from_, to, casting: str = "safe") -> bool:
    """Whether a cast from dtype (or array) `from_` to dtype `to` is allowed by `casting`
    ('no', 'equiv', 'safe', 'same_kind' or 'unsafe'), with NumPy's rules.

    >>> can_cast(jnp.int8, jnp.int32)
    True
    """
    if is_python_scalar(from_):
        raise TypeError(
            f"can_cast: Python scalars are not accepted as from_ (at {user_location()}); "
            "pass a dtype or an array."
        )
    source = _weak_pair(from_, "can_cast")[0]
    return bool(np.can_cast(source, _to_dtype(to, "can_cast"), casting=casting))


def _abstract(value):
    """The NumPy abstract scalar type `value` names, or None for a concrete dtype."""
    if isinstance(value, type) and value in _ABSTRACT_KINDS and value is not np.bool_:
        return value
    return None


@api_boundary
def issubdtype(arg1, arg2) -> bool:
    """Whether dtype `arg1` is `arg2` or below it in the type hierarchy
    (`issubdtype(jnp.bfloat16, jnp.floating)` is True, unlike in NumPy).

    >>> issubdtype(jnp.float32, jnp.inexact)
    True
    """
    first = _abstract(arg1)
    second = _abstract(arg2)
    if first is not None:
        return second is not None and issubclass(first, second)
    dtype = _to_dtype(arg1, "issubdtype")
    if second is None:
        return dtype == _to_dtype(arg2, "issubdtype")
    return dtypes.dtype_kind(dtype) in _ABSTRACT_KINDS[second]


_ISDTYPE_KINDS = {
    "bool": "b",
    "signed integer": "i",
    "unsigned integer": "u",
    "integral": "iu",
    "real floating": "f",
    "complex floating": "c",
    "numeric": "iufc",
}


@api_boundary
def isdtype(dtype, kind) -> bool:
    """The array API's dtype test: `kind` is a dtype, one of 'bool', 'signed integer',
    'unsigned integer', 'integral', 'real floating', 'complex floating', 'numeric', or a
    tuple of these.

    >>> isdtype(jnp.bfloat16, 'real floating')
    True
    """
    dtype = _to_dtype(dtype, "isdtype")
    kinds = kind if isinstance(kind, tuple) else (kind,)
    for item in kinds:
        if isinstance(item, str):
            if item not in _ISDTYPE_KINDS:
                raise ValueError(
                    f"isdtype: unknown kind {item!r} (at {user_location()}); use one of "
                    f"{', '.join(map(repr, _ISDTYPE_KINDS))} or a dtype."
                )
            if dtypes.dtype_kind(dtype) in _ISDTYPE_KINDS[item]:
                return True
        elif dtype == _to_dtype(item, "isdtype"):
            return True
    return False


@api_boundary
def finfo(dtype):
    """Machine limits of a floating dtype (bfloat16 included), as `numpy.finfo`.

    >>> float(finfo(jnp.bfloat16).eps)
    0.0078125
    """
    dtype = _to_dtype(dtype, "finfo")
    if dtypes.dtype_kind(dtype) not in "fc":
        raise ValueError(
            f"finfo: dtype {dtype.name} is not a floating type (at {user_location()}); "
            "use iinfo for integers."
        )
    return ml_dtypes.finfo(dtype)


@api_boundary
def iinfo(int_type):
    """Machine limits of an integer dtype, as `numpy.iinfo`.

    >>> int(iinfo(jnp.int8).max)
    127
    """
    dtype = _to_dtype(int_type, "iinfo")
    if dtypes.dtype_kind(dtype) not in "iu":
        raise ValueError(
            f"iinfo: dtype {dtype.name} is not an integer type (at {user_location()}); "
            "use finfo for floating types."
        )
    return ml_dtypes.iinfo(dtype)


def _dtype_of(x) -> np.dtype:
    if isinstance(x, (Array, Tracer)) or is_python_scalar(x):
        return get_aval(x).dtype
    return np.asarray(x).dtype


@api_boundary
def iscomplexobj(x) -> bool:
    """Whether `x` has a complex dtype (its values are not looked at).

    >>> iscomplexobj(1j)
    True
    """
    return _dtype_of(x).kind == "c"


@api_boundary
def isrealobj(x) -> bool:
    """Whether `x` does not have a complex dtype.

    >>> isrealobj(jnp.ones(2))
    True
    """
    return not iscomplexobj(x)


@api_boundary
def isscalar(element) -> bool:
    """Whether `element` is a scalar: a 0-d array (unlike NumPy, funcgrad and JAX count
    them), or anything `numpy.isscalar` accepts (Python and NumPy numbers, strings).

    >>> isscalar(jnp.asarray(1.0)), isscalar(jnp.ones(2))
    (True, False)
    """
    if isinstance(element, (Array, Tracer, np.ndarray)):
        return element.ndim == 0
    return bool(np.isscalar(element))
