"""`x[idx]`, `x.at[idx]` updates, take, take_along_axis, nonzero and friends, with JAX's
semantics over the gather and scatter primitives.

An index is first parsed into a list of items: None, slices, integers and integer
arrays (boolean masks become integer arrays of their concrete positions; under tracing
they are refused). Basic indices (integers, slices, None, Ellipsis) become a static
slice; traced scalar integers a dynamic_slice; everything else one gather whose plan is
shared with the scatter of `x.at[idx]`: integer arrays (and the integers beside them)
broadcast together and their axes go where NumPy puts them (in place when adjacent, in
front when separated by a slice, None or Ellipsis), unit-step slices are windows of the
gather and other slices are index axes of their own.

Out-of-range integers never raise, as in JAX: gathers clamp (`x[7]` of a length-5 array
is `x[4]`, `x[-9]` is `x[0]`), scatters drop (`x.at[7].set(1)` leaves `x` alone); negative
indices count from the end first. `mode=` changes this per call ('clip', 'fill'/'drop',
'promise_in_bounds').
"""

from __future__ import annotations

import builtins
import dataclasses
import operator

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval, is_python_scalar
from funcgrad.core.errors import ConcretizationTypeError, NonConcreteBooleanIndexError
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax import indexing as lax_indexing
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax.indexing import GatherDimensionNumbers, GatherScatterMode, ScatterDimensionNumbers
from funcgrad.lax.operands import scalar_array
from funcgrad.numpy import ufuncs
from funcgrad.numpy.creation import asarray
from funcgrad.runtime.array import Array, setitem_error

__all__ = [
    "getitem",
    "take",
    "take_along_axis",
    "nonzero",
    "argwhere",
    "flatnonzero",
    "ix_",
]

_INDEX = np.dtype(np.int32)  # gather/scatter indices


def _default_int() -> np.dtype:
    """The dtype of positions nonzero & co. return: int32, or int64 under x64 (as JAX)."""
    return dtypes.canonicalize_dtype(np.int64)


# ---------------------------------------------------------------------------------------
# Parsing an index into items


@dataclasses.dataclass(frozen=True)
class _ArrayIndex:
    """An integer index array: NumPy (static, already normalized) or funcgrad (dynamic)."""

    value: object
    shape: tuple

    @property
    def static(self) -> bool:
        return isinstance(self.value, np.ndarray)


def _bool_scalar_error(item):
    return TypeError(
        f"boolean scalar indices are not supported (index {item!r} at {user_location()}); "
        "use jnp.where for a conditional value."
    )


def _static_array(item, where: str) -> np.ndarray:
    host = np.asarray(item)
    if host.size == 0 and host.dtype.kind == "f":
        host = host.astype(_INDEX)  # [] is an empty integer index, as in NumPy
    if host.dtype.kind not in "biu":
        raise IndexError(
            f"{where}: arrays used as indices must be of integer (or boolean) type, got "
            f"{host.dtype.name} (at {user_location()}). Convert with .astype(jnp.int32)."
        )
    return host


def _mask_error(where: str, aval) -> NonConcreteBooleanIndexError:
    return NonConcreteBooleanIndexError(
        f"{where}: a boolean mask {aval.str_short()} cannot index while it is traced (at "
        f"{user_location()}): the result's shape would depend on its values. Use "
        "jnp.where(mask, x, other) to select elementwise, or jnp.nonzero(mask, size=n) for "
        "a fixed number of positions."
    )


def _parse_item(item, where: str):
    """One index item as None, Ellipsis, a slice, an int, a bool mask (np) or _ArrayIndex."""
    if item is None or item is Ellipsis:
        return item
    if isinstance(item, builtins.slice):
        bounds = []
        for bound in (item.start, item.stop, item.step):
            if bound is None:
                bounds.append(None)
                continue
            if isinstance(bound, Tracer):
                raise IndexError(
                    f"{where}: slice bounds must be static, got a traced {bound.aval.str_short()}"
                    f" (at {user_location()}); use lax.dynamic_slice for a slice at a traced "
                    "start."
                )
            try:
                bounds.append(operator.index(bound))
            except TypeError:
                raise IndexError(
                    f"{where}: slice indices must be integers or None, got "
                    f"{type(bound).__name__} {bound!r} (at {user_location()})."
                ) from None
        if bounds[2] == 0:
            raise ValueError(f"{where}: slice step cannot be zero (at {user_location()}).")
        return builtins.slice(*bounds)
    if isinstance(item, (bool, np.bool_)):
        raise _bool_scalar_error(item)
    if isinstance(item, (int, np.integer)):
        return int(item)
    if isinstance(item, (Array, Tracer)):
        aval = get_aval(item)
        if aval.dtype.kind == "b":
            if isinstance(item, Tracer):
                raise _mask_error(where, aval)
            item = np.asarray(item)
        elif dtypes.is_integer(aval.dtype):
            return _ArrayIndex(item, aval.shape)
        else:
            raise IndexError(
                f"{where}: arrays used as indices must be of integer (or boolean) type, got "
                f"{aval.dtype.name} (at {user_location()}). Convert with .astype(jnp.int32)."
            )
    if isinstance(item, (np.ndarray, list, tuple)):
        if isinstance(item, (list, tuple)) and _holds_tracer(item):
            raise TypeError(
                f"{where}: a list of traced values cannot be an index (at {user_location()}); "
                "stack them into one array first."
            )
        host = _static_array(item, where)
        if host.dtype.kind == "b":
            if host.ndim == 0:
                raise _bool_scalar_error(item)
            return host
        if host.ndim == 0:
            return int(host)
        return _ArrayIndex(host, host.shape)
    raise IndexError(
        f"only integers, slices (:), ellipsis (...), None and integer or boolean arrays are "
        f"valid indices, got {type(item).__name__} {item!r} (at {user_location()})."
    )


