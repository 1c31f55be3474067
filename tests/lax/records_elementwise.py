"""Op records for funcgrad/lax/elementwise.py: elementwise primitives.

References are computed independently in float64: NumPy where it has the function,
`math.erf`/`math.lgamma` for the special functions, a bisection on `math.erf` for
erf_inv, a finite difference of `math.lgamma` for digamma, and Python integers for the
shifts and bit counts."""

from __future__ import annotations

import math

import numpy as np
from op_records import (
    BF16,
    BOOL,
    EXACT,
    F16,
    F32,
    FLOATS,
    I8,
    I32,
    INTS,
    NUMERIC,
    ONE_OP,
    ORDERED,
    TRANSCENDENTAL,
    U8,
    OpRecord,
    base_and_exponent,
    convert_record,
    discrete,
    dividend_and_divisor,
    draw,
    elementwise,
    predicate_and_cases,
    truncating_div,
    uniform,
)

from funcgrad import lax
from funcgrad.lax import elementwise as lax_elementwise

RECORDS = [
    elementwise("add", np.add, 2, NUMERIC),
    elementwise("sub", np.subtract, 2, NUMERIC),
    elementwise("mul", np.multiply, 2, NUMERIC),
    elementwise("div", truncating_div, 2, NUMERIC, dividend_and_divisor),
    elementwise("neg", np.negative, 1, NUMERIC),
    elementwise("max", np.maximum, 2, ORDERED),
    elementwise("exp", np.exp, 1, FLOATS, tolerance=TRANSCENDENTAL),
    elementwise("log", np.log, 1, FLOATS, uniform(1, 0.1, 5.0), TRANSCENDENTAL),
    elementwise("tanh", np.tanh, 1, FLOATS, tolerance=TRANSCENDENTAL),
    elementwise("sin", np.sin, 1, FLOATS, tolerance=TRANSCENDENTAL),
    elementwise("cos", np.cos, 1, FLOATS, tolerance=TRANSCENDENTAL),
    elementwise("pow", np.power, 2, FLOATS, base_and_exponent, TRANSCENDENTAL),
    elementwise("eq", np.equal, 2, ORDERED, discrete(2), comparison=True),
    elementwise("ne", np.not_equal, 2, ORDERED, discrete(2), comparison=True),
    elementwise("lt", np.less, 2, ORDERED, discrete(2), comparison=True),
    elementwise("le", np.less_equal, 2, ORDERED, discrete(2), comparison=True),
    elementwise("gt", np.greater, 2, ORDERED, discrete(2), comparison=True),
    elementwise("ge", np.greater_equal, 2, ORDERED, discrete(2), comparison=True),
    OpRecord(
        "select",
        "select",
        "select_n",
        lax.select,
        lambda p, t, f: np.where(p, t, f),
        3,
        ORDERED,
        predicate_and_cases(2),
        EXACT,
    ),
    OpRecord(
        "select_n_bool",
        "select_n",
        "select_n",
        lax.select_n,
        lambda p, a, b: np.where(p, b, a),
        3,
        ORDERED,
        predicate_and_cases(2),
        EXACT,
    ),
    OpRecord(
        "select_n_int32_three_cases",
        "select_n",
        "select_n",
        lax.select_n,
        lambda w, a, b, c: np.where(w == 0, a, np.where(w == 1, b, c)),
        4,
        ORDERED,
        predicate_and_cases(3, selector=I32),
        EXACT,
    ),
    OpRecord(
        "select_n_scalar_predicate",
        "select_n",
        "select_n",
        lax.select_n,
        lambda p, a, b: b if p else a,
        3,
        ORDERED,
        predicate_and_cases(2, scalar_selector=True),
        EXACT,
    ),
    *(convert_record(target) for target in (F32, F16, BF16, I32, U8, I8, BOOL)),
]

C64 = np.dtype(np.complex64)
BITS = INTS + (BOOL,)


