"""Each optimizer's parameters after several steps against the same update rule written in
NumPy float64 (optim_reference.py), on a small pytree (a matrix and a vector)."""

import numpy as np
import optim_reference as ref
import pytest

import funcgrad.numpy as jnp
from funcgrad import optim
from funcgrad.tree_util import tree_leaves, tree_map

STEPS = 4


def make_problem(dtype):
    rng = np.random.default_rng(7)
    params = {"w": rng.standard_normal((3, 2)), "b": rng.standard_normal(2)}
    grads = [
        {name: rng.standard_normal(value.shape) for name, value in params.items()}
        for _ in range(STEPS)
    ]
    cast = lambda tree: {name: value.astype(dtype) for name, value in tree.items()}  # noqa: E731
    return cast(params), [cast(grad) for grad in grads]


def run(opt, params, grads):
    """The parameters after each step, updating with `opt` eagerly."""
    params = {name: jnp.asarray(value) for name, value in params.items()}
    state = opt.init(params)
    trajectory = []
    for grad in grads:
        updates, state = opt.update({k: jnp.asarray(v) for k, v in grad.items()}, state, params)
        params = optim.apply_updates(params, updates)
        trajectory.append(params)
    return trajectory


# (id, funcgrad optimizer, NumPy reference over (params, grads))
CASES = [
    ("sgd", lambda: optim.sgd(0.1), lambda p, g: ref.sgd(p, g, 0.1)),
    (
        "sgd-momentum",
        lambda: optim.sgd(0.1, momentum=0.9),
        lambda p, g: ref.sgd(p, g, 0.1, momentum=0.9),
    ),
    (
        "sgd-nesterov",
        lambda: optim.sgd(0.05, momentum=0.8, nesterov=True),
        lambda p, g: ref.sgd(p, g, 0.05, momentum=0.8, nesterov=True),
    ),
    ("adam", lambda: optim.adam(0.01), lambda p, g: ref.adam(p, g, 0.01)),
    (
        "adam-hyper",
        lambda: optim.adam(0.02, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4),
        lambda p, g: ref.adam(p, g, 0.02, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4),
    ),
    (
        "adamw",
        lambda: optim.adamw(0.01, weight_decay=0.1),
        lambda p, g: ref.adam(p, g, 0.01, weight_decay=0.1, decay=("w", "b")),
    ),
    (
        "adamw-mask-tree",
        lambda: optim.adamw(0.01, weight_decay=0.1, mask={"w": True, "b": False}),
        lambda p, g: ref.adam(p, g, 0.01, weight_decay=0.1, decay=("w",)),
    ),
    (
        "adamw-mask-callable",
        lambda: optim.adamw(
            0.01, weight_decay=0.1, mask=lambda tree: tree_map(lambda x: x.ndim > 1, tree)
        ),
        lambda p, g: ref.adam(p, g, 0.01, weight_decay=0.1, decay=("w",)),
    ),
    ("rmsprop", lambda: optim.rmsprop(0.01), lambda p, g: ref.rmsprop(p, g, 0.01)),
    (
        "rmsprop-centered",
        lambda: optim.rmsprop(0.01, decay=0.8, centered=True),
        lambda p, g: ref.rmsprop(p, g, 0.01, decay=0.8, centered=True),
    ),
    (
        "rmsprop-momentum",
        lambda: optim.rmsprop(0.01, centered=True, momentum=0.9),
        lambda p, g: ref.rmsprop(p, g, 0.01, centered=True, momentum=0.9),
    ),
    (
        "rmsprop-nesterov",
        lambda: optim.rmsprop(0.01, momentum=0.5, nesterov=True),
        lambda p, g: ref.rmsprop(p, g, 0.01, momentum=0.5, nesterov=True),
    ),
    ("adagrad", lambda: optim.adagrad(0.1), lambda p, g: ref.adagrad(p, g, 0.1)),
    (
        "adagrad-hyper",
        lambda: optim.adagrad(0.3, initial_accumulator_value=1.0, eps=1e-3),
        lambda p, g: ref.adagrad(p, g, 0.3, initial_accumulator_value=1.0, eps=1e-3),
    ),
]


