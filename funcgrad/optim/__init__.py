"""funcgrad.optim: gradient transformations and optimizers, with optax's names and formulas.

An optimizer is a pair of pure functions, `init(params) -> state` and
`update(grads, state, params=None) -> (updates, state)`; the state is a pytree of arrays,
so a whole training step can be jitted:

    import funcgrad as jax
    from funcgrad import optim

    opt = optim.adam(1e-3)
    opt_state = opt.init(params)

    @jax.jit
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optim.apply_updates(params, updates), opt_state, loss

Porting optax code means changing `import optax` to `from funcgrad import optim as optax`.
This module only re-exports; base.py holds the contract, transforms.py the building
blocks, optimizers.py the chains, schedules.py the learning-rate schedules.
"""

from funcgrad.optim.base import (
    EmptyState,
    GradientTransformation,
    apply_updates,
    chain,
    identity,
    init_empty_state,
    set_to_zero,
)
from funcgrad.optim.optimizers import adagrad, adam, adamw, rmsprop, sgd
from funcgrad.optim.schedules import (
    constant_schedule,
    cosine_decay_schedule,
    exponential_decay,
    join_schedules,
    linear_schedule,
    piecewise_constant_schedule,
    polynomial_schedule,
    warmup_cosine_decay_schedule,
)
from funcgrad.optim.transforms import (
    MaskedNode,
    MaskedState,
    ScaleByAdamState,
    ScaleByRmsState,
    ScaleByRssState,
    ScaleByRStdDevState,
    ScaleByScheduleState,
    TraceState,
    add_decayed_weights,
    clip,
    clip_by_global_norm,
    global_norm,
    masked,
    scale,
    scale_by_adam,
    scale_by_learning_rate,
    scale_by_rms,
    scale_by_rss,
    scale_by_schedule,
    scale_by_stddev,
    trace,
)

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "MaskedNode",
    "MaskedState",
    "ScaleByAdamState",
    "ScaleByRStdDevState",
    "ScaleByRmsState",
    "ScaleByRssState",
    "ScaleByScheduleState",
    "TraceState",
    "adagrad",
    "adam",
    "adamw",
    "add_decayed_weights",
    "apply_updates",
    "chain",
    "clip",
    "clip_by_global_norm",
    "constant_schedule",
    "cosine_decay_schedule",
    "exponential_decay",
    "global_norm",
    "identity",
    "init_empty_state",
    "join_schedules",
    "linear_schedule",
    "masked",
    "piecewise_constant_schedule",
    "polynomial_schedule",
    "rmsprop",
    "scale",
    "scale_by_adam",
    "scale_by_learning_rate",
    "scale_by_rms",
    "scale_by_rss",
    "scale_by_schedule",
    "scale_by_stddev",
    "set_to_zero",
    "sgd",
    "trace",
    "warmup_cosine_decay_schedule",
]
