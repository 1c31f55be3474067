"""jit: cached-call dispatch, first-call compile time and steady-state speed of an MLP train
step, funcgrad against JAX (and PyTorch eager and hand-written NumPy) in one process.

    python bench/jit.py --single-thread   # reproducible on a shared or small machine
    python bench/jit.py                   # each library's default thread pools

JAX and PyTorch columns appear when they are installed. With default thread pools, BLAS,
OpenMP and XLA workers that busy-wait for each other collapse (10-30x slower matmuls) when
another process takes a core, so on a shared machine only single-threaded figures repeat:
the flag sets OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS and XLA_FLAGS to one
thread and restarts the run.

Dispatch is the per-call overhead of a cached jitted call on 8 float32 elements, where only
the Python path matters (issue 6 target: funcgrad/JAX <= 0.5). The train step is
value_and_grad + SGD of a 784-512-512-10 tanh MLP with softmax cross-entropy on a batch of
128. Its first call (trace + optimize + compile + run) is timed on a fresh function each
repetition, because both jits cache by function identity (target: funcgrad <= JAX). Its
steady state is compared with an independent NumPy forward+backward, which also checks
funcgrad's loss and updated parameters before anything is timed. Memory bandwidth and BLAS
FLOP/s, measured in the same run, say how close each implementation gets to the machine.
Timings are medians over repetitions taken in turns (timeit); machine limits are best-of.
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import timeit
from typing import Callable

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = None
try:
    import torch
except ImportError:
    torch = None

SINGLE_THREAD_ENV = {
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "XLA_FLAGS": "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1",
}
RESTARTED = "FUNCGRAD_BENCH_SINGLE_THREAD_RESTARTED"  # marks the restarted process
LAYER_SIZES = (784, 512, 512, 10)
BATCH = 128
LEARNING_RATE = 0.1
# Matmul flops of one step: forward x @ w for each layer, and in the backward pass the weight
# gradient of each layer plus the input gradient of every layer but the first (the data
# needs none). Each matmul of (m, k) by (k, n) is 2 m k n flops.
LAYER_MACS = sum(n_in * n_out for n_in, n_out in zip(LAYER_SIZES, LAYER_SIZES[1:]))
STEP_FLOPS = 2 * BATCH * (3 * LAYER_MACS - LAYER_SIZES[0] * LAYER_SIZES[1])


def medians_in_turns(
    funs: dict[str, Callable], number: int, repeat: int, rounds: int = 3, settle: int = 1
) -> dict[str, float]:
    """Median seconds per call of each function. The functions take turns, a block each per
    round, so that load from other processes on a shared machine falls on every column alike;
    each block starts with `settle` untimed calls because the previous library's worker
    threads (OpenBLAS, OpenMP, XLA) keep spinning for a while after it returns."""
    for fun in funs.values():
        fun()
    samples: dict[str, list[float]] = {name: [] for name in funs}
    for _ in range(rounds):
        for name, fun in funs.items():
            for _ in range(settle):
                fun()
            samples[name] += [t / number for t in timeit.repeat(fun, number=number, repeat=repeat)]
    return {name: statistics.median(times) for name, times in samples.items()}


# --- the model, written once for the NumPy-like APIs -------------------------------------


def init_params(rng: np.random.Generator) -> dict[str, np.ndarray]:
    params = {}
    for i, (n_in, n_out) in enumerate(zip(LAYER_SIZES, LAYER_SIZES[1:])):
        params[f"w{i}"] = (rng.normal(size=(n_in, n_out)) / np.sqrt(n_in)).astype(np.float32)
        params[f"b{i}"] = (rng.normal(size=n_out) * 0.1).astype(np.float32)
    return params


def mlp_loss(np_like, params, x, y):
    hidden = x
    last = len(LAYER_SIZES) - 2
    for i in range(last):
        hidden = np_like.tanh(hidden @ params[f"w{i}"] + params[f"b{i}"])
    logits = hidden @ params[f"w{last}"] + params[f"b{last}"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np_like.log(np_like.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def make_train_step(api, np_like):
    """A fresh jitted train step of `api` (funcgrad or jax): a new function object each call."""

    def loss(params, x, y):
        return mlp_loss(np_like, params, x, y)

    def train_step(params, x, y):
        value, grads = api.value_and_grad(loss)(params, x, y)
        new_params = api.tree_util.tree_map(lambda p, g: p - LEARNING_RATE * g, params, grads)
        return new_params, value

    return api.jit(train_step)


def numpy_train_step(params, x, y):
    """The same step with the backward pass derived by hand: an oracle independent of AD."""
    last = len(LAYER_SIZES) - 2
    activations = [x]
    for i in range(last):
        activations.append(np.tanh(activations[-1] @ params[f"w{i}"] + params[f"b{i}"]))
    logits = activations[-1] @ params[f"w{last}"] + params[f"b{last}"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    exps = np.exp(shifted)
    totals = exps.sum(axis=1, keepdims=True)
    loss = -((shifted - np.log(totals)) * y).sum() / x.shape[0]
    # d loss / d logits of -sum(y * log_softmax) / batch
    grad_out = (exps / totals * y.sum(axis=1, keepdims=True) - y) / x.shape[0]
    new_params = {}
    for i in range(last, -1, -1):
        weight = params[f"w{i}"]
        new_params[f"w{i}"] = weight - LEARNING_RATE * (activations[i].T @ grad_out)
        new_params[f"b{i}"] = params[f"b{i}"] - LEARNING_RATE * grad_out.sum(axis=0)
        if i > 0:
            grad_out = (grad_out @ weight.T) * (1 - activations[i] ** 2)
    return new_params, loss


def torch_train_step(params, x, y):
    """PyTorch eager: the same loss, autograd for the gradient, an out-of-place SGD update."""
    leaves = {k: p.detach().requires_grad_() for k, p in params.items()}
    last = len(LAYER_SIZES) - 2
    hidden = x
    for i in range(last):
        hidden = torch.tanh(hidden @ leaves[f"w{i}"] + leaves[f"b{i}"])
    logits = hidden @ leaves[f"w{last}"] + leaves[f"b{last}"]
    shifted = logits - logits.amax(dim=1, keepdim=True)
    log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
    loss = -(log_probs * y).sum() / x.shape[0]
    grads = torch.autograd.grad(loss, list(leaves.values()))
    with torch.no_grad():
        new_params = {k: p - LEARNING_RATE * g for (k, p), g in zip(leaves.items(), grads)}
    return new_params, loss.detach()


def check_against_numpy(name: str, step_result, reference, params) -> None:
    """Loss and updated parameters match the hand-written step to float32 tolerance; the
    update itself (new - old, small next to the parameters) is checked on its own scale."""
    new_params, loss = step_result
    ref_params, ref_loss = reference
    np.testing.assert_allclose(np.asarray(loss), ref_loss, rtol=1e-5, err_msg=f"{name} loss")
    for key, ref in ref_params.items():
        got = np.asarray(new_params[key])
        assert got.dtype == np.float32, f"{name} {key}: dtype {got.dtype}"
        np.testing.assert_allclose(got, ref, rtol=1e-5, atol=1e-6, err_msg=f"{name} {key}")
        update, ref_update = got - params[key], ref - params[key]
        scale = np.abs(ref_update).max()
        np.testing.assert_allclose(
            update, ref_update, rtol=1e-3, atol=1e-3 * scale, err_msg=f"{name} {key} update"
        )


# --- measurements ---------------------------------------------------------------------------


def best_seconds(fun, number: int, repeat: int = 7) -> float:
    """The fastest of `repeat` timings: a machine limit is what it reaches at best."""
    fun()
    return min(timeit.repeat(fun, number=number, repeat=repeat)) / number


def machine_limits() -> dict[str, float]:
    """Memory bandwidth (GB/s) of a 64 MiB float32 copy and add, and BLAS float32 GFLOP/s."""
    rng = np.random.default_rng(1)
    size = 16 * 2**20
    a, b = rng.random(size, np.float32), rng.random(size, np.float32)
    out = np.empty_like(a)
    limits = {
        "copy GB/s": 2 * a.nbytes / best_seconds(lambda: np.copyto(out, a), 5) / 1e9,
        "add GB/s": 3 * a.nbytes / best_seconds(lambda: np.add(a, b, out=out), 5) / 1e9,
    }
    for n in (512, 1024):
        limits[f"matmul {n} GFLOP/s"] = 2 * n**3 / best_matmul_seconds(rng, n) / 1e9
    return limits


def best_matmul_seconds(rng: np.random.Generator, n: int) -> float:
    lhs, rhs = rng.random((n, n), np.float32), rng.random((n, n), np.float32)
    best_seconds(lambda: lhs @ rhs, 10)  # BLAS threads wake up slowly
    return best_seconds(lambda: lhs @ rhs, 5)


def dispatch_case(body: Callable, names: str, values: dict[str, np.ndarray]) -> dict:
    """Calls of `body(np_like, *[values[k] for k in names])` (values are arrays or pytrees of
    them): funcgrad and JAX jitted and cached, NumPy eager (the floor of the same operations)."""
    fg_fun = fg.jit(functools.partial(body, fnp))
    fg_args = [fg.tree_util.tree_map(fnp.asarray, values[k]) for k in names]
    np_args = [values[k] for k in names]
    funs = {"funcgrad": lambda: fg_fun(*fg_args), "numpy": lambda: body(np, *np_args)}
    if jax:
        jx_fun = jax.jit(functools.partial(body, jnp))
        jx_args = [jax.tree_util.tree_map(jnp.asarray, values[k]) for k in names]
        funs["jax"] = lambda: jx_fun(*jx_args).block_until_ready()
    return funs


def dispatch_rows(rng: np.random.Generator) -> list[tuple[str, dict[str, float]]]:
    """Microseconds per cached jitted call on 8 float32 elements."""
    values = {name: rng.normal(size=8).astype(np.float32) for name in "abc"}
    cases = [
        ("one arg: sin(a) * 2 + a", lambda m, a: m.sin(a) * 2 + a, "a"),
        ("two args: sin(a) * b + a", lambda m, a, b: m.sin(a) * b + a, "ab"),
        ("dict of 3 arrays: sin(a) * b + c", lambda m, t: m.sin(t["a"]) * t["b"] + t["c"], "t"),
    ]
    values["t"] = {k: values[k] for k in "abc"}
    rows = []
    for name, body, names in cases:
        funs = dispatch_case(body, names, values)
        medians = medians_in_turns(funs, number=1000, repeat=5)
        rows.append((name, {lib: seconds * 1e6 for lib, seconds in medians.items()}))
    return rows


def train_step_rows(rng: np.random.Generator):
    """Milliseconds of the first call of a fresh train step and of a steady-state call, after
    checking every implementation's loss and new parameters against the NumPy oracle."""
    params = init_params(rng)
    x = rng.normal(size=(BATCH, LAYER_SIZES[0])).astype(np.float32)
    y = np.eye(LAYER_SIZES[-1], dtype=np.float32)[rng.integers(0, LAYER_SIZES[-1], BATCH)]
    reference = numpy_train_step(params, x, y)

    fg_args = ({k: fnp.asarray(v) for k, v in params.items()}, fnp.asarray(x), fnp.asarray(y))
    fg_step = make_train_step(fg, fnp)
    check_against_numpy("funcgrad jit", fg_step(*fg_args), reference, params)
    first_calls = {"funcgrad": lambda: make_train_step(fg, fnp)(*fg_args)[1].block_until_ready()}
    steady = {
        "funcgrad": lambda: fg_step(*fg_args),
        "numpy": lambda: numpy_train_step(params, x, y),
    }
    if jax:
        jx_args = ({k: jnp.asarray(v) for k, v in params.items()}, jnp.asarray(x), jnp.asarray(y))
        jx_step = make_train_step(jax, jnp)
        check_against_numpy("jax jit", jx_step(*jx_args), reference, params)
        first_calls["jax"] = lambda: jax.block_until_ready(make_train_step(jax, jnp)(*jx_args))
        steady["jax"] = lambda: jax.block_until_ready(jx_step(*jx_args))
    if torch:
        pt_args = (
            {k: torch.from_numpy(v) for k, v in params.items()},
            torch.from_numpy(x),
            torch.from_numpy(y),
        )
        check_against_numpy(
            "torch eager", _torch_to_numpy(torch_train_step(*pt_args)), reference, params
        )
        steady["torch"] = lambda: torch_train_step(*pt_args)
    # A first call takes long enough that spinning threads do not matter (settle=0); the
    # warm-up call of medians_in_turns keeps process start-up (imports, backend
    # initialisation) out of the figures.
    first = medians_in_turns(first_calls, number=1, repeat=2, settle=0)
    return (
        {lib: s * 1e3 for lib, s in first.items()},
        {lib: s * 1e3 for lib, s in medians_in_turns(steady, number=3, repeat=4).items()},
    )


