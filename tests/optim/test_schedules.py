"""Schedules against their closed forms (Python `math`), at a Python int step, at a traced
int32 step inside jit, and over a vector of steps under vmap."""

import math
import warnings

import numpy as np
import pytest

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import optim


def _piecewise(t):
    value = 0.1
    for boundary, scale in ((5, 0.5), (10, 0.1)):
        if t >= boundary:
            value *= scale
    return value


def _cosine(t, init, steps, alpha, exponent):
    done = min(t, steps)
    return init * ((1 - alpha) * (0.5 * (1 + math.cos(math.pi * done / steps))) ** exponent + alpha)


def _warmup_cosine(t):
    # init 0 -> peak 0.1 over 4 steps, then cosine down to 0.01 at step 20.
    if t < 4:
        return 0.1 * t / 4
    return _cosine(t - 4, 0.1, 16, 0.01 / 0.1, 1.0)


# (id, schedule, closed form)
CASES = [
    ("constant", optim.constant_schedule(0.3), lambda t: 0.3),
    ("exponential", optim.exponential_decay(0.1, 5, 0.5), lambda t: 0.1 * 0.5 ** (t / 5)),
    (
        "exponential-staircase",
        optim.exponential_decay(0.1, 5, 0.5, transition_begin=3, staircase=True, end_value=0.02),
        lambda t: max(0.02, 0.1 * 0.5 ** math.floor(max(t - 3, 0) / 5)),
    ),
    (
        "exponential-growth-capped",
        optim.exponential_decay(0.1, 4, 2.0, end_value=0.5),
        lambda t: min(0.5, 0.1 * 2.0 ** (t / 4)),
    ),
    ("piecewise", optim.piecewise_constant_schedule(0.1, {10: 0.1, 5: 0.5}), _piecewise),
    (
        "cosine",
        optim.cosine_decay_schedule(0.1, 20, alpha=0.1, exponent=2.0),
        lambda t: _cosine(t, 0.1, 20, 0.1, 2.0),
    ),
    (
        "linear",
        optim.linear_schedule(0.1, 0.01, 10, transition_begin=5),
        lambda t: 0.1 + (0.01 - 0.1) * min(max(t - 5, 0), 10) / 10,
    ),
    (
        "polynomial",
        optim.polynomial_schedule(1.0, 0.0, power=2, transition_steps=8),
        lambda t: (1 - min(t, 8) / 8) ** 2,
    ),
    ("warmup-cosine", optim.warmup_cosine_decay_schedule(0.0, 0.1, 4, 20, 0.01), _warmup_cosine),
    (
        "join",
        optim.join_schedules(
            [optim.constant_schedule(0.1), optim.linear_schedule(0.1, 0.0, 8)], [4]
        ),
        lambda t: 0.1 if t < 4 else 0.1 * max(0.0, 1 - (t - 4) / 8),
    ),
]
STEPS = [0, 1, 3, 4, 5, 9, 10, 11, 16, 20, 30]


@pytest.mark.parametrize("schedule, closed_form", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_python_int_step(schedule, closed_form):
    for t in STEPS:
        assert float(schedule(t)) == pytest.approx(closed_form(t), rel=1e-6, abs=1e-9), t


@pytest.mark.parametrize("schedule, closed_form", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_traced_step_inside_jit(schedule, closed_form):
    jitted = jax.jit(lambda count: jnp.asarray(schedule(count), jnp.float32))
    for t in STEPS:
        got = float(jitted(jnp.asarray(t, jnp.int32)))
        assert got == pytest.approx(closed_form(t), rel=1e-6, abs=1e-9), t


@pytest.mark.parametrize("schedule, closed_form", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_vmap_over_steps(schedule, closed_form):
    steps = jnp.asarray(STEPS, jnp.int32)
    got = jax.vmap(lambda count: jnp.asarray(schedule(count), jnp.float32) + 0 * count)(steps)
    np.testing.assert_allclose(
        np.asarray(got), [closed_form(t) for t in STEPS], rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.exponential_decay(0.1, 0, 0.5),
        lambda: optim.exponential_decay(0.1, 10, 0.0),
        lambda: optim.linear_schedule(0.1, 0.0, 0),
    ],
    ids=["exponential-no-steps", "exponential-zero-rate", "linear-no-steps"],
)
def test_degenerate_schedules_warn_and_stay_constant(make):
    with pytest.warns(UserWarning, match="constant"):
        schedule = make()
    assert [schedule(t) for t in (0, 7, 100)] == [0.1, 0.1, 0.1]


def test_well_formed_schedules_do_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        optim.exponential_decay(0.1, 10, 0.5)(3)
        optim.linear_schedule(0.1, 0.0, 10)(3)
