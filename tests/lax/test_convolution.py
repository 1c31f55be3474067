"""lax.conv_general_dilated and its wrappers: values against a loop reference over a
table of configurations, gradients of both operands against finite differences, vmap
against a Python loop, jit on both backends against eager, the layout and padding
helpers, and every bad-input path."""

from __future__ import annotations

import re

import numpy as np
import pytest
from records_convolution import reference_conv

import funcgrad as fg
from funcgrad import lax
from funcgrad.test_util import check_grads

# (label, lhs shape, rhs shape, keyword parameters, reference padding when a string is used)
CASES = [
    (
        "nchw_valid",
        (2, 3, 6, 5),
        (4, 3, 3, 2),
        dict(window_strides=(1, 1), padding="VALID"),
        [(0, 0), (0, 0)],
    ),
    (
        "nchw_same_strided",
        (2, 2, 7, 6),
        (3, 2, 3, 3),
        dict(window_strides=(2, 2), padding="SAME"),
        [(1, 1), (0, 1)],
    ),
    (
        "same_lower_even_kernel",
        (1, 2, 5, 5),
        (2, 2, 2, 2),
        dict(window_strides=(1, 1), padding="SAME_LOWER"),
        [(1, 0), (1, 0)],
    ),
    (
        "explicit_negative_pads",
        (2, 2, 6, 5),
        (2, 2, 2, 3),
        dict(window_strides=(1, 2), padding=((2, -1), (0, 3))),
        None,
    ),
    (
        "lhs_dilation",
        (1, 2, 4, 3),
        (2, 2, 3, 2),
        dict(window_strides=(1, 1), padding=((2, 2), (1, 1)), lhs_dilation=(2, 3)),
        None,
    ),
    (
        "rhs_dilation",
        (2, 1, 7, 7),
        (2, 1, 2, 3),
        dict(window_strides=(2, 1), padding=((0, 0), (1, 1)), rhs_dilation=(3, 2)),
        None,
    ),
    (
        "feature_groups",
        (2, 6, 5, 4),
        (4, 3, 2, 2),
        dict(window_strides=(1, 1), padding="VALID", feature_group_count=2),
        [(0, 0), (0, 0)],
    ),
    (
        "depthwise",
        (2, 3, 5, 5),
        (6, 1, 3, 3),
        dict(window_strides=(1, 1), padding=((1, 1), (1, 1)), feature_group_count=3),
        None,
    ),
    (
        "batch_groups",
        (4, 2, 5),
        (6, 2, 2),
        dict(window_strides=(1,), padding=((1, 0),), batch_group_count=2),
        None,
    ),
    (
        "nhwc_hwio",
        (2, 5, 6, 3),
        (3, 2, 3, 4),
        dict(
            window_strides=(1, 2),
            padding=((1, 1), (0, 0)),
            dimension_numbers=("NHWC", "HWIO", "NHWC"),
        ),
        None,
    ),
    (
        "nhwc_to_nchw",
        (1, 4, 4, 2),
        (3, 2, 2, 2),
        dict(
            window_strides=(1, 1),
            padding=((0, 1), (1, 0)),
            dimension_numbers=("NHWC", "OIHW", "NCHW"),
        ),
        None,
    ),
    ("conv_1d", (3, 2, 9), (2, 2, 4), dict(window_strides=(3,), padding=((1, 2),)), None),
    (
        "conv_3d",
        (1, 2, 4, 3, 4),
        (2, 2, 2, 2, 3),
        dict(window_strides=(1, 1, 2), padding=((1, 0), (0, 0), (1, 1))),
        None,
    ),
]

CASE_IDS = [case[0] for case in CASES]


def _operands(lhs_shape, rhs_shape, dtype=np.float32, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=lhs_shape).astype(dtype), rng.normal(size=rhs_shape).astype(dtype)


def _conv(params):
    return lambda lhs, rhs: lax.conv_general_dilated(lhs, rhs, **params)


def _reference(lhs, rhs, params, pads):
    reference_params = {k: v for k, v in params.items() if k not in ("window_strides", "padding")}
    padding = pads if pads is not None else params["padding"]
    return reference_conv(
        lhs.astype(np.float64), rhs.astype(np.float64), params["window_strides"], padding,
        **reference_params,
    )  # fmt: skip


@pytest.mark.parametrize("label, lhs_shape, rhs_shape, params, pads", CASES, ids=CASE_IDS)
def test_values_match_loop_reference(label, lhs_shape, rhs_shape, params, pads):
    lhs, rhs = _operands(lhs_shape, rhs_shape)
    out = _conv(params)(lhs, rhs)
    want = _reference(lhs, rhs, params, pads)
    assert out.shape == want.shape and out.dtype == np.float32
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("label, lhs_shape, rhs_shape, params, pads", CASES, ids=CASE_IDS)
def test_grads_of_both_operands(x64, label, lhs_shape, rhs_shape, params, pads):
    lhs, rhs = _operands(lhs_shape, rhs_shape, np.float64)
    # Second order is cheap for the 1-D and small 2-D cases.
    order = 2 if np.prod(lhs_shape) <= 60 else 1
    check_grads(_conv(params), (lhs, rhs), order=order, modes=("fwd", "rev"))


