"""funcgrad.random under transforms: jit (both backends) gives the eager values, vmap over
a batch of keys gives a Python loop's values, gradients flow through the
reparameterization trick, and a traced sampler is one threefry2x32 equation that only
compilation expands."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import random
from funcgrad.compiler.passes.inline import inline
from funcgrad.test_util import check_grads

SAMPLERS = {
    "bits": lambda k: random.bits(k, (3, 4)),
    "uniform": lambda k: random.uniform(k, (7,), minval=-1.0, maxval=3.0),
    "normal": lambda k: random.normal(k, (2, 5)),
    "truncated_normal": lambda k: random.truncated_normal(k, -1.0, 0.5, (6,)),
    "bernoulli": lambda k: random.bernoulli(k, 0.3, (9,)),
    "categorical": lambda k: random.categorical(k, jnp.array([0.5, 1.0, -1.0]), shape=(5,)),
    "randint": lambda k: random.randint(k, (8,), -3, 17),
    "choice": lambda k: random.choice(k, 10, (4,), replace=False),
    "choice_p": lambda k: random.choice(k, 4, (6,), p=jnp.array([0.1, 0.2, 0.3, 0.4])),
    "permutation": lambda k: random.permutation(k, jnp.arange(6.0)),
    "gumbel": lambda k: random.gumbel(k, (5,)),
    "exponential": lambda k: random.exponential(k, (5,)),
    "split": lambda k: random.split(k, 3),
    "fold_in": lambda k: random.fold_in(k, 12345),
}


def _same(got, want):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_jit_gives_the_eager_values(name, backend, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    sample = SAMPLERS[name]
    key = random.PRNGKey(3)
    _same(fg.jit(sample, backend=backend)(key), sample(key))


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_vmap_over_keys_matches_a_loop(name):
    sample = SAMPLERS[name]
    keys = random.split(random.PRNGKey(4), 5)
    batched = fg.vmap(sample)(keys)
    _same(batched, np.stack([np.asarray(sample(k)) for k in keys]))


def test_vmap_over_typed_keys_and_over_fold_in_data():
    keys = random.split(random.key(5), 4)
    assert keys.shape == (4,) and str(keys.dtype) == "key<fry>"
    batched = fg.vmap(lambda k: random.normal(k, (3,)))(keys)
    _same(batched, np.stack([np.asarray(random.normal(k, (3,))) for k in keys]))
    folded = fg.vmap(lambda i: random.fold_in(random.PRNGKey(6), i))(jnp.arange(4))
    _same(folded, np.stack([np.asarray(random.fold_in(random.PRNGKey(6), i)) for i in range(4)]))


def test_jit_of_vmap_and_vmap_of_jit_agree():
    keys = random.split(random.PRNGKey(7), 3)
    sample = SAMPLERS["normal"]
    expected = np.stack([np.asarray(sample(k)) for k in keys])
    _same(fg.jit(fg.vmap(sample))(keys), expected)
    _same(fg.vmap(fg.jit(sample))(keys), expected)


def test_typed_keys_pass_through_jit():
    split = fg.jit(lambda k: random.split(k))(random.key(8))
    assert isinstance(split, random.PRNGKeyArray) and split.shape == (2,)
    _same(random.key_data(split), random.split(random.PRNGKey(8)))


def test_grad_through_the_reparameterization_trick():
    key = random.PRNGKey(9)
    eps = np.asarray(random.normal(key, (1000,)), np.float64)

    def loss(mu, sigma):
        return jnp.mean(mu + sigma * random.normal(key, (1000,)))

    d_mu, d_sigma = fg.grad(loss, argnums=(0, 1))(np.float32(0.3), np.float32(2.0))
    np.testing.assert_allclose(d_mu, 1.0, rtol=1e-6)
    np.testing.assert_allclose(d_sigma, eps.mean(), rtol=1e-4, atol=1e-6)
    jitted = fg.jit(fg.grad(loss, argnums=(0, 1)))(np.float32(0.3), np.float32(2.0))
    np.testing.assert_allclose(jitted, (d_mu, d_sigma), rtol=1e-5)

    def squared(mu, sigma):
        return jnp.mean((mu + sigma * random.normal(key, (64,))) ** 2)

    check_grads(squared, (np.float32(0.3), np.float32(1.5)), order=2)


def test_grad_through_uniform_bounds():
    key = random.PRNGKey(10)
    u01 = np.asarray(random.uniform(key, (100,)), np.float64)

    def mean_sample(low, high):
        return jnp.mean(random.uniform(key, (100,), minval=low, maxval=high))

    d_low, d_high = fg.grad(mean_sample, argnums=(0, 1))(np.float32(-1.0), np.float32(2.0))
    np.testing.assert_allclose(d_low, 1 - u01.mean(), rtol=1e-5)
    np.testing.assert_allclose(d_high, u01.mean(), rtol=1e-5)


def test_traced_sampler_is_one_threefry_equation():
    closed = fg.make_jaxpr(lambda k: random.normal(k, (4,)))(random.PRNGKey(0))
    names = [eqn.primitive.name for eqn in closed.eqns]
    assert names.count("threefry2x32") == 1
    expanded = [eqn.primitive.name for eqn in inline(closed).eqns]
    assert "threefry2x32" not in expanded
    assert {"shift_left", "shift_right_logical", "xor", "or"} <= set(expanded)


def test_compiled_normal_is_one_fused_kernel():
    from funcgrad.compiler.passes.fusion import ELEMENTWISE, fuse
    from funcgrad.compiler.pipeline import optimize

    closed = optimize(fg.make_jaxpr(lambda k: random.normal(k, (4096,)))(random.PRNGKey(0)))
    big = [g for g in fuse(closed) if g.shape == (4096,)]
    assert [g.kind for g in big] == [ELEMENTWISE]
