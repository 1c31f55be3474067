"""control_flow: speed of loops under funcgrad.jit (NumPy and LLVM backends) next to JAX's jit,
in one process.

    python bench/control_flow.py --single-thread   # reproducible on a shared or small machine
    python bench/control_flow.py                   # each library's default thread pools

Cases (float32):
- the gradient of a 200-step tanh RNN (hidden 256, batch 32, input 64) through `lax.scan`:
  h_t = tanh(x_t W_x + h_{t-1} W_h + b), loss = mean of the squared final-layer outputs,
  gradients with respect to W_x, W_h and b. Every implementation is checked against a
  hand-written NumPy backpropagation through time, which is timed too.
- the per-iteration overhead of a nearly empty `fori_loop` of 100,000 iterations under jit
  (the body is one scalar multiply-add): microseconds per iteration.

Timings are medians over repetitions taken in turns (bench/jit.py's helper); ratios are taken
in the same run. JAX is optional: without it its columns show "—".
"""

from __future__ import annotations

import os
from typing import Callable

# A script's own folder leads sys.path: bench/jit.py holds the helpers the scripts share.
import jit as jit_bench
import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp
from funcgrad import lax as flax

jax = jit_bench.jax

STEPS, HIDDEN, BATCH, FEATURES = 200, 256, 32, 64
LOOP_ITERATIONS = 100_000
LIBRARIES = ("fg-llvm", "fg-numpy", "jax", "numpy")
TITLES = ("funcgrad llvm", "funcgrad numpy", "JAX jit", "NumPy by hand")


# --- the RNN, written once for funcgrad and JAX (their lax and numpy modules) -----------


def rnn_loss(lax, np_like, params, xs):
    def cell(h, x):
        h = np_like.tanh(x @ params["w_x"] + h @ params["w_h"] + params["b"])
        return h, None

    h, _ = lax.scan(cell, np_like.zeros((BATCH, HIDDEN), np.float32), xs)
    return np_like.mean(h * h)


def numpy_rnn_grad(params, xs):
    """Backpropagation through time by hand: the reference every column is checked against."""
    w_x, w_h, b = params["w_x"], params["w_h"], params["b"]
    hs = [np.zeros((BATCH, HIDDEN), np.float32)]
    for x in xs:
        hs.append(np.tanh(x @ w_x + hs[-1] @ w_h + b))
    grad_h = 2.0 * hs[-1] / hs[-1].size
    grads = {k: np.zeros_like(v) for k, v in params.items()}
    for t in range(len(xs) - 1, -1, -1):
        grad_pre = grad_h * (1.0 - hs[t + 1] * hs[t + 1])
        grads["w_x"] += xs[t].T @ grad_pre
        grads["w_h"] += hs[t].T @ grad_pre
        grads["b"] += grad_pre.sum(axis=0)
        grad_h = grad_pre @ w_h.T
    return grads


def rnn_inputs(rng: np.random.Generator):
    params = {
        "w_x": (rng.normal(size=(FEATURES, HIDDEN)) / np.sqrt(FEATURES)).astype(np.float32),
        "w_h": (rng.normal(size=(HIDDEN, HIDDEN)) / np.sqrt(HIDDEN)).astype(np.float32),
        "b": np.zeros(HIDDEN, np.float32),
    }
    xs = rng.normal(size=(STEPS, BATCH, FEATURES)).astype(np.float32)
    return params, xs


def rnn_implementations(params, xs) -> dict[str, Callable]:
    impls: dict[str, Callable] = {"numpy": lambda: numpy_rnn_grad(params, xs)}
    grad = fg.grad(lambda p, x: rnn_loss(flax, fnp, p, x))
    for lib, backend in (("fg-llvm", "llvm"), ("fg-numpy", "numpy")):
        step = fg.jit(grad, backend=backend)
        fg_params = {k: fg.numpy.asarray(v) for k, v in params.items()}
        fg_xs = fg.numpy.asarray(xs)
        impls[lib] = lambda step=step, p=fg_params, x=fg_xs: step(p, x)
    if jax is not None:
        jax_grad = jax.jit(jax.grad(lambda p, x: rnn_loss(jax.lax, jax.numpy, p, x)))
        jax_params = {k: jax.numpy.asarray(v) for k, v in params.items()}
        jax_xs = jax.numpy.asarray(xs)
        impls["jax"] = lambda: jax.block_until_ready(jax_grad(jax_params, jax_xs))
    return impls


