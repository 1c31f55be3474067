"""Reductions over a set of axes (reduce_sum, reduce_prod, reduce_max, reduce_min and the
bitwise reduce_and/or/xor), the index reductions argmax/argmin over one axis, and the
cumulative scans along one axis (cumsum, cumprod, cummax, cummin, cumlogsumexp).

Each reduction keeps its operand's dtype; the NumPy-facing layer (funcgrad.numpy) picks
result dtypes and converts before binding. Reductions of an empty axis give the
operation's identity, so every primitive here is total except argmax/argmin, which have
no answer for an empty axis and say so in their shape rule.
"""

from __future__ import annotations

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.operands import coerce_scalars
from funcgrad.lax.shape_rules import KIND_NAMES, check_axes, shape_error

__all__ = [
    "reduce_sum",
    "reduce_prod",
    "reduce_max",
    "reduce_min",
    "reduce_and",
    "reduce_or",
    "reduce_xor",
    "argmax",
    "argmin",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "cumlogsumexp",
]


def _check_dtype(name: str, operand: ShapedArray, kinds: str) -> None:
    if dtypes.dtype_kind(operand.dtype) not in kinds:
        accepted = ", ".join(KIND_NAMES[k] for k in kinds)
        raise shape_error(
            name,
            [operand],
            f"dtype {operand.dtype.name} is not accepted (accepted: {accepted})",
            "Convert the operand with .astype(...) or funcgrad.lax.convert_element_type.",
        )


def _reduction_rule(name: str, kinds: str):
    def abstract_eval(operand: ShapedArray, *, axes) -> ShapedArray:
        _check_dtype(name, operand, kinds)
        axes = check_axes(name, operand, axes)
        shape = [n for i, n in enumerate(operand.shape) if i not in axes]
        return ShapedArray(shape, operand.dtype, operand.weak_type)

    return abstract_eval


def _lowest(dtype: np.dtype):
    if dtype.kind == "b":
        return False
    if dtypes.is_integer(dtype):
        return np.iinfo(dtype).min
    return -np.inf


def _highest(dtype: np.dtype):
    if dtype.kind == "b":
        return True
    if dtypes.is_integer(dtype):
        return np.iinfo(dtype).max
    return np.inf


def _reduction(name: str, kinds: str, impl) -> Primitive:
    primitive = Primitive(name)
    primitive.def_impl(impl)
    primitive.def_abstract_eval(_reduction_rule(name, kinds))
    batching.defreduction(primitive)
    return primitive


def _quiet_reduce(reduce):
    # Overflow and NaN in a reduction are values, not warnings, as in JAX.
    def impl(operand, *, axes):
        with np.errstate(all="ignore"):
            return np.asarray(reduce(operand, axes)).astype(operand.dtype, copy=False)

    return impl


def _bitwise(logical, bitwise, identity):
    def reduce(operand, axes):
        if operand.dtype.kind == "b":
            return logical.reduce(operand, axis=axes, initial=bool(identity))
        initial = np.asarray(identity).astype(operand.dtype)
        return bitwise.reduce(operand, axis=axes, initial=initial)

    return reduce


# The identity of max is the dtype's lowest value (and of min its highest), so empty
# reductions are defined.
reduce_sum_p = _reduction(
    "reduce_sum", "iufc", _quiet_reduce(lambda x, axes: np.sum(x, axis=axes, dtype=x.dtype))
)
reduce_prod_p = _reduction(
    "reduce_prod", "iufc", _quiet_reduce(lambda x, axes: np.prod(x, axis=axes, dtype=x.dtype))
)
reduce_max_p = _reduction(
    "reduce_max",
    "biuf",
    _quiet_reduce(lambda x, axes: np.max(x, axis=axes, initial=_lowest(x.dtype))),
)
reduce_min_p = _reduction(
    "reduce_min",
    "biuf",
    _quiet_reduce(lambda x, axes: np.min(x, axis=axes, initial=_highest(x.dtype))),
)
reduce_and_p = _reduction(
    "reduce_and", "biu", _quiet_reduce(_bitwise(np.logical_and, np.bitwise_and, -1))
)
reduce_or_p = _reduction(
    "reduce_or", "biu", _quiet_reduce(_bitwise(np.logical_or, np.bitwise_or, 0))
)
reduce_xor_p = _reduction(
    "reduce_xor", "biu", _quiet_reduce(_bitwise(np.logical_xor, np.bitwise_xor, 0))
)


