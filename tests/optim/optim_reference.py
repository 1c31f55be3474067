"""The optimizers' update rules written again in plain NumPy (float64), as the oracle for
tests/optim: each function takes a dict of parameters and a list of gradient dicts and
returns the parameters after each step. Written from the published formulas (and
optax's documented conventions: bias correction by 1 - b**t with t counted from 1, eps
inside the square root for rmsprop and adagrad), independently of funcgrad.optim."""

import numpy as np


def _steps(params, grads, step):
    """Run `step(name, param, grad, slot, t) -> new param` for each step t = 1, 2, ...;
    `slot` is a per-parameter dict the rule keeps its running statistics in."""
    params = {name: np.asarray(value, np.float64) for name, value in params.items()}
    slots = {name: {} for name in params}
    trajectory = []
    for t, grad in enumerate(grads, start=1):
        params = {
            name: step(name, value, np.asarray(grad[name], np.float64), slots[name], t)
            for name, value in params.items()
        }
        trajectory.append(params)
    return trajectory


def sgd(params, grads, lr, momentum=None, nesterov=False):
    def step(name, p, g, slot, t):
        if momentum is None:
            return p - lr * g
        velocity = g + momentum * slot.get("v", 0.0)
        slot["v"] = velocity
        direction = g + momentum * velocity if nesterov else velocity
        return p - lr * direction

    return _steps(params, grads, step)


def adam(params, grads, lr, b1=0.9, b2=0.999, eps=1e-8, eps_root=0.0, weight_decay=0.0, decay=()):
    def step(name, p, g, slot, t):
        m = b1 * slot.get("m", 0.0) + (1 - b1) * g
        v = b2 * slot.get("v", 0.0) + (1 - b2) * g * g
        slot["m"], slot["v"] = m, v
        m_hat, v_hat = m / (1 - b1**t), v / (1 - b2**t)
        direction = m_hat / (np.sqrt(v_hat + eps_root) + eps)
        if name in decay:
            direction = direction + weight_decay * p
        return p - lr * direction

    return _steps(params, grads, step)


def rmsprop(params, grads, lr, decay=0.9, eps=1e-8, centered=False, momentum=None, nesterov=False):
    def step(name, p, g, slot, t):
        nu = decay * slot.get("nu", 0.0) + (1 - decay) * g * g
        mu = decay * slot.get("mu", 0.0) + (1 - decay) * g
        slot["nu"], slot["mu"] = nu, mu
        second = nu - mu * mu if centered else nu
        scaled = lr * g / np.sqrt(second + eps)
        if momentum is None:
            return p - scaled
        # The learning rate is applied before the momentum trace (optax's order).
        velocity = scaled + momentum * slot.get("velocity", 0.0)
        slot["velocity"] = velocity
        return p - (scaled + momentum * velocity if nesterov else velocity)

    return _steps(params, grads, step)


def adagrad(params, grads, lr, initial_accumulator_value=0.1, eps=1e-7):
    def step(name, p, g, slot, t):
        total = slot.get("sum", initial_accumulator_value) + g * g
        slot["sum"] = total
        return p - lr * g / np.sqrt(total + eps)

    return _steps(params, grads, step)


def global_norm(tree):
    return np.sqrt(sum(np.sum(np.asarray(leaf, np.float64) ** 2) for leaf in tree.values()))
