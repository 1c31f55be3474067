"""funcgrad.random against known answers produced by JAX 0.10.2 in its default configuration
(tests/data/prng_jax.json, kept unmodified: keys, splits, fold_in, raw bits, and samplers'
floats as their uint32 bit patterns), compared exactly: eagerly and under jit on both
backends. Also the Threefry-2x32 known-answer vectors of the Random123 test set."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import random
from funcgrad.lax.random_bits import threefry2x32

ORACLE = json.loads((pathlib.Path(__file__).parent.parent / "data" / "prng_jax.json").read_text())
CASES = ORACLE["cases"]


def _sample(case, key):
    """The oracle case's function applied to `key` (PRNGKey(seed))."""
    args, fn = case["args"], case["fn"]
    shape = tuple(args.get("shape", ()))
    if fn == "PRNGKey":
        return key
    if fn == "split":
        return random.split(key, args["num"])
    if fn == "fold_in":
        return random.fold_in(key, args["data"])
    if fn == "bits":
        return random.bits(key, shape)
    if fn == "uniform":
        return random.uniform(
            key, shape, minval=args.get("minval", 0.0), maxval=args.get("maxval", 1.0)
        )
    if fn == "normal":
        return random.normal(key, shape)
    if fn == "bernoulli":
        return random.bernoulli(key, args["p"], shape)
    if fn == "randint":
        return random.randint(key, shape, args["minval"], args["maxval"])
    if fn == "permutation":
        return random.permutation(key, args["n"])
    if fn == "categorical":
        return random.categorical(key, np.array(args["logits"], np.float32), shape=shape)
    if fn == "truncated_normal":
        return random.truncated_normal(key, args["lower"], args["upper"], shape)
    if fn == "chain_split_normal":
        # The generator's scenario: split step+1 times, keeping the first key, then sample
        # from the last subkey.
        for _ in range(args["step"] + 1):
            key, subkey = random.split(key)
        return random.normal(subkey, shape)
    raise AssertionError(f"oracle case of unknown function {fn}")


def _as_oracle_words(case, value) -> np.ndarray:
    value = np.asarray(value)
    assert value.shape == tuple(case["shape"])
    assert value.dtype == np.dtype(case["dtype"])
    if case["kind"] == "f32bits":
        return value.view(np.uint32).ravel().astype(np.int64)
    return value.ravel().astype(np.int64)


def _case_id(case) -> str:
    args = ",".join(f"{k}={v}" for k, v in case["args"].items() if k != "logits")
    return f"{case['fn']}({args})"


def test_oracle_file_is_the_expected_one():
    assert ORACLE["generator"].startswith("jax 0.10.2")
    assert len(CASES) == 177
    assert {c["kind"] for c in CASES} == {"u32", "f32bits", "int"}


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_eager_matches_jax_exactly(case):
    got = _sample(case, random.PRNGKey(case["args"]["seed"]))
    np.testing.assert_array_equal(_as_oracle_words(case, got), np.array(case["data"], np.int64))


JITTED = [c for c in CASES if c["fn"] != "PRNGKey"]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
@pytest.mark.parametrize("case", JITTED, ids=[_case_id(c) for c in JITTED])
def test_jit_matches_jax_exactly(case, backend, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")  # compile even the tiny cases
    sample = fg.jit(lambda key: _sample(case, key), backend=backend)
    got = sample(random.PRNGKey(case["args"]["seed"]))
    np.testing.assert_array_equal(_as_oracle_words(case, got), np.array(case["data"], np.int64))


@pytest.mark.parametrize("seed", [0, 1, 42, -1])
def test_typed_keys_give_the_same_numbers(seed):
    raw, typed = random.PRNGKey(seed), random.key(seed)
    np.testing.assert_array_equal(random.key_data(typed), raw)
    np.testing.assert_array_equal(random.normal(typed, (5,)), random.normal(raw, (5,)))
    np.testing.assert_array_equal(random.key_data(random.split(typed, 3)), random.split(raw, 3))
    np.testing.assert_array_equal(random.key_data(random.fold_in(typed, 9)), random.fold_in(raw, 9))


def test_seeds_wrap_to_32_bits_without_x64():
    np.testing.assert_array_equal(random.PRNGKey(-1), [0, 0xFFFFFFFF])
    np.testing.assert_array_equal(random.PRNGKey(2**32 + 5), [0, 5])
    np.testing.assert_array_equal(random.PRNGKey(np.int32(-2)), [0, 0xFFFFFFFE])


def test_seeds_keep_64_bits_with_x64(x64):
    np.testing.assert_array_equal(random.PRNGKey(-1), [0xFFFFFFFF, 0xFFFFFFFF])
    np.testing.assert_array_equal(random.PRNGKey(2**32 + 5), [1, 5])
    np.testing.assert_array_equal(random.PRNGKey(np.int64(-2)), [0xFFFFFFFF, 0xFFFFFFFE])


def test_traced_seed_matches_concrete_seed():
    for seed in (0, 7, -3, 2**31 - 1):
        traced = fg.jit(random.PRNGKey)(np.int32(seed))
        np.testing.assert_array_equal(traced, random.PRNGKey(seed))


# Random123's known-answer test vectors for threefry2x32 with 20 rounds (kat_vectors).
KNOWN_ANSWERS = [
    ((0x00000000, 0x00000000), (0x00000000, 0x00000000), (0x6B200159, 0x99BA4EFE)),
    ((0xFFFFFFFF, 0xFFFFFFFF), (0xFFFFFFFF, 0xFFFFFFFF), (0x1CB996FC, 0xBB002BE7)),
    ((0x13198A2E, 0x03707344), (0x243F6A88, 0x85A308D3), (0xC4923A9C, 0x483DF7A0)),
]


@pytest.mark.parametrize("key, counter, expected", KNOWN_ANSWERS)
def test_threefry_known_answers(key, counter, expected):
    words = [np.uint32(w) for w in (*key, *counter)]
    got = [int(np.asarray(x)) for x in threefry2x32(*words)]
    assert got == list(expected)
    jitted = fg.jit(lambda *w: threefry2x32(*w), backend="llvm")(*words)
    assert [int(np.asarray(x)) for x in jitted] == list(expected)
