"""funcgrad.numpy's elementwise functions against NumPy, eagerly and traced.

Tables list each function with a NumPy reference (computed in float64 from the same
inputs, or at the integer dtype for integer results), an input domain and the result
dtype JAX gives (`same`, `inexact`: integers become float32, `bool`, `numeric`: bool
becomes int32). Every (function, dtype) runs over 0-d, empty and broadcasting shapes,
eagerly and as `make_jaxpr` + `eval_jaxpr`, which must agree exactly. Hand-derived tables
cover JAX's own choices (half-to-even rounding, integer powers, bool add, the primitives
chosen), hypothesis properties check division, rounding and shifts against Python's
integers and floats, and every bad input has a test naming this file's line.
"""

from __future__ import annotations

import math
import operator

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32, U8, I8 = np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.int8)
C64 = np.dtype(np.complex64)
BOOL = np.dtype(np.bool_)
FLOATS = (F32, F16, BF16)
INTS = (I32, U8)
REALS = FLOATS + INTS
ALL = REALS + (BOOL,)
TOLERANCE = {F32: 2e-6, F16: 2e-3, BF16: 1.6e-2}

UNARY_SHAPES = [(), (0,), (5,), (2, 3)]
BINARY_SHAPES = [
    ((), ()),
    ((5,), ()),
    ((), (2, 3)),
    ((2, 3), (3,)),
    ((2, 1), (1, 3)),
    ((0,), (0,)),
    ((0, 3), (3,)),
    ((2, 0, 3), (1, 3)),
]


def is_float(dtype) -> bool:
    return dtype in FLOATS


def result_dtype(rule: str, dtype: np.dtype) -> np.dtype:
    if rule == "bool":
        return BOOL
    if rule == "inexact":
        return dtype if dtype in FLOATS or dtype == C64 else F32
    if rule == "numeric":
        return I32 if dtype == BOOL else dtype
    if rule == "real":
        return F32 if dtype == C64 else dtype
    return dtype


def draw(rng, shape, dtype, domain, specials=False):
    low, high = domain
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        whole = rng.integers(
            max(math.ceil(low), info.min), min(math.floor(high), info.max) + 1, shape
        )
        return whole.astype(dtype)
    if dtype == C64:
        return (rng.uniform(low, high, shape) + 1j * rng.uniform(low, high, shape)).astype(C64)
    # Whole and half numbers a third of the time each, so ties and equalities occur.
    x = rng.uniform(low, high, shape)
    choice = rng.integers(0, 3, shape)
    x = np.where(choice == 0, np.round(x), np.where(choice == 1, np.round(2 * x) / 2, x))
    x = np.clip(x, low, high)
    if specials:
        pick = rng.random(shape) < 0.3
        x = np.where(pick, np.array([np.inf, -np.inf, np.nan, -0.0])[rng.integers(0, 4, shape)], x)
    return x.astype(dtype)


