"""llvm: speed of the LLVM backend's kernels next to funcgrad's NumPy backend, JAX's jit,
NumPy eager and PyTorch eager, all in one process, with each case's memory-bandwidth floor.

    python bench/llvm.py --single-thread   # reproducible on a shared or small machine
    python bench/llvm.py                   # each library's default thread pools

Cases (float32, issue 7 targets): tanh-GELU on 4M elements (LLVM faster than JAX, and at
least 5x NumPy eager); row softmax and layernorm on 4096x1024 (LLVM faster than JAX); the
784-512-512-10 MLP train step of bench/jit.py, batch 128 (LLVM at most 1.1x JAX). Each
function is written once for the NumPy-like APIs, so every library computes the same thing;
NumPy eager is that code run on NumPy's ufuncs. Every implementation's result is checked
against NumPy eager before anything is timed.

The floor of a case is its minimal traffic (inputs read once, outputs written once) at the
copy bandwidth measured in the same run; "% of floor" says how close each implementation
gets. The --single-thread flag limits BLAS, OpenMP and XLA to one thread (see bench/jit.py,
whose helpers this script reuses) but not the LLVM backend's threads, which
FUNCGRAD_NUM_THREADS=1 limits; the report gives the cores each implementation actually kept
busy (CPU time / wall time while timed, spinning threads included). An implementation that
fails its first call or its check is listed, not timed, and its cells show "—", as do the
LLVM cells while `funcgrad.jit` does not know the "llvm" backend. Timings are medians over
repetitions taken in turns; the copy bandwidth is best-of.
"""

from __future__ import annotations

import functools
import math
import os
import time
import types
from dataclasses import dataclass
from typing import Callable

# A script's own folder leads sys.path: bench/jit.py holds the helpers the scripts share.
import jit as jit_bench
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp

jax, jnp, torch = jit_bench.jax, getattr(jit_bench, "jnp", None), jit_bench.torch

GELU_SIZE = 4 * 2**20
ROWS, COLS = 4096, 1024
LAYERNORM_EPS = 1e-5
LIBRARIES = ("llvm", "fg-numpy", "jax", "numpy", "torch")
TITLES = ("funcgrad llvm", "funcgrad numpy", "JAX jit", "NumPy eager", "PyTorch eager")
RATIOS = (("llvm", "jax"), ("llvm", "numpy"), ("fg-numpy", "jax"))


# --- the functions, written once for the NumPy-like APIs (NumPy, funcgrad, JAX, PyTorch) ------


def gelu_tanh(np_like, x):
    # x * x * x rather than x ** 3: NumPy eager has no fast path for a cube. Python float
    # constants are weakly typed in every library, so the result stays float32.
    inner = math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x))
    return 0.5 * x * (1 + np_like.tanh(inner))


def softmax(np_like, x):
    exps = np_like.exp(x - np_like.amax(x, axis=-1, keepdims=True))
    return exps / exps.sum(axis=-1, keepdims=True)


def layernorm(np_like, x, scale, bias):
    centered = x - x.mean(axis=-1, keepdims=True)
    variance = (centered * centered).mean(axis=-1, keepdims=True)
    inverse_deviation = 1 / np_like.sqrt(variance + LAYERNORM_EPS)  # one per row
    return centered * inverse_deviation * scale + bias


@dataclass(frozen=True)
class Case:
    """One benchmark row: `implementations` maps a library to a call returning its result
    (None for an unavailable one); `check(name, result)` compares a result with the oracle."""

    title: str
    implementations: dict[str, Callable | None]
    check: Callable[[str, object], None]
    bytes_moved: int
    target: str
    target_met: Callable[[dict[str, float]], bool]
    calls_per_sample: int = 1  # enough that a sample lasts several milliseconds


# --- building the implementations -----------------------------------------------------------


def funcgrad_jit(fun: Callable, backend: str) -> Callable | None:
    """`funcgrad.jit(fun, backend=...)`, or None while funcgrad does not know the backend."""
    try:
        return fg.jit(fun, backend=backend)
    except ValueError as error:
        if "unknown backend" not in str(error):
            raise
        return None