def test_second_order_mixed_partials(x64):
    lhs, rhs = _operands((1, 2, 5, 4), (2, 2, 2, 2), np.float64)
    params = dict(window_strides=(2, 1), padding="SAME")

    def loss(lhs, rhs):
        return (lax.conv_general_dilated(lhs, rhs, **params) ** 2).sum()

    check_grads(loss, (lhs, rhs), order=2, modes=("rev",))


VMAP_CASES = ["nchw_same_strided", "feature_groups", "depthwise", "batch_groups", "nhwc_hwio"]


@pytest.mark.parametrize("label", VMAP_CASES)
@pytest.mark.parametrize(
    "in_axes", [(0, None), (None, 0), (0, 0), (2, 1)], ids=["lhs", "rhs", "both", "inner"]
)
def test_vmap_matches_a_loop(label, in_axes):
    _, lhs_shape, rhs_shape, params, _ = CASES[CASE_IDS.index(label)]
    fun = _conv(params)
    examples = [_operands(lhs_shape, rhs_shape, seed=k) for k in range(3)]
    args = [
        examples[0][i] if axis is None else np.stack([ex[i] for ex in examples], axis)
        for i, axis in enumerate(in_axes)
    ]
    got = fg.vmap(fun, in_axes=in_axes)(*args)
    want = np.stack(
        [
            np.asarray(
                fun(*[examples[0][i] if a is None else ex[i] for i, a in enumerate(in_axes)])
            )
            for ex in examples
        ]
    )
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


def test_vmap_of_grad_matches_a_loop():
    _, lhs_shape, rhs_shape, params, _ = CASES[CASE_IDS.index("feature_groups")]

    def loss(rhs, lhs):
        return lax.conv_general_dilated(lhs, rhs, **params).sum()

    examples = [_operands(lhs_shape, rhs_shape, seed=k) for k in range(3)]
    rhs = np.stack([ex[1] for ex in examples])
    lhs = examples[0][0]
    got = fg.vmap(fg.grad(loss), in_axes=(0, None))(rhs, lhs)
    want = np.stack([np.asarray(fg.grad(loss)(r, lhs)) for r in rhs])
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("label", ["nchw_same_strided", "depthwise", "batch_groups", "nhwc_hwio"])
def test_jit_matches_eager(monkeypatch, backend, label):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    _, lhs_shape, rhs_shape, params, _ = CASES[CASE_IDS.index(label)]
    lhs, rhs = _operands(lhs_shape, rhs_shape)
    bias = np.linspace(-1, 1, _conv(params)(lhs, rhs).shape[-1]).astype(np.float32)

    def loss(lhs, rhs):
        # A bias + relu epilogue, as in a CNN layer.
        return (fg.nn.relu(_conv(params)(lhs, rhs) + bias) ** 2).sum()

    value, grads = fg.jit(fg.value_and_grad(loss, argnums=(0, 1)), backend=backend)(lhs, rhs)
    want_value, want_grads = fg.value_and_grad(loss, argnums=(0, 1))(lhs, rhs)
    np.testing.assert_allclose(float(value), float(want_value), rtol=1e-5)
    for got, want in zip(grads, want_grads):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype", [np.float16, np.int32])
def test_narrow_and_integer_dtypes(dtype):
    lhs, rhs = _operands((2, 2, 4, 4), (3, 2, 2, 2))
    lhs, rhs = np.round(lhs * 2).astype(dtype), np.round(rhs * 2).astype(dtype)
    out = lax.conv(lhs, rhs, (1, 1), "VALID")
    assert out.dtype == dtype
    want = reference_conv(lhs.astype(np.float64), rhs.astype(np.float64), (1, 1), [(0, 0)] * 2)
    np.testing.assert_array_equal(np.asarray(out).astype(np.float64), want)


def test_preferred_element_type_widens_the_result_and_its_gradient():
    lhs, rhs = _operands((1, 2, 4, 4), (2, 2, 3, 3), np.float16)
    out = lax.conv(lhs, rhs, (1, 1), "SAME", preferred_element_type=np.float32)
    assert out.dtype == np.float32
    want = reference_conv(lhs.astype(np.float64), rhs.astype(np.float64), (1, 1), [(1, 1)] * 2)
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-3, atol=1e-3)
    grad = fg.grad(
        lambda r: lax.conv(lhs, r, (1, 1), "SAME", preferred_element_type=np.float32).sum()
    )(rhs)
    assert grad.dtype == np.float16


