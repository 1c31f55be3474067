"""Scan hoisting: products a scan's body computes from the scanned slices alone run for all
steps before the loop; everything that reads the carry stays in it."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.compiler.passes.scan_hoist import hoist_scans
from funcgrad.compiler.pipeline import optimize

rng = np.random.default_rng(3)
STEPS, BATCH, WIDTH = 6, 3, 4


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


W_X, W_H, B, XS = f32(WIDTH, WIDTH), f32(WIDTH, WIDTH) * 0.3, f32(WIDTH), f32(STEPS, BATCH, WIDTH)


def rnn(w_x, w_h, b, xs, reverse=False):
    def cell(h, x):
        h = jnp.tanh(x @ w_x + h @ w_h + b)
        return h, h * 2.0

    return lax.scan(cell, jnp.zeros((BATCH, WIDTH)), xs, reverse=reverse)


def numpy_rnn(w_x, w_h, b, xs, reverse=False):
    h, ys = np.zeros((BATCH, WIDTH), np.float32), [None] * len(xs)
    for t in reversed(range(len(xs))) if reverse else range(len(xs)):
        h = np.tanh(xs[t] @ w_x + h @ w_h + b)
        ys[t] = h * 2.0
    return h, np.stack(ys)


def scans_and_products(closed):
    """(products outside any scan, products inside each scan body), top level only."""
    outside = [e for e in closed.jaxpr.eqns if e.primitive.name == "dot_general"]
    inside = [
        [b for b in e.params["jaxpr"].jaxpr.eqns if b.primitive.name == "dot_general"]
        for e in closed.jaxpr.eqns
        if e.primitive.name == "scan"
    ]
    return outside, inside


@pytest.mark.parametrize("reverse", [False, True])
def test_the_input_projection_leaves_the_loop(reverse):
    closed = optimize(fg.make_jaxpr(lambda *a: rnn(*a, reverse=reverse))(W_X, W_H, B, XS))
    outside, inside = scans_and_products(closed)
    assert [e.outvars[0].aval.shape for e in outside] == [(STEPS, BATCH, WIDTH)]
    assert [len(products) for products in inside] == [1]  # h @ w_h reads the carry
    want = numpy_rnn(W_X, W_H, B, XS, reverse)
    for backend in ("numpy", "llvm"):
        got = fg.jit(lambda *a: rnn(*a, reverse=reverse), backend=backend)(W_X, W_H, B, XS)
        for g, w in zip(got, want):
            np.testing.assert_allclose(np.asarray(g), w, rtol=2e-5, atol=2e-6)


def test_gradients_through_a_hoisted_scan_match_eager_ones():
    def loss(w_x, w_h, b):
        return jnp.sum(rnn(w_x, w_h, b, XS)[1] ** 2)

    eager = fg.grad(loss, argnums=(0, 1, 2))(W_X, W_H, B)
    compiled = fg.jit(fg.grad(loss, argnums=(0, 1, 2)))(W_X, W_H, B)
    for g, w in zip(compiled, eager):
        np.testing.assert_allclose(np.asarray(g), np.asarray(w), rtol=1e-4, atol=1e-5)


def test_a_product_of_a_transposed_constant_moves_with_what_it_reads():
    def body(h, x):
        return h + x @ W_X.T, None  # the transpose is computed in the body from a constant

    closed = optimize(fg.make_jaxpr(lambda xs: lax.scan(body, jnp.zeros((BATCH, WIDTH)), xs))(XS))
    outside, inside = scans_and_products(closed)
    assert len(outside) == 1 and inside == [[]]
    got = fg.jit(lambda xs: lax.scan(body, jnp.zeros((BATCH, WIDTH)), xs)[0])(XS)
    np.testing.assert_allclose(np.asarray(got), (XS @ W_X.T).sum(0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    "body",
    [
        lambda h, x: (h @ W_H + x, None),  # the product reads the carry
        lambda h, x: (h + jnp.sin(x) * 2.0, None),  # no product: nothing worth moving
        lambda h, x: (h + (fg.debug.print("{}", x[0, 0]) or x @ W_X), None),  # an effect
    ],
    ids=["reads-the-carry", "elementwise-only", "effect"],
)
def test_bodies_left_alone(body, capsys):
    closed = fg.make_jaxpr(lambda xs: lax.scan(body, jnp.zeros((BATCH, WIDTH)), xs))(XS)
    assert hoist_scans(closed) is closed
