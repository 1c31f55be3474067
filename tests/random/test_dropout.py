"""funcgrad.nn.dropout: drops each element with probability `rate` (checked against the
bernoulli draw it makes), scales the kept ones by 1/(1 - rate), keeps the mean, and passes
gradients only through kept elements."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import nn, random


def test_dropout_zeroes_the_dropped_and_scales_the_kept():
    key, rate = random.PRNGKey(0), 0.25
    x = np.arange(1.0, 1001.0, dtype=np.float32)
    out = np.asarray(nn.dropout(key, rate, x))
    keep = np.asarray(random.bernoulli(key, 1 - rate, x.shape))
    np.testing.assert_allclose(out, np.where(keep, x / (1 - rate), 0), rtol=1e-6)
    assert abs((out == 0).mean() - rate) < 0.05


def test_dropout_keeps_the_mean_and_dtype():
    x = np.ones(100_000, np.float16)
    out = nn.dropout(random.PRNGKey(1), 0.5, x)
    assert out.dtype == np.float16
    np.testing.assert_allclose(np.asarray(out, np.float64).mean(), 1.0, atol=0.02)


def test_rate_zero_is_the_identity_and_bad_rates_are_refused():
    x = np.array([1.0, -2.0], np.float32)
    np.testing.assert_array_equal(nn.dropout(random.PRNGKey(2), 0.0, x), x)
    with pytest.raises(ValueError, match=r"dropout: rate must be in \[0, 1\), got 1.0"):
        nn.dropout(random.PRNGKey(2), 1.0, x)
    with pytest.raises(TypeError, match="dropout: rate must be a Python float"):
        nn.dropout(random.PRNGKey(2), "0.5", x)


def test_dropout_under_jit_and_grad():
    key, x = random.PRNGKey(3), np.linspace(-1, 1, 64, dtype=np.float32)
    np.testing.assert_array_equal(
        fg.jit(lambda k, v: nn.dropout(k, 0.5, v))(key, x), nn.dropout(key, 0.5, x)
    )
    gradient = fg.grad(lambda v: jnp.sum(nn.dropout(key, 0.5, v)))(x)
    keep = np.asarray(random.bernoulli(key, 0.5, x.shape))
    np.testing.assert_allclose(gradient, np.where(keep, 2.0, 0.0))