# ---------------------------------------------------------------------------------------
# The wrappers and helpers


def test_conv_transpose_with_transpose_kernel_is_the_gradient_of_a_strided_conv():
    # For the forward conv y = conv(x, k, stride 2, SAME) in NHWC/HWIO, conv_transpose of a
    # cotangent with the same kernel and transpose_kernel=True is d(<y, ct>)/dx.
    x, kernel = _operands((1, 6, 6, 2), (3, 3, 2, 4))
    numbers = ("NHWC", "HWIO", "NHWC")

    def forward(x):
        return lax.conv_general_dilated(x, kernel, (2, 2), "SAME", dimension_numbers=numbers)

    cotangent = np.random.default_rng(1).normal(size=forward(x).shape).astype(np.float32)
    _, pullback = fg.vjp(forward, x)
    (want,) = pullback(cotangent)
    got = lax.conv_transpose(
        cotangent, kernel, (2, 2), "SAME", dimension_numbers=numbers, transpose_kernel=True
    )
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)  # fmt: skip


@pytest.mark.parametrize(
    "padding, kernel, stride, pads",
    [("SAME", 3, 2, (2, 1)), ("VALID", 3, 2, (2, 2)), ("SAME", 2, 3, (1, 2))],
)
def test_conv_transpose_padding(padding, kernel, stride, pads):
    # Hand-worked paddings of the stride-dilated input, giving Keras' Conv2DTranspose
    # lengths: SAME in * stride, VALID (in - 1) * stride + kernel.
    lhs, rhs = _operands((2, 4, 3), (kernel, 3, 2))
    out = lax.conv_transpose(lhs, rhs, (stride,), padding)
    want = reference_conv(
        lhs.astype(np.float64), rhs.astype(np.float64), (1,), [pads], (stride,), None,
        ("NHC", "HIO", "NHC"),
    )  # fmt: skip
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-5, atol=1e-5)


def test_conv_general_dilated_patches_nhwc():
    x, _ = _operands((2, 4, 5, 3), (1,))
    out = lax.conv_general_dilated_patches(
        x, (2, 3), (1, 1), "VALID", dimension_numbers=("NHWC", "OIHW", "NHWC")
    )
    assert out.shape == (2, 3, 3, 18)
    # Feature c * 6 + (dy * 3 + dx) is channel c at tap (dy, dx).
    want = np.zeros((2, 3, 3, 18), np.float32)
    for c in range(3):
        for dy in range(2):
            for dx in range(3):
                want[..., c * 6 + dy * 3 + dx] = x[:, dy : dy + 3, dx : dx + 3, c]
    np.testing.assert_array_equal(np.asarray(out), want)


def test_conv_dimension_numbers():
    numbers = lax.conv_dimension_numbers((1, 5, 5, 3), (2, 2, 3, 8), ("NHWC", "HWIO", "NHWC"))
    assert numbers == lax.ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))
    # Spatial axes pair by letter, in the kernel spec's order.
    numbers = lax.conv_dimension_numbers((1, 5, 5, 3), (8, 3, 2, 2), ("NWHC", "OIHW", "NCWH"))
    assert numbers == lax.ConvDimensionNumbers((0, 3, 2, 1), (0, 1, 2, 3), (0, 1, 3, 2))
    assert lax.conv_dimension_numbers((1, 2, 3), (4, 2, 1), None) == ((0, 1, 2),) * 3


def test_dimension_numbers_object_equals_strings():
    lhs, rhs = _operands((1, 4, 4, 2), (2, 2, 2, 3))
    strings = ("NHWC", "HWIO", "NHWC")
    numbers = lax.conv_dimension_numbers(lhs.shape, rhs.shape, strings)
    a = lax.conv_general_dilated(lhs, rhs, (1, 1), "SAME", dimension_numbers=strings)
    b = lax.conv_general_dilated(lhs, rhs, (1, 1), "SAME", dimension_numbers=numbers)
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_padtype_to_pads_known_answers():
    assert lax.padtype_to_pads((5, 7), (3, 2), (2, 1), "SAME") == [(1, 1), (0, 1)]
    assert lax.padtype_to_pads((5, 7), (3, 2), (2, 1), "SAME_LOWER") == [(1, 1), (1, 0)]
    assert lax.padtype_to_pads((4,), (5,), (1,), "VALID") == [(0, 0)]
    assert lax.padtype_to_pads((8,), (1,), (3,), "SAME") == [(0, 0)]


