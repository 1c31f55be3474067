"""Collectives over a named vmap axis (psum, pmean, pmax, pmin, all_gather, axis_index)
against NumPy over the whole batch, nested vmaps with two names, differentiation, and the
unbound-name error."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr

rng = np.random.default_rng(11)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def close(got, want, tol=1e-5):
    np.testing.assert_allclose(np.asarray(got), want, rtol=tol, atol=tol)


def test_psum_normalizes_over_the_batch():
    x = f32(5)
    got = fg.vmap(lambda v: v / lax.psum(v, "i"), axis_name="i")(x)
    close(got, x / x.sum())


@pytest.mark.parametrize("in_axis", [0, 1])
@pytest.mark.parametrize(
    "collective, reference",
    [
        (lax.psum, lambda x: x.sum(0)),
        (lax.pmean, lambda x: x.mean(0)),
        (lax.pmax, lambda x: x.max(0)),
        (lax.pmin, lambda x: x.min(0)),
    ],
    ids=["psum", "pmean", "pmax", "pmin"],
)
def test_reductions_match_numpy(collective, reference, in_axis):
    x = f32(4, 3)
    mapped = np.moveaxis(x, 0, in_axis)
    got = fg.vmap(lambda v: collective(v, "i"), in_axes=in_axis, axis_name="i")(mapped)
    close(got, np.broadcast_to(reference(x), x.shape))


def test_collectives_of_a_shared_value():
    # An operand the same for every example still combines over the whole axis.
    x, w = f32(4), np.float32(2.5)
    out = fg.vmap(
        lambda v: (lax.psum(w, "i"), lax.pmean(w, "i"), lax.pmax(w, "i"), lax.all_gather(w, "i")),
        axis_name="i",
    )(x)
    close(out[0], np.full(4, 4 * w))
    close(out[1], np.full(4, w))
    close(out[2], np.full(4, w))
    close(out[3], np.full((4, 4), w))


def test_pytrees_and_integer_mean():
    tree = {"a": f32(3, 2), "b": np.arange(3, dtype=np.int32)}
    out = fg.vmap(lambda t: lax.psum(t, "i"), axis_name="i")(tree)
    close(out["a"], np.broadcast_to(tree["a"].sum(0), (3, 2)))
    np.testing.assert_array_equal(np.asarray(out["b"]), [3, 3, 3])
    mean = fg.vmap(lambda t: lax.pmean(t, "i"), axis_name="i")(tree["b"])
    assert mean.dtype == np.float32
    close(mean, [1.0, 1.0, 1.0])


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_all_gather_matches_numpy(axis):
    x = f32(4, 3)
    got = fg.vmap(lambda v: lax.all_gather(v, "i", axis=axis), axis_name="i")(x)
    close(
        got, np.broadcast_to(np.moveaxis(x, 0, axis % 2), (4, *np.moveaxis(x, 0, axis % 2).shape))
    )


def test_all_gather_tiled():
    x = f32(4, 2, 3)
    got = fg.vmap(lambda v: lax.all_gather(v, "i", tiled=True), axis_name="i")(x)
    close(got, np.broadcast_to(x.reshape(8, 3), (4, 8, 3)))


def test_axis_index():
    x = f32(5, 2)
    got = fg.vmap(lambda v: v * lax.axis_index("i"), axis_name="i")(x)
    close(got, x * np.arange(5)[:, None])
    assert fg.vmap(lambda v: lax.axis_index("i"), axis_name="i")(x).dtype == np.int32


def test_nested_vmaps_with_two_names():
    x = f32(2, 3, 4)  # outer 'i' over axis 0, inner 'j' over axis 1

    def per_example(v):
        return lax.psum(v, "i"), lax.psum(v, "j"), lax.psum(v, ("i", "j")), lax.pmax(v, "i")

    inner = fg.vmap(per_example, axis_name="j")
    outs = fg.vmap(inner, axis_name="i")(x)
    full = x.shape
    close(outs[0], np.broadcast_to(x.sum(0), full))
    close(outs[1], np.broadcast_to(x.sum(1, keepdims=True), full))
    close(outs[2], np.broadcast_to(x.sum((0, 1)), full))
    close(outs[3], np.broadcast_to(x.max(0), full))
    index = fg.vmap(fg.vmap(lambda v: lax.axis_index("i"), axis_name="j"), axis_name="i")(x)
    np.testing.assert_array_equal(np.asarray(index), np.broadcast_to(np.arange(2)[:, None], (2, 3)))
    gathered = fg.vmap(fg.vmap(lambda v: lax.all_gather(v, "i"), axis_name="j"), axis_name="i")(x)
    # gathered[i, j] is x[:, j] for every i.
    close(gathered, np.broadcast_to(np.swapaxes(x, 0, 1)[None], (2, 3, 2, 4)))


def test_inner_vmap_in_axis_other_than_zero():
    x = f32(3, 4)
    got = fg.vmap(
        fg.vmap(lambda v: lax.all_gather(v, "i"), in_axes=0, axis_name="j"),
        in_axes=1,
        axis_name="i",
    )(x)
    # got[i, j] = [x[j, i'] for i'] = x[j, :]
    close(got, np.broadcast_to(x[None], (4, 3, 4)))


@pytest.mark.parametrize(
    "call",
    [
        lambda v: lax.psum(v, "k"),
        lambda v: lax.pmean(v, "k"),
        lambda v: lax.pmax(v, "k"),
        lambda v: lax.pmin(v, "k"),
        lambda v: lax.all_gather(v, "k"),
        lambda v: lax.axis_index("k"),
        lambda v: lax.psum(v, ("i", "k")),
    ],
    ids=["psum", "pmean", "pmax", "pmin", "all_gather", "axis_index", "tuple"],
)
def test_unbound_axis_name_is_a_name_error(call):
    x = f32(3)
    with pytest.raises(NameError, match=r"unbound axis name: 'k'.*test_collectives\.py"):
        fg.vmap(call, axis_name="i")(x)
    with pytest.raises(NameError, match="unbound axis name: '[ik]'"):  # the first unbound
        call(x)


def test_staged_collective_outside_its_vmap_is_a_name_error():
    # A collective traced inside the vmap but evaluated outside it (the impl is reached).
    from funcgrad.lax.collectives import psum_p

    with pytest.raises(NameError, match="unbound axis name: 'i'"):
        psum_p.bind(np.ones(2, np.float32), axis_name=("i",))


def test_data_parallel_gradient_averaging():
    w, xs, ys = f32(3), f32(8, 3), f32(8)

    def loss(w, x, y):
        return (jnp.dot(w, x) - y) ** 2

    averaged = fg.vmap(
        lambda x, y: lax.pmean(fg.grad(loss)(w, x, y), "batch"), in_axes=(0, 0), axis_name="batch"
    )(xs, ys)
    full = fg.grad(lambda w: jnp.mean(fg.vmap(loss, in_axes=(None, 0, 0))(w, xs, ys)))(w)
    reference = np.mean([2 * (w @ x - y) * x for x, y in zip(xs, ys)], axis=0)
    close(full, reference, 1e-4)
    close(averaged, np.broadcast_to(reference, (8, 3)), 1e-4)


def test_grad_through_collectives():
    # d/dx_k of sum_j f(x)_j under vmap: psum and pmean are their own transposes, and
    # all_gather's transpose sums each example's slot.
    x = f32(4)

    def total(collective):
        return lambda x: fg.vmap(lambda v: collective(v * v), axis_name="i")(x).sum()

    close(fg.grad(total(lambda v: lax.psum(v, "i")))(x), 4 * 2 * x)
    close(fg.grad(total(lambda v: lax.pmean(v, "i")))(x), 2 * x)
    close(fg.grad(total(lambda v: lax.all_gather(v, "i")))(x), 4 * 2 * x)
    # grad inside the vmap: the collective sits inside the differentiated function.
    inner = fg.vmap(fg.grad(lambda v: lax.psum(v * v, "i")), axis_name="i")(x)
    close(inner, 4 * 2 * x)
    gathered = fg.vmap(fg.grad(lambda v: lax.all_gather(v * v, "i").sum()), axis_name="i")(x)
    close(gathered, 4 * 2 * x)


def test_psum_jvp():
    x, t = f32(4), f32(4)
    f = fg.vmap(lambda v: lax.psum(jnp.sin(v), "i"), axis_name="i")
    out, tangent = fg.jvp(f, (x,), (t,))
    close(out, np.full(4, np.sin(x).sum()))
    close(tangent, np.full(4, (np.cos(x) * t).sum()))


@pytest.mark.parametrize(
    "collective, out_shape",
    [
        (lambda u: lax.psum(u, "i"), (3,)),
        (lambda u: lax.pmean(u, "i"), (3,)),
        (lambda u: lax.pmax(u, "i"), (3,)),
        (lambda u: lax.pmin(u, "i"), (3,)),
        (lambda u: lax.all_gather(u, "i"), (4, 3)),
        (lambda u: lax.all_gather(u, "i", axis=1), (3, 4)),
        (lambda u: lax.all_gather(u, "i", tiled=True), (12,)),
        (lambda u: lax.axis_index("i"), ()),
    ],
    ids=["psum", "pmean", "pmax", "pmin", "all_gather", "all_gather_axis1", "tiled", "index"],
)
def test_staged_collective_has_the_per_example_aval(collective, out_shape):
    # Traced inside the vmap (the name is bound), the collective is staged as one equation
    # with the per-example aval; evaluated outside the vmap it is an unbound name.
    staged = []

    def per_example(v):
        staged.append(fg.make_jaxpr(collective)(v))
        return v

    x = f32(4, 3)
    fg.vmap(per_example, axis_name="i")(x)
    (closed,) = staged
    (eqn,) = closed.eqns
    assert eqn.outvars[0].aval.shape == out_shape
    assert eqn.outvars[0].aval.dtype == (np.int32 if out_shape == () else np.float32)
    with pytest.raises(NameError, match="unbound axis name: 'i'"):
        eval_jaxpr(closed.jaxpr, closed.consts, x[0])


def test_pmax_pmin_gradients_go_to_the_extremum():
    x = np.array([1.0, 3.0, 2.0, 3.0], np.float32)  # a tie for the maximum
    spread = lambda c: lambda x: fg.vmap(lambda v: c(v, "i"), axis_name="i")(x).sum()  # noqa: E731
    close(fg.grad(spread(lax.pmax))(x), [0.0, 2.0, 0.0, 2.0])
    close(fg.grad(spread(lax.pmin))(x), [4.0, 0.0, 0.0, 0.0])


def test_collective_inside_a_call_under_vmap():
    import funcgrad as fg_
    from funcgrad import lax as lax_

    def f(x):
        # The call's body holds the psum; under vmap the body runs on the named trace.
        body = fg_.make_jaxpr(lambda v: v / lax_.psum(v, "i"))(x)
        (out,) = lax_.closed_call(body, x)
        return out

    x = np.arange(1, 5, dtype=np.float32)
    np.testing.assert_allclose(fg_.vmap(f, axis_name="i")(x), x / x.sum(), rtol=1e-6)