def _holds_tracer(items) -> bool:
    return any(
        isinstance(i, Tracer) or isinstance(i, (list, tuple)) and _holds_tracer(i) for i in items
    )


def _parse_index(shape: tuple, index, where: str) -> tuple[list, bool]:
    """The index as a list of items with Ellipsis expanded and masks replaced by their
    positions, and whether its advanced items (ints and arrays) are adjacent."""
    index = index if isinstance(index, tuple) else (index,)
    items = [_parse_item(item, where) for item in index]
    ellipses = builtins.sum(1 for item in items if item is Ellipsis)
    if ellipses > 1:
        raise IndexError(
            f"{where}: an index can only have a single ellipsis ('...'); got {index!r} (at "
            f"{user_location()})."
        )
    used = builtins.sum(
        item.ndim if isinstance(item, np.ndarray) else 1
        for item in items
        if item is not None and item is not Ellipsis
    )
    if used > len(shape):
        raise IndexError(
            f"{where}: too many indices for array: array is {len(shape)}-dimensional, but "
            f"{used} were indexed (at {user_location()})."
        )
    expanded = []
    for item in items:
        if item is Ellipsis:
            expanded.append(Ellipsis)
            expanded.extend([builtins.slice(None)] * (len(shape) - used))
        elif isinstance(item, np.ndarray):  # a boolean mask over item.ndim axes
            axis = builtins.sum(1 for i in expanded if i is not None and i is not Ellipsis)
            covered = shape[axis : axis + item.ndim]
            if item.shape != covered:
                raise IndexError(
                    f"{where}: boolean index of shape {item.shape} does not match the indexed "
                    f"axes {tuple(range(axis, axis + item.ndim))} of shape {covered} (at "
                    f"{user_location()})."
                )
            expanded.extend(_ArrayIndex(p.astype(_INDEX), p.shape) for p in np.nonzero(item))
        else:
            expanded.append(item)
    if Ellipsis not in expanded:
        expanded.extend([builtins.slice(None)] * (len(shape) - used))
    advanced = [i for i, item in enumerate(expanded) if isinstance(item, (int, _ArrayIndex))]
    contiguous = builtins.all(b - a == 1 for a, b in zip(advanced, advanced[1:]))
    return [item for item in expanded if item is not Ellipsis], contiguous


# ---------------------------------------------------------------------------------------
# Basic and dynamic-scalar indexing: slice, rev, dynamic_slice, squeeze, broadcast_in_dim


def _basic(x, items, where: str):
    """x[items] for items that are None, slices, ints, or 0-d dynamic _ArrayIndex."""
    aval = get_aval(x)
    starts, limits, strides, reversed_axes, squeezed = [], [], [], [], []
    dynamic, new_axes = {}, []
    out_position = 0
    axis = 0
    for item in items:
        if item is None:
            new_axes.append(out_position)
            out_position += 1
            continue
        size = aval.shape[axis]
        if isinstance(item, builtins.slice):
            start, stop, step = item.indices(size)
            count = len(range(start, stop, step))
            if step < 0 and count:
                start, stop, step = start + (count - 1) * step, start + 1, -step
                reversed_axes.append(axis)
            elif not count:
                start = stop = 0
                step = 1
            starts.append(start)
            limits.append(stop)
            strides.append(step)
            out_position += 1
        else:
            if size == 0:
                raise IndexError(
                    f"{where}: index {item if isinstance(item, int) else 'array'} is out of "
                    f"bounds for axis {axis} with size 0 (at {user_location()})."
                )
            if isinstance(item, int):
                position = builtins.min(
                    builtins.max(item + size if item < 0 else item, 0), size - 1
                )
                starts.append(position)
                limits.append(position + 1)
            else:
                dynamic[axis] = item.value
                starts.append(0)
                limits.append(size)
            strides.append(1)
            squeezed.append(axis)
        axis += 1
    out = x
    if (
        starts != [0] * aval.ndim
        or limits != list(aval.shape)
        or builtins.any(s != 1 for s in strides)
    ):
        out = lax_shapes.slice(
            out, starts, limits, None if builtins.all(s == 1 for s in strides) else strides
        )
    if reversed_axes:
        out = lax_shapes.rev(out, reversed_axes)
    if dynamic:
        shape = get_aval(out).shape
        out = lax_indexing.dynamic_slice(
            out,
            [dynamic.get(a, 0) for a in range(len(shape))],
            [1 if a in dynamic else n for a, n in enumerate(shape)],
        )
    if squeezed:
        out = lax_shapes.squeeze(out, squeezed)
    if new_axes:
        shape = get_aval(out).shape
        kept_axes = [i for i in range(len(shape) + len(new_axes)) if i not in new_axes]
        full = [1] * (len(shape) + len(new_axes))
        for src, dst in enumerate(kept_axes):
            full[dst] = shape[src]
        out = lax_shapes.broadcast_in_dim(out, full, kept_axes)
    return out


