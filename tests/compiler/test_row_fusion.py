"""Row fusion: which chains of groups become one ROWS group, hand-derived per program, and
what the merged group reads and writes."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.compiler.passes.fusion import ELEMENTWISE, OPAQUE, REDUCTION, fuse, rematerialize
from funcgrad.compiler.passes.row_fusion import ROWS, fuse_rows, row_space

rng = np.random.default_rng(5)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def row_groups(fun, *args, accept=lambda group: True):
    closed = fg.make_jaxpr(fun)(*args)
    groups = fuse(closed)
    return closed, groups, fuse_rows(closed, groups, accept)


def softmax(x):
    e = jnp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_softmax_becomes_one_rows_group():
    x = f32(6, 10)
    closed, before, after = row_groups(softmax, x)
    # max | keepdims reshape | exp and sum | reshape | divide
    assert [g.kind for g in before] == [REDUCTION, OPAQUE, REDUCTION, OPAQUE, ELEMENTWISE]
    (group,) = after
    assert group.kind == ROWS and group.shape == (6, 10)
    assert group.eqns == tuple(e for g in before for e in g.eqns)
    assert group.inputs == tuple(closed.jaxpr.invars)
    assert group.outputs == tuple(closed.jaxpr.outvars)


def test_per_row_groups_between_passes_join_the_chain():
    def layernorm(x):
        mean = x.mean(axis=-1, keepdims=True)  # a division per row between the passes
        centered = x - mean
        return centered / jnp.sqrt((centered * centered).mean(axis=-1, keepdims=True) + 1e-5)

    _, before, after = row_groups(layernorm, f32(6, 10))
    assert len(before) > 3
    assert [g.kind for g in after] == [ROWS]


def test_per_row_values_read_later_are_outputs_of_the_merged_group():
    def f(x):
        top = x.max(axis=-1)
        return softmax(x) * 2.0, top

    closed, _, after = row_groups(f, f32(4, 9))
    (group,) = after
    top = closed.jaxpr.outvars[1]
    assert top in group.outputs and len(group.outputs) == 2


def test_the_chain_stops_at_a_different_iteration_space():
    def f(x, y):
        s = softmax(x)
        return s.sum(axis=0), y * 2.0  # a column sum: reduces a leading axis

    _, before, after = row_groups(f, f32(4, 9), f32(3))
    # max; reshape; exp and sum; reshape | the division joined the column sum's group.
    assert [g.kind for g in after] == [ROWS, REDUCTION, ELEMENTWISE]
    assert after[0].eqns == tuple(e for g in before[:4] for e in g.eqns)
    assert after[1:] == before[4:]


def test_column_reductions_and_declined_chains_are_left_alone():
    _, before, after = row_groups(lambda x: (x - x.mean(axis=0)).sum(axis=0), f32(5, 7))
    assert after == before  # reductions over a leading axis: no rows
    _, before, after = row_groups(softmax, f32(5, 7), accept=lambda group: False)
    assert after == before


def test_row_space_needs_more_than_one_element_per_row():
    _, groups, _ = row_groups(lambda x: x.sum(axis=-1), f32(5, 1))
    assert row_space(groups[0]) is None
    _, groups, _ = row_groups(lambda x: x.sum(axis=(1, 2)), f32(3, 4, 5))
    assert row_space(groups[0]) == ((3, 4, 5), (1, 2))


def test_rematerialized_copies_are_computed_once_in_the_merged_group():
    # Rematerialization copies exp(x - max) into the division's group; merged, one copy
    # remains and the division reads it.
    closed = fg.make_jaxpr(softmax)(f32(4, 9))
    groups = rematerialize(closed, fuse(closed), lambda eqn: 1.0, 32)
    assert sum(e.primitive.name == "exp" for g in groups for e in g.eqns) == 2
    (group,) = fuse_rows(closed, groups, lambda group: True)
    (exp,) = [e for e in group.eqns if e.primitive.name == "exp"]
    (div,) = [e for e in group.eqns if e.primitive.name == "div"]
    assert exp.outvars[0] in div.invars
