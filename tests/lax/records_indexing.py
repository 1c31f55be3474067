"""Op records for funcgrad/lax/indexing.py: gather, the scatter family, dynamic_slice and
dynamic_update_slice, each in several dimension-number configurations.

References are written per configuration with plain NumPy indexing and Python loops over
the index rows (clamping, filling or dropping by hand), not with the general XLA rule the
implementation follows. Index arrays hold out-of-bounds and repeated entries on purpose.
"""

from __future__ import annotations

import numpy as np
from op_records import ACCUMULATING, EXACT, NUMERIC, ORDERED, OpRecord, draw

from funcgrad import lax
from funcgrad.lax.indexing import dynamic_slice_p, dynamic_update_slice_p

I32 = np.dtype(np.int32)
GDN, SDN = lax.GatherDimensionNumbers, lax.ScatterDimensionNumbers


def rows_of(rng, count, size, spill=2):
    """`count` row indices in [-spill, size + spill): some out of bounds, some repeated."""
    return rng.integers(-spill, size + spill, size=(count, 1)).astype(I32)


# ---------------------------------------------------------------------------------------
# gather

ROWS = GDN(offset_dims=(), collapsed_slice_dims=(0,), start_index_map=(0,))


def rows_numbers(ndim):
    return GDN(offset_dims=tuple(range(1, ndim)), collapsed_slice_dims=(0,), start_index_map=(0,))


def operand_and_rows(rng, shape, dtype):
    return [draw(rng, shape, dtype, -3, 3), rows_of(rng, 5, shape[0])]


def gather_rows(x, idx, **mode):
    return lax.gather(x, idx, rows_numbers(x.ndim), (1, *x.shape[1:]), **mode)


def reference_rows_clamped(x, idx):
    return np.stack([x[min(max(i, 0), x.shape[0] - 1)] for i in idx[:, 0]])


def reference_rows_filled(x, idx):
    rows = [x[i] if 0 <= i < x.shape[0] else np.full(x.shape[1:], np.nan) for i in idx[:, 0]]
    return np.stack(rows)


def windows_2d(rng, shape, dtype):
    starts = rng.integers(-2, max(shape) + 2, size=(4, 2)).astype(I32)
    return [draw(rng, shape, dtype, -3, 3), starts]


WINDOW = (2, 2)
WINDOW_NUMBERS = GDN(offset_dims=(1, 2), collapsed_slice_dims=(), start_index_map=(0, 1))


def reference_windows(x, starts, fill=False):
    out = []
    for r, c in starts:
        top = [min(max(s, 0), n - w) for s, n, w in zip((r, c), x.shape, WINDOW)]
        inside = (r, c) == tuple(top)
        window = x[top[0] : top[0] + 2, top[1] : top[1] + 2]
        out.append(window if inside or not fill else np.full(WINDOW, np.nan))
    return np.stack(out)


def batched_rows(rng, shape, dtype):
    batch, size = shape
    return [draw(rng, shape, dtype, -3, 3), rng.integers(-1, size + 1, (batch, 3, 1)).astype(I32)]


BATCHED_NUMBERS = GDN(
    offset_dims=(),
    collapsed_slice_dims=(1,),
    start_index_map=(1,),
    operand_batching_dims=(0,),
    start_indices_batching_dims=(0,),
)


def reference_batched(x, idx):
    out = np.empty(idx.shape[:2], x.dtype)
    for b in range(idx.shape[0]):
        for k in range(idx.shape[1]):
            out[b, k] = x[b, min(max(idx[b, k, 0], 0), x.shape[1] - 1)]
    return out


COLUMNS_FIRST = GDN(offset_dims=(0,), collapsed_slice_dims=(1,), start_index_map=(1,))


def operand_and_columns(rng, shape, dtype):
    return [draw(rng, shape, dtype, -3, 3), rows_of(rng, 3, shape[1])]


def reference_columns_first(x, idx):
    columns = [x[:, min(max(i, 0), x.shape[1] - 1)] for i in idx[:, 0]]
    return np.stack(columns, axis=1)


