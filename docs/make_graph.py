"""Draws docs/graph.svg, the README's picture of a jitted program: a small regression loss,
optimized, with its fusion groups as clusters (funcgrad.viz; needs Graphviz).

    python docs/make_graph.py            # rewrites docs/graph.svg
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import viz

PICTURE = Path(__file__).with_name("graph.svg")


def loss(params, x, y):
    hidden = jnp.tanh(x @ params["w"] + params["b"])
    return jnp.mean((hidden - y) ** 2)


def example_arguments():
    rng = np.random.default_rng(0)
    params = {"w": rng.normal(size=(8, 4)).astype(np.float32), "b": np.zeros(4, np.float32)}
    return params, rng.normal(size=(32, 8)).astype(np.float32), np.zeros((32, 4), np.float32)


def draw(path: Path = PICTURE) -> Path:
    """Write the picture of jit(loss)'s optimized program to `path`; returns the path."""
    return viz.graph(jax.jit(loss, backend="numpy"), *example_arguments()).save(path)


if __name__ == "__main__":
    print(f"wrote {draw(Path(sys.argv[1]) if len(sys.argv) > 1 else PICTURE)}")
