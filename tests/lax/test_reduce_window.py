"""lax.reduce_window (sum, max and min pooling): values against a loop reference over a
table of window configurations, average pooling, init values that are not the identity,
gradients against finite differences (ties shared as reduce_max shares them), vmap
against a Python loop, jit on both backends against eager, and the bad-input paths."""

from __future__ import annotations

import re

import numpy as np
import pytest
from records_windowed import reference_reduce_window

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.test_util import check_grads

COMPUTATION = {"sum": lax.add, "max": lax.max, "min": lax.min}
IDENTITY = {"sum": 0.0, "max": -np.inf, "min": np.inf}

# (label, kind, shape, window, strides, padding, reference padding, base dilation, window dilation)
CASES = [
    (
        "max_pool_2x2",
        "max",
        (2, 3, 6, 4),
        (1, 1, 2, 2),
        (1, 1, 2, 2),
        "VALID",
        [(0, 0)] * 4,
        None,
        None,
    ),
    (
        "max_pool_3x3_same",
        "max",
        (1, 2, 5, 6),
        (1, 1, 3, 3),
        (1, 1, 2, 2),
        "SAME",
        [(0, 0), (0, 0), (1, 1), (0, 1)],
        None,
        None,
    ),
    # Windows that tile the operand: differentiated as a reshape and a reduction.
    ("sum_tiles", "sum", (4, 6), (2, 3), (2, 3), "VALID", [(0, 0)] * 2, None, None),
    (
        "min_tiles_nhwc",
        "min",
        (2, 4, 6, 3),
        (1, 2, 3, 1),
        (1, 2, 3, 1),
        "VALID",
        [(0, 0)] * 4,
        None,
        None,
    ),
    ("max_same_lower", "max", (4, 5), (2, 2), (1, 1), "SAME_LOWER", [(1, 0), (1, 0)], None, None),
    ("min_explicit_padding", "min", (5, 6), (3, 2), (2, 1), ((2, 0), (1, 1)), None, None, None),
    ("min_window_dilation", "min", (7, 5), (2, 2), (1, 2), ((0, 0), (1, 0)), None, None, (3, 1)),
    (
        "sum_strided_padded",
        "sum",
        (2, 6, 5),
        (1, 3, 2),
        (1, 2, 2),
        ((0, 0), (1, 1), (0, 1)),
        None,
        None,
        None,
    ),
    ("sum_base_dilation", "sum", (4, 3), (3, 2), (1, 1), ((1, 1), (0, 0)), None, (2, 3), None),
    ("max_both_dilations_1d", "max", (6,), (3,), (2,), ((0, 2),), None, (2,), (2,)),
]
CASE_IDS = [case[0] for case in CASES]


def _distinct(shape, seed=0):
    # Distinct values: no ties, so finite differences see a smooth function.
    size = int(np.prod(shape))
    values = np.random.default_rng(seed).permutation(size) - size / 2
    return (values / size * 4).reshape(shape)


def _pool(kind, window, strides, padding, base_dilation, window_dilation):
    def pool(x):
        return lax.reduce_window(
            x, IDENTITY[kind], COMPUTATION[kind], window, strides, padding,
            base_dilation, window_dilation,
        )  # fmt: skip

    return pool


def _case(label):
    _, kind, shape, window, strides, padding, pads, base, dilation = CASES[CASE_IDS.index(label)]
    return shape, _pool(kind, window, strides, padding, base, dilation)


@pytest.mark.parametrize(
    "label, kind, shape, window, strides, padding, pads, base, dilation", CASES, ids=CASE_IDS
)
def test_values_match_loop_reference(
    label, kind, shape, window, strides, padding, pads, base, dilation
):
    x = _distinct(shape).astype(np.float32)
    out = _pool(kind, window, strides, padding, base, dilation)(x)
    want = reference_reduce_window(
        x.astype(np.float64), kind, window, strides, pads or padding, base, dilation
    )
    assert out.shape == want.shape and out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("label", CASE_IDS)
def test_grads(x64, label):
    shape, pool = _case(label)
    check_grads(pool, (_distinct(shape),), order=2, modes=("fwd", "rev"))