def empty_index_vectors(rng, shape, dtype):
    return [draw(rng, shape, dtype, -3, 3), np.zeros((3, 0), I32)]


def gather_record(label, fun, reference, make_inputs, shapes, dtypes=ORDERED):
    return OpRecord(
        label, "gather", "gather", fun, reference, 2, dtypes, make_inputs, EXACT, shapes=shapes
    )


GATHER_RECORDS = [
    gather_record(
        "gather_rows_clamped",
        gather_rows,
        reference_rows_clamped,
        operand_and_rows,
        ((4,), (3, 2), (3, 0), (2, 3, 4)),
    ),
    gather_record(
        "gather_rows_clip",
        lambda x, idx: gather_rows(x, idx, mode="clip"),
        reference_rows_clamped,
        operand_and_rows,
        ((4,), (3, 2)),
    ),
    gather_record(
        "gather_rows_fill",
        lambda x, idx: gather_rows(x, idx, mode="fill"),
        reference_rows_filled,
        operand_and_rows,
        ((4,), (3, 2), (1, 3)),
        dtypes=tuple(d for d in ORDERED if d.kind == "f" or d.name == "bfloat16"),
    ),
    gather_record(
        "gather_windows_clamped",
        lambda x, s: lax.gather(x, s, WINDOW_NUMBERS, WINDOW),
        reference_windows,
        windows_2d,
        ((3, 4), (2, 2), (5, 3)),
    ),
    gather_record(
        "gather_windows_fill",
        lambda x, s: lax.gather(x, s, WINDOW_NUMBERS, WINDOW, mode="fill"),
        lambda x, s: reference_windows(x, s, fill=True),
        windows_2d,
        ((3, 4), (4, 4)),
        dtypes=tuple(d for d in ORDERED if d.kind == "f" or d.name == "bfloat16"),
    ),
    gather_record(
        "gather_operand_batching_dims",
        lambda x, idx: lax.gather(x, idx, BATCHED_NUMBERS, (min(x.shape[0], 1), 1)),
        reference_batched,
        batched_rows,
        ((2, 4), (3, 1), (0, 3)),
    ),
    gather_record(
        "gather_offset_dim_first",
        lambda x, idx: lax.gather(x, idx, COLUMNS_FIRST, (x.shape[0], 1)),
        reference_columns_first,
        operand_and_columns,
        ((2, 4), (0, 3), (1, 1)),
    ),
    gather_record(
        "gather_one_index_vector_no_batch_axes",
        lambda x, idx: lax.gather(x, idx, ROWS, (1,)),
        lambda x, idx: x[min(max(idx[0], 0), x.shape[0] - 1)],
        lambda rng, shape, dtype: [draw(rng, shape, dtype, -3, 3), rows_of(rng, 1, shape[0])[0]],
        ((4,), (1,)),
    ),
    gather_record(
        "gather_empty_index_vector",
        lambda x, idx: lax.gather(x, idx, GDN(tuple(range(1, x.ndim + 1)), (), ()), x.shape),
        lambda x, idx: np.stack([x] * 3),
        empty_index_vectors,
        ((), (3,), (2, 0)),
    ),
]


# ---------------------------------------------------------------------------------------
# scatter family


COMBINE = {
    "scatter": lambda old, new: new,
    "scatter_add": lambda old, new: old + new,
    "scatter_mul": lambda old, new: old * new,
    "scatter_min": np.minimum,
    "scatter_max": np.maximum,
}


def rows_update(rng, shape, dtype, unique=False):
    n = shape[0]
    if unique:  # each in-bounds row once (replace has no defined winner for repeats)
        idx = np.concatenate([rng.permutation(n)[: max(n - 1, 1)], [n + 1, -1]])[:, None]
        idx = idx.astype(I32)
    else:
        idx = rows_of(rng, 6, n)
    low, high = (0.5, 1.5) if dtype.kind == "f" or dtype.name == "bfloat16" else (-2, 2)
    updates = draw(rng, (len(idx), *shape[1:]), dtype, low, high)
    return [draw(rng, shape, dtype, -3, 3), idx, updates]


