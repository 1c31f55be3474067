"""Op records for funcgrad/lax/control_flow.py: call primitives and control flow (cond,
switch, while_loop, fori_loop, scan, map), each against a plain Python/NumPy loop."""

from __future__ import annotations

import numpy as np
from op_records import (
    BOOL,
    F32,
    FLOATS,
    I32,
    NUMERIC,
    ONE_OP,
    TRANSCENDENTAL,
    OpRecord,
    draw,
    uniform,
)

import funcgrad
from funcgrad import lax


def _closed_call_two_outputs(x, y):
    body = funcgrad.make_jaxpr(lambda a, b: (lax.mul(lax.sin(a), b), lax.add(a, b)))(x, y)
    return lax.closed_call(body, x, y)


def _closed_call_with_constant(x):
    constant = np.full(x.shape, 3, dtype=x.dtype)
    body = funcgrad.make_jaxpr(lambda a: lax.mul(a, constant))(x)
    return lax.closed_call(body, x)


def _predicate_and_operands(rng, shape, dtype):
    return [
        draw(rng, (), BOOL, 0, 1),
        draw(rng, shape, dtype, -3, 3),
        draw(rng, shape, dtype, -3, 3),
    ]


def _cond(pred, x, y):
    return lax.cond(pred, lambda a, b: lax.mul(a, b), lambda a, b: lax.sub(a, b), x, y)


def _index_and_operand(rng, shape, dtype):
    # Indices out of range too: switch clamps them.
    return [np.int32(rng.integers(-1, 4)), draw(rng, shape, dtype, -3, 3)]


_SWITCH_BRANCHES = [lax.sin, lax.cos, lambda a: lax.mul(a, a)]
_SWITCH_REFERENCES = [np.sin, np.cos, lambda a: a * a]


def _switch(index, x):
    return lax.switch(index, _SWITCH_BRANCHES, x)


def _switch_reference(index, x):
    return _SWITCH_REFERENCES[int(np.clip(index, 0, 2))](x)


def _steps_and_operand(rng, shape, dtype):
    return [np.int32(rng.integers(0, 5)), draw(rng, shape, dtype, -3, 3)]


def _while(n, x):
    def body(carry):
        i, value = carry
        return lax.add(i, np.int32(1)), lax.add(lax.mul(value, np.asarray(0.5, x.dtype)), value)

    return list(lax.while_loop(lambda c: lax.lt(c[0], n), body, (np.int32(0), x)))


def _while_reference(n, x):
    value = x
    for _ in range(int(n)):
        value = value * 0.5 + value
    return [np.int32(max(int(n), 0)), value]


def _fori(x):
    return lax.fori_loop(0, 3, lambda i, c: lax.add(lax.mul(c, c), x), x)


def _fori_reference(x):
    value = x
    for _ in range(3):
        value = value * value + x
    return value


def _init_and_xs(rng, shape, dtype):
    return [draw(rng, shape[1:], dtype, -1, 1), draw(rng, shape, dtype, -1, 1)]


def _scan_step(c, x):
    return lax.add(lax.mul(c, np.asarray(0.5, c.dtype)), x), lax.mul(c, x)


def _scan(init, xs):
    carry, ys = lax.scan(_scan_step, init, xs)
    return [carry, ys]


def _scan_reference(init, xs):
    carry, ys = init, []
    for x in xs:
        carry, y = carry * 0.5 + x, carry * x
        ys.append(y)
    return [carry, np.stack(ys) if ys else np.zeros((0, *init.shape), init.dtype)]


def _scan_reversed(init, xs):
    carry, ys = lax.scan(_scan_step, init, xs, reverse=True)
    return [carry, ys]


def _scan_reversed_reference(init, xs):
    carry, ys = _scan_reference(init, xs[::-1])
    return [carry, ys[::-1]]


def _map(xs):
    return lax.map(lambda row: lax.mul(lax.sin(row), row), xs)


SCAN_SHAPES = ((3,), (4, 2), (0, 3), (2, 1, 3))

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
    OpRecord(
        "cond",
        "cond",
        "cond",
        _cond,
        lambda p, x, y: [x * y if p else x - y],
        3,
        FLOATS + (I32,),
        _predicate_and_operands,
        ONE_OP,
        shapes=((), (0,), (2, 3)),
    ),
    OpRecord(
        "switch",
        "switch",
        "cond",
        _switch,
        lambda i, x: [_switch_reference(i, x)],
        2,
        FLOATS,
        _index_and_operand,
        TRANSCENDENTAL,
        shapes=((), (4,), (2, 3)),
    ),
    OpRecord(
        "while_loop",
        "while_loop",
        "while",
        _while,
        _while_reference,
        2,
        FLOATS,
        _steps_and_operand,
        {"float32": 1e-5, "float16": 4e-3, "bfloat16": 3e-2},
        shapes=((), (3,), (2, 3)),
        out_dtype=lambda dtype: (I32, dtype),
    ),
    OpRecord(
        "fori_loop",
        "fori_loop",
        "scan",
        _fori,
        lambda x: [_fori_reference(x)],
        1,
        FLOATS,
        uniform(1, -1.0, 1.0),
        {"float32": 1e-5, "float16": 4e-3, "bfloat16": 3e-2},
        shapes=((), (3,), (2, 3)),
    ),
    OpRecord(
        "scan",
        "scan",
        "scan",
        _scan,
        _scan_reference,
        2,
        FLOATS,
        _init_and_xs,
        {"float32": 1e-5, "float16": 4e-3, "bfloat16": 3e-2},
        shapes=SCAN_SHAPES,
    ),
    OpRecord(
        "scan_reversed",
        "scan",
        "scan",
        _scan_reversed,
        _scan_reversed_reference,
        2,
        (F32,),
        _init_and_xs,
        {"float32": 1e-5},
        shapes=SCAN_SHAPES,
    ),
    OpRecord(
        "map",
        "map",
        "scan",
        _map,
        lambda xs: [np.sin(xs) * xs],
        1,
        FLOATS,
        uniform(1),
        TRANSCENDENTAL,
        shapes=((3,), (2, 3), (0, 2)),
    ),
]
