"""The LLVM backend's matrix products: NumPy's BLAS with the product's rows split across the
kernel threads, for every layout of the operands, against NumPy."""

import threading
import types

import numpy as np
import pytest

import funcgrad as fg
from funcgrad.backends.llvm import matmul, threads

rng = np.random.default_rng(11)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


LAYOUTS = [
    ("a @ b", (96, 70), (70, 50), (((1,), (0,)), ((), ()))),
    ("a.T @ b", (70, 96), (70, 50), (((0,), (0,)), ((), ()))),
    ("a @ b.T", (96, 70), (50, 70), (((1,), (1,)), ((), ()))),
    ("a.T @ b.T", (70, 96), (50, 70), (((0,), (1,)), ((), ()))),
]


@pytest.mark.parametrize("name, lhs, rhs, dims", LAYOUTS, ids=[layout[0] for layout in LAYOUTS])
def test_row_blocks_give_numpys_product(name, lhs, rhs, dims, monkeypatch):
    # A threshold of 0 splits even this product across the threads.
    monkeypatch.setattr(threads, "_default_runner", threads.ChunkRunner(3, threshold=0))
    a, b = f32(*lhs), f32(*rhs)
    out = np.full((96, 50), np.nan, np.float32)
    matmul.parallel_dot_into(a, b, out, dims)
    left = a.T if dims[0][0] == (0,) else a
    right = b.T if dims[0][1] == (1,) else b
    np.testing.assert_allclose(out, left @ right, rtol=1e-5, atol=1e-4)


def test_large_products_run_on_several_threads(monkeypatch):
    monkeypatch.setattr(threads, "_default_runner", threads.ChunkRunner(2))
    seen = set()

    def recording_matmul(a, b, *, out):
        seen.add(threading.get_ident())
        np.matmul(a, b, out=out)

    monkeypatch.setattr(matmul, "np", types.SimpleNamespace(matmul=recording_matmul))
    a, b = f32(256, 512), f32(512, 256)
    out = np.empty((256, 256), np.float32)
    matmul.parallel_dot_into(a, b, out, (((1,), (0,)), ((), ())))
    assert len(seen) == 2
    np.testing.assert_allclose(out, a @ b, rtol=1e-5, atol=1e-3)
    seen.clear()
    small = np.empty((4, 4), np.float32)
    matmul.parallel_dot_into(f32(4, 3), f32(3, 4), small, (((1,), (0,)), ((), ())))
    assert len(seen) == 1  # too little work to hand to another thread


@pytest.mark.parametrize("rhs_transposed", [False, True])
def test_leading_axes_of_the_left_operand_are_split_as_rows(rhs_transposed, monkeypatch):
    # (steps, batch, in) x (in, out): a scan-hoisted product, run as one 2-D product whose
    # rows go to the threads.
    monkeypatch.setattr(threads, "_default_runner", threads.ChunkRunner(3, threshold=0))
    seen = []

    def recording_matmul(a, b, *, out):
        seen.append(a.shape)
        np.matmul(a, b, out=out)

    monkeypatch.setattr(matmul, "np", types.SimpleNamespace(matmul=recording_matmul))
    a = f32(5, 6, 7)
    b = f32(4, 7) if rhs_transposed else f32(7, 4)
    dims = (((2,), (1,) if rhs_transposed else (0,)), ((), ()))
    out = np.full((5, 6, 4), np.nan, np.float32)
    matmul.parallel_dot_into(a, b, out, dims)
    want = np.einsum("sbi,oi->sbo" if rhs_transposed else "sbi,io->sbo", a, b)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-5)
    assert len(seen) == 3 and sum(shape[0] for shape in seen) == 30


def test_products_contracting_every_leading_axis_are_split_as_rows(monkeypatch):
    # (steps, batch, m) x (steps, batch, n) contracting steps and batch: a.T @ b in 2-D.
    monkeypatch.setattr(threads, "_default_runner", threads.ChunkRunner(2, threshold=0))
    a, b = f32(5, 6, 7), f32(5, 6, 4)
    out = np.full((7, 4), np.nan, np.float32)
    matmul.parallel_dot_into(a, b, out, (((0, 1), (0, 1)), ((), ())))
    np.testing.assert_allclose(out, np.einsum("sbm,sbn->mn", a, b), rtol=1e-5, atol=1e-5)


def test_batched_products_and_jitted_programs_match_numpy():
    x, y = f32(3, 20, 30), f32(3, 30, 10)
    out = np.empty((3, 20, 10), np.float32)
    matmul.parallel_dot_into(x, y, out, (((2,), (1,)), ((0,), (0,))))
    np.testing.assert_allclose(out, x @ y, rtol=1e-5, atol=1e-4)
    w, h = f32(300, 200), f32(64, 300)
    got = fg.jit(lambda w, h: h @ w @ w.T, backend="llvm")(w, h)
    np.testing.assert_allclose(np.asarray(got), h @ w @ w.T, rtol=1e-4, atol=1e-2)
