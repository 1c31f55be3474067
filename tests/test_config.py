"""config.update and the environment variables that set the same flags."""

import os
import subprocess
import sys

import pytest

from funcgrad import config


def _flag_in_fresh_process(env_updates: dict) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "FUNCGRAD_"))}
    env.update(env_updates)
    code = "import funcgrad; print(funcgrad.config.jax_enable_x64, funcgrad.config.jax_debug_nans)"
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.split()


@pytest.mark.parametrize(
    "env, expected",
    [
        ({}, ["False", "False"]),
        ({"JAX_ENABLE_X64": "1"}, ["True", "False"]),
        ({"FUNCGRAD_ENABLE_X64": "true", "JAX_DEBUG_NANS": "yes"}, ["True", "True"]),
        ({"FUNCGRAD_ENABLE_X64": "0", "JAX_ENABLE_X64": "1"}, ["False", "False"]),
    ],
)
def test_environment_variables(env, expected):
    assert _flag_in_fresh_process(env) == expected


def test_bad_environment_value_is_reported():
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "FUNCGRAD_"))}
    env["JAX_ENABLE_X64"] = "maybe"
    result = subprocess.run(
        [sys.executable, "-c", "import funcgrad"], env=env, capture_output=True, text=True
    )
    assert result.returncode != 0 and "JAX_ENABLE_X64='maybe' is not a boolean" in result.stderr


def test_update_and_restore(x64):
    assert config.jax_enable_x64 is True


def test_unknown_option_lists_known_ones():
    with pytest.raises(
        AttributeError, match="unknown config option 'jax_enable_x65'.*jax_enable_x64"
    ):
        config.update("jax_enable_x65", True)


def test_non_bool_value():
    with pytest.raises(TypeError, match="takes a bool, got str"):
        config.update("jax_disable_jit", "yes")


def test_attributes_are_read_only():
    with pytest.raises(AttributeError, match=r"config.update\('jax_enable_x64', value\)"):
        config.jax_enable_x64 = True
