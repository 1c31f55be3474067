"""Op records for funcgrad/lax/reductions.py: reductions over axes, argmax/argmin and the
cumulative scans.

References are NumPy's own reductions and ufunc accumulations, in float64 for floats
(ints at their own dtype, so wrap-around matches the primitive's fixed-width arithmetic);
the bitwise reductions use NumPy's bitwise ufuncs with the identity as `initial`.
"""

from __future__ import annotations

import numpy as np
from op_records import (
    ACCUMULATING,
    BOOL,
    EXACT,
    FLOATS,
    I8,
    I32,
    NUMERIC,
    ONE_OP,
    ORDERED,
    U8,
    OpRecord,
    discrete,
    draw,
    is_float,
    reduction_records,
    reference_reduce_max,
    reference_reduce_sum,
    uniform,
)

from funcgrad import lax

BITWISE = (BOOL, I32, U8, I8)


def with_nans(make):
    """Inputs from `make`, with about one float element in five replaced by NaN."""

    def make_with_nans(rng, shape, dtype):
        arrays = make(rng, shape, dtype)
        if not is_float(dtype):
            return arrays
        return [np.where(rng.random(shape) < 0.2, np.nan, x).astype(dtype) for x in arrays]

    return make_with_nans


def highest(dtype):
    if dtype == BOOL:
        return True
    if dtype.kind in "iu":
        return np.iinfo(dtype).max
    return np.inf


def reference_reduce_min(axes):
    return lambda x: np.min(x, axis=axes(x.ndim), initial=highest(x.dtype))


def reference_reduce_prod(axes):
    return lambda x: np.prod(x, axis=axes(x.ndim), dtype=x.dtype)


def reference_bitwise(logical, bitwise, identity):
    def reference(axes):
        def reduce(x):
            if x.dtype == BOOL:
                return logical.reduce(x, axis=axes(x.ndim), initial=bool(identity))
            initial = np.array(identity).astype(x.dtype)
            return bitwise.reduce(x, axis=axes(x.ndim), initial=initial)

        return reduce

    return reference


def retuned(records, make_inputs, suffix=""):
    """`records` with another input generator (and `suffix` added to their labels)."""
    return [
        OpRecord(**{**record.__dict__, "make_inputs": make_inputs, "label": record.label + suffix})
        for record in records
    ]


def index_records(name, reference):
    # (label suffix, axis, shapes): the reduced axis is never empty (that is an error).
    variants = [
        ("first", 0, ((5,), (2, 3), (3, 0, 2))),
        ("last_negative", -1, ((1,), (2, 3), (2, 0, 3))),
        ("middle", 1, ((2, 3, 4), (1, 1, 1))),
    ]
    return [
        OpRecord(
            label=f"{name}_{suffix}",
            name=name,
            primitive=name,
            fun=lambda x, axis=axis: getattr(lax, name)(x, axis, np.int32),
            reference=lambda x, axis=axis: reference(x, axis=axis).astype(np.int32),
            arity=1,
            dtypes=ORDERED,
            make_inputs=with_nans(discrete(1)),
            tolerance=EXACT,
            shapes=shapes,
            out_dtype=lambda dtype: I32,
        )
        for suffix, axis, shapes in variants
    ]


def reverse_accumulate(accumulate):
    return lambda x, axis: np.flip(accumulate(np.flip(x, axis), axis), axis)


def cumulative_records(name, accumulate, dtypes, tolerance, make_inputs):
    variants = [
        ("first", 0, False, ((5,), (2, 3), (0,), (2, 0, 3))),
        ("last_reverse", -1, True, ((5,), (2, 3), (3, 0))),
        ("middle", 1, False, ((2, 4, 3),)),
    ]
    return [
        OpRecord(
            label=f"{name}_{suffix}",
            name=name,
            primitive=name,
            fun=lambda x, axis=axis, reverse=reverse: getattr(lax, name)(x, axis, reverse),
            reference=lambda x, axis=axis, reverse=reverse: (
                (reverse_accumulate(accumulate) if reverse else accumulate)(x, axis % x.ndim)
            ).astype(x.dtype),
            arity=1,
            dtypes=dtypes,
            make_inputs=make_inputs,
            tolerance=tolerance,
            shapes=shapes,
        )
        for suffix, axis, reverse, shapes in variants
    ]


def _accumulate(ufunc):
    def accumulate(x, axis):
        with np.errstate(all="ignore"):
            return ufunc.accumulate(x, axis=axis)

    return accumulate


def _cumsum(x, axis):
    return np.cumsum(x, axis=axis, dtype=x.dtype)


def _cumprod(x, axis):
    return np.cumprod(x, axis=axis, dtype=x.dtype)


def near_one(rng, shape, dtype):
    if is_float(dtype):
        return [draw(rng, shape, dtype, 0.7, 1.4)]
    return [draw(rng, shape, dtype, 1, 2)]


RECORDS = [
    *reduction_records("reduce_sum", reference_reduce_sum, NUMERIC, ACCUMULATING),
    *reduction_records("reduce_max", reference_reduce_max, ORDERED, EXACT),
    *reduction_records("reduce_min", reference_reduce_min, ORDERED, EXACT),
    *retuned(
        reduction_records("reduce_prod", reference_reduce_prod, NUMERIC, ACCUMULATING), near_one
    ),
    *reduction_records(
        "reduce_and", reference_bitwise(np.logical_and, np.bitwise_and, -1), BITWISE, EXACT
    ),
    *reduction_records(
        "reduce_or", reference_bitwise(np.logical_or, np.bitwise_or, 0), BITWISE, EXACT
    ),
    *reduction_records(
        "reduce_xor", reference_bitwise(np.logical_xor, np.bitwise_xor, 0), BITWISE, EXACT
    ),
    *retuned(
        reduction_records("reduce_max", reference_reduce_max, FLOATS, EXACT)[:1],
        with_nans(uniform(1)),
        "_with_nans",
    ),
    *index_records("argmax", np.argmax),
    *index_records("argmin", np.argmin),
    *cumulative_records("cumsum", _cumsum, NUMERIC, ACCUMULATING, uniform(1, 0.5, 2.0)),
    *cumulative_records("cumprod", _cumprod, NUMERIC, ACCUMULATING, near_one),
    *cumulative_records("cummax", _accumulate(np.maximum), ORDERED, EXACT, with_nans(discrete(1))),
    *cumulative_records("cummin", _accumulate(np.minimum), ORDERED, EXACT, with_nans(discrete(1))),
    *cumulative_records("cumlogsumexp", _accumulate(np.logaddexp), FLOATS, ONE_OP, uniform(1)),
]
