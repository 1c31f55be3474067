"""Op records for funcgrad/lax/linalg.py: dot_general."""

from __future__ import annotations

import numpy as np
from op_records import ACCUMULATING, NUMERIC, OpRecord, matmul_operands

from funcgrad import lax

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
]
