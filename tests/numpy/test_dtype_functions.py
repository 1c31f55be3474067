"""The dtype functions of funcgrad.numpy: promote_types, result_type, can_cast,
issubdtype, isdtype, finfo, iinfo, the abstract scalar types and iscomplexobj/isrealobj/
isscalar.

Oracles: tests/data/jax_promotion.json (dtype and weak type of jnp.add for every pair of
dtypes and Python scalar kinds, recorded from JAX 0.10.2 with x64 off and on), NumPy for
can_cast/iinfo and the hierarchy of its own dtypes, ml_dtypes' documented bfloat16
constants, and hand-derived cases of JAX's lattice.
"""

from __future__ import annotations

import json
import pathlib

import ml_dtypes
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp

TABLE = json.loads(
    (pathlib.Path(__file__).parent.parent / "data" / "jax_promotion.json").read_text()
)
PYTHON_TYPES = {"int": int, "float": float, "complex": complex}
PYTHON_VALUES = {"int": 1, "float": 1.0, "complex": 1j}
BF16 = np.dtype(ml_dtypes.bfloat16)
NARROW = {"int64": "int32", "uint64": "uint32", "float64": "float32", "complex128": "complex64"}


def as_type(spec: str):
    """A table operand as a dtype-like: a Python type for weak kinds, a dtype otherwise."""
    kind, name = spec.split(":")
    return PYTHON_TYPES[name] if kind == "weak" else np.dtype(BF16 if name == "bfloat16" else name)


def as_value(spec: str):
    """A table operand as a value: a Python scalar for weak kinds, a NumPy 0-d array otherwise."""
    kind, name = spec.split(":")
    return (
        PYTHON_VALUES[name]
        if kind == "weak"
        else np.zeros((), BF16 if name == "bfloat16" else name)
    )


@pytest.fixture(params=["x32", "x64"])
def mode(request):
    previous = funcgrad.config.jax_enable_x64
    funcgrad.config.update("jax_enable_x64", request.param == "x64")
    try:
        yield request.param
    finally:
        funcgrad.config.update("jax_enable_x64", previous)


def narrow(dtype_like):
    if isinstance(dtype_like, type) and dtype_like in (int, float, complex):
        return dtype_like
    return np.dtype(NARROW.get(dtype_like.name, dtype_like.name))


def test_promote_types_matches_jax_for_every_pair(mode):
    # promote_types neither narrows its inputs nor its result: with x64 on it is exactly
    # JAX's add dtype; with x64 off, add narrows the operands first and the result after.
    mismatches = []
    for key, (want, _) in sorted(TABLE[mode].items()):
        left, right = (as_type(s) for s in key.split("|"))
        if mode == "x32":
            left, right = narrow(left), narrow(right)
        got = jnp.promote_types(left, right)
        assert isinstance(got, np.dtype)
        got_name = NARROW.get(got.name, got.name) if mode == "x32" else got.name
        if got_name != want:
            mismatches.append(f"{key}: got {got.name}, JAX's add gives {want}")
    assert not mismatches, "\n".join(mismatches)


def test_result_type_matches_jax_for_every_pair(mode):
    mismatches = []
    for key, (want_dtype, _) in sorted(TABLE[mode].items()):
        left, right = (as_value(s) for s in key.split("|"))
        dtype = jnp.result_type(left, right)
        if dtype.name != want_dtype:
            mismatches.append(f"{key}: got {dtype.name}, JAX: {want_dtype}")
    assert not mismatches, "\n".join(mismatches)


PROMOTIONS = [
    (np.int8, np.uint8, np.int16),
    (jnp.bfloat16, jnp.float16, np.float32),
    (np.uint32, np.int32, np.int64),
    (np.uint64, np.int8, np.float64),  # no integer holds both: the lattice goes to float
    (float, jnp.float16, np.float16),  # Python types are weak
    (int, jnp.uint8, np.uint8),
    (int, float, np.float64),
    (int, int, np.int64),
    (bool, int, np.int64),
    (complex, jnp.bfloat16, np.complex64),
    (jnp.float32, jnp.float64, np.float64),  # not narrowed, even with x64 off
    ("int16", "float16", np.float16),
    (jnp.bool_, jnp.bool_, np.bool_),
]


@pytest.mark.parametrize("a, b, want", PROMOTIONS)
def test_promote_types_hand_derived(a, b, want):
    assert jnp.promote_types(a, b) == np.dtype(want)
    assert jnp.promote_types(b, a) == np.dtype(want)


