"""Every bad input to funcgrad.optim raises an error that names the operation, the user's
line (this file) and the fix."""

import math
import os

import numpy as np
import pytest

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import optim

THIS_FILE = os.path.basename(__file__)


def params_tree():
    return {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}


@pytest.mark.parametrize("bad", [-0.1, -1, math.nan, math.inf, np.float32(-0.5)])
@pytest.mark.parametrize("make", [optim.sgd, optim.adam, optim.adamw, optim.rmsprop, optim.adagrad])
def test_negative_or_nan_learning_rate(make, bad):
    with pytest.raises(ValueError, match="learning_rate must be finite and >= 0") as info:
        make(bad)
    assert make.__name__ in str(info.value) and THIS_FILE in str(info.value)


@pytest.mark.parametrize("bad", ["0.1", None, [0.1], True])
def test_learning_rate_that_is_neither_a_number_nor_a_schedule(bad):
    with pytest.raises(TypeError, match="learning_rate must be a number or a schedule") as info:
        optim.adam(bad)
    assert THIS_FILE in str(info.value)


def test_learning_rate_array_must_be_a_scalar():
    with pytest.raises(TypeError, match=r"must be a scalar, got an array of shape \(2,\)"):
        optim.sgd(jnp.asarray([0.1, 0.2]))


def test_learning_rate_may_be_a_scalar_array_or_a_schedule():
    params = {"w": jnp.ones(2)}
    for learning_rate in (jnp.asarray(0.5), lambda count: 0.5, 0, np.float64(0.5)):
        opt = optim.sgd(learning_rate)
        updates, _ = opt.update({"w": jnp.ones(2)}, opt.init(params))
        assert np.all(np.asarray(updates["w"]) <= 0)


def test_updates_with_a_missing_leaf_name_the_key_path():
    opt = optim.adam(0.1)
    state = opt.init(params_tree())
    with pytest.raises(ValueError) as info:
        opt.update({"w": jnp.ones((2, 2))}, state)
    message = str(info.value)
    assert "scale_by_adam" in message and THIS_FILE in message
    assert "state.mu has a leaf at ['b'] that updates lacks" in message
    assert "optimizer.init(params)" in message


def test_updates_with_an_extra_leaf_name_the_key_path():
    opt = optim.sgd(0.1, momentum=0.9)
    state = opt.init(params_tree())
    grads = {**params_tree(), "extra": {"v": jnp.ones(3)}}
    with pytest.raises(ValueError, match=r"updates has a leaf at \['extra'\]\['v'\]"):
        opt.update(grads, state)


def test_params_with_a_different_structure_than_updates():
    opt = optim.adamw(0.1)
    params = params_tree()
    state = opt.init(params)
    with pytest.raises(ValueError, match=r"updates and params .*\['b'\]"):
        opt.update(params, state, {"w": params["w"]})


def test_apply_updates_with_a_different_structure():
    with pytest.raises(ValueError, match=r"apply_updates.*updates has a leaf at \['c'\]"):
        optim.apply_updates(params_tree(), {**params_tree(), "c": jnp.ones(1)})


def test_same_paths_different_node_types():
    opt = optim.trace(0.9)
    state = opt.init([jnp.ones(2), jnp.ones(2)])
    with pytest.raises(ValueError, match="same key paths but inside different node types"):
        opt.update((jnp.ones(2), jnp.ones(2)), state)


@pytest.mark.parametrize("make", [lambda: optim.adamw(0.1), lambda: optim.add_decayed_weights(0.1)])
def test_update_without_params_when_the_transform_needs_them(make):
    opt = make()
    state = opt.init(params_tree())
    with pytest.raises(ValueError, match="update was called with params=None") as info:
        opt.update(params_tree(), state)
    assert "add_decayed_weights" in str(info.value) and THIS_FILE in str(info.value)


def test_update_without_params_under_jit():
    opt = optim.adamw(0.1)
    state = opt.init(params_tree())
    with pytest.raises(ValueError, match="params=None"):
        jax.jit(lambda grads, state: opt.update(grads, state))(params_tree(), state)


def test_chain_of_something_that_is_not_a_transform():
    with pytest.raises(TypeError, match="argument 1 is a function, not a GradientTransformation"):
        optim.chain(optim.scale(1.0), optim.scale_by_adam)


def test_chain_with_the_state_of_another_chain():
    opt = optim.adam(0.1)
    other_state = optim.sgd(0.1, momentum=0.9).init(params_tree())
    with pytest.raises(ValueError, match="state does not belong to this chain") as info:
        opt.update(params_tree(), other_state[0])
    assert THIS_FILE in str(info.value)


def test_mask_with_array_leaves():
    opt = optim.adamw(0.1, mask={"w": jnp.asarray(True), "b": jnp.asarray(False)})
    with pytest.raises(TypeError, match="mask leaves must be Python bools"):
        opt.init(params_tree())


def test_mask_that_does_not_fit_the_params():
    opt = optim.adamw(0.1, mask={"w": True, "kernel": False})
    with pytest.raises(ValueError, match="the mask does not fit the parameter tree"):
        opt.init(params_tree())


def test_scale_by_schedule_needs_a_function():
    with pytest.raises(TypeError, match="step_size_fn must be a function"):
        optim.scale_by_schedule(0.1)


def test_cosine_decay_needs_positive_steps():
    with pytest.raises(ValueError, match="decay_steps must be positive, got 0") as info:
        optim.cosine_decay_schedule(0.1, 0)
    assert THIS_FILE in str(info.value)


def test_warmup_longer_than_the_whole_schedule():
    with pytest.raises(ValueError, match="decay_steps must be positive, got -5"):
        optim.warmup_cosine_decay_schedule(0.0, 0.1, warmup_steps=10, decay_steps=5)


def test_piecewise_constant_with_a_negative_scale():
    with pytest.raises(ValueError, match="scales must be >= 0, got -0.5"):
        optim.piecewise_constant_schedule(0.1, {10: 0.5, 20: -0.5})


def test_join_schedules_with_the_wrong_number_of_boundaries():
    with pytest.raises(ValueError, match="2 schedules need 1 boundaries, got 2"):
        optim.join_schedules([optim.constant_schedule(1.0)] * 2, [3, 5])