def to_reference(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if is_float(x.dtype) else x


def assert_matches(got, want, out_dtype, context):
    assert isinstance(got, funcgrad.Array), context
    assert (got.dtype, got.shape) == (out_dtype, np.shape(want)), context
    got_values = np.asarray(got)
    want = np.asarray(want)
    if is_float(out_dtype) or out_dtype == C64:
        tol = TOLERANCE.get(out_dtype, 2e-6)
        np.testing.assert_allclose(
            got_values.astype(np.complex128 if out_dtype == C64 else np.float64),
            want,
            rtol=tol,
            atol=tol,
            err_msg=context,
        )
    else:
        np.testing.assert_array_equal(got_values, want.astype(out_dtype), err_msg=context)


def assert_traced_agrees(fun, args, eager):
    closed = funcgrad.make_jaxpr(fun)(*args)
    traced = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager = list(eager) if isinstance(eager, tuple) else [eager]
    assert closed.out_avals == [e.aval for e in eager]
    for t, e in zip(traced, eager):
        assert_agrees_with_op_by_op(e, t)


# ---------------------------------------------------------------------------------------
# Unary functions: name, reference, domain, result rule, dtypes, inputs with inf/NaN


def sinc_reference(x):
    return np.sinc(x)


UNARY = [
    ("sqrt", np.sqrt, (0, 9), "inexact", REALS, False),
    ("cbrt", lambda x: np.sign(x) * np.abs(x) ** (1 / 3), (-8, 8), "inexact", REALS, False),
    ("exp", np.exp, (-3, 3), "inexact", REALS[:-1], False),
    ("exp2", lambda x: 2.0**x, (-3, 3), "inexact", FLOATS + (I8,), False),
    ("expm1", np.expm1, (-2, 2), "inexact", REALS, False),
    ("log", np.log, (0.1, 9), "inexact", REALS[:-1], False),
    ("log2", lambda x: np.log(x) / np.log(2), (0.1, 9), "inexact", REALS, False),
    ("log10", lambda x: np.log(x) / np.log(10), (0.1, 9), "inexact", REALS, False),
    ("log1p", np.log1p, (-0.9, 5), "inexact", REALS, False),
    ("tan", np.tan, (-1.3, 1.3), "inexact", FLOATS + (I32,), False),
    ("arcsin", np.arcsin, (-0.95, 0.95), "inexact", FLOATS, False),
    ("arccos", np.arccos, (-0.95, 0.95), "inexact", FLOATS, False),
    ("arctan", np.arctan, (-4, 4), "inexact", REALS, False),
    ("sinh", np.sinh, (-3, 3), "inexact", REALS, False),
    ("cosh", np.cosh, (-3, 3), "inexact", REALS, False),
    ("tanh", np.tanh, (-3, 3), "inexact", REALS, False),
    ("arcsinh", np.arcsinh, (-4, 4), "inexact", REALS, False),
    ("arccosh", np.arccosh, (1, 5), "inexact", REALS, False),
    ("arctanh", np.arctanh, (-0.9, 0.9), "inexact", FLOATS, False),
    ("deg2rad", lambda x: x * np.pi / 180, (-360, 360), "inexact", REALS, False),
    ("radians", lambda x: x * np.pi / 180, (-360, 360), "inexact", FLOATS, False),
    ("rad2deg", lambda x: x * 180 / np.pi, (-4, 4), "inexact", REALS, False),
    ("degrees", lambda x: x * 180 / np.pi, (-4, 4), "inexact", FLOATS, False),
    ("sinc", sinc_reference, (-3, 3), "inexact", FLOATS + (I32,), False),
    ("reciprocal", lambda x: 1 / x, (1, 4), "inexact", REALS, False),
    ("square", np.square, (-10, 10), "numeric", ALL, False),
    ("abs", np.abs, (-5, 5), "same", ALL, True),
    ("absolute", np.abs, (-5, 5), "same", REALS, True),
    ("fabs", np.abs, (-5, 5), "inexact", REALS, True),
    ("sign", np.sign, (-5, 5), "same", REALS, True),
    ("negative", np.negative, (-5, 5), "same", FLOATS + (I32,), True),
    ("positive", lambda x: x, (-5, 5), "same", ALL, True),
    ("floor", np.floor, (-5, 5), "same", REALS, True),
    ("ceil", np.ceil, (-5, 5), "same", REALS, True),
    ("trunc", np.trunc, (-5, 5), "same", REALS, True),
    ("fix", np.trunc, (-5, 5), "same", REALS, True),
    ("rint", np.round, (-5, 5), "inexact", REALS, True),
    ("round", np.round, (-5, 5), "same", REALS, True),
    ("around", np.round, (-5, 5), "same", REALS, True),
    ("isnan", np.isnan, (-5, 5), "bool", ALL, True),
    ("isinf", np.isinf, (-5, 5), "bool", ALL, True),
    ("isfinite", np.isfinite, (-5, 5), "bool", ALL, True),
    ("isposinf", np.isposinf, (-5, 5), "bool", REALS, True),
    ("isneginf", np.isneginf, (-5, 5), "bool", REALS, True),
    ("signbit", np.signbit, (-5, 5), "bool", ALL, True),
    ("nan_to_num", None, (-5, 5), "same", REALS, True),
    ("logical_not", np.logical_not, (-2, 2), "bool", ALL, True),
    ("invert", np.invert, (0, 255), "same", INTS + (I8, BOOL), False),
    ("bitwise_not", np.invert, (-128, 127), "same", (I8, I32, BOOL), False),
    ("real", np.real, (-5, 5), "same", REALS, False),
    ("imag", np.imag, (-5, 5), "same", REALS, False),
    ("conj", np.conj, (-5, 5), "same", REALS, False),
    ("conjugate", np.conj, (-5, 5), "same", REALS, False),
    ("angle", np.angle, (-5, 5), "inexact", FLOATS + (I32,), False),
    ("real", np.real, (-3, 3), "real", (C64,), False),
    ("imag", np.imag, (-3, 3), "real", (C64,), False),
    ("conj", np.conj, (-3, 3), "same", (C64,), False),
    ("abs", np.abs, (-3, 3), "real", (C64,), False),
    ("angle", np.angle, (-3, 3), "real", (C64,), False),
    ("sqrt", np.sqrt, (-3, 3), "same", (C64,), False),
    ("exp", np.exp, (-3, 3), "same", (C64,), False),
    ("sign", lambda z: np.where(z == 0, 0, z / np.abs(z)), (-3, 3), "same", (C64,), False),
    ("isfinite", np.isfinite, (-3, 3), "bool", (C64,), False),
    ("square", np.square, (-3, 3), "same", (C64,), False),
]


def nan_to_num_reference(x):
    if x.dtype.kind in "biu":
        return x
    info = ml_dtypes.finfo(x.dtype)
    wide = x.astype(np.float64)
    wide = np.where(np.isnan(wide), 0.0, wide)
    wide = np.where(wide == np.inf, float(info.max), wide)
    return np.where(wide == -np.inf, float(info.min), wide)


def unary_reference(name, reference, x, rule):
    if rule == "inexact" and x.dtype.kind in "biu":
        x = x.astype(np.float64)
    if name == "nan_to_num":
        return nan_to_num_reference(x)
    if name in ("signbit",) and is_float(x.dtype):
        return np.signbit(x.astype(np.float32))  # NumPy has no bfloat16 signbit loop
    return reference(to_reference(x))


def unary_cases():
    for name, reference, domain, rule, dtypes, specials in UNARY:
        for dtype in dtypes:
            yield pytest.param(
                name, reference, domain, rule, dtype, specials, id=f"{name}-{dtype.name}"
            )


@pytest.mark.parametrize("name, reference, domain, rule, dtype, specials", list(unary_cases()))
def test_unary_matches_numpy(name, reference, domain, rule, dtype, specials):
    fun = getattr(jnp, name)
    rng = np.random.default_rng(len(name) * 31 + dtype.num)
    for shape in UNARY_SHAPES:
        x = draw(rng, shape, dtype, domain, specials and is_float(dtype))
        with np.errstate(all="ignore"):
            want = unary_reference(name, reference, x, rule)
        got = fun(x)
        context = f"{name}({x!r})"
        assert_matches(got, want, result_dtype(rule, dtype), context)
        assert_traced_agrees(fun, [x], got)


# ---------------------------------------------------------------------------------------
# Binary functions with broadcasting


def python_floor_divide(x, y):
    return np.floor_divide(x, y)


BINARY = [
    ("minimum", np.minimum, (-3, 3), (-3, 3), "same", ALL, True),
    ("maximum", np.maximum, (-3, 3), (-3, 3), "same", ALL, True),
    ("fmin", np.fmin, (-3, 3), (-3, 3), "same", REALS, True),
    ("fmax", np.fmax, (-3, 3), (-3, 3), "same", REALS, True),
    ("arctan2", np.arctan2, (-3, 3), (-3, 3), "inexact", REALS, False),
    ("hypot", np.hypot, (-5, 5), (-5, 5), "inexact", REALS, True),
    ("logaddexp", np.logaddexp, (-5, 5), (-5, 5), "inexact", REALS, True),
    ("logaddexp2", np.logaddexp2, (-5, 5), (-5, 5), "inexact", REALS, True),
    ("copysign", np.copysign, (-5, 5), (-5, 5), "inexact", REALS, True),
    ("heaviside", np.heaviside, (-2, 2), (0, 1), "inexact", REALS, False),
    ("remainder", np.remainder, (-20, 20), (1, 4), "numeric", REALS, False),
    ("mod", np.remainder, (-20, 20), (-4, -1), "numeric", FLOATS + (I32,), False),
    ("fmod", np.fmod, (-20, 20), (-4, -1), "numeric", FLOATS + (I32,), False),
    ("fmod", np.fmod, (-20, 20), (1, 4), "numeric", REALS, False),
    ("floor_divide", python_floor_divide, (-20, 20), (1, 4), "numeric", REALS, False),
    ("floor_divide", python_floor_divide, (-20, 20), (-4, -1), "numeric", FLOATS + (I32,), False),
    ("power", np.power, (-3, 3), (0, 3), "numeric", (I32, U8, I8), False),
    ("power", np.power, (0.5, 3), (-2, 2), "same", FLOATS, False),
    ("float_power", np.power, (0.5, 3), (-2, 2), "inexact", REALS, False),
    ("logical_and", np.logical_and, (-1, 1), (-1, 1), "bool", ALL, False),
    ("logical_or", np.logical_or, (-1, 1), (-1, 1), "bool", ALL, False),
    ("logical_xor", np.logical_xor, (-1, 1), (-1, 1), "bool", ALL, False),
    ("bitwise_and", np.bitwise_and, (-200, 200), (-200, 200), "same", (I32, U8, I8, BOOL), False),
    ("bitwise_or", np.bitwise_or, (-200, 200), (-200, 200), "same", (I32, U8, I8, BOOL), False),
    ("bitwise_xor", np.bitwise_xor, (-200, 200), (-200, 200), "same", (I32, U8, I8, BOOL), False),
    ("left_shift", np.left_shift, (-100, 100), (0, 7), "same", (I32, U8, I8), False),
    ("right_shift", np.right_shift, (-100, 200), (0, 7), "same", (I32, U8, I8), False),
    ("add", np.add, (-3, 3), (-3, 3), "same", ALL, False),
    ("multiply", np.multiply, (-3, 3), (-3, 3), "same", ALL, False),
]


def binary_reference(reference, x, y, rule):
    if rule == "inexact" and x.dtype.kind in "biu":
        return reference(x.astype(np.float64), y.astype(np.float64))
    if x.dtype.kind in "biu":
        return reference(x, y)
    return reference(to_reference(x), to_reference(y))


def binary_cases():
    for name, reference, x_domain, y_domain, rule, dtypes, specials in BINARY:
        for dtype in dtypes:
            yield pytest.param(
                name,
                reference,
                x_domain,
                y_domain,
                rule,
                dtype,
                specials,
                id=f"{name}-{y_domain}-{dtype.name}",
            )


@pytest.mark.parametrize(
    "name, reference, x_domain, y_domain, rule, dtype, specials", list(binary_cases())
)
def test_binary_matches_numpy_with_broadcasting(
    name, reference, x_domain, y_domain, rule, dtype, specials
):
    fun = getattr(jnp, name)
    rng = np.random.default_rng(len(name) * 17 + dtype.num)
    for x_shape, y_shape in BINARY_SHAPES:
        x = draw(rng, x_shape, dtype, x_domain, specials and is_float(dtype))
        y = draw(rng, y_shape, dtype, y_domain, specials and is_float(dtype))
        with np.errstate(all="ignore"):
            want = binary_reference(reference, x, y, rule)
        got = fun(x, y)
        assert_matches(got, want, result_dtype(rule, dtype), f"{name}({x!r}, {y!r})")
        assert_traced_agrees(fun, [x, y], got)


@pytest.mark.parametrize("dtype", [F32, F16, I32, U8], ids=lambda d: d.name)
def test_divmod_is_floor_divide_and_remainder(dtype):
    rng = np.random.default_rng(7)
    for x_shape, y_shape in BINARY_SHAPES:
        x = draw(rng, x_shape, dtype, (-20, 20))
        y = draw(rng, y_shape, dtype, (1, 4))
        quotient, remainder = jnp.divmod(x, y)
        want_q, want_r = np.divmod(to_reference(x), to_reference(y))
        assert_matches(quotient, want_q, dtype, "divmod quotient")
        assert_matches(remainder, want_r, dtype, "divmod remainder")
        assert_traced_agrees(jnp.divmod, [x, y], (quotient, remainder))


CLIP_CASES = [
    ("positional", lambda x: jnp.clip(x, -1, 2), lambda x: np.clip(x, -1, 2)),
    ("min_only", lambda x: jnp.clip(x, min=0), lambda x: np.maximum(x, 0)),
    ("max_only", lambda x: jnp.clip(x, max=1), lambda x: np.minimum(x, 1)),
    ("a_min_a_max", lambda x: jnp.clip(x, a_min=-1, a_max=1), lambda x: np.clip(x, -1, 1)),
    ("a_keyword", lambda x: jnp.clip(a=x, a_min=0, a_max=1), lambda x: np.clip(x, 0, 1)),
    ("method", lambda x: jnp.asarray(x).clip(-2, 0), lambda x: np.clip(x, -2, 0)),
    ("neither", lambda x: jnp.clip(x), lambda x: x),
    (
        "array_bounds",
        lambda x: jnp.clip(x, np.full(x.shape[-1:], -1, x.dtype), 2),
        lambda x: np.clip(x, -1, 2),
    ),
]


@pytest.mark.parametrize("dtype", [F32, F16, BF16, I32, I8], ids=lambda d: d.name)
@pytest.mark.parametrize("label, fun, reference", CLIP_CASES, ids=[c[0] for c in CLIP_CASES])
def test_clip(label, fun, reference, dtype):
    rng = np.random.default_rng(3)
    for shape in [(), (0,), (6,), (2, 3)]:
        if label == "array_bounds" and not shape:
            continue
        x = draw(rng, shape, dtype, (-4, 4))
        got = fun(x)
        assert_matches(got, reference(to_reference(x)), dtype, f"clip {label} {x!r}")
        assert_traced_agrees(fun, [x], got)


def test_clip_propagates_nan_and_promotes_like_maximum():
    out = jnp.clip(np.array([np.nan, 5.0], np.float32), 0, 1)
    assert np.isnan(np.asarray(out)[0]) and np.asarray(out)[1] == 1.0
    # An int32 array clipped by float bounds computes in float32, as in JAX.
    out = jnp.clip(np.array([1, 5], np.int32), 0.5, 2.5)
    assert out.dtype == F32 and np.asarray(out).tolist() == [1.0, 2.5]


# ---------------------------------------------------------------------------------------
# JAX's own rules, hand-derived


def test_round_is_half_to_even():
    x = np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, 0.49999997], np.float32)
    expected = [-2.0, -2.0, -0.0, 0.0, 2.0, 2.0, 4.0, 0.0]
    for fun in (jnp.round, jnp.around, jnp.rint, lambda v: jnp.asarray(v).round()):
        assert np.asarray(fun(x)).tolist() == expected


