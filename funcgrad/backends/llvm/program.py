"""The LLVM backend's programs: the NumPy backend's generated Python function, with every
fusion group this backend can lower running as one native kernel instead.

Matrix products stay NumPy BLAS calls writing into planned buffers (the layout the
simplifier chose lets BLAS read transposed operands in place), their rows split across
cores (matmul.py); their epilogues (bias, activation) become native kernels over the
product. Groups smaller than a threshold stay
NumPy kernels too: a native call costs a few microseconds of Python-side setup. Kernels
below the default threshold (only compiled when FUNCGRAD_LLVM_MIN_SIZE is lowered, as the
tests do) are compiled without LLVM's optimizer: for so few elements the call dominates,
and compiling gets ten times quicker.
"""

from __future__ import annotations

import os
from typing import Callable, Sequence

import numpy as np

from funcgrad.backends.llvm.codegen import (
    GROUP_KERNEL_SIGNATURE,
    GroupCode,
    group_code,
    module_text,
)
from funcgrad.backends.llvm.engine import compile_ir
from funcgrad.backends.llvm.matmul import parallel_dot_into
from funcgrad.backends.llvm.threads import run_kernel
from funcgrad.backends.numpy.codegen import compile_program as compile_numpy_program
from funcgrad.compiler.passes.fusion import FusionGroup, rematerialize, split_epilogues
from funcgrad.compiler.passes.row_fusion import fuse_rows
from funcgrad.core.jaxpr import ClosedJaxpr

__all__ = ["compile_program", "NativeGroup", "min_native_size", "eqn_cost"]


# Rough element-operations per element of the math library's functions; others count 1.
_COST = dict.fromkeys(["exp", "log", "log1p", "expm1", "tanh", "logistic", "sin", "cos"], 15)
_COST.update(erf=20, pow=30, div=4, sqrt=4, rsqrt=5)


# Recompute an elementwise value in the kernel that reads it, rather than storing and
# reloading it, when it costs at most this many element-operations per element: storing
# and reading back a float32 costs about as much as ~30 vectorized operations here.
_REMAT_BUDGET = 32


# Groups with at least this many elements are worth LLVM's optimizer and vectorizer.
_OPTIMIZE_FROM = 4096


def eqn_cost(eqn) -> float:
    """An equation's cost in simple-op units, for rematerialization's budget."""
    return _COST.get(eqn.primitive.name, 1)


def min_native_size() -> int:
    """Groups with fewer elements than this run as NumPy kernels (FUNCGRAD_LLVM_MIN_SIZE)."""
    value = os.environ.get("FUNCGRAD_LLVM_MIN_SIZE", str(_OPTIMIZE_FROM)).strip()
    if not value.isdigit():
        raise ValueError(
            f"environment variable FUNCGRAD_LLVM_MIN_SIZE={value!r} must be a non-negative "
            "integer (a number of elements; 0 lowers every group)"
        )
    return int(value)


class NativeGroup:
    """Runs one group as a native kernel: compiles a variant per input strides on first
    use, then calls it on the buffers (see codegen's kernel ABI)."""

    def __init__(self, code: GroupCode):
        self.code = code
        self.n_inputs = len(code.inputs)
        self.itemsizes = [v.aval.dtype.itemsize for v in code.inputs]
        # Variants by their inputs' byte strides (what a call can read off its buffers).
        self.variants: dict[tuple, tuple] = {}
        self.contiguous_key = tuple(
            tuple(s * size for s in strides)
            for strides, size in zip(code.contiguous, self.itemsizes)
        )
        # Element-operations per parallel iteration, to judge whether threads pay off.
        points = int(np.prod(code.shape, dtype=np.int64))
        ops = sum(eqn_cost(e) for e in code.group.eqns)
        self.work = points / max(code.iterations, 1) * ops
        self.optimize = points >= _OPTIMIZE_FROM

    def _variant(self, key: tuple) -> tuple:
        strides = tuple(
            tuple(s // size for s in byte_strides)
            for byte_strides, size in zip(key, self.itemsizes)
        )
        module = compile_ir(self.code.ir_for(strides), optimize=self.optimize)
        kernel = module.cfunc(self.code.name, GROUP_KERNEL_SIGNATURE)
        self.variants[key] = (kernel, module)
        return self.variants[key]

    def __call__(self, *buffers) -> None:
        # The kernel reads ndarray objects' fields: anything else (a NumPy scalar a ufunc
        # returned for a 0-d result) becomes an array first.
        for buffer in buffers:
            if type(buffer) is not np.ndarray:
                buffers = tuple(np.asarray(b) for b in buffers)
                break
        key = tuple([b.strides for b in buffers[: self.n_inputs]])
        kernel, _ = self.variants.get(key) or self._variant(key)
        run_kernel(kernel, self.code.iterations, buffers, work_per_iteration=self.work)

    def modules(self) -> list:
        """The compiled modules holding this group's variants (compiling the contiguous one
        if the program has not run yet)."""
        if not self.variants:
            self._variant(self.contiguous_key)
        return [module for _, module in self.variants.values()]


def _compile_together(natives: Sequence[NativeGroup]) -> None:
    """Compile every group's contiguous variant in one module: one optimizer run and one
    engine per program instead of one per kernel, which is most of the compile time."""
    if not natives:
        return
    definitions = {}
    for group in natives:
        definitions.update(group.code.contiguous_definitions)
    text = module_text(definitions)
    compiled = compile_ir(text, optimize=any(group.optimize for group in natives))
    for group in natives:
        kernel = compiled.cfunc(group.code.name, GROUP_KERNEL_SIGNATURE)
        group.variants[group.contiguous_key] = (kernel, compiled)


def compile_program(
    closed: ClosedJaxpr,
    groups: Sequence[FusionGroup],
    donated: Sequence[bool] = (),
    name: str = "program",
    profile: bool = False,
) -> Callable:
    """The NumPy backend's program with native kernels for the groups worth lowering;
    `profile=True` times each step (see funcgrad.backends.numpy.codegen)."""
    groups = split_epilogues(closed, list(groups))
    groups = rematerialize(closed, groups, eqn_cost, _REMAT_BUDGET)
    threshold = min_native_size()

    def lowers_rows(group: FusionGroup) -> bool:
        size = int(np.prod(group.shape, dtype=np.int64))
        return size >= max(threshold, 1) and group_code(group, "rows") is not None

    groups = fuse_rows(closed, groups, lowers_rows)

    def native(group: FusionGroup, number: int):
        size = int(np.prod(group.shape, dtype=np.int64))
        if size < threshold or size == 0:
            return None
        code = group_code(group, f"{name}_group{number}")
        return None if code is None else NativeGroup(code)

    program = compile_numpy_program(
        closed,
        groups,
        donated,
        name,
        native,
        compile_program,
        matmul=parallel_dot_into,
        profile=profile,
    )
    _compile_together(list(program.natives.values()))
    return program