def rows_scatter_numbers(ndim):
    return SDN(
        update_window_dims=tuple(range(1, ndim)),
        inserted_window_dims=(0,),
        scatter_dims_to_operand_dims=(0,),
    )


def reference_rows_scatter(name, clip=False):
    def reference(x, idx, updates):
        out = x.copy()
        for i, row in zip(idx[:, 0], updates):
            if clip:
                i = min(max(i, 0), x.shape[0] - 1)
            if 0 <= i < x.shape[0]:  # out-of-bounds rows are dropped
                out[i] = COMBINE[name](out[i], row)
        return out

    return reference


def windows_update(rng, shape, dtype):
    starts = rng.integers(-1, max(shape) + 1, size=(5, 2)).astype(I32)
    low, high = (0.5, 1.5) if dtype.kind == "f" or dtype.name == "bfloat16" else (-2, 2)
    return [draw(rng, shape, dtype, -3, 3), starts, draw(rng, (5, *WINDOW), dtype, low, high)]


def reference_windows_scatter(name):
    def reference(x, starts, updates):
        out = x.copy()
        for (r, c), window in zip(starts, updates):
            if 0 <= r <= x.shape[0] - 2 and 0 <= c <= x.shape[1] - 2:
                out[r : r + 2, c : c + 2] = COMBINE[name](out[r : r + 2, c : c + 2], window)
        return out

    return reference


def batched_update(rng, shape, dtype):
    batch, size = shape
    idx = rng.integers(-1, size + 1, (batch, 3, 1)).astype(I32)
    return [draw(rng, shape, dtype, -3, 3), idx, draw(rng, (batch, 3), dtype, 0, 2)]


BATCHED_SCATTER = SDN(
    update_window_dims=(),
    inserted_window_dims=(1,),
    scatter_dims_to_operand_dims=(1,),
    operand_batching_dims=(0,),
    scatter_indices_batching_dims=(0,),
)


def reference_batched_add(x, idx, updates):
    out = x.copy()
    for b in range(idx.shape[0]):
        for k in range(idx.shape[1]):
            i = idx[b, k, 0]
            if 0 <= i < x.shape[1]:
                out[b, i] += updates[b, k]
    return out


SCATTER_DTYPES = {
    "scatter": ORDERED,
    "scatter_add": NUMERIC,
    "scatter_mul": NUMERIC,
    "scatter_min": ORDERED,
    "scatter_max": ORDERED,
}


def scatter_record(label, name, fun, reference, make_inputs, shapes, dtypes=None):
    return OpRecord(
        label,
        name,
        name,
        fun,
        reference,
        3,
        dtypes or SCATTER_DTYPES[name],
        make_inputs,
        ACCUMULATING if name in ("scatter_add", "scatter_mul") else EXACT,
        shapes=shapes,
    )


WINDOW_SCATTER = SDN(
    update_window_dims=(1, 2), inserted_window_dims=(), scatter_dims_to_operand_dims=(0, 1)
)


def scatter_records(name):
    op = getattr(lax, name)
    records = [
        scatter_record(
            f"{name}_rows_dropping_out_of_bounds",
            name,
            lambda x, idx, u: op(x, idx, u, rows_scatter_numbers(x.ndim)),
            reference_rows_scatter(name),
            lambda rng, shape, dtype: rows_update(rng, shape, dtype, unique=name == "scatter"),
            ((4,), (3, 2), (2, 0), (3, 2, 2)),
        )
    ]
    if name != "scatter":  # windows overlap: replace would have no defined winner
        records.append(
            scatter_record(
                f"{name}_windows",
                name,
                lambda x, s, u: op(x, s, u, WINDOW_SCATTER),
                reference_windows_scatter(name),
                windows_update,
                ((3, 4), (4, 4)),
            )
        )
    return records