# ---------------------------------------------------------------------------------------
# The gather/scatter plan of an index


@dataclasses.dataclass
class _Plan:
    batch_shape: tuple  # the gather's index batch shape: advanced shape, then strided slices
    components: list  # (operand axis, value, dims of batch_shape it spans), by operand axis
    collapsed: tuple  # operand axes indexed by an integer (advanced or strided slice)
    slice_sizes: tuple
    window_sizes: tuple  # the window (offset) axes' sizes, in operand axis order
    permutation: tuple  # gather-output axes in the order x[idx] has them (without None)
    result_shape: tuple  # the shape of x[idx]
    empty_axis: int | None  # an integer-indexed axis of size 0, if any

    @property
    def start_index_map(self) -> tuple:
        return tuple(axis for axis, _, _ in self.components)

    @property
    def window_dims(self) -> tuple:
        first = len(self.batch_shape)
        return tuple(range(first, first + len(self.window_sizes)))


def _broadcast_shapes(where: str, shapes) -> tuple:
    try:
        return tuple(np.broadcast_shapes(*shapes))
    except ValueError:
        listed = " ".join(str(tuple(s)) for s in shapes)
        raise IndexError(
            f"{where}: shape mismatch: indexing arrays could not be broadcast together with "
            f"shapes {listed} (at {user_location()})."
        ) from None


def _normalized(item, size: int):
    """Integer index (int or _ArrayIndex) with negative entries counted from the end."""
    if isinstance(item, int):
        return np.asarray(item + size if item < 0 else item, _INDEX)
    if item.static:
        value = item.value.astype(np.int64)
        return np.where(value < 0, value + size, value).astype(_INDEX)
    value = item.value
    if get_aval(value).dtype != _INDEX:
        value = ew.convert_element_type(value, _INDEX)
    return ew.select(ew.lt(value, 0), ew.add(value, size), value)


def _plan(shape: tuple, items: list, contiguous: bool, where: str) -> _Plan:
    advanced, strided, windows, layout = [], [], [], []
    slice_sizes = list(shape)
    axis = 0
    for item in items:
        if item is None:
            layout.append(("new", None))
            continue
        size = shape[axis]
        if isinstance(item, builtins.slice):
            start, stop, step = item.indices(size)
            count = len(range(start, stop, step))
            if step == 1 or count <= 1:
                windows.append((axis, start if count else 0, count))
                slice_sizes[axis] = count
                layout.append(("window", axis))
            else:
                strided.append((axis, np.arange(start, stop, step, dtype=_INDEX)))
                slice_sizes[axis] = 1
                layout.append(("strided", len(strided) - 1))
        else:
            shape_of = () if isinstance(item, int) else item.shape
            advanced.append((axis, _normalized(item, size), shape_of))
            slice_sizes[axis] = 1
            if not advanced[1:] and contiguous:
                layout.append(("advanced", None))
        axis += 1
    advanced_shape = _broadcast_shapes(where, [s for _, _, s in advanced]) if advanced else ()
    if advanced and not contiguous:
        layout.insert(0, ("advanced", None))
    n_adv = len(advanced_shape)
    batch_shape = advanced_shape + tuple(len(v) for _, v in strided)
    components = [(a, v, tuple(range(n_adv - len(s), n_adv))) for a, v, s in advanced]
    components += [(a, v, (n_adv + j,)) for j, (a, v) in enumerate(strided)]
    components += [(a, np.asarray(start, _INDEX), ()) for a, start, _ in windows if start]
    components.sort(key=lambda c: c[0])
    window_axes = sorted(a for a, _, _ in windows)
    window_position = {a: len(batch_shape) + r for r, a in enumerate(window_axes)}
    permutation, result_shape = [], []
    for kind, what in layout:
        if kind == "new":
            result_shape.append(1)
            continue
        if kind == "advanced":
            axes = list(range(n_adv))
        elif kind == "strided":
            axes = [n_adv + what]
        else:
            axes = [window_position[what]]
        permutation += axes
        result_shape += [
            batch_shape[a]
            if a < len(batch_shape)
            else slice_sizes[window_axes[a - len(batch_shape)]]
            for a in axes
        ]
    collapsed = tuple(sorted([a for a, _, _ in advanced] + [a for a, _ in strided]))
    empty_axis = next((a for a in collapsed if shape[a] == 0), None)
    return _Plan(
        batch_shape=batch_shape,
        components=components,
        collapsed=collapsed,
        slice_sizes=tuple(slice_sizes),
        window_sizes=tuple(slice_sizes[a] for a in window_axes),
        permutation=tuple(permutation),
        result_shape=tuple(result_shape),
        empty_axis=empty_axis,
    )