def array_case_implementations(body: Callable, inputs: list[np.ndarray]) -> dict:
    """`body(np_like, *inputs)` in every library: funcgrad's two backends and JAX jitted,
    NumPy and PyTorch eager. Inputs are converted once, outside the timed calls."""
    fg_args = [fnp.asarray(a) for a in inputs]
    implementations = {"numpy": lambda: body(np, *inputs)}
    for lib, backend in (("llvm", "llvm"), ("fg-numpy", "numpy")):
        jitted = funcgrad_jit(functools.partial(body, fnp), backend)
        implementations[lib] = None if jitted is None else functools.partial(jitted, *fg_args)
    if jax:
        jx_fun = jax.jit(functools.partial(body, jnp))
        jx_args = [jnp.asarray(a) for a in inputs]
        implementations["jax"] = lambda: jx_fun(*jx_args).block_until_ready()
    if torch:
        pt_args = [torch.from_numpy(a) for a in inputs]
        implementations["torch"] = lambda: body(torch, *pt_args)
    return implementations


def array_case(
    title: str,
    body: Callable,
    inputs: list[np.ndarray],
    tolerances: tuple[float, float],
    target: str,
    target_met: Callable[[dict[str, float]], bool],
) -> Case:
    """A case over arrays, checked against NumPy eager to (rtol, atol) `tolerances`."""
    expected = body(np, *inputs)

    def check(name: str, result) -> None:
        got = to_numpy(result)
        assert got.dtype == np.float32, f"{title}, {name}: dtype {got.dtype}"
        rtol, atol = tolerances
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=f"{title} {name}")

    traffic = sum(a.nbytes for a in inputs) + expected.nbytes
    implementations = array_case_implementations(body, inputs)
    return Case(title, implementations, check, traffic, target, target_met)


def train_step_case(rng: np.random.Generator) -> Case:
    """bench/jit.py's MLP train step (value_and_grad + SGD), checked against its hand-derived
    NumPy step; NumPy eager is that hand-written step."""
    sizes = jit_bench.LAYER_SIZES
    params = jit_bench.init_params(rng)
    x = rng.normal(size=(jit_bench.BATCH, sizes[0])).astype(np.float32)
    y = np.eye(sizes[-1], dtype=np.float32)[rng.integers(0, sizes[-1], jit_bench.BATCH)]
    reference = jit_bench.numpy_train_step(params, x, y)
    implementations = {"numpy": lambda: jit_bench.numpy_train_step(params, x, y)}
    fg_args = ({k: fnp.asarray(v) for k, v in params.items()}, fnp.asarray(x), fnp.asarray(y))
    for lib, backend in (("llvm", "llvm"), ("fg-numpy", "numpy")):
        # make_train_step calls api.jit(step): hand it funcgrad with the backend chosen
        api = types.SimpleNamespace(
            jit=lambda step, backend=backend: funcgrad_jit(step, backend),
            value_and_grad=fg.value_and_grad,
            tree_util=fg.tree_util,
        )
        step = jit_bench.make_train_step(api, fnp)
        implementations[lib] = None if step is None else functools.partial(step, *fg_args)
    if jax:
        jx_args = jax.tree_util.tree_map(jnp.asarray, (params, x, y))
        jx_step = jit_bench.make_train_step(jax, jnp)
        implementations["jax"] = lambda: jax.block_until_ready(jx_step(*jx_args))
    if torch:
        pt_args = fg.tree_util.tree_map(torch.from_numpy, (params, x, y))
        implementations["torch"] = lambda: jit_bench.torch_train_step(*pt_args)

    def check(name: str, result) -> None:
        jit_bench.check_against_numpy(name, to_numpy(result), reference, params)

    traffic = sum(a.nbytes for a in fg.tree_util.tree_leaves((params, x, y, reference)))
    sizes_text = "-".join(map(str, sizes))
    return Case(
        f"MLP {sizes_text} train step, batch {jit_bench.BATCH}",
        implementations,
        check,
        traffic,
        target="llvm/JAX <= 1.1",
        target_met=lambda times: times["llvm"] <= 1.1 * times["jax"],
        calls_per_sample=3,
    )


def to_numpy(tree):
    """Results of any library as NumPy arrays, for checking."""

    def leaf(value):
        if torch and isinstance(value, torch.Tensor):
            return value.detach().numpy()
        return np.asarray(value)

    return fg.tree_util.tree_map(leaf, tree)


