"""funcgrad.nn.initializers: fans, scales and distributions against their defining formulas.

Fans are computed here by hand for dense (in, out) and convolution (h, w, in, out) kernels;
the draws' sample variance must match `scale / fan` within the sampling error of the sizes
used, uniform draws must stay inside their limit, truncated normals inside two of their
standard deviations.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from funcgrad import random
from funcgrad.nn import initializers as init

KEY = random.PRNGKey(0)
# (factory, variance numerator, which fan, distribution)
SCALINGS = {
    "glorot_uniform": (init.glorot_uniform, 1.0, "avg", "uniform"),
    "glorot_normal": (init.glorot_normal, 1.0, "avg", "truncated"),
    "lecun_uniform": (init.lecun_uniform, 1.0, "in", "uniform"),
    "lecun_normal": (init.lecun_normal, 1.0, "in", "truncated"),
    "he_uniform": (init.he_uniform, 2.0, "in", "uniform"),
    "he_normal": (init.he_normal, 2.0, "in", "truncated"),
}
# shape -> (fan_in, fan_out), by hand: a conv kernel's receptive field is h * w.
FANS = {(300, 200): (300, 200), (5, 5, 20, 50): (500, 1250)}


@pytest.mark.parametrize("shape", list(FANS), ids=str)
@pytest.mark.parametrize("name", list(SCALINGS))
def test_variance_scaling_family(name, shape):
    factory, numerator, fan, distribution = SCALINGS[name]
    fan_in, fan_out = FANS[shape]
    variance = numerator / {"in": fan_in, "avg": (fan_in + fan_out) / 2}[fan]
    array = factory()(KEY, shape)
    assert array.shape == shape and array.dtype == np.float32
    draws = np.asarray(array, np.float64)
    # The sample variance of n draws has relative standard error about sqrt(2 / n).
    tolerance = 5 * math.sqrt(2 / draws.size)
    assert abs(draws.var() / variance - 1) < tolerance
    assert abs(draws.mean()) < 5 * math.sqrt(variance / draws.size)
    if distribution == "uniform":
        assert np.abs(draws).max() <= math.sqrt(3 * variance)
    else:
        assert np.abs(draws).max() <= 2 * math.sqrt(variance) / 0.87962566103423978 + 1e-6


def test_aliases_are_the_same_initializers():
    assert init.xavier_uniform is init.glorot_uniform
    assert init.kaiming_normal is init.he_normal


def test_same_key_same_draws_and_dtype():
    first = init.glorot_uniform()(KEY, (4, 3))
    again = init.glorot_uniform()(KEY, (4, 3))
    np.testing.assert_array_equal(np.asarray(first), np.asarray(again))
    other = init.glorot_uniform()(random.PRNGKey(1), (4, 3))
    assert not np.array_equal(np.asarray(first), np.asarray(other))
    assert np.asarray(init.he_normal(dtype=np.float16)(KEY, (4, 3))).dtype == np.float16


def test_in_and_out_axes_choose_the_fans():
    # A (out, in) kernel: fan_in is axis 1 when in_axis=-1, out_axis=-2.
    draws = np.asarray(init.lecun_uniform(in_axis=-1, out_axis=-2)(KEY, (50, 2000)))
    assert np.abs(draws).max() <= math.sqrt(3 / 2000)
    assert np.abs(draws).max() > 0.9 * math.sqrt(3 / 2000)


def test_simple_initializers():
    np.testing.assert_array_equal(np.asarray(init.zeros(KEY, (2, 3))), np.zeros((2, 3)))
    np.testing.assert_array_equal(np.asarray(init.ones(KEY, (3,))), np.ones(3))
    np.testing.assert_allclose(np.asarray(init.constant(0.25)(KEY, (2,))), [0.25, 0.25])
    u = np.asarray(init.uniform(0.5)(KEY, (10000,)))
    assert 0 <= u.min() and u.max() < 0.5 and abs(u.mean() - 0.25) < 0.01
    n = np.asarray(init.normal(0.1)(KEY, (10000,)), np.float64)
    assert abs(n.std() - 0.1) < 0.005
    t = np.asarray(init.truncated_normal(0.1)(KEY, (10000,)))
    assert np.abs(t).max() <= 0.2 + 1e-6


def test_vectors_have_no_fans():
    with pytest.raises(ValueError, match=r"shape \(7,\) has no separate fan-in"):
        init.glorot_uniform()(KEY, (7,))


def test_bad_mode_distribution_and_dtype():
    with pytest.raises(ValueError, match="mode must be one of"):
        init.variance_scaling(1.0, "fan_sideways", "normal")
    with pytest.raises(ValueError, match="distribution must be one of"):
        init.variance_scaling(1.0, "fan_in", "cauchy")
    with pytest.raises(TypeError, match="floating-point parameters, got dtype int32"):
        init.he_normal()(KEY, (3, 3), np.int32)
