"""checkpoint/remat: same derivatives, fewer residuals (recomputed in the backward pass)."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.api import _linearize
from funcgrad.test_util import check_grads

rng = np.random.default_rng(3)


def _layers(x, weights):
    for w in weights:
        x = jnp.tanh(x @ w)
    return x.sum()


def test_checkpoint_gives_the_same_gradient():
    weights = [rng.normal(size=(4, 4)).astype(np.float32) * 0.5 for _ in range(3)]
    x = rng.normal(size=(2, 4)).astype(np.float32)
    plain = fg.grad(_layers, argnums=1)(x, weights)
    remat = fg.grad(fg.checkpoint(_layers), argnums=1)(x, weights)
    for a, b in zip(plain, remat):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    check_grads(fg.checkpoint(lambda v: jnp.sin(jnp.cos(v)) * v), (x,), order=2)


def test_checkpoint_stores_only_its_inputs():
    x = rng.normal(size=(5,)).astype(np.float32)

    def chain(v):
        return jnp.sin(jnp.sin(jnp.sin(v))).sum()

    plain = _linearize("test", chain, (x,), False)
    remat = _linearize("test", fg.checkpoint(chain), (x,), False)
    # Plain reverse mode keeps cos of each intermediate; checkpoint keeps just x.
    assert len(plain.residuals) == 3
    assert len(remat.residuals) == 1
    np.testing.assert_array_equal(remat.residuals[0], x)


def test_per_layer_checkpoint_under_second_order():
    layer = fg.checkpoint(lambda w, v: jnp.tanh(v * w))
    second = fg.grad(fg.grad(lambda w: layer(w, np.float32(0.5)).sum()))(np.float32(0.3))
    t = np.tanh(0.15)
    # d2/dw2 tanh(0.5 w) = 0.25 * (-2 t (1 - t^2))
    np.testing.assert_allclose(second, 0.25 * (-2 * t * (1 - t * t)), rtol=1e-5)


def test_checkpoint_under_vmap_keeps_values_and_gradients():
    x = rng.normal(size=(3, 4)).astype(np.float32)

    def f(v):
        return jnp.sin(jnp.cos(v)).sum()

    plain = fg.grad(lambda v: fg.vmap(f)(v).sum())(x)
    remat = fg.grad(lambda v: fg.vmap(fg.checkpoint(f))(v).sum())(x)
    np.testing.assert_allclose(remat, plain, rtol=1e-6)
    np.testing.assert_allclose(fg.vmap(fg.grad(fg.checkpoint(f)))(x), plain, rtol=1e-6)
    closed = fg.make_jaxpr(lambda v: fg.vmap(fg.checkpoint(f))(v))(x)
    assert [e.primitive.name for e in closed.eqns] == ["remat_call"]