def record(name, reference, arity, dtypes, make_inputs=None, tolerance=ONE_OP, **fields):
    """An OpRecord of lax.<name>; `fields` override label, primitive, fun, out_dtype, shapes."""
    fields.setdefault("label", name)
    fields.setdefault("primitive", name)
    fields.setdefault("fun", getattr(lax, name))
    return OpRecord(
        name=name,
        reference=reference,
        arity=arity,
        dtypes=dtypes,
        make_inputs=make_inputs or uniform(arity),
        tolerance=tolerance,
        **fields,
    )


def with_specials(low, high):
    """Uniform values with inf, -inf, NaN, 0 and -0 mixed in (floats only)."""

    def make(rng, shape, dtype):
        if dtype.kind != "f" and dtype != BF16:
            return [draw(rng, shape, dtype, low, high)]
        x = rng.uniform(low, high, size=shape)
        specials = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0])
        pick = rng.random(shape) < 0.4
        x = np.where(pick, specials[rng.integers(0, 5, size=shape)], x)
        return [np.asarray(x).astype(dtype)]

    return make


def halves(rng, shape, dtype):
    """Multiples of 1/2 (the ties of rounding) and random values."""
    ties = rng.integers(-9, 10, size=shape) / 2
    x = np.where(rng.random(shape) < 0.6, ties, rng.uniform(-5, 5, size=shape))
    return [np.asarray(x).astype(dtype)]


def any_bits(arity):
    """Integers over the dtype's whole range (bools half and half)."""

    def make(rng, shape, dtype):
        if dtype == BOOL:
            return [np.asarray(rng.random(shape) < 0.5) for _ in range(arity)]
        info = np.iinfo(dtype)
        return [
            np.asarray(rng.integers(info.min, int(info.max) + 1, size=shape)).astype(dtype)
            for _ in range(arity)
        ]

    return make


def value_and_shift(rng, shape, dtype):
    bits = 8 * dtype.itemsize
    (x,) = any_bits(1)(rng, shape, dtype)
    low = -2 if dtype.kind == "i" else 0
    amount = rng.integers(low, bits + 3, size=shape)
    return [x, np.asarray(amount).astype(dtype)]


def complex_values(arity):
    def make(rng, shape, dtype):
        return [
            np.asarray(rng.uniform(-3, 3, shape) + 1j * rng.uniform(-3, 3, shape)).astype(dtype)
            for _ in range(arity)
        ]

    return make


def bounds_and_operand(scalar_bounds):
    def make(rng, shape, dtype):
        bound_shape = () if scalar_bounds else shape
        low = draw(rng, bound_shape, dtype, -3, 0)
        high = draw(rng, bound_shape, dtype, 0, 3)
        return [low, draw(rng, shape, dtype, -4, 4), high]

    return make


# Python-integer references for bit operations: wrap to the dtype's width.


def elementwise_python(scalar_fun):
    """A reference applying `scalar_fun(*python_ints, dtype)` elementwise."""

    def reference(*args):
        dtype = args[0].dtype
        flat = [scalar_fun(*values, dtype) for values in zip(*(a.ravel().tolist() for a in args))]
        return np.asarray(flat, dtype=np.int64).astype(dtype).reshape(args[0].shape)

    return reference


def wrap(value, dtype):
    bits = 8 * dtype.itemsize
    value %= 1 << bits
    if dtype.kind == "i" and value >= 1 << (bits - 1):
        value -= 1 << bits
    return value


def py_shift_left(x, s, dtype):
    return wrap(x << s, dtype) if 0 <= s < 8 * dtype.itemsize else 0


def py_shift_right_logical(x, s, dtype):
    bits = 8 * dtype.itemsize
    return wrap((x % (1 << bits)) >> s, dtype) if 0 <= s < bits else 0


