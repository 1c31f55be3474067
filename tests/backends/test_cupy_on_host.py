"""The CuPy backend's programs, kernels and schedule, run on the host (cuda_host.py: the
generated CUDA C, prelude included, compiled by the host's C++ compiler, each block's
threads run as host threads, warp shuffles and barriers emulated) against the NumPy
backend, over the whole table of cupy_cases.py. Integer results, and the random bits and
uniform samples drawn from them, must agree bit for bit (threefry on the "GPU" is the
CPU's); floats within a few ulp (the host's libm stands in for CUDA's math library)."""

import numpy as np
import pytest
from cuda_host import CXX, HostCupy, HostLibrary
from cupy_cases import CASES, all_natives, compile_case, x64_as

import funcgrad as fg
from funcgrad.backends.cupy.codegen import module_source

pytestmark = [
    pytest.mark.eager_only("runs compiled programs directly; jit mode adds nothing"),
    pytest.mark.skipif(CXX is None, reason="no C++ compiler (g++ or clang++) on this machine"),
]

# Bit for bit: integer results, and floats made from random bits by bit operations.
EXACT = {"threefry2x32", "random bits", "random uniform"}


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """(library holding every contiguous kernel of the table, compiled by case name)."""
    library = HostLibrary(tmp_path_factory.mktemp("host-kernels"))
    compiled = {}
    kernels = []
    for number, case in enumerate(CASES):
        compiled[case.name] = compile_case(case, number)
        kernels += [n.code.contiguous_kernel for n in all_natives(compiled[case.name].program)]
    library.add(module_source(kernels))
    return library, compiled


def assert_agrees(got, want, exact: bool):
    got, want = np.asarray(got), np.asarray(want)
    assert (got.dtype, got.shape) == (want.dtype, want.shape)
    if exact or got.dtype.kind in "biu":
        np.testing.assert_array_equal(got, want)
        return
    tolerance = 1e-5 if got.dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, want, rtol=tolerance, atol=tolerance, equal_nan=True)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_program_on_the_host_agrees_with_the_numpy_backend(case, host):
    library, compiled = host
    program = compiled[case.name]
    cupy = HostCupy(library)
    with x64_as(case):
        want = fg.tree.leaves(fg.jit(case.fun, backend="numpy")(*case.args))
        in_avals = program.lowered.traced.in_avals
        buffers = [np.asarray(x, aval.dtype) for x, aval in zip(case.args, in_avals)]
        got = program.program.device(cupy, *buffers)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert_agrees(g, w, case.name in EXACT)
    # Every kernel of the program (not of its bodies, which run per iteration) ran once.
    kernels = [n.code for n in program.program.natives.values()]
    assert len(cupy.launched) >= sum(1 for code in kernels if code.contiguous_kernel.iterations)


def test_strided_inputs_made_inside_the_program_get_their_own_variant(host):
    """A transpose or slice inside the program hands the kernel a view: the kernel variant
    for those strides is generated, compiled and reads it in place."""
    library, _ = host
    for name in ("transpose in program", "slice in program"):
        (case,) = [c for c in CASES if c.name == name]
        cupy = HostCupy(library)
        program = compile_case(case, CASES.index(case)).program  # no variants compiled yet
        (out,) = program.device(cupy, *[np.asarray(a) for a in case.args])
        (want,) = fg.tree.leaves(fg.jit(case.fun, backend="numpy")(*case.args))
        np.testing.assert_allclose(out, want, rtol=1e-6)
        assert any("_v" in name for name in cupy.launched)
