"""Reverse-mode memory: the residuals grad keeps for a 10-layer tanh MLP, against the
minimum of one activation per layer (plus the input), and with the whole loss under
checkpoint (which keeps only the inputs and recomputes the rest).

    python bench/residuals.py

Residuals that are the parameters themselves are references, not extra memory; they are
reported apart.
"""

from __future__ import annotations

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.api import _linearize

BATCH, WIDTH, LAYERS = 32, 256, 10


def loss(weights, x):
    for w in weights:
        x = jnp.tanh(x @ w)
    return (x * x).sum()


def main() -> None:
    rng = np.random.default_rng(0)
    weights = [rng.normal(size=(WIDTH, WIDTH)).astype(np.float32) / 16 for _ in range(LAYERS)]
    x = rng.normal(size=(BATCH, WIDTH)).astype(np.float32)
    for name, fun in (("grad", loss), ("grad of checkpoint(loss)", fg.checkpoint(loss))):
        lin = _linearize("bench", fun, (weights, x), False)
        stored = [r for r in lin.residuals if np.shape(r) != (WIDTH, WIDTH)]
        activation = BATCH * WIDTH * 4
        stored_bytes = sum(np.asarray(r).nbytes for r in stored)
        print(
            f"{name}: {len(lin.residuals)} residuals, {len(stored)} activation-sized arrays "
            f"= {stored_bytes / 1024:.0f} KiB; minimum {LAYERS + 1} activations = "
            f"{(LAYERS + 1) * activation / 1024:.0f} KiB "
            f"(ratio {stored_bytes / ((LAYERS + 1) * activation):.2f})"
        )


if __name__ == "__main__":
    main()