def test_round_with_decimals():
    x = np.array([1.2345, -2.5551, 0.125, 1234.5], np.float32)
    assert np.allclose(np.asarray(jnp.round(x, 2)), [1.23, -2.56, 0.12, 1234.5])
    assert np.asarray(jnp.round(x, -2)).tolist() == [0.0, -0.0, 0.0, 1200.0]
    halves = jnp.round(np.array([1.25, 2.75], np.float16), 1)  # 12.5 -> 12, 27.5 -> 28
    assert np.asarray(halves).tolist() == np.array([1.2, 2.8], np.float16).tolist()
    ints = np.array([15, -25], np.int32)
    assert np.asarray(jnp.round(ints, 1)).tolist() == [15, -25]


def test_rint_of_integers_is_float32_and_complex_parts_round_separately():
    assert jnp.rint(np.array([1, 2], np.int32)).dtype == F32
    z = np.array([1.5 + 2.5j, -0.5 - 1.7j], np.complex64)
    assert np.asarray(jnp.round(z)).tolist() == [2 + 2j, -0.0 - 2j]


@pytest.mark.parametrize(
    "fun, expected",
    [
        (lambda: jnp.sqrt(2.0), (F32, True)),
        (lambda: jnp.floor(2.5), (F32, True)),
        (lambda: jnp.square(3), (I32, True)),
        (lambda: jnp.remainder(np.array([5.0], np.float16), 3), (F16, False)),
        (lambda: jnp.power(np.array([2], np.int8), 3), (I8, False)),
        (lambda: jnp.power(np.array([2.0], np.float16), 2), (F16, False)),
        (lambda: jnp.power(2, 3), (I32, True)),
        (lambda: jnp.abs(np.array([3 + 4j], np.complex64)), (F32, False)),
        (lambda: jnp.floor_divide(np.array([7], np.uint8), 2), (U8, False)),
        (lambda: jnp.left_shift(np.array([1], np.int8), 3), (I8, False)),
        (lambda: jnp.isnan(2.0), (BOOL, False)),
        (lambda: jnp.clip(np.array([1.0], np.float16), 0, 1), (F16, False)),
        (lambda: jnp.logaddexp(np.array([1.0], BF16), 0.0), (BF16, False)),
        (lambda: jnp.reciprocal(np.array([2], np.int32)), (F32, False)),
    ],
)
def test_result_dtype_and_weak_type(fun, expected):
    out = fun()
    assert (out.dtype, out.weak_type) == expected