def assert_trajectories_close(got, want, rtol, atol):
    assert len(got) == len(want)
    for step, (got_params, want_params) in enumerate(zip(got, want), start=1):
        for name in want_params:
            np.testing.assert_allclose(
                np.asarray(got_params[name], np.float64),
                want_params[name],
                rtol=rtol,
                atol=atol,
                err_msg=f"step {step}, parameter {name!r}",
            )


@pytest.mark.parametrize("make, reference", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float64_steps_match_numpy(x64, make, reference):
    params, grads = make_problem(np.float64)
    assert_trajectories_close(
        run(make(), params, grads), reference(params, grads), rtol=1e-10, atol=1e-12
    )


@pytest.mark.parametrize("make, reference", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_float32_steps_match_numpy(make, reference):
    params, grads = make_problem(np.float32)
    got = run(make(), params, grads)
    assert all(leaf.dtype == np.float32 for leaf in got[-1].values())
    assert_trajectories_close(got, reference(params, grads), rtol=1e-5, atol=1e-6)


def test_learning_rate_schedule_sees_the_count_before_each_step(x64):
    params, grads = make_problem(np.float64)
    schedule = lambda count: 0.1 / (1.0 + count)  # noqa: E731
    got = run(optim.sgd(schedule), params, grads)
    want, current = [], dict(params)
    for t, grad in enumerate(grads):
        current = {k: current[k] - 0.1 / (1.0 + t) * grad[k] for k in current}
        want.append(current)
    assert_trajectories_close(got, want, rtol=1e-12, atol=1e-14)


def test_adam_state_counts_steps_in_int32():
    params, grads = make_problem(np.float32)
    opt = optim.adam(0.01)
    state = opt.init({k: jnp.asarray(v) for k, v in params.items()})
    for grad in grads:
        _, state = opt.update({k: jnp.asarray(v) for k, v in grad.items()}, state)
    count = state[0].count
    assert count.dtype == np.int32 and count.shape == () and int(count) == len(grads)


def test_step_count_saturates_at_int32_max():
    opt = optim.scale_by_adam()
    params = {"w": jnp.ones(2)}
    state = opt.init(params)._replace(count=jnp.asarray(np.iinfo(np.int32).max, jnp.int32))
    updates, state = opt.update({"w": jnp.ones(2)}, state)
    assert int(state.count) == np.iinfo(np.int32).max
    assert np.all(np.isfinite(np.asarray(updates["w"])))


def test_clip_by_global_norm_rescales_only_above_the_limit():
    grads = {"w": jnp.asarray([[3.0, 0.0], [0.0, 4.0]]), "b": jnp.asarray([12.0])}
    norm = ref.global_norm({k: np.asarray(v) for k, v in grads.items()})
    assert norm == 13.0
    np.testing.assert_allclose(np.asarray(optim.global_norm(grads)), 13.0, rtol=1e-6)
    opt = optim.clip_by_global_norm(6.5)
    clipped, _ = opt.update(grads, opt.init(grads))
    for name in grads:
        np.testing.assert_allclose(np.asarray(clipped[name]), np.asarray(grads[name]) * 0.5)
    opt = optim.clip_by_global_norm(20.0)
    kept, _ = opt.update(grads, opt.init(grads))
    for name in grads:
        np.testing.assert_array_equal(np.asarray(kept[name]), np.asarray(grads[name]))


def test_clip_by_value():
    grads = {"w": jnp.asarray([-2.0, -0.5, 0.25, 3.0])}
    opt = optim.clip(1.0)
    clipped, _ = opt.update(grads, opt.init(grads))
    np.testing.assert_array_equal(np.asarray(clipped["w"]), [-1.0, -0.5, 0.25, 1.0])


def test_chain_applies_transforms_in_order():
    grads = {"w": jnp.asarray([30.0, 40.0])}  # global norm 50
    clip_then_scale = optim.chain(optim.clip_by_global_norm(5.0), optim.scale(0.01))
    scale_then_clip = optim.chain(optim.scale(0.01), optim.clip_by_global_norm(5.0))
    first, _ = clip_then_scale.update(grads, clip_then_scale.init(grads))
    second, _ = scale_then_clip.update(grads, scale_then_clip.init(grads))
    # Clipping first: norm 5, then * 0.01. Scaling first: norm 0.5 < 5, left alone.
    np.testing.assert_allclose(np.asarray(first["w"]), [0.03, 0.04], rtol=1e-6)
    np.testing.assert_allclose(np.asarray(second["w"]), [0.3, 0.4], rtol=1e-6)


def test_chain_state_is_a_tuple_of_the_parts_states():
    params = {"w": jnp.zeros(2)}
    opt = optim.chain(optim.trace(0.9), optim.scale_by_adam(), optim.scale(-1.0))
    state = opt.init(params)
    assert isinstance(state, tuple) and len(state) == 3
    assert isinstance(state[0], optim.TraceState)
    assert isinstance(state[1], optim.ScaleByAdamState)
    assert state[2] == optim.EmptyState()


def test_masked_leaves_pass_through_and_get_no_state():
    params = {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}
    opt = optim.masked(optim.trace(0.5), {"w": True, "b": False})
    state = opt.init(params)
    assert isinstance(state.inner_state.trace["b"], optim.MaskedNode)
    grads = {"w": jnp.full((2, 2), 2.0), "b": jnp.full(2, 3.0)}
    _, state = opt.update(grads, state)
    updates, state = opt.update(grads, state)
    np.testing.assert_array_equal(np.asarray(updates["w"]), np.full((2, 2), 3.0))  # 2 + 0.5*2
    np.testing.assert_array_equal(np.asarray(updates["b"]), np.full(2, 3.0))


def test_prefix_mask_selects_a_whole_subtree():
    params = {"encoder": {"w": jnp.ones(2), "b": jnp.ones(2)}, "head": jnp.ones(2)}
    opt = optim.add_decayed_weights(0.5, mask={"encoder": True, "head": False})
    zeros = tree_map(jnp.zeros_like, params)
    updates, _ = opt.update(zeros, opt.init(params), params)
    np.testing.assert_array_equal(np.asarray(updates["encoder"]["w"]), [0.5, 0.5])
    np.testing.assert_array_equal(np.asarray(updates["encoder"]["b"]), [0.5, 0.5])
    np.testing.assert_array_equal(np.asarray(updates["head"]), [0.0, 0.0])


def test_identity_and_set_to_zero():
    grads = {"w": jnp.asarray([1.0, -2.0])}
    same, _ = optim.identity().update(grads, optim.identity().init(grads))
    zero, _ = optim.set_to_zero().update(grads, optim.set_to_zero().init(grads))
    np.testing.assert_array_equal(np.asarray(same["w"]), [1.0, -2.0])
    np.testing.assert_array_equal(np.asarray(zero["w"]), [0.0, 0.0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: optim.sgd(0.1, momentum=0.9),
        lambda: optim.adam(1e-3),
        lambda: optim.adamw(1e-3),
        lambda: optim.rmsprop(1e-3, centered=True, momentum=0.9),
        lambda: optim.adagrad(0.1),
    ],
    ids=["sgd", "adam", "adamw", "rmsprop", "adagrad"],
)
def test_bfloat16_params_keep_their_dtype(make):
    params = {"w": jnp.ones((2, 3), jnp.bfloat16), "b": jnp.zeros(3, jnp.float32)}
    opt = make()
    state = opt.init(params)
    grads = tree_map(lambda p: jnp.full_like(p, 0.5), params)
    for _ in range(2):
        updates, state = opt.update(grads, state, params)
        params = optim.apply_updates(params, updates)
    assert params["w"].dtype == jnp.bfloat16 and params["b"].dtype == np.float32
    assert updates["w"].dtype == jnp.bfloat16
    # Moments take their parameter's dtype; step counts are int32.
    state_dtypes = {np.dtype(leaf.dtype) for leaf in tree_leaves(state)}
    assert state_dtypes - {np.dtype(np.int32)} == {np.dtype(jnp.bfloat16), np.dtype(np.float32)}


def test_adam_mu_dtype_keeps_the_first_moment_in_float32():
    params = {"w": jnp.ones(3, jnp.bfloat16)}
    opt = optim.adam(0.1, mu_dtype=jnp.float32)
    state = opt.init(params)
    updates, state = opt.update({"w": jnp.full(3, 0.5, jnp.bfloat16)}, state, params)
    assert state[0].mu["w"].dtype == np.float32
    assert state[0].nu["w"].dtype == jnp.bfloat16
    assert optim.apply_updates(params, updates)["w"].dtype == jnp.bfloat16
