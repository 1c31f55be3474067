"""Run one LLVM math function over NumPy arrays: a loop kernel around it, compiled by the engine.

`elementwise_kernel_ir(name, dtype)` is the IR text of a kernel with the engine's ABI,
`kernel(start, stop, pointers)`, computing `out[i] = name(in0[i], ...)` for i in
[start, stop), with pointers = [in0, ..., out]. `ElementwiseKernel` compiles it once and
applies it to arrays.
"""

from __future__ import annotations

import ctypes
import re

import numpy as np
from llvmlite import ir

from funcgrad.backends.llvm import engine, mathlib

__all__ = ["ElementwiseKernel", "elementwise_kernel_ir", "float_lanes"]

KERNEL_NAME = "apply"
_FLOAT_TYPES = {np.dtype(np.float32): ir.FloatType(), np.dtype(np.float64): ir.DoubleType()}


def float_lanes(ir_text: str) -> int:
    """The widest float32 vector in LLVM IR text: 8 with AVX2, 16 with AVX-512, 0 when the
    loops were not vectorized."""
    return max((int(n) for n in re.findall(r"<(\d+) x float>", ir_text)), default=0)


def elementwise_kernel_ir(name: str, dtype: np.dtype) -> str:
    ty = _FLOAT_TYPES[np.dtype(dtype)]
    arity = mathlib.MATH_FUNCTIONS[name]
    module = ir.Module(name=f"{name}_{np.dtype(dtype).name}")
    i64, ptr = ir.IntType(64), ir.PointerType()
    kernel = ir.Function(module, ir.FunctionType(ir.VoidType(), [i64, i64, ptr]), KERNEL_NAME)
    start, stop, pointers = kernel.args
    for arg in kernel.args[2:]:
        arg.add_attribute("noalias")
    entry, head, body, done = (
        kernel.append_basic_block(n) for n in ("entry", "head", "body", "exit")
    )
    builder = ir.IRBuilder(entry)
    buffers = [
        builder.load(builder.gep(pointers, [ir.Constant(i64, k)], source_etype=ptr), typ=ptr)
        for k in range(arity + 1)
    ]
    builder.branch(head)
    builder.position_at_end(head)
    index = builder.phi(i64)
    index.add_incoming(start, entry)
    builder.cbranch(builder.icmp_signed(">=", index, stop), done, body)
    builder.position_at_end(body)
    args = [
        builder.load(builder.gep(buf, [index], source_etype=ty), typ=ty) for buf in buffers[:-1]
    ]
    value = builder.call(mathlib.math_function(module, name, ty), args)
    builder.store(value, builder.gep(buffers[-1], [index], source_etype=ty))
    following = builder.add(index, ir.Constant(i64, 1))
    index.add_incoming(following, body)
    builder.branch(head)
    builder.position_at_end(done)
    builder.ret_void()
    return str(module)


class ElementwiseKernel:
    """`name` for `dtype` compiled as a loop kernel; calling it maps arrays to a new array."""

    def __init__(self, name: str, dtype):
        self.dtype = np.dtype(dtype)
        self.compiled = engine.compile_ir(elementwise_kernel_ir(name, self.dtype))
        self._kernel = self.compiled.cfunc(KERNEL_NAME, engine.KERNEL_SIGNATURE)

    def __call__(self, *inputs: np.ndarray) -> np.ndarray:
        arrays = [np.ascontiguousarray(x, dtype=self.dtype) for x in np.broadcast_arrays(*inputs)]
        out = np.empty_like(arrays[0])
        self.run_range(0, out.size, arrays, out)
        return out

    def run_range(self, start: int, stop: int, inputs: list[np.ndarray], out: np.ndarray):
        """Iterations [start, stop) over contiguous arrays of the kernel's dtype, into `out`."""
        arrays = [*inputs, out]
        assert all(a.dtype == self.dtype and a.flags.c_contiguous for a in arrays)
        pointers = (ctypes.c_void_p * len(arrays))(*(a.ctypes.data for a in arrays))
        self._kernel(start, stop, pointers)