SCATTER_RECORDS = [record for name in COMBINE for record in scatter_records(name)]
SCATTER_RECORDS += [
    scatter_record(
        "scatter_add_clip",
        "scatter_add",
        lambda x, idx, u: lax.scatter_add(x, idx, u, rows_scatter_numbers(x.ndim), mode="clip"),
        reference_rows_scatter("scatter_add", clip=True),
        rows_update,
        ((4,), (3, 2)),
    ),
    scatter_record(
        "scatter_add_operand_batching_dims",
        "scatter_add",
        lambda x, idx, u: lax.scatter_add(x, idx, u, BATCHED_SCATTER),
        reference_batched_add,
        batched_update,
        ((2, 4), (3, 1), (0, 2)),
    ),
]


# ---------------------------------------------------------------------------------------
# dynamic_slice and dynamic_update_slice: starts clamp so the slice stays in bounds

U32 = np.dtype(np.uint32)


def operand_and_starts(start_dtype, low, high):
    def make(rng, shape, dtype):
        starts = [np.asarray(rng.integers(low, high + 1), start_dtype) for _ in shape]
        return [draw(rng, shape, dtype, -3, 3), *starts]

    return make


def half(shape):
    return tuple((n + 1) // 2 for n in shape)


def reference_dynamic_slice(x, *starts):
    sizes = half(x.shape)
    top = [min(max(int(s), 0), n - k) for s, n, k in zip(starts, x.shape, sizes)]
    return x[tuple(slice(t, t + k) for t, k in zip(top, sizes))]


def update_and_starts(start_dtype, low, high):
    def make(rng, shape, dtype):
        starts = [np.asarray(rng.integers(low, high + 1), start_dtype) for _ in shape]
        return [draw(rng, shape, dtype, -3, 3), draw(rng, half(shape), dtype, -3, 3), *starts]

    return make


def reference_dynamic_update_slice(x, update, *starts):
    top = [min(max(int(s), 0), n - k) for s, n, k in zip(starts, x.shape, update.shape)]
    out = x.copy()
    out[tuple(slice(t, t + k) for t, k in zip(top, update.shape))] = update
    return out


def dynamic_records():
    records = []
    for label, start_dtype, low, high in (
        ("unsigned_starts", U32, 0, 6),
        ("negative_starts", I32, -6, 6),
    ):
        records.append(
            OpRecord(
                f"dynamic_slice_{label}",
                "dynamic_slice",
                "dynamic_slice",
                # the primitive itself: the wrapper would first count negative starts from
                # the end; XLA's clamp is what is checked here
                lambda x, *s: dynamic_slice_p.bind(x, *s, slice_sizes=half(x.shape)),
                reference_dynamic_slice,
                1 + 3,
                ORDERED,
                operand_and_starts(start_dtype, low, high),
                EXACT,
                shapes=((2, 0, 3), (3, 4, 2)),
            )
        )
    for shape in ((4,), (3, 5)):
        records.append(
            OpRecord(
                f"dynamic_slice_rank{len(shape)}",
                "dynamic_slice",
                "dynamic_slice",
                lambda x, *s: lax.dynamic_slice(x, s, half(x.shape)),
                reference_dynamic_slice,
                1 + len(shape),
                ORDERED,
                operand_and_starts(U32, 0, 7),
                EXACT,
                shapes=(shape,),
            )
        )
        records.append(
            OpRecord(
                f"dynamic_update_slice_rank{len(shape)}",
                "dynamic_update_slice",
                "dynamic_update_slice",
                lambda x, u, *s: lax.dynamic_update_slice(x, u, s),
                reference_dynamic_update_slice,
                2 + len(shape),
                ORDERED,
                update_and_starts(U32, 0, 7),
                EXACT,
                shapes=(shape,),
            )
        )
    records.append(
        OpRecord(
            "dynamic_update_slice_negative_starts",
            "dynamic_update_slice",
            "dynamic_update_slice",
            lambda x, u, *s: dynamic_update_slice_p.bind(x, u, *s),
            reference_dynamic_update_slice,
            2 + 3,
            ORDERED,
            update_and_starts(I32, -6, 6),
            EXACT,
            shapes=((2, 0, 3), (3, 4, 2)),
        )
    )
    return records


RECORDS = GATHER_RECORDS + SCATTER_RECORDS + dynamic_records()