def _normalize_axes(operand, axes) -> tuple[int, ...]:
    ndim = get_aval(operand).ndim
    return tuple(int(a) + ndim if a < 0 else int(a) for a in axes)


def _reduction_wrapper(primitive: Primitive, doc: str):
    def reduce(operand, axes):
        (operand,) = coerce_scalars(operand)
        return primitive.bind(operand, axes=_normalize_axes(operand, axes))

    reduce.__name__ = reduce.__qualname__ = primitive.name
    reduce.__doc__ = doc
    return reduce


reduce_sum = _reduction_wrapper(
    reduce_sum_p,
    "Sum over `axes` (a sequence of axis numbers; negative ones count from the end).\n\n"
    ">>> reduce_sum(np.ones((2, 3), np.float32), (1,))   # doctest: +SKIP\n"
    "Array([3., 3.], dtype=float32)",
)
reduce_prod = _reduction_wrapper(reduce_prod_p, "Product over `axes`; 1 for an empty reduction.")
reduce_max = _reduction_wrapper(
    reduce_max_p, "Maximum over `axes`; -inf (or the lowest integer) for an empty reduction."
)
reduce_min = _reduction_wrapper(
    reduce_min_p, "Minimum over `axes`; inf (or the highest integer) for an empty reduction."
)
reduce_and = _reduction_wrapper(
    reduce_and_p, "Logical (bool) or bitwise (integer) AND over `axes`; all bits set if empty."
)
reduce_or = _reduction_wrapper(
    reduce_or_p, "Logical (bool) or bitwise (integer) OR over `axes`; zero if empty."
)
reduce_xor = _reduction_wrapper(
    reduce_xor_p, "Logical (bool) or bitwise (integer) XOR over `axes`; zero if empty."
)


# ---------------------------------------------------------------------------------------
# argmax / argmin: the first index of the extreme value along one axis. NaN counts as the
# maximum and as the minimum, so the first NaN wins (NumPy's and JAX's rule).


def _index_reduction_rule(name: str):
    def abstract_eval(operand: ShapedArray, *, axes, index_dtype) -> ShapedArray:
        _check_dtype(name, operand, "biuf")
        if len(axes) != 1:
            raise shape_error(name, [operand], f"axes {axes} must name exactly one axis")
        (axis,) = check_axes(name, operand, axes)
        if operand.shape[axis] == 0:
            raise shape_error(
                name,
                [operand],
                f"axis {axis} has size 0, so {name} has no answer",
                "Reduce over a non-empty axis.",
            )
        if not dtypes.is_integer(index_dtype):
            raise shape_error(
                name, [operand], f"index_dtype {np.dtype(index_dtype).name} is not an integer"
            )
        shape = [n for i, n in enumerate(operand.shape) if i != axis]
        return ShapedArray(shape, index_dtype)

    return abstract_eval


def _index_reduction_impl(find):
    def impl(operand, *, axes, index_dtype):
        # float64 holds every float exactly; NumPy's argmax of bfloat16 mishandles NaN.
        if dtypes.is_float(operand.dtype):
            operand = operand.astype(np.float64)
        return np.asarray(find(operand, axis=axes[0])).astype(index_dtype)

    return impl


argmax_p = Primitive("argmax")
argmax_p.def_impl(_index_reduction_impl(np.argmax))
argmax_p.def_abstract_eval(_index_reduction_rule("argmax"))

argmin_p = Primitive("argmin")
argmin_p.def_impl(_index_reduction_impl(np.argmin))
argmin_p.def_abstract_eval(_index_reduction_rule("argmin"))


