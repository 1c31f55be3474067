"""Convolution: the primitive conv_general_dilated and the wrappers built on it (conv,
conv_with_general_padding, conv_transpose, conv_general_dilated_patches), with the
helpers that turn layouts and padding names into the primitive's parameters
(ConvDimensionNumbers, conv_dimension_numbers, padtype_to_pads).

Internally every rule thinks in one canonical layout: lhs (N, C, spatial...), rhs
(O, I, spatial...), output (N, O, spatial...); `dimension_numbers` say where each of those
axes sits in the actual arrays. Feature groups split C and O into G groups, group g of
the output seeing only group g of the input channels (depthwise: G = C); batch groups
split N and O likewise (B batch groups give N / B output examples), which is how the
kernel's gradient of a grouped convolution is expressed.

The impl is im2col: the (dilated, padded) input viewed as windows with `as_strided`, one
copy into a (groups, rows, I * window) matrix, and one batched BLAS matmul. Both operands'
cotangents are convolutions again (conv is bilinear), so every order of derivative and
every transform of them reuse the same primitive.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.interpreters import ad, batching
from funcgrad.lax import elementwise as ew
from funcgrad.lax import shapes
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import shape_error
from funcgrad.runtime.devices import array_module

__all__ = [
    "ConvDimensionNumbers",
    "conv_dimension_numbers",
    "padtype_to_pads",
    "conv_general_dilated",
    "conv",
    "conv_with_general_padding",
    "conv_transpose",
    "conv_general_dilated_patches",
]


class ConvDimensionNumbers(NamedTuple):
    """Where the canonical axes sit: `lhs_spec` = (batch, feature, spatial...) axes of lhs,
    `rhs_spec` = (out feature, in feature, spatial...) of rhs, `out_spec` = (batch,
    feature, spatial...) of the output.

    >>> ConvDimensionNumbers((0, 3, 1, 2), (3, 2, 0, 1), (0, 3, 1, 2))  # NHWC, HWIO
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """

    lhs_spec: tuple
    rhs_spec: tuple
    out_spec: tuple


def _layout_error(problem: str) -> ValueError:
    return ValueError(f"conv_general_dilated: {problem} (at {user_location()}).")


def _spec_from_strings(specs: Sequence[str]) -> ConvDimensionNumbers:
    lhs, rhs, out = specs
    if not len(lhs) == len(rhs) == len(out):
        raise _layout_error(
            f"dimension_numbers {tuple(specs)} have different lengths; each names every axis"
        )
    for spec, pair in ((lhs, "NC"), (rhs, "OI"), (out, "NC")):
        if len(set(spec)) != len(spec) or any(spec.count(c) != 1 for c in pair):
            raise _layout_error(
                f"dimension_numbers string {spec!r} must name {pair[0]} and {pair[1]} once "
                "each and every spatial axis once (e.g. 'NHWC', 'HWIO', 'NHWC')"
            )
    spatial = [c for c in rhs if c not in "OI"]
    for spec in (lhs, out):
        if sorted(c for c in spec if c not in "NC") != sorted(spatial):
            raise _layout_error(
                f"spatial axes of {spec!r} differ from those of the kernel spec {rhs!r}"
            )
    # Spatial axes pair up by letter, in the order the kernel spec lists them.
    return ConvDimensionNumbers(
        (lhs.index("N"), lhs.index("C"), *(lhs.index(c) for c in spatial)),
        (rhs.index("O"), rhs.index("I"), *(rhs.index(c) for c in spatial)),
        (out.index("N"), out.index("C"), *(out.index(c) for c in spatial)),
    )


def conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers) -> ConvDimensionNumbers:
    """ConvDimensionNumbers from None (NCHW, OIHW, NCHW), a ConvDimensionNumbers, or three
    layout strings such as ("NHWC", "HWIO", "NHWC").

    >>> conv_dimension_numbers((1, 8, 8, 3), (5, 5, 3, 16), ("NHWC", "HWIO", "NHWC"))
    ConvDimensionNumbers(lhs_spec=(0, 3, 1, 2), rhs_spec=(3, 2, 0, 1), out_spec=(0, 3, 1, 2))
    """
    ndim = len(lhs_shape)
    if len(rhs_shape) != ndim:
        raise _layout_error(
            f"lhs rank {ndim} and rhs rank {len(rhs_shape)} differ; both need batch/feature "
            "axes and the same number of spatial axes"
        )
    if ndim < 2:
        raise _layout_error(f"operands of rank {ndim} have no batch and feature axes")
    if dimension_numbers is None:
        default = tuple(range(ndim))
        return ConvDimensionNumbers(default, default, default)
    if isinstance(dimension_numbers, ConvDimensionNumbers):
        numbers = dimension_numbers
    elif len(dimension_numbers) == 3 and all(isinstance(s, str) for s in dimension_numbers):
        numbers = _spec_from_strings(dimension_numbers)
    elif len(dimension_numbers) == 3:
        numbers = ConvDimensionNumbers(*dimension_numbers)
    else:
        raise _layout_error(
            f"dimension_numbers {dimension_numbers!r} must be None, a ConvDimensionNumbers "
            "or three layout strings"
        )
    numbers = ConvDimensionNumbers(*(tuple(int(a) for a in spec) for spec in numbers))
    for spec in numbers:
        if sorted(spec) != list(range(ndim)):
            raise _layout_error(
                f"dimension_numbers {tuple(numbers)} must each be a permutation of the "
                f"{ndim} axes of the operands"
            )
    return numbers


def padtype_to_pads(in_shape, window_shape, window_strides, padding: str) -> list:
    """(low, high) padding per spatial axis for "VALID", "SAME" or "SAME_LOWER": SAME pads
    so that out = ceil(in / stride), the odd element going high (low for SAME_LOWER).

    >>> padtype_to_pads((5, 7), (3, 2), (2, 1), "SAME")
    [(1, 1), (0, 1)]
    """
    return string_padding("padtype_to_pads", in_shape, window_shape, window_strides, padding)


def string_padding(name: str, in_shape, window_shape, window_strides, padding: str) -> list:
    """`padtype_to_pads`, with errors naming the operation `name` the user called."""
    if not len(in_shape) == len(window_shape) == len(window_strides):
        raise ValueError(
            f"{name}: in_shape {tuple(in_shape)}, window_shape {tuple(window_shape)} and "
            f"window_strides {tuple(window_strides)} must have one entry per spatial axis "
            f"(at {user_location()})."
        )
    kind = padding.upper() if isinstance(padding, str) else padding
    if kind == "VALID":
        return [(0, 0)] * len(in_shape)
    if kind not in ("SAME", "SAME_LOWER"):
        raise ValueError(
            f"{name}: padding {padding!r} is not a padding mode (at {user_location()}). Use "
            "'VALID', 'SAME', 'SAME_LOWER' or a sequence of (low, high) pairs, one per "
            "spatial axis."
        )
    if any(stride < 1 for stride in window_strides):
        raise ValueError(
            f"{name}: window_strides {tuple(window_strides)} must be positive "
            f"(at {user_location()})."
        )
    pads = []
    for size, window, stride in zip(in_shape, window_shape, window_strides):
        out = -(-size // stride)
        total = max((out - 1) * stride + window - size, 0)
        small, large = total // 2, total - total // 2
        pads.append((small, large) if kind == "SAME" else (large, small))
    return pads


# ---------------------------------------------------------------------------------------
# The primitive

conv_general_dilated_p = Primitive("conv_general_dilated")


def _dilated(size: int, dilation: int) -> int:
    return 0 if size == 0 else (size - 1) * dilation + 1


def _computed_in(dtype: np.dtype) -> np.dtype:
    # BLAS has no float16/bfloat16: narrow floats are computed in float32 and rounded.
    if dtypes.dtype_kind(dtype) == "f" and dtype.itemsize < 4:
        return np.dtype(np.float32)
    return dtype


def dilate_and_pad(x: np.ndarray, dilation, padding, first: int) -> np.ndarray:
    """x with zeros between neighbours (`dilation`) and (low, high) zeros around the
    len(padding) axes from `first` on (later axes are kept whole); negative padding trims."""
    if all(d == 1 for d in dilation) and all(lo == hi == 0 for lo, hi in padding):
        return x
    last = first + len(padding)
    sizes = x.shape[first:last]
    grown = [
        max(lo, 0) + _dilated(n, d) + max(hi, 0) for n, d, (lo, hi) in zip(sizes, dilation, padding)
    ]
    out = array_module(x).zeros(x.shape[:first] + tuple(grown) + x.shape[last:], x.dtype)
    placed = tuple(
        slice(max(lo, 0), max(lo, 0) + _dilated(n, d), d)
        for n, d, (lo, _) in zip(sizes, dilation, padding)
    )
    out[(slice(None),) * first + placed] = x
    trimmed = tuple(slice(-min(lo, 0), g + min(hi, 0)) for g, (lo, hi) in zip(grown, padding))
    return out[(slice(None),) * first + trimmed]


def window_view(x: np.ndarray, out_sizes, window_sizes, strides, dilation, first: int):
    """A read-only view of x's windows over the len(out_sizes) axes from `first` on: x's
    axes before `first`, then one axis per output position, then one per window element
    (x[..., o * stride + k * dilation, ...]), then x's axes after the windowed ones."""
    last = first + len(out_sizes)
    lead, spatial, trail = x.strides[:first], x.strides[first:last], x.strides[last:]
    xp = array_module(x)
    # CuPy's as_strided has no read-only views (nor flag); the callers only read them.
    extra = {"writeable": False} if xp is np else {}
    return xp.lib.stride_tricks.as_strided(
        x,
        shape=(*x.shape[:first], *out_sizes, *window_sizes, *x.shape[last:]),
        strides=(
            *lead,
            *(s * st for s, st in zip(spatial, strides)),
            *(s * d for s, d in zip(spatial, dilation)),
            *trail,
        ),
        **extra,
    )


