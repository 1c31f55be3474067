"""prng: speed of funcgrad.random under jit next to JAX's jit and NumPy's Generator, all
in one process.

    python bench/prng.py --single-thread   # reproducible on a shared or small machine
    python bench/prng.py                   # each library's default thread pools

Cases (float32 unless said, 10M values each; issue 8 target: normals at most 1.5x JAX):
raw uint32 bits, uniform floats in [-1, 3), standard normals. funcgrad and JAX compute the
same numbers (Threefry-2x32, bit for bit: the first 1000 values are compared before timing);
NumPy's Generator (PCG64, `default_rng`) draws its own, so it is timed as a baseline only.
JAX is optional: without it its cells show "—". funcgrad's NumPy backend, the reference
evaluator (an op at a time, some 10x slower here), checks values but is not timed. Timings
are medians over repetitions taken in turns (bench/jit.py's `medians_in_turns`);
--single-thread limits XLA and BLAS to one thread, and FUNCGRAD_NUM_THREADS=1 limits the
LLVM backend's own threads.
"""

from __future__ import annotations

import os
from typing import Callable

# A script's own folder leads sys.path: bench/jit.py holds the helpers the scripts share.
import jit as jit_bench
import numpy as np

import funcgrad as fg
from funcgrad import random as fg_random

SIZE = 10_000_000
LIBRARIES = ("llvm", "jax", "numpy")
TITLES = ("funcgrad llvm", "JAX jit", "NumPy Generator")
CHECKED = 1000  # leading values compared between funcgrad and JAX


jax = jit_bench.jax


def cases() -> list[tuple[str, Callable, Callable]]:
    """(title, sampler over a random module, NumPy Generator draw) per row; the sampler is
    written once for funcgrad.random and jax.random."""
    return [
        (
            "bits uint32",
            lambda r, k: r.bits(k, (SIZE,)),
            lambda g: g.integers(0, 2**32, SIZE, np.uint32),
        ),
        (
            "uniform [-1, 3)",
            lambda r, k: r.uniform(k, (SIZE,), minval=-1.0, maxval=3.0),
            lambda g: g.uniform(-1.0, 3.0, SIZE).astype(np.float32),
        ),
        (
            "normal",
            lambda r, k: r.normal(k, (SIZE,)),
            lambda g: g.standard_normal(SIZE, dtype=np.float32),
        ),
    ]


def implementations(sampler: Callable, numpy_draw: Callable) -> dict[str, Callable]:
    key = fg_random.PRNGKey(0)
    funs = {}
    jitted = fg.jit(lambda k: sampler(fg_random, k), backend="llvm")
    funs["llvm"] = lambda: jitted(key).block_until_ready()
    if jax:
        jax_key = jax.random.PRNGKey(0)
        jax_sampler = jax.jit(lambda k: sampler(jax.random, k))
        funs["jax"] = lambda: jax_sampler(jax_key).block_until_ready()
    generator = np.random.default_rng(0)
    funs["numpy"] = lambda: numpy_draw(generator)
    return funs


def check(title: str, sampler: Callable, funs: dict[str, Callable]) -> None:
    """funcgrad llvm's leading values equal funcgrad's eager ones and JAX's, bit for bit."""
    words = np.asarray(funs["llvm"]())[:CHECKED].view(np.uint32)
    eager = fg.jit(lambda k: sampler(fg_random, k), backend="numpy")
    references = {"funcgrad numpy": np.asarray(eager(fg_random.PRNGKey(0)))}
    if "jax" in funs:
        references["JAX"] = np.asarray(funs["jax"]())
    for name, values in references.items():
        np.testing.assert_array_equal(words, values[:CHECKED].view(np.uint32), f"{title}: {name}")


def cell(times: dict[str, float], lib: str) -> str:
    return f"{times[lib] * 1e3:.1f}" if lib in times else "—"


def ratio(times: dict[str, float], a: str, b: str) -> str:
    return f"{times[a] / times[b]:.2f}" if a in times and b in times else "—"


def main() -> None:
    jit_bench.parse_arguments("funcgrad.random against JAX and NumPy")
    load = os.getloadavg()[0]
    rows = []
    for title, sampler, numpy_draw in cases():
        funs = implementations(sampler, numpy_draw)
        check(title, sampler, funs)
        rows.append((title, jit_bench.medians_in_turns(funs, number=1, repeat=5)))
    print(
        f"| {SIZE // 10**6}M values, median ms | "
        + " | ".join(TITLES)
        + " | funcgrad llvm/JAX | funcgrad llvm/NumPy |"
    )
    print("|" + "---|" * (len(LIBRARIES) + 3))
    for title, times in rows:
        cells = [cell(times, lib) for lib in LIBRARIES]
        cells += [ratio(times, "llvm", "jax"), ratio(times, "llvm", "numpy")]
        print(f"| {title} | " + " | ".join(cells) + " |")
    normal_times = rows[-1][1]
    if "jax" in normal_times:
        met = normal_times["llvm"] <= 1.5 * normal_times["jax"]
        print(f"\ntarget normal: funcgrad llvm/JAX <= 1.5: {'met' if met else 'not met'}")
    else:
        print("\ntarget normal: not measured (JAX missing)")
    threads = [f"{n}={os.environ[n]}" for n in jit_bench.SINGLE_THREAD_ENV if n in os.environ]
    print(f"load average {load:.1f} at start; {os.cpu_count()} CPUs")
    print("threads: " + (", ".join(threads) or "library defaults"))
    versions = [f"numpy {np.__version__}"] + ([f"jax {jax.__version__}"] if jax else [])
    print("versions: " + ", ".join(versions))


if __name__ == "__main__":
    main()
