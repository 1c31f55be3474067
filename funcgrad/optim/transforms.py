"""The building blocks of optimizers: gradient transformations with optax's formulas.

Each function here returns a `GradientTransformation` whose update is one small step of
an optimizer: rescale (`scale`, `scale_by_learning_rate`, `scale_by_schedule`), adapt to
gradient statistics (`scale_by_adam`, `scale_by_rms`, `scale_by_stddev`, `scale_by_rss`),
accumulate momentum (`trace`), clip (`clip`, `clip_by_global_norm`), decay weights
(`add_decayed_weights`), or restrict another transform to some parameters (`masked`).
optimizers.py chains them into adam, sgd, rmsprop and friends.

Conventions that follow optax exactly, so results match it step for step: step counts
are int32 scalars that stop at the int32 maximum instead of wrapping; a schedule sees
the count *before* the current step (0 on the first update); moments keep the dtype
they were initialised with, so bfloat16 parameters get bfloat16 state and updates.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import numpy as np

import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.optim.base import (
    GradientTransformation,
    Params,
    Updates,
    init_empty_state,
)
from funcgrad.optim.validation import (
    check_learning_rate,
    check_params_given,
    check_same_structure,
)
from funcgrad.runtime.array import Array
from funcgrad.tree_util import tree_leaves, tree_map

__all__ = [
    "MaskedNode",
    "MaskedState",
    "ScaleByAdamState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "add_decayed_weights",
    "clip",
    "clip_by_global_norm",
    "global_norm",
    "masked",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "trace",
]

Schedule = Callable[[Any], Any]
ScalarOrSchedule = float | Array | Schedule

_INT32_MAX = int(np.iinfo(np.int32).max)


class ScaleByAdamState(NamedTuple):
    """Adam's state: the step count and the first and second moment estimates.

    >>> scale_by_adam().init({"w": jnp.zeros(2)}).count
    Array(0, dtype=int32)
    """

    count: Any  # int32 scalar
    mu: Updates
    nu: Updates


class ScaleByRmsState(NamedTuple):
    """RMSProp's state: the moving average of squared gradients.

    >>> scale_by_rms(initial_scale=1.0).init({"w": jnp.zeros(2)}).nu
    {'w': Array([1., 1.], dtype=float32)}
    """

    nu: Updates


class ScaleByRStdDevState(NamedTuple):
    """Centered RMSProp's state: moving averages of gradients and of their squares.

    >>> scale_by_stddev().init({"w": jnp.zeros(2)}).mu
    {'w': Array([0., 0.], dtype=float32)}
    """

    mu: Updates
    nu: Updates


class ScaleByRssState(NamedTuple):
    """Adagrad's state: the running sum of squared gradients.

    >>> scale_by_rss(0.1).init({"w": jnp.zeros(2)}).sum_of_squares
    {'w': Array([0.1, 0.1], dtype=float32)}
    """

    sum_of_squares: Updates


class ScaleByScheduleState(NamedTuple):
    """The step count a schedule is evaluated at.

    >>> scale_by_schedule(lambda count: 0.1).init(None)
    ScaleByScheduleState(count=Array(0, dtype=int32))
    """

    count: Any  # int32 scalar


class TraceState(NamedTuple):
    """Momentum's state: the decayed sum of past updates.

    >>> trace(0.9).init({"w": jnp.zeros(2)}).trace
    {'w': Array([0., 0.], dtype=float32)}
    """

    trace: Params


class MaskedState(NamedTuple):
    """`masked`'s state: the inner transform's state, over the selected leaves only.

    >>> masked(trace(0.9), {"w": True, "b": False}).init({"w": jnp.zeros(1), "b": jnp.zeros(1)})
    MaskedState(inner_state=TraceState(trace={'b': MaskedNode(), 'w': Array([0.], dtype=float32)}))
    """

    inner_state: Any


class MaskedNode(NamedTuple):
    """Stands in for a leaf `masked` hides from its inner transform (a pytree without
    leaves, so tree_map passes over it).

    >>> tree_leaves({"w": MaskedNode()})
    []
    """


def _zero_count():
    return jnp.zeros([], jnp.int32)


def _increment(count):
    # Saturates rather than wrapping: a wrapped count would flip the sign of the bias
    # correction after 2**31 steps.
    return jnp.where(count < _INT32_MAX, count + 1, _INT32_MAX)


def _abs_sq(x):
    if jnp.iscomplexobj(x):
        return jnp.real(jnp.conj(x) * x)
    return x * x


def _ema(updates, moments, decay, square: bool):
    """(1 - decay) * g + decay * m for each leaf, g squared (|g|**2) when `square`."""
    if square:
        return tree_map(lambda g, m: (1 - decay) * _abs_sq(g) + decay * m, updates, moments)
    return tree_map(lambda g, m: (1 - decay) * g + decay * m, updates, moments)


def _bias_corrected(moments, decay, count):
    correction = 1 - decay**count
    return tree_map(lambda m: m / correction.astype(m.dtype), moments)


def _cast_like(tree, like):
    return tree_map(lambda x, y: x.astype(y.dtype), tree, like)


def _zeros_like(params, dtype=None):
    return tree_map(lambda p: jnp.zeros_like(p, dtype=dtype), params)


def scale(step_size: Any) -> GradientTransformation:
    """Multiply every update by a fixed `step_size`.

    >>> opt = scale(0.5)
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(None))[0]
    {'w': Array(1., dtype=float32)}
    """

    def update(updates, state, params=None):
        del params
        return tree_map(lambda g: step_size * g, updates), state

    return GradientTransformation(init_empty_state, update)


def scale_by_schedule(step_size_fn: Schedule) -> GradientTransformation:
    """Multiply updates by `step_size_fn(count)`, count = number of earlier updates.

    >>> opt = scale_by_schedule(lambda count: 1.0 / (count + 1))
    >>> state = opt.init({"w": jnp.float32(0.0)})
    >>> opt.update({"w": jnp.float32(3.0)}, state)[0]
    {'w': Array(3., dtype=float32)}
    """
    if not callable(step_size_fn):
        raise TypeError(
            f"funcgrad.optim.scale_by_schedule ({user_location()}): step_size_fn must be a "
            f"function of the step count, got {type(step_size_fn).__name__}. For a fixed "
            "factor use optim.scale."
        )

    def init(params):
        del params
        return ScaleByScheduleState(count=_zero_count())

    def update(updates, state, params=None):
        del params
        step_size = step_size_fn(state.count)
        updates = tree_map(lambda g: jnp.array(step_size, dtype=g.dtype) * g, updates)
        return updates, ScaleByScheduleState(count=_increment(state.count))

    return GradientTransformation(init, update)


def scale_by_learning_rate(
    learning_rate: ScalarOrSchedule, *, flip_sign: bool = True
) -> GradientTransformation:
    """Multiply updates by `-learning_rate` (by `learning_rate` when `flip_sign=False`);
    a schedule is evaluated at the step count.

    >>> opt = scale_by_learning_rate(0.1)
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(None))[0]
    {'w': Array(-0.2, dtype=float32)}
    """
    check_learning_rate("scale_by_learning_rate", learning_rate)
    sign = -1 if flip_sign else 1
    if callable(learning_rate):
        return scale_by_schedule(lambda count: sign * learning_rate(count))
    return scale(sign * learning_rate)


def scale_by_adam(
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam's rescaling: m_hat / (sqrt(v_hat + eps_root) + eps), with bias-corrected
    moving averages m of the gradients and v of their squares.

    >>> opt = scale_by_adam()
    >>> updates, state = opt.update({"w": jnp.float32(4.0)}, opt.init({"w": jnp.float32(0.0)}))
    >>> updates, state.count
    ({'w': Array(0.9999933, dtype=float32)}, Array(1, dtype=int32))
    """

    def init(params):
        return ScaleByAdamState(
            count=_zero_count(), mu=_zeros_like(params, mu_dtype), nu=_zeros_like(params)
        )

    @api_boundary
    def update(updates, state, params=None):
        del params
        check_same_structure("scale_by_adam", updates, state.mu, "state.mu")
        mu = _ema(updates, state.mu, b1, square=False)
        nu = _ema(updates, state.nu, b2, square=True)
        count = _increment(state.count)
        if nesterov:
            # Dozat's variant: look one step ahead with the next step's bias correction.
            mu_ahead = _bias_corrected(mu, b1, _increment(count))
            grad_now = _bias_corrected(updates, b1, count)
            mu_hat = tree_map(lambda m, g: b1 * m + (1 - b1) * g, mu_ahead, grad_now)
        else:
            mu_hat = _bias_corrected(mu, b1, count)
        nu_hat = _bias_corrected(nu, b2, count)
        updates = tree_map(lambda m, v: m / (jnp.sqrt(v + eps_root) + eps), mu_hat, nu_hat)
        new_state = ScaleByAdamState(
            count=count, mu=_cast_like(mu, state.mu), nu=_cast_like(nu, state.nu)
        )
        return updates, new_state

    return GradientTransformation(init, update)


