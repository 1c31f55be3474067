"""The gradient-transformation contract of funcgrad.optim, as optax's.

A `GradientTransformation` is a pair of pure functions: `init(params) -> state` and
`update(updates, state, params=None) -> (updates, new_state)`. States are NamedTuples of
arrays, so they are pytrees: a whole training step, optimizer state included, passes
through `jit` and `vmap` like any other arguments. Transforms compose with `chain`, and
`apply_updates` adds the final updates to the parameters. The transforms themselves live
in transforms.py; the ready-made optimizers in optimizers.py.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import funcgrad.numpy as jnp
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.optim.validation import check_same_structure
from funcgrad.tree_util import tree_map

__all__ = [
    "EmptyState",
    "GradientTransformation",
    "apply_updates",
    "chain",
    "identity",
    "init_empty_state",
    "set_to_zero",
]

Params = Any  # a pytree of arrays
Updates = Any  # a pytree with the structure of Params
OptState = Any  # a NamedTuple of arrays, or a tuple of them (chain)


class GradientTransformation(NamedTuple):
    """An optimizer or a step of one: `init(params) -> state` and
    `update(updates, state, params=None) -> (updates, state)`, both pure.

    >>> opt = GradientTransformation(lambda params: EmptyState(),
    ...                              lambda updates, state, params=None: (updates, state))
    >>> opt.update({"w": 1.0}, opt.init({"w": 0.0}))
    ({'w': 1.0}, EmptyState())
    """

    init: Callable[[Params], OptState]
    update: Callable[..., tuple[Updates, OptState]]


class EmptyState(NamedTuple):
    """The state of a stateless transform: a pytree with no leaves.

    >>> EmptyState()
    EmptyState()
    """


def init_empty_state(params: Params) -> EmptyState:
    """The `init` of a stateless transform.

    >>> init_empty_state({"w": 1.0})
    EmptyState()
    """
    del params
    return EmptyState()


def identity() -> GradientTransformation:
    """Pass updates through unchanged.

    >>> identity().update({"w": 2.0}, EmptyState())
    ({'w': 2.0}, EmptyState())
    """

    def update(updates, state, params=None):
        del params
        return updates, state

    return GradientTransformation(init_empty_state, update)


def set_to_zero() -> GradientTransformation:
    """Replace every update by zeros of its shape and dtype: frozen parameters.

    >>> set_to_zero().update({"w": jnp.ones(2)}, EmptyState())[0]
    {'w': Array([0., 0.], dtype=float32)}
    """

    def update(updates, state, params=None):
        del params
        return tree_map(jnp.zeros_like, updates), state

    return GradientTransformation(init_empty_state, update)


def chain(*transforms: GradientTransformation) -> GradientTransformation:
    """Apply `transforms` one after another; the state is the tuple of their states.

    >>> from funcgrad import optim
    >>> opt = optim.chain(optim.clip(1.0), optim.scale(-0.1))
    >>> opt.update({"w": jnp.float32(5.0)}, opt.init({"w": jnp.float32(0.0)}))[0]
    {'w': Array(-0.1, dtype=float32)}
    """
    for position, transform in enumerate(transforms):
        if not isinstance(transform, GradientTransformation):
            raise TypeError(
                f"funcgrad.optim.chain ({user_location()}): argument {position} is a "
                f"{type(transform).__name__}, not a GradientTransformation. Pass transforms "
                "such as optim.scale_by_adam() (called), not the function itself."
            )

    def init(params):
        return tuple(transform.init(params) for transform in transforms)

    @api_boundary
    def update(updates, state, params=None):
        if not isinstance(state, tuple) or len(state) != len(transforms):
            raise ValueError(
                f"funcgrad.optim.chain ({user_location()}): the state does not belong to this "
                f"chain of {len(transforms)} transforms (got {type(state).__name__} "
                f"{_length_text(state)}). Pass the state that this chain's init returned."
            )
        new_states = []
        for transform, transform_state in zip(transforms, state):
            updates, new_state = transform.update(updates, transform_state, params)
            new_states.append(new_state)
        return updates, tuple(new_states)

    return GradientTransformation(init, update)


def _length_text(state: Any) -> str:
    return f"of length {len(state)}" if isinstance(state, tuple) else ""


@api_boundary
def apply_updates(params: Params, updates: Updates) -> Params:
    """`params + updates`, leaf by leaf, each result in its parameter's dtype.

    Keeping the parameter's dtype matters for mixed precision: a bfloat16 weight stays
    bfloat16 even when its update was computed in float32.

    >>> apply_updates({"w": jnp.float32(1.0)}, {"w": jnp.float32(-0.25)})
    {'w': Array(0.75, dtype=float32)}
    """
    check_same_structure("apply_updates", updates, params, "params")
    return tree_map(lambda p, u: jnp.asarray(p + u).astype(jnp.asarray(p).dtype), params, updates)
