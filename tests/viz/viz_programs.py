"""Small programs the viz tests draw and profile, with the lines their operations are on."""

import xml.etree.ElementTree as ET

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax


def mlp_loss(x, w):
    hidden = jnp.tanh(x @ w + 1.0)  # MLP_HIDDEN_LINE
    return jnp.sum(hidden * hidden)  # MLP_LOSS_LINE


def scan_then_cond(carry, xs):
    def body(c, x):
        c = jnp.tanh(c * x + 1.0)
        return c, c * 2.0

    carry, ys = lax.scan(body, carry, xs)
    return lax.cond(carry.sum() > 0, lambda a: a + 1.0, lambda a: a - 1.0, ys)


def big_matmul_small_add(a, b, small):
    return a @ b, small + 1.0


def line_of(function, marker: str) -> int:
    """The line number of the line in `function`'s file that ends with `# marker`."""
    import inspect

    lines, first = inspect.getsourcelines(function)
    for offset, text in enumerate(lines):
        if text.rstrip().endswith(f"# {marker}"):
            return first + offset
    raise LookupError(marker)


def mlp_inputs():
    rng = np.random.default_rng(0)
    return rng.normal(size=(4, 3)).astype(np.float32), rng.normal(size=(3, 5)).astype(np.float32)


def scan_inputs():
    rng = np.random.default_rng(1)
    return rng.normal(size=3).astype(np.float32), rng.normal(size=(5, 3)).astype(np.float32)


SVG = "{http://www.w3.org/2000/svg}"


def svg_parts(svg: str):
    """(node texts: [[text, ...] per node], cluster titles) of a Graphviz SVG."""
    root = ET.fromstring(svg)
    nodes, clusters = [], []
    for group in root.iter(f"{SVG}g"):
        texts = [t.text for t in group.iter(f"{SVG}text")]
        if group.get("class") == "node":
            nodes.append(texts)
        elif group.get("class") == "cluster":
            clusters.append(texts[0])
    return nodes, clusters