def build_cases(rng: np.random.Generator) -> list[Case]:
    """The issue 7 cases, each with its target; tolerances are float32-sized (a few ulp, and
    an absolute floor where outputs pass near zero)."""
    x_flat = rng.normal(size=GELU_SIZE).astype(np.float32)
    x_rows = rng.normal(size=(ROWS, COLS)).astype(np.float32)
    scale = rng.normal(size=COLS).astype(np.float32)
    bias = rng.normal(size=COLS).astype(np.float32)
    beats_jax = "llvm/JAX < 1.0"
    faster_than_jax = lambda times: times["llvm"] < times["jax"]  # noqa: E731
    return [
        array_case(
            f"tanh-GELU, {GELU_SIZE // 2**20}M",
            gelu_tanh,
            [x_flat],
            (1e-5, 1e-6),
            f"{beats_jax} and llvm/NumPy <= 0.2",
            lambda times: faster_than_jax(times) and times["llvm"] <= 0.2 * times["numpy"],
        ),
        array_case(
            f"softmax, {ROWS}x{COLS}", softmax, [x_rows], (1e-5, 1e-8), beats_jax, faster_than_jax
        ),
        array_case(
            f"layernorm, {ROWS}x{COLS}",
            layernorm,
            [3 * x_rows + 1, scale, bias],
            (1e-5, 1e-5),
            beats_jax,
            faster_than_jax,
        ),
        train_step_case(rng),
    ]


# --- measurements ---------------------------------------------------------------------------


class CoreMeter:
    """Wraps a call to add up its process CPU time and wall time: their ratio is the number
    of cores the call kept busy, worker threads included."""

    def __init__(self, fun: Callable):
        self.fun, self.cpu_seconds, self.wall_seconds = fun, 0.0, 0.0

    def __call__(self):
        cpu, wall = time.process_time(), time.perf_counter()
        self.fun()
        self.cpu_seconds += time.process_time() - cpu
        self.wall_seconds += time.perf_counter() - wall

    def busy_cores(self) -> float:
        return self.cpu_seconds / self.wall_seconds


def copy_bandwidth() -> float:
    """Bytes per second of a 64 MiB float32 copy, counted as read once plus written once."""
    source = np.random.default_rng(1).random(16 * 2**20, np.float32)
    target = np.empty_like(source)
    return 2 * source.nbytes / jit_bench.best_seconds(lambda: np.copyto(target, source), 5)


@dataclass(frozen=True)
class CaseResult:
    """Median seconds per call and cores kept busy of each timed implementation, and the
    error of each one that failed its first call or its check (those are not timed)."""

    times: dict[str, float]
    cores: dict[str, float]
    failures: dict[str, str]


def first_line_of(error: Exception) -> str:
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0] if lines else ''}"


def time_case(case: Case) -> CaseResult:
    """Checks each available implementation, then times those that passed in turns. A
    failure is reported rather than raised, so that a backend still being built (or a wrong
    result) costs its own cells and not the whole run."""
    passed, failures = {}, {}
    for lib, fun in case.implementations.items():
        if fun is None:
            continue
        try:
            case.check(lib, fun())
        except Exception as error:  # reported with the tables
            failures[lib] = first_line_of(error)
        else:
            passed[lib] = fun
    meters = {lib: CoreMeter(fun) for lib, fun in passed.items()}
    medians = jit_bench.medians_in_turns(meters, number=case.calls_per_sample, repeat=4)
    return CaseResult(medians, {lib: m.busy_cores() for lib, m in meters.items()}, failures)


# --- report ---------------------------------------------------------------------------------


def cell(values: dict[str, float], lib: str, scale: float = 1.0, digits: int = 2) -> str:
    return f"{values[lib] * scale:.{digits}f}" if lib in values else "—"


def ratio(times: dict[str, float], numerator: str, denominator: str) -> str:
    if numerator in times and denominator in times:
        return f"{times[numerator] / times[denominator]:.2f}"
    return "—"