@conv_general_dilated_p.def_impl
def _conv_impl(
    lhs,
    rhs,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    precision,
    preferred_element_type,
):
    # Channels last throughout (x: N, spatial..., C; w: window..., I, O), so that the one
    # copy im2col makes reads whole channel vectors and the matmul's operands need no
    # further transposes; NHWC/HWIO operands are used as they are.
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    out_dtype = np.dtype(preferred_element_type or lhs.dtype)
    work = _computed_in(out_dtype)
    x = np.transpose(lhs, (lhs_spec[0], *lhs_spec[2:], lhs_spec[1])).astype(work, copy=False)
    w = np.transpose(rhs, (*rhs_spec[2:], rhs_spec[1], rhs_spec[0])).astype(work, copy=False)
    x = dilate_and_pad(x, lhs_dilation, padding, 1)
    n, c = x.shape[0], x.shape[-1]
    kernel, (i, o) = w.shape[:-2], w.shape[-2:]
    window = [_dilated(k, d) for k, d in zip(kernel, rhs_dilation)]
    out_sizes = [
        max((p - k) // s + 1, 0) if p else 0
        for p, k, s in zip(x.shape[1:-1], window, window_strides)
    ]
    patches = window_view(x, out_sizes, kernel, window_strides, rhs_dilation, 1)
    positions, taps = math.prod(out_sizes), math.prod(kernel)
    # Columns: (groups, rows = examples x output positions, contracted = window x channels).
    if batch_group_count > 1:
        groups, examples = batch_group_count, n // batch_group_count
        columns = patches.reshape(groups, examples * positions, taps * c)
    else:
        groups, examples = feature_group_count, n
        columns = patches.reshape(n * positions, taps, groups, c // groups)
        columns = columns.transpose(2, 0, 1, 3).reshape(groups, n * positions, taps * i)
    weights = w.reshape(taps, i, groups, o // groups).transpose(2, 0, 1, 3)
    weights = weights.reshape(groups, taps * i, o // groups)
    product = np.matmul(columns, weights)  # (groups, rows, O / groups)
    product = product.reshape(groups, examples, positions, o // groups).transpose(1, 2, 0, 3)
    channels_last = product.reshape(examples, *out_sizes, o)
    canonical = np.moveaxis(channels_last, -1, 1)
    out = np.transpose(canonical, tuple(int(axis) for axis in np.argsort(out_spec)))
    return array_module(out).ascontiguousarray(out, dtype=out_dtype)


def _check_positive(name, avals, label: str, values, at_least: int = 1) -> None:
    if any(not isinstance(v, (int, np.integer)) or v < at_least for v in values):
        raise shape_error(name, avals, f"{label} {tuple(values)} must be integers >= {at_least}")


@conv_general_dilated_p.def_abstract_eval
def _conv_abstract_eval(
    lhs: ShapedArray,
    rhs: ShapedArray,
    *,
    window_strides,
    padding,
    lhs_dilation,
    rhs_dilation,
    dimension_numbers,
    feature_group_count,
    batch_group_count,
    precision,
    preferred_element_type,
) -> ShapedArray:
    name, avals = "conv_general_dilated", [lhs, rhs]
    if lhs.ndim != rhs.ndim or lhs.ndim < 2:
        raise shape_error(
            name,
            avals,
            f"lhs and rhs must have equal ranks of at least 2, got {lhs.ndim} and {rhs.ndim}",
            "Both need a batch/feature axis pair plus the same spatial axes "
            "(e.g. NCHW input and OIHW kernel).",
        )
    lhs_spec, rhs_spec, out_spec = dimension_numbers
    for spec in dimension_numbers:
        if sorted(spec) != list(range(lhs.ndim)):
            raise shape_error(
                name, avals, f"dimension_numbers {dimension_numbers} are not permutations"
            )
    spatial = lhs.ndim - 2
    for label, values in (
        ("window_strides", window_strides),
        ("lhs_dilation", lhs_dilation),
        ("rhs_dilation", rhs_dilation),
        ("padding", padding),
    ):
        if len(values) != spatial:
            raise shape_error(
                name,
                avals,
                f"{label} {tuple(values)} needs one entry per spatial axis ({spatial})",
            )
    _check_positive(name, avals, "window_strides", window_strides)
    _check_positive(name, avals, "lhs_dilation", lhs_dilation)
    _check_positive(name, avals, "rhs_dilation", rhs_dilation)
    _check_positive(name, avals, "feature_group_count", [feature_group_count])
    _check_positive(name, avals, "batch_group_count", [batch_group_count])
    if feature_group_count > 1 and batch_group_count > 1:
        raise shape_error(
            name,
            avals,
            f"feature_group_count {feature_group_count} and batch_group_count "
            f"{batch_group_count} are both > 1",
            "At most one of them may be.",
        )
    if lhs.dtype != rhs.dtype:
        raise shape_error(
            name, avals, "operand dtypes must be equal", "Convert one operand with .astype(...)."
        )
    if dtypes.dtype_kind(lhs.dtype) not in "iuf":
        raise shape_error(
            name,
            avals,
            f"dtype {lhs.dtype.name} is not accepted (accepted: integer, floating)",
            "Convert the operands with .astype(jnp.float32) first.",
        )
    batch, channels = lhs.shape[lhs_spec[0]], lhs.shape[lhs_spec[1]]
    features, kernel_in = rhs.shape[rhs_spec[0]], rhs.shape[rhs_spec[1]]
    groups = feature_group_count
    if channels % groups or features % groups:
        raise shape_error(
            name,
            avals,
            f"feature_group_count {groups} must divide the input features ({channels}) and "
            f"the kernel's output features ({features})",
        )
    if channels // groups != kernel_in:
        raise shape_error(
            name,
            avals,
            f"the input has {channels} features but the kernel expects {kernel_in} "
            f"x feature_group_count {groups} = {kernel_in * groups}",
            "Check the layouts in dimension_numbers (the default is NCHW input, OIHW kernel).",
        )
    if batch % batch_group_count or features % batch_group_count:
        raise shape_error(
            name,
            avals,
            f"batch_group_count {batch_group_count} must divide the batch ({batch}) and the "
            f"kernel's output features ({features})",
        )
    out_sizes = []
    for axis in range(spatial):
        size = lhs.shape[lhs_spec[2 + axis]]
        kernel = rhs.shape[rhs_spec[2 + axis]]
        lo, hi = padding[axis]
        padded = _dilated(size, lhs_dilation[axis]) + lo + hi
        window = _dilated(kernel, rhs_dilation[axis])
        if padded == 0:  # an empty axis stays empty
            out_sizes.append(0)
            continue
        if padded < window or window == 0:
            raise shape_error(
                name,
                avals,
                f"spatial axis {axis}: the window ({kernel}, dilated to {window}) is larger "
                f"than the padded input ({size}, dilated and padded by ({lo}, {hi}) to "
                f"{padded})",
                "Pad the input more, or use a smaller or less dilated kernel.",
            )
        out_sizes.append((padded - window) // window_strides[axis] + 1)
    shape = [0] * lhs.ndim
    canonical = [batch // batch_group_count, features, *out_sizes]
    for axis, size in zip(out_spec, canonical):
        shape[axis] = size
    out_dtype = preferred_element_type or lhs.dtype
    return ShapedArray(shape, out_dtype, lhs.weak_type and rhs.weak_type)


def _ints(values) -> tuple:
    return tuple(int(v) for v in values)


def _as_pairs(padding) -> tuple:
    try:
        pairs = tuple((int(lo), int(hi)) for lo, hi in padding)
    except (TypeError, ValueError):
        raise ValueError(
            f"conv_general_dilated: padding {padding!r} must be 'VALID', 'SAME', "
            f"'SAME_LOWER' or a sequence of (low, high) integer pairs (at {user_location()})."
        ) from None
    return pairs


def conv_general_dilated(
    lhs,
    rhs,
    window_strides: Sequence[int],
    padding,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers=None,
    feature_group_count: int = 1,
    batch_group_count: int = 1,
    precision=None,
    preferred_element_type=None,
):
    """General n-d convolution (cross-correlation, as in XLA and `jax.lax`) with strides,
    padding, input (lhs) and kernel (rhs) dilation, layouts and feature/batch groups.

    >>> x = np.ones((1, 1, 4, 4), np.float32); w = np.ones((1, 1, 3, 3), np.float32)
    >>> conv_general_dilated(x, w, (1, 1), "SAME").shape
    (1, 1, 4, 4)
    """
    lhs, rhs = coerce_scalars(lhs, rhs)
    lhs_aval, rhs_aval = get_aval(lhs), get_aval(rhs)
    lhs_shape, rhs_shape = lhs_aval.shape, rhs_aval.shape
    if len(lhs_shape) != len(rhs_shape) or len(lhs_shape) < 2:
        raise shape_error(
            "conv_general_dilated",
            [lhs_aval, rhs_aval],
            f"lhs and rhs must have equal ranks of at least 2, got {len(lhs_shape)} and "
            f"{len(rhs_shape)}",
            "Both need a batch/feature axis pair plus the same spatial axes "
            "(e.g. NCHW input and OIHW kernel).",
        )
    numbers = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    spatial = len(lhs_shape) - 2
    lhs_dilation = _ints(lhs_dilation) if lhs_dilation is not None else (1,) * spatial
    rhs_dilation = _ints(rhs_dilation) if rhs_dilation is not None else (1,) * spatial
    window_strides = _ints(window_strides)
    if isinstance(padding, str):
        if any(d != 1 for d in lhs_dilation):
            raise ValueError(
                f"conv_general_dilated: string padding {padding!r} is not defined with "
                f"lhs_dilation {lhs_dilation} (at {user_location()}). Give explicit "
                "(low, high) pairs, or use conv_transpose."
            )
        kernel = [rhs_shape[a] for a in numbers.rhs_spec[2:]]
        padding = string_padding(
            "conv_general_dilated",
            [lhs_shape[a] for a in numbers.lhs_spec[2:]],
            [_dilated(k, d) for k, d in zip(kernel, rhs_dilation)],
            window_strides,
            padding,
        )
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize_dtype(preferred_element_type)
    return conv_general_dilated_p.bind(
        lhs,
        rhs,
        window_strides=window_strides,
        padding=_as_pairs(padding),
        lhs_dilation=lhs_dilation,
        rhs_dilation=rhs_dilation,
        dimension_numbers=numbers,
        feature_group_count=int(feature_group_count),
        batch_group_count=int(batch_group_count),
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv(
    lhs, rhs, window_strides: Sequence[int], padding, precision=None, preferred_element_type=None
):
    """NCHW/OIHW convolution with strides and padding, as `jax.lax.conv`.

    >>> conv(np.ones((1, 1, 4, 4), np.float32), np.ones((2, 1, 3, 3), np.float32),
    ...      (1, 1), "VALID").shape
    (1, 2, 2, 2)
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_with_general_padding(
    lhs,
    rhs,
    window_strides: Sequence[int],
    padding,
    lhs_dilation: Sequence[int] | None,
    rhs_dilation: Sequence[int] | None,
    precision=None,
    preferred_element_type=None,
):
    """NCHW/OIHW convolution with explicit padding and dilations, as in `jax.lax`.

    >>> conv_with_general_padding(x, w, (1, 1), ((1, 1), (1, 1)), None, (2, 2))  # doctest: +SKIP
    """
    return conv_general_dilated(
        lhs,
        rhs,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def _transpose_padding(window: int, stride: int, padding) -> tuple[int, int]:
    """Padding of the stride-dilated input that undoes a forward convolution's shape."""
    if padding == "SAME":
        total = window + stride - 2
        low = window - 1 if stride > window - 1 else -(-total // 2)
    elif padding == "VALID":
        total = window + stride - 2 + max(window - stride, 0)
        low = window - 1
    else:  # a forward (low, high) pair
        low, total = window - 1 - padding[0], 2 * (window - 1) - padding[0] - padding[1]
    return low, total - low


_TRANSPOSE_LAYOUTS = {2: ("NC", "IO", "NC"), 3: ("NHC", "HIO", "NHC")}
_TRANSPOSE_LAYOUTS.update({4: ("NHWC", "HWIO", "NHWC"), 5: ("NHWDC", "HWDIO", "NHWDC")})


def conv_transpose(
    lhs,
    rhs,
    strides: Sequence[int],
    padding,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers=None,
    transpose_kernel: bool = False,
    precision=None,
    preferred_element_type=None,
    use_consistent_padding: bool = False,
):
    """Transposed (fractionally strided) convolution, as `jax.lax.conv_transpose`: the
    input is dilated by `strides`; layouts default to NHWC / HWIO. With
    `transpose_kernel` the kernel is flipped and its feature axes swapped, giving the
    gradient of a forward convolution with the same kernel.

    >>> conv_transpose(np.ones((1, 4, 4, 1), np.float32), np.ones((3, 3, 1, 1), np.float32),
    ...                (2, 2), "SAME").shape
    (1, 8, 8, 1)
    """
    lhs, rhs = coerce_scalars(lhs, rhs)
    lhs_shape, rhs_shape = get_aval(lhs).shape, get_aval(rhs).shape
    if dimension_numbers is None:
        dimension_numbers = _TRANSPOSE_LAYOUTS.get(len(lhs_shape))
    numbers = conv_dimension_numbers(lhs_shape, rhs_shape, dimension_numbers)
    spatial = len(lhs_shape) - 2
    rhs_dilation = tuple(rhs_dilation) if rhs_dilation is not None else (1,) * spatial
    kernel = [_dilated(rhs_shape[a], d) for a, d in zip(numbers.rhs_spec[2:], rhs_dilation)]
    if use_consistent_padding or isinstance(padding, str):
        if isinstance(padding, str) and padding not in ("SAME", "VALID"):
            raise ValueError(
                f"conv_transpose: padding {padding!r} must be 'SAME', 'VALID' or (low, high) "
                f"pairs (at {user_location()})."
            )
        each = [padding] * spatial if isinstance(padding, str) else list(padding)
        padding = [_transpose_padding(k, s, p) for k, s, p in zip(kernel, strides, each)]
    if transpose_kernel:
        rhs = shapes.rev(rhs, numbers.rhs_spec[2:])
        order = list(range(len(rhs_shape)))
        order[numbers.rhs_spec[0]], order[numbers.rhs_spec[1]] = (
            numbers.rhs_spec[1],
            numbers.rhs_spec[0],
        )
        rhs = shapes.transpose(rhs, order)
    return conv_general_dilated(
        lhs,
        rhs,
        (1,) * spatial,
        padding,
        lhs_dilation=tuple(strides),
        rhs_dilation=rhs_dilation,
        dimension_numbers=numbers,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


def conv_general_dilated_patches(
    lhs,
    filter_shape: Sequence[int],
    window_strides: Sequence[int],
    padding,
    lhs_dilation: Sequence[int] | None = None,
    rhs_dilation: Sequence[int] | None = None,
    dimension_numbers=None,
    precision=None,
    preferred_element_type=None,
):
    """The patches a convolution with a kernel of spatial shape `filter_shape` would see,
    as features: output feature c * prod(filter_shape) + k is input channel c at window
    position k (row-major over the filter), as `jax.lax.conv_general_dilated_patches`.

    >>> conv_general_dilated_patches(np.ones((1, 2, 4, 4), np.float32), (2, 2), (2, 2),
    ...                              "VALID").shape
    (1, 8, 2, 2)
    """
    (lhs,) = coerce_scalars(lhs)
    aval = get_aval(lhs)
    filter_shape = tuple(int(k) for k in filter_shape)
    numbers = conv_dimension_numbers(aval.shape, (1, 1) + filter_shape, dimension_numbers)
    channels, size = aval.shape[numbers.lhs_spec[1]], math.prod(filter_shape)
    # A one-hot kernel per (channel, window position), each group one input channel.
    eye = np.eye(size, dtype=aval.dtype).reshape(size, 1, *filter_shape)
    canonical = np.tile(eye, (channels,) + (1,) * (len(filter_shape) + 1))
    kernel = np.ascontiguousarray(np.transpose(canonical, np.argsort(numbers.rhs_spec)))
    return conv_general_dilated(
        lhs,
        kernel,
        window_strides,
        padding,
        lhs_dilation,
        rhs_dilation,
        numbers,
        feature_group_count=channels,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


# ---------------------------------------------------------------------------------------
# Differentiation. conv is bilinear: the tangent is conv(t_lhs, rhs) + conv(lhs, t_rhs),
# and each cotangent is another convolution.
#
# lhs: output position p reads dilated input position p * s + k * r - low, so the input's
# cotangent correlates the cotangent, dilated by the strides s, with the flipped kernel
# (in and out features swapped), read every lhs_dilation-th position. Feature groups
# become the transposed kernel's groups; batch groups become feature groups whose outputs
# are then moved back into the batch axis.
#
# rhs: the kernel's cotangent at window position k sums lhs[p * s + k * r] * ct[p] over
# examples and positions: a convolution of lhs (examples as features, features as
# examples) with the cotangent as kernel, strides and kernel dilation trading places.
# Feature groups of the forward conv become batch groups here and vice versa.


def _regroup(x, source: int, target: int, groups: int):
    """Move the major `groups` factor of axis `source` to be the major factor of axis
    `target` (source shrinks by `groups`, target grows by it)."""
    shape = list(get_aval(x).shape)
    split = shape[:source] + [groups, shape[source] // groups] + shape[source + 1 :]
    x = shapes.reshape(x, split)
    # Axes of the split array: `source` is the group factor, source + 1 the rest.
    at = target if target < source else target + 1
    order = [a for a in range(len(split)) if a != source]
    order.insert(order.index(at), source)
    x = shapes.transpose(x, order)
    merged = list(shape)
    merged[source] //= groups
    merged[target] *= groups
    return shapes.reshape(x, merged)


def _swap_first_two(spec) -> tuple:
    return (spec[1], spec[0], *spec[2:])


def _zeros_like_aval(aval: ShapedArray):
    return ad.instantiate(ad.Zero(aval))


def _conv_lhs_cotangent(ct, rhs, lhs_aval: ShapedArray, params: dict):
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    if lhs_aval.size == 0:
        return _zeros_like_aval(lhs_aval)
    groups = max(params["feature_group_count"], params["batch_group_count"])
    kernel = shapes.rev(rhs, rhs_spec[2:])
    if groups > 1:
        kernel = _regroup(kernel, rhs_spec[0], rhs_spec[1], groups)
    rhs_shape = get_aval(rhs).shape
    ct_shape = get_aval(ct).shape
    padding = []
    for axis in range(len(rhs_spec) - 2):
        size = _dilated(lhs_aval.shape[lhs_spec[2 + axis]], params["lhs_dilation"][axis])
        window = _dilated(rhs_shape[rhs_spec[2 + axis]], params["rhs_dilation"][axis])
        low = params["padding"][axis][0]
        positions = ct_shape[out_spec[2 + axis]]
        stride = params["window_strides"][axis]
        padding.append((window - 1 - low, size - 1 + low - (positions - 1) * stride))
    out = conv_general_dilated_p.bind(
        ct,
        kernel,
        window_strides=params["lhs_dilation"],
        padding=tuple(padding),
        lhs_dilation=params["window_strides"],
        rhs_dilation=params["rhs_dilation"],
        dimension_numbers=ConvDimensionNumbers(out_spec, _swap_first_two(rhs_spec), lhs_spec),
        feature_group_count=groups,
        batch_group_count=1,
        precision=params["precision"],
        preferred_element_type=None,
    )
    if params["batch_group_count"] > 1:
        out = _regroup(out, lhs_spec[1], lhs_spec[0], params["batch_group_count"])
    return out


def _conv_rhs_cotangent(ct, lhs, rhs_aval: ShapedArray, params: dict):
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    if rhs_aval.size == 0 or get_aval(lhs).size == 0:
        return _zeros_like_aval(rhs_aval)
    lhs_shape, ct_shape = get_aval(lhs).shape, get_aval(ct).shape
    padding = []
    for axis in range(len(lhs_spec) - 2):
        size = _dilated(lhs_shape[lhs_spec[2 + axis]], params["lhs_dilation"][axis])
        window = rhs_aval.shape[rhs_spec[2 + axis]]
        low = params["padding"][axis][0]
        span = (ct_shape[out_spec[2 + axis]] - 1) * params["window_strides"][axis] + 1
        padding.append((low, (window - 1) * params["rhs_dilation"][axis] + span - size - low))
    return conv_general_dilated_p.bind(
        lhs,
        ct,
        window_strides=params["rhs_dilation"],
        padding=tuple(padding),
        lhs_dilation=params["lhs_dilation"],
        rhs_dilation=params["window_strides"],
        dimension_numbers=ConvDimensionNumbers(
            _swap_first_two(lhs_spec), _swap_first_two(out_spec), _swap_first_two(rhs_spec)
        ),
        feature_group_count=params["batch_group_count"],
        batch_group_count=params["feature_group_count"],
        precision=params["precision"],
        preferred_element_type=None,
    )


def _conv_transpose_rule(ct, lhs, rhs, **params):
    lhs_aval = lhs.aval if isinstance(lhs, ad.UndefinedPrimal) else get_aval(lhs)
    rhs_aval = rhs.aval if isinstance(rhs, ad.UndefinedPrimal) else get_aval(rhs)
    # With preferred_element_type the cotangent may be wider than the operands: compute
    # in its dtype and round the result back to the operand's.
    ct_dtype = get_aval(ct).dtype

    def widened(x):
        return x if get_aval(x).dtype == ct_dtype else ew.convert_element_type(x, ct_dtype)

    def narrowed(x, aval):
        return x if get_aval(x).dtype == aval.dtype else ew.convert_element_type(x, aval.dtype)

    out = [None, None]
    if isinstance(lhs, ad.UndefinedPrimal):
        out[0] = narrowed(_conv_lhs_cotangent(ct, widened(rhs), lhs_aval, params), lhs_aval)
    if isinstance(rhs, ad.UndefinedPrimal):
        out[1] = narrowed(_conv_rhs_cotangent(ct, widened(lhs), rhs_aval, params), rhs_aval)
    return out


def _conv_jvp(primals, tangents, **params):
    lhs, rhs = primals
    t_lhs, t_rhs = tangents
    out = conv_general_dilated_p.bind(lhs, rhs, **params)
    total = ad.Zero(get_aval(out))
    if type(t_lhs) is not ad.Zero:
        total = ad.add_tangents(total, conv_general_dilated_p.bind(t_lhs, rhs, **params))
    if type(t_rhs) is not ad.Zero:
        total = ad.add_tangents(total, conv_general_dilated_p.bind(lhs, t_rhs, **params))
    return out, total


ad.primitive_jvps[conv_general_dilated_p] = _conv_jvp
ad.primitive_transposes[conv_general_dilated_p] = _conv_transpose_rule


# ---------------------------------------------------------------------------------------
# Batching. The vmapped axis folds into an axis the convolution already has, and the
# output's matching axis is split again: a batched lhs joins the examples (inside each
# batch group), a batched kernel joins the output features (inside each group), and both
# batched become V times as many feature groups (or batch groups, when those are in use).


def _fold(x, bdim: int, axis: int, groups: int, size: int):
    """x's batch axis folded into `axis` (of the unbatched layout) so that the merged
    axis runs (group, batch, rest): the batch sits inside each of `groups` groups."""
    x = batching.move_axis(x, bdim, 0, size)
    shape = list(get_aval(x).shape)
    rest = shape[axis + 1] // groups
    split = shape[1 : axis + 1] + [groups, rest] + shape[axis + 2 :]
    x = shapes.reshape(x, [size, *split])
    order = list(range(1, len(split) + 1))
    order.insert(axis + 1, 0)  # the batch axis right after the group factor
    x = shapes.transpose(x, order)
    merged = shape[1:]
    merged[axis] *= size
    return shapes.reshape(x, merged)


def _unfold(y, axis: int, groups: int, size: int):
    """The inverse of `_fold` on an output: axis (group, batch, rest) split, the batch axis
    placed at `axis`, the rest right after it."""
    shape = list(get_aval(y).shape)
    rest = shape[axis] // (groups * size)
    y = shapes.reshape(y, shape[:axis] + [groups, size, rest] + shape[axis + 1 :])
    order = list(range(len(shape) + 2))
    order.remove(axis + 1)
    order.insert(axis, axis + 1)
    y = shapes.transpose(y, order)
    return shapes.reshape(y, shape[:axis] + [size, groups * rest] + shape[axis + 1 :])


def _conv_batch(axis_size, values, dims, **params):
    lhs, rhs = values
    lhs_dim, rhs_dim = dims
    lhs_spec, rhs_spec, out_spec = params["dimension_numbers"]
    features = params["feature_group_count"]
    batches = params["batch_group_count"]
    if rhs_dim is None:
        lhs = _fold(lhs, lhs_dim, lhs_spec[0], batches, axis_size)
        out = conv_general_dilated_p.bind(lhs, rhs, **params)
        return _unfold(out, out_spec[0], 1, axis_size), out_spec[0]
    if lhs_dim is None:
        rhs = _fold(rhs, rhs_dim, rhs_spec[0], max(features, batches), axis_size)
        out = conv_general_dilated_p.bind(lhs, rhs, **params)
        return _unfold(out, out_spec[1], max(features, batches), axis_size), out_spec[1]
    rhs = _fold(rhs, rhs_dim, rhs_spec[0], 1, axis_size)
    if batches > 1:
        lhs = _fold(lhs, lhs_dim, lhs_spec[0], 1, axis_size)
        params = dict(params, batch_group_count=batches * axis_size)
    else:
        lhs = _fold(lhs, lhs_dim, lhs_spec[1], 1, axis_size)
        params = dict(params, feature_group_count=features * axis_size)
    out = conv_general_dilated_p.bind(lhs, rhs, **params)
    return _unfold(out, out_spec[1], 1, axis_size), out_spec[1]


batching.primitive_batchers[conv_general_dilated_p] = _conv_batch
