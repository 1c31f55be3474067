"""Arrays on the GPU, run against fake_cupy.py: a CuPy stand-in whose arrays refuse to
become NumPy arrays implicitly (as CuPy's do) and whose kernels are the generated CUDA
compiled for the host. Checked here: where arrays are made and where operations run
(committed and uncommitted arrays, as in JAX), eager operations and jit on GPU arrays with
their results left on the GPU, gradients and random bits computed there against the CPU,
convolution on the device, transfers only where asked for, the mixing-devices error, and
`__cuda_array_interface__`/DLPack in and out without copies. A real GPU runs the same
paths in test_cupy_gpu.py when one is present."""

import os

import numpy as np
import pytest
from cuda_host import CXX

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax

pytestmark = [
    pytest.mark.eager_only("places arrays on a stand-in GPU; jit mode adds nothing"),
    pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++ or clang++) on this machine"),
]

THIS_FILE = os.path.basename(__file__)


@pytest.fixture
def cupy(monkeypatch):
    import fake_cupy

    for variable in ("FUNCGRAD_PLATFORMS", "JAX_PLATFORMS", "FUNCGRAD_BACKEND"):
        monkeypatch.delenv(variable, raising=False)
    return fake_cupy.install(monkeypatch)


def on_gpu(x) -> bool:
    import fake_cupy

    return type(x._value) is fake_cupy.ndarray and x.device.platform == "gpu"


def test_new_arrays_live_on_the_default_gpu(cupy):
    assert fg.default_backend() == "gpu"
    gpu = fg.devices()[0]
    host = np.arange(6, dtype=np.float32).reshape(2, 3)
    for x in (jnp.asarray(host), jnp.array([1, 2]), jnp.zeros((2, 2)), jnp.asarray(2.0)):
        assert on_gpu(x) and x.devices() == {gpu} and not x.committed
    x = jnp.asarray(host)
    before = cupy.state.to_host
    np.testing.assert_array_equal(np.asarray(x), host)  # an explicit copy to the host
    assert cupy.state.to_host == before + 1
    assert repr(x) == "Array([[0., 1., 2.],\n       [3., 4., 5.]], dtype=float32)"
    assert float(x[1, 2]) == 5.0 and x.tolist() == host.tolist()


def test_eager_operations_run_on_the_gpu_and_stay_there(cupy):
    host = np.linspace(-2.0, 3.0, 12, dtype=np.float32).reshape(3, 4)
    x = jnp.asarray(host)
    before = cupy.state.to_host
    y = jnp.tanh(x) * 2.0 + x
    total = y.sum(axis=1)
    assert on_gpu(y) and on_gpu(total)
    assert cupy.state.to_host == before  # nothing came back to the host
    assert {"eager_tanh_group0", "eager_reduce_sum_group0"} <= set(cupy.state.launched)
    want = np.tanh(host) * 2.0 + host
    np.testing.assert_allclose(np.asarray(y), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(total), want.sum(axis=1), rtol=1e-5)
    product = x @ x.T  # cuBLAS's place: cupy.matmul
    np.testing.assert_allclose(np.asarray(product), host @ host.T, rtol=1e-5)


def test_jit_on_gpu_arrays_runs_there_and_returns_gpu_arrays(cupy):
    host = np.arange(8, dtype=np.float32).reshape(2, 4) / 4
    f = fg.jit(lambda a, b: jax_softmax(a) * b)
    x, w = jnp.asarray(host), jnp.asarray(host[::-1])
    before = cupy.state.to_host
    out = f(x, w)
    assert on_gpu(out) and cupy.state.to_host == before
    assert f.lower(x, w).compile().as_text().count("__global__") >= 1
    e = np.exp(host - host.max(axis=1, keepdims=True))
    want = e / e.sum(axis=1, keepdims=True) * host[::-1]
    np.testing.assert_allclose(np.asarray(out), want, rtol=1e-6)


