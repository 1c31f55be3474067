"""Structured control flow under every transform: cond, switch, while_loop, fori_loop, scan
and map against Python loops, their derivatives against finite differences and hand-derived
adjoints, vmap against a loop over examples, and their bad-input errors."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.errors import JaxprTypeError
from funcgrad.core.jaxpr import check_jaxpr
from funcgrad.test_util import check_grads

rng = np.random.default_rng(9)
X = rng.normal(size=(3,)).astype(np.float32)
XS = rng.normal(size=(5, 3)).astype(np.float32)


def _names(closed):
    return [e.primitive.name for e in closed.eqns]


# ---------------------------------------------------------------------------------------
# Values against Python


@pytest.mark.parametrize("pred", [True, False, np.bool_(True), np.int32(0), 3])
def test_cond_picks_the_branch_like_python(pred):
    got = lax.cond(pred, lambda a: jnp.sin(a) * 2.0, lambda a: a - 1.0, X)
    want = np.sin(X) * 2.0 if pred else X - 1.0
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_cond_with_pytree_operands_and_outputs():
    def true_fun(pair):
        a, b = pair["a"], pair["b"]
        return {"sum": a + b, "prod": (a * b, b)}

    def false_fun(pair):
        return {"sum": pair["a"] - pair["b"], "prod": (pair["a"], -pair["b"])}

    y = X[::-1].copy()
    out = lax.cond(np.float32(1) > 0, true_fun, false_fun, {"a": X, "b": y})
    np.testing.assert_allclose(out["sum"], X + y, rtol=1e-6)
    np.testing.assert_allclose(out["prod"][0], X * y, rtol=1e-6)
    out = lax.cond(False, true_fun, false_fun, {"a": X, "b": y})
    np.testing.assert_allclose(out["prod"][1], -y)


@pytest.mark.parametrize("index", [-3, 0, 1, 2, 9])
def test_switch_clamps_its_index(index):
    branches = [jnp.sin, jnp.cos, lambda a: a * a]
    got = lax.switch(index, branches, X)
    want = [np.sin, np.cos, lambda a: a * a][min(max(index, 0), 2)](X)
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_while_loop_runs_like_a_python_while():
    def body(carry):
        i, total = carry
        return i + 1, total + i * 2.0

    i, total = lax.while_loop(lambda c: c[0] < 7, body, (0, 0.0))
    assert (int(i), float(total)) == (7, 42.0)
    assert int(lax.while_loop(lambda v: v > 100, lambda v: v * 2, 5)) == 5  # zero steps


@pytest.mark.parametrize("lower, upper", [(0, 5), (3, 9), (4, 4), (6, 2)])
def test_fori_loop_with_python_and_traced_bounds(lower, upper):
    def body(i, value):
        return value * 0.5 + i

    want = np.float32(1.0)
    for i in range(lower, upper):
        want = want * 0.5 + i
    np.testing.assert_allclose(lax.fori_loop(lower, upper, body, 1.0), want, rtol=1e-6)
    traced = fg.jit(lambda lo, hi: lax.fori_loop(lo, hi, body, 1.0))(lower, upper)
    np.testing.assert_allclose(traced, want, rtol=1e-6)
    assert "while" in _names(fg.make_jaxpr(lambda lo: lax.fori_loop(lo, 5, body, 1.0))(0))
    assert "scan" in _names(fg.make_jaxpr(lambda v: lax.fori_loop(0, 5, body, v))(1.0))


def _python_scan(f, init, xs, reverse=False):
    carry, ys = init, []
    order = range(len(xs))[::-1] if reverse else range(len(xs))
    for i in order:
        carry, y = f(carry, xs[i])
        ys.append(y)
    if reverse:
        ys = ys[::-1]
    return carry, np.stack(ys)


@pytest.mark.parametrize("reverse", [False, True])
@pytest.mark.parametrize("unroll", [1, 2, True])
def test_scan_matches_a_python_loop(reverse, unroll):
    def step(c, x):
        return jnp.tanh(c * 0.9 + x), c * x

    carry, ys = lax.scan(step, X, XS, reverse=reverse, unroll=unroll)
    want_carry, want_ys = _python_scan(lambda c, x: (np.tanh(c * 0.9 + x), c * x), X, XS, reverse)
    np.testing.assert_allclose(carry, want_carry, rtol=1e-5)
    np.testing.assert_allclose(ys, want_ys, rtol=1e-5)


def test_scan_with_pytree_carry_and_outputs_and_no_xs():
    def step(carry, _):
        count, (a, b) = carry
        return (count + 1, (b, a + b)), {"fib": a, "count": count}

    (count, (a, b)), ys = lax.scan(step, (0, (0.0, 1.0)), None, length=8)
    assert int(count) == 8 and float(a) == 21.0 and float(b) == 34.0
    np.testing.assert_array_equal(ys["fib"], [0, 1, 1, 2, 3, 5, 8, 13])
    np.testing.assert_array_equal(ys["count"], np.arange(8))
    carry, ys = lax.scan(lambda c, x: (c, None), 1.0, XS)
    assert ys is None and float(carry) == 1.0


def test_scan_over_a_pytree_of_xs_and_zero_length():
    xs = {"u": XS, "v": XS[:, 0]}
    carry, ys = lax.scan(lambda c, x: (c + x["v"], x["u"] * c), 0.0, xs)
    np.testing.assert_allclose(carry, XS[:, 0].sum(), rtol=1e-6)
    carry, ys = lax.scan(lambda c, x: (c + x, c * x), X, XS[:0])
    np.testing.assert_array_equal(carry, X)
    assert ys.shape == (0, 3)


def test_python_scalar_carries_stay_weak_while_the_body_keeps_them_weak():
    # As in JAX: a Python scalar carry keeps its weak type unless the body makes it strong.
    assert lax.fori_loop(0, 5, lambda i, t: t + i, 0).aval.weak_type
    assert lax.while_loop(lambda v: v < 10, lambda v: v * 2, 1).aval.weak_type
    strong = lax.fori_loop(0, 3, lambda i, t: t + np.float32(1), 0.0)
    assert not strong.aval.weak_type and float(strong) == 3.0
    carry, _ = lax.scan(lambda c, x: (c + x, c), 0.0, XS[:, 0])
    assert not carry.aval.weak_type


def test_map_applies_f_to_each_slice():
    got = lax.map(lambda row: (jnp.sin(row).sum(), row * 2.0), XS)
    np.testing.assert_allclose(got[0], np.sin(XS).sum(axis=1), rtol=1e-6)
    np.testing.assert_allclose(got[1], XS * 2.0, rtol=1e-6)


def test_bodies_may_close_over_arrays_and_outer_tracers():
    weights = rng.normal(size=(3, 3)).astype(np.float32)

    def f(scale):
        def step(c, x):
            return jnp.tanh(c @ weights * scale + x), c.sum()

        return lax.scan(step, X, XS)[1].sum()

    c, want = X, 0.0
    for x in XS:
        want += c.sum()
        c = np.tanh(c @ weights * 0.5 + x)
    np.testing.assert_allclose(f(np.float32(0.5)), want, rtol=1e-5)
    check_grads(f, (np.float32(0.5),), order=2, atol=5e-2, rtol=5e-2)


# ---------------------------------------------------------------------------------------
# Derivatives


def _cond_fun(x):
    return lax.cond(x.sum() > 0, lambda a: jnp.sin(a) * a, lambda a: jnp.cos(a) + a, x)


def _switch_fun(x):
    index = (jnp.abs(x.sum()) * 2).astype(np.int32)
    return lax.switch(index, [jnp.sin, lambda a: a * a * a, jnp.tanh], x)


def _while_fun(x):
    return lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, jnp.sin(c[1]) * x), (0, x))[1]


def _bounded_while_fun(x):
    def body(carry):
        return carry[0] + 1, jnp.sin(carry[1]) * x

    return lax.while_loop(lambda c: c[0] < 3, body, (0, x), max_steps=6)[1]


def _fori_fun(x):
    return lax.fori_loop(0, 4, lambda i, c: jnp.sin(c) * x + i, x)


def _scan_fun(w, xs):
    return lax.scan(lambda c, x: (jnp.tanh(c * w + x), c * x), X, xs)


def _map_fun(xs):
    return lax.map(lambda row: jnp.sin(row) * row.sum(), xs)


@pytest.mark.parametrize(
    "fun, args",
    [
        (_cond_fun, (X,)),
        (_cond_fun, (-np.abs(X),)),
        (_switch_fun, (X * 0.1,)),
        (_switch_fun, (X,)),
        (_bounded_while_fun, (X,)),
        (_fori_fun, (X,)),
        (_scan_fun, (np.float32(0.7), XS)),
        (_map_fun, (XS,)),
    ],
)
def test_derivatives_in_both_modes_to_second_order(fun, args):
    check_grads(fun, args, order=2)


def test_while_loop_differentiates_in_forward_mode():
    check_grads(_while_fun, (X,), order=2, modes=("fwd",))
    np.testing.assert_allclose(_while_fun(X), _bounded_while_fun(X), rtol=1e-6)


def test_reverse_mode_through_while_loop_says_to_bound_it():
    with pytest.raises(TypeError, match="max_steps"):
        fg.grad(lambda x: _while_fun(x).sum())(X)


def test_bounded_while_loop_stops_early_and_at_the_bound():
    body = lambda v: v * 2.0  # noqa: E731
    assert float(lax.while_loop(lambda v: v < 100.0, body, 1.0, max_steps=50)) == 128.0
    assert float(lax.while_loop(lambda v: v < 100.0, body, 1.0, max_steps=3)) == 8.0
    grad = fg.grad(lambda v: lax.while_loop(lambda c: c < 100.0, body, v, max_steps=50))(1.0)
    assert float(grad) == 128.0


def test_bounded_while_loop_checkpoints_its_body():
    # The backward pass keeps per step what the body reads (the carry), not the body's
    # intermediates: with a 20-op body, no residual per step is wider than one carry value.
    def body(carry):
        i, v = carry
        for _ in range(10):
            v = jnp.sin(v) * 1.1 + v
        return i + 1, v

    def loss(x):
        return lax.while_loop(lambda c: c[0] < 4, body, (0, x), max_steps=7)[1].sum()

    closed = fg.make_jaxpr(fg.grad(loss))(X)
    forward = next(e for e in closed.jaxpr.eqns if e.primitive.name == "scan")
    stacked = [v.aval for v in forward.outvars[2:]]  # after the two carries: residuals
    assert stacked and all(a.shape in ((7,), (7, *X.shape)) for a in stacked)
    assert len(stacked) <= 4  # the predicate, the carry, and a few small flags
    check_grads(loss, (X,), order=1, modes=("rev",))


def test_recurrence_gradient_matches_the_hand_derived_adjoint():
    # y_t = (y_{t-1} + x_t) * w, L = sum_t y_t.
    w = np.float32(0.8)
    xs = rng.normal(size=(6,)).astype(np.float32)

    def loss(w, xs):
        def step(y, x):
            y = (y + x) * w
            return y, y

        return lax.scan(step, np.float32(0.0), xs)[1].sum()

    ys, y = [], 0.0
    for x in xs:
        y = (y + x) * w
        ys.append(y)
    np.testing.assert_allclose(loss(w, xs), sum(ys), rtol=1e-5)
    # Adjoint g_t = dL/dy_t = 1 + w g_{t+1}; dL/dx_t = w g_t; dL/dw = sum_t g_t (y_{t-1} + x_t).
    adjoint, grad_w, grad_x = 0.0, 0.0, np.zeros_like(xs)
    for t in reversed(range(len(xs))):
        adjoint = 1.0 + w * adjoint
        grad_x[t] = w * adjoint
        grad_w += adjoint * ((ys[t - 1] if t else 0.0) + xs[t])
    got_w, got_x = fg.grad(loss, argnums=(0, 1))(w, xs)
    np.testing.assert_allclose(got_w, grad_w, rtol=1e-5)
    np.testing.assert_allclose(got_x, grad_x, rtol=1e-5)
    check_grads(loss, (w, xs), order=2)


def test_scan_residuals_are_stacked_and_loop_invariants_are_not():
    weights = rng.normal(size=(3, 3)).astype(np.float32)

    def f(h0, xs):
        return lax.scan(lambda h, x: (jnp.tanh(h @ weights + x), None), h0, xs)[0].sum()

    closed = fg.make_jaxpr(lambda h, xs: fg.vjp(f, h, xs)[1](np.float32(1.0)))(X, XS)
    scans = [e for e in closed.eqns if e.primitive.name == "scan"]
    assert len(scans) == 2  # the forward scan and the transposed one
    forward, backward = scans
    assert forward.params["reverse"] is False and backward.params["reverse"] is True
    # The weights reach the backward scan as a constant, not stacked per step.
    stacked = [v.aval.shape for v in forward.outvars[1:]]
    assert all(shape[0] == 5 and shape != (5, 3, 3) for shape in stacked)


def test_scan_residuals_that_are_xs_slices_are_not_copied():
    def f(c0, xs):
        return lax.scan(lambda c, x: (c * x, None), c0, xs)[0].sum()

    closed = fg.make_jaxpr(lambda c, xs: fg.vjp(f, c, xs)[1](np.float32(1.0)))(X, XS)
    forward, backward = [e for e in closed.eqns if e.primitive.name == "scan"]
    # d(c x)/dc needs x and d(c x)/dx needs c: only the carries are stacked, xs is read as is.
    assert [v.aval.shape for v in forward.outvars] == [(3,), (5, 3)]
    assert closed.jaxpr.invars[1] in backward.invars
    np.testing.assert_allclose(fg.grad(f)(X, XS), np.prod(XS, axis=0), rtol=1e-5)


def test_nested_scan_in_cond_in_scan():
    w = np.float32(0.6)

    def f(w, xs):
        def outer(c, x):
            def inner(c):
                return lax.scan(lambda a, b: (a * w + b, a), c, xs)[0]

            c = lax.cond(x.sum() > 0, inner, lambda c: c * 2.0, c)
            return c, c.sum()

        return lax.scan(outer, jnp.ones(3), xs)

    def reference(w, xs):
        c, sums = np.ones(3, np.float32), []
        for x in xs:
            if x.sum() > 0:
                for b in xs:
                    c = c * w + b
            else:
                c = c * 2.0
            sums.append(c.sum())
        return c, np.array(sums)

    got = f(w, XS)
    want = reference(w, XS)
    np.testing.assert_allclose(got[0], want[0], rtol=1e-4)
    np.testing.assert_allclose(got[1], want[1], rtol=1e-4)
    check_grads(f, (w, XS), order=2)
    check_jaxpr(fg.make_jaxpr(fg.grad(lambda w, xs: f(w, xs)[1].sum()))(w, XS))


def test_train_eval_switch_with_cond():
    mask = (rng.random(size=(4, 3)) < 0.5).astype(np.float32)
    weights = rng.normal(size=(3, 2)).astype(np.float32)
    x = rng.normal(size=(4, 3)).astype(np.float32)

    def loss(weights, x, training):
        h = lax.cond(training, lambda v: v * mask * 2.0, lambda v: v, x)
        return jnp.tanh(h @ weights).sum()

    for training, h in ((True, x * mask * 2.0), (False, x)):
        np.testing.assert_allclose(
            loss(weights, x, training), np.tanh(h @ weights).sum(), rtol=1e-5
        )
        grad = fg.grad(loss)(weights, x, training)
        t = np.tanh(h @ weights)
        np.testing.assert_allclose(grad, h.T @ (1 - t * t), rtol=1e-5)
        jitted = fg.jit(fg.grad(loss))(weights, x, training)
        np.testing.assert_allclose(jitted, grad, rtol=1e-5)


def test_an_rnn_trained_a_few_steps_lowers_its_loss():
    hidden, features, steps = 8, 3, 12
    params = {
        "w_in": rng.normal(size=(features, hidden)).astype(np.float32) * 0.5,
        "w_h": rng.normal(size=(hidden, hidden)).astype(np.float32) * 0.3,
        "w_out": rng.normal(size=(hidden, 1)).astype(np.float32) * 0.5,
    }
    xs = rng.normal(size=(steps, 4, features)).astype(np.float32)  # time, batch, features
    targets = np.cumsum(xs[..., 0], axis=0)[..., None] * 0.2  # a running sum to learn

    def loss(params):
        def cell(h, x):
            h = jnp.tanh(x @ params["w_in"] + h @ params["w_h"])
            return h, h @ params["w_out"]

        _, predictions = lax.scan(cell, jnp.zeros((4, hidden)), xs)
        return jnp.mean((predictions - targets) ** 2)

    step = fg.jit(lambda p: fg.tree_util.tree_map(lambda w, g: w - 0.3 * g, p, fg.grad(loss)(p)))
    losses = [float(loss(params))]
    for _ in range(8):
        params = step(params)
        losses.append(float(loss(params)))
    assert losses[-1] < 0.7 * losses[0], losses
    assert all(b < a for a, b in zip(losses, losses[1:])), losses


# ---------------------------------------------------------------------------------------
# vmap against a loop over examples


def _loop(f, *args):
    outs = [f(*[a[i] for a in args]) for i in range(len(args[0]))]
    return fg.tree_util.tree_map(lambda *xs: np.stack(xs), *outs)


def test_vmap_of_cond_with_a_batched_predicate_selects_per_example():
    preds = np.array([True, False, True])
    f = lambda p, x: lax.cond(p, lambda a: jnp.sin(a), lambda a: a * 3.0, x)  # noqa: E731
    np.testing.assert_allclose(fg.vmap(f)(preds, XS[:3]), _loop(f, preds, XS[:3]), rtol=1e-6)
    # A shared predicate stays a cond over batched branches.
    shared = fg.make_jaxpr(fg.vmap(f, in_axes=(None, 0)))(True, XS)
    assert "cond" in _names(shared)
    batched = fg.make_jaxpr(fg.vmap(f))(preds, XS[:3])
    assert "cond" not in _names(batched) and "select_n" in _names(batched)


def test_vmap_of_switch_with_batched_indices():
    indices = np.array([0, 2, 1, 5, -1], np.int32)
    f = lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, lambda a: -a], x)  # noqa: E731
    np.testing.assert_allclose(fg.vmap(f)(indices, XS), _loop(f, indices, XS), rtol=1e-6)


def test_vmap_of_while_runs_until_every_member_is_done():
    limits = np.array([1, 7, 3, 0], np.int32)

    def f(limit, x):
        return lax.while_loop(lambda c: c[0] < limit, lambda c: (c[0] + 1, c[1] * 1.5), (0, x))

    got = fg.vmap(f)(limits, XS[:4])
    want = _loop(f, limits, XS[:4])
    np.testing.assert_array_equal(got[0], limits.clip(0))
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6)
    # Only the carry varies: the predicate stays shared.
    np.testing.assert_allclose(fg.vmap(lambda x: f(3, x))(XS)[1], XS * 1.5**3, rtol=1e-6)


@pytest.mark.parametrize("in_axes", [(0, 0), (None, 0), (0, None), (1, 1)])
def test_vmap_of_scan_matches_a_loop(in_axes):
    inits = rng.normal(size=(4, 3)).astype(np.float32)
    xss = rng.normal(size=(4, 5, 3)).astype(np.float32)

    def f(init, xs):
        return lax.scan(lambda c, x: (jnp.tanh(c + x), c * x), init, xs)

    args = [inits, xss]
    args = [a if ax != 1 else np.moveaxis(a, 0, 1) for a, ax in zip(args, in_axes)]
    args = [a[0] if ax is None else a for a, ax in zip(args, in_axes)]
    got = fg.vmap(f, in_axes=in_axes)(*args)
    examples = [
        f(*[a if ax is None else np.take(a, i, axis=ax) for a, ax in zip(args, in_axes)])
        for i in range(4)
    ]
    for j in range(2):
        np.testing.assert_allclose(got[j], np.stack([e[j] for e in examples]), rtol=1e-5)


def test_per_example_gradients_through_scan():
    w = np.float32(0.9)

    def loss(w, xs):
        return lax.scan(lambda c, x: (jnp.sin(c * w + x), None), 0.0, xs)[0]

    got = fg.vmap(fg.grad(loss), in_axes=(None, 0))(w, XS.T)
    want = np.stack([fg.grad(loss)(w, row) for row in XS.T])
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_vmap_of_map_and_fori_loop():
    f = lambda x: lax.fori_loop(0, 3, lambda i, c: c * x + i, x)  # noqa: E731
    np.testing.assert_allclose(fg.vmap(f)(XS), _loop(f, XS), rtol=1e-5)
    g = lambda x: lax.map(jnp.cumsum, x)  # noqa: E731
    np.testing.assert_allclose(fg.vmap(g)(XS[None]), np.cumsum(XS, axis=1)[None], rtol=1e-6)


# ---------------------------------------------------------------------------------------
# Printing and type checking


def test_printed_jaxpr_shows_the_bodies_indented():
    text = str(fg.make_jaxpr(lambda p, x: lax.cond(p, jnp.sin, jnp.cos, x))(True, X))
    assert "cond[\n      branches=(\n        { lambda ; " in text
    assert "cos" in text and "sin" in text
    text = str(fg.make_jaxpr(lambda xs: lax.scan(lambda c, x: (c + x, c), 0.0, xs))(XS[:, 0]))
    assert "scan[\n      jaxpr={ lambda ; " in text and "length=5" in text


def test_type_checker_validates_bodies():
    closed = fg.make_jaxpr(lambda p, x: lax.cond(p, jnp.sin, jnp.cos, x))(True, X)
    check_jaxpr(closed)
    eqn = closed.eqns[0]
    bad_branch = fg.make_jaxpr(lambda x: x.sum())(X)
    broken = type(eqn)(
        eqn.primitive,
        eqn.invars,
        eqn.outvars,
        {"branches": (eqn.params["branches"][0], bad_branch)},
    )
    jaxpr = closed.jaxpr
    bad = type(jaxpr)(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, (broken,))
    with pytest.raises(JaxprTypeError, match="branch 1 returns"):
        check_jaxpr(bad)


# ---------------------------------------------------------------------------------------
# Bad input


def test_branches_of_different_types_show_both():
    with pytest.raises(
        TypeError, match=r"false_fun returns .*f32\[\].* true_fun returns .*f32\[3\]"
    ):
        lax.cond(True, lambda a: a, lambda a: a.sum(), X)
    with pytest.raises(TypeError, match=r"i32\[3\].*f32\[3\]"):
        lax.cond(True, lambda a: a, lambda a: a.astype(np.int32), X)
    with pytest.raises(TypeError, match=r"branch 0 returns .* branch 1 returns"):
        lax.switch(0, [lambda a: a, lambda a: (a, a)], X)


@pytest.mark.parametrize(
    "pred, message",
    [
        (np.array([True, False]), r"must be a scalar, got bool\[2\]"),
        (1.5, r"bool or integer scalar, got f32\[\]"),
    ],
)
def test_bad_predicates(pred, message):
    with pytest.raises(TypeError, match=message):
        lax.cond(pred, lambda a: a, lambda a: a, X)


def test_bad_switch_index():
    with pytest.raises(TypeError, match="integer scalar"):
        lax.switch(1.0, [jnp.sin], X)
    with pytest.raises(TypeError, match="non-empty"):
        lax.switch(0, [], X)


def test_carry_changing_type_is_refused():
    with pytest.raises(TypeError, match=r"carry goes in as .*i32\[\].* comes out as .*f32\[\]"):
        lax.while_loop(lambda c: c < 3, lambda c: c + 0.5, 0)
    with pytest.raises(TypeError, match=r"f32\[3\].*f32\[\]"):
        lax.scan(lambda c, x: (c.sum(), x), X, XS)
    with pytest.raises(TypeError, match="same structure"):
        lax.fori_loop(0, 3, lambda i, c: (c, c), X)


def test_while_cond_must_return_a_bool_scalar():
    with pytest.raises(TypeError, match="cond_fun must return a scalar bool"):
        lax.while_loop(lambda c: c, lambda c: c + 1, 0)


def test_scan_over_inputs_of_different_lengths():
    with pytest.raises(ValueError, match="leaf 0 has 5, leaf 1 has 4"):
        lax.scan(lambda c, x: (c, x), 0.0, (XS, XS[:4]))
    with pytest.raises(ValueError, match="length=3 but"):
        lax.scan(lambda c, x: (c, x), 0.0, XS, length=3)
    with pytest.raises(ValueError, match="pass length"):
        lax.scan(lambda c, x: (c, x), 0.0, None)
    with pytest.raises(ValueError, match="scalar"):
        lax.scan(lambda c, x: (c, x), 0.0, np.float32(1))
    with pytest.raises(TypeError, match=r"must return a pair \(carry, y\)"):
        lax.scan(lambda c, x: c, 0.0, XS)


def test_bad_loop_arguments():
    with pytest.raises(TypeError, match="integer scalars"):
        lax.fori_loop(0.0, 3, lambda i, c: c, X)
    with pytest.raises(ValueError, match="max_steps"):
        lax.while_loop(lambda c: c < 3, lambda c: c + 1, 0, max_steps=-1)
    with pytest.raises(ValueError, match="unroll"):
        lax.scan(lambda c, x: (c, x), 0.0, XS, unroll=0)