def test_power_of_integers_is_exact_and_follows_jax():
    x = np.array([2, -3, 0, 1, -1, 5], np.int32)
    y = np.array([10, 3, 0, 7, 63, 0], np.int32)
    expected = [1024, -27, 1, 1, -1, 1]
    assert np.asarray(jnp.power(x, y)).tolist() == expected
    assert np.asarray(x ** jnp.asarray(y)).tolist() == expected
    assert np.asarray(
        jnp.power(np.array([0, 0], np.int32), np.array([0, 5], np.int32))
    ).tolist() == [
        1,
        0,
    ]


def test_power_picks_integer_pow_for_a_fixed_integer_exponent():
    x = np.ones(3, np.float32)
    assert primitives_of(lambda v: v**2, x) == ["integer_pow"]
    assert primitives_of(lambda v: jnp.square(v), x) == ["integer_pow"]
    assert primitives_of(lambda v: v**2.5, x) == ["pow"]
    assert primitives_of(lambda v: jnp.clip(v, 0, 1), x) == ["max", "min"]
    assert primitives_of(lambda v: jnp.sqrt(v), x) == ["sqrt"]


def primitives_of(fun, *args):
    closed = funcgrad.make_jaxpr(fun)(*args)
    return [eqn.primitive.name for eqn in closed.eqns]