def _torch_to_numpy(step_result):
    new_params, loss = step_result
    return {k: v.numpy() for k, v in new_params.items()}, loss.numpy()


# --- report ---------------------------------------------------------------------------------


def ratio(times: dict[str, float], other: str) -> str:
    return f"{times['funcgrad'] / times[other]:.2f}" if other in times else "—"


def cell(times: dict[str, float], lib: str, digits: int = 1) -> str:
    return f"{times[lib]:.{digits}f}" if lib in times else "—"


def print_dispatch(rows) -> None:
    print(
        "| cached jit call, 8 float32 | funcgrad µs | JAX µs | NumPy eager µs "
        "| funcgrad/JAX (target <= 0.5) | funcgrad/NumPy |"
    )
    print("|---|---|---|---|---|---|")
    for name, times in rows:
        cells = [cell(times, lib) for lib in ("funcgrad", "jax", "numpy")]
        print(
            f"| {name} | " + " | ".join(cells) + f" | {ratio(times, 'jax')} "
            f"| {ratio(times, 'numpy')} |"
        )
    if jax:
        met = sum(times["funcgrad"] <= 0.5 * times["jax"] for _, times in rows)
        print(f"\ndispatch target funcgrad/JAX <= 0.5: met in {met} of {len(rows)} cases")