def _index_reduction_wrapper(primitive: Primitive, doc: str):
    def find(operand, axis: int, index_dtype):
        (operand,) = coerce_scalars(operand)
        (axis,) = _normalize_axes(operand, (axis,))
        index_dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(index_dtype, f"{primitive}: "))
        return primitive.bind(operand, axes=(axis,), index_dtype=index_dtype)

    find.__name__ = find.__qualname__ = primitive.name
    find.__doc__ = doc
    return find


argmax = _index_reduction_wrapper(
    argmax_p,
    "Index of the first maximum along `axis`, as `index_dtype` (NaN counts as the maximum).\n\n"
    ">>> argmax(np.array([1, 3, 3], np.int32), 0, np.int32)   # doctest: +SKIP\n"
    "Array(1, dtype=int32)",
)
argmin = _index_reduction_wrapper(
    argmin_p,
    "Index of the first minimum along `axis`, as `index_dtype` (NaN counts as the minimum).",
)


# ---------------------------------------------------------------------------------------
# Cumulative scans: out[..., i, ...] combines operand[..., :i+1, ...] along `axis` (or
# operand[..., i:, ...] with `reverse`). The result has the operand's aval.


def _cumulative_rule(name: str, kinds: str):
    def abstract_eval(operand: ShapedArray, *, axis, reverse) -> ShapedArray:
        _check_dtype(name, operand, kinds)
        check_axes(name, operand, (axis,), "axis")
        return operand

    return abstract_eval


def _logaddexp_accumulate(x, axis):
    # Computed in float64 and rounded once, so float16/bfloat16 keep full precision.
    return np.logaddexp.accumulate(x.astype(np.float64), axis=axis)


def _cumulative_impl(scan):
    def impl(operand, *, axis, reverse):
        x = np.flip(operand, axis) if reverse else operand
        with np.errstate(all="ignore"):
            out = np.asarray(scan(x, axis)).astype(operand.dtype, copy=False)
        return np.flip(out, axis) if reverse else out

    return impl


def _cumulative(name: str, kinds: str, scan) -> Primitive:
    primitive = Primitive(name)
    primitive.def_impl(_cumulative_impl(scan))
    primitive.def_abstract_eval(_cumulative_rule(name, kinds))
    return primitive


cumsum_p = _cumulative("cumsum", "iufc", lambda x, axis: np.cumsum(x, axis, dtype=x.dtype))
cumprod_p = _cumulative("cumprod", "iufc", lambda x, axis: np.cumprod(x, axis, dtype=x.dtype))
cummax_p = _cumulative("cummax", "biuf", lambda x, axis: np.maximum.accumulate(x, axis))
cummin_p = _cumulative("cummin", "biuf", lambda x, axis: np.minimum.accumulate(x, axis))
cumlogsumexp_p = _cumulative("cumlogsumexp", "f", _logaddexp_accumulate)


def _cumulative_wrapper(primitive: Primitive, doc: str):
    def scan(operand, axis: int = 0, reverse: bool = False):
        (operand,) = coerce_scalars(operand)
        (axis,) = _normalize_axes(operand, (axis,))
        return primitive.bind(operand, axis=axis, reverse=bool(reverse))

    scan.__name__ = scan.__qualname__ = primitive.name
    scan.__doc__ = doc
    return scan


cumsum = _cumulative_wrapper(
    cumsum_p,
    "Running sum along `axis` (from the end with `reverse`).\n\n"
    ">>> cumsum(np.array([1, 2, 3], np.int32))   # doctest: +SKIP\n"
    "Array([1, 3, 6], dtype=int32)",
)
cumprod = _cumulative_wrapper(cumprod_p, "Running product along `axis`.")
cummax = _cumulative_wrapper(cummax_p, "Running maximum along `axis` (NaN propagates).")
cummin = _cumulative_wrapper(cummin_p, "Running minimum along `axis` (NaN propagates).")
cumlogsumexp = _cumulative_wrapper(
    cumlogsumexp_p, "Running log(sum(exp(x))) along `axis`, without overflow."
)