def test_add_and_multiply_of_bools_are_logical():
    x, y = np.array([True, True, False, False]), np.array([True, False, True, False])
    assert np.asarray(jnp.add(x, y)).tolist() == [True, True, True, False]
    assert np.asarray(jnp.multiply(x, y)).tolist() == [True, False, False, False]
    assert primitives_of(jnp.add, x, y) == ["or"]


def test_integer_division_by_zero_is_defined():
    x, zero = np.array([7, -7], np.int32), np.zeros(2, np.int32)
    assert np.asarray(jnp.remainder(x, zero)).tolist() == [0, 0]
    assert np.asarray(jnp.fmod(x, zero)).tolist() == [0, 0]
    assert np.asarray(lax.rem(x, zero)).tolist() == [7, -7]


def test_float_remainder_and_floor_divide_special_values():
    x = np.array([5.0, -5.0, np.inf, 1.0], np.float32)
    y = np.array([np.inf, np.inf, 2.0, 0.0], np.float32)
    np.testing.assert_array_equal(np.asarray(jnp.fmod(x, y)), [5.0, -5.0, np.nan, np.nan])
    assert np.isnan(np.asarray(jnp.remainder(x, y))[2:]).all()


def test_signbit_and_copysign_see_negative_zero_and_nan():
    x = np.array([-0.0, 0.0, -np.nan, np.nan, -np.inf, 1.0], np.float32)
    assert np.asarray(jnp.signbit(x)).tolist() == [True, False, True, False, True, False]
    for dtype in (F16, BF16):
        assert np.asarray(jnp.signbit(x.astype(dtype))).tolist()[:2] == [True, False]
    out = np.asarray(jnp.copysign(np.float32(2.0), x))
    assert out.tolist() == [-2.0, 2.0, -2.0, 2.0, -2.0, 2.0]


def test_logaddexp_is_stable():
    x = np.array([1000.0, -1000.0, -np.inf, np.inf, -np.inf], np.float32)
    y = np.array([1000.0, -1000.0, -np.inf, np.inf, 0.0], np.float32)
    got = np.asarray(jnp.logaddexp(x, y))
    expected = [1000.0 + math.log(2), -1000.0 + math.log(2), -np.inf, np.inf, 0.0]
    np.testing.assert_allclose(got, expected, rtol=1e-6)