def test_average_pooling_is_sum_over_window_size():
    x = _distinct((2, 3, 4, 6)).astype(np.float32)

    def avg_pool(x):
        return lax.reduce_window(x, 0.0, lax.add, (1, 1, 2, 3), (1, 1, 2, 3), "VALID") / 6.0

    want = x.reshape(2, 3, 2, 2, 2, 3).mean(axis=(3, 5))
    np.testing.assert_allclose(np.asarray(avg_pool(x)), want, rtol=1e-6, atol=1e-6)
    # Every input feeds exactly one window, so the gradient of the sum is 1/6 everywhere.
    grad = fg.grad(lambda x: avg_pool(x).sum())(x)
    np.testing.assert_allclose(np.asarray(grad), np.full(x.shape, 1 / 6), rtol=1e-6)


def test_max_pool_ties_share_the_gradient_like_reduce_max():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 5.0, 5.0]], np.float32)
    pooled = fg.grad(
        lambda x: lax.reduce_window(x, -np.inf, lax.max, (2, 2), (2, 2), "VALID").sum()
    )
    windows = fg.grad(
        lambda x: lax.reduce_max(x.reshape(2, 2, 2).transpose(1, 0, 2).reshape(2, 4), (1,)).sum()
    )
    np.testing.assert_array_equal(np.asarray(pooled(x)), np.asarray(windows(x)))
    # Each window's maximum is tied twice: each of the two gets half of the cotangent.
    want = [[0.0, 0.5, 0.0, 0.0], [0.5, 0.0, 0.5, 0.5]]
    np.testing.assert_allclose(np.asarray(pooled(x)), want, rtol=1e-6)


@pytest.mark.parametrize(
    "kind, init, expected",
    [
        # The init value starts each window once; padding contributes nothing.
        ("sum", 10.0, [11.0, 13.0, 15.0, 13.0]),
        ("max", 2.5, [2.5, 2.5, 3.0, 3.0]),
        ("min", 1.5, [1.0, 1.0, 1.5, 1.5]),
    ],
)
def test_init_values_other_than_the_identity(kind, init, expected):
    x = np.array([1.0, 2.0, 3.0], np.float32)
    out = lax.reduce_window(x, init, COMPUTATION[kind], (2,), (1,), ((1, 1),))
    np.testing.assert_array_equal(np.asarray(out), expected)


def test_product_windows_and_traced_computations():
    x = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    out = lax.reduce_window(x, 1.0, lax.mul, (2,), (1,), "VALID")
    np.testing.assert_array_equal(np.asarray(out), [2.0, 6.0, 12.0])
    grad = fg.grad(lambda x: lax.reduce_window(x, 1.0, lax.mul, (2,), (2,), "VALID").sum())(x)
    np.testing.assert_array_equal(np.asarray(grad), [2.0, 1.0, 4.0, 3.0])
    # Any function that is just max of its two arguments selects max pooling.
    closed = fg.make_jaxpr(lambda x: lax.reduce_window(x, -np.inf, jnp.maximum, (2,), (1,)))(x)
    assert [eqn.primitive.name for eqn in closed.eqns] == ["reduce_window_max"]


@pytest.mark.parametrize("dtype", [np.int32, np.float16])
def test_integer_and_narrow_dtypes(dtype):
    x = np.arange(12).reshape(3, 4).astype(dtype)
    low = np.iinfo(dtype).min if dtype == np.int32 else -np.inf
    out = lax.reduce_window(x, np.asarray(low, dtype), lax.max, (2, 2), (1, 2), "VALID")
    assert out.dtype == dtype
    np.testing.assert_array_equal(np.asarray(out), [[5, 7], [9, 11]])
    total = lax.reduce_window(x, np.asarray(0, dtype), lax.add, (3, 1), (1, 1), "VALID")
    np.testing.assert_array_equal(np.asarray(total), [[12, 15, 18, 21]])


