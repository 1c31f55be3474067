"""Windowed reductions (pooling): `reduce_window` and the primitives it dispatches to,
reduce_window_sum, reduce_window_max and reduce_window_min, plus the two linear
primitives their derivatives are built from, window_patches and window_scatter_add.

A window reduction pads its operand with the reduction's identity (and puts identities
between neighbours for `base_dilation`), then reduces each window: window_dimensions
elements spaced by `window_dilation`, windows `window_strides` apart. Every parameter has
one entry per operand axis (pooling an NCHW image uses windows of 1 on N and C).

Derivatives: window_patches gathers each window's elements into trailing axes, shape
(*output, *window), and its transpose window_scatter_add adds them back where they came
from; the two are each other's transpose. reduce_window_sum is linear, its transpose a
scatter-add of the broadcast cotangent. The max and min reductions differentiate as
reduce_max / reduce_min over the patches of the padded operand, so ties share the
tangent exactly as they do for reduce_max, and reverse mode becomes a scatter-add of the
selected cotangents.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.primitive import Primitive
from funcgrad.core.source_info import user_location
from funcgrad.core.trace import Tracer
from funcgrad.interpreters import ad, batching
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions, shapes
from funcgrad.lax.convolution import dilate_and_pad, string_padding, window_view
from funcgrad.lax.operands import coerce_scalars, scalar_array
from funcgrad.lax.shape_rules import KIND_NAMES, shape_error

__all__ = ["reduce_window", "window_patches", "window_scatter_add"]


def _dilated(size: int, dilation: int) -> int:
    return 0 if size == 0 else (size - 1) * dilation + 1


def _check_window(name: str, avals, shape, window_dimensions, window_strides, window_dilation):
    """Window parameters, one positive integer per axis of `shape`."""
    for label, values in (
        ("window_dimensions", window_dimensions),
        ("window_strides", window_strides),
        ("window_dilation", window_dilation),
    ):
        if len(values) != len(shape):
            raise shape_error(
                name,
                avals,
                f"{label} {tuple(values)} needs one entry per operand axis ({len(shape)})",
                "Use 1 for axes that are not pooled (batch and channel axes).",
            )
        if any(not isinstance(v, (int, np.integer)) or v < 1 for v in values):
            raise shape_error(name, avals, f"{label} {tuple(values)} must be integers >= 1")


def _window_output(name: str, avals, sizes, window_dimensions, window_strides, window_dilation):
    """The number of windows along each axis of an operand of `sizes` (already padded)."""
    out = []
    for axis, (size, window, stride, dilation) in enumerate(
        zip(sizes, window_dimensions, window_strides, window_dilation)
    ):
        span = _dilated(window, dilation)
        if size == 0:  # an empty axis stays empty
            out.append(0)
            continue
        if size < span:
            raise shape_error(
                name,
                avals,
                f"axis {axis}: the window ({window}, dilated to {span}) is larger than the "
                f"padded operand ({size})",
                "Pad the operand more, or use a smaller window.",
            )
        out.append((size - span) // stride + 1)
    return out


# ---------------------------------------------------------------------------------------
# window_patches: x -> (*windows, *window elements); no padding (pad first with lax.pad).

window_patches_p = Primitive("window_patches")


@window_patches_p.def_impl
def _window_patches_impl(operand, *, window_dimensions, window_strides, window_dilation):
    out = [
        max((n - _dilated(w, d)) // s + 1, 0) if n else 0
        for n, w, s, d in zip(operand.shape, window_dimensions, window_strides, window_dilation)
    ]
    view = window_view(operand, out, window_dimensions, window_strides, window_dilation, 0)
    return np.ascontiguousarray(view)


@window_patches_p.def_abstract_eval
def _window_patches_abstract_eval(
    operand: ShapedArray, *, window_dimensions, window_strides, window_dilation
) -> ShapedArray:
    name, avals = "window_patches", [operand]
    params = (window_dimensions, window_strides, window_dilation)
    _check_window(name, avals, operand.shape, *params)
    out = _window_output(name, avals, operand.shape, *params)
    return ShapedArray((*out, *window_dimensions), operand.dtype, operand.weak_type)


def window_patches(operand, window_dimensions, window_strides=None, window_dilation=None):
    """Each window's elements in trailing axes: result[o..., k...] is
    operand[o * stride + k * dilation] per axis, shape (*windows, *window_dimensions).

    >>> window_patches(np.arange(5.0), (2,), (2,))  # doctest: +SKIP
    Array([[0., 1.],
           [2., 3.]], dtype=float32)
    """
    (operand,) = coerce_scalars(operand)
    ndim = get_aval(operand).ndim
    return window_patches_p.bind(
        operand,
        window_dimensions=_ints(window_dimensions),
        window_strides=_ints(window_strides or (1,) * ndim),
        window_dilation=_ints(window_dilation or (1,) * ndim),
    )


# ---------------------------------------------------------------------------------------
# window_scatter_add: patches (*windows, *window elements) -> operand_shape, each element
# added where window_patches read it from: the transpose of window_patches.

window_scatter_add_p = Primitive("window_scatter_add")


@window_scatter_add_p.def_impl
def _window_scatter_add_impl(
    patches, *, operand_shape, window_dimensions, window_strides, window_dilation
):
    ndim = len(operand_shape)
    windows = patches.shape[:ndim]
    out = np.zeros(operand_shape, patches.dtype)
    # One strided add per window element (a handful), each over every window at once.
    for element in np.ndindex(*window_dimensions):
        placed = tuple(
            slice(k * d, k * d + (n - 1) * s + 1, s)
            for k, d, n, s in zip(element, window_dilation, windows, window_strides)
        )
        out[placed] += patches[(Ellipsis, *element)]
    return out


@window_scatter_add_p.def_abstract_eval
def _window_scatter_add_abstract_eval(
    patches: ShapedArray, *, operand_shape, window_dimensions, window_strides, window_dilation
) -> ShapedArray:
    name, avals = "window_scatter_add", [patches]
    params = (window_dimensions, window_strides, window_dilation)
    _check_window(name, avals, operand_shape, *params)
    out = _window_output(name, avals, operand_shape, *params)
    expected = (*out, *window_dimensions)
    if patches.shape != expected:
        raise shape_error(
            name,
            avals,
            f"patches must have shape {expected} (windows, then window elements) for an "
            f"operand of shape {tuple(operand_shape)}",
        )
    return ShapedArray(operand_shape, patches.dtype, patches.weak_type)


def window_scatter_add(
    patches, operand_shape, window_dimensions, window_strides=None, window_dilation=None
):
    """The transpose of `window_patches`: each patch element added into an array of
    `operand_shape` at the place it was read from.

    >>> window_scatter_add(np.ones((2, 2), np.float32), (3,), (2,), (1,))  # doctest: +SKIP
    Array([1., 2., 1.], dtype=float32)
    """
    (patches,) = coerce_scalars(patches)
    ndim = len(operand_shape)
    return window_scatter_add_p.bind(
        patches,
        operand_shape=_ints(operand_shape),
        window_dimensions=_ints(window_dimensions),
        window_strides=_ints(window_strides or (1,) * ndim),
        window_dilation=_ints(window_dilation or (1,) * ndim),
    )


def _window_params(params: dict) -> dict:
    return {k: params[k] for k in ("window_dimensions", "window_strides", "window_dilation")}


ad.deflinear(
    window_patches_p,
    lambda ct, operand, **params: [
        window_scatter_add_p.bind(ct, operand_shape=operand.aval.shape, **params)
    ],
)
ad.deflinear(
    window_scatter_add_p,
    lambda ct, patches, *, operand_shape, **params: [window_patches_p.bind(ct, **params)],
)


# ---------------------------------------------------------------------------------------
# reduce_window_sum / _max / _min


def _identity(kind: str, dtype: np.dtype):
    if kind == "sum":
        return np.zeros((), dtype)[()]
    if dtype.kind == "b":
        return kind == "min"
    if dtypes.is_integer(dtype):
        info = np.iinfo(dtype)
        return info.min if kind == "max" else info.max
    return -np.inf if kind == "max" else np.inf


_COMBINE = {"sum": np.add, "max": np.maximum, "min": np.minimum}
_KINDS = {"sum": "iuf", "max": "biuf", "min": "biuf"}


def _reduce_window_impl(kind: str):
    combine = _COMBINE[kind]

    def impl(
        operand, *, window_dimensions, window_strides, padding, base_dilation, window_dilation
    ):
        padded = dilate_and_pad(operand, base_dilation, padding, 0)
        fill = _identity(kind, operand.dtype)
        if kind != "sum" and padded is not operand:
            # Padding and holes hold the reduction's identity, not zero.
            holes = dilate_and_pad(np.ones(operand.shape, bool), base_dilation, padding, 0)
            padded = np.where(holes, padded, np.asarray(fill, operand.dtype))
        out = [
            max((n - _dilated(w, d)) // s + 1, 0) if n else 0
            for n, w, s, d in zip(padded.shape, window_dimensions, window_strides, window_dilation)
        ]
        view = window_view(padded, out, window_dimensions, window_strides, window_dilation, 0)
        # One pass per window element over all windows; NaN propagates as in reduce_max.
        elements = list(np.ndindex(*window_dimensions))
        result = np.array(view[(Ellipsis, *elements[0])])
        with np.errstate(all="ignore"):
            for element in elements[1:]:
                combine(result, view[(Ellipsis, *element)], out=result)
        return result

    return impl


def _reduce_window_rule(kind: str, name: str):
    def abstract_eval(
        operand: ShapedArray,
        *,
        window_dimensions,
        window_strides,
        padding,
        base_dilation,
        window_dilation,
    ) -> ShapedArray:
        avals = [operand]
        if dtypes.dtype_kind(operand.dtype) not in _KINDS[kind]:
            accepted = ", ".join(KIND_NAMES[k] for k in _KINDS[kind])
            raise shape_error(
                name,
                avals,
                f"dtype {operand.dtype.name} is not accepted (accepted: {accepted})",
                "Convert the operand with .astype(...).",
            )
        params = (window_dimensions, window_strides, window_dilation)
        _check_window(name, avals, operand.shape, *params)
        if len(base_dilation) != operand.ndim or any(d < 1 for d in base_dilation):
            raise shape_error(
                name,
                avals,
                f"base_dilation {tuple(base_dilation)} needs one integer >= 1 per axis",
            )
        if len(padding) != operand.ndim:
            raise shape_error(
                name,
                avals,
                f"padding {tuple(padding)} needs one (low, high) pair per operand axis "
                f"({operand.ndim})",
            )
        sizes = [
            _dilated(n, d) + lo + hi
            for n, d, (lo, hi) in zip(operand.shape, base_dilation, padding)
        ]
        out = _window_output(name, avals, sizes, *params)
        return ShapedArray(out, operand.dtype, operand.weak_type)

    return abstract_eval


def _reduce_window_primitive(kind: str) -> Primitive:
    name = f"reduce_window_{kind}"
    primitive = Primitive(name)
    primitive.def_impl(_reduce_window_impl(kind))
    primitive.def_abstract_eval(_reduce_window_rule(kind, name))
    return primitive


reduce_window_sum_p = _reduce_window_primitive("sum")
reduce_window_max_p = _reduce_window_primitive("max")
reduce_window_min_p = _reduce_window_primitive("min")


def _padded(x, fill, padding, base_dilation):
    """x with `fill` (a scalar or 0-d array) around it and between neighbours, as the
    window reductions see it."""
    config = [(lo, hi, d - 1) for (lo, hi), d in zip(padding, base_dilation)]
    if all(c == (0, 0, 0) for c in config):
        return x
    if not isinstance(fill, Tracer) and not hasattr(fill, "aval"):
        fill = scalar_array(fill, get_aval(x).dtype, False)
    return shapes.pad(x, fill, config)


def _unpadded(ct, shape, padding, base_dilation):
    """The transpose of `_padded` (zero fill): the cotangent of x's own elements."""
    if all(p == (0, 0) for p in padding) and all(d == 1 for d in base_dilation):
        return ct
    zero = scalar_array(0, get_aval(ct).dtype, False)
    ct = shapes.pad(ct, zero, [(-lo, -hi, 0) for lo, hi in padding])
    limits = [_dilated(n, d) for n, d in zip(shape, base_dilation)]
    return shapes.slice(ct, (0,) * len(shape), limits, base_dilation)