def test_hypot_avoids_overflow_and_handles_infinity():
    x = np.array([3e30, 0.0, np.inf, np.nan], np.float32)
    y = np.array([4e30, 0.0, np.nan, 1.0], np.float32)
    got = np.asarray(jnp.hypot(x, y))
    np.testing.assert_allclose(got[:3], [5e30, 0.0, np.inf], rtol=1e-6)
    assert np.isnan(got[3])


def test_nan_to_num_custom_values_and_complex():
    x = np.array([np.nan, np.inf, -np.inf, 1.5], np.float32)
    got = jnp.nan_to_num(x, nan=-1.0, posinf=9.0, neginf=-9.0)
    assert np.asarray(got).tolist() == [-1.0, 9.0, -9.0, 1.5]
    z = np.array([complex(np.nan, np.inf), complex(1, -np.inf)], np.complex64)
    big = float(np.finfo(np.float32).max)
    assert np.asarray(jnp.nan_to_num(z)).tolist() == [complex(0, big), complex(1, -big)]


def test_complex_helpers_on_real_input_follow_jax():
    x = np.array([1.0, -2.0], np.float32)
    assert np.asarray(jnp.imag(x)).tolist() == [0.0, 0.0]
    assert primitives_of(jnp.conj, x) == []
    assert np.asarray(jnp.angle(np.array([1.0 + 1.0j], np.complex64), deg=True)).tolist() == [45.0]


def test_isinf_and_isfinite_of_complex():
    z = np.array([complex(np.inf, 0), complex(0, np.nan), 1 + 1j], np.complex64)
    assert np.asarray(jnp.isinf(z)).tolist() == [True, False, False]
    assert np.asarray(jnp.isfinite(z)).tolist() == [False, False, True]
    assert np.asarray(jnp.isnan(z)).tolist() == [False, True, False]


# ---------------------------------------------------------------------------------------
# Operators and methods of arrays and tracers

OPERATOR_CASES = [
    ("abs", operator.abs, 1, (F32, I32)),
    ("invert", operator.invert, 1, (I32, U8, BOOL)),
    ("and", operator.and_, 2, (I32, U8, BOOL)),
    ("or", operator.or_, 2, (I32, U8, BOOL)),
    ("xor", operator.xor, 2, (I32, U8, BOOL)),
    ("lshift", operator.lshift, 2, (I32, U8)),
    ("rshift", operator.rshift, 2, (I32, U8)),
    ("mod", operator.mod, 2, (F32, I32)),
    ("floordiv", operator.floordiv, 2, (F32, I32)),
    ("pow", operator.pow, 2, (F32, I32)),
]


@pytest.mark.parametrize(
    "label, op, arity, dtypes", OPERATOR_CASES, ids=[c[0] for c in OPERATOR_CASES]
)
def test_operators_match_numpy(label, op, arity, dtypes):
    rng = np.random.default_rng(11)
    for dtype in dtypes:
        low, high = (1, 5) if arity == 2 else (-5, 5)
        args = [draw(rng, (2, 3), dtype, (low, high)) for _ in range(arity)]
        want = op(*args)
        got = op(*map(jnp.asarray, args))
        assert_matches(got, want, dtype, label)
        if arity == 2:
            # Reflected: a NumPy scalar or Python int on the left.
            scalar = 3 if dtype != BOOL else True
            assert_matches(
                op(scalar, jnp.asarray(args[1])),
                op(np.asarray(scalar, dtype), args[1]),
                dtype,
                label,
            )
        traced = funcgrad.make_jaxpr(lambda *a: op(*a))(*args)
        # Within the dtype's tolerance, not bit for bit: under FUNCGRAD_TEST_JIT `got` is a
        # compiled result (LLVM's pow is within 2 ulp) and eval_jaxpr runs eagerly.
        evaluated = eval_jaxpr(traced.jaxpr, traced.consts, *args)[0]
        assert_matches(evaluated, np.asarray(got), dtype, f"{label} eval_jaxpr")


def test_divmod_operator_and_methods():
    x = jnp.asarray(np.array([7.0, -7.0], np.float32))
    q, r = divmod(x, 2)
    assert np.asarray(q).tolist() == [3.0, -4.0] and np.asarray(r).tolist() == [1.0, 1.0]
    q, r = divmod(7, jnp.asarray(np.array([2, -2], np.int32)))
    assert np.asarray(q).tolist() == [3, -4] and np.asarray(r).tolist() == [1, -1]
    z = jnp.asarray(np.array([1 + 2j], np.complex64))
    assert np.asarray(z.real).tolist() == [1.0] and np.asarray(z.imag).tolist() == [2.0]
    assert np.asarray(z.conj()).tolist() == [1 - 2j] and np.asarray(z.conjugate()).tolist() == [
        1 - 2j
    ]
    assert np.asarray(x.round()).tolist() == [7.0, -7.0]
    assert np.asarray(jnp.asarray(np.array([1.26], np.float32)).round(1)).tolist() == [
        np.float32(1.3)
    ]