def _gather_indices(plan: _Plan):
    """The (*batch_shape, k) index array: static components stacked by NumPy, dynamic ones
    broadcast and concatenated."""
    batch = plan.batch_shape
    columns, static_run = [], []

    def flush():
        if static_run:
            columns.append(np.stack(static_run, axis=-1).astype(_INDEX))
            static_run.clear()

    for _, value, dims in plan.components:
        if isinstance(value, np.ndarray):
            target = [1] * len(batch)
            for d, n in zip(dims, value.shape):
                target[d] = n
            static_run.append(np.broadcast_to(value.reshape(target), batch))
        else:
            flush()
            columns.append(lax_shapes.broadcast_in_dim(value, (*batch, 1), dims))
    flush()
    if not columns:
        return np.zeros((*batch, 0), _INDEX)
    if len(columns) == 1:
        return columns[0]
    return lax_shapes.concatenate(columns, len(batch))


def _zeros(shape, aval: ShapedArray):
    return lax_shapes.broadcast_in_dim(scalar_array(0, aval.dtype, aval.weak_type), shape, ())


def _mode(mode, default: GatherScatterMode, where: str) -> GatherScatterMode:
    try:
        return GatherScatterMode.from_any(mode, default)
    except ValueError as err:
        raise ValueError(f"{where}: {err} (at {user_location()})") from None


def _take(x, index, *, where="indexing", mode=None, fill_value=None, sorted_=False, unique=False):
    """x[index] with the given gather mode (default: clamp)."""
    aval = get_aval(x)
    parsed = _mode(mode, GatherScatterMode.CLIP, where)
    items, contiguous = _parse_index(aval.shape, index, where)
    if parsed is not GatherScatterMode.FILL_OR_DROP and builtins.all(
        not isinstance(item, _ArrayIndex) or (not item.static and not item.shape) for item in items
    ):
        return _basic(x, items, where)
    plan = _plan(aval.shape, items, contiguous, where)
    if plan.empty_axis is not None and builtins.all(plan.batch_shape):
        raise IndexError(
            f"{where}: index is out of bounds for axis {plan.empty_axis} with size 0 (at "
            f"{user_location()})."
        )
    if 0 in plan.result_shape:
        return _zeros(plan.result_shape, aval)
    numbers = GatherDimensionNumbers(
        offset_dims=plan.window_dims,
        collapsed_slice_dims=plan.collapsed,
        start_index_map=plan.start_index_map,
    )
    out = lax_indexing.gather(
        x,
        _gather_indices(plan),
        numbers,
        plan.slice_sizes,
        indices_are_sorted=sorted_,
        unique_indices=unique,
        mode=parsed,
        fill_value=fill_value,
    )
    if plan.permutation != tuple(range(len(plan.permutation))):
        out = lax_shapes.transpose(out, plan.permutation)
    if get_aval(out).shape != plan.result_shape:
        out = lax_shapes.reshape(out, plan.result_shape)
    return out


def getitem(x, index):
    """`x[index]`: basic, advanced (integer array) and concrete boolean-mask indexing."""
    return _take(x, index)


# ---------------------------------------------------------------------------------------
# x.at[index] updates


def _updates_for(x_aval: ShapedArray, values, result_shape: tuple, where: str):
    if is_python_scalar(values):
        values = scalar_array(values, x_aval.dtype, x_aval.weak_type)
    elif not isinstance(values, (Array, Tracer)):
        values = asarray(values)
    aval = get_aval(values)
    if aval.dtype != x_aval.dtype:
        values = ew.convert_element_type(values, x_aval.dtype)
    lead = len(result_shape) - aval.ndim
    if lead < 0 or builtins.any(n not in (1, m) for n, m in zip(aval.shape, result_shape[lead:])):
        raise ValueError(
            f"{where}: values of shape {aval.shape} cannot be broadcast to the indexed shape "
            f"{result_shape} (at {user_location()}). Reshape the values or change the index."
        )
    if aval.shape != result_shape:
        values = lax_shapes.broadcast_in_dim(
            values, result_shape, tuple(range(lead, len(result_shape)))
        )
    return values


