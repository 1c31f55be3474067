"""The registry of workloads bench/run.py runs, by name, in the order of its tables."""

from bench.workloads import (
    cnn,
    compile_time,
    control_flow,
    dispatch,
    elementwise,
    mlp,
    per_example,
    prng,
)
from bench.workloads.base import Workload

__all__ = ["WORKLOADS"]

_MODULES = (elementwise, mlp, cnn, per_example, control_flow, prng, dispatch, compile_time)
WORKLOADS: dict[str, Workload] = {
    workload.name: workload for module in _MODULES for workload in module.WORKLOADS
}
