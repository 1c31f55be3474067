"""Buffer planning: slots are reused only after every alias of their value is dead,
values reaching the outputs never live in scratch memory, and donation hands an input's
buffer to an output of its shape once the input is no longer read."""

import numpy as np

from funcgrad.compiler.passes.memory import DONATED, FRESH, SCRATCH, Step, plan_buffers
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import Var

F4 = ShapedArray((4,), np.dtype(np.float32))
F3 = ShapedArray((3,), np.dtype(np.float32))


def new(n, aval=F4):
    return [Var(aval) for _ in range(n)]


def test_a_chain_reuses_two_slots_and_writes_its_result_fresh():
    x, a, b, c, out = new(5)
    steps = [
        Step((x,), (a,), True),
        Step((a,), (b,), True),
        Step((b,), (c,), True),
        Step((c,), (out,), True),
    ]
    plan = plan_buffers(steps, [x], [out])
    assert plan.where[out] == (FRESH, None)
    slots = [plan.where[v] for v in (a, b, c)]
    assert all(kind == SCRATCH for kind, _ in slots)
    # a dies when b is written (not in place), so c may take a's slot, never b's.
    assert slots[0][1] != slots[1][1] and slots[2][1] == slots[0][1]
    assert len(plan.slots) == 2 and plan.scratch_bytes() == 2 * 16


def test_in_place_steps_overwrite_their_dying_operand():
    x, a, b, out = new(4)
    steps = [
        Step((x,), (a,), True),
        Step((a,), (b,), True, in_place=True),
        Step((b,), (out,), True),
    ]
    plan = plan_buffers(steps, [x], [out])
    assert plan.where[a] == plan.where[b] == (SCRATCH, 0) and len(plan.slots) == 1


def test_a_value_still_read_later_keeps_its_slot():
    x, a, b, c = new(4)
    steps = [
        Step((x,), (a,), True),
        Step((a,), (b,), True, in_place=True),
        Step((a, b), (c,), True),
    ]
    plan = plan_buffers(steps, [x], [c])
    assert plan.where[a] != plan.where[b]


def test_slots_are_only_shared_between_equal_shapes_and_dtypes():
    x, a, out = new(3)
    (b,) = new(1, F3)
    steps = [Step((x,), (a,), True), Step((a,), (b,), True), Step((b,), (out,), True)]
    plan = plan_buffers(steps, [x], [out])
    assert plan.where[a][1] != plan.where[b][1]
    assert plan.slots[plan.where[b][1]] == ((3,), np.dtype(np.float32))


def test_views_extend_the_life_of_the_memory_they_share():
    x, a, view, b, c = new(5)
    steps = [
        Step((x,), (a,), True),
        Step((a,), (view,), False),  # e.g. a reshape returning a view of a
        Step((x,), (b,), True),  # must not take a's slot: the view is read below
        Step((view, b), (c,), True),
    ]
    plan = plan_buffers(steps, [x], [c])
    assert plan.where[a] != plan.where[b]


def test_values_an_output_may_alias_are_never_scratch():
    x, a, view = new(3)
    steps = [Step((x,), (a,), True), Step((a,), (view,), False)]
    plan = plan_buffers(steps, [x], [view])
    assert plan.where[a] == (FRESH, None)


def test_donated_input_is_taken_by_an_output_after_its_last_read():
    x, a, out = new(3)
    steps = [Step((x,), (a,), True), Step((a,), (out,), True)]
    plan = plan_buffers(steps, [x], [out], donated=[True])
    assert plan.where[out] == (DONATED, x) and plan.donated_inputs() == {x}


def test_donated_input_still_read_is_not_overwritten():
    x, y, out, other = new(4)
    steps = [Step((x, y), (out,), True), Step((x, out), (other,), True)]
    plan = plan_buffers(steps, [x, y], [out, other], donated=[True, False])
    assert plan.where[out] == (FRESH, None)
    assert plan.where[other] == (FRESH, None)  # x is read by the step writing `other`


def test_donated_input_of_another_shape_is_not_used():
    (x,) = new(1, F3)
    (out,) = new(1)
    plan = plan_buffers([Step((x,), (out,), True)], [x], [out], donated=[True])
    assert plan.where[out] == (FRESH, None) and not plan.donated_inputs()
