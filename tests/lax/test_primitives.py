"""Every funcgrad.lax primitive against NumPy, driven by one table of op records.

Each `OpRecord` (tests/lax/op_records.py) names a lax function that binds exactly one
primitive, a NumPy reference computed independently (floats in float64, integer
quotients by truncating a float quotient, selections with nested `np.where`), the dtypes
and operand sizes it accepts, an input generator and a tolerance; the records live in one
`records_<family>.py` per lax family. The table drives three checks per (record, dtype,
shape): values against NumPy, the output's aval against the primitive's `abstract_eval`
(and the raw `impl` buffer against both), and `make_jaxpr` + `eval_jaxpr` against eager
evaluation. Hand-derived tables cover weak types, integer division, empty reductions and
the shape-rule errors; a registry test makes every new primitive need a record.
"""

from __future__ import annotations

import dataclasses
import warnings
import zlib

import numpy as np
import pytest
import records_collectives
import records_control_flow
import records_convolution
import records_debugging
import records_elementwise
import records_indexing
import records_linalg
import records_random_bits
import records_reductions
import records_shapes
import records_sorting
import records_windowed
from op_records import (
    BOOL,
    F16,
    F32,
    FLOATS,
    I8,
    I32,
    ORDERED,
    U8,
    OpRecord,
    is_float,
)
from primitive_registry import rules_of_every_primitive

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import Literal, check_jaxpr, eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op

OPS: list[OpRecord] = [
    *records_elementwise.RECORDS,
    *records_reductions.RECORDS,
    *records_sorting.RECORDS,
    *records_shapes.RECORDS,
    *records_linalg.RECORDS,
    *records_control_flow.RECORDS,
    *records_convolution.RECORDS,
    *records_windowed.RECORDS,
    *records_indexing.RECORDS,
    *records_collectives.RECORDS,
    *records_debugging.RECORDS,
    *records_random_bits.RECORDS,
]


def cases(records=OPS):
    """One test item per (record, dtype); each loops over the record's shapes (pytest's
    per-item overhead would otherwise dominate the run time)."""
    out = []
    for record in records:
        for dtype in record.dtypes:
            out.append(pytest.param(record, dtype, id=f"{record.label}-{dtype.name}"))
    return out


def _inputs(record, dtype, shape):
    seed = zlib.crc32(f"{record.label}-{dtype.name}-{shape}".encode())
    return record.make_inputs(np.random.default_rng(seed), shape, dtype)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _upcast(x: np.ndarray) -> np.ndarray:
    return x.astype(np.float64) if is_float(x.dtype) else x


# ---------------------------------------------------------------------------------------
# Table-driven checks


def check_values(record, dtype, shape):
    args = _inputs(record, dtype, shape)
    assert len(args) == record.arity
    actual = _as_list(record.fun(*args))
    expected = [np.asarray(e) for e in _as_list(record.reference(*map(_upcast, args)))]
    assert len(actual) == len(expected)
    out_dtypes = record.out_dtype(dtype)
    if not isinstance(out_dtypes, tuple):
        out_dtypes = (out_dtypes,) * len(expected)
    for got, want, out_dtype in zip(actual, expected, out_dtypes):
        assert isinstance(got, funcgrad.Array)
        assert (got.dtype, got.shape) == (out_dtype, want.shape)
        got_values = np.asarray(got)
        assert (got_values.dtype, got_values.shape) == (out_dtype, want.shape)
        if is_float(out_dtype) and out_dtype.name in record.tolerance:
            tol = record.tolerance[out_dtype.name]
            np.testing.assert_allclose(
                got_values.astype(np.float64),
                want.astype(np.float64),
                rtol=tol,
                atol=tol,
                err_msg=f"inputs {args}",
            )
        else:
            np.testing.assert_array_equal(
                _upcast(got_values), _upcast(want.astype(out_dtype)), err_msg=f"inputs {args}"
            )


def _single_equation(record, args):
    closed = funcgrad.make_jaxpr(record.fun)(*args)
    assert [eqn.primitive.name for eqn in closed.eqns] == [record.primitive]
    return closed, closed.eqns[0]


