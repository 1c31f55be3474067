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


def accumulate(body_product, xs=XS):
    """A scan whose carry sums body_product(x_t, h_t) while h evolves with the carry."""

    def body(carry, x):
        h, acc = carry
        h = jnp.tanh(h @ W_H + x)
        return (h, acc + body_product(x, h)), None

    start = (jnp.zeros((BATCH, WIDTH)), jnp.zeros((WIDTH, WIDTH)))
    return lax.scan(body, start, xs)[0][1]


def numpy_accumulate(body_product):
    h, acc = np.zeros((BATCH, WIDTH), np.float32), np.zeros((WIDTH, WIDTH), np.float32)
    for x in XS:
        h = np.tanh(h @ W_H + x)
        acc = acc + body_product(x, h)
    return acc


@pytest.mark.parametrize(
    "product",
    [lambda x, h: x.T @ h, lambda x, h: (h.T @ x).T],
    ids=["x.T @ h", "transposed"],
)
def test_accumulated_products_become_one_product_after_the_loop(product):
    closed = optimize(fg.make_jaxpr(lambda xs: accumulate(product, xs))(XS))
    outside, inside = scans_and_products(closed)
    assert [len(products) for products in inside] == [1]  # only h @ w_h is left in the loop
    (after,) = [e for e in outside if e.outvars[0].aval.shape == (WIDTH, WIDTH)]
    (lhs_contracting, rhs_contracting), _ = after.params["dimension_numbers"]
    # It contracts the step axis and the batch axis of both stacked operands.
    assert lhs_contracting[0] == rhs_contracting[0] == 0
    assert len(lhs_contracting) == len(rhs_contracting) == 2
    for backend in ("numpy", "llvm"):
        got = fg.jit(lambda xs: accumulate(product, xs), backend=backend)(XS)
        np.testing.assert_allclose(np.asarray(got), numpy_accumulate(product), rtol=1e-4, atol=1e-5)


def test_an_accumulated_product_of_a_loop_constant_stays_in_the_loop():
    def product(x, h):
        return W_X @ (x.T @ h)  # the outer product reads a constant: stacking would not pay

    closed = optimize(fg.make_jaxpr(lambda xs: accumulate(product, xs))(XS))
    _, inside = scans_and_products(closed)
    assert [len(products) for products in inside] == [3]
    got = fg.jit(lambda xs: accumulate(product, xs))(XS)
    np.testing.assert_allclose(np.asarray(got), numpy_accumulate(product), rtol=1e-4, atol=1e-4)


def test_accumulations_that_would_stack_beyond_the_budget_stay(monkeypatch):
    from funcgrad.compiler.passes import scan_hoist

    closed = fg.make_jaxpr(lambda xs: accumulate(lambda x, h: x.T @ h, xs))(XS)
    assert hoist_scans(closed) is not closed
    monkeypatch.setattr(scan_hoist, "_STACK_BUDGET", 0)
    assert hoist_scans(closed) is closed
