"""Fusion grouping: which equations share a kernel, hand-derived per program, and the
groups' schedule respects every data dependence."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.compiler.passes.fusion import ELEMENTWISE, MATMUL, OPAQUE, REDUCTION, fuse
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, Var, eval_jaxpr

rng = np.random.default_rng(3)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def groups_of(fun, *args):
    closed = fg.make_jaxpr(fun)(*args)
    return closed, fuse(closed)


def summary(groups):
    return [(g.kind, [e.primitive.name for e in g.eqns]) for g in groups]


def test_an_elementwise_chain_is_one_group():
    _, groups = groups_of(lambda x, y: jnp.exp(jnp.sin(x) * y) + 1.0, f32(8), f32(8))
    assert summary(groups) == [(ELEMENTWISE, ["sin", "mul", "exp", "add"])]
    (group,) = groups
    assert group.shape == (8,) and len(group.inputs) == 2 and len(group.outputs) == 1


def test_a_reduction_joins_its_producers_and_its_consumer_starts_a_new_group():
    def softmax_denominator(x):
        e = jnp.exp(x - 1.0)
        return e / e.sum(axis=1, keepdims=True)

    _, groups = groups_of(softmax_denominator, f32(4, 5))
    kinds = summary(groups)
    assert kinds[0] == (REDUCTION, ["sub", "exp", "reduce_sum"])
    # The division needs the finished sum: it cannot be in the group that computes it.
    assert kinds[-1][1][-1] == "div" and kinds[-1][0] == ELEMENTWISE
    first = groups[0]
    assert [v.aval.shape for v in first.outputs] == [(4, 5), (4,)]


def test_matmul_epilogue_bias_and_relu_fuse_into_the_product():
    def layer(x, w, b):
        return jnp.maximum(x @ w + b, 0.0)

    _, groups = groups_of(layer, f32(3, 4), f32(4, 5), f32(5))
    kinds = summary(groups)
    assert kinds[0][0] == MATMUL
    assert kinds[0][1] == ["dot_general", "broadcast_in_dim", "add", "max"]


def test_library_calls_are_groups_of_their_own():
    _, groups = groups_of(lambda x: jnp.sort(x * 2.0) + 1.0, f32(6))
    assert summary(groups) == [
        (ELEMENTWISE, ["mul"]),
        (OPAQUE, ["sort"]),
        (ELEMENTWISE, ["add"]),
    ]


def test_elementwise_ops_of_different_shapes_are_not_fused():
    _, groups = groups_of(lambda x, y: (jnp.sin(x), jnp.cos(y)), f32(3), f32(4))
    assert len(groups) == 2 and {g.shape for g in groups} == {(3,), (4,)}


def _run_scheduled(closed, groups, args):
    """Evaluate the groups in order as one jaxpr: a valid schedule gives eager values."""
    order = tuple(e for g in groups for e in g.eqns)
    jaxpr = closed.jaxpr
    scheduled = Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, order)
    return eval_jaxpr(scheduled, closed.consts, *args)


def test_every_equation_is_scheduled_once_after_its_inputs():
    def tangled(x, w):
        a = jnp.tanh(x @ w)
        b = jnp.sort(a, axis=1)
        c = a * 2.0 + b  # reads a group opened before the sort and the sort itself
        return c.sum(axis=0), jnp.exp(a).max()

    args = (f32(4, 3), f32(3, 5))
    closed, groups = groups_of(tangled, *args)
    scheduled = [e for g in groups for e in g.eqns]
    assert sorted(map(id, scheduled)) == sorted(map(id, closed.eqns))
    produced = set(closed.jaxpr.invars) | set(closed.jaxpr.constvars)
    for eqn in scheduled:
        assert all(not isinstance(a, Var) or a in produced for a in eqn.invars)
        produced.update(eqn.outvars)
    for got, want in zip(_run_scheduled(closed, groups, args), tangled(*args)):
        np.testing.assert_allclose(got, np.asarray(want), rtol=1e-6)


def test_group_inputs_and_outputs_are_exactly_what_crosses_its_boundary():
    closed, groups = groups_of(lambda x: (jnp.exp(x).sum(), jnp.sort(jnp.exp(x))), f32(5))
    for group in groups:
        inside = {v for e in group.eqns for v in e.outvars}
        read_inside = {a for e in group.eqns for a in e.invars if isinstance(a, Var)}
        assert set(group.inputs) == read_inside - inside
        later = {
            a
            for other in groups
            if other is not group
            for e in other.eqns
            for a in e.invars
            if isinstance(a, Var)
        } | set(closed.jaxpr.outvars)
        assert set(group.outputs) == inside & later


def test_side_effecting_equations_are_never_fused():
    closed = fg.make_jaxpr(lambda x: jnp.sin(x) + 1.0)(f32(3))
    eqns = closed.jaxpr.eqns

    class Effect:
        name, module, multiple_results, has_side_effects = "sin", eqns[0].primitive.module, 0, 1

    marked = type(eqns[0])(Effect(), eqns[0].invars, eqns[0].outvars, eqns[0].params)
    jaxpr = Jaxpr((), closed.jaxpr.invars, closed.jaxpr.outvars, (marked, eqns[1]))
    groups = fuse(ClosedJaxpr(jaxpr, ()))
    assert [g.kind for g in groups] == [OPAQUE, ELEMENTWISE]


def test_rematerialize_recomputes_cheap_producers_in_their_readers():
    from funcgrad.compiler.passes.fusion import rematerialize

    def softmax(x):
        e = jnp.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    x = f32(4, 6)
    closed, groups = groups_of(softmax, x)
    full = [g for g in groups if g.shape == (4, 6)]
    # Before: the exp-sum group writes e (4x6) for the division group to read back.
    assert any(v.aval.shape == (4, 6) for v in full[1].outputs)
    regrouped = rematerialize(closed, groups, cost=lambda eqn: 1.0, budget=8)
    full = [g for g in regrouped if g.shape == (4, 6)]
    assert [v.aval.shape for v in full[1].outputs] == [(4,)]  # only the sum now
    assert "exp" in [e.primitive.name for e in full[2].eqns]  # recomputed where read
    (got,) = _run_scheduled(closed, regrouped, (x,))
    np.testing.assert_allclose(got, np.asarray(softmax(x)), rtol=1e-6)
    # Over budget, nothing is recomputed.
    kept = rematerialize(closed, groups, cost=lambda eqn: 100.0, budget=8)
    assert [len(g.eqns) for g in kept] == [len(g.eqns) for g in groups]


def test_an_iota_feeding_a_broadcast_is_scheduled_before_the_broadcasts_reader():
    # Both generators wait for a consumer; the iota, of another shape than the add's group,
    # must get a group before it (it once landed after it, and the program read an unset
    # variable).
    def shifted(x):
        ramp = fg.lax.broadcast_in_dim(fg.lax.iota(np.float32, 1500), (3, 1500), (1,))
        return x + ramp

    x = f32(3, 1500)
    closed, groups = groups_of(shifted, x)
    assert [e.primitive.name for e in closed.eqns] == ["iota", "broadcast_in_dim", "add"]
    produced = set(closed.jaxpr.invars)
    for eqn in (e for g in groups for e in g.eqns):
        assert all(not isinstance(a, Var) or a in produced for a in eqn.invars)
        produced.update(eqn.outvars)
    want = x + np.arange(1500, dtype=np.float32)
    np.testing.assert_array_equal(_run_scheduled(closed, groups, (x,))[0], want)
    for backend in ("numpy", "llvm"):
        got = fg.jit(lambda v: v + jnp.arange(v.shape[-1], dtype=jnp.float32), backend=backend)(x)
        np.testing.assert_array_equal(got, want)


def test_reductions_over_different_axes_of_one_value_get_groups_of_their_own():
    # A kernel's loop nest reduces one set of axes; sum over rows and max over columns of
    # the same exp used to share a group no backend could lower.
    def both(x):
        e = jnp.exp(x)
        return e.sum(axis=0), e.max(axis=1), e.sum(axis=0, keepdims=True)

    x = f32(6, 5)
    closed, groups = groups_of(both, x)
    reductions = [
        {tuple(e.params["axes"]) for e in g.eqns if e.primitive.name.startswith("reduce_")}
        for g in groups
    ]
    assert all(len(axes) <= 1 for axes in reductions)
    assert sorted(a for axes in reductions for a in axes) == [(0,), (1,)]
    want = (np.exp(x).sum(0), np.exp(x).max(1), np.exp(x).sum(0, keepdims=True))
    for got, expected in zip(_run_scheduled(closed, groups, (x,)), want):
        np.testing.assert_allclose(got, expected, rtol=1e-6)
    for backend in ("numpy", "llvm"):
        for got, expected in zip(fg.jit(both, backend=backend)(x), want):
            np.testing.assert_allclose(got, expected, rtol=1e-5)
