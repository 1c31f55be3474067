"""Each sampler's distribution, from fixed keys (so every test is deterministic): sample
moments against the distribution's exact ones, and the Kolmogorov-Smirnov distance between
the sample and the exact CDF (computed here with math.erf / math.exp) below the 0.1%
critical value 1.95 / sqrt(n). Discrete samplers: frequencies against exact probabilities."""

from __future__ import annotations

import math

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import random

N = 100_000
KS_CRITICAL = 1.95 / math.sqrt(N)
erf = np.vectorize(math.erf)


def ks_distance(samples, cdf) -> float:
    x = np.sort(np.asarray(samples, np.float64))
    f = cdf(x)
    n = len(x)
    return float(max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n)))


def normal_cdf(x):
    return 0.5 * (1 + erf(x / math.sqrt(2)))


def key(seed: int = 0):
    return random.PRNGKey(seed)


def test_bits_are_uniform_per_bit_and_over_values():
    words = np.asarray(random.bits(key(), (N,)))
    assert words.dtype == np.uint32
    ones = [(words >> b & 1).mean() for b in range(32)]
    np.testing.assert_allclose(ones, 0.5, atol=4 / math.sqrt(N))
    assert ks_distance(words / 2.0**32, lambda x: x) < KS_CRITICAL


@pytest.mark.parametrize("dtype", [jnp.uint8, jnp.uint16])
def test_narrow_bits_cover_their_range(dtype):
    words = np.asarray(random.bits(key(3), (N,), dtype))
    assert words.dtype == dtype
    high = np.iinfo(dtype).max + 1
    assert ks_distance((words + 0.5) / high, lambda x: x) < KS_CRITICAL + 1 / high


@pytest.mark.parametrize("minval, maxval", [(0.0, 1.0), (-2.0, 3.0)])
def test_uniform(minval, maxval):
    u = np.asarray(random.uniform(key(1), (N,), minval=minval, maxval=maxval), np.float64)
    assert minval <= u.min() and u.max() < maxval
    width = maxval - minval
    np.testing.assert_allclose(u.mean(), minval + width / 2, atol=4 * width / math.sqrt(12 * N))
    np.testing.assert_allclose(u.var(), width**2 / 12, rtol=0.02)
    assert ks_distance(u, lambda x: (x - minval) / width) < KS_CRITICAL


