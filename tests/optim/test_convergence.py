"""Every optimizer, trained under jit, finds the minimiser of a quadratic
f(x) = 0.5 x^T A x - b^T x, which is A^{-1} b (computed with NumPy)."""

import numpy as np
import pytest

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import lax, optim

A = np.array([[3.0, 0.5, 0.0], [0.5, 2.0, 0.3], [0.0, 0.3, 1.0]])
B = np.array([1.0, -2.0, 0.5])
MINIMISER = np.linalg.solve(A, B)


def loss(params):
    # The unknown is split over a dict of two leaves so the optimizers work on a pytree.
    x = jnp.concatenate([params["x"], params["y"]])
    return 0.5 * x @ jnp.asarray(A, jnp.float32) @ x - jnp.asarray(B, jnp.float32) @ x


# (id, optimizer, steps, tolerance on max |x - x*|). Adaptive methods take steps of about
# the learning rate whatever the gradient, so they get a decaying schedule to settle.
CASES = [
    ("sgd", lambda: optim.sgd(0.2), 1e-5),
    ("momentum", lambda: optim.sgd(0.05, momentum=0.9), 1e-5),
    ("nesterov", lambda: optim.sgd(0.05, momentum=0.9, nesterov=True), 1e-5),
    ("adam", lambda: optim.adam(optim.exponential_decay(0.1, 100, 0.5)), 1e-5),
    (
        "adamw",
        lambda: optim.adamw(optim.cosine_decay_schedule(0.1, 500), weight_decay=1e-3),
        1e-3,
    ),
    ("rmsprop", lambda: optim.rmsprop(optim.exponential_decay(0.05, 100, 0.5)), 3e-3),
    (
        "rmsprop-centered",
        lambda: optim.rmsprop(optim.exponential_decay(0.05, 100, 0.5), centered=True, momentum=0.5),
        3e-3,
    ),
    ("adagrad", lambda: optim.adagrad(0.5), 1e-5),
]


def initial_params():
    return {"x": jnp.zeros(2), "y": jnp.zeros(1)}


def distance_to_minimiser(params):
    x = np.concatenate([np.asarray(params["x"]), np.asarray(params["y"])])
    return np.max(np.abs(x - MINIMISER))


@pytest.mark.parametrize("make, tolerance", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_converges_in_a_jitted_loop(make, tolerance):
    opt = make()

    @jax.jit
    def train(params, state):
        def step(_, carry):
            params, state = carry
            updates, state = opt.update(jax.grad(loss)(params), state, params)
            return optim.apply_updates(params, updates), state

        return lax.fori_loop(0, 500, step, (params, state))

    params = initial_params()
    params, state = train(params, opt.init(params))
    assert distance_to_minimiser(params) < tolerance
    assert jax.tree_util.tree_structure(state) == jax.tree_util.tree_structure(opt.init(params))


def test_jitted_training_step_round_trips_the_state():
    opt = optim.adam(optim.exponential_decay(0.1, 100, 0.5))

    @jax.jit
    def step(params, state):
        value, grads = jax.value_and_grad(loss)(params)
        updates, state = opt.update(grads, state, params)
        return optim.apply_updates(params, updates), state, value

    params = initial_params()
    state = opt.init(params)
    values = []
    for _ in range(500):
        params, state, value = step(params, state)
        values.append(float(value))
    assert distance_to_minimiser(params) < 1e-5
    assert int(state[0].count) == 500
    assert values[-1] == pytest.approx(-0.5 * B @ MINIMISER, abs=1e-5)
    assert values[-1] < values[0]