def check_output_aval(record, dtype, shape):
    args = _inputs(record, dtype, shape)
    closed, eqn = _single_equation(record, args)
    primitive = eqn.primitive
    rule_out = primitive.abstract_eval(*(atom.aval for atom in eqn.invars), **eqn.params)
    rule_out = list(rule_out) if primitive.multiple_results else [rule_out]

    eager = _as_list(record.fun(*args))
    assert [out.aval for out in eager] == rule_out  # shape, dtype and weak_type

    # The impl's own buffers must already have the rule's dtype and shape.
    env = dict(zip(closed.jaxpr.invars, args))
    env.update(zip(closed.jaxpr.constvars, closed.consts))
    values = [
        np.array(atom.val if isinstance(atom, Literal) else env[atom], dtype=atom.aval.dtype)
        for atom in eqn.invars
    ]
    raw = primitive.impl(*values, **eqn.params)
    raw = list(raw) if primitive.multiple_results else [raw]
    assert [(np.asarray(r).dtype, np.shape(r)) for r in raw] == [
        (aval.dtype, aval.shape) for aval in rule_out
    ]


def check_traced(record, dtype, shape):
    args = _inputs(record, dtype, shape)
    closed, _ = _single_equation(record, args)
    check_jaxpr(closed)
    traced = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager = _as_list(record.fun(*args))
    assert [t.aval for t in traced] == [e.aval for e in eager]
    for t, e in zip(traced, eager):
        assert_agrees_with_op_by_op(e, t)


def run_over_shapes(check, record, dtype):
    for shape in record.shapes:
        try:
            check(record, dtype, shape)
        except AssertionError as err:
            raise AssertionError(f"{record.label} at {dtype.name}{list(shape)}: {err}") from None


@pytest.mark.parametrize("record, dtype", cases())
def test_values_match_numpy(record, dtype):
    run_over_shapes(check_values, record, dtype)


# Collectives have values only inside a vmap that binds their axis name, so their records
# run under vmap and stage no single equation: tests/interpreters/test_collectives.py
# checks their avals and staging.
SINGLE_EQUATION = [r for r in OPS if r not in records_collectives.RECORDS]


@pytest.mark.parametrize("record, dtype", cases(SINGLE_EQUATION))
def test_output_aval_matches_abstract_eval(record, dtype):
    run_over_shapes(check_output_aval, record, dtype)


@pytest.mark.parametrize("record, dtype", cases(SINGLE_EQUATION))
def test_traced_jaxpr_matches_eager(record, dtype):
    run_over_shapes(check_traced, record, dtype)


# ---------------------------------------------------------------------------------------
# The registry


def test_every_registered_primitive_has_rules_and_an_op_record():
    registry = rules_of_every_primitive()
    assert registry, "the primitive registry is empty"
    without_rules = sorted(n for n, r in registry.items() if not (r["impl"] and r["abstract_eval"]))
    assert not without_rules, f"primitives lacking impl or abstract_eval: {without_rules}"
    # The op table covers the array primitives of funcgrad.lax; the transforms' own call
    # primitives (custom_jvp_call, ...) are tested with their transforms.
    lax_primitives = {n for n, r in registry.items() if r["module"].startswith("funcgrad.lax")}
    assert {"add", "dot_general", "closed_call"} <= lax_primitives
    without_records = sorted(lax_primitives - {record.primitive for record in OPS})
    assert not without_records, f"primitives with no OpRecord in {__file__}: {without_records}"


def test_every_public_lax_function_has_an_op_record():
    covered = {record.name for record in OPS}
    assert sorted(set(lax.__all__) - covered) == []
    assert all(callable(getattr(lax, name)) for name in lax.__all__)


# ---------------------------------------------------------------------------------------
# Weak types (hand-derived, following JAX: weak only if every operand is weak)


def weak_f32_vector():
    return lax.broadcast_in_dim(2.0, (3,), ())


