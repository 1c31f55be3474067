"""Per-example gradients of a 784-128-10 MLP for a batch of 128: vmap(grad(loss)) against
a Python loop of grad(loss) calls, with JAX's jit(vmap(grad)) and loop side by side.

    python bench/per_example_grads.py

funcgrad runs both eagerly and under jit; the ratio that matters for vmap is vmap against
the loop, in the same process, and for jit funcgrad's jitted rows against JAX's.
"""

from __future__ import annotations

import statistics
import time

import numpy as np

import funcgrad as fg
import funcgrad.numpy as fnp

try:
    import jax
    import jax.numpy as jnp
except ImportError:
    jax = None

BATCH = 128


def loss(np_like, params, x, y):
    hidden = np_like.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - logits.max()
    return -(y * (shifted - np_like.log(np_like.exp(shifted).sum()))).sum()


def median_seconds(fun, repeat: int = 5) -> float:
    fun()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fun()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.normal(size=(784, 128)).astype(np.float32) * 0.05,
        "b1": np.zeros(128, np.float32),
        "w2": rng.normal(size=(128, 10)).astype(np.float32) * 0.05,
        "b2": np.zeros(10, np.float32),
    }
    xs = rng.normal(size=(BATCH, 784)).astype(np.float32)
    ys = np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]

    grad = fg.grad(lambda p, x, y: loss(fnp, p, x, y))
    vmapped = fg.vmap(grad, in_axes=(None, 0, 0))
    jit_grad, jit_vmapped = fg.jit(grad), fg.jit(vmapped)
    rows = {
        "funcgrad vmap(grad) (eager)": median_seconds(lambda: vmapped(params, xs, ys)),
        "funcgrad loop of grad (eager)": median_seconds(
            lambda: [grad(params, xs[i], ys[i]) for i in range(BATCH)], repeat=3
        ),
        "funcgrad jit(vmap(grad))": median_seconds(lambda: jit_vmapped(params, xs, ys)),
        "funcgrad loop of jit(grad)": median_seconds(
            lambda: [jit_grad(params, xs[i], ys[i]) for i in range(BATCH)]
        ),
    }
    if jax is not None:
        jgrad = jax.jit(jax.grad(lambda p, x, y: loss(jnp, p, x, y)))
        jvmapped = jax.jit(
            jax.vmap(jax.grad(lambda p, x, y: loss(jnp, p, x, y)), in_axes=(None, 0, 0))
        )
        rows["jax jit(vmap(grad))"] = median_seconds(
            lambda: jax.block_until_ready(jvmapped(params, xs, ys))
        )
        rows["jax loop of jit(grad)"] = median_seconds(
            lambda: jax.block_until_ready([jgrad(params, xs[i], ys[i]) for i in range(BATCH)])
        )
    print("| per-example gradients, batch 128 | ms |")
    print("|---|---|")
    for name, seconds in rows.items():
        print(f"| {name} | {seconds * 1e3:.1f} |")
    eager_ratio = rows["funcgrad loop of grad (eager)"] / rows["funcgrad vmap(grad) (eager)"]
    print(f"\nfuncgrad: vmap is {eager_ratio:.1f}x faster than the loop")
    if jax is not None:
        ratio = rows["funcgrad jit(vmap(grad))"] / rows["jax jit(vmap(grad))"]
        print(f"funcgrad jit(vmap(grad)) / jax jit(vmap(grad)): {ratio:.2f}")


if __name__ == "__main__":
    main()
