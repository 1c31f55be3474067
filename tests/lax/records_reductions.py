"""Op records for funcgrad/lax/reductions.py: reductions."""

from __future__ import annotations

from op_records import (
    ACCUMULATING,
    EXACT,
    NUMERIC,
    ORDERED,
    reduction_records,
    reference_reduce_max,
    reference_reduce_sum,
)

RECORDS = [
    *reduction_records("reduce_sum", reference_reduce_sum, NUMERIC, ACCUMULATING),
    *reduction_records("reduce_max", reference_reduce_max, ORDERED, EXACT),
]
