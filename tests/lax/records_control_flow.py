"""Op records for funcgrad/lax/control_flow.py: call primitives."""

from __future__ import annotations

import numpy as np
from op_records import FLOATS, NUMERIC, ONE_OP, TRANSCENDENTAL, OpRecord, uniform

import funcgrad
from funcgrad import lax


def _closed_call_two_outputs(x, y):
    body = funcgrad.make_jaxpr(lambda a, b: (lax.mul(lax.sin(a), b), lax.add(a, b)))(x, y)
    return lax.closed_call(body, x, y)


def _closed_call_with_constant(x):
    constant = np.full(x.shape, 3, dtype=x.dtype)
    body = funcgrad.make_jaxpr(lambda a: lax.mul(a, constant))(x)
    return lax.closed_call(body, x)


RECORDS = [
    OpRecord(
        "closed_call_two_outputs",
        "closed_call",
        "closed_call",
        _closed_call_two_outputs,
        lambda x, y: [np.sin(x) * y, x + y],
        2,
        FLOATS,
        uniform(2),
        TRANSCENDENTAL,
        shapes=((), (0,), (2, 3)),
    ),
    OpRecord(
        "closed_call_with_constant",
        "closed_call",
        "closed_call",
        _closed_call_with_constant,
        lambda x: [x * 3],
        1,
        NUMERIC,
        uniform(1),
        ONE_OP,
        shapes=((), (4,), (2, 3)),
    ),
]