@pytest.mark.parametrize("label", ["max_pool_2x2", "min_window_dilation", "sum_base_dilation"])
@pytest.mark.parametrize("axis", [0, 1, -1])
def test_vmap_matches_a_loop(label, axis):
    shape, pool = _case(label)
    examples = [_distinct(shape, seed).astype(np.float32) for seed in range(3)]
    got = fg.vmap(pool, in_axes=axis)(np.stack(examples, axis))
    want = np.stack([np.asarray(pool(x)) for x in examples])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-6)
    grads = fg.vmap(fg.grad(lambda x: (pool(x) ** 2).sum()))(np.stack(examples))
    want_grads = np.stack(
        [np.asarray(fg.grad(lambda x: (pool(x) ** 2).sum())(x)) for x in examples]
    )
    np.testing.assert_allclose(np.asarray(grads), want_grads, rtol=1e-6)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("label", CASE_IDS)
def test_jit_matches_eager(monkeypatch, backend, label):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    shape, pool = _case(label)
    x = _distinct(shape).astype(np.float32)

    def loss(x):
        return (jnp.tanh(pool(x)) * 3.0).sum()

    value, grad = fg.jit(fg.value_and_grad(loss), backend=backend)(x)
    want_value, want_grad = fg.value_and_grad(loss)(x)
    np.testing.assert_allclose(float(value), float(want_value), rtol=1e-5)
    np.testing.assert_allclose(np.asarray(grad), np.asarray(want_grad), rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------
# Bad inputs

x4 = np.ones((1, 2, 4, 4), np.float32)

ERRORS = [
    (
        "computation",
        TypeError,
        "reduce_window:",
        "lax.add, lax.max, lax.min or lax.mul",
        lambda: lax.reduce_window(x4, 0.0, lax.sub, (1, 1, 2, 2), (1, 1, 2, 2)),
    ),
    (
        "window_too_large",
        TypeError,
        "reduce_window_max:",
        "larger than the padded operand (4)",
        lambda: lax.reduce_window(x4, -np.inf, lax.max, (1, 1, 5, 2), (1, 1, 1, 1)),
    ),
    (
        "window_rank",
        TypeError,
        "reduce_window_sum:",
        "window_dimensions (2, 2) needs one entry per operand axis (4)",
        lambda: lax.reduce_window(x4, 0.0, lax.add, (2, 2), (1, 1, 1, 1), ((0, 0),) * 4),
    ),
    (
        "zero_stride",
        TypeError,
        "reduce_window_sum:",
        "window_strides (1, 1, 0, 1) must be integers >= 1",
        lambda: lax.reduce_window(x4, 0.0, lax.add, (1, 1, 2, 2), (1, 1, 0, 1), ((0, 0),) * 4),
    ),
    (
        "padding_string",
        ValueError,
        "reduce_window:",
        "'FULL' is not a padding mode",
        lambda: lax.reduce_window(x4, 0.0, lax.add, (1, 1, 2, 2), (1, 1, 1, 1), "FULL"),
    ),
    (
        "padding_pairs",
        TypeError,
        "reduce_window_min:",
        "needs one (low, high) pair per operand axis",
        lambda: lax.reduce_window(x4, np.inf, lax.min, (1, 1, 2, 2), (1, 1, 1, 1), ((0, 0),)),
    ),
    (
        "bool_sum",
        TypeError,
        "reduce_window_sum:",
        "dtype bool is not accepted",
        lambda: lax.reduce_window(x4 > 0, False, lax.add, (1, 1, 2, 2), (1, 1, 1, 1)),
    ),
    (
        "pytree_operand",
        TypeError,
        "reduce_window:",
        "one array at a time",
        lambda: lax.reduce_window((x4, x4), (0.0, 0.0), lax.add, (1, 1, 2, 2)),
    ),
]


@pytest.mark.parametrize(
    "kind, prefix, message, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_bad_inputs_raise_clear_errors(kind, prefix, message, fun):
    with pytest.raises(kind) as info:
        fun()
    text = str(info.value)
    assert text.startswith(prefix), text
    assert message in text, text
    where = re.search(r"test_reduce_window\.py:(\d+)", text)
    assert where is not None, text
    first = fun.__code__.co_firstlineno
    assert first <= int(where.group(1)) <= first + 8, text
