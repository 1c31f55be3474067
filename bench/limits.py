"""The machine's limits, measured in the same run as the workloads, and thread settings.

A workload's floor is the larger of its bytes at the copy bandwidth and its flops at the BLAS
float32 rate; the report says what fraction of that floor each implementation reaches.

With default thread pools, BLAS, OpenMP and XLA workers that busy-wait for each other
collapse (10-30x slower matmuls) when another process takes a core, so on a shared machine
only single-threaded figures repeat: `--single-thread` sets one thread for each and restarts
the process, because thread pools are sized when those libraries load. funcgrad's LLVM
backend keeps its own threads (FUNCGRAD_NUM_THREADS limits them).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass

import numpy as np

from bench.timing import best_seconds

__all__ = ["Limits", "measure_limits", "SINGLE_THREAD_ENV", "rerun_single_threaded"]

SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
_RESTARTED = "FUNCGRAD_BENCH_SINGLE_THREAD_RESTARTED"  # marks the restarted process


@dataclass(frozen=True)
class Limits:
    """Copy bandwidth in bytes/s (a copy counts its read and its write) and BLAS float32
    matmul rate in flop/s."""

    bandwidth: float
    flop_rate: float

    def floor_seconds(self, bytes_moved: float, flops: float) -> tuple[float, str]:
        """The least time a workload can take, and which limit sets it.

        >>> Limits(10e9, 100e9).floor_seconds(1e9, 1e9)
        (0.1, 'memory')
        """
        memory, compute = bytes_moved / self.bandwidth, flops / self.flop_rate
        return (memory, "memory") if memory >= compute else (compute, "BLAS")


def measure_limits(copy_bytes: int = 64 * 2**20, matmul_size: int = 1024) -> Limits:
    """Best-of bandwidth of a `copy_bytes` float32 copy (well beyond the caches) and best-of
    rate of a square float32 matmul of `matmul_size`."""
    rng = np.random.default_rng(1)
    source = rng.random(copy_bytes // 4, np.float32)
    target = np.empty_like(source)
    bandwidth = 2 * source.nbytes / best_seconds(lambda: np.copyto(target, source), 5)
    lhs = rng.random((matmul_size, matmul_size), np.float32)
    rhs = rng.random((matmul_size, matmul_size), np.float32)
    best_seconds(lambda: lhs @ rhs, 5)  # BLAS threads wake up slowly
    flop_rate = 2 * matmul_size**3 / best_seconds(lambda: lhs @ rhs, 3)
    return Limits(bandwidth, flop_rate)


def rerun_single_threaded() -> None:
    """Restart this script with one thread for BLAS, OpenMP and XLA (once: the restarted
    process carries a marker and returns at once)."""
    if _RESTARTED in os.environ:
        return
    env = {**os.environ, **SINGLE_THREAD_ENV, _RESTARTED: "1"}
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREAD_ENV['XLA_FLAGS']}".strip()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)