def test_methods_work_on_tracers():
    def fun(x):
        return x.real + x.imag + abs(x) + x.round() + x.clip(0, 1) + x.conj() + (x // 2) + (x % 2)

    x = np.array([1.5, -2.5], np.float32)
    closed = funcgrad.make_jaxpr(fun)(x)
    (traced,) = eval_jaxpr(closed.jaxpr, closed.consts, x)
    expected = x + 0 + np.abs(x) + np.round(x) + np.clip(x, 0, 1) + x + x // 2 + x % 2
    np.testing.assert_allclose(np.asarray(traced), expected)


# ---------------------------------------------------------------------------------------
# Properties against Python's own arithmetic

int32s = st.integers(-(2**31), 2**31 - 1)
nonzero_int32s = int32s.filter(lambda v: v != 0)


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-1000, 1000), st.integers(-50, 50).filter(bool)),
        min_size=1,
        max_size=8,
    )
)
def test_integer_floor_division_and_remainder_match_python(pairs):
    x = np.array([a for a, _ in pairs], np.int32)
    y = np.array([b for _, b in pairs], np.int32)
    assert np.asarray(jnp.floor_divide(x, y)).tolist() == [a // b for a, b in pairs]
    assert np.asarray(jnp.remainder(x, y)).tolist() == [a % b for a, b in pairs]
    assert np.asarray(jnp.fmod(x, y)).tolist() == [int(math.fmod(a, b)) for a, b in pairs]


@settings(max_examples=30, deadline=None)
@given(st.lists(st.floats(-1e6, 1e6, width=32), min_size=1, max_size=8))
def test_round_matches_python_round_half_even(values):
    x = np.array(values, np.float32)
    assert np.asarray(jnp.round(x)).tolist() == [float(round(v)) for v in x.tolist()]
    away = [math.copysign(math.floor(abs(v) + 0.5), v) for v in x.astype(np.float64).tolist()]
    assert np.asarray(lax.round(x)).tolist() == away


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(int32s, st.integers(0, 31)), min_size=1, max_size=8))
def test_shifts_match_python_integers(pairs):
    x = np.array([a for a, _ in pairs], np.int32)
    s = np.array([b for _, b in pairs], np.int32)
    wrap = lambda v: (v + 2**31) % 2**32 - 2**31  # noqa: E731
    assert np.asarray(jnp.left_shift(x, s)).tolist() == [wrap(a << b) for a, b in pairs]
    assert np.asarray(jnp.right_shift(x, s)).tolist() == [a >> b for a, b in pairs]
    unsigned = x.astype(np.uint32)
    assert np.asarray(jnp.right_shift(unsigned, s.astype(np.uint32))).tolist() == [
        (a % 2**32) >> b for a, b in pairs
    ]


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from([(), (1,), (3,), (2, 1), (1, 3), (2, 3)]),
    st.sampled_from([(), (1,), (3,), (2, 1), (1, 3), (2, 3)]),
    st.sampled_from(["minimum", "fmax", "remainder", "arctan2", "heaviside", "logical_xor"]),
)
def test_binary_broadcasting_property(x_shape, y_shape, name):
    rng = np.random.default_rng(0)
    x = draw(rng, x_shape, F32, (1, 4))
    y = draw(rng, y_shape, F32, (1, 4))
    got = getattr(jnp, name)(x, y)
    assert got.shape == np.broadcast_shapes(x_shape, y_shape)


# ---------------------------------------------------------------------------------------
# Bad input: NumPy's exception type, the function's name and the user's line


def assert_location(err: BaseException, fun) -> None:
    assert f"test_ufuncs.py:{fun.__code__.co_firstlineno}" in str(err), str(err)


f32_3, i32_3, c64_3 = np.ones(3, np.float32), np.ones(3, np.int32), np.ones(3, np.complex64)