def py_shift_right_arithmetic(x, s, dtype):
    signed = wrap(x, np.dtype(f"i{dtype.itemsize}"))
    out = signed >> s if 0 <= s < 8 * dtype.itemsize else (-1 if signed < 0 else 0)
    return wrap(out, dtype)


def py_population_count(x, dtype):
    return bin(x % (1 << (8 * dtype.itemsize))).count("1")


def next_float_by_bits(x, y):
    """nextafter by stepping the bit pattern (x and y carry the dtype under test)."""
    dtype = x.dtype
    uint = np.dtype(f"u{dtype.itemsize}")
    bits = x.view(uint).astype(np.int64)
    sign = 1 << (8 * dtype.itemsize - 1)
    away_from_zero = (x < y) == (x > 0)
    stepped = np.where(away_from_zero, bits + 1, bits - 1)
    smallest = np.where(y > 0, 1, sign + 1)  # the smallest subnormal towards y
    out = np.where(x == 0, smallest, stepped).astype(uint).view(dtype)
    return np.where(x == y, y, np.where(np.isnan(x) | np.isnan(y), np.nan, out)).astype(dtype)


def nextafter_record(dtype):
    # The harness hands float references float64 operands; compare at the dtype instead.
    return record(
        "nextafter",
        lambda x, y: next_float_by_bits(x.astype(dtype), y.astype(dtype)),
        2,
        (dtype,),
        discrete(2),
        EXACT,
        label=f"nextafter_{dtype.name}",
    )


def vectorized(scalar_fun):
    return lambda x: np.vectorize(scalar_fun, otypes=[np.float64])(x)


def erf_inv_by_bisection(y: float) -> float:
    low, high = -7.0, 7.0
    for _ in range(80):
        middle = (low + high) / 2
        low, high = (middle, high) if math.erf(middle) < y else (low, middle)
    return (low + high) / 2


def digamma_by_differences(x: float) -> float:
    # Fourth-order central difference of lgamma: error ~1e-9 on [0.1, 6].
    h = 1e-3
    f = math.lgamma
    return (f(x - 2 * h) - 8 * f(x - h) + 8 * f(x + h) - f(x + 2 * h)) / (12 * h)


