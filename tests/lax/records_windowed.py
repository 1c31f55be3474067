"""Op records for funcgrad/lax/windowed.py: reduce_window with lax.add / lax.max / lax.min
(binding reduce_window_sum / _max / _min) over strides, padding modes, base and window
dilation, and the linear window_patches / window_scatter_add pair.

The reference, `reference_reduce_window`, loops over output positions and window
elements, mapping each back to an operand index (padding and dilation holes contribute
nothing), and reduces what it finds with Python's own max/min/sum; patches and their
scatter-add are references by explicit index loops too.
"""

from __future__ import annotations

import itertools

import numpy as np
from op_records import ACCUMULATING, BF16, EXACT, F16, F32, FLOATS, I32, OpRecord, draw, is_float

from funcgrad import lax
from funcgrad.lax import windowed

IDENTITY = {"sum": 0.0, "max": -np.inf, "min": np.inf}
REDUCE = {"sum": sum, "max": max, "min": min}


def reference_reduce_window(
    x, kind, window, strides, padding, base_dilation=None, window_dilation=None, init=None
):
    """Each window's real elements reduced by loops; `padding` is (low, high) pairs."""
    ndim = x.ndim
    base_dilation = base_dilation or (1,) * ndim
    window_dilation = window_dilation or (1,) * ndim
    padded = [(n - 1) * d + 1 + lo + hi for n, d, (lo, hi) in zip(x.shape, base_dilation, padding)]
    spans = [(w - 1) * d + 1 for w, d in zip(window, window_dilation)]
    out_shape = [(p - s) // st + 1 for p, s, st in zip(padded, spans, strides)]
    if init is None:
        init = IDENTITY[kind] if is_float(x.dtype) else _int_identity(kind, x.dtype)
    out = np.zeros(out_shape, x.dtype)
    for position in itertools.product(*map(range, out_shape)):
        found = [init]
        for element in itertools.product(*map(range, window)):
            index = []
            for axis in range(ndim):
                q = position[axis] * strides[axis] + element[axis] * window_dilation[axis]
                q -= padding[axis][0]
                if q < 0 or q % base_dilation[axis] or q // base_dilation[axis] >= x.shape[axis]:
                    break
                index.append(q // base_dilation[axis])
            else:
                found.append(x[tuple(index)])
        out[position] = REDUCE[kind](found)
    return out


def _int_identity(kind, dtype):
    info = np.iinfo(dtype)
    return {"sum": 0, "max": info.min, "min": info.max}[kind]


def reference_patches(x, window, strides, dilation):
    out_shape = [
        (n - (w - 1) * d - 1) // s + 1 for n, w, s, d in zip(x.shape, window, strides, dilation)
    ]
    out = np.zeros((*out_shape, *window), x.dtype)
    for position in itertools.product(*map(range, out_shape)):
        for element in itertools.product(*map(range, window)):
            index = tuple(p * s + k * d for p, s, k, d in zip(position, strides, element, dilation))
            out[(*position, *element)] = x[index]
    return out


def reference_scatter_add(patches, shape, window, strides, dilation):
    ndim = len(shape)
    out = np.zeros(shape, patches.dtype)
    for position in itertools.product(*map(range, patches.shape[:ndim])):
        for element in itertools.product(*map(range, window)):
            index = tuple(p * s + k * d for p, s, k, d in zip(position, strides, element, dilation))
            out[index] += patches[(*position, *element)]
    return out


COMPUTATION = {"sum": lax.add, "max": lax.max, "min": lax.min}


def window_record(label, kind, shapes, window, strides, padding, reference_padding=None, **dil):
    identity = IDENTITY[kind]

    def fun(x):
        init = identity if is_float(x.dtype) else _int_identity(kind, x.dtype)
        return lax.reduce_window(x, init, COMPUTATION[kind], window, strides, padding, **dil)

    def reference(x):
        pads = reference_padding or padding
        return reference_reduce_window(x, kind, window, strides, pads, **dil)

    return OpRecord(
        label=label,
        name="reduce_window",
        primitive=f"reduce_window_{kind}",
        fun=fun,
        reference=reference,
        arity=1,
        dtypes=(*FLOATS, I32),
        make_inputs=lambda rng, shape, dtype: [draw(rng, shape, dtype, -3, 3)],
        tolerance=ACCUMULATING if kind == "sum" else EXACT,
        shapes=shapes,
    )


def patches_operand(rng, shape, dtype):
    return [draw(rng, shape, dtype, -3, 3)]


def scatter_operand(window, strides, dilation):
    def make(rng, shape, dtype):
        out = [
            (n - (w - 1) * d - 1) // s + 1 for n, w, s, d in zip(shape, window, strides, dilation)
        ]
        return [draw(rng, (*out, *window), dtype, -3, 3)]

    return make


def _scatter_fun(window, strides, dilation):
    # The operand shape is not recoverable from the patches alone: it is fixed per record.
    def fun(patches):
        ndim = patches.ndim // 2
        shape = tuple(
            (n - 1) * s + (w - 1) * d + 1
            for n, w, s, d in zip(patches.shape[:ndim], window, strides, dilation)
        )
        return windowed.window_scatter_add(patches, shape, window, strides, dilation)

    return fun


def _scatter_reference(window, strides, dilation):
    def reference(patches):
        ndim = patches.ndim // 2
        shape = tuple(
            (n - 1) * s + (w - 1) * d + 1
            for n, w, s, d in zip(patches.shape[:ndim], window, strides, dilation)
        )
        return reference_scatter_add(patches, shape, window, strides, dilation)

    return reference


RECORDS = [
    window_record(
        "reduce_window_max_pool_2x2",
        "max",
        ((2, 3, 4, 6), (1, 2, 5, 5), (0, 1, 4, 4)),
        (1, 1, 2, 2),
        (1, 1, 2, 2),
        "VALID",
        reference_padding=[(0, 0)] * 4,
    ),
    window_record(
        "reduce_window_max_same_strided",
        "max",
        ((5, 7),),
        (3, 2),
        (2, 1),
        "SAME",
        # SAME by hand: out = ceil(5 / 2) = 3 needs 2 * 2 + 3 - 5 = 2 (1, 1); out 7 needs 1.
        reference_padding=[(1, 1), (0, 1)],
    ),
    window_record(
        "reduce_window_min_dilated",
        "min",
        ((4, 7),),
        (2, 3),
        (1, 2),
        ((1, 0), (2, 1)),
        base_dilation=(2, 1),
        window_dilation=(1, 2),
    ),
    window_record(
        "reduce_window_sum_padded",
        "sum",
        ((2, 5, 6), (1, 3, 3)),
        (1, 2, 3),
        (1, 1, 2),
        ((0, 0), (1, 1), (0, 2)),
    ),
    window_record(
        "reduce_window_sum_dilated",
        "sum",
        ((6, 5),),
        (2, 2),
        (2, 1),
        ((0, 1), (1, 0)),
        base_dilation=(1, 2),
        window_dilation=(2, 1),
    ),
    OpRecord(
        label="window_patches",
        name="window_patches",
        primitive="window_patches",
        fun=lambda x: windowed.window_patches(x, (2, 1, 3), (1, 2, 1), (2, 1, 1)),
        reference=lambda x: reference_patches(x, (2, 1, 3), (1, 2, 1), (2, 1, 1)),
        arity=1,
        dtypes=(F32, F16, BF16, I32),
        make_inputs=patches_operand,
        tolerance=EXACT,
        shapes=((3, 4, 5), (4, 1, 3)),
    ),
    OpRecord(
        label="window_scatter_add",
        name="window_scatter_add",
        primitive="window_scatter_add",
        fun=_scatter_fun((2, 3), (2, 1), (1, 2)),
        reference=_scatter_reference((2, 3), (2, 1), (1, 2)),
        arity=1,
        dtypes=(F32, I32),
        make_inputs=scatter_operand((2, 3), (2, 1), (1, 2)),
        tolerance=ACCUMULATING,
        # Operand shapes the patches come from; each axis covered exactly by the windows.
        shapes=((4, 7), (6, 5)),
    ),
]
