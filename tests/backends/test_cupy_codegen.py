"""The CuPy backend's CUDA code generation, without a GPU: a table of programs (elementwise
chains, every scalar rule, reductions over every kind of axis set, softmax, layernorm,
broadcast and strided inputs, threefry, mixed dtypes) is compiled through
`jit(f, backend="cupy").lower(...).compile()`, and every kernel it generates, with
variants for strided inputs, is compiled for sm_80 by nvcc in one batch (the tests that
need nvcc skip when it is not installed). Running the kernels needs a GPU; calling a
program without one raises an error that says so."""

import importlib.util
import shutil
import subprocess

import numpy as np
import pytest
from cupy_cases import CASES, UNREACHED, all_natives, compile_case

import funcgrad as fg
from funcgrad.backends.cupy.codegen import module_source
from funcgrad.backends.cupy.scalar_rules import SCALAR_RULES

pytestmark = pytest.mark.eager_only("code generation only; the jit-mode reruns add nothing")

NVCC = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc (the CUDA toolkit) is not installed")


@pytest.fixture(scope="module")
def generated():
    """case name -> (compiled, kernels: the contiguous ones and the strided variants)."""
    assert len({case.name for case in CASES}) == len(CASES)
    table = {}
    for number, case in enumerate(CASES):
        compiled = compile_case(case, number)
        kernels = []
        for native in all_natives(compiled.program):
            code = native.code
            kernels.append(code.contiguous_kernel)
            if case.strides:  # the program's inputs, in order, are the group's
                variant = (*case.strides, *code.contiguous[len(case.strides) :])
                kernels.append(code.kernel(variant))
        table[case.name] = (compiled, kernels)
    return table


def nvcc(kernels, directory) -> subprocess.CompletedProcess:
    source = directory / "kernels.cu"
    source.write_text(module_source(kernels))
    command = [NVCC, "-arch=sm_80", "-ptx", "-o", str(directory / "kernels.ptx"), str(source)]
    return subprocess.run(command, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def batch(generated, tmp_path_factory):
    """Every kernel of the table compiled by one nvcc run: (result, PTX text)."""
    if NVCC is None:
        pytest.skip("nvcc (the CUDA toolkit) is not installed")
    directory = tmp_path_factory.mktemp("cuda")
    kernels = [k for _, ks in generated.values() for k in ks]
    result = nvcc(kernels, directory)
    ptx = (directory / "kernels.ptx").read_text() if result.returncode == 0 else ""
    return result, ptx


@needs_nvcc
@pytest.mark.parametrize("name", [case.name for case in CASES])
def test_generated_kernels_compile_with_nvcc(name, generated, batch, tmp_path):
    result, ptx = batch
    _, kernels = generated[name]
    if result.returncode != 0:  # find out whether this case's kernels are the culprits
        alone = nvcc(kernels, tmp_path)
        assert alone.returncode == 0, alone.stderr[-4000:]
        return
    for kernel in kernels:
        assert f".entry {kernel.name}(" in ptx


def test_the_table_lowers_its_groups_to_kernels(generated):
    """Every elementwise, reduction and row group of the table becomes a kernel, but for
    those the backend declines (float to int, float16), which run equation by equation."""
    declined = []
    for name, (compiled, _) in generated.items():
        program = compiled.program
        for number, group in enumerate(program.groups):
            if group.kind in ("elementwise", "reduction", "rows") and group.outputs:
                if number not in program.natives:
                    declined.append(name)
    assert declined == ["float to int", "convert float widths"]


def test_every_scalar_rule_is_exercised(generated):
    used = {
        eqn.primitive.name
        for compiled, _ in generated.values()
        for native in all_natives(compiled.program)
        for eqn in native.code.group.eqns
    }
    assert set(SCALAR_RULES) - UNREACHED <= used
    assert {"reduce_sum", "reduce_max", "reduce_min", "reduce_prod", "argmax", "argmin"} <= used
    assert {"reduce_and", "reduce_or", "reduce_xor", "iota", "broadcast_in_dim"} <= used


def kinds(generated, name) -> list[str]:
    compiled, _ = generated[name]
    return [n.code.group.kind for n in compiled.program.natives.values()]


def test_softmax_and_layernorm_are_one_row_kernel_each(generated):
    assert kinds(generated, "softmax") == ["rows"]
    assert kinds(generated, "layernorm") == ["rows"]
    assert kinds(generated, "logsumexp") == ["rows"]


def test_threefry_is_one_elementwise_kernel(generated):
    compiled, (kernel,) = generated["threefry2x32"]
    assert kinds(generated, "threefry2x32") == ["elementwise"]
    assert kernel.body.count("<<") == 20 and "^" in kernel.body  # the 20 rotations


def test_reductions_combine_across_the_block(generated):
    _, kernels = generated["sum over (2,)"]
    (kernel,) = [k for k in kernels if "_v" not in k.name]
    assert kernel.per_row and kernel.iterations == 5 * 7
    assert "fg_block_reduce(" in kernel.body and "__shared__" in kernel.body
    _, kernels = generated["argmax"]
    assert "fg_block_arg_reduce<true>" in kernels[0].body


def test_reductions_over_leading_axes_run_a_thread_per_column(generated):
    _, kernels = generated["sum over (0,)"]
    (kernel,) = [k for k in kernels if "_v" not in k.name]
    assert not kernel.per_row and kernel.iterations == 7 * 3
    assert "fg_block_reduce" not in kernel.body and "__shared__" not in kernel.body
    _, (kernel,) = generated["argmin first axis"]
    assert "fg_arg_step<false>" in kernel.body and "_at;" in kernel.body


def test_strided_variants_read_through_their_strides(generated):
    _, (contiguous, transposed) = generated["transposed input"]
    assert "in0[((c0_1 * 12) + c1_2)]" in contiguous.body
    assert "in0[(c0_1 + (c1_2 * 8))]" in transposed.body
    _, (_, broadcast) = generated["broadcast input"]
    assert "in0[c1_2]" in broadcast.body and "in1[(c0_1 * 5)]" in broadcast.body


def test_compiled_as_text_shows_the_cuda_source(generated):
    compiled, _ = generated["gelu"]
    text = compiled.as_text()
    assert 'extern "C" __global__ void case0_group' in text and "tanhf(" in text
    assert "fg_block_reduce" in text  # the prelude


cupy_available = importlib.util.find_spec("cupy") is not None


@pytest.mark.skipif(cupy_available, reason="CuPy is installed: the program may run")
def test_calling_without_cupy_says_what_to_do():
    f = fg.jit(lambda x: x * 2.0, backend="gpu")
    expected = r"CuPy is not installed.*cupy-cuda12x.*backend=\"llvm\""
    with pytest.raises(RuntimeError, match=expected):
        f(np.ones(3, np.float32))