def round_away_from_zero(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def clamp_reference(low, x, high):
    return np.minimum(np.maximum(x, low), high)


def integer_pow_record(y, dtypes):
    return record(
        "integer_pow",
        lambda x: np.power(x.astype(np.float64), y).astype(x.dtype),
        1,
        dtypes,
        discrete(1) if y >= 0 else uniform(1, 0.5, 2.0),
        TRANSCENDENTAL,
        label=f"integer_pow_{y}",
        fun=lambda x: lax.integer_pow(x, y),
    )


def round_record(method, reference):
    return record(
        "round",
        reference,
        1,
        FLOATS,
        halves,
        EXACT,
        label=f"round_{method.name.lower()}",
        fun=lambda x: lax.round(x, method),
    )


def complex_part(name, reference, out):
    return record(
        name,
        reference,
        1,
        (C64,),
        complex_values(1),
        EXACT,
        out_dtype=lambda dtype: out,
    )


MATH_RECORDS = [
    record("sqrt", np.sqrt, 1, FLOATS, uniform(1, 0.0, 9.0)),
    record("rsqrt", lambda x: 1 / np.sqrt(x), 1, FLOATS, uniform(1, 0.1, 9.0)),
    record(
        "cbrt", lambda x: np.sign(x) * np.abs(x) ** (1 / 3), 1, FLOATS, tolerance=TRANSCENDENTAL
    ),
    record("abs", np.abs, 1, FLOATS, with_specials(-3, 3), EXACT, label="abs_float"),
    record("abs", np.abs, 1, (I32, I8), tolerance=EXACT, label="abs_int"),
    record(
        "abs",
        lambda z: np.sqrt(z.real.astype(np.float64) ** 2 + z.imag.astype(np.float64) ** 2),
        1,
        (C64,),
        complex_values(1),
        ONE_OP,
        label="abs_complex",
        out_dtype=lambda dtype: F32,
    ),
    record("sign", np.sign, 1, NUMERIC, with_specials(-3, 3), EXACT),
    record("floor", np.floor, 1, FLOATS, halves, EXACT),
    record("ceil", np.ceil, 1, FLOATS, halves, EXACT),
    round_record(lax.RoundingMethod.AWAY_FROM_ZERO, round_away_from_zero),
    round_record(lax.RoundingMethod.TO_NEAREST_EVEN, np.round),
    record(
        "is_finite",
        lambda x: ~np.isnan(x) & (np.abs(x) != np.inf),
        1,
        FLOATS,
        with_specials(-3, 3),
        out_dtype=lambda dtype: BOOL,
    ),
    record("exp2", lambda x: 2.0**x, 1, FLOATS, tolerance=TRANSCENDENTAL),
    record("expm1", np.expm1, 1, FLOATS, uniform(1, -2.0, 2.0), TRANSCENDENTAL),
    record("log1p", np.log1p, 1, FLOATS, uniform(1, -0.9, 3.0), TRANSCENDENTAL),
    record("tan", np.tan, 1, FLOATS, uniform(1, -1.3, 1.3), TRANSCENDENTAL),
    record("asin", np.arcsin, 1, FLOATS, uniform(1, -0.95, 0.95), TRANSCENDENTAL),
    record("acos", np.arccos, 1, FLOATS, uniform(1, -0.95, 0.95), TRANSCENDENTAL),
    record("atan", np.arctan, 1, FLOATS, tolerance=TRANSCENDENTAL),
    record("sinh", np.sinh, 1, FLOATS, tolerance=TRANSCENDENTAL),
    record("cosh", np.cosh, 1, FLOATS, tolerance=TRANSCENDENTAL),
    record("asinh", np.arcsinh, 1, FLOATS, tolerance=TRANSCENDENTAL),
    record("acosh", np.arccosh, 1, FLOATS, uniform(1, 1.0, 5.0), TRANSCENDENTAL),
    record("atanh", np.arctanh, 1, FLOATS, uniform(1, -0.9, 0.9), TRANSCENDENTAL),
    record("atan2", np.arctan2, 2, FLOATS, tolerance=TRANSCENDENTAL),
    record("rem", np.fmod, 2, FLOATS + INTS, dividend_and_divisor),
    record("min", np.minimum, 2, ORDERED, discrete(2), EXACT),
    integer_pow_record(0, NUMERIC),
    integer_pow_record(1, NUMERIC),
    integer_pow_record(2, NUMERIC),
    integer_pow_record(3, NUMERIC),
    integer_pow_record(-2, FLOATS),
    record(
        "logistic", lambda x: 1 / (1 + np.exp(-x)), 1, FLOATS, uniform(1, -20, 20), TRANSCENDENTAL
    ),
    record("erf", vectorized(math.erf), 1, FLOATS),
    record("erfc", vectorized(math.erfc), 1, FLOATS),
    record("erf_inv", vectorized(erf_inv_by_bisection), 1, FLOATS, uniform(1, -0.99, 0.99)),
    record("lgamma", vectorized(math.lgamma), 1, FLOATS, uniform(1, 0.1, 8.0)),
    record(
        "digamma",
        vectorized(digamma_by_differences),
        1,
        FLOATS,
        uniform(1, 0.1, 6.0),
        TRANSCENDENTAL,
    ),
    record("bitwise_not", np.invert, 1, BITS, any_bits(1), EXACT, primitive="not"),
    record("bitwise_and", np.bitwise_and, 2, BITS, any_bits(2), EXACT, primitive="and"),
    record("bitwise_or", np.bitwise_or, 2, BITS, any_bits(2), EXACT, primitive="or"),
    record("bitwise_xor", np.bitwise_xor, 2, BITS, any_bits(2), EXACT, primitive="xor"),
    record("shift_left", elementwise_python(py_shift_left), 2, INTS, value_and_shift, EXACT),
    record(
        "shift_right_logical",
        elementwise_python(py_shift_right_logical),
        2,
        INTS,
        value_and_shift,
        EXACT,
    ),
    record(
        "shift_right_arithmetic",
        elementwise_python(py_shift_right_arithmetic),
        2,
        INTS,
        value_and_shift,
        EXACT,
    ),
    record(
        "population_count", elementwise_python(py_population_count), 1, INTS, any_bits(1), EXACT
    ),
    *(nextafter_record(dtype) for dtype in FLOATS),
    record("clamp", clamp_reference, 3, ORDERED, bounds_and_operand(False), EXACT),
    record(
        "clamp",
        clamp_reference,
        3,
        ORDERED,
        bounds_and_operand(True),
        EXACT,
        label="clamp_scalar_bounds",
    ),
    complex_part("real", np.real, F32),
    complex_part("imag", np.imag, F32),
    complex_part("conj", np.conj, C64),
    record(
        "conj",
        lambda x: x.astype(np.complex128),
        1,
        (F32, F16, BF16),
        tolerance=EXACT,
        label="conj_of_real",
        out_dtype=lambda dtype: C64,
    ),
]


def bitcast_record(source, target):
    return record(
        "bitcast_convert_type",
        lambda x: np.ascontiguousarray(x.astype(source)).view(target).reshape(x.shape),
        1,
        (source,),
        tolerance=EXACT,
        label=f"bitcast_convert_type_{source.name}_to_{target.name}",
        fun=lambda x: lax.bitcast_convert_type(x, target),
        out_dtype=lambda dtype: target,
    )


CONVERSION_RECORDS = [
    record(
        "complex",
        lambda x, y: x + 1j * y,
        2,
        FLOATS,
        tolerance=EXACT,
        out_dtype=lambda dtype: C64,
    ),
    bitcast_record(F32, I32),
    bitcast_record(I32, F32),
    bitcast_record(F16, np.dtype(np.int16)),
    bitcast_record(BF16, np.dtype(np.uint16)),
    bitcast_record(U8, I8),
]

RECORDS += MATH_RECORDS + CONVERSION_RECORDS


def polygamma_by_series(m, x):
    """(-1)^(m+1) m! sum_k (x + k)^-(m+1): 4000 terms, then the Euler-Maclaurin tail."""
    out = np.empty(np.broadcast_shapes(m.shape, x.shape))
    for index, (order, value) in enumerate(zip(*(a.ravel() for a in np.broadcast_arrays(m, x)))):
        s = int(order) + 1
        z = value + 4000
        total = np.sum((value + np.arange(4000.0)) ** -s)
        total += z ** (1 - s) / (s - 1) + z**-s / 2 + s * z ** (-s - 1) / 12
        out.flat[index] = (-1) ** s * math.factorial(s - 1) * total
    return out


def order_and_point(rng, shape, dtype):
    """Orders 1-3 and points in [0.25, 5] or [-2.8, -2.2], away from the poles."""
    order = rng.integers(1, 4, size=shape)
    point = np.where(
        rng.random(shape) < 0.7, rng.uniform(0.25, 5, size=shape), rng.uniform(-2.8, -2.2, shape)
    )
    return [np.asarray(order).astype(dtype), np.asarray(point).astype(dtype)]


RECORDS += [
    OpRecord(
        label="polygamma",
        name="polygamma",
        primitive="polygamma",
        fun=lax_elementwise.polygamma,
        reference=polygamma_by_series,
        arity=2,
        dtypes=FLOATS,
        make_inputs=order_and_point,
        tolerance=TRANSCENDENTAL,
    ),
    record("stop_gradient", lambda x: x, 1, FLOATS, tolerance=EXACT),
]
