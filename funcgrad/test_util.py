"""Testing helpers for users and for funcgrad's own tests: `check_grads`, as in
`jax.test_util`, compares forward and reverse mode against central finite differences."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np

from funcgrad import api
from funcgrad.tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = ["check_grads", "check_jvp", "check_vjp"]

_DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.complex128): 1e-6}
_DEFAULT_TOL = {
    np.dtype(np.float64): 1e-5,
    np.dtype(np.float32): 2e-2,
    np.dtype(np.float16): 1e-1,
    np.dtype(np.complex128): 1e-5,
    np.dtype(np.complex64): 2e-2,
}


def _dtype_of(args) -> np.dtype:
    leaves, _ = tree_flatten(args)
    return max((np.asarray(leaf).dtype for leaf in leaves), key=lambda d: d.itemsize)


def _wide(x) -> np.ndarray:
    """x in float64, or complex128 for complex x: the precision the checks compute in."""
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _inner(xs, ys) -> float:
    # The real pairing Re(sum u * v), under which vjp is the adjoint of jvp for complex
    # values too (JAX's convention).
    pairs = zip(tree_flatten(xs)[0], tree_flatten(ys)[0])
    return float(sum(np.real(np.sum(_wide(x) * _wide(y))) for x, y in pairs))


def _random_like(rng, tree):
    def draw(x):
        shape, dtype = np.shape(x), np.asarray(x).dtype
        values = rng.standard_normal(shape)
        if np.issubdtype(dtype, np.complexfloating):
            values = values + 1j * rng.standard_normal(shape)
        return values.astype(dtype)

    return tree_map(draw, tree)


def _scaled_add(tree, direction, scale):
    def step(x, d):
        return (_wide(x) + scale * _wide(d)).astype(np.asarray(x).dtype)

    return tree_map(step, tree, direction)


def _assert_close(name, got, want, atol, rtol):
    got_leaves, want_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(
            _wide(g), _wide(w), atol=atol, rtol=rtol, err_msg=f"check_grads: {name}"
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
        lambda p, m: (_wide(p) - _wide(m)) / (2 * eps),
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