# ---------------------------------------------------------------------------------------
# Differentiation rules
#
# The scans differentiate through one helper, `_linear_scan`: the tangent of a running
# product or log-sum-exp obeys a first-order linear recurrence y[i] = a[i] y[i-1] + u[i]
# whose coefficients come from the primal and whose inputs are linear in the tangents,
# solved by recursive doubling in log2(n) rounds of shifts, multiplies and adds. No
# division by the operand appears, so zeros in a product need no special case.


def _reduce_sum_transpose(ct, operand, *, axes):
    from funcgrad.lax.shapes import broadcast_in_dim

    shape = operand.aval.shape
    kept = tuple(i for i in range(len(shape)) if i not in axes)
    return [broadcast_in_dim(ct, shape, kept)]


def _extremum_jvp(primitive):
    # The tangent at the extreme element; ties share it evenly, as JAX does.
    def rule(primals, tangents, *, axes):
        from funcgrad.lax.elementwise import convert_element_type, div, eq, mul
        from funcgrad.lax.shapes import broadcast_in_dim

        (operand,), (tangent,) = primals, tangents
        out = primitive.bind(operand, axes=axes)
        shape = get_aval(operand).shape
        kept = tuple(i for i in range(len(shape)) if i not in axes)
        location = eq(operand, broadcast_in_dim(out, shape, kept))
        weights = convert_element_type(location, get_aval(operand).dtype)
        counts = reduce_sum_p.bind(weights, axes=axes)
        picked = reduce_sum_p.bind(mul(ad.instantiate(tangent), weights), axes=axes)
        return out, div(picked, counts)

    return rule


def _cumsum_transpose(ct, operand, *, axis, reverse):
    return [cumsum_p.bind(ct, axis=axis, reverse=not reverse)]


def _shift(x, axis: int, by: int, fill):
    """`x` moved `by` places along `axis` (towards the end when positive), keeping its
    shape: entries pushed off are dropped and vacated ones hold `fill`."""
    from funcgrad.lax.shapes import pad

    config = [(by, -by, 0) if d == axis else (0, 0, 0) for d in range(get_aval(x).ndim)]
    return pad(x, fill, config)


def _linear_scan(coefficients, inputs, axis: int, reverse: bool):
    """y with y[i] = coefficients[i] * y[i-1] + inputs[i] along `axis` (y[i+1] with
    `reverse`), y before the first element being 0; linear in `inputs`.

    After the round with span s, y[i] sums the inputs of the 2s places ending at i, each
    times the product of the coefficients after it, and coefficients[i] is the product
    over those places, so doubling the span combines two halves with one multiply-add.
    """
    from funcgrad.lax.elementwise import add, mul

    size = get_aval(inputs).shape[axis]
    direction = -1 if reverse else 1
    span = 1
    while span < size:
        inputs = add(inputs, mul(coefficients, _shift(inputs, axis, direction * span, 0)))
        if 2 * span < size:
            coefficients = mul(coefficients, _shift(coefficients, axis, direction * span, 1))
        span *= 2
    return inputs


def _cumprod_jvp(primals, tangents, *, axis, reverse):
    # out[i] = x[i] * out[i-1], so dout[i] = x[i] * dout[i-1] + out[i-1] * t[i].
    from funcgrad.lax.elementwise import mul

    (operand,), (tangent,) = primals, tangents
    out = cumprod_p.bind(operand, axis=axis, reverse=reverse)
    before = _shift(out, axis, -1 if reverse else 1, 1)
    return out, _linear_scan(operand, mul(before, tangent), axis, reverse)


def _cumlogsumexp_jvp(primals, tangents, *, axis, reverse):
    # out[i] = logaddexp(out[i-1], x[i]): both weights exp(out[i-1] - out[i]) and
    # exp(x[i] - out[i]) lie in [0, 1], so nothing overflows.
    from funcgrad.lax.elementwise import exp, mul, sub

    (operand,), (tangent,) = primals, tangents
    out = cumlogsumexp_p.bind(operand, axis=axis, reverse=reverse)
    before = _shift(out, axis, -1 if reverse else 1, -np.inf)
    carried = exp(sub(before, out))
    return out, _linear_scan(carried, mul(exp(sub(operand, out)), tangent), axis, reverse)