def jax_softmax(a):
    e = jnp.exp(a - a.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_gradients_on_the_gpu_match_the_closed_form(cupy):
    host = np.linspace(-1.5, 1.5, 6, dtype=np.float32)
    x = jnp.asarray(host)
    g = fg.grad(lambda a: (jnp.tanh(a) ** 2).sum())(x)
    assert on_gpu(g)
    t = np.tanh(host)
    np.testing.assert_allclose(np.asarray(g), 2 * t * (1 - t**2), rtol=1e-5, atol=1e-7)


def test_random_bits_on_the_gpu_are_the_cpus(cupy):
    cpu = fg.devices("cpu")[0]
    key = fg.random.PRNGKey(42)
    on_host = fg.device_put(key, cpu)
    assert on_gpu(key) and not on_gpu(on_host)
    bits = fg.random.bits(key, (64,))
    uniform = fg.random.uniform(key, (64,))
    assert on_gpu(bits) and on_gpu(uniform)
    np.testing.assert_array_equal(np.asarray(bits), np.asarray(fg.random.bits(on_host, (64,))))
    np.testing.assert_array_equal(
        np.asarray(uniform), np.asarray(fg.random.uniform(on_host, (64,)))
    )


def test_convolution_runs_on_the_device(cupy):
    rng = np.random.default_rng(0)
    image = rng.standard_normal((2, 5, 5, 3)).astype(np.float32)
    kernel = rng.standard_normal((3, 3, 3, 4)).astype(np.float32)
    numbers = ("NHWC", "HWIO", "NHWC")
    cpu = fg.devices("cpu")[0]
    want = lax.conv_general_dilated(
        fg.device_put(image, cpu),
        fg.device_put(kernel, cpu),
        (1, 1),
        "SAME",
        dimension_numbers=numbers,
    )
    x, w = jnp.asarray(image), jnp.asarray(kernel)
    before = cupy.state.to_host
    got = lax.conv_general_dilated(x, w, (1, 1), "SAME", dimension_numbers=numbers)
    assert on_gpu(got) and cupy.state.to_host == before  # im2col and the product on the GPU
    np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-5)


def test_committed_arrays_decide_where_operations_run(cupy):
    cpu, gpu = fg.devices("cpu")[0], fg.devices("gpu")[0]
    x = fg.device_put(np.arange(3.0, dtype=np.float32), cpu)
    assert x.committed and not on_gpu(x)
    loose = jnp.ones(3)  # uncommitted, on the default device (the GPU)
    assert on_gpu(loose)
    mixed = x + loose  # follows the committed operand: computed on the CPU
    assert mixed.committed and mixed.device == cpu
    np.testing.assert_array_equal(np.asarray(mixed), [1.0, 2.0, 3.0])
    on_device = fg.device_put(x, gpu)
    assert on_gpu(on_device) and on_device.committed
    assert fg.jit(lambda a: a * 2.0)(on_device).device == gpu
    back = fg.device_get({"x": on_device})["x"]
    assert type(back) is np.ndarray
    np.testing.assert_array_equal(back, [0.0, 1.0, 2.0])


def test_arrays_committed_to_different_devices_do_not_mix(cupy):
    cpu, gpu = fg.devices("cpu")[0], fg.devices("gpu")[0]
    a = fg.device_put(np.ones(3, np.float32), cpu)
    b = fg.device_put(np.ones(3, np.float32), gpu)
    devices = r"CpuDevice\(id=0\) \(argument 0\), CudaDevice\(id=0\) \(argument 1\)"
    expected = rf"add at {THIS_FILE}.*committed to different devices: {devices}.*device_put"
    with pytest.raises(ValueError, match=expected):
        a + b
    with pytest.raises(ValueError, match=r"jit\(<lambda>\) at .*mixes arrays committed"):
        fg.jit(lambda u, v: u * v)(a, b)


