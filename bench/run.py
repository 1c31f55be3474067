"""run: every benchmark of funcgrad in one command, against NumPy, JAX and PyTorch, with the
machine's limits measured in the same run.

    python bench/run.py --single-thread      # reproducible figures on a shared machine
    python bench/run.py --quick              # smaller sizes, fewer repetitions: under a minute
    python bench/run.py --only gelu --only mlp
    python bench/run.py --list               # the workloads and their sizes

Each workload (bench/workloads/) builds one implementation per library present: funcgrad jit
on each backend, NumPy eager (the reference every other result is checked against before
anything is timed), JAX jit, PyTorch eager, and CuPy and JAX on a GPU when there is one.
Times are medians over repetitions after warm-up, the libraries taking turns; ratios are
taken within the run. The copy bandwidth and the BLAS float32 rate are measured first, and
each workload's bytes and flops give the floor it is compared with.

Output: tables on stdout, and in --out (default bench/results/) run.json (everything
measured), performance.md (the README's "Performance" section, ready to paste) and
performance.png (needs matplotlib; skipped with a note without it).
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
import traceback
from pathlib import Path

if __package__ in (None, ""):
    # Run as `python bench/run.py`: the repository root makes the `bench` package importable.
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np

from bench import libraries, report
from bench.limits import measure_limits, rerun_single_threaded
from bench.timing import Schedule, medians_in_turns
from bench.workloads import WORKLOADS
from bench.workloads.base import Workload

__all__ = ["main", "run_workload", "SCHEDULES"]

SCHEDULES = {
    "full": Schedule(rounds=3, repeat=5, sample_seconds=0.05),
    "quick": Schedule(rounds=1, repeat=3, sample_seconds=0.02),
    "tiny": Schedule(rounds=1, repeat=1, sample_seconds=0.0, settle=0),
}


# Tiny runs check agreement only: a small copy and matmul keep them fast.
LIMIT_SIZES = {
    "full": {"copy_bytes": 64 * 2**20, "matmul_size": 1024},
    "quick": {"copy_bytes": 64 * 2**20, "matmul_size": 1024},
    "tiny": {"copy_bytes": 2**20, "matmul_size": 128},
}


def _summary(error: BaseException) -> str:
    """The error's type and first lines on one line (NumPy's assertions put the mismatch
    on the third and fourth)."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: " + "; ".join(lines[:4])


def run_workload(workload: Workload, size: str, schedule: Schedule, seed: int = 0) -> dict:
    """Build `workload` at `size`, check every implementation against the reference, time
    those that agree. A failure costs its own cells, never the run."""
    result = {
        "name": workload.name,
        "title": workload.describe(size),
        "size": size,
        "unit": "ms",
        "bytes": 0.0,
        "flops": 0.0,
        "times": {},
        "skipped": {},
        "failed": {},
        "notes": workload.notes,
    }
    try:
        instance = workload.build(np.random.default_rng(seed), **workload.sizes[size])
    except Exception as error:  # reported with the tables
        result["error"] = _summary(error)
        traceback.print_exc()
        return result
    result.update(unit=instance.unit, bytes=instance.bytes_moved, flops=instance.flops)
    passed, first_seconds = {}, {}
    for key, implementation in instance.implementations.items():
        if isinstance(implementation, str):
            result["skipped"][key] = implementation
            continue
        try:
            outcome = implementation()
            if instance.self_timed:
                first_seconds[key], outcome = outcome
            instance.check(key, outcome)
        except Exception as error:  # reported with the tables
            result["failed"][key] = _summary(error)
        else:
            passed[key] = implementation
    if instance.self_timed:
        # the checked call was the first sample; each further one is another first call
        for key, fun in passed.items():
            samples = [first_seconds[key]] + [fun()[0] for _ in range(schedule.rounds - 1)]
            result["times"][key] = float(np.median(samples))
    elif passed:
        result["times"] = medians_in_turns(passed, schedule)
    return result


def parse_arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="funcgrad against NumPy, JAX and PyTorch, with the machine's limits",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="workloads: " + ", ".join(WORKLOADS),
    )
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="smaller sizes, under a minute")
    sizes.add_argument(
        "--tiny", action="store_true", help="smoke-test sizes: checks agreement, times nothing"
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=list(WORKLOADS),
        metavar="NAME",
        help="run this workload (repeat for several); default: all",
    )
    parser.add_argument("--list", action="store_true", help="list the workloads and exit")
    parser.add_argument(
        "--single-thread", action="store_true", help="one thread for BLAS, OpenMP and XLA"
    )
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--json", type=Path, help="JSON file (default OUT/run.json)")
    parser.add_argument("--markdown", type=Path, help="Markdown (default OUT/performance.md)")
    parser.add_argument("--plot", type=Path, help="PNG plot (default OUT/performance.png)")
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> list[dict]:
    """Run the chosen workloads, print the tables and write the files; returns the results.

    >>> main(["--tiny", "--only", "gelu", "--out", "/tmp/bench"])  # doctest: +SKIP
    """
    arguments = parse_arguments(argv)
    size = "tiny" if arguments.tiny else "quick" if arguments.quick else "full"
    if arguments.list:
        for workload in WORKLOADS.values():
            print(f"{workload.name:14} {workload.describe(size)}")
        return []
    if arguments.single_thread:
        rerun_single_threaded()
    machine = libraries.machine()
    limits = measure_limits(**LIMIT_SIZES[size])
    results = []
    for name in arguments.only or list(WORKLOADS):
        workload = WORKLOADS[name]
        start = time.perf_counter()
        results.append(run_workload(workload, size, SCHEDULES[size], arguments.seed))
        seconds = time.perf_counter() - start
        print(f"ran {workload.describe(size)} in {seconds:.1f} s", file=sys.stderr, flush=True)
    print(report.render_text(results, limits, machine))
    command = "python bench/run.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    arguments.out.mkdir(parents=True, exist_ok=True)
    paths = {
        "json": arguments.json or arguments.out / "run.json",
        "markdown": arguments.markdown or arguments.out / "performance.md",
        "plot": arguments.plot or arguments.out / "performance.png",
    }
    report.write_json(paths["json"], results, limits, machine, command)
    paths["markdown"].write_text(report.render_markdown(results, limits, machine, command))
    why_not = report.write_plot(paths["plot"], results)
    written = [paths["json"], paths["markdown"]] + ([paths["plot"]] if why_not is None else [])
    print("\nwrote " + ", ".join(map(str, written)) + (f"\n{why_not}" if why_not else ""))
    return results


if __name__ == "__main__":
    main()
