"""The CuPy backend's programs: the scheduled groups, run on an NVIDIA GPU.

Groups this backend generates code for (codegen.py) run as one CUDA kernel each; all of a
program's kernels are one CUDA module, compiled by CuPy (NVRTC) on the first call, and
a group met with non-contiguous inputs compiles a variant for their strides. Matrix
products are one batched `cupy.matmul` each (cuBLAS), reading transposed operands as
strided views; their epilogues (bias, activation) are generated kernels over the product,
as on the LLVM backend. Every other equation runs its impl on CuPy arrays, which NumPy's
dispatch protocols (`__array_ufunc__`, `__array_function__`) hand to CuPy; an impl that
CuPy cannot take (it makes NumPy arrays of its own) runs on the host copies of its
operands, decided once, on the first call. Control-flow bodies are programs of their own, compiled
once and launched per iteration.

Values stay on the GPU: inputs in host memory move there at the program's boundary, and
the outputs are the GPU's arrays (funcgrad Arrays on the GPU). CuPy's memory pool
recycles the GPU memory of dead values, so there is no buffer plan; donated arguments are
accepted and not reused.

Compiling needs neither CuPy nor a GPU (`jit(f, backend="cupy").lower(x).compile()
.as_text()` shows the CUDA source anywhere); calling the program imports CuPy and says
what to do when it or a GPU is missing.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad.backends.cupy.codegen import GroupKernel, Kernel, group_kernel, module_source
from funcgrad.backends.llvm.program import eqn_cost
from funcgrad.compiler.passes.fusion import FusionGroup, fuse, rematerialize, split_epilogues
from funcgrad.compiler.passes.memory import BufferPlan
from funcgrad.compiler.passes.row_fusion import fuse_rows
from funcgrad.compiler.pipeline import optimize
from funcgrad.core.jaxpr import ClosedJaxpr, JaxprEqn, Literal, Var
from funcgrad.lax.linalg import as_batched_matmul
from funcgrad.runtime.devices import gpu_module

__all__ = ["compile_program", "schedule_groups"]

# Recompute cheap elementwise producers in the kernel that reads them (see
# fusion.rematerialize): a GPU's memory traffic costs even more arithmetic than a CPU's.
_REMAT_BUDGET = 32


def schedule_groups(closed: ClosedJaxpr, groups: Sequence[FusionGroup]) -> list[FusionGroup]:
    """The fusion groups as this backend runs them: matmul epilogues as kernels of their
    own, cheap producers recomputed where they are read, and chains of groups over the
    same rows (softmax, layernorm) merged into one kernel where codegen takes them."""
    groups = split_epilogues(closed, list(groups))
    groups = rematerialize(closed, groups, eqn_cost, _REMAT_BUDGET)
    return fuse_rows(closed, groups, lambda group: group_kernel(group, "rows") is not None)


class CudaGroup:
    """Runs one group as a CUDA kernel: the contiguous variant comes from the program's
    module; other input strides compile a variant of their own on first use."""

    def __init__(self, code: GroupKernel):
        self.code = code
        self.itemsizes = [v.aval.dtype.itemsize for v in code.inputs]
        self.contiguous_key = tuple(
            tuple(s * size for s in strides)
            for strides, size in zip(code.contiguous, self.itemsizes)
        )
        self.variants: dict[tuple, tuple] = {}  # input byte strides -> (Kernel, function)

    def modules(self) -> list:
        """Compiled LLVM modules, for Compiled.as_text: none; the program's source holds
        the CUDA source of every kernel (it compiles for the GPU when first run)."""
        return []

    def _variant(self, cupy, key: tuple) -> tuple:
        # Axes of length 1 are never stepped along: their strides (arbitrary in a view)
        # are taken as the contiguous ones, so such views share the contiguous kernel.
        strides = [
            tuple(s // size if n != 1 else c for s, n, c in zip(byte_strides, var.aval.shape, cs))
            for byte_strides, size, var, cs in zip(
                key, self.itemsizes, self.code.inputs, self.code.contiguous
            )
        ]
        kernel = self.code.kernel(strides)
        if kernel is self.code.contiguous_kernel and self.contiguous_key in self.variants:
            self.variants[key] = self.variants[self.contiguous_key]
            return self.variants[key]
        function = cupy.RawModule(code=kernel.source).get_function(kernel.name)
        self.variants[key] = (kernel, function)
        return self.variants[key]

    def __call__(self, cupy, *inputs) -> list:
        code = self.code
        outputs = [cupy.empty(v.aval.shape, v.aval.dtype) for v in code.outputs]
        key = tuple(a.strides for a in inputs)
        kernel, function = self.variants.get(key) or self._variant(cupy, key)
        if kernel.iterations:
            function((kernel.grid(),), (kernel.block,), (*inputs, *outputs))
        return outputs


def _matmul(eqn: JaxprEqn) -> Callable:
    """dot_general as one batched matrix product (cuBLAS through cupy.matmul), the operands
    viewed as (batch, rows, contracted) and (batch, contracted, columns)."""
    dimension_numbers = eqn.params["dimension_numbers"]
    dtype = eqn.outvars[0].aval.dtype

    def run(cupy, lhs, rhs) -> list:
        lhs3, rhs3, shape = as_batched_matmul(lhs, rhs, dimension_numbers)
        product = cupy.matmul(lhs3.astype(dtype, copy=False), rhs3.astype(dtype, copy=False))
        return [product.reshape(shape)]

    return run


class _Impl:
    """An equation run through its impl, on the GPU when CuPy takes the impl's NumPy
    calls (decided on the first call), else on the host copies of its operands."""

    def __init__(self, eqn: JaxprEqn):
        self.impl, self.params = eqn.primitive.impl, eqn.params
        self.multiple = eqn.primitive.multiple_results
        self.on_device: bool | None = None

    def __call__(self, cupy, *args) -> list:
        if self.on_device is not False:
            try:
                results = self._results(self.impl(*args, **self.params))
                if all(isinstance(r, cupy.ndarray) for r in results):
                    self.on_device = True
                    return results
            except Exception:
                if self.on_device:
                    raise
            self.on_device = False
        host = [cupy.asnumpy(a) if isinstance(a, cupy.ndarray) else a for a in args]
        return [cupy.asarray(r) for r in self._results(self.impl(*host, **self.params))]

    def _results(self, out) -> list:
        return list(out) if self.multiple else [out]


class _Step:
    """One step of the schedule: `run(cupy, *operands)` -> results, in `reads`/`writes`
    slots of the program's value list."""

    __slots__ = ("run", "reads", "writes")

    def __init__(self, run: Callable, reads: tuple, writes: tuple):
        self.run, self.reads, self.writes = run, reads, writes


