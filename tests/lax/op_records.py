"""The machinery of the lax op table: the OpRecord type, dtype sets, tolerances, input
generators and NumPy references shared by the per-family record lists
(`records_<family>.py`, one per `funcgrad/lax/<family>.py`). A new primitive gets its
records in its family's list; test_primitives.py runs every record."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import ml_dtypes
import numpy as np

from funcgrad import lax

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32, U8, I8 = np.dtype(np.int32), np.dtype(np.uint8), np.dtype(np.int8)
BOOL = np.dtype(np.bool_)
FLOATS = (F32, F16, BF16)
INTS = (I32, U8, I8)
NUMERIC = FLOATS + INTS
ORDERED = NUMERIC + (BOOL,)

# rtol = atol per dtype; about two units of the last place for one correctly rounded op.
EXACT = {}
ONE_OP = {"float32": 1e-6, "float16": 1e-3, "bfloat16": 8e-3}
TRANSCENDENTAL = {"float32": 3e-6, "float16": 1e-3, "bfloat16": 8e-3}
ACCUMULATING = {"float32": 1e-5, "float16": 1e-2, "bfloat16": 6e-2}

ELEMENTWISE_SHAPES = ((), (0,), (5,), (2, 3), (2, 0, 3))


def is_float(dtype: np.dtype) -> bool:
    return dtype in FLOATS or dtype == np.float64


# ---------------------------------------------------------------------------------------
# Input generators: (rng, shape, dtype) -> list of NumPy operands


def draw(rng, shape, dtype, low, high) -> np.ndarray:
    """An array of `shape` with values in [low, high] (whole numbers for int and bool)."""
    dtype = np.dtype(dtype)
    if dtype == BOOL:
        return np.asarray(rng.random(shape) < 0.5)
    if dtype.kind in "iu":
        low = max(low, np.iinfo(dtype).min)
        whole = rng.integers(math.ceil(low), math.floor(high) + 1, size=shape)
        return np.asarray(whole).astype(dtype)
    return np.asarray(rng.uniform(low, high, size=shape)).astype(dtype)


def uniform(arity, low=-3.0, high=3.0):
    return lambda rng, shape, dtype: [draw(rng, shape, dtype, low, high) for _ in range(arity)]


def discrete(arity):
    """Whole numbers from a small set, so that equal elements (and ties) really occur."""
    return lambda rng, shape, dtype: [draw(rng, shape, dtype, -2, 2) for _ in range(arity)]


def dividend_and_divisor(rng, shape, dtype):
    sign = np.where(rng.random(shape) < 0.5, -1, 1) if dtype.kind != "u" else 1
    if is_float(dtype):
        divisor = sign * rng.uniform(0.5, 2.0, size=shape)
    else:
        divisor = sign * rng.integers(1, 5, size=shape)
    return [draw(rng, shape, dtype, -20, 20), np.asarray(divisor).astype(dtype)]


def base_and_exponent(rng, shape, dtype):
    return [draw(rng, shape, dtype, 0.5, 2.0), draw(rng, shape, dtype, -2.0, 2.0)]


def predicate_and_cases(n_cases, selector=BOOL, scalar_selector=False):
    def make(rng, shape, dtype):
        which_shape = () if scalar_selector else shape
        if selector == BOOL:
            which = draw(rng, which_shape, BOOL, 0, 1)
        else:
            which = draw(rng, which_shape, selector, 0, n_cases - 1)
        return [which] + [draw(rng, shape, dtype, -3, 3) for _ in range(n_cases)]

    return make


def matmul_operands(lhs_shape, rhs_shape):
    """For dot_general records: `shape` is a tuple of named sizes the two shapes pick from."""

    def make(rng, sizes, dtype):
        low, high = (0.5, 2.0) if is_float(dtype) else (0, 3)
        named = dict(zip("bmkn", sizes))
        return [
            draw(rng, tuple(named[c] for c in lhs_shape), dtype, low, high),
            draw(rng, tuple(named[c] for c in rhs_shape), dtype, low, high),
        ]

    return make


# ---------------------------------------------------------------------------------------
# References (NumPy; float operands arrive as float64)


def truncating_div(x, y):
    if is_float(x.dtype):
        return x / y
    # C-style division: the float quotient truncated toward zero (exact for these sizes).
    return np.trunc(x.astype(np.float64) / y.astype(np.float64)).astype(x.dtype)


def lowest(dtype):
    if dtype == BOOL:
        return False
    if dtype.kind in "iu":
        return np.iinfo(dtype).min
    return -np.inf


def reference_reduce_max(axes):
    return lambda x: np.max(x, axis=axes(x.ndim), initial=lowest(x.dtype))


def reference_reduce_sum(axes):
    return lambda x: np.sum(x, axis=axes(x.ndim), dtype=x.dtype)


# ---------------------------------------------------------------------------------------
# The op table


@dataclasses.dataclass(frozen=True)
class OpRecord:
    label: str  # test id; lax.<name> is the function under test
    name: str  # the funcgrad.lax function
    primitive: str  # the one primitive `fun` binds
    fun: Callable  # NumPy operands -> Array (or list of Arrays)
    reference: Callable  # NumPy operands (floats as float64) -> expected values
    arity: int
    dtypes: tuple
    make_inputs: Callable  # (rng, shape, dtype) -> list of operands
    tolerance: dict  # dtype name -> rtol and atol; absent means exact
    shapes: tuple = ELEMENTWISE_SHAPES
    out_dtype: Callable = lambda dtype: dtype


def elementwise(
    name, reference, arity, dtypes, make_inputs=None, tolerance=ONE_OP, comparison=False
):
    return OpRecord(
        label=name,
        name=name,
        primitive=name,
        fun=getattr(lax, name),
        reference=reference,
        arity=arity,
        dtypes=dtypes,
        make_inputs=make_inputs or uniform(arity),
        tolerance=EXACT if comparison else tolerance,
        out_dtype=(lambda dtype: BOOL) if comparison else (lambda dtype: dtype),
    )


def convert_record(target):
    return OpRecord(
        label=f"convert_element_type_to_{target.name}",
        name="convert_element_type",
        primitive="convert_element_type",
        fun=lambda x: lax.convert_element_type(x, target),
        reference=lambda x: x.astype(target),
        arity=1,
        dtypes=ORDERED,
        make_inputs=uniform(1, 0.0, 100.0),
        tolerance=EXACT,
        shapes=((), (0,), (2, 3)),
        out_dtype=lambda dtype: target,
    )


def reduction_records(name, reference, dtypes, tolerance):
    variants = {
        "all": (lambda ndim: tuple(range(ndim)), ELEMENTWISE_SHAPES + ((3, 1, 4),)),
        "first": (lambda ndim: (0,), ((0,), (5,), (2, 3), (2, 0, 3))),
        "last_negative": (lambda ndim: (-1,), ((0,), (5,), (2, 3), (3, 2, 0))),
        "middle_and_last": (lambda ndim: (1, 2), ((2, 3, 4), (2, 0, 3), (1, 1, 1))),
        "none": (lambda ndim: (), ((), (4,), (2, 3))),
    }
    records = []
    for variant, (axes, shapes) in variants.items():
        records.append(
            OpRecord(
                label=f"{name}_{variant}",
                name=name,
                primitive=name,
                fun=lambda x, axes=axes: getattr(lax, name)(x, axes(x.ndim)),
                reference=reference(lambda ndim, axes=axes: tuple(a % ndim for a in axes(ndim))),
                arity=1,
                dtypes=dtypes,
                make_inputs=uniform(1, 0.5, 2.0) if name == "reduce_sum" else uniform(1),
                tolerance=tolerance,
                shapes=shapes,
            )
        )
    return records


def structural(label, name, fun, reference, shapes, arity=1):
    return OpRecord(
        label=label,
        name=name,
        primitive=name,
        fun=fun,
        reference=reference,
        arity=arity,
        dtypes=ORDERED,
        make_inputs=uniform(arity),
        tolerance=EXACT,
        shapes=shapes,
    )