def print_train_step(first, steady, peak_gflops: float) -> None:
    libraries = ["funcgrad", "jax", "numpy", "torch"]
    titles = ["funcgrad jit", "JAX jit", "NumPy by hand", "PyTorch eager"]
    print(
        f"\n| MLP {'-'.join(map(str, LAYER_SIZES))} train step, batch {BATCH} | "
        + " | ".join(titles)
        + " | funcgrad/JAX | funcgrad/NumPy | funcgrad/PyTorch |"
    )
    print("|" + "---|" * (1 + len(libraries) + 3))
    gflops = {lib: STEP_FLOPS / (ms * 1e-3) / 1e9 for lib, ms in steady.items()}
    peak_share = {lib: 100 * rate / peak_gflops for lib, rate in gflops.items()}
    for name, times, digits in [
        ("first call ms (trace+optimize+compile+run)", first, 1),
        ("steady-state ms", steady, 2),
    ]:
        cells = [cell(times, lib, digits) for lib in libraries]
        ratios = [ratio(times, lib) for lib in libraries[1:]]
        print(f"| {name} | " + " | ".join(cells + ratios) + " |")
    for name, values in [("achieved GFLOP/s", gflops), ("% of BLAS peak", peak_share)]:
        cells = [cell(values, lib) for lib in libraries]
        print(f"| {name} | " + " | ".join(cells) + " | | | |")
    print()
    if "jax" in first:
        verdict = "met" if first["funcgrad"] <= first["jax"] else "not met"
        print(f"first-call target funcgrad <= JAX: {verdict}")
    print(
        f"(step matmul flops: {STEP_FLOPS / 1e6:.1f} M; NumPy and PyTorch compile nothing, "
        "so they have no first-call figure.)"
    )