def test_result_type_of_arrays_scalars_and_dtypes():
    f16 = jnp.ones(2, jnp.float16)
    assert jnp.result_type(f16, 2.0) == np.float16
    assert jnp.result_type(jnp.asarray(2.0), f16) == np.float16  # a weak array adapts
    assert jnp.result_type(jnp.float32(2.0), f16) == np.float32  # a strong one does not
    assert jnp.result_type(1.0) == np.float32  # canonicalized (x64 is off)
    assert jnp.result_type(np.float64) == np.float32
    assert jnp.result_type(np.int8, np.uint8, jnp.float16) == np.float16
    assert jnp.result_type(jnp.int8, 1) == np.int8
    assert jnp.result_type(np.zeros(3, np.int16), np.int8(1)) == np.int16
    assert jnp.result_type(True, False) == np.bool_
    assert jnp.result_type(int, float) == np.float32
    assert jnp.result_type(np.uint64, np.int8) == np.int32  # narrowed first, as in JAX


def test_result_type_under_x64(x64):
    assert jnp.result_type(1.0) == np.float64
    assert jnp.result_type(np.float32, 1.0) == np.float32
    assert jnp.result_type(np.int32, np.uint32) == np.int64


def test_result_type_of_tracers():
    def f(x):
        assert jnp.result_type(x, 1.0) == np.float16
        assert jnp.result_type(x, np.float32) == np.float32
        return x

    funcgrad.make_jaxpr(f)(np.ones(2, np.float16))


DTYPES = ["bool", "int8", "int16", "int32", "uint8", "uint32", "float16", "float32", "complex64"]


@pytest.mark.parametrize("casting", ["no", "equiv", "safe", "same_kind", "unsafe"])
def test_can_cast_follows_numpy(casting):
    for a in DTYPES:
        for b in DTYPES:
            assert jnp.can_cast(a, b, casting) == np.can_cast(a, b, casting), (a, b)
    assert jnp.can_cast(jnp.ones(2, jnp.int8), jnp.int32)
    assert jnp.can_cast(jnp.bfloat16, jnp.float32) and not jnp.can_cast(jnp.float32, jnp.bfloat16)


ABSTRACT = [
    jnp.generic,
    jnp.number,
    jnp.inexact,
    jnp.floating,
    jnp.complexfloating,
    jnp.integer,
    jnp.signedinteger,
    jnp.unsignedinteger,
    jnp.bool_,
]


def test_issubdtype_follows_numpy_for_its_dtypes():
    for name in DTYPES + ["int64", "uint16", "float64", "complex128"]:
        for kind in ABSTRACT:
            numpy_kind = np.bool_ if kind is jnp.bool_ else kind
            assert jnp.issubdtype(name, kind) == np.issubdtype(name, numpy_kind), (name, kind)
    for a in (np.generic, np.number, np.inexact, np.floating, np.integer):
        for b in (np.generic, np.number, np.inexact, np.floating, np.integer):
            assert jnp.issubdtype(a, b) == np.issubdtype(a, b), (a, b)


def test_issubdtype_places_bfloat16_under_floating():
    assert jnp.issubdtype(jnp.bfloat16, jnp.floating)
    assert jnp.issubdtype(BF16, jnp.inexact) and jnp.issubdtype(BF16, jnp.number)
    assert not jnp.issubdtype(jnp.bfloat16, jnp.integer)
    assert not np.issubdtype(BF16, np.floating)  # why funcgrad answers this itself
    assert jnp.issubdtype(jnp.float32, jnp.float32) and not jnp.issubdtype(jnp.float32, jnp.float16)
    assert jnp.issubdtype(jnp.int8, np.int8) and jnp.issubdtype(float, jnp.floating)
    assert jnp.issubdtype(jnp.bool_, jnp.bool_) and not jnp.issubdtype(jnp.bool_, jnp.integer)
    assert jnp.floating is np.floating and jnp.integer is np.integer


@pytest.mark.parametrize(
    "dtype, kind, want",
    [
        (jnp.bfloat16, "real floating", True),
        (jnp.float32, "complex floating", False),
        (jnp.complex64, "complex floating", True),
        (jnp.uint8, "integral", True),
        (jnp.uint8, "signed integer", False),
        (jnp.int8, "signed integer", True),
        (jnp.bool_, "numeric", False),
        (jnp.bool_, "bool", True),
        (jnp.float16, "numeric", True),
        (jnp.int32, ("bool", "real floating"), False),
        (jnp.int32, ("bool", jnp.int32), True),
        (jnp.float32, jnp.float32, True),
        (jnp.float32, jnp.float16, False),
    ],
)
def test_isdtype(dtype, kind, want):
    assert jnp.isdtype(dtype, kind) is want