def compile_program(
    closed: ClosedJaxpr,
    groups: Sequence[FusionGroup],
    donated: Sequence[bool] = (),
    name: str = "program",
    profile: bool = False,
) -> Callable:
    """A function `(*input buffers) -> list of output buffers` running `closed` on the
    current GPU as scheduled by `groups`: inputs are host or GPU buffers, outputs CuPy
    arrays. Its `device` runs the same schedule on arrays already on the device:
    `device(cupy, *arrays)`, given the CuPy module (the tests hand it a stand-in that runs
    the kernels on the host)."""
    if profile:
        raise NotImplementedError(
            "funcgrad.viz.profile times host steps; the CuPy backend's kernels run "
            "asynchronously on the GPU. Profile with backend='llvm', or with NVIDIA Nsight."
        )
    device = _DeviceProgram(closed, schedule_groups(closed, groups), name)

    def program(*buffers):
        cupy = gpu_module()
        return device(cupy, *[cupy.asarray(b) for b in buffers])

    program.device = device
    program.source = device.describe()
    program.natives = device.natives
    program.groups = tuple(device.groups)
    program.bodies = device.bodies
    program.plan = BufferPlan()  # nothing kept between calls: CuPy's pool holds the memory
    return program


class _DeviceProgram:
    """The schedule on device arrays: inputs and outputs are CuPy arrays."""

    def __init__(self, closed: ClosedJaxpr, groups: Sequence[FusionGroup], name: str):
        self.name, self.groups = name, list(groups)
        self.bodies: list[_DeviceProgram] = []
        self.natives: dict[int, CudaGroup] = {}
        jaxpr = closed.jaxpr
        # Every value, constant and literal has a slot in the list a call fills.
        slots: dict[Var, int] = {}
        self.size = 0
        self.constants: list = []  # (slot, host value), made device arrays on first run

        def slot(atom) -> int:
            if isinstance(atom, Literal):
                self.constants.append((self.size, np.asarray(atom.val, atom.aval.dtype)))
                self.size += 1
                return self.size - 1
            if atom not in slots:
                slots[atom] = self.size
                self.size += 1
            return slots[atom]

        for var, const in zip(jaxpr.constvars, closed.consts):
            self.constants.append((slot(var), np.asarray(const)))
        self.inputs = tuple(slot(v) for v in jaxpr.invars)
        self.steps: list[_Step] = []
        self.lines: list[str] = []
        for number, group in enumerate(self.groups):
            code = group_kernel(group, f"{name}_group{number}")
            if code is not None and not group.outputs:
                # Its values were all recomputed where they are read (rematerialize).
                self.lines.append(f"# group {number}: {group.describe()}: nothing reads it")
                continue
            if code is not None:
                native = self.natives[number] = CudaGroup(code)
                reads = tuple(slot(v) for v in group.inputs)
                self.steps.append(_Step(native, reads, tuple(slot(v) for v in group.outputs)))
                self.lines.append(f"# group {number}: {group.describe()}: kernel {code.name}")
                continue
            self.lines.append(f"# group {number}: {group.describe()}: equation by equation")
            for eqn in group.eqns:
                if eqn.primitive.name == "dot_general":
                    run = _matmul(eqn)
                else:
                    run = self._control_flow(eqn) or _Impl(eqn)
                reads = tuple(slot(a) for a in eqn.invars)
                self.steps.append(_Step(run, reads, tuple(slot(v) for v in eqn.outvars)))
                self.lines.append(f"#   {eqn.primitive.name}")
        self.outputs = tuple(slot(a) for a in jaxpr.outvars)
        self.device_constants: list | None = None
        self.module = None

    def describe(self) -> str:
        """The schedule, then the CUDA module holding its kernels."""
        kernels = [native.code.contiguous_kernel for native in self.natives.values()]
        header = f"# {self.name}: {len(self.steps)} steps on the GPU"
        source = module_source(kernels) if kernels else ""
        bodies = [body.describe() for body in self.bodies]
        return "\n\n".join([header + "\n" + "\n".join(self.lines), source, *bodies])

    def _load(self, cupy) -> None:
        """First run: constants to the device, and every kernel's contiguous variant
        compiled in one module (one NVRTC run per program)."""
        self.device_constants = [(s, cupy.asarray(value)) for s, value in self.constants]
        kernels: list[Kernel] = [n.code.contiguous_kernel for n in self.natives.values()]
        if kernels:
            self.module = cupy.RawModule(code=module_source(kernels))
            for native in self.natives.values():
                kernel = native.code.contiguous_kernel
                function = self.module.get_function(kernel.name)
                native.variants[native.contiguous_key] = (kernel, function)

    def __call__(self, cupy, *args) -> list:
        if self.device_constants is None:
            self._load(cupy)
        values: list = [None] * self.size
        for s, value in self.device_constants:
            values[s] = value
        for s, value in zip(self.inputs, args):
            values[s] = value
        for step in self.steps:
            results = step.run(cupy, *[values[s] for s in step.reads])
            for s, value in zip(step.writes, results):
                values[s] = value
        return [values[s] for s in self.outputs]

    # -- control flow: bodies are device programs, the loop is a Python loop ------------

    def _body(self, closed: ClosedJaxpr) -> "_DeviceProgram":
        optimized = optimize(closed)
        groups = schedule_groups(optimized, fuse(optimized))
        body = _DeviceProgram(optimized, groups, f"{self.name}_body{len(self.bodies)}")
        self.bodies.append(body)
        return body

    def _control_flow(self, eqn: JaxprEqn) -> Callable | None:
        params = eqn.params
        if eqn.primitive.name == "cond":
            branches = [self._body(b) for b in params["branches"]]
            return lambda cupy, index, *ops: _run_cond(cupy, branches, index, ops)
        if eqn.primitive.name == "while":
            cond, body = self._body(params["cond_jaxpr"]), self._body(params["body_jaxpr"])
            counts = (params["cond_nconsts"], params["body_nconsts"])
            return lambda cupy, *args: _run_while(cupy, cond, body, counts, args)
        if eqn.primitive.name == "scan":
            body = self._body(params["jaxpr"])
            ys = [v.aval for v in eqn.outvars[params["num_carry"] :]]
            return lambda cupy, *args: _run_scan(cupy, body, params, ys, args)
        return None


