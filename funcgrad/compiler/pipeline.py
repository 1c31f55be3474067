"""The optimizing pipeline: the passes jit runs, in order, read top to bottom.

Each pass is a pure function ClosedJaxpr -> ClosedJaxpr living in its own module under
compiler/passes/; fusion grouping and buffer planning come after, on the optimized IR.
"""

from __future__ import annotations

from funcgrad.compiler.passes.cse import cse
from funcgrad.compiler.passes.dce import dce
from funcgrad.compiler.passes.fold import fold
from funcgrad.compiler.passes.inline import inline
from funcgrad.compiler.passes.matmul_chain import reassociate_matmuls
from funcgrad.compiler.passes.scan_hoist import hoist_scans
from funcgrad.compiler.passes.simplify import simplify
from funcgrad.core.jaxpr import ClosedJaxpr

__all__ = ["PASSES", "optimize"]

PASSES = [
    inline,
    simplify,
    fold,
    cse,
    hoist_scans,
    reassociate_matmuls,
    dce,
]


def optimize(closed: ClosedJaxpr) -> ClosedJaxpr:
    for run_pass in PASSES:
        closed = run_pass(closed)
    return closed
