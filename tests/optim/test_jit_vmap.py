"""Optimizer updates under jit (both backends) equal eager updates; states are pytrees that
pass through jit, and vmap over a batch of independent problems equals a Python loop."""

import numpy as np
import pytest

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import optim
from funcgrad.test_util import assert_agrees_with_op_by_op
from funcgrad.tree_util import tree_leaves, tree_map, tree_structure

OPTIMIZERS = {
    "sgd-nesterov": lambda: optim.sgd(0.1, momentum=0.9, nesterov=True),
    "adam-schedule": lambda: optim.adam(optim.warmup_cosine_decay_schedule(0.0, 0.1, 2, 10)),
    "adamw-mask": lambda: optim.adamw(0.01, weight_decay=0.1, mask={"w": True, "b": False}),
    "rmsprop-centered": lambda: optim.rmsprop(0.01, centered=True, momentum=0.9),
    "adagrad": lambda: optim.adagrad(0.1),
    "clipped-sgd": lambda: optim.chain(optim.clip_by_global_norm(1.0), optim.sgd(0.1)),
}


def problem(batch=()):
    rng = np.random.default_rng(3)
    params = {
        "w": jnp.asarray(rng.standard_normal(batch + (3, 2)), jnp.float32),
        "b": jnp.asarray(rng.standard_normal(batch + (2,)), jnp.float32),
    }
    draw = lambda p: jnp.asarray(rng.standard_normal(p.shape), jnp.float32)  # noqa: E731
    # The last gradient is large, so that clip_by_global_norm clips it.
    grads = [tree_map(draw, params), tree_map(draw, params)]
    grads.append(tree_map(lambda g: 30.0 * g, grads[0]))
    return params, grads


def run(step, opt, params, grads):
    state = opt.init(params)
    for grad in grads:
        params, state = step(params, state, grad)
    return params, state


def make_step(opt):
    def step(params, state, grads):
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state

    return step


@pytest.mark.parametrize("name", list(OPTIMIZERS))
@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_jitted_update_equals_eager(name, backend):
    opt = OPTIMIZERS[name]()
    params, grads = problem()
    eager = run(make_step(opt), opt, params, grads)
    jitted = run(jax.jit(make_step(opt), backend=backend), opt, params, grads)
    assert tree_structure(jitted) == tree_structure(eager)
    for got, want in zip(tree_leaves(jitted), tree_leaves(eager)):
        assert got.dtype == want.dtype and got.shape == want.shape
        if backend == "numpy":
            assert_agrees_with_op_by_op(got, want)
        else:
            np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-5, atol=1e-6)


def test_state_types_survive_jit():
    opt = optim.chain(optim.clip(1.0), optim.adam(0.1))
    params, grads = problem()
    _, state = run(jax.jit(make_step(opt)), opt, params, grads)
    clip_state, (adam_state, scale_state) = state
    assert clip_state == optim.EmptyState()
    assert isinstance(adam_state, optim.ScaleByAdamState)
    assert adam_state.count.dtype == np.int32 and int(adam_state.count) == len(grads)
    assert scale_state == optim.EmptyState()


def row(tree, index):
    return tree_map(lambda x: x[index], tree)


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_vmap_over_independent_problems_equals_a_loop(name):
    opt = OPTIMIZERS[name]()
    batch = 3
    params, grads = problem((batch,))
    step = make_step(opt)
    state = jax.vmap(opt.init)(params)
    batched = params
    for grad in grads:
        batched, state = jax.vmap(step)(batched, state, grad)
    for index in range(batch):
        want, _ = run(step, opt, row(params, index), [row(grad, index) for grad in grads])
        for got_leaf, want_leaf in zip(tree_leaves(row(batched, index)), tree_leaves(want)):
            np.testing.assert_allclose(
                np.asarray(got_leaf), np.asarray(want_leaf), rtol=1e-5, atol=1e-6
            )


@pytest.mark.parametrize(
    "schedule, closed_form",
    [
        (optim.exponential_decay(0.1, 5, 0.5), lambda t: 0.1 * 0.5 ** (t / 5)),
        (optim.linear_schedule(1.0, 0.0, 8), lambda t: max(0.0, 1 - t / 8)),
    ],
    ids=["exponential", "linear"],
)
def test_learning_rate_schedule_under_jit_follows_the_count(schedule, closed_form):
    opt = optim.sgd(schedule)
    step = jax.jit(make_step(opt))
    params = {"w": jnp.zeros(())}
    state = opt.init(params)
    for t in range(10):
        new_params, state = step(params, state, {"w": jnp.ones(())})
        np.testing.assert_allclose(
            float(params["w"]) - float(new_params["w"]), closed_form(t), rtol=1e-5, atol=1e-7
        )
        params = new_params
