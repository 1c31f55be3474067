"""How a benchmark times a call: medians over repetitions taken in turns, after warm-up.

Every library's column is timed inside the same loop, a block each per round, so that load
from other processes on a shared machine falls on every column alike. Each block starts with
untimed calls because the previous library's worker threads (OpenBLAS, OpenMP, XLA) keep
spinning for a while after it returns. Machine limits use best-of instead of medians: a limit
is what the machine reaches at best.
"""

from __future__ import annotations

import math
import statistics
import time
import timeit
from dataclasses import dataclass
from typing import Callable

__all__ = [
    "Schedule",
    "LONG_CALL_SECONDS",
    "calls_per_sample",
    "medians_in_turns",
    "best_seconds",
]


@dataclass(frozen=True)
class Schedule:
    """How much timing a run does: `rounds` of turns, `repeat` samples per turn, each sample
    at least `sample_seconds` long (calls are batched until it is)."""

    rounds: int
    repeat: int
    sample_seconds: float
    settle: int = 1


# A call this long is timed once a round with no settling call: threads spinning for
# milliseconds do not matter to it, and the rounds still give a median.
LONG_CALL_SECONDS = 1.0


def calls_per_sample(fun: Callable, sample_seconds: float) -> tuple[int, float]:
    """How many calls make one sample last `sample_seconds`, and the time of one call."""
    start = time.perf_counter()
    fun()
    once = time.perf_counter() - start
    return max(1, min(10_000, math.ceil(sample_seconds / max(once, 1e-7)))), once


def medians_in_turns(funs: dict[str, Callable], schedule: Schedule) -> dict[str, float]:
    """Median seconds per call of each function, the functions taking turns.

    >>> medians_in_turns({"noop": lambda: None}, Schedule(1, 3, 0.001))["noop"] < 1e-3
    True
    """
    plans = {name: calls_per_sample(fun, schedule.sample_seconds) for name, fun in funs.items()}
    samples: dict[str, list[float]] = {name: [] for name in funs}
    for _ in range(schedule.rounds):
        for name, fun in funs.items():
            number, once = plans[name]
            long_call = once >= LONG_CALL_SECONDS
            for _ in range(0 if long_call else schedule.settle):
                fun()
            repeat = 1 if long_call else schedule.repeat
            times = timeit.repeat(fun, number=number, repeat=repeat)
            samples[name] += [t / number for t in times]
    return {name: statistics.median(times) for name, times in samples.items()}


def best_seconds(fun: Callable, number: int, repeat: int = 5) -> float:
    """The fastest of `repeat` timings of `number` calls, per call, after one warm-up call.

    >>> best_seconds(lambda: None, number=10) < 1e-3
    True
    """
    fun()
    return min(timeit.repeat(fun, number=number, repeat=repeat)) / number