def print_times(cases: list[Case], results: list[CaseResult]) -> None:
    ratio_titles = [f"{TITLES[LIBRARIES.index(a)]}/{TITLES[LIBRARIES.index(b)]}" for a, b in RATIOS]
    print("| float32, median ms | " + " | ".join(TITLES + tuple(ratio_titles)) + " |")
    print("|" + "---|" * (1 + len(LIBRARIES) + len(RATIOS)))
    for case, result in zip(cases, results):
        times = result.times
        cells = [cell(times, lib, 1e3) for lib in LIBRARIES]
        cells += [ratio(times, a, b) for a, b in RATIOS]
        print(f"| {case.title} | " + " | ".join(cells) + " |")


def print_floors(cases: list[Case], results: list[CaseResult], bandwidth: float) -> None:
    print(
        f"\n| % of bandwidth floor (copy {bandwidth / 1e9:.1f} GB/s) | MB moved | floor ms | "
        + " | ".join(TITLES)
        + " |"
    )
    print("|" + "---|" * (3 + len(LIBRARIES)))
    for case, result in zip(cases, results):
        times = result.times
        floor = case.bytes_moved / bandwidth
        shares = {lib: floor / seconds for lib, seconds in times.items()}
        cells = [cell(shares, lib, 100, 0) for lib in LIBRARIES]
        print(
            f"| {case.title} | {case.bytes_moved / 1e6:.1f} | {floor * 1e3:.2f} | "
            + " | ".join(cells)
            + " |"
        )
    print("(the MLP step is bound by its matmuls, not by memory: see bench/jit.py for its FLOP/s)")


def print_cores(cases: list[Case], results: list[CaseResult]) -> None:
    print("\n| cores kept busy (CPU time / wall time) | " + " | ".join(TITLES) + " |")
    print("|" + "---|" * (1 + len(LIBRARIES)))
    for case, result in zip(cases, results):
        cores = result.cores
        print(f"| {case.title} | " + " | ".join(cell(cores, lib, 1, 1) for lib in LIBRARIES) + " |")


def print_targets(cases: list[Case], results: list[CaseResult]) -> None:
    print()
    for case, result in zip(cases, results):
        times = result.times
        if "llvm" not in times or "jax" not in times:
            verdict = "not measured (funcgrad llvm or JAX missing)"
        else:
            verdict = "met" if case.target_met(times) else "not met"
        print(f"target {case.title}: {case.target}: {verdict}")


def print_failures(cases: list[Case], results: list[CaseResult]) -> None:
    for case, result in zip(cases, results):
        for lib, error in result.failures.items():
            print(f"FAILED, not timed: {TITLES[LIBRARIES.index(lib)]} on {case.title}: {error}")


def llvm_thread_count() -> str:
    try:
        from funcgrad.backends.llvm.threads import default_thread_count
    except ImportError:
        return "—"
    return str(default_thread_count())


def print_threads() -> None:
    """What each library was allowed; the cores table above says what each used."""
    setting = lambda name: f"{name}={os.environ.get(name, 'unset')}"  # noqa: E731
    blas = ", ".join(map(setting, ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")))
    allowed = [f"NumPy eager and funcgrad numpy: ufuncs 1, BLAS {blas}"]
    if torch:
        allowed.append(f"PyTorch {torch.get_num_threads()}")
    if jax:
        allowed.append(f"JAX {setting('XLA_FLAGS')!r}")
    allowed.append(f"funcgrad llvm {llvm_thread_count()} ({setting('FUNCGRAD_NUM_THREADS')})")
    print(f"threads allowed ({os.cpu_count()} CPUs): " + "; ".join(allowed))


def main() -> None:
    jit_bench.parse_arguments("funcgrad's LLVM backend against JAX and NumPy")
    load = os.getloadavg()[0]
    bandwidth = copy_bandwidth()
    cases = build_cases(np.random.default_rng(0))
    results = [time_case(case) for case in cases]
    print_times(cases, results)
    print_floors(cases, results, bandwidth)
    print_cores(cases, results)
    print_targets(cases, results)
    print_failures(cases, results)
    print(f"\nload average {load:.1f} at start")
    print_threads()
    versions = [f"numpy {np.__version__}"] + ([f"jax {jax.__version__}"] if jax else [])
    versions += [f"torch {torch.__version__}"] if torch else []
    print("versions: " + ", ".join(versions))


if __name__ == "__main__":
    main()
