"""The key-reuse check: in a traced program, a key consumed by two random functions raises
KeyReuseError naming both places; split keys, fold_in, separate traces and eager code are
not reuse; the check can be turned off."""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import config, random
from funcgrad.errors import KeyReuseError


@pytest.fixture
def check_off():
    config.update("funcgrad_check_key_reuse", False)
    try:
        yield
    finally:
        config.update("funcgrad_check_key_reuse", True)


def test_the_check_is_on_by_default():
    assert config.funcgrad_check_key_reuse is True


def test_two_samplers_on_one_key_under_jit_raise():
    def reuse(key):
        return random.normal(key, (2,)) + random.uniform(key, (2,))

    with pytest.raises(
        KeyReuseError, match=r"uniform: this PRNG key was already consumed by normal"
    ) as info:
        fg.jit(reuse)(random.PRNGKey(0))
    message = str(info.value)
    assert "test_key_reuse.py" in message  # both places are the user's lines
    assert "split" in message and "funcgrad_check_key_reuse" in message


def test_sampling_from_a_key_after_splitting_it_raises():
    def reuse(key):
        first, _ = random.split(key)
        return random.normal(key) + random.normal(first)

    with pytest.raises(KeyReuseError, match="normal: .* already consumed by split"):
        fg.make_jaxpr(reuse)(random.PRNGKey(0))


def test_typed_keys_are_checked_too():
    def reuse(key):
        return random.bits(key), random.bits(key)

    with pytest.raises(KeyReuseError):
        fg.jit(reuse)(random.key(1))


def test_reuse_under_vmap_raises():
    def reuse(key):
        return random.normal(key) - random.normal(key)

    with pytest.raises(KeyReuseError):
        fg.vmap(reuse)(random.split(random.PRNGKey(2), 3))


def test_split_keys_fold_in_and_fresh_traces_are_not_reuse():
    def fine(key):
        first, second = random.split(key)
        a = random.normal(first, (2,))
        b = random.normal(second, (2,))
        c = random.normal(random.fold_in(key, 1), (2,))
        d = random.normal(random.fold_in(key, 2), (2,))
        return a + b + c + d

    key = random.PRNGKey(3)
    jitted = fg.jit(fine)
    np.testing.assert_array_equal(jitted(key), fine(key))
    # A second trace of the same function (new shapes) starts afresh.
    fg.jit(lambda k: random.normal(k, (3,)))(key)
    fg.jit(lambda k: random.normal(k, (4,)))(key)


def test_eager_reuse_is_not_checked():
    key = random.PRNGKey(4)
    np.testing.assert_array_equal(random.normal(key), random.normal(key))


def test_the_check_can_be_turned_off(check_off):
    def reuse(key):
        return random.normal(key, (2,)), random.normal(key, (2,))

    first, second = fg.jit(reuse)(random.PRNGKey(5))
    np.testing.assert_array_equal(first, second)


def test_the_flag_reads_the_environment():
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "FUNCGRAD_"))}
    env["FUNCGRAD_CHECK_KEY_REUSE"] = "0"
    code = "import funcgrad; print(funcgrad.config.funcgrad_check_key_reuse)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "False"
