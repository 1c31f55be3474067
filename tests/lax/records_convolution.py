"""Op records for funcgrad/lax/convolution.py: conv_general_dilated over layouts, strides,
padding modes, dilations and feature/batch groups, and the wrappers conv,
conv_with_general_padding, conv_transpose and conv_general_dilated_patches.

The reference, `reference_conv`, is a direct loop over output positions and kernel taps
that reads the input through an index map (padding and dilation holes read as zero), so
it shares nothing with the im2col impl. A record's `shape` is the lhs shape followed by
the rhs shape (both have the same rank).
"""

from __future__ import annotations

import itertools

import numpy as np
from op_records import ACCUMULATING, FLOATS, I32, OpRecord, draw, is_float

from funcgrad import lax


def _specs(dimension_numbers, ndim):
    """Canonical axis positions (lhs, rhs, out), independently of funcgrad's parser."""
    if dimension_numbers is None:
        return (tuple(range(ndim)),) * 3
    lhs, rhs, out = dimension_numbers
    spatial = [c for c in rhs if c not in "OI"]
    return (
        tuple(lhs.index(c) for c in ("N", "C", *spatial)),
        tuple(rhs.index(c) for c in ("O", "I", *spatial)),
        tuple(out.index(c) for c in ("N", "C", *spatial)),
    )


