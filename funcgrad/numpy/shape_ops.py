"""Shape manipulation with NumPy's conventions: reshaping and axis moves, joining and
splitting, repeating and tiling, flipping and rolling, padding, diagonals and triangles.

Everything lowers to the lax shape primitives (reshape, transpose, broadcast_in_dim,
slice, rev, concatenate, pad, iota) plus elementwise selects, so it traces and
transforms like any other funcgrad code. Sizes, axes, split points and pad widths are
static, as in JAX; the few values that may be traced (roll's shift, repeat's counts
with `total_repeat_length`, the fill of `pad`) say so in their docstrings.
"""

from __future__ import annotations

import builtins
import itertools

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.errors import ConcretizationTypeError
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions as lax_reductions
from funcgrad.lax import shapes as lax_shapes
from funcgrad.numpy import promotion
from funcgrad.numpy.creation import asarray, band_mask, cast, filled, static_int, zeros
from funcgrad.numpy.reductions import sum as _sum
from funcgrad.runtime.array import Array

__all__ = [
    "reshape",
    "ravel",
    "transpose",
    "swapaxes",
    "moveaxis",
    "broadcast_to",
    "broadcast_arrays",
    "broadcast_shapes",
    "expand_dims",
    "squeeze",
    "atleast_1d",
    "atleast_2d",
    "atleast_3d",
    "ndim",
    "shape",
    "size",
    "concatenate",
    "stack",
    "hstack",
    "vstack",
    "dstack",
    "column_stack",
    "append",
    "block",
    "split",
    "array_split",
    "hsplit",
    "vsplit",
    "dsplit",
    "tile",
    "repeat",
    "resize",
    "flip",
    "fliplr",
    "flipud",
    "roll",
    "rot90",
    "pad",
    "diag",
    "diagflat",
    "diagonal",
    "trace",
    "tril",
    "triu",
]


# ---------------------------------------------------------------------------------------
# Axes


def _normalize_axis(name: str, axis, ndim: int) -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer, Tracer)):
        raise TypeError(
            f"{name}: axis must be an integer, got {type(axis).__name__} {axis!r} "
            f"(at {user_location()})."
        )
    axis = static_int(name, "axis", axis)
    if not -ndim <= axis < ndim:
        raise np.exceptions.AxisError(
            f"{name}: axis {axis} is out of bounds for an array of dimension {ndim} "
            f"(at {user_location()}). Use an axis in [{-ndim}, {ndim})."
        )
    return axis % ndim


def _normalize_axes(name: str, axes, ndim: int) -> tuple[int, ...]:
    axes = axes if isinstance(axes, (tuple, list)) else (axes,)
    out = tuple(_normalize_axis(name, a, ndim) for a in axes)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: repeated axis in {tuple(axes)} (at {user_location()}).")
    return out


def _int_tuple(name: str, what: str, value) -> tuple[int, ...]:
    """An int or a sequence of ints (a shape, reps, ...) as a tuple of static Python ints."""
    if isinstance(value, (Array, Tracer)) and not get_aval(value).shape:
        value = (value,)
    elif isinstance(value, (int, np.integer)):
        value = (value,)
    return tuple(static_int(name, what, n) for n in value)


def _shape_of(x) -> tuple[int, ...]:
    return get_aval(x).shape


# ---------------------------------------------------------------------------------------
# Reshaping and moving axes