def _run_cond(cupy, branches: list, index, operands) -> list:
    chosen = int(index)  # the one device-to-host read a branch needs
    return branches[min(max(chosen, 0), len(branches) - 1)](cupy, *operands)


def _run_while(cupy, cond, body, counts: tuple, args) -> list:
    n_cond, n_body = counts
    cond_consts, body_consts = args[:n_cond], args[n_cond : n_cond + n_body]
    carry = list(args[n_cond + n_body :])
    while bool(cond(cupy, *cond_consts, *carry)[0]):
        carry = body(cupy, *body_consts, *carry)
    return carry


def _run_scan(cupy, body, params: dict, y_avals: list, args) -> list:
    n_consts, n_carry, length = params["num_consts"], params["num_carry"], params["length"]
    consts, carry = args[:n_consts], list(args[n_consts : n_consts + n_carry])
    xs = args[n_consts + n_carry :]
    ys = [cupy.empty(a.shape, a.dtype) for a in y_avals]
    for i in range(length - 1, -1, -1) if params["reverse"] else range(length):
        outs = body(cupy, *consts, *carry, *[x[i, ...] for x in xs])
        carry = outs[:n_carry]
        for y, out in zip(ys, outs[n_carry:]):
            y[i] = out
    return [*carry, *ys]
