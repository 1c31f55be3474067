"""Op records for funcgrad/lax/sorting.py: sort (one operand, several operands sorted by
one or two keys, sort_key_val) and top_k.

References: NumPy's stable argsort and lexsort in float64 (which put NaN last), applied
with take_along_axis; top_k's order is rebuilt with lexsort from three explicit keys (NaN
first, then larger values, then smaller indices), not from a reversed sort.
"""

from __future__ import annotations

import numpy as np
from op_records import EXACT, I32, ORDERED, OpRecord, discrete, is_float

from funcgrad import lax

SORT_SHAPES = ((5,), (2, 3), (0,), (2, 0, 3), (3, 1, 4))


def discrete_with_nans(arity):
    """Small whole numbers, so ties occur, and NaN in about one float element in five."""
    draw_discrete = discrete(arity)

    def make(rng, shape, dtype):
        arrays = draw_discrete(rng, shape, dtype)
        if not is_float(dtype):
            return arrays
        return [np.where(rng.random(shape) < 0.2, np.nan, x).astype(dtype) for x in arrays]

    return make


def by_keys(dimension, num_keys):
    """Reference: sort every operand by the first `num_keys` operands (stable, NaN last)."""

    def reference(*operands):
        moved = [np.moveaxis(x, dimension, -1) for x in operands]
        keys = moved[:num_keys]
        if num_keys == 1:
            order = np.argsort(keys[0], axis=-1, kind="stable")
        else:  # np.lexsort sorts by its LAST key first.
            batch = int(np.prod(keys[0].shape[:-1]))
            flat = [k.reshape(batch, k.shape[-1]) for k in reversed(keys)]
            rows = [np.lexsort([k[i] for k in flat]) for i in range(flat[0].shape[0])]
            order = np.array(rows, dtype=np.intp).reshape(keys[0].shape)
        return [np.moveaxis(np.take_along_axis(x, order, -1), -1, dimension) for x in moved]

    return reference


def reference_top_k(k):
    def reference(x):
        rows = x.reshape(int(np.prod(x.shape[:-1])), x.shape[-1])
        values, indices = [], []
        for row in rows:
            nan = np.isnan(row) if is_float(row.dtype) else np.zeros(row.shape, bool)
            larger_first = -np.where(nan, 0, row).astype(np.float64)
            order = np.lexsort((np.arange(row.size), larger_first, ~nan))[:k]
            values.append(row[order])
            indices.append(order)
        shape = x.shape[:-1] + (k,)
        return [
            np.array(values, x.dtype).reshape(shape),
            np.array(indices, np.int32).reshape(shape),
        ]

    return reference


def sort_record(label, fun, reference, arity, shapes=SORT_SHAPES, name="sort"):
    return OpRecord(
        label=label,
        name=name,
        primitive="sort",
        fun=fun,
        reference=reference,
        arity=arity,
        dtypes=ORDERED,
        make_inputs=discrete_with_nans(arity),
        tolerance=EXACT,
        shapes=shapes,
    )


RECORDS = [
    sort_record("sort_last", lambda x: lax.sort(x), lambda x: by_keys(-1, 1)(x)[0], 1),
    sort_record(
        "sort_dimension_0",
        lambda x: lax.sort(x, dimension=0),
        lambda x: by_keys(0, 1)(x)[0],
        1,
        ((5,), (3, 2), (0, 3), (4, 2, 2)),
    ),
    sort_record(
        "sort_two_operands_one_key",
        lambda k, v: lax.sort((k, v), num_keys=1),
        by_keys(-1, 1),
        2,
    ),
    sort_record(
        "sort_three_operands_two_keys",
        lambda k1, k2, v: lax.sort([k1, k2, v], dimension=0, num_keys=2),
        by_keys(0, 2),
        3,
        ((6,), (5, 2), (0, 2)),
    ),
    sort_record(
        "sort_key_val",
        lambda k, v: lax.sort_key_val(k, v),
        by_keys(-1, 1),
        2,
        name="sort_key_val",
    ),
    # Values and indices share a dtype only for int32 inputs, which the table needs; the
    # other dtypes are checked in tests/numpy/test_sorting.py.
    OpRecord(
        label="top_k",
        name="top_k",
        primitive="top_k",
        fun=lambda x: lax.top_k(x, min(2, x.shape[-1])),
        reference=lambda x: reference_top_k(min(2, x.shape[-1]))(x),
        arity=1,
        dtypes=(I32,),
        make_inputs=discrete(1),
        tolerance=EXACT,
        shapes=((5,), (2, 3), (0,), (2, 0, 3), (4, 1)),
    ),
]
