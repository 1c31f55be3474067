"""The CuPy backend on a real GPU: the table of cupy_cases.py run through
`jit(f, backend="cupy")` against the NumPy backend, random bits bit for bit. Skipped
where CuPy or a GPU is missing (test_cupy_on_host.py runs the same kernels' code on the
host there)."""

import numpy as np
import pytest
from cupy_cases import CASES, compile_case, x64_as

import funcgrad as fg
from funcgrad.runtime.devices import devices

pytestmark = pytest.mark.eager_only("runs compiled programs directly; jit mode adds nothing")

cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
try:
    gpus = devices("gpu")
except RuntimeError:
    gpus = []
if not gpus:
    pytest.skip("CuPy finds no GPU", allow_module_level=True)

# Bit for bit: integer results, and floats made from random bits by bit operations.
EXACT = {"threefry2x32", "random bits", "random uniform"}


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_program_on_the_gpu_agrees_with_the_numpy_backend(case):
    compiled = compile_case(case, CASES.index(case))
    with x64_as(case):
        want = fg.tree.leaves(fg.jit(case.fun, backend="numpy")(*case.args))
        in_avals = compiled.lowered.traced.in_avals
        buffers = [np.asarray(x, aval.dtype) for x, aval in zip(case.args, in_avals)]
        got = compiled.program(*buffers)
    for g, w in zip(got, want):
        g, w = np.asarray(g), np.asarray(w)
        assert (g.dtype, g.shape) == (w.dtype, w.shape)
        if case.name in EXACT or g.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w)
        else:
            tolerance = 2e-5 if g.dtype == np.float32 else 1e-12
            np.testing.assert_allclose(g, w, rtol=tolerance, atol=tolerance, equal_nan=True)


def test_default_jit_backend_is_the_gpu():
    assert fg.default_backend() == "gpu"
    f = fg.jit(lambda x: fg.numpy.tanh(x) * 2.0)
    assert f.backend == "cupy"
    np.testing.assert_allclose(f(np.ones(1000, np.float32)), np.tanh(np.ones(1000)) * 2, rtol=1e-6)
