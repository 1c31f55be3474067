"""Bad input to funcgrad.random: clear errors naming the function, what was wrong, the
user's line and the fix."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import random

KEY = random.PRNGKey(0)
HERE = "test_random_errors.py"


def test_a_float_array_is_not_a_key():
    with pytest.raises(
        TypeError, match=r"normal: a PRNG key must be uint32 key data, got f32\[2\]"
    ) as info:
        random.normal(jnp.zeros(2), (3,))
    assert HERE in str(info.value) and "PRNGKey(seed)" in str(info.value)


@pytest.mark.parametrize("shape", [(3,), (2, 3), ()])
def test_a_wrongly_shaped_array_is_not_a_key(shape):
    with pytest.raises(
        TypeError, match=r"uniform: PRNG key data must have shape \(\.\.\., 2\)"
    ) as info:
        random.uniform(jnp.zeros(shape, jnp.uint32))
    assert HERE in str(info.value)


def test_a_list_is_not_a_key():
    with pytest.raises(TypeError, match="bits: a PRNG key must be an array, got list"):
        random.bits([0, 0])


def test_a_batch_of_keys_needs_vmap():
    keys = random.split(KEY, 3)
    with pytest.raises(ValueError, match=r"normal accepts a single key, .* shape \(3,\).*vmap"):
        random.normal(keys)
    with pytest.raises(ValueError, match="split accepts a single key"):
        random.split(random.split(random.key(0), 2))


def test_bad_keys_are_refused_under_jit_too():
    with pytest.raises(TypeError, match="must be uint32 key data"):
        fg.jit(lambda k: random.normal(k))(np.zeros(2, np.float32))


@pytest.mark.eager_only("under jit array bounds are traced: unchecked", params=["minval2-maxval2"])
@pytest.mark.parametrize("minval, maxval", [(5, 5), (7, 3), (np.array([0, 4]), np.array([1, 4]))])
def test_randint_needs_minval_below_maxval(minval, maxval):
    with pytest.raises(ValueError, match="randint: minval must be less than maxval") as info:
        random.randint(KEY, (2,), minval, maxval)
    assert HERE in str(info.value)


def test_traced_randint_bounds_follow_jax():
    # Traced bounds cannot be checked while tracing; an empty range gives minval, as in JAX.
    out = fg.jit(lambda lo, hi: random.randint(KEY, (3,), lo, hi))(np.int32(4), np.int32(4))
    np.testing.assert_array_equal(out, [4, 4, 4])


def test_choice_without_replacement_needs_enough_population():
    with pytest.raises(
        ValueError, match=r"larger sample \(size 5\) than the population \(size 3\)"
    ):
        random.choice(KEY, 3, (5,), replace=False)
    with pytest.raises(ValueError, match="p must be None or a 1D vector"):
        random.choice(KEY, 3, (2,), p=jnp.array([0.5, 0.5]))
    with pytest.raises(TypeError, match="must be a sequence"):
        random.choice(KEY, 3, 2)


@pytest.mark.parametrize(
    "sample",
    [
        lambda: random.normal(KEY, (-1,)),
        lambda: random.uniform(KEY, (2, -3)),
        lambda: random.bits(KEY, (-2,)),
        lambda: random.randint(KEY, (-1,), 0, 3),
        lambda: random.split(KEY, -1),
    ],
)
def test_negative_shapes_are_refused(sample):
    with pytest.raises(ValueError, match="has a negative dimension") as info:
        sample()
    assert HERE in str(info.value)


def test_seeds_must_be_integers():
    with pytest.raises(TypeError, match="PRNG key seed must be an integer"):
        random.PRNGKey(1.5)
    with pytest.raises(TypeError, match="PRNG key seed must be an integer"):
        random.key(True)
    with pytest.raises(TypeError, match="PRNG key seed must be a scalar"):
        random.PRNGKey(np.array([1, 2], np.int32))
    with pytest.raises(OverflowError, match="does not fit in a signed 64-bit integer"):
        random.PRNGKey(2**63)


def test_other_bad_arguments():
    with pytest.raises(ValueError, match="must be an unsigned int dtype"):
        random.bits(KEY, (2,), jnp.int32)
    with pytest.raises(ValueError, match="must be a float dtype"):
        random.normal(KEY, (2,), jnp.int32)
    with pytest.raises(TypeError, match="bernoulli probability `p` must have a floating dtype"):
        random.bernoulli(KEY, 1)
    with pytest.raises(TypeError, match="randint only accepts integer dtypes"):
        random.randint(KEY, (2,), 0, 3, jnp.float32)
    with pytest.raises(TypeError, match="fold_in accepts a scalar"):
        random.fold_in(KEY, jnp.arange(3))
    with pytest.raises(ValueError, match=r"does not broadcast to the sample shape \(3,\)"):
        random.uniform(KEY, (3,), minval=jnp.zeros(2))
    with pytest.raises(TypeError, match="x must be an integer or at least 1-dimensional"):
        random.permutation(KEY, 2.5)
