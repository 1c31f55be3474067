"""Devices as JAX names them: the CPU device, GPUs found through CuPy (faked here, where
there is none), the default platform and its overrides (FUNCGRAD_PLATFORMS, JAX_PLATFORMS),
the backend jit picks from it, device_put/device_get over pytrees, block_until_ready and
the arrays' own devices."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
import funcgrad.runtime.devices as device_module
from funcgrad.compiler.jit import default_jit_backend
from funcgrad.runtime.devices import Device

FAKE_GPU = Device(0, "gpu", "Fake GPU")


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for variable in ("FUNCGRAD_PLATFORMS", "JAX_PLATFORMS", "FUNCGRAD_BACKEND"):
        monkeypatch.delenv(variable, raising=False)


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(device_module, "_gpus", lambda: ())


@pytest.fixture
def fake_gpu(monkeypatch):
    monkeypatch.setattr(device_module, "_gpus", lambda: (FAKE_GPU,))


def test_the_cpu_is_the_default_without_a_gpu(no_gpu):
    assert fg.default_backend() == "cpu"
    assert fg.devices() == fg.devices("cpu") == fg.local_devices() == [fg.devices()[0]]
    (cpu,) = fg.devices()
    assert (cpu.id, cpu.platform, cpu.process_index) == (0, "cpu", 0)
    assert repr(cpu) == "CpuDevice(id=0)"
    assert default_jit_backend() == "llvm"


def test_asking_for_a_missing_gpu_says_what_to_install(no_gpu):
    with pytest.raises(RuntimeError, match="no GPU here.*cupy-cuda12x"):
        fg.devices("gpu")
    with pytest.raises(ValueError, match="unknown backend.*cpu, cuda, gpu"):
        fg.devices("tpu")


def test_a_gpu_becomes_the_default_platform_and_jit_backend(fake_gpu):
    assert fg.default_backend() == "gpu"
    assert fg.devices() == fg.devices("cuda") == [FAKE_GPU]
    assert repr(FAKE_GPU) == "CudaDevice(id=0)"
    assert fg.devices("cpu")[0].platform == "cpu"
    assert default_jit_backend() == "cupy"


@pytest.mark.parametrize("variable", ["FUNCGRAD_PLATFORMS", "JAX_PLATFORMS"])
def test_platform_variables_restrict_and_order_the_platforms(fake_gpu, monkeypatch, variable):
    monkeypatch.setenv(variable, "cpu")
    assert fg.default_backend() == "cpu" and default_jit_backend() == "llvm"
    with pytest.raises(RuntimeError, match="restrict the platforms to cpu"):
        fg.devices("gpu")
    monkeypatch.setenv(variable, "cpu,cuda")
    assert fg.default_backend() == "cpu" and fg.devices("gpu") == [FAKE_GPU]
    monkeypatch.setenv(variable, "gpu")
    assert fg.default_backend() == "gpu"


def test_funcgrad_platforms_wins_over_jax_platforms(fake_gpu, monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "gpu")
    monkeypatch.setenv("FUNCGRAD_PLATFORMS", "cpu")
    assert fg.default_backend() == "cpu"


def test_funcgrad_backend_wins_over_the_platform_for_jit(fake_gpu, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_BACKEND", "numpy")
    assert default_jit_backend() == "numpy"
    assert fg.jit(lambda x: x).backend == "numpy"


def test_platform_variables_asking_for_a_missing_gpu_fail_clearly(no_gpu, monkeypatch):
    monkeypatch.setenv("JAX_PLATFORMS", "cuda")
    with pytest.raises(RuntimeError, match="JAX_PLATFORMS='cuda' asks for the GPU"):
        fg.default_backend()
    monkeypatch.setenv("FUNCGRAD_PLATFORMS", "cpu,tpu")
    with pytest.raises(ValueError, match="FUNCGRAD_PLATFORMS='cpu,tpu'.*'tpu'"):
        fg.devices()


def test_device_put_makes_arrays_of_every_leaf():
    x = jnp.ones(3)
    tree = {"a": np.arange(3, dtype=np.int64), "b": (1.0, x), "c": None}
    put = fg.device_put(tree, fg.devices("cpu")[0])
    assert fg.tree.structure(put) == fg.tree.structure(tree)
    a, (b, same) = put["a"], put["b"]
    assert isinstance(a, fg.Array) and a.dtype == np.int32  # x64 off narrows, as in JAX
    assert b.weak_type and b.dtype == np.float32  # a Python scalar stays weakly typed
    assert same._value is x._value  # already on the device: immutable, so not copied
    assert all(leaf.committed for leaf in (a, b, same)) and not x.committed
    np.testing.assert_array_equal(a, [0, 1, 2])
    assert fg.device_put(x) is x  # no device: uncommitted on the default one, as x is


def test_device_put_refuses_what_it_cannot_do(no_gpu):
    with pytest.raises(RuntimeError, match=r"device_put\(x, CudaDevice\(id=0\)\).*no GPU"):
        fg.device_put(np.ones(2), FAKE_GPU)
    with pytest.raises(TypeError, match="must be a Device"):
        fg.device_put(np.ones(2), "cpu")


def test_device_put_passes_tracers_through():
    f = fg.jit(lambda x: fg.device_put(x) * 2.0)
    np.testing.assert_array_equal(f(np.ones(2, np.float32)), [2.0, 2.0])


def test_device_get_gives_numpy_arrays_and_keeps_other_leaves():
    tree = {"w": jnp.ones(2), "n": 3, "raw": np.zeros(1)}
    got = fg.device_get(tree)
    assert type(got["w"]) is np.ndarray and got["w"].dtype == np.float32
    assert got["n"] == 3 and got["raw"] is tree["raw"]


def test_block_until_ready_returns_its_argument():
    tree = (jnp.ones(2), {"k": 1})
    assert fg.block_until_ready(tree) is tree


def test_arrays_know_their_device():
    x = jnp.arange(4.0)
    assert x.devices() == {fg.devices("cpu")[0]}
    assert x.device == fg.devices("cpu")[0]
