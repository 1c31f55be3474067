"""Eager operations on GPU arrays.

An operation whose operands live on a GPU (or that runs on the default device when that
is a GPU) is compiled as a program of one equation, the way `jit` compiles a whole
function, and run on the device's arrays: elementwise operations and reductions become
generated kernels, matrix products cuBLAS calls, and the rest run their impls on CuPy
arrays (on host copies where CuPy cannot take them). Each primitive is compiled once per
signature (its parameters and operand types), as JAX caches its eager operations.

Primitives holding programs of their own (cond, while, scan, calls, custom derivatives)
are not compiled: their jaxprs are traced afresh at each eager call, so a compiled
program would be used once. Their impls evaluate those jaxprs on the operands as GPU
Arrays instead, one eager (compiled, cached) operation at a time.
"""

from __future__ import annotations

import re

from funcgrad.backends.cupy.program import compile_program
from funcgrad.compiler.passes.fusion import fuse
from funcgrad.compiler.pipeline import optimize
from funcgrad.core.jaxpr import sub_jaxprs
from funcgrad.interpreters.partial_eval import trace_to_jaxpr
from funcgrad.runtime.array import from_buffer
from funcgrad.runtime.devices import Device, gpu_module, move_buffer

__all__ = ["run_primitive"]

_programs: dict = {}  # (primitive, parameters, operand avals) -> device program


def run_primitive(primitive, params: dict, avals: list, values: list, device: Device) -> list:
    """`primitive` applied to `values` (host or device buffers of `avals`) on `device`:
    its results, as CuPy arrays there."""
    cupy = gpu_module()
    if any(True for _ in sub_jaxprs(params)):
        with cupy.cuda.Device(device.id):
            # Committed, so that the operations inside stay on `device`.
            operands = [
                from_buffer(move_buffer(v, device), a, committed=True)
                for v, a in zip(values, avals)
            ]
            outs = primitive.impl(*operands, **params)
            outs = outs if primitive.multiple_results else [outs]
            return [move_buffer(out, device) for out in outs]
    try:
        key = (primitive, tuple(sorted(params.items())), tuple(avals))
        program = _programs.get(key)
    except TypeError:  # a parameter that cannot be hashed: compiled for this call only
        key, program = None, None
    if program is None:
        program = _compile(primitive, params, avals)
        if key is not None:
            _programs[key] = program
    with cupy.cuda.Device(device.id):
        return program(cupy, *[move_buffer(v, device) for v in values])


def _compile(primitive, params: dict, avals: list):
    def apply(*operands):
        out = primitive.bind(*operands, **params)
        return list(out) if primitive.multiple_results else [out]

    closed = trace_to_jaxpr(apply, avals, f"eager {primitive.name} on the GPU")
    optimized = optimize(closed)
    name = "eager_" + re.sub(r"\W", "_", primitive.name)  # the kernels' names start so
    return compile_program(optimized, fuse(optimized), name=name).device
