"""Running a compiled kernel on every core: contiguous chunks of its outermost loop.

A kernel (see `engine.KERNEL_SIGNATURE`) runs any range [start, stop) of its outermost
parallel loop, and ranges never write the same element, so [0, n) splits into one contiguous
chunk per core. ctypes releases the GIL for the length of the native call, so plain Python
threads run the chunks truly in parallel. The threads live in one persistent pool (starting
threads per call would cost more than most kernels take); the calling thread runs the first
chunk itself instead of waiting idle.

Handing a chunk to a pool thread and hearing back costs about 20 microseconds here, more
than a small kernel takes, so a call whose estimated work (iterations times work per
iteration, in element-operations) is under `PARALLEL_THRESHOLD` runs on the calling thread
alone. `FUNCGRAD_NUM_THREADS` caps the
number of threads (default: the cores this process may run on).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable

__all__ = [
    "PARALLEL_THRESHOLD",
    "ChunkRunner",
    "chunk_bounds",
    "default_thread_count",
    "run_kernel",
]

# About 65 microseconds of vectorized float32 arithmetic on one core here (~0.065 ns per
# element-operation, for memory-light FMA chains and for y = 2x + 1 alike): three times what
# handing a chunk to another thread costs, so splitting pays for itself.
PARALLEL_THRESHOLD = 1 << 20

Kernel = Callable[[int, int, Any], None]


def default_thread_count() -> int:
    """`FUNCGRAD_NUM_THREADS` if set, else the number of cores this process may run on."""
    requested = os.environ.get("FUNCGRAD_NUM_THREADS", "").strip()
    if requested:
        if not requested.isdigit() or int(requested) < 1:
            raise ValueError(
                f"environment variable FUNCGRAD_NUM_THREADS={requested!r} must be a "
                "positive integer"
            )
        return int(requested)
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def chunk_bounds(n: int, parts: int) -> list[tuple[int, int]]:
    """Split [0, n) into at most `parts` contiguous, non-empty ranges of near-equal length.

    >>> chunk_bounds(10, 3)
    [(0, 4), (4, 7), (7, 10)]
    """
    parts = max(1, min(parts, n))
    size, extra = divmod(n, parts)
    bounds, start = [], 0
    for index in range(parts):
        stop = start + size + (1 if index < extra else 0)
        bounds.append((start, stop))
        start = stop
    return bounds


class ChunkRunner:
    """Runs kernels over [0, n) on `num_threads` threads: the caller's and a pool's.

    >>> seen = []
    >>> ChunkRunner(2).run(lambda start, stop, _: seen.append((start, stop)), 10, None)
    >>> seen
    [(0, 10)]
    """

    def __init__(self, num_threads: int, threshold: float = PARALLEL_THRESHOLD):
        if num_threads < 1:
            raise ValueError(f"ChunkRunner needs at least one thread, got {num_threads}")
        self.num_threads = num_threads
        self.threshold = threshold
        # One queue that every worker takes chunks from: a worker that is free (or was not
        # descheduled) takes the next chunk. A bare queue wakes a thread in about half the
        # time concurrent.futures takes, which halves the size at which threads pay off.
        self._chunks: queue.SimpleQueue = queue.SimpleQueue()
        self._workers = [
            threading.Thread(target=self._work, name=f"funcgrad-kernel-{index}", daemon=True)
            for index in range(num_threads - 1)
        ]
        for worker in self._workers:
            worker.start()

    def run(self, kernel: Kernel, n: int, pointers: Any, *, work_per_iteration: float = 1.0):
        """Run `kernel(start, stop, pointers)` over chunks that together cover [0, n)."""
        if not self._workers or n < 2 or n * work_per_iteration < self.threshold:
            kernel(0, n, pointers)
            return
        first, *rest = chunk_bounds(n, self.num_threads)
        finished: queue.SimpleQueue = queue.SimpleQueue()
        for start, stop in rest:
            self._chunks.put((kernel, start, stop, pointers, finished))
        try:
            kernel(*first, pointers)
        finally:
            # Never return while a chunk may still be writing into the caller's buffers.
            errors = [finished.get() for _ in rest]
        for error in errors:
            if error is not None:
                raise error  # a chunk's Python-level error, e.g. arguments ctypes refused

    def shutdown(self) -> None:
        """Stop the pool's threads (they would otherwise idle until the process exits)."""
        for _ in self._workers:
            self._chunks.put(None)
        for worker in self._workers:
            worker.join()
        self._workers = []

    def _work(self) -> None:
        while (chunk := self._chunks.get()) is not None:
            kernel, start, stop, pointers, finished = chunk
            try:
                kernel(start, stop, pointers)
            except BaseException as error:  # handed to the caller, who re-raises it
                finished.put(error)
            else:
                finished.put(None)


_default_runner: ChunkRunner | None = None
_default_runner_lock = threading.Lock()


def run_kernel(kernel: Kernel, n: int, pointers: Any, *, work_per_iteration: float = 1.0):
    """Run `kernel` over iterations [0, n), split across all cores when the work is large.

    `work_per_iteration` estimates the element-operations one iteration does (e.g. row
    length times operations per element), to judge whether threads pay for themselves.
    """
    runner = _default_runner or _make_default_runner()
    runner.run(kernel, n, pointers, work_per_iteration=work_per_iteration)


def _make_default_runner() -> ChunkRunner:
    global _default_runner
    with _default_runner_lock:
        if _default_runner is None:
            _default_runner = ChunkRunner(default_thread_count())
        return _default_runner


def _forget_default_runner() -> None:
    # A forked child inherits the pool object but not its threads; it starts a new one.
    global _default_runner, _default_runner_lock
    _default_runner = None
    _default_runner_lock = threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_default_runner)