def scale_by_rms(
    decay: float = 0.9, eps: float = 1e-8, initial_scale: float = 0.0, eps_in_sqrt: bool = True
) -> GradientTransformation:
    """RMSProp's rescaling: g / sqrt(nu + eps) (g / (sqrt(nu) + eps) when
    `eps_in_sqrt=False`), nu the moving average of squared gradients.

    >>> opt = scale_by_rms(decay=0.0, eps=0.0)
    >>> opt.update({"w": jnp.float32(-3.0)}, opt.init({"w": jnp.float32(0.0)}))[0]
    {'w': Array(-1., dtype=float32)}
    """

    def init(params):
        return ScaleByRmsState(nu=tree_map(lambda p: jnp.full_like(p, initial_scale), params))

    @api_boundary
    def update(updates, state, params=None):
        del params
        check_same_structure("scale_by_rms", updates, state.nu, "state.nu")
        nu = _ema(updates, state.nu, decay, square=True)
        updates = tree_map(lambda g, n: _rescale(g, n, eps, eps_in_sqrt), updates, nu)
        return updates, ScaleByRmsState(nu=_cast_like(nu, state.nu))

    return GradientTransformation(init, update)


def _rescale(g, second_moment, eps, eps_in_sqrt: bool):
    if eps_in_sqrt:
        return g * lax.rsqrt(second_moment + eps)
    return g * (1 / (jnp.sqrt(second_moment) + eps))