def reference_conv(
    lhs,
    rhs,
    strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
):
    """Convolution by loops over output positions: padding is explicit (low, high) pairs."""
    lhs_spec, rhs_spec, out_spec = _specs(dimension_numbers, lhs.ndim)
    x, w = np.transpose(lhs, lhs_spec), np.transpose(rhs, rhs_spec)
    n_in, channels = x.shape[:2]
    features, per_group = w.shape[:2]
    sizes, taps = x.shape[2:], w.shape[2:]
    spatial = len(sizes)
    lhs_dilation = lhs_dilation or (1,) * spatial
    rhs_dilation = rhs_dilation or (1,) * spatial

    def read(n, c, place):
        index = []
        for axis, p in enumerate(place):
            q = p - padding[axis][0]
            if q < 0 or q % lhs_dilation[axis]:
                return 0
            q //= lhs_dilation[axis]
            if q >= sizes[axis]:
                return 0
            index.append(q)
        return x[(n, c, *index)]

    padded = [(n - 1) * d + 1 + lo + hi for n, d, (lo, hi) in zip(sizes, lhs_dilation, padding)]
    spans = [(k - 1) * r + 1 for k, r in zip(taps, rhs_dilation)]
    out_sizes = [(p - s) // st + 1 for p, s, st in zip(padded, spans, strides)]
    n_out = n_in // batch_group_count
    out = np.zeros((n_out, features, *out_sizes), np.result_type(lhs, np.float64))
    if not is_float(lhs.dtype):
        out = out.astype(np.int64)
    groups = max(feature_group_count, batch_group_count)
    for n, o, position in itertools.product(
        range(n_out), range(features), itertools.product(*map(range, out_sizes))
    ):
        group = o // (features // groups)
        example = group * n_out + n if batch_group_count > 1 else n
        total = 0
        for i, tap in itertools.product(range(per_group), itertools.product(*map(range, taps))):
            c = i if batch_group_count > 1 else group * per_group + i
            place = [p * st + k * r for p, st, k, r in zip(position, strides, tap, rhs_dilation)]
            total += read(example, c, place) * w[(o, i, *tap)]
        out[(n, o, *position)] = total
    return np.transpose(out, np.argsort(out_spec))


def conv_operands(rng, shape, dtype):
    half = len(shape) // 2
    low, high = (-2.0, 2.0) if is_float(dtype) else (-3, 3)
    return [draw(rng, shape[:half], dtype, low, high), draw(rng, shape[half:], dtype, low, high)]


def conv_record(label, fun, reference, shapes, name="conv_general_dilated", dtypes=None):
    return OpRecord(
        label=label,
        name=name,
        primitive="conv_general_dilated",
        fun=fun,
        reference=reference,
        arity=2,
        dtypes=dtypes or (*FLOATS, I32),
        make_inputs=conv_operands,
        tolerance=ACCUMULATING,
        shapes=shapes,
    )


def general(label, shapes, strides, padding, reference_padding=None, **params):
    """A conv_general_dilated record; `reference_padding` spells out a string padding."""

    def fun(lhs, rhs):
        return lax.conv_general_dilated(lhs, rhs, strides, padding, **params)

    def reference(lhs, rhs):
        pads = reference_padding(lhs, rhs) if reference_padding else padding
        return reference_conv(lhs, rhs, strides, pads, **params)

    return conv_record(label, fun, reference, shapes)


def same_2d(lhs, rhs):
    """SAME padding for a stride-1 NCHW/OIHW conv, worked out by hand: total k - 1."""
    return [((k - 1) // 2, k - 1 - (k - 1) // 2) for k in rhs.shape[2:]]


def reference_transpose(lhs, rhs):
    # conv_transpose with "SAME", strides (2,) and a kernel of 3 (NHC / HIO): the input is
    # dilated by 2 and padded by (2, 1) (k + s - 2 = 3 in total, ceil(3 / 2) low).
    return reference_conv(lhs, rhs, (1,), [(2, 1)], (2,), None, ("NHC", "HIO", "NHC"))


def reference_patches(lhs):
    """Patches by slicing: feature c * 4 + k is channel c at tap k of a 2x2 window."""
    n, c, h, w = lhs.shape
    out = np.zeros((n, c * 4, h // 2, w // 2), lhs.dtype)
    for channel, (dy, dx) in itertools.product(range(c), itertools.product(range(2), range(2))):
        out[:, channel * 4 + dy * 2 + dx] = lhs[:, channel, dy::2, dx::2][:, : h // 2, : w // 2]
    return out


RECORDS = [
    general(
        "conv_general_dilated_nchw_same",
        ((2, 3, 5, 4, 4, 3, 3, 2), (1, 2, 3, 3, 2, 2, 1, 1), (0, 2, 4, 3, 2, 2, 3, 3)),
        (1, 1),
        "SAME",
        same_2d,
    ),
    general(
        "conv_general_dilated_nhwc_strided_dilated",
        ((2, 6, 5, 3, 2, 2, 3, 4),),
        (2, 1),
        ((1, 0), (0, 2)),
        rhs_dilation=(2, 1),
        dimension_numbers=("NHWC", "HWIO", "NHWC"),
    ),
    general(
        "conv_general_dilated_1d_lhs_dilation_negative_pad",
        ((2, 2, 6, 3, 2, 3),),
        (2,),
        ((-1, 2),),
        lhs_dilation=(2,),
    ),
    general(
        "conv_general_dilated_feature_groups",
        ((2, 4, 5, 4, 6, 2, 2, 3),),
        (1, 2),
        ((1, 1), (0, 0)),
        feature_group_count=2,
    ),
    general(
        "conv_general_dilated_depthwise",
        ((1, 3, 5, 5, 3, 1, 3, 3),),
        (1, 1),
        ((1, 1), (1, 1)),
        feature_group_count=3,
    ),
    general(
        "conv_general_dilated_batch_groups",
        ((4, 3, 6, 4, 3, 3),),
        (1,),
        ((1, 0),),
        batch_group_count=2,
    ),
    general(
        "conv_general_dilated_3d",
        ((1, 2, 4, 3, 3, 2, 2, 2, 2, 2),),
        (1, 2, 1),
        ((0, 1), (1, 0), (0, 0)),
    ),
    conv_record(
        "conv",
        lambda lhs, rhs: lax.conv(lhs, rhs, (1, 2), "VALID"),
        lambda lhs, rhs: reference_conv(lhs, rhs, (1, 2), [(0, 0), (0, 0)]),
        ((2, 2, 4, 5, 3, 2, 2, 3),),
        name="conv",
    ),
    conv_record(
        "conv_with_general_padding",
        lambda lhs, rhs: lax.conv_with_general_padding(
            lhs, rhs, (1, 1), ((1, 2), (0, 1)), (1, 2), (2, 1)
        ),
        lambda lhs, rhs: reference_conv(lhs, rhs, (1, 1), [(1, 2), (0, 1)], (1, 2), (2, 1)),
        ((1, 2, 3, 3, 2, 2, 2, 2),),
        name="conv_with_general_padding",
    ),
    conv_record(
        "conv_transpose",
        lambda lhs, rhs: lax.conv_transpose(lhs, rhs, (2,), "SAME"),
        reference_transpose,
        ((2, 4, 3, 3, 3, 2),),
        name="conv_transpose",
    ),
    OpRecord(
        label="conv_general_dilated_patches",
        name="conv_general_dilated_patches",
        primitive="conv_general_dilated",
        fun=lambda lhs: lax.conv_general_dilated_patches(lhs, (2, 2), (2, 2), "VALID"),
        reference=reference_patches,
        arity=1,
        dtypes=FLOATS,
        make_inputs=lambda rng, shape, dtype: [draw(rng, shape, dtype, -2.0, 2.0)],
        tolerance=ACCUMULATING,
        shapes=((2, 3, 4, 5), (1, 1, 2, 2)),
    ),
]
