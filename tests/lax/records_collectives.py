"""Op records for funcgrad/lax/collectives.py: psum, pmean, pmax, pmin, all_gather and
axis_index over a named vmap axis.

A collective has no value outside a vmap that binds its axis name (its impl raises
NameError), so each record's `fun` maps the collective over the operand's leading axis
with `vmap(..., axis_name='i')`; the references combine the whole array along axis 0.
Their jaxprs hold the reductions the batching rules produce, not the collective itself.
"""

from __future__ import annotations

import numpy as np
from op_records import ACCUMULATING, EXACT, FLOATS, NUMERIC, OpRecord, uniform

import funcgrad
from funcgrad import lax

# The leading axis is the mapped one.
SHAPES = ((4,), (3, 2), (2, 3, 4), (1, 0))


def _over_axis(collective):
    return lambda x: funcgrad.vmap(lambda v: collective(v, "i"), axis_name="i")(x)


def _everywhere(reduce):
    """The reduction over axis 0, as every example sees it."""
    return lambda x: np.broadcast_to(reduce(x), x.shape)


def _record(name, collective, reference, dtypes, tolerance, out_dtype=lambda dtype: dtype):
    return OpRecord(
        label=name,
        name=name,
        primitive=name,
        fun=_over_axis(collective),
        reference=reference,
        arity=1,
        dtypes=dtypes,
        make_inputs=uniform(1),
        tolerance=tolerance,
        shapes=SHAPES,
        out_dtype=out_dtype,
    )


RECORDS = [
    _record(
        "psum",
        lax.psum,
        _everywhere(lambda x: np.sum(x, axis=0, dtype=x.dtype)),
        NUMERIC,
        ACCUMULATING,
    ),
    _record("pmean", lax.pmean, _everywhere(lambda x: np.mean(x, axis=0)), FLOATS, ACCUMULATING),
    _record("pmax", lax.pmax, _everywhere(lambda x: np.max(x, axis=0)), NUMERIC, EXACT),
    _record("pmin", lax.pmin, _everywhere(lambda x: np.min(x, axis=0)), NUMERIC, EXACT),
    _record(
        "all_gather",
        lax.all_gather,
        lambda x: np.broadcast_to(x, (x.shape[0], *x.shape)),
        NUMERIC,
        EXACT,
    ),
    OpRecord(
        label="axis_index",
        name="axis_index",
        primitive="axis_index",
        fun=lambda x: funcgrad.vmap(lambda v: lax.axis_index("i"), axis_name="i")(x),
        reference=lambda x: np.arange(x.shape[0], dtype=np.int32),
        arity=1,
        dtypes=FLOATS,
        make_inputs=uniform(1),
        tolerance=EXACT,
        shapes=SHAPES,
        out_dtype=lambda dtype: np.dtype(np.int32),
    ),
]