def scale_by_stddev(
    decay: float = 0.9, eps: float = 1e-8, initial_scale: float = 0.0, eps_in_sqrt: bool = True
) -> GradientTransformation:
    """Centered RMSProp's rescaling: g / sqrt(nu - mu**2 + eps), with moving averages mu
    of the gradients and nu of their squares (so nu - mu**2 estimates their variance).

    >>> opt = scale_by_stddev(decay=0.5, eps=0.0)
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init({"w": jnp.float32(0.0)}))[0]
    {'w': Array(2., dtype=float32)}
    """

    def init(params):
        return ScaleByRStdDevState(
            mu=_zeros_like(params), nu=tree_map(lambda p: jnp.full_like(p, initial_scale), params)
        )

    @api_boundary
    def update(updates, state, params=None):
        del params
        check_same_structure("scale_by_stddev", updates, state.mu, "state.mu")
        mu = _ema(updates, state.mu, decay, square=False)
        nu = _ema(updates, state.nu, decay, square=True)
        updates = tree_map(
            lambda g, m, n: _rescale(g, n - _abs_sq(m), eps, eps_in_sqrt), updates, mu, nu
        )
        return updates, ScaleByRStdDevState(
            mu=_cast_like(mu, state.mu), nu=_cast_like(nu, state.nu)
        )

    return GradientTransformation(init, update)