WEAK_TYPE_CASES = [
    ("add_two_weak_scalars", lambda: lax.add(2.0, 3.0), F32, True, 5.0),
    ("mul_two_weak_ints", lambda: lax.mul(2, 3), I32, True, 6),
    ("add_weak_and_strong_scalar", lambda: lax.add(2.0, np.float32(3.0)), F32, False, 5.0),
    (
        "add_weak_array_and_strong_array",
        lambda: lax.add(jnp.asarray(2.0), np.ones(3, np.float32)),
        F32,
        False,
        [3.0] * 3,
    ),
    (
        "weak_scalar_adopts_float16",
        lambda: lax.add(np.ones(2, np.float16), 2.0),
        F16,
        False,
        [3.0] * 2,
    ),
    ("sub_two_weak_arrays", lambda: lax.sub(jnp.asarray(2.0), jnp.asarray(0.5)), F32, True, 1.5),
    ("neg_weak", lambda: lax.neg(2.0), F32, True, -2.0),
    ("exp_weak", lambda: lax.exp(0.0), F32, True, 1.0),
    ("max_weak_and_strong", lambda: lax.max(2.0, np.float32(1.0)), F32, False, 2.0),
    ("comparison_is_strong_bool", lambda: lax.lt(1.0, 2.0), BOOL, False, True),
    (
        "convert_element_type_is_strong",
        lambda: lax.convert_element_type(2.0, np.float32),
        F32,
        False,
        2.0,
    ),
    ("broadcast_in_dim_keeps_weak", weak_f32_vector, F32, True, [2.0] * 3),
    ("reduce_sum_keeps_weak", lambda: lax.reduce_sum(weak_f32_vector(), (0,)), F32, True, 6.0),
    ("reduce_max_keeps_weak", lambda: lax.reduce_max(weak_f32_vector(), (0,)), F32, True, 2.0),
    ("reshape_keeps_weak", lambda: lax.reshape(weak_f32_vector(), (3, 1)), F32, True, [[2.0]] * 3),
    ("select_of_weak_cases", lambda: lax.select(np.bool_(True), 1.0, 2.0), F32, True, 1.0),
    (
        "select_of_weak_and_strong",
        lambda: lax.select(np.bool_(False), 1.0, np.float32(2.0)),
        F32,
        False,
        2.0,
    ),
]


@pytest.mark.parametrize(
    "fun, dtype, weak, value", [pytest.param(*case[1:], id=case[0]) for case in WEAK_TYPE_CASES]
)
def test_weak_type_propagation(fun, dtype, weak, value):
    out = fun()
    assert out.dtype == dtype
    assert out.weak_type is weak
    np.testing.assert_array_equal(np.asarray(out), np.asarray(value, dtype=dtype))


# ---------------------------------------------------------------------------------------
# Integer division rounds toward zero; empty max reductions give the identity


DIVISIONS = [(-7, 2), (7, -2), (-7, -2), (7, 2), (0, 3), (-8, 2), (-1, 3), (1, -3), (9, 9)]


@pytest.mark.parametrize("dtype", [I32, I8])
def test_integer_div_rounds_toward_zero(dtype):
    x = np.array([a for a, _ in DIVISIONS], dtype)
    y = np.array([b for _, b in DIVISIONS], dtype)
    expected = [int(a / b) for a, b in DIVISIONS]  # int() truncates toward zero
    out = lax.div(x, y)
    assert out.dtype == dtype
    assert np.asarray(out).tolist() == expected


def test_integer_div_of_python_ints():
    out = lax.div(-7, 2)
    assert (out.dtype, out.weak_type, int(out)) == (I32, True, -3)


def test_unsigned_div():
    out = lax.div(np.array([250, 7, 3], np.uint8), np.array([3, 2, 5], np.uint8))
    assert out.dtype == U8
    assert np.asarray(out).tolist() == [83, 3, 0]


def test_integer_div_overflow_wraps_silently():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = lax.div(np.array([-128, -128], np.int8), np.array([-1, 1], np.int8))
    assert np.asarray(out).tolist() == [-128, -128]  # INT_MIN / -1 wraps to INT_MIN


@pytest.mark.parametrize("dtype", ORDERED, ids=lambda d: d.name)
@pytest.mark.parametrize(
    "shape, axes, out_shape",
    [((0,), (0,), ()), ((2, 0), (1,), (2,)), ((0, 3), (0,), (3,)), ((2, 0, 3), (0, 1), (3,))],
)
def test_reduce_max_over_empty_axis_is_the_identity(dtype, shape, axes, out_shape):
    out = lax.reduce_max(np.zeros(shape, dtype), axes)
    assert out.shape == out_shape and out.dtype == dtype
    values = np.asarray(out).astype(np.float64) if dtype in FLOATS else np.asarray(out)
    if dtype in FLOATS:
        assert np.all(values == -np.inf)
    elif dtype == BOOL:
        assert not values.any()
    else:
        assert np.all(values == np.iinfo(dtype).min)


