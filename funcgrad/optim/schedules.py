"""Learning-rate schedules: functions from a step count to a value, as optax's.

A schedule is an ordinary function of `count`, written with funcgrad.numpy, so it works
on a Python int and on a traced int32 step inside `jit` alike; optimizers evaluate it at
the number of updates made before the current one. Formulas and edge cases (what a
non-positive number of steps means, where a boundary belongs) follow optax.

    lr = optim.warmup_cosine_decay_schedule(0.0, 1e-3, warmup_steps=100, decay_steps=1000)
    opt = optim.adam(lr)
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, Sequence

import funcgrad.numpy as jnp
from funcgrad.core.source_info import user_location

__all__ = [
    "constant_schedule",
    "cosine_decay_schedule",
    "exponential_decay",
    "join_schedules",
    "linear_schedule",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "warmup_cosine_decay_schedule",
]

Schedule = Callable[[Any], Any]


def _constant_with_warning(name: str, reason: str, value: Any) -> Schedule:
    warnings.warn(
        f"funcgrad.optim.{name} ({user_location()}): {reason}; the schedule is the constant "
        f"{value!r}.",
        stacklevel=3,
    )
    return constant_schedule(value)


def constant_schedule(value: Any) -> Schedule:
    """The schedule that is `value` at every step.

    >>> constant_schedule(0.1)(1000)
    0.1
    """
    return lambda count: value


def polynomial_schedule(
    init_value: float,
    end_value: float,
    power: float,
    transition_steps: int,
    transition_begin: int = 0,
) -> Schedule:
    """From `init_value` to `end_value` over `transition_steps` steps starting at
    `transition_begin`, along (end - init) * (1 - (1 - t)**power) with t the fraction done.

    >>> polynomial_schedule(1.0, 0.0, power=2, transition_steps=4)(2)
    Array(0.25, dtype=float32, weak_type=True)
    """
    if transition_steps <= 0:
        return _constant_with_warning(
            "polynomial_schedule",
            f"transition_steps={transition_steps} is not positive",
            init_value,
        )
    transition_begin = max(transition_begin, 0)

    def schedule(count):
        done = jnp.clip(count - transition_begin, 0, transition_steps)
        remaining = 1 - done / transition_steps
        return (init_value - end_value) * remaining**power + end_value

    return schedule


def linear_schedule(
    init_value: float, end_value: float, transition_steps: int, transition_begin: int = 0
) -> Schedule:
    """Linear from `init_value` (until `transition_begin`) to `end_value` (from
    `transition_begin + transition_steps` on).

    >>> linear_schedule(1.0, 0.0, transition_steps=4)(1)
    Array(0.75, dtype=float32, weak_type=True)
    """
    return polynomial_schedule(init_value, end_value, 1, transition_steps, transition_begin)


def exponential_decay(
    init_value: float,
    transition_steps: int,
    decay_rate: float,
    transition_begin: int = 0,
    staircase: bool = False,
    end_value: float | None = None,
) -> Schedule:
    """init_value * decay_rate ** ((count - transition_begin) / transition_steps), the
    exponent floored with `staircase`, held at `init_value` before `transition_begin`
    and bounded by `end_value` when given.

    >>> exponential_decay(1.0, transition_steps=10, decay_rate=0.5)(20)
    Array(0.25, dtype=float32, weak_type=True)
    """
    if transition_steps <= 0:
        return _constant_with_warning(
            "exponential_decay", f"transition_steps={transition_steps} is not positive", init_value
        )
    if decay_rate == 0:
        return _constant_with_warning("exponential_decay", "decay_rate is 0", init_value)
    transition_begin = max(transition_begin, 0)
    # The bound is a floor for a decay and a ceiling for a growth.
    bound = jnp.maximum if decay_rate < 1.0 else jnp.minimum

    def schedule(count):
        since_begin = count - transition_begin
        exponent = since_begin / transition_steps
        if staircase:
            exponent = jnp.floor(exponent)
        value = jnp.where(
            since_begin <= 0, init_value, init_value * jnp.power(decay_rate, exponent)
        )
        return value if end_value is None else bound(value, end_value)

    return schedule


def piecewise_constant_schedule(
    init_value: float, boundaries_and_scales: dict[int, float] | None = None
) -> Schedule:
    """Step decay: start at `init_value`; from each boundary step on, multiply by its
    scale (`{1000: 0.1, 2000: 0.1}` divides by 10 at steps 1000 and 2000).

    >>> schedule = piecewise_constant_schedule(1.0, {2: 0.5, 4: 0.1})
    >>> [round(float(schedule(step)), 6) for step in (0, 2, 4)]
    [1.0, 0.5, 0.05]
    """
    boundaries = sorted((boundaries_and_scales or {}).items())
    negative = [scale for _, scale in boundaries if not scale >= 0]
    if negative:
        raise ValueError(
            f"funcgrad.optim.piecewise_constant_schedule ({user_location()}): scales must be "
            f">= 0, got {negative[0]!r}. A scale multiplies the value from its boundary on; "
            "use e.g. {1000: 0.1} to divide by 10 at step 1000."
        )

    def schedule(count):
        value = init_value
        for boundary, scale in boundaries:
            value = jnp.where(count >= boundary, value * scale, value)
        return value

    return schedule


def cosine_decay_schedule(
    init_value: float, decay_steps: int, alpha: float = 0.0, exponent: float = 1.0
) -> Schedule:
    """init_value * ((1 - alpha) * c**exponent + alpha), c = (1 + cos(pi * count /
    decay_steps)) / 2, held at init_value * alpha after `decay_steps`.

    >>> round(float(cosine_decay_schedule(1.0, decay_steps=10)(5)), 6)
    0.5
    """
    if not decay_steps > 0:
        raise ValueError(
            f"funcgrad.optim.cosine_decay_schedule ({user_location()}): decay_steps must be "
            f"positive, got {decay_steps!r}. It is the number of steps the decay lasts."
        )

    def schedule(count):
        done = jnp.minimum(count, decay_steps)
        cosine = 0.5 * (1 + jnp.cos(jnp.pi * done / decay_steps))
        return init_value * ((1 - alpha) * cosine**exponent + alpha)

    return schedule


def join_schedules(schedules: Sequence[Schedule], boundaries: Sequence[int]) -> Schedule:
    """`schedules[0]` until `boundaries[0]`, then `schedules[1]` counting steps from that
    boundary, and so on.

    >>> schedule = join_schedules([constant_schedule(1.0), linear_schedule(1.0, 0.0, 4)], [10])
    >>> float(schedule(5)), float(schedule(12))
    (1.0, 0.5)
    """
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(
            f"funcgrad.optim.join_schedules ({user_location()}): {len(schedules)} schedules "
            f"need {len(schedules) - 1} boundaries, got {len(boundaries)}. Boundary i is the "
            "step where schedule i + 1 takes over."
        )

    def schedule(count):
        value = schedules[0](count)
        for boundary, later in zip(boundaries, schedules[1:]):
            value = jnp.where(count < boundary, value, later(count - boundary))
        return value

    return schedule


def warmup_cosine_decay_schedule(
    init_value: float,
    peak_value: float,
    warmup_steps: int,
    decay_steps: int,
    end_value: float = 0.0,
    exponent: float = 1.0,
) -> Schedule:
    """Linear warmup from `init_value` to `peak_value` over `warmup_steps`, then cosine
    decay to `end_value`, reached at step `decay_steps` (which counts the warmup).

    >>> schedule = warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=12)
    >>> [round(float(schedule(step)), 6) for step in (1, 2, 7, 12)]
    [0.5, 1.0, 0.5, 0.0]
    """
    alpha = 0.0 if peak_value == 0.0 else end_value / peak_value
    return join_schedules(
        [
            linear_schedule(init_value, peak_value, warmup_steps),
            cosine_decay_schedule(peak_value, decay_steps - warmup_steps, alpha, exponent),
        ],
        [warmup_steps],
    )