def scale_by_rss(
    initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """Adagrad's rescaling: g / sqrt(s + eps), s the running sum of squared gradients
    (started at `initial_accumulator_value`); 0 where s is still 0.

    >>> opt = scale_by_rss(initial_accumulator_value=0.0, eps=0.0)
    >>> opt.update({"w": jnp.float32(-2.0)}, opt.init({"w": jnp.float32(0.0)}))[0]
    {'w': Array(-1., dtype=float32)}
    """

    def init(params):
        return ScaleByRssState(
            sum_of_squares=tree_map(lambda p: jnp.full_like(p, initial_accumulator_value), params)
        )

    @api_boundary
    def update(updates, state, params=None):
        del params
        check_same_structure("scale_by_rss", updates, state.sum_of_squares, "state.sum_of_squares")
        sums = tree_map(lambda g, s: _abs_sq(g) + s, updates, state.sum_of_squares)
        # A parameter that has only seen zero gradients (with a zero start) gets no step,
        # rather than 0 / sqrt(eps) or 0 / 0.
        inverse_roots = tree_map(lambda s: jnp.where(s > 0, lax.rsqrt(s + eps), 0.0), sums)
        updates = tree_map(lambda r, g: r * g, inverse_roots, updates)
        return updates, ScaleByRssState(sum_of_squares=_cast_like(sums, state.sum_of_squares))

    return GradientTransformation(init, update)


def trace(
    decay: float, nesterov: bool = False, accumulator_dtype: Any = None
) -> GradientTransformation:
    """Momentum: t = g + decay * t_prev, and the update is t (g + decay * t with
    `nesterov=True`).

    >>> opt = trace(decay=0.5)
    >>> state = opt.init({"w": jnp.float32(0.0)})
    >>> _, state = opt.update({"w": jnp.float32(1.0)}, state)
    >>> opt.update({"w": jnp.float32(1.0)}, state)[0]
    {'w': Array(1.5, dtype=float32)}
    """

    def init(params):
        return TraceState(trace=_zeros_like(params, accumulator_dtype))

    @api_boundary
    def update(updates, state, params=None):
        del params
        check_same_structure("trace", updates, state.trace, "state.trace")
        new_trace = tree_map(lambda g, t: g + decay * t, updates, state.trace)
        if nesterov:
            updates = tree_map(lambda g, t: g + decay * t, updates, new_trace)
        else:
            updates = new_trace
        return updates, TraceState(trace=_cast_like(new_trace, state.trace))

    return GradientTransformation(init, update)


def add_decayed_weights(
    weight_decay: float = 0.0, mask: Any | Callable[[Params], Any] | None = None
) -> GradientTransformation:
    """Add `weight_decay * params` to the updates (decoupled weight decay, as in adamw).

    `mask` selects the parameters to decay: a pytree of bools with the params' structure
    (or a prefix of it), or a function from params to such a pytree.

    >>> opt = add_decayed_weights(0.1, mask={"w": True, "b": False})
    >>> params = {"w": jnp.float32(2.0), "b": jnp.float32(2.0)}
    >>> opt.update({"w": jnp.float32(0.0), "b": jnp.float32(0.0)}, opt.init(params), params)[0]
    {'b': Array(0., dtype=float32), 'w': Array(0.2, dtype=float32)}
    """

    @api_boundary
    def update(updates, state, params=None):
        check_params_given("add_decayed_weights", params)
        check_same_structure("add_decayed_weights", updates, params, "params")
        if isinstance(weight_decay, (int, float)) and weight_decay == 0:
            return updates, state
        return tree_map(lambda g, p: g + weight_decay * p, updates, params), state

    decay = GradientTransformation(init_empty_state, update)
    return decay if mask is None else masked(decay, mask)


def masked(
    inner: GradientTransformation, mask: Any | Callable[[Params], Any]
) -> GradientTransformation:
    """Apply `inner` to the parameters `mask` selects; the others' updates pass through.

    `mask` is a pytree of bools with the params' structure (or a prefix of it: one bool
    for a whole subtree), or a function from params (at init) and updates (at update) to
    one. The inner transform sees `MaskedNode()` in place of the leaves left out, so its
    state holds nothing for them.

    >>> opt = masked(scale(-1.0), {"w": True, "b": False})
    >>> grads = {"w": jnp.float32(1.0), "b": jnp.float32(1.0)}
    >>> opt.update(grads, opt.init(grads))[0]
    {'b': Array(1., dtype=float32), 'w': Array(-1., dtype=float32)}
    """

    def mask_for(tree):
        mask_tree = mask(tree) if callable(mask) else mask
        for leaf in tree_leaves(mask_tree):
            if not isinstance(leaf, (bool, np.bool_)):
                raise TypeError(
                    f"funcgrad.optim.masked ({user_location()}): mask leaves must be Python "
                    f"bools, got a {type(leaf).__name__}. Build the mask with True/False "
                    "(e.g. tree_map(lambda p: p.ndim > 1, params)), not with arrays."
                )
        return mask_tree

    def hide(tree, mask_tree):
        try:
            return tree_map(lambda keep, x: x if keep else MaskedNode(), mask_tree, tree)
        except ValueError as error:
            raise ValueError(
                f"funcgrad.optim.masked ({user_location()}): the mask does not fit the "
                f"parameter tree: {error}\nThe mask must have the params' structure, or be "
                "a prefix of it."
            ) from None

    def init(params):
        return MaskedState(inner_state=inner.init(hide(params, mask_for(params))))

    @api_boundary
    def update(updates, state, params=None):
        mask_tree = mask_for(updates)
        hidden_params = None if params is None else hide(params, mask_tree)
        inner_updates, inner_state = inner.update(
            hide(updates, mask_tree), state.inner_state, hidden_params
        )
        updates = tree_map(
            lambda keep, new, old: new if keep else old, mask_tree, inner_updates, updates
        )
        return updates, MaskedState(inner_state=inner_state)

    return GradientTransformation(init, update)


def clip(max_delta: float) -> GradientTransformation:
    """Clip every update elementwise to [-max_delta, max_delta].

    >>> opt = clip(1.0)
    >>> opt.update({"w": jnp.array([-3.0, 0.5])}, opt.init(None))[0]
    {'w': Array([-1. ,  0.5], dtype=float32)}
    """

    def update(updates, state, params=None):
        del params
        return tree_map(lambda g: jnp.clip(g, -max_delta, max_delta), updates), state

    return GradientTransformation(init_empty_state, update)


def global_norm(updates: Updates) -> Any:
    """The L2 norm of all leaves of `updates` taken together.

    >>> global_norm({"a": jnp.array([3.0]), "b": jnp.float32(4.0)})
    Array(5., dtype=float32)
    """
    return jnp.sqrt(sum(jnp.sum(_abs_sq(leaf)) for leaf in tree_leaves(updates)))


def clip_by_global_norm(max_norm: float) -> GradientTransformation:
    """Scale all updates by max_norm / global_norm(updates) when that norm exceeds
    `max_norm`; leave them unchanged otherwise.

    >>> grads = {"a": jnp.array([3.0]), "b": jnp.float32(4.0)}
    >>> opt = clip_by_global_norm(1.0)
    >>> opt.update(grads, opt.init(grads))[0]
    {'a': Array([0.6], dtype=float32), 'b': Array(0.8, dtype=float32)}
    """

    def update(updates, state, params=None):
        del params
        norm = global_norm(updates)
        within = norm < max_norm
        updates = tree_map(
            lambda g: jnp.where(within, g, (g / norm.astype(g.dtype)) * max_norm), updates
        )
        return updates, state

    return GradientTransformation(init_empty_state, update)
