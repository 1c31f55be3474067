"""Op records for funcgrad/lax/linalg.py: dot_general and the factorizations.

References for the factorizations are NumPy's LAPACK routines in float64 (on the same,
upcast inputs) or, for lu, a scalar textbook elimination loop; inputs are well
conditioned (symmetric positive definite for cholesky and eigh, a dominant diagonal for
the triangular solves and lu) so that float16/bfloat16 results, computed in float32 and
rounded, stay within the tolerances.
"""

from __future__ import annotations

import numpy as np
from op_records import ACCUMULATING, BF16, F16, F32, FLOATS, I32, NUMERIC, OpRecord, matmul_operands

from funcgrad import lax

# A factorization of a small well-conditioned matrix loses a few units of the last place.
FACTORIZATION = {"float32": 2e-4, "float16": 2e-2, "bfloat16": 1.2e-1}
SQUARE_SHAPES = ((1, 1), (3, 3), (2, 4, 4), (0, 0), (0, 2, 2), (2, 0, 0))
RECTANGULAR_SHAPES = ((3, 2), (2, 3), (2, 4, 3), (1, 1), (0, 3), (3, 0))


def _matrix(rng, shape, dtype):
    return rng.uniform(-1.0, 1.0, size=shape).astype(dtype)


def _matrices(rng, shape, dtype):
    return [_matrix(rng, shape, dtype)]


def _dominant(rng, shape, dtype):
    """A matrix whose diagonal outweighs each row: nonsingular, pivots stay put."""
    n = shape[-1]
    return (rng.uniform(-1.0, 1.0, size=shape) + 2.0 * n * np.eye(n)).astype(dtype)


def _positive_definite(rng, shape, dtype):
    a = rng.uniform(-1.0, 1.0, size=shape)
    spd = a @ np.swapaxes(a, -1, -2) + shape[-1] * np.eye(shape[-1])
    return [spd.astype(dtype)]


def _triangular_solve_operands(left_side):
    # `shape` is (*batch, m, k): a is [*batch, m, m], b is [*batch, m, k] or [*batch, k, m].
    def make(rng, shape, dtype):
        *batch, m, k = shape
        b_shape = (*batch, m, k) if left_side else (*batch, k, m)
        return [_dominant(rng, (*batch, m, m), dtype), _matrix(rng, b_shape, dtype)]

    return make


def _reference_triangular_solve(left_side, lower, transpose_a, unit_diagonal):
    def reference(a, b):
        tri = np.tril(a) if lower else np.triu(a)
        if unit_diagonal:
            tri = (
                tri
                - np.diagonal(tri, 0, -2, -1)[..., None] * np.eye(a.shape[-1])
                + np.eye(a.shape[-1])
            )
        if transpose_a:
            tri = np.swapaxes(tri, -1, -2)
        if a.shape[-1] == 0:
            return np.zeros(b.shape)
        if left_side:
            return np.linalg.solve(tri, b)
        return np.swapaxes(
            np.linalg.solve(np.swapaxes(tri, -1, -2), np.swapaxes(b, -1, -2)), -1, -2
        )

    return reference


def _reference_lu(a):
    """Row-by-row Gaussian elimination with partial pivoting, one matrix at a time."""
    *batch, m, n = a.shape
    k = min(m, n)
    lu = np.array(a, np.float64)
    pivots = np.zeros((*batch, k), np.int32)
    permutation = np.zeros((*batch, m), np.int32)
    for index in np.ndindex(*batch):
        mat, rows = lu[index], list(range(m))
        for j in range(k):
            p = max(range(j, m), key=lambda r: abs(mat[r, j]))
            pivots[index][j] = p
            mat[[j, p]] = mat[[p, j]]
            rows[j], rows[p] = rows[p], rows[j]
            for r in range(j + 1, m):
                if mat[j, j] != 0:
                    mat[r, j] /= mat[j, j]
                for c in range(j + 1, n):
                    mat[r, c] -= mat[r, j] * mat[j, c]
        permutation[index] = rows
    return [lu, pivots, permutation]


def _reference_svd(full_matrices):
    def reference(a):
        if a.size == 0:
            *batch, m, n = a.shape
            s = np.zeros((*batch, min(m, n)))
            u = np.broadcast_to(
                np.eye(m, m if full_matrices else 0), (*batch, m, m if full_matrices else 0)
            )
            vh = np.broadcast_to(
                np.eye(n if full_matrices else 0, n), (*batch, n if full_matrices else 0, n)
            )
            return [s, u, vh]
        u, s, vh = np.linalg.svd(a, full_matrices=full_matrices)
        return [s, u, vh]

    return reference


def _reference_qr(full_matrices):
    def reference(a):
        *batch, m, n = a.shape
        if a.size == 0:
            inner = m if full_matrices else min(m, n)
            q = np.broadcast_to(np.eye(m, inner), (*batch, m, inner))
            return [q, np.zeros((*batch, inner, n))]
        return list(np.linalg.qr(a, mode="complete" if full_matrices else "reduced"))

    return reference


def svd_outputs(outs):
    u, s, vh = outs
    return [s, u, vh]


def _eigh_reference(a):
    w, v = np.linalg.eigh(a)
    return [v, w]