def rerun_single_threaded() -> None:
    """Thread pools are sized when BLAS, OpenMP and XLA load, so set the counts and restart."""
    env = {**os.environ, **SINGLE_THREAD_ENV, RESTARTED: "1"}
    env["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {SINGLE_THREAD_ENV['XLA_FLAGS']}".strip()
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def parse_arguments(description: str) -> None:
    """Every bench script's command line: `--single-thread` restarts the script with one
    thread for BLAS, OpenMP and XLA."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--single-thread", action="store_true", help="one thread for BLAS, OpenMP and XLA"
    )
    if parser.parse_args().single_thread and RESTARTED not in os.environ:
        rerun_single_threaded()


def main() -> None:
    parse_arguments("funcgrad.jit against JAX, PyTorch and NumPy")
    rng = np.random.default_rng(0)
    load = os.getloadavg()[0]
    limits = machine_limits()
    dispatch = dispatch_rows(rng)
    first, steady = train_step_rows(rng)
    print_dispatch(dispatch)
    peak = max(v for k, v in limits.items() if k.startswith("matmul"))
    print_train_step(first, steady, peak)
    print(
        f"\nmachine ({os.cpu_count()} CPUs, load average {load:.1f} at start): "
        + ", ".join(f"{k} {v:.1f}" for k, v in limits.items())
    )
    threads = [f"{name}={os.environ[name]}" for name in SINGLE_THREAD_ENV if name in os.environ]
    print("threads: " + (", ".join(threads) or "library defaults"))
    if not threads and load >= 0.5 * os.cpu_count():
        print("(the machine was busy: multi-threaded figures swing; rerun with --single-thread)")
    versions = [f"numpy {np.__version__}"] + ([f"jax {jax.__version__}"] if jax else [])
    versions += [f"torch {torch.__version__}"] if torch else []
    print("versions: " + ", ".join(versions))


if __name__ == "__main__":
    main()