def test_a_cpu_default_leaves_the_gpu_to_committed_arrays(cupy, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_PLATFORMS", "cpu,gpu")
    x = jnp.arange(4.0)
    assert x.device.platform == "cpu" and fg.jit(lambda a: a + 1).backend == "llvm"
    on_device = fg.device_put(x, fg.devices("gpu")[0])
    double = fg.jit(lambda a: a * 2.0)
    out = double(on_device)  # the GPU's backend, though the default is the CPU's
    assert on_gpu(out) and out.committed
    np.testing.assert_array_equal(np.asarray(out), [0.0, 2.0, 4.0, 6.0])
    before = cupy.state.to_host
    total, _ = lax.scan(lambda c, v: (c + v, c), jnp.zeros(()), on_device)
    assert on_gpu(total) and total.committed and cupy.state.to_host == before
    assert float(total) == 6.0
    # A backend named outright runs where it runs: here the GPU array is read at its boundary.
    host_out = fg.jit(lambda a: a * 2.0, backend="llvm")(on_device)
    assert not on_gpu(host_out)
    np.testing.assert_array_equal(np.asarray(host_out), [0.0, 2.0, 4.0, 6.0])


def test_cuda_array_interface_and_dlpack_share_memory(cupy):
    x = jnp.asarray(np.arange(6, dtype=np.float32))
    interface = x.__cuda_array_interface__
    assert interface["data"][0] == x._value.__cuda_array_interface__["data"][0]
    seen = cupy.asarray(x)  # CuPy reads the interface: the same memory, no copy
    assert seen.__cuda_array_interface__["data"][0] == interface["data"][0]
    exported = cupy.from_dlpack(x)
    np.testing.assert_array_equal(exported.get(), np.arange(6))
    assert exported.__cuda_array_interface__["data"][0] == interface["data"][0]
    assert x.__dlpack_device__() == (2, 0)


def test_gpu_arrays_come_in_without_copies(cupy):
    source = cupy.asarray(np.arange(4, dtype=np.float32))
    shared = jnp.from_dlpack(source)
    assert on_gpu(shared)
    assert shared.__cuda_array_interface__["data"][0] == source.__cuda_array_interface__["data"][0]
    copied = jnp.from_dlpack(source, copy=True)
    assert copied.__cuda_array_interface__["data"][0] != source.__cuda_array_interface__["data"][0]
    made = jnp.asarray(source)  # asarray copies, as for NumPy arrays
    assert on_gpu(made)
    np.testing.assert_array_equal(np.asarray(made * 2.0), [0.0, 2.0, 4.0, 6.0])


def test_host_arrays_have_no_cuda_array_interface():
    x = jnp.ones(2)
    assert not hasattr(x, "__cuda_array_interface__")
    with pytest.raises(AttributeError, match="host memory.*device_put"):
        _ = x.__cuda_array_interface__


def test_block_until_ready_waits_for_the_gpu(cupy):
    x = jnp.ones(3) * 2.0
    before = cupy.state.synchronized
    assert fg.block_until_ready({"x": x})["x"] is x
    assert cupy.state.synchronized == before + 1


def test_donating_a_gpu_array_invalidates_it(cupy):
    x = jnp.asarray(np.arange(4, dtype=np.float32))
    step = fg.jit(lambda a: a + 1.0, donate_argnums=0)
    out = step(x)
    assert on_gpu(out) and x.is_deleted()
    np.testing.assert_array_equal(np.asarray(out), [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(RuntimeError, match="donated"):
        x + 1.0


def test_reading_a_gpu_array_on_the_host_without_a_copy_is_refused(cupy):
    x = jnp.ones(2)
    with pytest.raises(ValueError, match=rf"copy=False.*{THIS_FILE}.*CudaDevice\(id=0\).*copies"):
        np.asarray(x, copy=False)


def test_eager_control_flow_keeps_its_values_on_the_gpu(cupy):
    xs = jnp.asarray(np.arange(1.0, 5.0, dtype=np.float32))
    carry, ys = lax.scan(lambda c, x: (c * x, c + x), jnp.asarray(1.0), xs)
    assert on_gpu(carry) and on_gpu(ys)
    np.testing.assert_allclose(np.asarray(carry), 24.0)
    np.testing.assert_allclose(np.asarray(ys), [2.0, 3.0, 5.0, 10.0])
    count = lax.while_loop(lambda v: v < 100.0, lambda v: v * 3.0, jnp.asarray(1.0))
    assert on_gpu(count) and float(count) == 243.0
    picked = lax.cond(xs.sum() > 5.0, lambda v: v * 2.0, lambda v: -v, xs)
    assert on_gpu(picked)
    np.testing.assert_allclose(np.asarray(picked), [2.0, 4.0, 6.0, 8.0])
    softplus = jnp.logaddexp(xs, 0.0)  # custom_jvp inside
    np.testing.assert_allclose(
        np.asarray(softplus), np.logaddexp(np.arange(1.0, 5.0), 0.0), rtol=1e-6
    )


def test_repeated_jit_calls_on_gpu_arrays_take_the_fast_path(cupy, monkeypatch):
    double = fg.jit(lambda a: a * 2.0)
    x = jnp.asarray(np.arange(3, dtype=np.float32))
    double(x)
    lookups = []
    full_lookup = type(double)._lookup
    monkeypatch.setattr(
        type(double), "_lookup", lambda self, *a: lookups.append(1) or full_lookup(self, *a)
    )
    out = double(jnp.asarray(np.ones(3, np.float32)))
    assert on_gpu(out) and lookups == []
    np.testing.assert_array_equal(np.asarray(out), [2.0, 2.0, 2.0])
    committed = fg.device_put(x, fg.devices("gpu")[0])
    assert double(committed).committed and lookups == [1]  # not the fast path's case
    host = fg.device_put(x, fg.devices("cpu")[0])
    assert double(host).device.platform == "cpu" and len(lookups) == 2


@pytest.mark.parametrize(
    "count, expected", [(0, "CuPy finds no GPU"), (None, "CuPy finds no usable GPU")]
)
def test_using_the_gpu_when_cupy_finds_none_says_what_to_do(cupy, count, expected):
    def device_count():
        if count is None:
            raise cupy.cuda.runtime.CUDARuntimeError("cudaErrorNoDevice")
        return count

    cupy.cuda.runtime.getDeviceCount = device_count
    with pytest.raises(RuntimeError, match=rf"{expected}.*cupy-cuda12x.*backend=\"llvm\""):
        jnp.ones(2)  # an operation on the default device: the GPU