def _scatter(x, index, values, scatter_op, where, mode, sorted_, unique):
    aval = get_aval(x)
    parsed = _mode(mode, GatherScatterMode.FILL_OR_DROP, where)
    items, contiguous = _parse_index(aval.shape, index, where)
    plan = _plan(aval.shape, items, contiguous, where)
    values = _updates_for(aval, values, plan.result_shape, where)
    if 0 in plan.result_shape or plan.empty_axis is not None:
        return x  # nothing to update (every position would be out of bounds)
    layout_shape = tuple(
        plan.batch_shape[a]
        if a < len(plan.batch_shape)
        else plan.window_sizes[a - len(plan.batch_shape)]
        for a in plan.permutation
    )
    if layout_shape != plan.result_shape:
        values = lax_shapes.reshape(values, layout_shape)
    inverse = tuple(int(i) for i in np.argsort(plan.permutation))
    if inverse != tuple(range(len(inverse))):
        values = lax_shapes.transpose(values, inverse)
    numbers = ScatterDimensionNumbers(
        update_window_dims=plan.window_dims,
        inserted_window_dims=plan.collapsed,
        scatter_dims_to_operand_dims=plan.start_index_map,
    )
    return scatter_op(
        x,
        _gather_indices(plan),
        values,
        numbers,
        indices_are_sorted=sorted_,
        unique_indices=unique,
        mode=parsed,
    )


