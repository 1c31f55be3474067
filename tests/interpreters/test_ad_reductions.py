"""Differentiation of the reductions, cumulative scans and sorts (funcgrad/lax/reductions.py
and funcgrad/lax/sorting.py): check_grads to second order in both modes on each primitive
and on the funcgrad.numpy functions built on them, hand-derived gradients where zeros,
ties or extreme magnitudes make the rule's care visible, and a registry check."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
import funcgrad.scipy.special as special
from funcgrad import lax
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad
from funcgrad.lax import elementwise, reductions, sorting
from funcgrad.test_util import check_grads

rng = np.random.default_rng(0)


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def distinct(*shape):
    """float32 values at least 0.3 apart, so sorts and extremes have no ties near the
    finite-difference steps."""
    size = int(np.prod(shape))
    values = rng.permutation(size) * 0.37 - 0.18 * size + rng.uniform(0, 0.05, size)
    return values.reshape(shape).astype(np.float32)


# ---------------------------------------------------------------------------------------
# check_grads over the primitives (order 2, both modes)

PRIMITIVES = [
    ("reduce_prod", lambda x: lax.reduce_prod(x, (1,)), f32(2, 4)),
    ("reduce_prod two axes", lambda x: lax.reduce_prod(x, (0, 2)), f32(2, 3, 2)),
    ("reduce_prod no axes", lambda x: lax.reduce_prod(x, ()), f32(3)),
    ("reduce_prod with a zero", lambda x: lax.reduce_prod(x, (0,)), np.float32([2, 0, -1.5, 3])),
    ("reduce_min", lambda x: lax.reduce_min(x, (1,)), distinct(3, 4)),
    ("cumprod", lambda x: lax.cumprod(x, 1), f32(2, 5)),
    ("cumprod reverse", lambda x: lax.cumprod(x, 0, reverse=True), f32(5, 2)),
    ("cumprod with a zero", lambda x: lax.cumprod(x, 0), np.float32([1.5, -2, 0, 3, 0.5])),
    ("cummax", lambda x: lax.cummax(x, 1), distinct(3, 5)),
    ("cummax reverse", lambda x: lax.cummax(x, 0, reverse=True), distinct(5, 2)),
    ("cummin", lambda x: lax.cummin(x, 0), distinct(5, 3)),
    ("cummin reverse", lambda x: lax.cummin(x, 1, reverse=True), distinct(2, 5)),
    ("cumlogsumexp", lambda x: lax.cumlogsumexp(x, 1), f32(2, 6)),
    ("cumlogsumexp reverse", lambda x: lax.cumlogsumexp(x, 0, reverse=True), f32(6, 2)),
    ("sort last axis", lambda x: lax.sort(x), distinct(3, 4)),
    ("sort axis 0", lambda x: lax.sort(x, 0), distinct(4, 3)),
    ("top_k", lambda x: lax.top_k(x, 3)[0], distinct(2, 5)),
]


@pytest.mark.parametrize("name, fun, x", PRIMITIVES, ids=[p[0] for p in PRIMITIVES])
def test_primitive(name, fun, x):
    check_grads(fun, (x,), order=2)


def test_sort_several_operands():
    # Keys and values both float: each output's tangent follows the keys' permutation.
    def sorted_pair(keys, values):
        return lax.sort((keys, values), 1, num_keys=1)

    check_grads(sorted_pair, (distinct(2, 5), f32(2, 5)), order=2)


def test_sort_two_keys():
    # Integer first key with ties, broken by the float second key.
    first = np.int32([[1, 0, 1, 0, 1], [2, 2, 1, 1, 0]])

    def by_two_keys(second, values):
        return lax.sort((first, second, values), 1, num_keys=2)[1:]

    check_grads(by_two_keys, (distinct(2, 5), f32(2, 5)), order=2)


# ---------------------------------------------------------------------------------------
# Hand-derived values


def test_reduce_prod_one_zero():
    x = np.float32([2, 0, 3, 4])
    # Only the zero's own derivative survives: the product of the others.
    np.testing.assert_array_equal(fg.grad(lambda x: lax.reduce_prod(x, (0,)))(x), [0, 24, 0, 0])
    hessian = fg.hessian(lambda x: lax.reduce_prod(x, (0,)))(x)
    want = np.float32([[0, 12, 0, 0], [12, 0, 8, 6], [0, 8, 0, 0], [0, 6, 0, 0]])
    np.testing.assert_array_equal(hessian, want)


def test_reduce_prod_two_zeros():
    x = np.float32([2, 0, 3, 0])
    # Every product of three leaves a zero in, so the gradient vanishes; the second
    # derivative across the two zeros is the product of the rest.
    np.testing.assert_array_equal(fg.grad(lambda x: lax.reduce_prod(x, (0,)))(x), [0, 0, 0, 0])
    hessian = fg.hessian(lambda x: lax.reduce_prod(x, (0,)))(x)
    want = np.zeros((4, 4), np.float32)
    want[1, 3] = want[3, 1] = 6
    np.testing.assert_array_equal(hessian, want)


def test_prod_over_axes_with_zeros():
    x = np.float32([[0, 2, 3], [4, 0, 0]])
    grad = fg.grad(lambda x: jnp.prod(x, axis=1).sum())(x)
    np.testing.assert_array_equal(grad, [[6, 0, 0], [0, 0, 0]])
    check_grads(lambda x: jnp.prod(x, axis=1), (x,), order=2)


def test_cumprod_with_zero():
    x = np.float32([2, 0, 3, 4])
    # sum(cumprod(x)) = x0 + x0 x1 + x0 x1 x2 + x0 x1 x2 x3
    grad = fg.grad(lambda x: lax.cumprod(x, 0).sum())(x)
    np.testing.assert_array_equal(grad, [1, 2 + 6 + 24, 0, 0])
    grad = fg.grad(lambda x: lax.cumprod(x, 0, reverse=True).sum())(x)
    np.testing.assert_array_equal(grad, [0, 24 + 12, 4, 1 + 3])


def test_cumlogsumexp_extreme_magnitudes():
    x = np.float32([-1e30, 0, 1e30, 3])
    # The last entry is logsumexp of everything: its gradient is the softmax.
    np.testing.assert_array_equal(fg.grad(lambda x: lax.cumlogsumexp(x, 0)[3])(x), [0, 0, 1, 0])
    _, tangent = fg.jvp(lambda x: lax.cumlogsumexp(x, 0), (x,), (np.ones(4, np.float32),))
    np.testing.assert_array_equal(tangent, [1, 1, 1, 1])


def test_cummax_follows_its_source():
    x = np.float32([1, 3, 2, 5, 4])
    # Running maxima [1, 3, 3, 5, 5] come from places [0, 1, 1, 3, 3].
    np.testing.assert_array_equal(fg.grad(lambda x: lax.cummax(x, 0).sum())(x), [1, 2, 0, 2, 0])
    # Running minima from the end [1, 2, 2, 4, 4] come from places [0, 2, 2, 4, 4].
    grad = fg.grad(lambda x: lax.cummin(x, 0, reverse=True).sum())(x)
    np.testing.assert_array_equal(grad, [1, 0, 2, 0, 2])


def test_sort_carries_values_and_tangents():
    keys, values = np.int32([2, 0, 1]), np.float32([7, 8, 9])
    weights = np.float32([1, 2, 3])
    grad = fg.grad(lambda v: (lax.sort((keys, v), 0)[1] * weights).sum())(values)
    np.testing.assert_array_equal(grad, [3, 1, 2])
    out, tangent = fg.jvp(lax.sort, (np.float32([3, 1, 2]),), (np.float32([30, 10, 20]),))
    np.testing.assert_array_equal(out, [1, 2, 3])
    np.testing.assert_array_equal(tangent, [10, 20, 30])


def test_top_k_gradient():
    x = np.float32([[0.5, 4, -1, 2], [3, -2, 1, 0]])
    grad = fg.grad(lambda x: (lax.top_k(x, 2)[0] * np.float32([10, 1])).sum())(x)
    np.testing.assert_array_equal(grad, [[0, 10, 0, 1], [10, 0, 1, 0]])


@pytest.mark.parametrize(
    "fun",
    [
        lambda x: lax.cumprod(x, 1),
        lambda x: lax.cumlogsumexp(x, 1),
        lambda x: lax.cummax(x, 1),
        lambda x: lax.reduce_prod(x, (1,)),
        lambda x: lax.sort(x, 1),
        lambda x: lax.top_k(x, 0)[0],
    ],
    ids=["cumprod", "cumlogsumexp", "cummax", "reduce_prod", "sort", "top_k"],
)
def test_empty_axis(fun):
    x = np.zeros((2, 0), np.float32)
    out, tangent = fg.jvp(fun, (x,), (x,))
    assert tangent.shape == out.shape
    (ct,) = fg.vjp(fun, x)[1](out)
    assert ct.shape == x.shape


# ---------------------------------------------------------------------------------------
# The funcgrad.numpy functions built on these primitives

_X = distinct(3, 5)
COMPOSITES = [
    ("prod", lambda x: jnp.prod(x, axis=1)),
    ("prod all", lambda x: jnp.prod(x[:, :3])),
    ("cumprod", lambda x: jnp.cumprod(x, axis=1)),
    ("sort", lambda x: jnp.sort(x, axis=0)),
    ("max", lambda x: jnp.max(x, axis=1)),
    ("max all", lambda x: jnp.max(x)),
    ("median odd", lambda x: jnp.median(x, axis=1)),
    ("median even", lambda x: jnp.median(x[:, :4], axis=1)),
    ("var", lambda x: jnp.var(x, axis=1)),
    ("std", lambda x: jnp.std(x)),
]


@pytest.mark.parametrize("name, fun", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_numpy_function(name, fun):
    check_grads(fun, (_X,), order=2)


@pytest.mark.skipif(
    elementwise.abs_p not in ad.primitive_jvps,
    reason="logsumexp takes abs of its sum; abs has no jvp rule yet (elementwise.py)",
)
def test_logsumexp():
    check_grads(lambda x: special.logsumexp(x, axis=1), (f32(3, 4),), order=2)
    grad = fg.grad(lambda x: special.logsumexp(x))(np.float32([0, 1000, 1000]))
    np.testing.assert_allclose(grad, [0, 0.5, 0.5])


# ---------------------------------------------------------------------------------------
# Registry


@pytest.mark.parametrize("module", [reductions, sorting], ids=lambda m: m.__name__)
def test_every_primitive_has_a_jvp_rule(module):
    primitives = [
        value
        for name, value in vars(module).items()
        if name.endswith("_p") and isinstance(value, Primitive)
    ]
    assert primitives
    missing = [p.name for p in primitives if p not in ad.primitive_jvps]
    assert not missing, f"no jvp rule for {missing}"
