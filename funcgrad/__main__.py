"""`python -m funcgrad`: the main job. For now a short tour: trace an MLP loss into a
jaxpr, print it, type-check it, and evaluate it against the eager result."""

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


if __name__ == "__main__":
    main()
