"""Matrix products for the LLVM backend: NumPy's BLAS, with the rows of the product split
across cores.

BLAS reads transposed operands in place (the simplifier picks layouts that let it), so a
product is one `np.matmul` call; with one BLAS thread per process -- how NumPy is usually
run next to other work, and the only setting where funcgrad's own threads and BLAS's do not
compete -- a large product still runs on one core. Here the rows of the output go to the
kernel thread pool in contiguous blocks, each block one `np.matmul` on a slice of the left
operand into a slice of the output: NumPy releases the GIL inside BLAS, so the blocks run in
parallel, and row slices of C- or F-ordered operands stay BLAS-readable, so nothing is
copied. Products too small to pay for a thread hand-off run as one call.
"""

from __future__ import annotations

import numpy as np

from funcgrad.backends.llvm.threads import run_kernel
from funcgrad.backends.numpy.kernels import dot_into

__all__ = ["parallel_dot_into"]


def parallel_dot_into(lhs, rhs, out, dimension_numbers) -> None:
    """`dot_into` (dot_general into `out`) with a 2-D product's rows split across cores."""
    (lc, rc), (lb, _) = dimension_numbers
    if (
        not lb
        and lc == (lhs.ndim - 1,)
        and lhs.ndim > 2
        and rhs.ndim == 2
        and lhs.flags.c_contiguous
        and out.flags.c_contiguous
    ):
        # Leading axes of the left operand are more rows (a product hoisted out of a scan
        # has steps x batch of them): a 2-D product over the same memory.
        lhs, out = lhs.reshape(-1, lhs.shape[-1]), out.reshape(-1, out.shape[-1])
        dimension_numbers = (((1,), rc), ((), ()))
        lc = (1,)
    leading = tuple(range(lhs.ndim - 1))
    if (
        not lb
        and lhs.ndim > 2
        and lc == rc == leading
        and rhs.ndim == lhs.ndim
        and lhs.flags.c_contiguous
        and rhs.flags.c_contiguous
    ):
        # Both operands contract all but their last axis (a sum over steps and examples,
        # as scan hoisting makes for accumulated weight gradients): one 2-D a.T @ b.
        lhs, rhs = lhs.reshape(-1, lhs.shape[-1]), rhs.reshape(-1, rhs.shape[-1])
        dimension_numbers = (((0,), (0,)), ((), ()))
        lc, rc = (0,), (0,)
    if lb or len(lc) != 1 or lhs.ndim != 2 or rhs.ndim != 2 or out.ndim != 2:
        dot_into(lhs, rhs, out, dimension_numbers)
        return
    a = lhs.T if lc[0] == 0 else lhs
    b = rhs.T if rc[0] == 1 else rhs

    def rows(start: int, stop: int, _) -> None:
        np.matmul(a[start:stop], b, out=out[start:stop])

    # A row costs a multiply-add per element of b; BLAS does about four in the time of one
    # of the element-operations run_kernel's threshold counts, so a product needs some 4M
    # multiply-adds (an MLP layer's, not a small RNN cell's) before it is split.
    run_kernel(rows, a.shape[0], None, work_per_iteration=b.size / 4)