class _IndexUpdateRef:
    """`x.at[index]`: functional versions of `x[index] = y`, `x[index] += y`, ..."""

    __slots__ = ("array", "index")

    def __init__(self, array, index):
        self.array = array
        self.index = index

    def __repr__(self) -> str:
        return f"_IndexUpdateRef({self.array!r}, {self.index!r})"

    def _update(self, op, name, values, indices_are_sorted, unique_indices, mode):
        return _scatter(
            self.array,
            self.index,
            values,
            op,
            f"at[...].{name}",
            mode,
            indices_are_sorted,
            unique_indices,
        )

    @api_boundary
    def get(self, *, indices_are_sorted=False, unique_indices=False, mode=None, fill_value=None):
        """`x[index]`, with `mode` ('clip' by default, 'fill' uses `fill_value`)."""
        return _take(
            self.array,
            self.index,
            where="at[...].get",
            mode=mode,
            fill_value=fill_value,
            sorted_=indices_are_sorted,
            unique=unique_indices,
        )

    @api_boundary
    def set(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] = values` (out-of-bounds positions are dropped)."""
        return self._update(
            lax_indexing.scatter, "set", values, indices_are_sorted, unique_indices, mode
        )

    @api_boundary
    def add(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] += values`; repeated indices accumulate."""
        return self._update(
            lax_indexing.scatter_add, "add", values, indices_are_sorted, unique_indices, mode
        )

    @api_boundary
    def multiply(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] *= values`; repeated indices accumulate."""
        return self._update(
            lax_indexing.scatter_mul, "multiply", values, indices_are_sorted, unique_indices, mode
        )

    mul = multiply

    @api_boundary
    def min(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] = minimum(x[index], values)`."""
        return self._update(
            lax_indexing.scatter_min, "min", values, indices_are_sorted, unique_indices, mode
        )

    @api_boundary
    def max(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] = maximum(x[index], values)`."""
        return self._update(
            lax_indexing.scatter_max, "max", values, indices_are_sorted, unique_indices, mode
        )

    def _ones_times(self, values, name, indices_are_sorted, unique_indices, mode):
        # 1 everywhere, the product of the values (repeats multiply) at the index.
        aval = get_aval(self.array)
        ones = lax_shapes.broadcast_in_dim(
            scalar_array(1, aval.dtype, aval.weak_type), aval.shape, ()
        )
        return _scatter(
            ones,
            self.index,
            values,
            lax_indexing.scatter_mul,
            f"at[...].{name}",
            mode,
            indices_are_sorted,
            unique_indices,
        )

    @api_boundary
    def divide(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] /= values` (the result has jnp.divide's dtype)."""
        divisor = self._ones_times(values, "divide", indices_are_sorted, unique_indices, mode)
        return ufuncs.divide(self.array, divisor)

    @api_boundary
    def power(self, values, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] **= values`."""
        exponent = self._ones_times(values, "power", indices_are_sorted, unique_indices, mode)
        return ufuncs.power(self.array, exponent)

    @api_boundary
    def apply(self, func, *, indices_are_sorted=False, unique_indices=False, mode=None):
        """`x` with `x[index] = func(x[index])`, applied once per indexed element."""
        gathered = _take(self.array, self.index, where="at[...].apply")
        return self._update(
            lax_indexing.scatter, "apply", func(gathered), indices_are_sorted, unique_indices, mode
        )


class _IndexUpdateHelper:
    """The `.at` property: `x.at[index]` names positions for a functional update."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array

    def __getitem__(self, index) -> _IndexUpdateRef:
        return _IndexUpdateRef(self.array, index)

    def __repr__(self) -> str:
        return f"_IndexUpdateHelper({self.array!r})"


# ---------------------------------------------------------------------------------------
# take, take_along_axis


def _normalize_axis(name: str, axis: int, ndim: int) -> int:
    axis = operator.index(axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim} (at "
            f"{user_location()})."
        )
    return axis % ndim


def _integer_indices(name: str, indices):
    """`indices` (NumPy data stays NumPy) and its shape, refusing non-integer dtypes."""
    if isinstance(indices, (Array, Tracer)):
        dtype, shape = get_aval(indices).dtype, get_aval(indices).shape
    else:
        indices = np.asarray(indices)
        if indices.size == 0 and indices.dtype.kind == "f":
            indices = indices.astype(_INDEX)  # [] is an empty integer index
        dtype, shape = indices.dtype, indices.shape
    if dtype.kind not in "iu":
        raise TypeError(
            f"{name}: indices must have an integer dtype, got {dtype.name} (at "
            f"{user_location()}). Convert with .astype(jnp.int32)."
        )
    return indices, ShapedArray(shape, dtypes.canonicalize_dtype(dtype))


@api_boundary
def take(
    a,
    indices,
    axis: int | None = None,
    out=None,
    mode: str | None = None,
    unique_indices: bool = False,
    indices_are_sorted: bool = False,
    fill_value=None,
):
    """Elements of `a` at `indices` along `axis` (of the flattened `a` if None).

    Out-of-bounds indices follow `mode`: 'fill' (the default) gives `fill_value` (NaN for
    floats, the minimum of signed and maximum of unsigned integers, True for bools),
    'clip' clamps, 'wrap' wraps around.

    >>> take(jnp.array([4., 5., 6.]), jnp.array([2, 0, 5]))            # doctest: +SKIP
    Array([ 6.,  4., nan], dtype=float32)
    """
    if out is not None:
        raise NotImplementedError(
            "take: the 'out' argument is not supported (arrays are immutable)."
        )
    a = asarray(a)
    indices, index_aval = _integer_indices("take", indices)
    if axis is None:
        a = lax_shapes.reshape(a, (get_aval(a).size,))
        axis = 0
    aval = get_aval(a)
    axis = _normalize_axis("take", axis, aval.ndim)
    size = aval.shape[axis]
    if mode == "raise":
        raise NotImplementedError(
            f"take: mode='raise' is not supported (at {user_location()}); indices cannot be "
            "checked inside compiled code. Use 'fill', 'clip' or 'wrap'."
        )
    if mode == "wrap":
        if size == 0:
            raise IndexError(
                f"take: cannot wrap indices into an empty axis (at {user_location()})."
            )
        if isinstance(indices, np.ndarray):
            indices = np.mod(indices.astype(np.int64), size).astype(_INDEX)
        else:
            remainder = ew.rem(ew.convert_element_type(indices, _INDEX), size)
            indices = ew.select(ew.lt(remainder, 0), ew.add(remainder, size), remainder)
        mode = "clip"
    elif mode not in (None, "fill", "clip"):
        raise ValueError(
            f"take: invalid mode {mode!r} (at {user_location()}); use 'fill', 'clip' or 'wrap'."
        )
    if mode == "clip" and isinstance(indices, np.ndarray):
        indices = np.clip(indices.astype(np.int64), 0, builtins.max(size - 1, 0)).astype(_INDEX)
    elif mode == "clip":
        # clip clamps negative indices to 0 rather than counting them from the end
        indices = ew.convert_element_type(indices, _INDEX)
        indices = ew.max(indices, 0)
    if size == 0 and index_aval.size:
        raise IndexError(
            f"take: cannot take {index_aval.shape} indices from the empty axis {axis} of an "
            f"array of shape {aval.shape} (at {user_location()})."
        )
    index = (builtins.slice(None),) * axis + (indices,)
    return _take(
        a,
        index,
        where="take",
        mode="fill" if mode is None else mode,
        fill_value=fill_value,
        sorted_=indices_are_sorted,
        unique=unique_indices,
    )


@api_boundary
def take_along_axis(arr, indices, axis: int | None = -1, mode=None, fill_value=None):
    """Pick `indices` along `axis`, matching the other axes of `arr` (as np.take_along_axis).

    Out-of-bounds indices follow `mode`: 'fill' (default) or 'clip', as in `take`.

    >>> x = jnp.array([[5, 3, 4], [2, 7, 6]])                          # doctest: +SKIP
    >>> take_along_axis(x, jnp.array([[1], [0]]), axis=1)               # doctest: +SKIP
    Array([[3],
           [2]], dtype=int32)
    """
    arr = asarray(arr)
    indices, index_aval = _integer_indices("take_along_axis", indices)
    if axis is None:
        if index_aval.ndim != 1:
            raise ValueError(
                f"take_along_axis: indices must be 1-D when axis is None, got shape "
                f"{index_aval.shape} (at {user_location()})."
            )
        arr = lax_shapes.reshape(arr, (get_aval(arr).size,))
        axis = 0
    aval = get_aval(arr)
    if index_aval.ndim != aval.ndim:
        raise ValueError(
            f"take_along_axis: indices of shape {index_aval.shape} and arr of shape "
            f"{aval.shape} must have the same number of dimensions (at {user_location()})."
        )
    axis = _normalize_axis("take_along_axis", axis, aval.ndim)
    parsed = _mode(
        "fill" if mode is None else mode, GatherScatterMode.FILL_OR_DROP, "take_along_axis"
    )
    out_shape = []
    for d, (n, m) in enumerate(zip(aval.shape, index_aval.shape)):
        if d == axis:
            out_shape.append(m)
        elif n != m and 1 not in (n, m):
            raise ValueError(
                f"take_along_axis: indices of shape {index_aval.shape} do not broadcast with "
                f"arr of shape {aval.shape} outside axis {axis} (at {user_location()})."
            )
        else:
            out_shape.append(builtins.max(n, m) if 0 not in (n, m) else 0)
    if 0 in out_shape or aval.shape[axis] == 0:
        if aval.shape[axis] == 0 and index_aval.size:
            raise IndexError(
                f"take_along_axis: cannot take indices from the empty axis {axis} (at "
                f"{user_location()})."
            )
        return _zeros(tuple(out_shape), aval)
    # Each axis of arr is one of: the indexed axis (collapsed, index from `indices`), an
    # axis where indices has size 1 (a whole-axis window), an axis where arr has size 1
    # (squeezed away; its index axis is a plain batch axis), or a batching axis pairing
    # arr and indices element by element.
    index_value = _normalized(_ArrayIndex(indices, index_aval.shape), aval.shape[axis])
    squeezed, kept_index_axes = [], []
    offset_dims, collapsed, start_index_map = [], [], []
    operand_batching, index_batching, slice_sizes = [], [], []
    operand_axis = 0
    for d in range(aval.ndim):
        n, m = aval.shape[d], index_aval.shape[d]
        if d == axis:
            start_index_map.append(operand_axis)
            collapsed.append(operand_axis)
            slice_sizes.append(1)
            kept_index_axes.append(d)
        elif m == 1:
            offset_dims.append(d)
            slice_sizes.append(n)
        elif n == 1:
            squeezed.append(d)
            kept_index_axes.append(d)
            continue
        else:
            operand_batching.append(operand_axis)
            index_batching.append(len(kept_index_axes))
            slice_sizes.append(1)
            kept_index_axes.append(d)
        operand_axis += 1
    if squeezed:
        arr = lax_shapes.squeeze(arr, squeezed)
    kept_shape = tuple(index_aval.shape[d] for d in kept_index_axes)
    if isinstance(index_value, np.ndarray):
        index_value = index_value.reshape(*kept_shape, 1)
    else:
        index_value = lax_shapes.reshape(index_value, (*kept_shape, 1))
    numbers = GatherDimensionNumbers(
        offset_dims=tuple(offset_dims),
        collapsed_slice_dims=tuple(collapsed),
        start_index_map=tuple(start_index_map),
        operand_batching_dims=tuple(operand_batching),
        start_indices_batching_dims=tuple(index_batching),
    )
    return lax_indexing.gather(
        arr, index_value, numbers, tuple(slice_sizes), mode=parsed, fill_value=fill_value
    )


# ---------------------------------------------------------------------------------------
# nonzero, argwhere, flatnonzero, ix_


def _inclusive_cumsum(counts, n: int):
    """Running sums of a 1-d int32 array by log2(n) shifted additions (Hillis and Steele)."""
    shift = 1
    while shift < n:
        zeros = np.zeros(shift, _INDEX)
        shifted = lax_shapes.concatenate([zeros, lax_shapes.slice(counts, (0,), (n - shift,))], 0)
        counts = ew.add(counts, shifted)
        shift *= 2
    return counts


def _positions(name: str, a, size: int, fill_value):
    """The (size, ndim) int32 coordinates of the first `size` nonzero elements of `a`, in
    row-major order, padded with `fill_value`; traceable (one scatter)."""
    aval = get_aval(a)
    size = operator.index(size)
    if size < 0:
        raise ValueError(f"{name}: size must be non-negative, got {size} (at {user_location()}).")
    fill = (
        np.zeros(aval.ndim, _INDEX)
        if fill_value is None
        else np.broadcast_to(np.asarray(fill_value), (aval.ndim,)).astype(_INDEX)
    )
    out = np.broadcast_to(fill, (size, aval.ndim)).copy()
    n = aval.size
    if n == 0 or size == 0:
        return asarray(out.astype(_default_int()))
    flat = lax_shapes.reshape(ew.ne(a, False if aval.dtype.kind == "b" else 0), (n,))
    counts = _inclusive_cumsum(ew.convert_element_type(flat, _INDEX), n)
    target = ew.select(flat, ew.sub(counts, 1), np.full(n, size, _INDEX))  # size: dropped
    coordinates = np.indices(aval.shape).reshape(aval.ndim, n).T.astype(_INDEX)
    positions = lax_indexing.scatter(
        out,
        lax_shapes.reshape(target, (n, 1)),
        coordinates,
        ScatterDimensionNumbers(
            update_window_dims=(1,), inserted_window_dims=(0,), scatter_dims_to_operand_dims=(0,)
        ),
        mode="drop",
    )
    if _default_int() != _INDEX:
        positions = ew.convert_element_type(positions, _default_int())
    return positions


def _concrete(name: str, a, what: str):
    if isinstance(a, Tracer):
        raise ConcretizationTypeError(
            f"{name}: the number of {what} of a traced array {a.aval.str_short()} is not known "
            f"while tracing (at {user_location()}). Pass size=n (and optionally fill_value=) "
            "to get a fixed number of results."
        )
    return np.asarray(a)


@api_boundary
def nonzero(a, *, size: int | None = None, fill_value=None):
    """Indices of the nonzero elements, one int32 array per axis.

    Under tracing the count must be fixed with `size`: the first `size` positions are
    returned, padded with `fill_value` (0 by default, or one value per axis).

    >>> nonzero(jnp.array([0, 3, 0, 5]))                                # doctest: +SKIP
    (Array([1, 3], dtype=int32),)
    """
    aval = get_aval(a) if isinstance(a, (Array, Tracer)) else get_aval(np.asarray(a))
    if aval.ndim == 0:
        raise ValueError(
            f"nonzero: calling nonzero on 0-d arrays is not allowed (at {user_location()}); "
            "use jnp.atleast_1d(x).nonzero() instead."
        )
    if size is None:
        host = _concrete("nonzero", a, "nonzero elements")
        return tuple(asarray(p.astype(_default_int())) for p in np.nonzero(host))
    positions = _positions("nonzero", asarray(a), size, fill_value)
    return tuple(positions[:, d] for d in range(aval.ndim))


@api_boundary
def argwhere(a, *, size: int | None = None, fill_value=None):
    """The (count, ndim) int32 coordinates of the nonzero elements, one row each.

    >>> argwhere(jnp.array([[0, 1], [2, 0]]))                           # doctest: +SKIP
    Array([[0, 1],
           [1, 0]], dtype=int32)
    """
    a = a if isinstance(a, (Array, Tracer)) else asarray(a)
    aval = get_aval(a)
    if aval.ndim == 0:
        rows = argwhere(lax_shapes.reshape(a, (1,)), size=size, fill_value=fill_value)
        return rows[:, :0]
    if size is None:
        host = _concrete("argwhere", a, "nonzero elements")
        return asarray(np.argwhere(host).astype(_default_int()).reshape(-1, aval.ndim))
    return _positions("argwhere", a, size, fill_value)


@api_boundary
def flatnonzero(a, *, size: int | None = None, fill_value=None):
    """Indices of the nonzero elements of the flattened array.

    >>> flatnonzero(jnp.array([[0, 1], [2, 0]]))                        # doctest: +SKIP
    Array([1, 2], dtype=int32)
    """
    a = a if isinstance(a, (Array, Tracer)) else asarray(a)
    flat = lax_shapes.reshape(a, (get_aval(a).size,))
    return nonzero(flat, size=size, fill_value=fill_value)[0]


@api_boundary
def ix_(*args):
    """Open-mesh index arrays: `x[ix_(rows, cols)]` picks the rows x cols sub-array.

    >>> x[ix_([0, 2], [1])]                                             # doctest: +SKIP
    """
    out = []
    for k, arg in enumerate(args):
        if isinstance(arg, Tracer):
            if arg.aval.dtype.kind == "b":
                raise _mask_error("ix_", arg.aval)
            value, shape = arg, arg.aval.shape
        elif isinstance(arg, Array) and arg.dtype.kind != "b":
            value, shape = arg, arg.shape
        else:
            host = _static_array(arg, "ix_")
            if host.dtype.kind == "b" and host.ndim == 1:
                host = np.nonzero(host)[0].astype(_INDEX)
            value, shape = asarray(host), host.shape
        if len(shape) != 1:
            raise ValueError(
                f"ix_: argument {k} must be 1-dimensional, got shape {shape} (at "
                f"{user_location()})."
            )
        target = [1] * len(args)
        target[k] = shape[0]
        out.append(lax_shapes.reshape(value, target))
    return tuple(out)


def _setitem(self, idx, value):
    raise setitem_error()


def _len(self) -> int:
    if not self.aval.shape:
        raise TypeError("len() of unsized object (a 0-d array)")
    return self.aval.shape[0]


def _iter(self):
    # Iteration is indexing along the first axis, so it works on tracers too.
    if not self.aval.shape:
        raise TypeError("iteration over a 0-d array")
    return (self[i] for i in range(self.aval.shape[0]))


ARRAY_METHODS = {
    "__len__": _len,
    "__iter__": _iter,
    "__getitem__": api_boundary(getitem),
    "__setitem__": _setitem,
    "at": property(_IndexUpdateHelper),
    "nonzero": lambda self, *, size=None, fill_value=None: nonzero(
        self, size=size, fill_value=fill_value
    ),
    "take": lambda self, indices, axis=None, mode=None, fill_value=None: take(
        self, indices, axis=axis, mode=mode, fill_value=fill_value
    ),
}