def check_rnn(impls: dict[str, Callable], reference: dict) -> None:
    for name, impl in impls.items():
        result = impl()
        for key, want in reference.items():
            got = np.asarray(result[key], np.float64)
            scale = np.abs(want).max()
            error = np.abs(got - want).max() / scale
            if error > 1e-3:
                raise AssertionError(f"{name}: gradient of {key} is off by {error:.2e} (relative)")


# --- the loop-overhead case ----------------------------------------------------------------


def loop_body(i, x):
    return x * np.float32(0.999) + np.float32(1.0)


def loop_implementations() -> dict[str, Callable]:
    def numpy_loop():
        x = np.float32(0.0)
        for i in range(LOOP_ITERATIONS):
            x = loop_body(i, x)
        return x

    impls: dict[str, Callable] = {"numpy": numpy_loop}
    for lib, backend in (("fg-llvm", "llvm"), ("fg-numpy", "numpy")):
        run = fg.jit(lambda x: flax.fori_loop(0, LOOP_ITERATIONS, loop_body, x), backend=backend)
        start = fg.numpy.asarray(np.float32(0.0))
        impls[lib] = lambda run=run, start=start: run(start)
    if jax is not None:
        jax_run = jax.jit(lambda x: jax.lax.fori_loop(0, LOOP_ITERATIONS, loop_body, x))
        jax_start = jax.numpy.asarray(np.float32(0.0))
        impls["jax"] = lambda: jax.block_until_ready(jax_run(jax_start))
    return impls


def check_loop(impls: dict[str, Callable]) -> None:
    want = float(impls["numpy"]())
    for name, impl in impls.items():
        got = float(np.asarray(impl()))
        if abs(got - want) > 1e-3 * abs(want):
            raise AssertionError(f"{name}: the loop gives {got}, expected {want}")


# --- the report ---------------------------------------------------------------------------


def cell(times: dict[str, float], lib: str, scale: float, digits: int) -> str:
    return f"{times[lib] * scale:.{digits}f}" if lib in times else "—"


def ratio(times: dict[str, float], numerator: str, denominator: str) -> str:
    if numerator not in times or denominator not in times:
        return "—"
    return f"{times[numerator] / times[denominator]:.2f}x"


def print_row(title: str, times: dict[str, float], scale: float, digits: int) -> None:
    cells = [cell(times, lib, scale, digits) for lib in LIBRARIES]
    ratios = [ratio(times, "fg-llvm", "jax"), ratio(times, "fg-numpy", "jax")]
    print(f"| {title} | " + " | ".join(cells + ratios) + " |")


def main() -> None:
    jit_bench.parse_arguments("funcgrad control flow under jit against JAX")
    rng = np.random.default_rng(0)
    params, xs = rnn_inputs(rng)
    rnn = rnn_implementations(params, xs)
    check_rnn(rnn, numpy_rnn_grad(params, xs))
    rnn_times = jit_bench.medians_in_turns(rnn, number=1, repeat=3)
    loops = loop_implementations()
    check_loop(loops)
    loop_times = jit_bench.medians_in_turns(loops, number=1, repeat=3)
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(
        "| float32 | " + " | ".join(TITLES) + " | llvm / JAX | numpy backend / JAX |\n"
        "|---|" + "---|" * (len(TITLES) + 2)
    )
    print_row(f"RNN grad, {STEPS} steps (ms)", rnn_times, 1e3, 1)
    print_row(
        f"fori_loop {LOOP_ITERATIONS:,} iterations (µs / iteration)",
        loop_times,
        1e6 / LOOP_ITERATIONS,
        3,
    )


if __name__ == "__main__":
    main()