def test_max_propagates_nan():
    x = np.array([np.nan, 1.0, 2.0], np.float32)
    out = lax.max(x, np.array([0.0, np.nan, 1.0], np.float32))
    values = np.asarray(out)
    assert np.isnan(values[0]) and np.isnan(values[1]) and values[2] == 2.0
    assert np.isnan(float(lax.reduce_max(np.array([1.0, np.nan, 3.0], np.float32), (0,))))


# ---------------------------------------------------------------------------------------
# Shape-rule errors: TypeError naming the primitive, the operand types and the user's line.
# Each lambda sits on one line: that line is the location the message must name.

f32_3, f16_3, i32_3 = np.ones(3, np.float32), np.ones(3, np.float16), np.ones(3, np.int32)
f32_2x3, f32_4x2 = np.ones((2, 3), np.float32), np.ones((4, 2), np.float32)
bool_3 = np.ones(3, np.bool_)

SHAPE_ERRORS = [
    ("add_shapes", "add", "f32[3], f32[2,3]", lambda x, y: lax.add(x, y), (f32_3, f32_2x3)),
    ("add_dtypes", "add", "f32[3], f16[3]", lambda x, y: lax.add(x, y), (f32_3, f16_3)),
    ("eq_dtypes", "eq", "i32[3], f32[3]", lambda x, y: lax.eq(x, y), (i32_3, f32_3)),
    ("sin_of_int32", "sin", "i32[3]", lambda x: lax.sin(x), (i32_3,)),
    ("pow_of_int32", "pow", "i32[3], i32[3]", lambda x, y: lax.pow(x, y), (i32_3, i32_3)),
    ("neg_of_bool", "neg", "bool[3]", lambda x: lax.neg(x), (bool_3,)),
    ("add_of_bool", "add", "bool[3], bool[3]", lambda x, y: lax.add(x, y), (bool_3, bool_3)),
    ("reduce_sum_of_bool", "reduce_sum", "bool[3]", lambda x: lax.reduce_sum(x, (0,)), (bool_3,)),
    ("reduce_sum_axis", "reduce_sum", "f32[3]", lambda x: lax.reduce_sum(x, (1,)), (f32_3,)),
    (
        "reduce_sum_repeated",
        "reduce_sum",
        "f32[2,3]",
        lambda x: lax.reduce_sum(x, (0, 0)),
        (f32_2x3,),
    ),
    ("reduce_max_axis", "reduce_max", "f32[2,3]", lambda x: lax.reduce_max(x, (-3,)), (f32_2x3,)),
    ("rev_axis", "rev", "f32[3]", lambda x: lax.rev(x, (1,)), (f32_3,)),
    ("squeeze_not_one", "squeeze", "f32[2,3]", lambda x: lax.squeeze(x, (0,)), (f32_2x3,)),
    ("squeeze_axis", "squeeze", "f32[3]", lambda x: lax.squeeze(x, (2,)), (f32_3,)),
    ("transpose_repeat", "transpose", "f32[2,3]", lambda x: lax.transpose(x, (0, 0)), (f32_2x3,)),
    ("transpose_short", "transpose", "f32[2,3]", lambda x: lax.transpose(x, (1,)), (f32_2x3,)),
    (
        "dot_general_sizes",
        "dot_general",
        "f32[2,3], f32[4,2]",
        lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))),
        (f32_2x3, f32_4x2),
    ),
    (
        "dot_general_batch",
        "dot_general",
        "f32[2,3], f32[4,2]",
        lambda x, y: lax.dot_general(x, y, (((), ()), ((0,), (0,)))),
        (f32_2x3, f32_4x2),
    ),
    (
        "dot_general_dtypes",
        "dot_general",
        "f32[3], f16[3]",
        lambda x, y: lax.dot_general(x, y, (((0,), (0,)), ((), ()))),
        (f32_3, f16_3),
    ),
    (
        "dot_general_axis",
        "dot_general",
        "f32[3], f32[3]",
        lambda x, y: lax.dot_general(x, y, (((1,), (0,)), ((), ()))),
        (f32_3, f32_3),
    ),
    ("reshape_size", "reshape", "f32[2,3]", lambda x: lax.reshape(x, (4, 2)), (f32_2x3,)),
    (
        "reshape_dimensions",
        "reshape",
        "f32[2,3]",
        lambda x: lax.reshape(x, (6,), (0, 0)),
        (f32_2x3,),
    ),
    (
        "broadcast_in_dim_size",
        "broadcast_in_dim",
        "f32[3]",
        lambda x: lax.broadcast_in_dim(x, (2, 4), (1,)),
        (f32_3,),
    ),
    (
        "broadcast_in_dim_rank",
        "broadcast_in_dim",
        "f32[2,3]",
        lambda x: lax.broadcast_in_dim(x, (2, 3), (0,)),
        (f32_2x3,),
    ),
    (
        "broadcast_in_dim_order",
        "broadcast_in_dim",
        "f32[2,3]",
        lambda x: lax.broadcast_in_dim(x, (3, 2), (1, 0)),
        (f32_2x3,),
    ),
    ("slice_limit", "slice", "f32[3]", lambda x: lax.slice(x, (1,), (5,)), (f32_3,)),
    ("slice_rank", "slice", "f32[2,3]", lambda x: lax.slice(x, (0,), (1,)), (f32_2x3,)),
    (
        "select_case_dtypes",
        "select_n",
        "bool[3], i32[3], f32[3]",
        lambda p, x, y: lax.select(p, x, y),
        (bool_3, f32_3, i32_3),
    ),
    (
        "select_selector_dtype",
        "select_n",
        "f32[3], f32[3], f32[3]",
        lambda p, x, y: lax.select(p, x, y),
        (f32_3, f32_3, f32_3),
    ),
    (
        "select_selector_shape",
        "select_n",
        "bool[2,3], f32[3], f32[3]",
        lambda p, x, y: lax.select(p, x, y),
        (np.ones((2, 3), bool), f32_3, f32_3),
    ),
    (
        "closed_call_operands",
        "closed_call",
        "f32[2,3]",
        lambda x: lax.closed_call(funcgrad.make_jaxpr(lax.sin)(f32_3), x),
        (f32_2x3,),
    ),
]