def _tiles(shape, params) -> tuple[tuple, tuple] | None:
    """For windows that tile the operand exactly (stride = window, no padding or dilation,
    every size a multiple of its window): the shape that splits each pooled axis into
    (windows, window elements), and the window-element axes of that shape; else None.
    Pooling as a reshape and a reduction differentiates into elementwise work that fuses,
    where the general path copies every window (window_patches) and scatters back."""
    window, strides = params["window_dimensions"], params["window_strides"]
    plain = all(p == (0, 0) for p in params["padding"]) and all(
        d == 1 for d in (*params["base_dilation"], *params["window_dilation"])
    )
    if not plain or tuple(window) != tuple(strides) or any(n % w for n, w in zip(shape, window)):
        return None
    split, axes = [], []
    for n, w in zip(shape, window):
        if w > 1:
            axes.append(len(split) + 1)
            split += [n // w, w]
        else:
            split.append(n)
    return tuple(split), tuple(axes)


def _reduce_window_sum_transpose(ct, operand, **params):
    shape = operand.aval.shape
    tiles = _tiles(shape, params)
    if tiles is not None:
        split, axes = tiles
        kept = tuple(d for d in range(len(split)) if d not in axes)
        return [shapes.reshape(shapes.broadcast_in_dim(ct, split, kept), shape)]
    window = _window_params(params)
    sizes = [
        _dilated(n, d) + lo + hi
        for n, d, (lo, hi) in zip(shape, params["base_dilation"], params["padding"])
    ]
    ct_shape = get_aval(ct).shape
    spread = shapes.broadcast_in_dim(
        ct, (*ct_shape, *params["window_dimensions"]), tuple(range(len(ct_shape)))
    )
    padded_ct = window_scatter_add_p.bind(spread, operand_shape=tuple(sizes), **window)
    return [_unpadded(padded_ct, shape, params["padding"], params["base_dilation"])]


def _extremum_jvp(primitive: Primitive, kind: str, reduce_primitive: Primitive):
    reduce_jvp = ad.primitive_jvps[reduce_primitive]

    def rule(primals, tangents, **params):
        (operand,), (tangent,) = primals, tangents
        dtype = get_aval(operand).dtype
        tiles = _tiles(get_aval(operand).shape, params)
        if tiles is not None:
            split, axes = tiles
            blocks = shapes.reshape(operand, split)
            tangent_blocks = shapes.reshape(ad.instantiate(tangent), split)
            return reduce_jvp((blocks,), (tangent_blocks,), axes=axes)
        padding, base_dilation = params["padding"], params["base_dilation"]
        window = _window_params(params)
        patches = window_patches_p.bind(
            _padded(operand, _identity(kind, dtype), padding, base_dilation), **window
        )
        tangent_patches = window_patches_p.bind(
            _padded(ad.instantiate(tangent), 0, padding, base_dilation), **window
        )
        ndim = get_aval(operand).ndim
        axes = tuple(range(ndim, 2 * ndim))
        return reduce_jvp((patches,), (tangent_patches,), axes=axes)

    return rule


ad.deflinear(reduce_window_sum_p, _reduce_window_sum_transpose)
ad.primitive_jvps[reduce_window_max_p] = _extremum_jvp(
    reduce_window_max_p, "max", reductions.reduce_max_p
)
ad.primitive_jvps[reduce_window_min_p] = _extremum_jvp(
    reduce_window_min_p, "min", reductions.reduce_min_p
)


# ---------------------------------------------------------------------------------------
# Batching: the batch axis becomes one more axis with a window of one element.


def _with_unit_axis(params: dict, axis: int) -> dict:
    units = {
        "window_dimensions": 1,
        "window_strides": 1,
        "window_dilation": 1,
        "base_dilation": 1,
        "padding": (0, 0),
    }
    out = dict(params)
    for key, unit in units.items():
        if key in params:
            values = list(params[key])
            values.insert(axis, unit)
            out[key] = tuple(values)
    return out


def _reduce_window_batch(primitive: Primitive):
    def rule(axis_size, values, dims, **params):
        (operand,), (dim,) = values, dims
        return primitive.bind(operand, **_with_unit_axis(params, dim)), dim

    return rule


def _window_patches_batch(axis_size, values, dims, **params):
    (operand,), (dim,) = values, dims
    out = window_patches_p.bind(operand, **_with_unit_axis(params, dim))
    shape = list(get_aval(out).shape)
    del shape[len(shape) // 2 + dim]  # the batch axis's window of one element
    return shapes.reshape(out, shape), dim


def _window_scatter_add_batch(axis_size, values, dims, *, operand_shape, **params):
    (patches,), (dim,) = values, dims
    patches = batching.move_axis(patches, dim, 0, axis_size)
    shape = list(get_aval(patches).shape)
    shape.insert(len(operand_shape) + 1, 1)
    out = window_scatter_add_p.bind(
        shapes.reshape(patches, shape),
        operand_shape=(axis_size, *operand_shape),
        **_with_unit_axis(params, 0),
    )
    return out, 0


for _primitive in (reduce_window_sum_p, reduce_window_max_p, reduce_window_min_p):
    batching.primitive_batchers[_primitive] = _reduce_window_batch(_primitive)
batching.primitive_batchers[window_patches_p] = _window_patches_batch
batching.primitive_batchers[window_scatter_add_p] = _window_scatter_add_batch


# ---------------------------------------------------------------------------------------
# reduce_window: the public entry point


def _ints(values) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _monoid(computation: Callable) -> str | None:
    """'sum', 'max', 'min' or 'prod' when `computation` is lax.add / max / min / mul (or a
    function that traces to just that primitive on its two arguments)."""
    known = {ew.add: "sum", ew.max: "max", ew.min: "min", ew.mul: "prod"}
    if computation in known:
        return known[computation]
    from funcgrad.interpreters.partial_eval import trace_to_jaxpr

    # Traced at float32 whatever the operand: the question is only which primitive it is
    # (and add of bools, say, would not trace at all).
    scalar = ShapedArray((), np.dtype(np.float32))
    try:
        closed = trace_to_jaxpr(
            lambda a, b: [computation(a, b)], [scalar, scalar], "reduce_window computation"
        )
    except Exception:  # not traceable as a binary scalar function: not a monoid we know
        return None
    jaxpr = closed.jaxpr
    if len(jaxpr.eqns) != 1 or len(jaxpr.outvars) != 1:
        return None
    (eqn,) = jaxpr.eqns
    names = {"add": "sum", "max": "max", "min": "min", "mul": "prod"}
    if set(eqn.invars) != set(jaxpr.invars) or eqn.outvars[0] is not jaxpr.outvars[0]:
        return None
    return names.get(eqn.primitive.name)


def _is_identity(init_value, kind: str, dtype: np.dtype) -> bool:
    if isinstance(init_value, Tracer):
        return False
    value = np.asarray(init_value)
    if value.shape != ():
        return False
    return bool(value == _identity(kind, dtype))


def reduce_window(
    operand,
    init_value,
    computation: Callable,
    window_dimensions: Sequence[int],
    window_strides: Sequence[int] | None = None,
    padding="VALID",
    base_dilation: Sequence[int] | None = None,
    window_dilation: Sequence[int] | None = None,
):
    """Reduce every window of `operand` with `computation`, as `jax.lax.reduce_window`.

    `computation` must be lax.add, lax.max, lax.min or lax.mul (or a function that is just
    one of them); add, max and min with their identity as `init_value` bind the dedicated
    primitives (sum, max and min pooling), other init values are folded in afterwards.
    Padding and dilation holes hold `init_value`. `padding` is "VALID", "SAME",
    "SAME_LOWER" or one (low, high) pair per axis.

    >>> x = np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)
    >>> reduce_window(x, -np.inf, lax.max, (1, 1, 2, 2), (1, 1, 2, 2), "VALID")  # doctest: +SKIP
    Array([[[[ 5.,  7.],
             [13., 15.]]]], dtype=float32)
    """
    if isinstance(operand, (list, tuple, dict)):
        raise TypeError(
            f"reduce_window: operand is a {type(operand).__name__}; funcgrad reduces one "
            f"array at a time (at {user_location()}). Call reduce_window once per array."
        )
    (operand,) = coerce_scalars(operand)
    aval = get_aval(operand)
    ndim = aval.ndim
    window_dimensions = _ints(window_dimensions)
    window_strides = _ints(window_strides) if window_strides is not None else (1,) * ndim
    base_dilation = _ints(base_dilation) if base_dilation is not None else (1,) * ndim
    window_dilation = _ints(window_dilation) if window_dilation is not None else (1,) * ndim
    if isinstance(padding, str):
        spans = [_dilated(w, d) for w, d in zip(window_dimensions, window_dilation)]
        if len(spans) != ndim or len(window_strides) != ndim:
            raise shape_error(
                "reduce_window",
                [aval],
                f"window_dimensions {window_dimensions} and window_strides {window_strides} "
                f"need one entry per operand axis ({ndim})",
            )
        padding = string_padding("reduce_window", aval.shape, spans, window_strides, padding)
    padding = tuple((int(lo), int(hi)) for lo, hi in padding)
    kind = _monoid(computation)
    if kind is None:
        raise TypeError(
            f"reduce_window: computation {getattr(computation, '__name__', computation)!r} "
            f"is not supported (at {user_location()}). funcgrad reduces windows with "
            "lax.add, lax.max, lax.min or lax.mul (sum, max, min and product pooling)."
        )
    params = dict(
        window_dimensions=window_dimensions,
        window_strides=window_strides,
        padding=padding,
        base_dilation=base_dilation,
        window_dilation=window_dilation,
    )
    if is_python_scalar(init_value):
        init_value = scalar_array(init_value, aval.dtype, False)
    if kind == "prod":
        # No dedicated primitive: the product over each window's patch.
        patches = window_patches_p.bind(
            _padded(operand, 1, padding, base_dilation), **_window_params(params)
        )
        product = reductions.reduce_prod(patches, tuple(range(ndim, 2 * ndim)))
        return ew.mul(product, init_value)
    primitive = {"sum": reduce_window_sum_p, "max": reduce_window_max_p}.get(
        kind, reduce_window_min_p
    )
    if _is_identity(init_value, kind, aval.dtype):
        return primitive.bind(operand, **params)
    # The init value starts each window's reduction once; padding and holes add nothing.
    combine = {"sum": ew.add, "max": ew.max, "min": ew.min}[kind]
    return combine(primitive.bind(operand, **params), init_value)
