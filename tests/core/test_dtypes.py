"""Type promotion and dtype policy against known answers recorded from JAX 0.10.2
(tests/data/jax_promotion.json: the dtype and weak_type of jnp.add for every pair of
dtypes and Python scalar kinds, with x64 off and on)."""

import json
import pathlib

import ml_dtypes
import numpy as np
import pytest

import funcgrad.numpy as jnp
from funcgrad.core import dtypes

ORACLE = json.loads(
    (pathlib.Path(__file__).parent.parent / "data" / "jax_promotion.json").read_text()
)
_WEAK_VALUES = {"int": 1, "float": 1.0, "complex": 1j}


def _operand(spec: str):
    kind, name = spec.split(":")
    if kind == "weak":
        return _WEAK_VALUES[name]
    return np.zeros((), dtype=ml_dtypes.bfloat16 if name == "bfloat16" else name)


def _cases(mode):
    return sorted(ORACLE[mode].items())


@pytest.mark.parametrize("mode", ["x32", "x64"])
def test_promotion_matches_jax_for_every_pair(mode, request):
    if mode == "x64":
        request.getfixturevalue("x64")
    mismatches = []
    for key, (want_dtype, want_weak) in _cases(mode):
        left, right = (_operand(s) for s in key.split("|"))
        if isinstance(left, bool) or isinstance(right, bool):
            continue
        if np.asarray(left).dtype == bool and np.asarray(right).dtype == bool:
            continue  # bool + bool has no add; its promotion is checked below
        result = jnp.add(jnp.asarray(left), jnp.asarray(right))
        got = (result.dtype.name, result.weak_type)
        if got != (want_dtype, want_weak):
            mismatches.append(f"{key}: got {got}, JAX gives {(want_dtype, want_weak)}")
    assert not mismatches, "\n".join(mismatches)


def test_bool_pair_promotes_to_bool():
    assert dtypes.result_type((np.dtype(bool), False), (np.dtype(bool), False)) == (
        np.dtype(bool),
        False,
    )


def test_named_cases_from_the_api_contract():
    f16 = jnp.ones(3, jnp.float16)
    assert (f16 + 2.0).dtype == np.float16 and not (f16 + 2.0).weak_type
    assert (jnp.ones(2, jnp.int8) + jnp.ones(2, jnp.uint8)).dtype == np.int16
    assert (jnp.ones(2, jnp.bfloat16) + jnp.ones(2, jnp.float16)).dtype == np.float32
    assert jnp.asarray(2.0).weak_type and not jnp.asarray(np.float32(2.0)).weak_type
    assert (jnp.ones(2, jnp.int32) + 2.5).dtype == np.float32


def test_64_bit_inputs_narrow_by_default():
    assert jnp.asarray(np.ones(2, np.float64)).dtype == np.float32
    assert jnp.asarray(np.ones(2, np.int64)).dtype == np.int32
    assert jnp.asarray(np.ones(2, np.uint64)).dtype == np.uint32
    assert jnp.asarray(np.ones(2, np.complex128)).dtype == np.complex64
    assert jnp.asarray(2).dtype == np.int32 and jnp.asarray(2.0).dtype == np.float32


def test_64_bit_inputs_kept_under_x64(x64):
    assert jnp.asarray(np.ones(2, np.float64)).dtype == np.float64
    assert jnp.asarray(np.ones(2, np.int64)).dtype == np.int64
    assert jnp.asarray(2.0).dtype == np.float64 and jnp.asarray(2.0).weak_type
    assert (jnp.ones(2, jnp.float32) + 1.0).dtype == np.float32


def test_python_scalar_dtypes():
    assert dtypes.scalar_dtype(True) == np.bool_
    assert dtypes.scalar_dtype(3) == np.int32
    assert dtypes.scalar_dtype(3.0) == np.float32
    assert dtypes.scalar_dtype(3j) == np.complex64
    assert not jnp.asarray(True).weak_type


def test_check_dtype_rejects_unsupported_and_lists_choices():
    with pytest.raises(TypeError, match="dtype object is not supported.*bool, int8"):
        dtypes.check_dtype(np.dtype(object))
    with pytest.raises(TypeError, match="is not a dtype"):
        dtypes.check_dtype("not-a-dtype")