def test_uniform_with_array_bounds_broadcasts():
    low, high = np.array([0.0, 10.0], np.float32), np.array([1.0, 20.0], np.float32)
    u = np.asarray(random.uniform(key(2), (N // 2, 2), minval=low, maxval=high))
    assert (u >= low).all() and (u < high).all()
    np.testing.assert_allclose(u.mean(axis=0), (low + high) / 2, rtol=0.01)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float16, jnp.bfloat16])
def test_normal(dtype):
    z = np.asarray(random.normal(key(4), (N,), dtype)).astype(np.float64)
    assert np.isfinite(z).all()
    # Narrow floats draw from a grid of 2**10 (float16) or 2**7 (bfloat16) uniform values,
    # as JAX does; their moments and CDF are off by about the grid's resolution. The
    # bfloat16 grid is lopsided (its lowest value is nearer -1 than its highest is to 1),
    # which skews the tails, so its third and fourth moments are not checked.
    resolution = {jnp.float32: 0.0, jnp.float16: 2e-3, jnp.bfloat16: 2e-2}[dtype]
    np.testing.assert_allclose(z.mean(), 0, atol=4 / math.sqrt(N) + resolution)
    np.testing.assert_allclose(z.var(), 1, rtol=0.02 + resolution)
    if dtype != jnp.bfloat16:
        np.testing.assert_allclose(np.mean(z**3), 0, atol=0.05)
        np.testing.assert_allclose(np.mean(z**4), 3, rtol=0.05)
    assert ks_distance(z, normal_cdf) < KS_CRITICAL + resolution


def test_normal_float64(x64):
    z = np.asarray(random.normal(key(5), (N,)))
    assert z.dtype == np.float64
    assert ks_distance(z, normal_cdf) < KS_CRITICAL


@pytest.mark.parametrize("lower, upper", [(-2.0, 2.0), (0.5, 3.0), (-1.0, -0.2)])
def test_truncated_normal(lower, upper):
    z = np.asarray(random.truncated_normal(key(6), lower, upper, (N,)), np.float64)
    assert lower < z.min() and z.max() < upper
    mass = normal_cdf(np.array(upper)) - normal_cdf(np.array(lower))
    assert ks_distance(z, lambda x: (normal_cdf(x) - normal_cdf(np.array(lower))) / mass) < (
        KS_CRITICAL
    )
    pdf = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    mean = (pdf(lower) - pdf(upper)) / mass
    np.testing.assert_allclose(z.mean(), mean, atol=4 * z.std() / math.sqrt(N))


@pytest.mark.parametrize("p", [0.1, 0.5, 0.93])
def test_bernoulli(p):
    b = np.asarray(random.bernoulli(key(7), p, (N,)))
    assert b.dtype == np.bool_
    np.testing.assert_allclose(b.mean(), p, atol=4 * math.sqrt(p * (1 - p) / N))


def test_bernoulli_with_array_p_takes_its_shape():
    p = np.array([0.2, 0.8], np.float32)
    b = np.asarray(random.bernoulli(key(8), p))
    assert b.shape == (2,)
    many = np.asarray(random.bernoulli(key(9), p, (N // 2, 2)))
    np.testing.assert_allclose(many.mean(axis=0), p, atol=0.01)


def test_exponential():
    x = np.asarray(random.exponential(key(23), (N,)), np.float64)
    assert (x >= 0).all()
    np.testing.assert_allclose(x.mean(), 1, atol=4 / math.sqrt(N))
    np.testing.assert_allclose(x.var(), 1, rtol=0.03)
    assert ks_distance(x, lambda v: 1 - np.exp(-v)) < KS_CRITICAL


def test_gumbel():
    g = np.asarray(random.gumbel(key(11), (N,)), np.float64)
    np.testing.assert_allclose(g.mean(), np.euler_gamma, atol=4 * 1.3 / math.sqrt(N))
    np.testing.assert_allclose(g.var(), math.pi**2 / 6, rtol=0.03)
    assert ks_distance(g, lambda v: np.exp(-np.exp(-v))) < KS_CRITICAL


def test_categorical_frequencies_follow_softmax():
    logits = np.array([0.1, 1.0, -0.5, 2.0], np.float32)
    draws = np.asarray(random.categorical(key(12), logits, shape=(N,)))
    assert draws.dtype == np.int32
    probabilities = np.exp(logits) / np.exp(logits).sum()
    frequencies = np.bincount(draws, minlength=4) / N
    np.testing.assert_allclose(frequencies, probabilities, atol=4 * 0.5 / math.sqrt(N))


def test_categorical_batched_logits_along_an_axis():
    logits = np.log(np.array([[0.7, 0.2], [0.1, 0.6], [0.2, 0.2]], np.float32))  # (3 classes, 2)
    draws = np.asarray(random.categorical(key(13), logits, axis=0, shape=(N // 4, 2)))
    assert draws.shape == (N // 4, 2)
    for column in range(2):
        p = np.exp(logits[:, column]) / np.exp(logits[:, column]).sum()
        frequencies = np.bincount(draws[:, column], minlength=3) / len(draws)
        np.testing.assert_allclose(frequencies, p, atol=0.015)


@pytest.mark.parametrize("minval, maxval", [(0, 10), (-1000, 1000000), (-5, -2)])
def test_randint(minval, maxval):
    r = np.asarray(random.randint(key(14), (N,), minval, maxval))
    assert r.dtype == np.int32
    assert minval <= r.min() and r.max() < maxval
    span = maxval - minval
    uniform = (r - minval + 0.5) / span
    assert ks_distance(uniform, lambda x: x) < KS_CRITICAL + 1 / span
    if span <= 10:
        assert set(np.unique(r)) == set(range(minval, maxval))


def test_randint_narrow_dtype_covers_its_range():
    r = np.asarray(random.randint(key(15), (N,), 0, 256, jnp.uint8))
    assert r.dtype == np.uint8
    assert set(np.unique(r)) == set(range(256))


def test_permutation_is_a_uniform_shuffle():
    perms = np.asarray(fg.vmap(lambda k: random.permutation(k, 5))(random.split(key(24), 2000)))
    assert (np.sort(perms, axis=1) == np.arange(5)).all()
    # Where element 0 lands is uniform over the 5 positions.
    positions = np.argmax(perms == 0, axis=1)
    np.testing.assert_allclose(np.bincount(positions, minlength=5) / 2000, 0.2, atol=0.04)


def test_permutation_of_an_array_along_an_axis():
    x = np.arange(12, dtype=np.float32).reshape(3, 4)
    rows = np.asarray(random.permutation(key(16), x))
    assert sorted(map(tuple, rows)) == sorted(map(tuple, x))
    columns = np.asarray(random.permutation(key(16), x, axis=1))
    assert sorted(map(tuple, columns.T)) == sorted(map(tuple, x.T))
    independent = np.asarray(random.permutation(key(17), x, axis=1, independent=True))
    np.testing.assert_array_equal(np.sort(independent, axis=1), x)


def test_choice_with_replacement_is_uniform():
    draws = np.asarray(random.choice(key(18), 5, (N,)))
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / N, 0.2, atol=0.005)


def test_choice_with_replacement_and_p():
    p = np.array([0.1, 0.2, 0.3, 0.15, 0.25], np.float32)
    draws = np.asarray(random.choice(key(19), 5, (N,), p=p))
    np.testing.assert_allclose(np.bincount(draws, minlength=5) / N, p, atol=0.006)


def test_choice_without_replacement_has_no_repeats():
    items = np.array([10, 20, 30, 40, 50, 60], np.int32)
    for seed in range(50):
        drawn = np.asarray(random.choice(key(seed), items, (4,), replace=False))
        assert len(set(drawn)) == 4 and set(drawn) <= set(items)
    keys = random.split(key(22), 3000)
    firsts = np.asarray(fg.vmap(lambda k: random.choice(k, 6, (2,), replace=False)[0])(keys))
    np.testing.assert_allclose(np.bincount(firsts, minlength=6) / 3000, 1 / 6, atol=0.03)


def test_choice_without_replacement_with_p_follows_p_for_the_first_draw():
    p = np.array([0.6, 0.3, 0.1], np.float32)
    keys = random.split(key(23), 3000)
    draw = fg.vmap(lambda k: random.choice(k, 3, (2,), replace=False, p=p)[0])
    firsts = np.asarray(draw(keys))
    np.testing.assert_allclose(np.bincount(firsts, minlength=3) / 3000, p, atol=0.03)


def test_choice_of_rows_along_an_axis():
    x = np.arange(10, dtype=np.float32).reshape(5, 2)
    rows = np.asarray(random.choice(key(20), x, (3,), replace=False))
    assert rows.shape == (3, 2) and len({tuple(r) for r in rows}) == 3
    assert all(tuple(r) in {tuple(v) for v in x} for r in rows)


def test_split_keys_give_independent_streams():
    first, second = random.split(key(21))
    a = np.asarray(random.normal(first, (N,)), np.float64)
    b = np.asarray(random.normal(second, (N,)), np.float64)
    assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(N)
    folded = [np.asarray(random.normal(random.fold_in(key(21), i), (N // 10,))) for i in range(3)]
    assert abs(np.corrcoef(folded[0], folded[1])[0, 1]) < 4 / math.sqrt(N // 10)