# Error cases whose message falls short because of a known funcgrad bug: id -> reason.
def _shape_error_params():
    return [
        pytest.param(
            *case[1:],
            id=case[0],
        )
        for case in SHAPE_ERRORS
    ]


def _check_shape_error(err: TypeError, primitive: str, operands: str, fun) -> None:
    message = str(err)
    assert message.startswith(f"{primitive}:"), message
    assert operands in message, message
    assert f"test_primitives.py:{fun.__code__.co_firstlineno}" in message, message


@pytest.mark.parametrize("primitive, operands, fun, args", _shape_error_params())
def test_shape_rule_error_names_primitive_operands_and_line(primitive, operands, fun, args):
    with pytest.raises(TypeError) as info:
        fun(*args)
    _check_shape_error(info.value, primitive, operands, fun)


@pytest.mark.parametrize("primitive, operands, fun, args", _shape_error_params())
def test_shape_rule_error_under_make_jaxpr(primitive, operands, fun, args):
    with pytest.raises(TypeError) as info:
        funcgrad.make_jaxpr(fun)(*args)
    _check_shape_error(info.value, primitive, operands, fun)


def test_check_jaxpr_rejects_an_equation_its_rule_rejects():
    # The checker is only meaningful if it can fail: retype the output of a traced add.
    closed = funcgrad.make_jaxpr(lax.add)(f32_3, f32_3)
    (eqn,) = closed.eqns
    bad_out = type(eqn.outvars[0])(ShapedArray((4,), np.float32))
    bad_eqn = dataclasses.replace(eqn, outvars=(bad_out,))
    bad = dataclasses.replace(closed.jaxpr, eqns=(bad_eqn,), outvars=(bad_out,))
    with pytest.raises(funcgrad.errors.JaxprTypeError, match="add"):
        check_jaxpr(bad)
