"""Eager dispatch and tracing cost, funcgrad against NumPy, JAX and PyTorch in one process.

    python bench/eager_and_tracing.py            # JAX/PyTorch columns appear when installed

Reports medians over repetitions (timeit), in microseconds, and funcgrad's ratio to each
other library. Eager dispatch is per-operation overhead on a tiny array, where only the
Python path matters; the jit row is a cached jitted call (NumPy and PyTorch run the same
three operations eagerly); tracing is make_jaxpr of an MLP loss against jax.make_jaxpr.
"""

from __future__ import annotations

import statistics
import timeit

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


def median_us(fun, number: int, repeat: int = 15) -> float:
    fun()
    times = timeit.repeat(fun, number=number, repeat=repeat)
    return statistics.median(times) / number * 1e6


def mlp_loss(np_like, params, x, y):
    hidden = np_like.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np_like.log(np_like.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def main() -> None:
    rng = np.random.default_rng(0)
    a_np = rng.normal(size=8).astype(np.float32)
    b_np = rng.normal(size=8).astype(np.float32)
    rows = []

    def row(name, number, fg_fun, np_fun, jax_fun=None, torch_fun=None):
        times = {"funcgrad": median_us(fg_fun, number), "numpy": median_us(np_fun, number)}
        if jax_fun is not None:
            times["jax"] = median_us(jax_fun, number)
        if torch_fun is not None:
            times["torch"] = median_us(torch_fun, number)
        rows.append((name, times))

    a_fg, b_fg = fnp.asarray(a_np), fnp.asarray(b_np)
    a_jx = jnp.asarray(a_np) if jax else None
    b_jx = jnp.asarray(b_np) if jax else None
    a_pt = torch.from_numpy(a_np) if torch else None
    b_pt = torch.from_numpy(b_np) if torch else None
    row(
        "eager a + b (8 floats)",
        2000,
        lambda: a_fg + b_fg,
        lambda: a_np + b_np,
        (lambda: (a_jx + b_jx).block_until_ready()) if jax else None,
        (lambda: a_pt + b_pt) if torch else None,
    )
    row(
        "eager sin(a) (8 floats)",
        2000,
        lambda: fnp.sin(a_fg),
        lambda: np.sin(a_np),
        (lambda: jnp.sin(a_jx).block_until_ready()) if jax else None,
        (lambda: torch.sin(a_pt)) if torch else None,
    )
    row(
        "eager a.sum() (8 floats)",
        2000,
        lambda: a_fg.sum(),
        lambda: a_np.sum(),
        (lambda: a_jx.sum().block_until_ready()) if jax else None,
        (lambda: a_pt.sum()) if torch else None,
    )

    fg_jitted = fg.jit(lambda a, b: fnp.sin(a) * b + 1.0)
    jax_jitted = jax.jit(lambda a, b: jnp.sin(a) * b + 1.0) if jax else None
    row(
        "jit call sin(a) * b + 1 (8 floats)",
        2000,
        lambda: fg_jitted(a_fg, b_fg),
        lambda: np.sin(a_np) * b_np + 1.0,
        (lambda: jax_jitted(a_jx, b_jx).block_until_ready()) if jax else None,
        (lambda: torch.sin(a_pt) * b_pt + 1.0) if torch else None,
    )

    params = {
        "w1": rng.normal(size=(784, 128)).astype(np.float32),
        "b1": np.zeros(128, np.float32),
        "w2": rng.normal(size=(128, 10)).astype(np.float32),
        "b2": np.zeros(10, np.float32),
    }
    x = rng.normal(size=(32, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, 32)]
    row(
        "make_jaxpr(MLP loss)",
        50,
        lambda: fg.make_jaxpr(lambda p, x, y: mlp_loss(fnp, p, x, y))(params, x, y),
        lambda: mlp_loss(np, params, x, y),
        (lambda: jax.make_jaxpr(lambda p, x, y: mlp_loss(jnp, p, x, y))(params, x, y))
        if jax
        else None,
    )

    libraries = ["funcgrad", "numpy"] + (["jax"] if jax else []) + (["torch"] if torch else [])
    header = "| case | " + " | ".join(f"{lib} µs" for lib in libraries)
    header += " | " + " | ".join(f"funcgrad/{lib}" for lib in libraries[1:]) + " |"
    print(header)
    print("|" + "---|" * (1 + 2 * len(libraries) - 1))
    for name, times in rows:
        cells = [f"{times[lib]:.1f}" if lib in times else "—" for lib in libraries]
        ratios = [
            f"{times['funcgrad'] / times[lib]:.2f}" if lib in times else "—"
            for lib in libraries[1:]
        ]
        print(f"| {name} | " + " | ".join(cells) + " | " + " | ".join(ratios) + " |")
    print("\n(make_jaxpr's numpy column is one eager NumPy evaluation of the same loss.)")
    versions = [f"numpy {np.__version__}"] + ([f"jax {jax.__version__}"] if jax else [])
    versions += [f"torch {torch.__version__}"] if torch else []
    print("versions: " + ", ".join(versions))


if __name__ == "__main__":
    main()