def _running_extremum_jvp(primitive):
    # The tangent of the element the running extreme came from: the latest place up to
    # i (from i on with `reverse`) where the operand equals its running extreme.
    def rule(primals, tangents, *, axis, reverse):
        from funcgrad.lax.elementwise import eq, select
        from funcgrad.lax.operands import scalar_array
        from funcgrad.lax.shapes import broadcast_in_dim, broadcasted_iota
        from funcgrad.lax.sorting import _take_along_axis

        (operand,), (tangent,) = primals, tangents
        out = primitive.bind(operand, axis=axis, reverse=reverse)
        shape = get_aval(operand).shape
        positions = broadcasted_iota(np.int32, shape, axis)
        # Where no place qualifies (NaN), the first place scanned stands in.
        first = scalar_array(shape[axis] - 1 if reverse else 0, np.dtype(np.int32), False)
        elsewhere = broadcast_in_dim(first, shape, ())
        latest = cummin_p if reverse else cummax_p
        source = latest.bind(
            select(eq(operand, out), positions, elsewhere), axis=axis, reverse=reverse
        )
        return out, _take_along_axis(ad.instantiate(tangent), source, axis)

    return rule


def _reduce_prod_jvp(primals, tangents, *, axes):
    # d prod(x) = sum_i t[i] * prod_{j != i} x[j], the product of the others taken as
    # (product of those before i) * (product of those after i) so zeros are harmless.
    from funcgrad.lax.elementwise import mul
    from funcgrad.lax.shapes import reshape, transpose

    (operand,), (tangent,) = primals, tangents
    out = reduce_prod_p.bind(operand, axes=axes)
    shape = get_aval(operand).shape
    size = int(np.prod([shape[a] for a in axes], dtype=np.int64))
    if size == 0:
        return out, ad.Zero(get_aval(out))
    kept = [d for d in range(len(shape)) if d not in axes]
    permutation = tuple(kept) + tuple(axes)
    flat_shape = tuple(shape[d] for d in kept) + (size,)
    last = len(kept)

    def flatten(x):
        # The reduced axes, moved to the end and merged into one.
        if permutation != tuple(range(len(shape))):
            x = transpose(x, permutation)
        return reshape(x, flat_shape) if flat_shape != shape else x

    flat = flatten(operand)
    before = _shift(cumprod_p.bind(flat, axis=last, reverse=False), last, 1, 1)
    after = _shift(cumprod_p.bind(flat, axis=last, reverse=True), last, -1, 1)
    others = mul(before, after)
    return out, reduce_sum_p.bind(mul(others, flatten(tangent)), axes=(last,))


ad.deflinear(reduce_sum_p, _reduce_sum_transpose)
ad.primitive_jvps[reduce_prod_p] = _reduce_prod_jvp
ad.primitive_jvps[reduce_max_p] = _extremum_jvp(reduce_max_p)
ad.primitive_jvps[reduce_min_p] = _extremum_jvp(reduce_min_p)
ad.deflinear(cumsum_p, _cumsum_transpose)
ad.primitive_jvps[cumprod_p] = _cumprod_jvp
ad.primitive_jvps[cummax_p] = _running_extremum_jvp(cummax_p)
ad.primitive_jvps[cummin_p] = _running_extremum_jvp(cummin_p)
ad.primitive_jvps[cumlogsumexp_p] = _cumlogsumexp_jvp
for _primitive in (argmax_p, argmin_p, reduce_and_p, reduce_or_p, reduce_xor_p):
    ad.defjvp_zero(_primitive)


# ---------------------------------------------------------------------------------------
# Batching: reductions made by `_reduction` registered themselves; the index reductions
# and the running scans shift their axis parameter past the batch axis.

batching.defreduction(argmax_p)
batching.defreduction(argmin_p)
for _primitive in (cumsum_p, cumprod_p, cummax_p, cummin_p, cumlogsumexp_p):
    batching.defreduction(_primitive, "axis")