def test_make_jaxpr_shows_one_convolution_with_its_parameters():
    lhs, rhs = _operands((1, 2, 5, 5), (3, 2, 3, 3))
    closed = fg.make_jaxpr(lambda x, w: lax.conv(x, w, (2, 2), "SAME"))(lhs, rhs)
    (eqn,) = closed.eqns
    assert eqn.primitive.name == "conv_general_dilated"
    assert eqn.params["padding"] == ((1, 1), (1, 1))
    assert eqn.outvars[0].aval.shape == (1, 3, 3, 3)


# ---------------------------------------------------------------------------------------
# Bad inputs: funcgrad's errors name the operation, the problem and the user's line.

x4, w4 = np.ones((1, 4, 5, 5), np.float32), np.ones((2, 4, 3, 3), np.float32)

ERRORS = [
    (
        "rank",
        TypeError,
        "equal ranks of at least 2, got 4 and 3",
        lambda: lax.conv(x4, np.ones((2, 4, 3), np.float32), (1,), "VALID"),
    ),
    (
        "channels",
        TypeError,
        "4 features but the kernel expects 3",
        lambda: lax.conv(x4, np.ones((2, 3, 3, 3), np.float32), (1, 1), "VALID"),
    ),
    (
        "groups_divide",
        TypeError,
        "feature_group_count 3 must divide",
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), "VALID", feature_group_count=3),
    ),
    (
        "batch_groups_divide",
        TypeError,
        "batch_group_count 2 must divide the batch (1)",
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), "VALID", batch_group_count=2),
    ),
    (
        "both_groups",
        TypeError,
        "are both > 1",
        lambda: lax.conv_general_dilated(
            np.ones((2, 4, 5, 5), np.float32),
            np.ones((2, 2, 3, 3), np.float32),
            (1, 1),
            "VALID",
            feature_group_count=2,
            batch_group_count=2,
        ),
    ),
    (
        "window_too_large",
        TypeError,
        "larger than the padded input",
        lambda: lax.conv(x4, np.ones((2, 4, 7, 3), np.float32), (1, 1), "VALID"),
    ),
    (
        "bad_padding_string",
        ValueError,
        "'HALF' is not a padding mode",
        lambda: lax.conv(x4, w4, (1, 1), "HALF"),
    ),
    (
        "bad_padding_pairs",
        ValueError,
        "(low, high) integer pairs",
        lambda: lax.conv(x4, w4, (1, 1), [1, 2]),
    ),
    (
        "negative_stride",
        TypeError,
        "window_strides (-1, 1) must be integers >= 1",
        lambda: lax.conv_general_dilated(x4, w4, (-1, 1), ((0, 0), (0, 0))),
    ),
    (
        "zero_dilation",
        TypeError,
        "rhs_dilation (0, 1) must be integers >= 1",
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), "VALID", rhs_dilation=(0, 1)),
    ),
    (
        "strides_length",
        TypeError,
        "window_strides (1,) needs one entry per spatial axis (2)",
        lambda: lax.conv_general_dilated(x4, w4, (1,), ((0, 0), (0, 0))),
    ),
    (
        "dtypes",
        TypeError,
        "operand dtypes must be equal",
        lambda: lax.conv(x4, w4.astype(np.float16), (1, 1), "VALID"),
    ),
    (
        "bool",
        TypeError,
        "dtype bool is not accepted",
        lambda: lax.conv(x4 > 0, w4 > 0, (1, 1), "VALID"),
    ),
    (
        "layout_letters",
        ValueError,
        "must name N and C once",
        lambda: lax.conv_general_dilated(
            x4, w4, (1, 1), "VALID", dimension_numbers=("NHWW", "OIHW", "NCHW")
        ),
    ),
    (
        "layout_spatial",
        ValueError,
        "spatial axes of 'NCHD'",
        lambda: lax.conv_general_dilated(
            x4, w4, (1, 1), "VALID", dimension_numbers=("NCHD", "OIHW", "NCHW")
        ),
    ),
    (
        "string_padding_with_lhs_dilation",
        ValueError,
        "not defined with lhs_dilation",
        lambda: lax.conv_general_dilated(x4, w4, (1, 1), "SAME", lhs_dilation=(2, 2)),
    ),
]


@pytest.mark.parametrize(
    "kind, message, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_bad_inputs_raise_clear_errors(kind, message, fun):
    with pytest.raises(kind) as info:
        fun()
    text = str(info.value)
    assert text.startswith("conv_general_dilated:"), text
    assert message in text, text
    where = re.search(r"test_convolution\.py:(\d+)", text)
    assert where is not None, text
    first = fun.__code__.co_firstlineno
    assert first <= int(where.group(1)) <= first + 8, text


def test_padtype_to_pads_rejects_mismatched_lengths():
    with pytest.raises(ValueError, match="one entry per spatial axis"):
        lax.padtype_to_pads((5, 5), (3,), (1, 1), "SAME")
