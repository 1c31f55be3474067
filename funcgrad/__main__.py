"""`python -m funcgrad`: the main job. For now a short tour: trace an MLP loss into a
jaxpr, print it, type-check it, and evaluate it against the eager result; then jit a
training step, show its optimized program with fusion groups, and run a few steps."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import check_jaxpr, eval_jaxpr


def mlp_loss(params, x, y):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"])
    logits = hidden @ params["w2"] + params["b2"]
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - jnp.log(jnp.exp(shifted).sum(axis=1, keepdims=True))
    return -(log_probs * y).sum() / x.shape[0]


def main() -> None:
    rng = np.random.default_rng(0)
    params = {
        "w1": rng.normal(size=(4, 8)).astype(np.float32),
        "b1": np.zeros(8, np.float32),
        "w2": rng.normal(size=(8, 3)).astype(np.float32),
        "b2": np.zeros(3, np.float32),
    }
    x = rng.normal(size=(5, 4)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, size=5)]

    closed = fg.make_jaxpr(mlp_loss)(params, x, y)
    print("make_jaxpr(mlp_loss):")
    print(closed)
    check_jaxpr(closed)
    flat_args = fg.tree_util.tree_leaves((params, x, y))
    (staged,) = eval_jaxpr(closed.jaxpr, closed.consts, *flat_args)
    eager = mlp_loss(params, x, y)
    print(f"\neager loss      {float(eager):.6f}")
    print(f"eval_jaxpr loss {float(staged):.6f}")
    assert np.allclose(np.asarray(eager), np.asarray(staged), rtol=1e-6)

    @fg.jit
    def sgd_step(params, x, y):
        loss, grads = fg.value_and_grad(mlp_loss)(params, x, y)
        return fg.tree.map(lambda p, g: p - 0.5 * g, params, grads), loss

    lowered = sgd_step.lower(params, x, y)
    print("\njit(sgd_step).lower(...).as_text():")
    print(lowered.as_text())
    cost = lowered.compile().cost_analysis()
    print(f"cost: {cost['flops']:.0f} flops, {cost['bytes accessed']:.0f} bytes")
    losses = []
    for _ in range(20):
        params, loss = sgd_step(params, x, y)
        losses.append(float(loss))
    print(f"\n20 jitted SGD steps: loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    assert losses[-1] < losses[0]


if __name__ == "__main__":
    main()