def test_finfo_and_iinfo():
    bf = jnp.finfo(jnp.bfloat16)
    assert float(bf.eps) == 2.0**-7 and float(bf.max) == pytest.approx(3.3895314e38, rel=1e-6)
    assert bf.bits == 16 and bf.dtype == BF16
    assert float(jnp.finfo(jnp.float16).max) == 65504.0
    assert jnp.finfo(np.float32).eps == np.finfo(np.float32).eps
    assert jnp.finfo(jnp.ones(2).dtype).tiny == np.finfo(np.float32).tiny
    assert jnp.finfo(jnp.complex64).eps == np.finfo(np.float32).eps
    assert (jnp.iinfo(jnp.int8).min, jnp.iinfo(jnp.int8).max) == (-128, 127)
    assert jnp.iinfo(np.uint32).max == np.iinfo(np.uint32).max
    assert jnp.iinfo("int16").bits == 16


@pytest.mark.parametrize(
    "x, complex_",
    [
        (1j, True),
        (1.0, False),
        (np.zeros(2, np.complex64), True),
        (jnp.ones(2), False),
        (jnp.asarray(np.ones(2, np.complex64)), True),
        ([1.0, 2j], True),
        (True, False),
    ],
)
def test_iscomplexobj_and_isrealobj(x, complex_):
    assert jnp.iscomplexobj(x) is complex_
    assert jnp.isrealobj(x) is (not complex_)


@pytest.mark.parametrize(
    "x, scalar",
    [
        (1, True),
        (2.5, True),
        (True, True),
        (1j, True),
        (np.float32(1), True),
        (jnp.asarray(1.0), True),  # unlike NumPy, 0-d arrays count (as in JAX)
        (np.asarray(1.0), True),
        (jnp.ones(2), False),
        ([1.0], False),
        ("a", True),  # numpy.isscalar's answer, which JAX keeps
        (None, False),
    ],
)
def test_isscalar(x, scalar):
    assert jnp.isscalar(x) is scalar


def test_isscalar_of_tracers():
    def f(x, y):
        assert jnp.isscalar(x) and not jnp.isscalar(y)
        return x

    funcgrad.make_jaxpr(f)(np.float32(1.0), np.ones(2, np.float32))


# Errors: the exception NumPy raises, naming the function and the user's line.
ERRORS = [
    (
        "promote_types_not_a_dtype",
        TypeError,
        ("promote_types", "'foo'"),
        lambda: jnp.promote_types("foo", np.int8),
    ),
    (
        "promote_types_unsupported",
        TypeError,
        ("promote_types", "not supported", "float32"),
        lambda: jnp.promote_types(np.str_, np.int8),
    ),
    ("result_type_empty", ValueError, ("result_type",), lambda: jnp.result_type()),
    ("finfo_of_int", ValueError, ("finfo", "int32"), lambda: jnp.finfo(jnp.int32)),
    ("iinfo_of_float", ValueError, ("iinfo", "float32"), lambda: jnp.iinfo(jnp.float32)),
    ("isdtype_kind", ValueError, ("isdtype", "'real'"), lambda: jnp.isdtype(jnp.float32, "real")),
    ("can_cast_scalar", TypeError, ("can_cast",), lambda: jnp.can_cast(1.0, jnp.float32)),
    (
        "issubdtype_object",
        TypeError,
        ("issubdtype",),
        lambda: jnp.issubdtype(object(), jnp.floating),
    ),
]


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_errors(exception, fragments, fun):
    with pytest.raises(exception) as info:
        fun()
    assert type(info.value) is exception
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert f"test_dtype_functions.py:{fun.__code__.co_firstlineno}" in str(info.value)


def test_numpy_raises_the_same_exception_classes():
    for fun, exception in [
        (lambda: np.promote_types("foo", np.int8), TypeError),
        (lambda: np.finfo(np.int32), ValueError),
        (lambda: np.iinfo(np.float32), ValueError),
        (lambda: np.isdtype(np.float32, "real"), ValueError),
        (lambda: np.can_cast(1.0, np.float32), TypeError),
    ]:
        with pytest.raises(exception):
            fun()