RECORDS = [
    OpRecord(
        "dot_general_matmul",
        "dot_general",
        "dot_general",
        lambda a, b: lax.dot_general(a, b, (((1,), (0,)), ((), ()))),
        lambda a, b: np.einsum("mk,kn->mn", a, b),
        2,
        NUMERIC,
        matmul_operands("mk", "kn"),
        ACCUMULATING,
        shapes=((1, 2, 3, 4), (1, 3, 2, 3), (1, 0, 3, 2), (1, 2, 0, 4), (1, 1, 1, 1)),
    ),
    OpRecord(
        "dot_general_vectors",
        "dot_general",
        "dot_general",
        lambda a, b: lax.dot_general(a, b, (((0,), (0,)), ((), ()))),
        lambda a, b: np.einsum("k,k->", a, b),
        2,
        NUMERIC,
        matmul_operands("k", "k"),
        ACCUMULATING,
        shapes=((1, 1, 0, 1), (1, 1, 5, 1)),
    ),
    OpRecord(
        "dot_general_batched",
        "dot_general",
        "dot_general",
        lambda a, b: lax.dot_general(a, b, (((2,), (1,)), ((0,), (0,)))),
        lambda a, b: np.einsum("bmk,bkn->bmn", a, b),
        2,
        NUMERIC,
        matmul_operands("bmk", "bkn"),
        ACCUMULATING,
        shapes=((3, 2, 4, 2), (2, 3, 2, 3), (0, 2, 3, 2), (2, 1, 0, 3)),
    ),
    OpRecord(
        "dot_general_transposed_contraction",
        "dot_general",
        "dot_general",
        lambda a, b: lax.dot_general(a, b, (((0,), (1,)), ((), ()))),
        lambda a, b: np.einsum("km,nk->mn", a, b),
        2,
        NUMERIC,
        matmul_operands("km", "nk"),
        ACCUMULATING,
        shapes=((1, 3, 4, 2),),
    ),
    OpRecord(
        "dot_general_outer",
        "dot_general",
        "dot_general",
        lambda a, b: lax.dot_general(a, b, (((), ()), ((), ()))),
        lambda a, b: np.einsum("m,n->mn", a, b),
        2,
        NUMERIC,
        matmul_operands("m", "n"),
        ACCUMULATING,
        shapes=((1, 3, 1, 4), (1, 0, 1, 2)),
    ),
    OpRecord(
        "cholesky",
        "linalg.cholesky",
        "cholesky",
        lambda a: lax.linalg.cholesky(a, symmetrize_input=False),
        np.linalg.cholesky,
        1,
        FLOATS,
        _positive_definite,
        FACTORIZATION,
        shapes=SQUARE_SHAPES,
    ),
    *(
        OpRecord(
            f"triangular_solve_{'left' if left else 'right'}_{'lower' if lower else 'upper'}"
            f"{'_transposed' if transpose else ''}{'_unit' if unit else ''}",
            "linalg.triangular_solve",
            "triangular_solve",
            lambda a, b, left=left, lower=lower, transpose=transpose, unit=unit: (
                lax.linalg.triangular_solve(
                    a,
                    b,
                    left_side=left,
                    lower=lower,
                    transpose_a=transpose,
                    unit_diagonal=unit,
                )
            ),
            _reference_triangular_solve(left, lower, transpose, unit),
            2,
            FLOATS,
            _triangular_solve_operands(left),
            FACTORIZATION,
            shapes=((1, 1), (3, 2), (2, 4, 3), (0, 2), (3, 0), (0, 2, 1)),
        )
        for left, lower, transpose, unit in (
            (True, True, False, False),
            (True, False, False, True),
            (True, True, True, False),
            (False, True, False, False),
            (False, False, True, True),
        )
    ),
    OpRecord(
        "lu",
        "linalg.lu",
        "lu",
        lambda a: lax.linalg.lu(a),
        _reference_lu,
        1,
        (F32, F16, BF16),
        _matrices,
        FACTORIZATION,
        shapes=SQUARE_SHAPES + RECTANGULAR_SHAPES,
        out_dtype=lambda dtype: (dtype, I32, I32),
    ),
    *(
        OpRecord(
            f"qr_{'full' if full else 'reduced'}",
            "linalg.qr",
            "qr",
            lambda a, full=full: lax.linalg.qr(a, full_matrices=full),
            _reference_qr(full),
            1,
            (F32,),
            _matrices,
            FACTORIZATION,
            shapes=RECTANGULAR_SHAPES + ((3, 3), (0, 0)),
        )
        for full in (True, False)
    ),
    OpRecord(
        "svd_values",
        "linalg.svd",
        "svd",
        lambda a: lax.linalg.svd(a, compute_uv=False),
        lambda a: (
            np.linalg.svd(a, compute_uv=False)
            if a.size
            else np.zeros((*a.shape[:-2], min(a.shape[-2:])))
        ),
        1,
        FLOATS,
        _matrices,
        FACTORIZATION,
        shapes=RECTANGULAR_SHAPES + SQUARE_SHAPES,
    ),
    *(
        OpRecord(
            f"svd_{'full' if full else 'reduced'}",
            "linalg.svd",
            "svd",
            # The primitive's outputs are (s, u, vh); the wrapper returns (u, s, vh).
            lambda a, full=full: svd_outputs(lax.linalg.svd(a, full_matrices=full)),
            _reference_svd(full),
            1,
            (F32,),
            _matrices,
            FACTORIZATION,
            shapes=RECTANGULAR_SHAPES + ((3, 3), (0, 0)),
        )
        for full in (True, False)
    ),
    OpRecord(
        "eigh",
        "linalg.eigh",
        "eigh",
        lambda a: lax.linalg.eigh(a, symmetrize_input=False),
        _eigh_reference,
        1,
        (F32,),
        _positive_definite,
        FACTORIZATION,
        shapes=((1, 1), (3, 3), (2, 4, 4), (0, 0), (0, 2, 2)),
    ),
]
