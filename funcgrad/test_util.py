"""Testing helpers for users and for funcgrad's own tests: `check_grads`, as in
`jax.test_util`, compares forward and reverse mode against central finite differences."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad import api
from funcgrad.tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["check_grads", "check_jvp", "check_vjp"]

_DEFAULT_EPS = {np.dtype(np.float64): 1e-6}
_DEFAULT_TOL = {np.dtype(np.float64): 1e-5, np.dtype(np.float32): 2e-2, np.dtype(np.float16): 1e-1}


def _dtype_of(args) -> np.dtype:
    leaves, _ = tree_flatten(args)
    return max((np.asarray(leaf).dtype for leaf in leaves), key=lambda d: d.itemsize)


def _inner(xs, ys) -> float:
    return float(
        sum(
            np.vdot(np.asarray(x, np.float64), np.asarray(y, np.float64))
            for x, y in zip(tree_flatten(xs)[0], tree_flatten(ys)[0])
        )
    )


def _random_like(rng, tree):
    return tree_map(lambda x: rng.standard_normal(np.shape(x)).astype(np.asarray(x).dtype), tree)


def _scaled_add(tree, direction, scale):
    return tree_map(
        lambda x, d: (np.asarray(x, np.float64) + scale * np.asarray(d, np.float64)).astype(
            np.asarray(x).dtype
        ),
        tree,
        direction,
    )


def _assert_close(name, got, want, atol, rtol):
    got_leaves, want_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(
            np.asarray(g, np.float64),
            np.asarray(w, np.float64),
            atol=atol,
            rtol=rtol,
            err_msg=f"check_grads: {name}",
        )


def check_jvp(f: Callable, args: Sequence, *, atol=None, rtol=None, eps=None, seed=0) -> None:
    """jvp(f) along a random direction equals a central finite difference of f."""
    dtype = _dtype_of(args)
    eps = eps or _DEFAULT_EPS.get(dtype, 1e-3)
    tol = _DEFAULT_TOL.get(dtype, 2e-2)
    rng = np.random.default_rng(seed)
    direction = _random_like(rng, tuple(args))
    _, tangent = api.jvp(f, tuple(args), direction)
    plus = f(*_scaled_add(tuple(args), direction, eps))
    minus = f(*_scaled_add(tuple(args), direction, -eps))
    numeric = tree_map(
        lambda p, m: (np.asarray(p, np.float64) - np.asarray(m, np.float64)) / (2 * eps),
        plus,
        minus,
    )
    _assert_close("jvp vs finite differences", tangent, numeric, atol or tol, rtol or tol)


def check_vjp(f: Callable, args: Sequence, *, atol=None, rtol=None, seed=0) -> None:
    """<u, J v> from jvp equals <J^T u, v> from vjp for random u, v."""
    dtype = _dtype_of(args)
    tol = _DEFAULT_TOL.get(dtype, 2e-2)
    rng = np.random.default_rng(seed + 1)
    direction = _random_like(rng, tuple(args))
    out, tangent = api.jvp(f, tuple(args), direction)
    _, vjp_fun = api.vjp(f, *args)
    cotangent = _random_like(rng, out)
    pulled = vjp_fun(cotangent)
    forward, backward = _inner(cotangent, tangent), _inner(pulled, direction)
    scale = max(1.0, abs(forward))
    np.testing.assert_allclose(
        backward / scale,
        forward / scale,
        atol=atol or tol,
        rtol=rtol or tol,
        err_msg="check_grads: vjp vs jvp",
    )


def check_grads(
    f: Callable, args: Sequence, order: int, modes=("fwd", "rev"), atol=None, rtol=None, eps=None
) -> None:
    """Check derivatives of `f` at `args` up to `order`, in forward and/or reverse mode.

    Each order differentiates the previous order's jvp (forward) or vjp (reverse) along
    fixed random directions, as `jax.test_util.check_grads` does.

    >>> check_grads(jnp.sin, (1.0,), order=2)              # doctest: +SKIP
    """
    args = tuple(args)
    if "fwd" in modes:
        check_jvp(f, args, atol=atol, rtol=rtol, eps=eps)
        if order > 1:
            direction = _random_like(np.random.default_rng(order), args)
            check_grads(
                lambda *x: api.jvp(f, x, direction)[1], args, order - 1, ("fwd",), atol, rtol, eps
            )
    if "rev" in modes:
        check_vjp(f, args, atol=atol, rtol=rtol)
        if order > 1:
            out = f(*args)
            flat, tree = tree_flatten(out)
            cotangent = tree_unflatten(
                tree, [np.ones(np.shape(x), np.asarray(x).dtype) for x in flat]
            )
            check_grads(
                lambda *x: api.vjp(f, *x)[1](cotangent), args, order - 1, ("rev",), atol, rtol, eps
            )
