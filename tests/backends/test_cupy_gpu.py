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
        g, w = cupy.asnumpy(g), np.asarray(w)  # the program's outputs stay on the GPU
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
    out = f(np.ones(1000, np.float32))
    assert out.device == gpus[0] and isinstance(out._value, cupy.ndarray)
    np.testing.assert_allclose(np.asarray(out), np.tanh(np.ones(1000)) * 2, rtol=1e-6)


def test_arrays_and_eager_operations_live_on_the_gpu():
    x = fg.numpy.arange(12.0).reshape(3, 4)
    y = (fg.numpy.sin(x) @ x.T).sum(axis=0)
    assert x.device == y.device == gpus[0] and isinstance(y._value, cupy.ndarray)
    host = np.arange(12.0).reshape(3, 4)
    np.testing.assert_allclose(np.asarray(y), (np.sin(host) @ host.T).sum(axis=0), rtol=1e-5)


def test_random_bits_on_the_gpu_are_the_cpus():
    key = fg.random.PRNGKey(7)
    on_cpu = fg.device_put(key, fg.devices("cpu")[0])
    for draw in (fg.random.bits, fg.random.uniform, fg.random.normal):
        got, want = draw(key, (1000,)), draw(on_cpu, (1000,))
        assert got.device == gpus[0] and want.device.platform == "cpu"
        if draw is fg.random.normal:  # through erf_inv: CUDA's math library, not the CPU's
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=2e-6, atol=2e-6)
        else:
            np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_torch_cuda_tensors_pass_without_copies():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    tensor = torch.arange(6, dtype=torch.float32, device="cuda")
    x = fg.numpy.from_dlpack(tensor)
    assert x.__cuda_array_interface__["data"][0] == tensor.data_ptr()
    back = torch.from_dlpack(x * 2.0)
    assert back.is_cuda
    np.testing.assert_array_equal(back.cpu().numpy(), np.arange(6) * 2.0)
