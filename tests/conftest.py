"""Fixtures shared by the whole suite, and jit mode.

FUNCGRAD_TEST_JIT=1 runs every test with funcgrad's public functions jitted at the top level
(funcgrad.test_util.jit_everything). The switch happens here, at import time, before any
test module imports funcgrad names, so `from funcgrad import grad` gets the jitted version
too. Tests marked `eager_only(reason)` check something jit changes by design (trace counts,
eager-only dispatch) and are deselected in jit mode; `params=[ids]` narrows the mark to those
parametrized cases.

FUNCGRAD_TEST_GPU_STANDIN=1 runs the suite with the CuPy stand-in of
tests/backends/fake_cupy.py as the default device: every array on its "GPU", every
operation through the CuPy backend's kernels compiled for the host (slow: a C++ compile
per new kernel; FAKE_CUPY_KERNELS=DIR keeps them between runs). It is for finding what the
GPU path gets wrong on a machine without one.
"""

import os
import sys

import pytest

from funcgrad import config, test_util

JIT_MODE = test_util.jit_mode_requested()
if JIT_MODE:
    test_util.jit_everything()
if os.environ.get("FUNCGRAD_TEST_GPU_STANDIN") == "1":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "backends"))
    import fake_cupy

    fake_cupy.install()


def pytest_report_header(config):
    if JIT_MODE:
        return "funcgrad jit mode: public functions run under jit (FUNCGRAD_TEST_JIT=1)"
    return None


def _eager_only(item) -> bool:
    marker = item.get_closest_marker("eager_only")
    if marker is None:
        return False
    if not marker.args:
        raise pytest.UsageError(f"{item.nodeid}: eager_only needs a reason")
    params = marker.kwargs.get("params")
    callspec = getattr(item, "callspec", None)
    return params is None or (callspec is not None and callspec.id in params)


def pytest_collection_modifyitems(config, items):
    if not JIT_MODE:
        return
    eager_only = [item for item in items if _eager_only(item)]
    if eager_only:
        config.hook.pytest_deselected(items=eager_only)
        items[:] = [item for item in items if not _eager_only(item)]


@pytest.fixture(autouse=True, scope="session")
def kernel_cache_in_a_temporary_directory(tmp_path_factory):
    """Compiled LLVM kernels go to a fresh cache, not the user's ~/.cache/funcgrad."""
    import os

    previous = os.environ.get("FUNCGRAD_CACHE_DIR")
    os.environ["FUNCGRAD_CACHE_DIR"] = str(tmp_path_factory.mktemp("kernel-cache"))
    yield
    if previous is None:
        del os.environ["FUNCGRAD_CACHE_DIR"]
    else:
        os.environ["FUNCGRAD_CACHE_DIR"] = previous


def _flag_on(name: str):
    """Turn a config flag on for one test, restoring its previous setting afterwards."""
    previous = getattr(config, name)
    config.update(name, True)
    try:
        yield
    finally:
        config.update(name, previous)


@pytest.fixture
def x64():
    yield from _flag_on("jax_enable_x64")


@pytest.fixture
def debug_nans_on():
    yield from _flag_on("jax_debug_nans")


@pytest.fixture
def explain_on():
    yield from _flag_on("jax_explain_cache_misses")
