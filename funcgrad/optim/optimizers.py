"""Ready-made optimizers, each a `chain` of transforms from transforms.py, as optax's.

The chains are optax's, in optax's order, so an optax training loop ported to funcgrad
takes the same steps: adam is scale_by_adam then -learning_rate; adamw puts the weight
decay between the two (decoupled from the adaptive scaling); rmsprop scales by the
learning rate *before* its optional momentum. `learning_rate` may be a number, a scalar
array or a schedule (a function of the step count, see schedules.py).

    opt = optim.adam(1e-3)
    state = opt.init(params)
    updates, state = opt.update(grads, state, params)
    params = optim.apply_updates(params, updates)
"""

from __future__ import annotations

from typing import Any, Callable

from funcgrad.optim.base import GradientTransformation, Params, chain, identity
from funcgrad.optim.transforms import (
    ScalarOrSchedule,
    add_decayed_weights,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_stddev,
    trace,
)
from funcgrad.optim.validation import check_learning_rate

__all__ = ["adagrad", "adam", "adamw", "rmsprop", "sgd"]


def sgd(
    learning_rate: ScalarOrSchedule,
    momentum: float | None = None,
    nesterov: bool = False,
    accumulator_dtype: Any = None,
) -> GradientTransformation:
    """Stochastic gradient descent: update = -learning_rate * g; with `momentum`,
    t = g + momentum * t_prev and update = -learning_rate * t
    (-learning_rate * (g + momentum * t) with `nesterov=True`).

    >>> import funcgrad.numpy as jnp
    >>> opt = sgd(0.1, momentum=0.9)
    >>> params = {"w": jnp.float32(1.0)}
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(params))[0]
    {'w': Array(-0.2, dtype=float32)}
    """
    check_learning_rate("sgd", learning_rate)
    momentum_step = (
        identity()
        if momentum is None
        else trace(decay=momentum, nesterov=nesterov, accumulator_dtype=accumulator_dtype)
    )
    return chain(momentum_step, scale_by_learning_rate(learning_rate))


def adam(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam: update = -learning_rate * m_hat / (sqrt(v_hat + eps_root) + eps), with
    m_hat, v_hat the bias-corrected moving averages of g and g**2.

    >>> import funcgrad.numpy as jnp
    >>> opt = adam(0.1)
    >>> params = {"w": jnp.float32(1.0)}
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(params))[0]
    {'w': Array(-0.09999933, dtype=float32)}
    """
    check_learning_rate("adam", learning_rate)
    return chain(
        scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov
        ),
        scale_by_learning_rate(learning_rate),
    )


def adamw(
    learning_rate: ScalarOrSchedule,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
    eps_root: float = 0.0,
    mu_dtype: Any = None,
    weight_decay: float = 1e-4,
    mask: Any | Callable[[Params], Any] | None = None,
    *,
    nesterov: bool = False,
) -> GradientTransformation:
    """Adam with decoupled weight decay: update = -learning_rate * (adam's direction +
    weight_decay * params), the decay applied only where `mask` (a pytree of bools or a
    function of the params) is True. `update` needs `params`.

    >>> import funcgrad.numpy as jnp
    >>> opt = adamw(0.1, weight_decay=0.5)
    >>> params = {"w": jnp.float32(1.0)}
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(params), params)[0]
    {'w': Array(-0.14999934, dtype=float32)}
    """
    check_learning_rate("adamw", learning_rate)
    return chain(
        scale_by_adam(
            b1=b1, b2=b2, eps=eps, eps_root=eps_root, mu_dtype=mu_dtype, nesterov=nesterov
        ),
        add_decayed_weights(weight_decay, mask),
        scale_by_learning_rate(learning_rate),
    )


def rmsprop(
    learning_rate: ScalarOrSchedule,
    decay: float = 0.9,
    eps: float = 1e-8,
    initial_scale: float = 0.0,
    eps_in_sqrt: bool = True,
    centered: bool = False,
    momentum: float | None = None,
    nesterov: bool = False,
) -> GradientTransformation:
    """RMSProp: update = -learning_rate * g / sqrt(nu + eps), nu the moving average of
    g**2 (of the variance nu - mu**2 when `centered`), then optional momentum.

    >>> import funcgrad.numpy as jnp
    >>> opt = rmsprop(0.1, decay=0.0, eps=0.0)
    >>> params = {"w": jnp.float32(1.0)}
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(params))[0]
    {'w': Array(-0.1, dtype=float32)}
    """
    check_learning_rate("rmsprop", learning_rate)
    rescale = scale_by_stddev if centered else scale_by_rms
    return chain(
        rescale(decay=decay, eps=eps, initial_scale=initial_scale, eps_in_sqrt=eps_in_sqrt),
        scale_by_learning_rate(learning_rate),
        identity() if momentum is None else trace(decay=momentum, nesterov=nesterov),
    )


def adagrad(
    learning_rate: ScalarOrSchedule, initial_accumulator_value: float = 0.1, eps: float = 1e-7
) -> GradientTransformation:
    """Adagrad: update = -learning_rate * g / sqrt(s + eps), s the sum of all g**2 so
    far, started at `initial_accumulator_value`.

    >>> import funcgrad.numpy as jnp
    >>> opt = adagrad(0.1, initial_accumulator_value=0.0, eps=0.0)
    >>> params = {"w": jnp.float32(1.0)}
    >>> opt.update({"w": jnp.float32(2.0)}, opt.init(params))[0]
    {'w': Array(-0.1, dtype=float32)}
    """
    check_learning_rate("adagrad", learning_rate)
    return chain(
        scale_by_rss(initial_accumulator_value=initial_accumulator_value, eps=eps),
        scale_by_learning_rate(learning_rate),
    )
