"""Disagreements the differential fuzzer (test_properties.py) found, each shrunk to the
smallest program that showed it and kept here as a named test with what was wrong. Each
oracle is independent of funcgrad: NumPy, or finite differences of the eager function.
"""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax


def _take_sorted(x):
    return jnp.take_along_axis(x, jnp.argsort(x, axis=0), axis=0)


EMPTY_SHAPES = [(1, 0), (0, 1), (2, 0, 3)]
SORT_LIKE = {
    "sort": lambda x: jnp.sort(x, axis=0),
    "cummax": lambda x: lax.cummax(x, axis=0),
    "take_sorted": _take_sorted,
}


@pytest.mark.parametrize("shape", EMPTY_SHAPES, ids=str)
@pytest.mark.parametrize("name", sorted(SORT_LIKE))
def test_sort_and_cummax_derivatives_of_arrays_with_an_empty_axis(name, shape):
    # Was: jvp/grad of sort and cummax along axis 0 of a (1, 0) array built a gather that
    # sliced 1 element from the empty axis 1, and the gather's shape rule refused it
    # ("slice size 1 of axis 1 must lie in [0, 0]"). The tangent of an empty array is empty.
    fun = SORT_LIKE[name]
    x = np.zeros(shape, np.float32)
    primal, tangent = fg.jvp(fun, (x,), (x,))
    assert primal.shape == tangent.shape == shape
    assert fg.grad(lambda v: fun(v).sum())(x).shape == shape


@pytest.mark.parametrize("shape", [(0, 1), (0, 3, 2)], ids=str)
def test_vmap_of_a_gather_over_an_empty_batch(shape):
    # Was: vmap over a size-0 axis of a gather whose operand and indices are both batched
    # asked for a slice of 1 along the new (empty) batching axis, which the gather's shape
    # rule refused; such an axis takes a slice of 0.
    x = np.zeros(shape, np.float32)
    assert fg.vmap(_take_sorted)(x).shape == shape
    assert fg.jit(fg.vmap(_take_sorted), backend="llvm")(x).shape == shape
    assert fg.vmap(fg.grad(lambda v: _take_sorted(v).sum()))(x).shape == shape


def test_vmap_of_a_gather_over_a_non_empty_batch_still_matches_a_loop():
    # The fix above changes only the empty case; a loop over examples is the oracle.
    x = np.random.default_rng(0).standard_normal((3, 4, 2)).astype(np.float32)
    want = np.stack([np.take_along_axis(e, np.argsort(e, axis=0), axis=0) for e in x])
    np.testing.assert_array_equal(fg.vmap(_take_sorted)(x), want)


def _copy_and_total(v):
    return jnp.sum(v, axis=()), jnp.sum(v)


@pytest.mark.parametrize("shape", [(2,), (1, 2), (3, 4)], ids=str)
def test_llvm_group_holding_a_copy_reduction_and_a_full_reduction(monkeypatch, shape):
    # Was: with every group native, a fusion group holding reduce_sum over no axes (a copy)
    # and reduce_sum over all axes gave the copy an accumulator too, which was stored after
    # the loop over the first element: sum(v, axis=()) came back as [0, 4] for [3, 4].
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    x = np.arange(3.0, 3.0 + np.prod(shape), dtype=np.float32).reshape(shape)
    copy, total = fg.jit(_copy_and_total, backend="llvm")(x)
    np.testing.assert_array_equal(copy, x)
    assert float(total) == float(x.sum())


SCALAR_BROADCASTING = {
    "add": lambda y: lax.add(jnp.ones(3), y),
    "sub": lambda y: lax.sub(jnp.arange(3.0), y),
    "mul": lambda y: lax.mul(jnp.arange(3.0), y),
    "add_scalar_first": lambda y: lax.add(y, jnp.arange(3.0)),
    "logaddexp": lambda y: jnp.logaddexp(jnp.ones(1), y),
}


@pytest.mark.parametrize("name", sorted(SCALAR_BROADCASTING))
def test_jvp_of_an_elementwise_op_broadcasting_a_traced_scalar(name):
    # Was: lax elementwise ops broadcast a rank-0 operand, but when only that operand had
    # a tangent, jvp returned it unbroadcast (shape () for an output of shape (3,)), and a
    # later select (jnp.logaddexp's) failed on the mismatched shapes.
    fun = SCALAR_BROADCASTING[name]
    y, eps = 0.7, 1e-3
    out, tangent = fg.jvp(fun, (y,), (1.0,))
    numeric = (np.asarray(fun(y + eps), np.float64) - np.asarray(fun(y - eps))) / (2 * eps)
    assert np.shape(tangent) == np.shape(out)
    np.testing.assert_allclose(tangent, numeric, rtol=1e-3, atol=1e-3)
    gradient = fg.grad(lambda v: fun(v).sum())(y)
    np.testing.assert_allclose(gradient, numeric.sum(), rtol=1e-3, atol=1e-3)