BAD_INPUTS = [
    ("broadcast", ValueError, "minimum", lambda: jnp.minimum(np.ones(3), np.ones(4))),
    ("broadcast_fmod", ValueError, "fmod", lambda: jnp.fmod(np.ones((2, 3)), np.ones(2))),
    ("negative_int_power", ValueError, "power", lambda: jnp.power(i32_3, -2)),
    (
        "negative_int_power_array",
        ValueError,
        "power",
        lambda: jnp.power(i32_3, np.array([1, -1, 2], np.int32)),
    ),
    ("bitwise_of_float", TypeError, "bitwise_and", lambda: jnp.bitwise_and(f32_3, f32_3)),
    ("invert_of_float", TypeError, "invert", lambda: ~jnp.asarray(f32_3)),
    ("shift_of_float", TypeError, "left_shift", lambda: jnp.left_shift(f32_3, 1)),
    ("shift_of_bool", TypeError, "right_shift", lambda: jnp.right_shift(np.ones(2, bool), True)),
    ("clip_complex", ValueError, "clip", lambda: jnp.clip(c64_3, 0, 1)),
    ("clip_twice", TypeError, "clip", lambda: jnp.clip(f32_3, 0, a_min=1)),
    ("fabs_complex", TypeError, "fabs", lambda: jnp.fabs(c64_3)),
    ("hypot_complex", TypeError, "hypot", lambda: jnp.hypot(c64_3, c64_3)),
    ("floor_divide_complex", TypeError, "floor_divide", lambda: jnp.floor_divide(c64_3, c64_3)),
    ("remainder_complex", TypeError, "remainder", lambda: jnp.remainder(c64_3, 2)),
    ("isposinf_complex", ValueError, "isposinf", lambda: jnp.isposinf(c64_3)),
    ("sign_of_bool", TypeError, "sign", lambda: jnp.sign(np.ones(2, bool))),
    ("round_float_decimals", TypeError, "round", lambda: jnp.round(f32_3, 1.5)),
    ("round_int_negative_decimals", NotImplementedError, "round", lambda: jnp.round(i32_3, -1)),
    ("cbrt_complex", TypeError, "cbrt", lambda: jnp.cbrt(c64_3)),
    ("subtract_bools", TypeError, "sub", lambda: jnp.subtract(np.ones(2, bool), np.ones(2, bool))),
]


@pytest.mark.parametrize("label, error, name, fun", BAD_INPUTS, ids=[c[0] for c in BAD_INPUTS])
@pytest.mark.eager_only("a NumPy exponent is traced by jit", params=["negative_int_power_array"])
def test_bad_input_raises_numpy_error_naming_function_and_line(label, error, name, fun):
    with pytest.raises(error) as info:
        fun()
    assert name in str(info.value)
    assert_location(info.value, fun)


# A traced exponent's values are unknown, so only a fixed one is checked under tracing.
TRACEABLE_BAD_INPUTS = [c for c in BAD_INPUTS if c[0] != "negative_int_power_array"]


@pytest.mark.parametrize(
    "label, error, name, fun", TRACEABLE_BAD_INPUTS, ids=[c[0] for c in TRACEABLE_BAD_INPUTS]
)
def test_bad_input_raises_under_make_jaxpr(label, error, name, fun):
    with pytest.raises(error) as info:
        funcgrad.make_jaxpr(lambda: fun())()
    assert name in str(info.value)


def test_traced_negative_integer_exponent_is_not_checked():
    # As in JAX, a traced exponent's values are unknown, so no error is possible.
    closed = funcgrad.make_jaxpr(jnp.power)(i32_3, np.array([1, -1, 2], np.int32))
    assert [aval.dtype for aval in closed.out_avals] == [I32]


# Errors of the lax primitives added with these functions.
LAX_ERRORS = [
    ("integer_pow", "i32[3]", lambda: lax.integer_pow(i32_3, -1)),
    (
        "clamp",
        "f32[2], f32[3], f32[2]",
        lambda: lax.clamp(np.zeros(2, np.float32), f32_3, np.ones(2, np.float32)),
    ),
    ("clamp", "i32[], f32[3], f32[]", lambda: lax.clamp(np.int32(0), f32_3, np.float32(1))),
    ("rem", "f32[3], i32[3]", lambda: lax.rem(f32_3, i32_3)),
    ("erf", "i32[3]", lambda: lax.erf(i32_3)),
    ("and", "f32[3], f32[3]", lambda: lax.bitwise_and(f32_3, f32_3)),
    ("shift_left", "bool[2], bool[2]", lambda: lax.shift_left(np.ones(2, bool), np.ones(2, bool))),
    ("real", "f32[3]", lambda: lax.real(f32_3)),
    ("abs", "u8[2]", lambda: lax.abs(np.ones(2, np.uint8))),
    ("bitcast_convert_type", "f32[3]", lambda: lax.bitcast_convert_type(f32_3, np.int16)),
    ("atan2", "c64[3], c64[3]", lambda: lax.atan2(c64_3, c64_3)),
]


@pytest.mark.parametrize(
    "primitive, operands, fun", LAX_ERRORS, ids=[f"{c[0]}-{c[1]}" for c in LAX_ERRORS]
)
def test_lax_shape_rule_errors(primitive, operands, fun):
    for run in (fun, lambda: funcgrad.make_jaxpr(fun)()):
        with pytest.raises(TypeError) as info:
            run()
        message = str(info.value)
        assert message.startswith(f"{primitive}:") and operands in message, message
        assert_location(info.value, fun)


def test_integer_pow_rejects_non_integer_exponents():
    with pytest.raises(TypeError, match="integer_pow"):
        lax.integer_pow(f32_3, 2.0)


def test_bitcast_convert_type_known_bits():
    bits = lax.bitcast_convert_type(np.array([1.0, -0.0, -2.0], np.float32), np.uint32)
    assert np.asarray(bits).tolist() == [0x3F800000, 0x80000000, 0xC0000000]
    bf16 = lax.bitcast_convert_type(np.array([1.0, -1.0], BF16), np.uint16)
    assert np.asarray(bf16).tolist() == [0x3F80, 0xBF80]