def _resolve_shape(size: int, shape) -> tuple[int, ...]:
    shape = _int_tuple("reshape", "every size in the new shape", shape)
    unknown = [i for i, n in enumerate(shape) if n == -1]
    if len(unknown) > 1 or builtins.any(n < -1 for n in shape):
        raise ValueError(
            f"reshape: can only specify one unknown dimension (-1), and no other negative "
            f"sizes, got {shape} (at {user_location()})."
        )
    if unknown:
        known = int(np.prod([n for n in shape if n != -1], dtype=np.int64))
        if known == 0 or size % known:
            raise ValueError(
                f"reshape: cannot reshape array of size {size} into shape {shape} "
                f"(at {user_location()})."
            )
        shape = tuple(size // known if n == -1 else n for n in shape)
    if int(np.prod(shape, dtype=np.int64)) != size:
        raise ValueError(
            f"reshape: cannot reshape array of size {size} into shape {shape} "
            f"(at {user_location()}). The number of elements must stay the same."
        )
    return shape


def _check_order(name: str, order: str) -> None:
    if order == "A":
        raise NotImplementedError(
            f"{name}: order='A' is not implemented (at {user_location()}); use 'C' or 'F'."
        )
    if order not in ("C", "F"):
        raise ValueError(f"{name}: order must be 'C' or 'F', got {order!r} (at {user_location()}).")


def _reversed_axes(x):
    ndim = get_aval(x).ndim
    return x if ndim < 2 else lax_shapes.transpose(x, tuple(reversed(range(ndim))))


@api_boundary
def reshape(a, shape=None, order: str = "C", *, newshape=None, copy=None):
    """`a` with a new shape of the same size; one entry may be -1.

    order='F' reads and writes elements in column-major order (through transposes).

    >>> reshape(jnp.arange(6), (2, -1)).shape
    (2, 3)
    """
    if shape is None:
        shape = newshape
    if shape is None:
        raise TypeError(f"reshape: the new shape is missing (at {user_location()}).")
    _check_order("reshape", order)
    a = asarray(a)
    aval = get_aval(a)
    shape = _resolve_shape(aval.size, shape)
    if order == "F":
        # Column-major reshape = reverse the axes, reshape to the reversed shape, reverse back.
        flat = lax_shapes.reshape(_reversed_axes(a), tuple(reversed(shape)))
        return _reversed_axes(flat)
    return a if shape == aval.shape else lax_shapes.reshape(a, shape)


@api_boundary
def ravel(a, order: str = "C"):
    """The elements as a 1-d array, in row-major (or, with order='F', column-major) order.

    >>> ravel(jnp.ones((2, 3))).shape
    (6,)
    """
    _check_order("ravel", order)
    a = asarray(a)
    if order == "F":
        a = _reversed_axes(a)
    return reshape(a, (get_aval(a).size,))


@api_boundary
def transpose(a, axes=None):
    """Permute the axes (reverse them when `axes` is None).

    >>> transpose(jnp.ones((2, 3, 4)), (1, 2, 0)).shape
    (3, 4, 2)
    """
    a = asarray(a)
    ndim = get_aval(a).ndim
    if axes is None:
        axes = tuple(reversed(range(ndim)))
    axes = tuple(axes)
    if len(axes) != ndim:
        raise ValueError(
            f"transpose: axes {axes} don't match an array of dimension {ndim} "
            f"(at {user_location()})."
        )
    perm = _normalize_axes("transpose", axes, ndim)
    return a if perm == tuple(range(ndim)) else lax_shapes.transpose(a, perm)


@api_boundary
def swapaxes(a, axis1: int, axis2: int):
    """`a` with axes axis1 and axis2 exchanged.

    >>> swapaxes(jnp.ones((2, 3, 4)), 0, 2).shape
    (4, 3, 2)
    """
    a = asarray(a)
    ndim = get_aval(a).ndim
    perm = list(range(ndim))
    i, j = _normalize_axis("swapaxes", axis1, ndim), _normalize_axis("swapaxes", axis2, ndim)
    perm[i], perm[j] = j, i
    return a if i == j else lax_shapes.transpose(a, perm)


@api_boundary
def moveaxis(a, source, destination):
    """Move axes `source` to positions `destination` (ints or sequences of equal length).

    >>> moveaxis(jnp.ones((2, 3, 4)), 0, -1).shape
    (3, 4, 2)
    """
    a = asarray(a)
    ndim = get_aval(a).ndim
    src = _normalize_axes("moveaxis", source, ndim)
    dst = _normalize_axes("moveaxis", destination, ndim)
    if len(src) != len(dst):
        raise ValueError(
            f"moveaxis: source {source} and destination {destination} must have the same "
            f"number of elements (at {user_location()})."
        )
    rest = [i for i in range(ndim) if i not in src]
    perm = [None] * ndim
    for s, d in zip(src, dst):
        perm[d] = s
    fill = iter(rest)
    perm = [p if p is not None else next(fill) for p in perm]
    return a if perm == list(range(ndim)) else lax_shapes.transpose(a, perm)


@api_boundary
def broadcast_to(array, shape):
    """Broadcast to `shape` by NumPy's rules.

    >>> broadcast_to(jnp.ones(3), (2, 3)).shape
    (2, 3)
    """
    array = asarray(array)
    shape = _int_tuple("broadcast_to", "every size in shape", shape)
    if builtins.any(n < 0 for n in shape):
        raise ValueError(
            f"broadcast_to: negative dimensions are not allowed, got {shape} "
            f"(at {user_location()})."
        )
    aval = get_aval(array)
    if (
        aval.ndim > len(shape)
        or promotion.broadcast_shapes("broadcast_to", aval.shape, shape) != shape
    ):
        raise ValueError(
            f"broadcast_to: cannot broadcast shape {aval.shape} to {shape} (at {user_location()})."
        )
    return promotion.broadcast_to_shape(array, shape)


@api_boundary
def broadcast_shapes(*shapes) -> tuple[int, ...]:
    """The shape NumPy's broadcasting gives `shapes` (ints count as 1-d shapes).

    >>> broadcast_shapes((2, 1), (3,))
    (2, 3)
    """
    shapes = [
        (s,) if isinstance(s, (int, np.integer)) else tuple(int(n) for n in s) for s in shapes
    ]
    return promotion.broadcast_shapes("broadcast_shapes", *shapes)


@api_boundary
def broadcast_arrays(*args) -> list:
    """The arguments broadcast to their common shape (dtypes unchanged).

    >>> [x.shape for x in broadcast_arrays(jnp.ones(3), jnp.ones((2, 1)))]
    [(2, 3), (2, 3)]
    """
    arrays = [asarray(a) for a in args]
    return promotion.broadcast_arrays("broadcast_arrays", *arrays)


@api_boundary
def expand_dims(a, axis):
    """Insert size-1 axes at the positions `axis` (an int or tuple) of the result.

    >>> expand_dims(jnp.ones(3), (0, -1)).shape
    (1, 3, 1)
    """
    a = asarray(a)
    aval = get_aval(a)
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    new = _normalize_axes("expand_dims", axes, aval.ndim + len(axes))
    return lax_shapes.expand_dims(a, new)


@api_boundary
def squeeze(a, axis=None):
    """Remove size-1 axes (all of them, or those named by `axis`).

    >>> squeeze(jnp.ones((1, 3, 1))).shape
    (3,)
    """
    a = asarray(a)
    aval = get_aval(a)
    if axis is None:
        dims = [i for i, n in enumerate(aval.shape) if n == 1]
    else:
        dims = _normalize_axes("squeeze", axis, aval.ndim)
        if builtins.any(aval.shape[d] != 1 for d in dims):
            raise ValueError(
                f"squeeze: cannot select an axis to squeeze out which has size not "
                f"equal to one; shape {aval.shape}, axis {axis} (at {user_location()})."
            )
    return lax_shapes.squeeze(a, dims) if dims else a


def _atleast(name: str, ndmin: int, arys):
    out = []
    for x in arys:
        x = asarray(x)
        shape = _shape_of(x)
        if len(shape) < ndmin:
            if ndmin == 3 and len(shape) == 1:
                shape = (1, shape[0], 1)
            elif ndmin == 3 and len(shape) == 2:
                shape = (*shape, 1)
            else:
                shape = (1,) * (ndmin - len(shape)) + shape
            x = lax_shapes.reshape(x, shape)
        out.append(x)
    return out[0] if len(out) == 1 else out


@api_boundary
def atleast_1d(*arys):
    """Each input as an array of rank >= 1 (a list when there are several).

    >>> atleast_1d(2.0).shape
    (1,)
    """
    return _atleast("atleast_1d", 1, arys)


@api_boundary
def atleast_2d(*arys):
    """Each input with rank >= 2; 1-d arrays become rows (1, n)."""
    return _atleast("atleast_2d", 2, arys)


@api_boundary
def atleast_3d(*arys):
    """Each input with rank >= 3; (n,) becomes (1, n, 1) and (m, n) becomes (m, n, 1)."""
    return _atleast("atleast_3d", 3, arys)


@api_boundary
def ndim(a) -> int:
    """The number of axes of `a` (an array, scalar or nested list)."""
    return get_aval(a).ndim if isinstance(a, (Array, Tracer)) else np.ndim(a)


@api_boundary
def shape(a) -> tuple[int, ...]:
    """The shape of `a` (an array, scalar or nested list)."""
    return get_aval(a).shape if isinstance(a, (Array, Tracer)) else np.shape(a)


@api_boundary
def size(a, axis=None) -> int:
    """The number of elements of `a`, or the length of `axis`."""
    dims = shape(a)
    if axis is None:
        return int(np.prod(dims, dtype=np.int64))
    return dims[_normalize_axis("size", axis, len(dims))]


# ---------------------------------------------------------------------------------------
# Joining


def _sequence(name: str, arrays) -> list:
    if isinstance(arrays, (Array, Tracer, np.ndarray)):
        return [asarray(row) for row in arrays]  # an array joins its rows, as in JAX
    try:
        arrays = list(arrays)
    except TypeError:
        raise TypeError(
            f"{name}: expected a sequence of arrays, got {type(arrays).__name__} "
            f"(at {user_location()})."
        ) from None
    return [asarray(a) for a in arrays]


def _promoted(name: str, arrays: list, dtype):
    if dtype is not None:
        dtype = dtypes.canonicalize_dtype(dtypes.check_dtype(dtype, f"{name}: "))
        return [cast(a, dtype) for a in arrays]
    return promotion.promote_dtypes(*arrays)


def _concatenate(name: str, arrays: list, axis: int):
    shapes = [_shape_of(a) for a in arrays]
    ndim = len(shapes[0])
    if ndim == 0:
        raise ValueError(
            f"{name}: zero-dimensional arrays cannot be concatenated (at {user_location()}); "
            "use jnp.stack, or make them 1-d with jnp.atleast_1d."
        )
    axis = _normalize_axis(name, axis, ndim)
    for index, s in enumerate(shapes):
        if len(s) != ndim:
            raise ValueError(
                f"{name}: all the input arrays must have the same number of dimensions, but "
                f"the array at index 0 has shape {shapes[0]} and the array at index {index} "
                f"has shape {s} (at {user_location()})."
            )
        for d in range(ndim):
            if d != axis and s[d] != shapes[0][d]:
                raise ValueError(
                    f"{name}: all the input array dimensions except for the concatenation "
                    f"axis {axis} must match exactly, but along dimension {d} the array at "
                    f"index 0 has shape {shapes[0]} and the array at index {index} has shape "
                    f"{s} (at {user_location()})."
                )
    return arrays[0] if len(arrays) == 1 else lax_shapes.concatenate(arrays, axis)


def _need_some(name: str, arrays: list) -> None:
    if not arrays:
        raise ValueError(f"{name}: need at least one array to join (at {user_location()}).")


@api_boundary
def concatenate(arrays, axis: int | None = 0, dtype=None):
    """Join arrays along an existing axis (flattening them first when `axis` is None),
    promoting their dtypes.

    >>> concatenate([jnp.ones(2), jnp.zeros(3)]).shape
    (5,)
    """
    arrays = _sequence("concatenate", arrays)
    _need_some("concatenate", arrays)
    if axis is None:
        arrays = [ravel(a) for a in arrays]
        axis = 0
    return _concatenate("concatenate", _promoted("concatenate", arrays, dtype), axis)


@api_boundary
def stack(arrays, axis: int = 0, dtype=None):
    """Join arrays of one shape along a new axis.

    >>> stack([jnp.ones(3), jnp.zeros(3)], axis=1).shape
    (3, 2)
    """
    arrays = _sequence("stack", arrays)
    _need_some("stack", arrays)
    shapes = [_shape_of(a) for a in arrays]
    if builtins.any(s != shapes[0] for s in shapes):
        raise ValueError(
            f"stack: all input arrays must have the same shape, got shapes "
            f"{', '.join(map(str, shapes))} (at {user_location()})."
        )
    axis = _normalize_axis("stack", axis, len(shapes[0]) + 1)
    arrays = [lax_shapes.expand_dims(a, (axis,)) for a in _promoted("stack", arrays, dtype)]
    return arrays[0] if len(arrays) == 1 else lax_shapes.concatenate(arrays, axis)


@api_boundary
def hstack(tup, dtype=None):
    """Join horizontally: along axis 1, or axis 0 for 1-d arrays.

    >>> hstack([jnp.ones(2), jnp.ones(3)]).shape
    (5,)
    """
    arrays = _sequence("hstack", tup)
    _need_some("hstack", arrays)
    arrays = [atleast_1d(a) for a in arrays]
    axis = 0 if _shape_of(arrays[0]) and len(_shape_of(arrays[0])) == 1 else 1
    return _concatenate("hstack", _promoted("hstack", arrays, dtype), axis)


@api_boundary
def vstack(tup, dtype=None):
    """Join vertically (along axis 0), 1-d arrays as rows.

    >>> vstack([jnp.ones(3), jnp.ones(3)]).shape
    (2, 3)
    """
    arrays = _sequence("vstack", tup)
    _need_some("vstack", arrays)
    arrays = [atleast_2d(a) for a in arrays]
    return _concatenate("vstack", _promoted("vstack", arrays, dtype), 0)


@api_boundary
def dstack(tup, dtype=None):
    """Join along the third axis, after making each input at least 3-d.

    >>> dstack([jnp.ones(3), jnp.ones(3)]).shape
    (1, 3, 2)
    """
    arrays = _sequence("dstack", tup)
    _need_some("dstack", arrays)
    arrays = [atleast_3d(a) for a in arrays]
    return _concatenate("dstack", _promoted("dstack", arrays, dtype), 2)


@api_boundary
def column_stack(tup):
    """Join 1-d arrays as columns of a 2-d array (2-d inputs join along axis 1).

    >>> column_stack([jnp.ones(3), jnp.zeros(3)]).shape
    (3, 2)
    """
    arrays = _sequence("column_stack", tup)
    _need_some("column_stack", arrays)
    columns = []
    for a in arrays:
        s = _shape_of(a)
        columns.append(
            lax_shapes.reshape(a, (builtins.max(1, s[0] if s else 1), 1)) if len(s) < 2 else a
        )
    return _concatenate("column_stack", _promoted("column_stack", columns, None), 1)


@api_boundary
def append(arr, values, axis: int | None = None):
    """`arr` with `values` appended along `axis` (both flattened when `axis` is None).

    >>> append(jnp.ones(2), 3.0).shape
    (3,)
    """
    if axis is None:
        return concatenate([ravel(arr), ravel(values)], 0)
    return concatenate([arr, values], axis)


def _block_depth(name: str, arrays, path=()) -> tuple[int, int]:
    """(list depth, largest leaf rank); a ValueError when the nesting is uneven."""
    if isinstance(arrays, tuple):
        raise TypeError(f"{name}: nested tuples are not allowed, use lists (at {user_location()}).")
    if not isinstance(arrays, list):
        return len(path), ndim(arrays)
    if not arrays:
        raise ValueError(f"{name}: list at index {list(path)} is empty (at {user_location()}).")
    found = [_block_depth(name, item, path + (i,)) for i, item in enumerate(arrays)]
    depths = {depth for depth, _ in found}
    if len(depths) > 1:
        raise ValueError(
            f"{name}: list depths are mismatched inside the list at index {list(path)}; "
            f"every leaf must sit at one depth (at {user_location()})."
        )
    return depths.pop(), builtins.max(rank for _, rank in found)


@api_boundary
def block(arrays):
    """Assemble an array from nested lists of blocks: the innermost lists join along the
    last axis, the next ones out along the one before, and so on.

    >>> block([[jnp.ones((2, 2)), jnp.zeros((2, 1))]]).shape
    (2, 3)
    """
    depth, rank = _block_depth("block", arrays)
    out_ndim = builtins.max(depth, rank)

    def assemble(item, level):
        if level == depth:
            x = asarray(item)
            s = _shape_of(x)
            return lax_shapes.reshape(x, (1,) * (out_ndim - len(s)) + s) if len(s) < out_ndim else x
        parts = promotion.promote_dtypes(*(assemble(p, level + 1) for p in item))
        return _concatenate("block", parts, level - depth)

    return assemble(arrays, 0)


# ---------------------------------------------------------------------------------------
# Splitting


def _split_points(name: str, indices_or_sections, length: int, even: bool) -> list[int]:
    if isinstance(indices_or_sections, (int, np.integer)) or (
        isinstance(indices_or_sections, (Array, Tracer)) and not _shape_of(indices_or_sections)
    ):
        sections = static_int(name, "the number of sections", indices_or_sections)
        if sections <= 0:
            raise ValueError(
                f"{name}: number of sections must be larger than 0, got {sections} "
                f"(at {user_location()})."
            )
        if even and length % sections:
            raise ValueError(
                f"{name}: array split does not result in an equal division: an axis of "
                f"length {length} into {sections} sections (at {user_location()}). Use "
                "jnp.array_split for unequal sections, or give split points."
            )
        base, extra = divmod(length, sections)
        sizes = [base + 1] * extra + [base] * (sections - extra)
        return list(itertools.accumulate(sizes))[:-1]
    if isinstance(indices_or_sections, Tracer):
        static_int(name, "the split points", indices_or_sections)
    points = np.asarray(indices_or_sections)
    if points.ndim != 1 or (points.size and points.dtype.kind not in "iu"):
        raise TypeError(
            f"{name}: indices_or_sections must be an int or a 1-d sequence of ints, got "
            f"{indices_or_sections!r} (at {user_location()})."
        )
    return [int(p) for p in points]


def _split(name: str, ary, indices_or_sections, axis: int, even: bool) -> list:
    ary = asarray(ary)
    aval = get_aval(ary)
    axis = _normalize_axis(name, axis, aval.ndim)
    length = aval.shape[axis]
    points = _split_points(name, indices_or_sections, length, even)
    bounds = []
    for p in points:
        # Python slice semantics: negative points count from the end, all clip to the axis.
        bounds.append(builtins.slice(p, None).indices(length)[0])
    starts = [0, *bounds]
    limits = [*bounds, length]
    out = []
    for start, limit in zip(starts, limits):
        limit = builtins.max(start, limit)
        lo = [0] * aval.ndim
        hi = list(aval.shape)
        lo[axis], hi[axis] = start, limit
        out.append(ary if (start, limit) == (0, length) else lax_shapes.slice(ary, lo, hi))
    return out


@api_boundary
def split(ary, indices_or_sections, axis: int = 0) -> list:
    """Split into equal sections (an int) or at the given indices along `axis`.

    >>> [p.shape for p in split(jnp.arange(6), 3)]
    [(2,), (2,), (2,)]
    """
    return _split("split", ary, indices_or_sections, axis, even=True)


@api_boundary
def array_split(ary, indices_or_sections, axis: int = 0) -> list:
    """Like `split`, but an int need not divide the axis: the first sections get one more.

    >>> [p.shape for p in array_split(jnp.arange(5), 3)]
    [(2,), (2,), (1,)]
    """
    return _split("array_split", ary, indices_or_sections, axis, even=False)


def _split_needing_rank(name: str, ary, indices_or_sections, axis: int, rank: int) -> list:
    ary = asarray(ary)
    if get_aval(ary).ndim < rank:
        raise ValueError(
            f"{name}: only works on arrays of {rank} or more dimensions, got shape "
            f"{_shape_of(ary)} (at {user_location()})."
        )
    return _split(name, ary, indices_or_sections, axis, even=True)


@api_boundary
def hsplit(ary, indices_or_sections) -> list:
    """`split` along axis 1 (axis 0 for 1-d arrays)."""
    axis = 0 if get_aval(asarray(ary)).ndim == 1 else 1
    return _split_needing_rank("hsplit", ary, indices_or_sections, axis, 1)


@api_boundary
def vsplit(ary, indices_or_sections) -> list:
    """`split` along axis 0 of an array of rank >= 2."""
    return _split_needing_rank("vsplit", ary, indices_or_sections, 0, 2)


@api_boundary
def dsplit(ary, indices_or_sections) -> list:
    """`split` along axis 2 of an array of rank >= 3."""
    return _split_needing_rank("dsplit", ary, indices_or_sections, 2, 3)


# ---------------------------------------------------------------------------------------
# Repeating


@api_boundary
def tile(A, reps):
    """`A` repeated `reps` times along each axis (one broadcast and one reshape).

    >>> tile(jnp.arange(2), (2, 3)).shape
    (2, 6)
    """
    A = asarray(A)
    reps = _int_tuple("tile", "every entry of reps", reps)
    if builtins.any(r < 0 for r in reps):
        raise ValueError(f"tile: reps {reps} must be non-negative (at {user_location()}).")
    s = _shape_of(A)
    ndim = builtins.max(len(s), len(reps))
    s = (1,) * (ndim - len(s)) + s
    reps = (1,) * (ndim - len(reps)) + reps
    # Interleave a repeat axis before every axis: (r0, d0, r1, d1, ...), then merge pairs.
    interleaved = [n for pair in zip(reps, s) for n in pair]
    out = lax_shapes.broadcast_in_dim(
        lax_shapes.reshape(A, s), interleaved, tuple(range(1, 2 * ndim, 2))
    )
    return lax_shapes.reshape(out, tuple(r * n for r, n in zip(reps, s)))


def _lowest(dtype: np.dtype):
    if dtypes.dtype_kind(dtype) == "b":
        return False
    return int(np.iinfo(dtype).min) if dtypes.is_integer(dtype) else -float("inf")


def _one_hot_take(x, positions, axis: int):
    """x's entries at `positions` (int32[k], in range) along `axis`, by selecting with a
    one-hot mask and reducing: no gather needed, at O(k * n) work."""
    x = moveaxis(x, axis, 0)
    aval = get_aval(x)
    n, rest = aval.shape[0], aval.shape[1:]
    k = _shape_of(positions)[0]
    full = (k, n, *rest)
    which = lax_shapes.broadcast_in_dim(positions, full, (0,))
    hot = ew.eq(which, lax_shapes.broadcasted_iota(np.int32, full, 1))
    spread = lax_shapes.broadcast_in_dim(x, full, tuple(range(1, len(full))))
    if dtypes.dtype_kind(aval.dtype) == "c":
        picked = lax_reductions.reduce_sum(
            ew.select(hot, spread, filled(full, 0, aval.dtype)), (1,)
        )
    else:
        filler = lax_shapes.broadcast_in_dim(cast(_lowest(aval.dtype), aval.dtype), full, ())
        picked = lax_reductions.reduce_max(ew.select(hot, spread, filler), (1,))
    if aval.weak_type != get_aval(picked).weak_type:
        picked = cast(picked, aval.dtype, aval.weak_type)
    return moveaxis(picked, 0, axis)


def _traced_repeat(x, repeats, axis: int, total: int):
    """repeat with traced counts: output position p takes element k(p), the number of
    elements whose run ends at or before p (clamped to the last element)."""
    n = _shape_of(x)[axis]
    counts = cast(promotion.broadcast_to_shape(repeats, (n,)), np.dtype(np.int32))
    before = band_mask("repeat", n, n, 0, ew.le)  # [i, j]: j <= i
    spread = lax_shapes.broadcast_in_dim(counts, (n, n), (1,))
    ends = lax_reductions.reduce_sum(
        ew.select(before, spread, filled((n, n), 0, np.dtype(np.int32))), (1,)
    )
    position = lax_shapes.broadcasted_iota(np.int32, (total, n), 0)
    ended = ew.le(lax_shapes.broadcast_in_dim(ends, (total, n), (1,)), position)
    index = lax_reductions.reduce_sum(cast(ended, np.dtype(np.int32)), (1,))
    last = filled((total,), n - 1, np.dtype(np.int32))
    index = ew.select(ew.lt(index, last), index, last)
    return _one_hot_take(x, index, axis)


@api_boundary
def repeat(a, repeats, axis: int | None = None, *, total_repeat_length: int | None = None):
    """Repeat each element `repeats` times (a scalar or one count per element) along `axis`
    (of the flattened array when `axis` is None).

    Traced counts need `total_repeat_length`, the static length of the result: longer
    results are cut, shorter ones repeat the last element, as in JAX.

    >>> repeat(jnp.arange(3), jnp.array([1, 0, 2]))
    Array([0, 2, 2], dtype=int32)
    """
    a = asarray(a)
    if axis is None:
        a, axis = ravel(a), 0
    axis = _normalize_axis("repeat", axis, get_aval(a).ndim)
    n = _shape_of(a)[axis]
    if total_repeat_length is not None:
        total_repeat_length = static_int("repeat", "total_repeat_length", total_repeat_length)
    if isinstance(repeats, Tracer):
        if total_repeat_length is None:
            raise ConcretizationTypeError(
                f"repeat: repeats is a traced array {repeats.aval.str_short()} (at "
                f"{user_location()}); the length of the result depends on its values. Pass "
                "total_repeat_length=<static length>, or make repeats static."
            )
        if _shape_of(repeats) not in ((), (1,), (n,)):
            raise ValueError(
                f"repeat: repeats of shape {_shape_of(repeats)} must be a scalar or have one "
                f"count per element ({n}) (at {user_location()})."
            )
        if n == 0:
            return zeros(
                tuple(total_repeat_length if d == axis else s for d, s in enumerate(_shape_of(a))),
                get_aval(a).dtype,
            )
        return _traced_repeat(a, repeats, axis, total_repeat_length)
    counts = np.asarray(repeats)
    if counts.dtype.kind not in "iub" and counts.size:
        raise TypeError(f"repeat: repeats must be integers, got {counts!r} (at {user_location()}).")
    counts = counts.astype(np.int64)
    if np.any(counts < 0):
        raise ValueError(
            f"repeat: repeats may not be negative, got {repeats} (at {user_location()})."
        )
    if counts.ndim > 1 or counts.size not in (1, n):
        raise ValueError(
            f"repeat: repeats of shape {counts.shape} must be a scalar or have one count per "
            f"element ({n}) along axis {axis} (at {user_location()})."
        )
    shape = list(_shape_of(a))
    if counts.size == 1:
        r = int(counts.reshape(()))
        spread = list(shape)
        spread.insert(axis + 1, r)
        out = lax_shapes.broadcast_in_dim(
            a, spread, tuple(d for d in range(len(spread)) if d != axis + 1)
        )
        shape[axis] = n * r
        out = lax_shapes.reshape(out, shape)
    else:
        runs = []
        for i, r in enumerate(counts.tolist()):
            if r:
                part = _split("repeat", a, [i, i + 1], axis, even=False)[1]
                runs.append(part if r == 1 else repeat(part, r, axis))
        shape[axis] = 0
        out = _concatenate("repeat", runs, axis) if runs else zeros(shape, get_aval(a).dtype)
    if total_repeat_length is None:
        return out
    return _fit_length(out, a, axis, total_repeat_length)


def _fit_length(out, a, axis: int, length: int):
    """`out` cut to `length` along `axis`, or extended with copies of a's last element
    there (JAX's rule for a total_repeat_length beyond the sum of the counts)."""
    have = _shape_of(out)[axis]
    if have >= length:
        return _split("repeat", out, [length], axis, even=False)[0]
    n = _shape_of(a)[axis]
    if n == 0:
        shape = tuple(length if d == axis else s for d, s in enumerate(_shape_of(a)))
        return zeros(shape, get_aval(a).dtype)
    last = _split("repeat", a, [n - 1], axis, even=False)[1]
    return _concatenate("repeat", [out, repeat(last, length - have, axis)], axis)


@api_boundary
def resize(a, new_shape):
    """An array of `new_shape` filled with `a`'s elements in order, repeated as needed.

    >>> resize(jnp.arange(3), (2, 4))
    Array([[0, 1, 2, 0],
           [1, 2, 0, 1]], dtype=int32)
    """
    a = ravel(a)
    new_shape = _int_tuple("resize", "every size in new_shape", new_shape)
    if builtins.any(n < 0 for n in new_shape):
        raise ValueError(
            f"resize: all elements of new_shape must be non-negative, got {new_shape} "
            f"(at {user_location()})."
        )
    total = int(np.prod(new_shape, dtype=np.int64))
    n = _shape_of(a)[0]
    if n == 0 or total == 0:
        return zeros(new_shape, get_aval(a).dtype)
    flat = tile(a, -(-total // n))
    return lax_shapes.reshape(lax_shapes.slice(flat, (0,), (total,)), new_shape)


# ---------------------------------------------------------------------------------------
# Flipping and rolling


@api_boundary
def flip(m, axis=None):
    """Reverse the order of elements along `axis` (all axes when None).

    >>> flip(jnp.arange(3))
    Array([2, 1, 0], dtype=int32)
    """
    m = asarray(m)
    ndim = get_aval(m).ndim
    axes = tuple(range(ndim)) if axis is None else _normalize_axes("flip", axis, ndim)
    return lax_shapes.rev(m, axes) if axes else m


@api_boundary
def fliplr(m):
    """Reverse the columns (axis 1) of an array of rank >= 2."""
    m = asarray(m)
    if get_aval(m).ndim < 2:
        raise ValueError(
            f"fliplr: the array must be at least 2-d, got shape {_shape_of(m)} "
            f"(at {user_location()})."
        )
    return lax_shapes.rev(m, (1,))


@api_boundary
def flipud(m):
    """Reverse the rows (axis 0) of an array of rank >= 1."""
    m = asarray(m)
    if get_aval(m).ndim < 1:
        raise ValueError(
            f"flipud: the array must be at least 1-d, got shape () (at {user_location()})."
        )
    return lax_shapes.rev(m, (0,))


def _roll_static(x, shift: int, axis: int):
    n = _shape_of(x)[axis]
    shift = shift % n if n else 0
    if shift == 0:
        return x
    head, tail = _split("roll", x, [n - shift], axis, even=False)
    return lax_shapes.concatenate([tail, head], axis)


def _roll_traced(x, shift, axis: int):
    """Roll by a traced amount: reduce it mod n, then apply the static rolls by 1, 2, 4, ...
    whose bits are set, each chosen by a select (O(n log n), no gather)."""
    n = _shape_of(x)[axis]
    if n == 0:
        return x
    int32 = np.dtype(np.int32)
    shift = cast(shift, int32)
    size = cast(n, int32)
    shift = ew.sub(shift, ew.mul(ew.div(shift, size), size))  # truncated remainder
    shift = ew.select(ew.lt(shift, cast(0, int32)), ew.add(shift, size), shift)
    bit, out = 1, x
    while bit < n:
        halves = ew.div(shift, cast(bit, int32)) if bit > 1 else shift
        odd = ew.ne(
            ew.sub(halves, ew.mul(ew.div(halves, cast(2, int32)), cast(2, int32))), cast(0, int32)
        )
        out = ew.select(odd, _roll_static(out, bit, axis), out)
        bit *= 2
    return out


@api_boundary
def roll(a, shift, axis=None):
    """Shift elements along `axis` (of the flattened array when None), wrapping around.

    `shift` and `axis` may be tuples (broadcast against each other); `shift` may be traced.

    >>> roll(jnp.arange(4), 1)
    Array([3, 0, 1, 2], dtype=int32)
    """
    a = asarray(a)
    if axis is None:
        return reshape(roll(ravel(a), shift, 0), _shape_of(a))
    ndim = get_aval(a).ndim
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    axes = [_normalize_axis("roll", ax, ndim) for ax in axes]
    if isinstance(shift, (Array, Tracer)) and _shape_of(shift):
        shifts = [shift[i] for i in range(_shape_of(shift)[0])]
    elif isinstance(shift, (tuple, list, np.ndarray)):
        shifts = list(shift)
    else:
        shifts = [shift]
    if len(shifts) == 1:
        shifts = shifts * len(axes)
    if len(axes) == 1:
        axes = axes * len(shifts)
    if len(shifts) != len(axes):
        raise ValueError(
            f"roll: shift {shift} and axis {axis} must have the same length or one of them "
            f"length 1 (at {user_location()})."
        )
    for s, ax in zip(shifts, axes):
        if isinstance(s, Tracer):
            a = _roll_traced(a, s, ax)
        else:
            a = _roll_static(a, static_int("roll", "shift", s), ax)
    return a


@api_boundary
def rot90(m, k: int = 1, axes=(0, 1)):
    """Rotate by 90 degrees `k` times in the plane of `axes`, from the first axis toward
    the second.

    >>> rot90(jnp.array([[1, 2], [3, 4]]))
    Array([[2, 4],
           [1, 3]], dtype=int32)
    """
    m = asarray(m)
    ndim = get_aval(m).ndim
    axes = tuple(axes)
    if len(axes) != 2:
        raise ValueError(f"rot90: axes must name two axes, got {axes} (at {user_location()}).")
    if ndim < 2:
        raise ValueError(
            f"rot90: the array must be at least 2-d, got shape {_shape_of(m)} "
            f"(at {user_location()})."
        )
    first, second = _normalize_axes("rot90", axes, ndim)
    k = static_int("rot90", "k", k) % 4
    if k == 0:
        return m
    if k == 2:
        return lax_shapes.rev(m, (first, second))
    perm = list(range(ndim))
    perm[first], perm[second] = second, first
    if k == 1:
        return lax_shapes.transpose(lax_shapes.rev(m, (second,)), perm)
    return lax_shapes.rev(lax_shapes.transpose(m, perm), (second,))


# ---------------------------------------------------------------------------------------
# Padding


def _pad_widths(name: str, pad_width, ndim: int) -> list[tuple[int, int]]:
    if isinstance(pad_width, Tracer):
        static_int(name, "pad_width", pad_width)
    widths = np.asarray(pad_width)
    if widths.size and widths.dtype.kind not in "iu":
        raise TypeError(
            f"{name}: pad_width must be integers, got {pad_width!r} (at {user_location()})."
        )
    try:
        widths = np.broadcast_to(widths.astype(np.int64), (ndim, 2))
    except ValueError:
        raise ValueError(
            f"{name}: pad_width {pad_width!r} does not fit an array of dimension {ndim}: give "
            "an int, (before, after), or one (before, after) per axis "
            f"(at {user_location()})."
        ) from None
    if np.any(widths < 0):
        raise ValueError(
            f"{name}: pad_width can't contain negative values, got {pad_width!r} "
            f"(at {user_location()})."
        )
    return [(int(lo), int(hi)) for lo, hi in widths]


def _is_scalar(value) -> bool:
    if isinstance(value, (Array, Tracer, np.ndarray, np.generic)):
        return not np.shape(value) if not isinstance(value, Tracer) else not value.shape
    return isinstance(value, (int, float, complex, bool))


def _pad_constant(x, widths, constant_values):
    aval = get_aval(x)

    def fill(value):
        return cast(asarray(value), aval.dtype, aval.weak_type)

    if _is_scalar(constant_values):
        return lax_shapes.pad(x, fill(constant_values), [(lo, hi, 0) for lo, hi in widths])
    values = asarray(constant_values)
    try:
        target = np.broadcast_shapes(_shape_of(values), (aval.ndim, 2))
    except ValueError:
        target = None
    if target != (aval.ndim, 2):
        raise ValueError(
            f"pad: constant_values of shape {_shape_of(values)} does not fit an array of "
            f"dimension {aval.ndim}: give a scalar, (before, after), or one pair per axis "
            f"(at {user_location()})."
        )
    values = promotion.broadcast_to_shape(values, target)
    # Axis by axis, as NumPy does: a later axis's values fill the corners.
    for axis, (lo, hi) in enumerate(widths):
        for side, amount in enumerate((lo, hi)):
            if amount:
                config = [(0, 0, 0)] * aval.ndim
                config[axis] = (amount, 0, 0) if side == 0 else (0, amount, 0)
                x = lax_shapes.pad(x, fill(values[axis, side]), config)
    return x


def _periodic(x, axis: int, before: int, after: int, period):
    """Extend x along `axis` by before/after elements of the sequence that repeats `period`
    (an array along the same axis), aligned so that position `before` is period[0]."""
    p = _shape_of(period)[axis]
    copies_before = -(-before // p)
    copies_after = -(-(after + _shape_of(x)[axis]) // p)
    tiled = lax_shapes.concatenate([period] * (copies_before + copies_after), axis)
    start = copies_before * p - before
    length = before + _shape_of(x)[axis] + after
    return _split("pad", tiled, [start, start + length], axis, even=False)[1]


def _pad_axis(x, axis: int, before: int, after: int, mode: str):
    n = _shape_of(x)[axis]
    if n == 0:
        raise ValueError(
            f"pad: can't extend empty axis {axis} using mode {mode!r}; only 'constant' and "
            f"'empty' pad an empty axis (at {user_location()})."
        )
    if mode == "edge":
        first = _split("pad", x, [1], axis, even=False)[0]
        last = _split("pad", x, [n - 1], axis, even=False)[1]
        parts = [repeat(first, before, axis)] if before else []
        parts.append(x)
        if after:
            parts.append(repeat(last, after, axis))
        return lax_shapes.concatenate(parts, axis) if len(parts) > 1 else x
    if mode == "wrap":
        return _periodic(x, axis, before, after, x)
    if mode == "reflect" and n == 1:
        return _pad_axis(x, axis, before, after, "edge")
    if mode == "reflect":
        # The sequence x[0], ..., x[n-1], x[n-2], ..., x[1] repeats.
        inner = _split("pad", lax_shapes.rev(x, (axis,)), [1, n - 1], axis, even=False)[1]
        return _periodic(x, axis, before, after, lax_shapes.concatenate([x, inner], axis))
    # symmetric: x[0], ..., x[n-1], x[n-1], ..., x[0] repeats.
    return _periodic(
        x, axis, before, after, lax_shapes.concatenate([x, lax_shapes.rev(x, (axis,))], axis)
    )


_PAD_MODES = ("constant", "empty", "edge", "wrap", "reflect", "symmetric")


@api_boundary
def pad(array, pad_width, mode: str = "constant", **kwargs):
    """Pad `array`: pad_width is an int, (before, after) or one pair per axis.

    Modes: 'constant' (`constant_values`, a scalar, a pair or a pair per axis; may be
    traced), 'empty' (zeros, as JAX), 'edge', 'wrap', 'reflect' and 'symmetric'
    (`reflect_type='even'`).

    >>> pad(jnp.arange(3), (1, 2), mode="edge")
    Array([0, 0, 1, 2, 2, 2], dtype=int32)
    """
    array = asarray(array)
    aval = get_aval(array)
    if not isinstance(mode, str) or mode not in _PAD_MODES:
        raise NotImplementedError(
            f"pad: mode {mode!r} is not supported (at {user_location()}); supported modes "
            f"are {', '.join(_PAD_MODES)}."
        )
    allowed = {"constant": {"constant_values"}, "reflect": {"reflect_type"}}
    allowed["symmetric"] = allowed["reflect"]
    unexpected = set(kwargs) - allowed.get(mode, set())
    if unexpected:
        raise ValueError(
            f"pad: unsupported keyword arguments for mode {mode!r}: {sorted(unexpected)} "
            f"(at {user_location()})."
        )
    if kwargs.get("reflect_type", "even") != "even":
        raise NotImplementedError(
            f"pad: reflect_type={kwargs['reflect_type']!r} is not implemented "
            f"(at {user_location()}); use 'even'."
        )
    widths = _pad_widths("pad", pad_width, aval.ndim)
    if mode in ("constant", "empty"):
        return _pad_constant(
            array, widths, kwargs.get("constant_values", 0) if mode == "constant" else 0
        )
    for axis, (lo, hi) in enumerate(widths):
        if lo or hi:
            array = _pad_axis(array, axis, lo, hi, mode)
    return array


# ---------------------------------------------------------------------------------------
# Diagonals and triangles


@api_boundary
def diagonal(a, offset: int = 0, axis1: int = 0, axis2: int = 1):
    """The diagonal `offset` of the (axis1, axis2) planes, as the last axis of the result.

    A strided slice of the flattened planes: no gather.

    >>> diagonal(jnp.arange(9).reshape(3, 3), 1)
    Array([1, 5], dtype=int32)
    """
    a = asarray(a)
    ndim = get_aval(a).ndim
    if ndim < 2:
        raise ValueError(
            f"diagonal: the array must be at least 2-d, got shape {_shape_of(a)} "
            f"(at {user_location()})."
        )
    first, second = (
        _normalize_axis("diagonal", axis1, ndim),
        _normalize_axis("diagonal", axis2, ndim),
    )
    if first == second:
        raise ValueError(f"diagonal: axis1 and axis2 cannot be the same (at {user_location()}).")
    offset = static_int("diagonal", "offset", offset)
    rest = [d for d in range(ndim) if d not in (first, second)]
    planes = lax_shapes.transpose(a, (*rest, first, second))
    *lead, rows, cols = _shape_of(planes)
    length = builtins.max(
        0, builtins.min(rows, cols - offset) if offset >= 0 else builtins.min(rows + offset, cols)
    )
    flat = lax_shapes.reshape(planes, (*lead, rows * cols))
    start = offset if offset >= 0 else -offset * cols
    if length == 0:
        start = limit = 0
    else:
        limit = start + (length - 1) * (cols + 1) + 1
    keep = [0] * len(lead)
    return lax_shapes.slice(flat, (*keep, start), (*lead, limit), (*[1] * len(lead), cols + 1))


@api_boundary
def trace(a, offset: int = 0, axis1: int = 0, axis2: int = 1, dtype=None):
    """The sum along diagonal `offset` (with `sum`'s result dtypes).

    >>> trace(jnp.eye(3))
    Array(3., dtype=float32)
    """
    return _sum(diagonal(a, offset, axis1, axis2), axis=-1, dtype=dtype)


@api_boundary
def diag(v, k: int = 0):
    """For 1-d `v`, the square matrix with `v` on diagonal `k`; for 2-d `v`, its diagonal `k`.

    >>> diag(jnp.array([1, 2]))
    Array([[1, 0],
           [0, 2]], dtype=int32)
    """
    v = asarray(v)
    s = _shape_of(v)
    if len(s) == 2:
        return diagonal(v, k)
    if len(s) != 1:
        raise ValueError(
            f"diag: the input must be 1-d or 2-d, got shape {s} (at {user_location()})."
        )
    k = static_int("diag", "k", k)
    n = s[0] + builtins.abs(k)
    # Row r holds v[r] (k >= 0) or column c holds v[c] (k < 0); a band mask keeps diagonal k.
    padded = lax_shapes.pad(
        v, cast(0, get_aval(v).dtype, get_aval(v).weak_type), [(0, builtins.abs(k), 0)]
    )
    spread = lax_shapes.broadcast_in_dim(padded, (n, n), (0,) if k >= 0 else (1,))
    zero = lax_shapes.broadcast_in_dim(
        cast(0, get_aval(v).dtype, get_aval(v).weak_type), (n, n), ()
    )
    return ew.select(band_mask("diag", n, n, k, ew.eq), spread, zero)


@api_boundary
def diagflat(v, k: int = 0):
    """The 2-d array with the flattened input on diagonal `k`."""
    return diag(ravel(v), k)


def _triangle(name: str, m, k, compare):
    m = asarray(m)
    aval = get_aval(m)
    if aval.ndim < 2:
        raise ValueError(
            f"{name}: the array must be at least 2-d, got shape {aval.shape} "
            f"(at {user_location()})."
        )
    rows, cols = aval.shape[-2:]
    keep = lax_shapes.broadcast_in_dim(
        band_mask(name, rows, cols, k, compare), aval.shape, (aval.ndim - 2, aval.ndim - 1)
    )
    zero = lax_shapes.broadcast_in_dim(cast(0, aval.dtype, aval.weak_type), aval.shape, ())
    return ew.select(keep, m, zero)


@api_boundary
def tril(m, k: int = 0):
    """`m` with the elements above diagonal `k` (of its last two axes) set to zero.

    >>> tril(jnp.ones((2, 2)))
    Array([[1., 0.],
           [1., 1.]], dtype=float32)
    """
    return _triangle("tril", m, k, ew.le)


@api_boundary
def triu(m, k: int = 0):
    """`m` with the elements below diagonal `k` (of its last two axes) set to zero."""
    return _triangle("triu", m, k, ew.ge)


# ---------------------------------------------------------------------------------------
# Array methods


def _reshape_method(self, *shape, order: str = "C"):
    return reshape(self, shape[0] if len(shape) == 1 else shape, order)


def _transpose_method(self, *axes):
    return transpose(self, (axes[0] if len(axes) == 1 else axes) or None)


def _flatten_method(self, order: str = "C"):
    return ravel(self, order)


def _repeat_method(self, repeats, axis=None, *, total_repeat_length=None):
    return repeat(self, repeats, axis, total_repeat_length=total_repeat_length)


ARRAY_METHODS = {
    "T": property(lambda self: transpose(self)),
    "reshape": _reshape_method,
    "transpose": _transpose_method,
    "flatten": _flatten_method,
    "ravel": _flatten_method,
    "squeeze": lambda self, axis=None: squeeze(self, axis),
    "swapaxes": lambda self, axis1, axis2: swapaxes(self, axis1, axis2),
    "repeat": _repeat_method,
    "diagonal": lambda self, offset=0, axis1=0, axis2=1: diagonal(self, offset, axis1, axis2),
    "trace": lambda self, offset=0, axis1=0, axis2=1, dtype=None: trace(
        self, offset, axis1, axis2, dtype
    ),
}
