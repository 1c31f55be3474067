"""jit, first slice: compiled results equal eager ones, one trace per signature, static
arguments, composition with grad/vmap/make_jaxpr/jit, disable_jit, and the errors."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import config, lax

rng = np.random.default_rng(11)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def _mlp(p, x):
    return jnp.tanh(x @ p["w"] + p["b"]).sum(axis=-1)


PROGRAMS = [
    ("elementwise", lambda x, y: jnp.sin(x) * y + 1.0, (f32(4), f32(4))),
    ("broadcast and reduce", lambda x, y: (x[:, None] * y).max(axis=0), (f32(3), f32(3, 5))),
    ("mlp pytree", _mlp, ({"w": f32(3, 4), "b": f32(4)}, f32(2, 3))),
    ("indexing", lambda x, i: x[i] + x.at[i].add(1.0).sum(), (f32(5), np.int32(2))),
    ("sort and cumsum", lambda x: jnp.cumsum(jnp.sort(x)), (f32(6),)),
    ("linalg", lambda a: jnp.linalg.solve(a @ a.T + 3 * jnp.eye(3), jnp.ones(3)), (f32(3, 3),)),
    ("multiple outputs", lambda x: (x.sum(), {"m": x.mean(), "s": x.std()}), (f32(5),)),
    ("integers and bools", lambda n: (n * 3 - 1, n > 2), (np.arange(5, dtype=np.int32),)),
]


@pytest.mark.parametrize("name, fun, args", PROGRAMS, ids=[p[0] for p in PROGRAMS])
def test_compiled_equals_eager(name, fun, args):
    compiled = fg.jit(fun)(*args)
    eager = fun(*fg.tree.map(jnp.asarray, args))
    for c, e in zip(fg.tree.leaves(compiled), fg.tree.leaves(eager)):
        assert isinstance(c, fg.Array) and c.dtype == e.dtype and c.shape == e.shape
        np.testing.assert_allclose(np.asarray(c), np.asarray(e), rtol=1e-6, atol=1e-6)


def test_one_trace_per_signature():
    f = fg.jit(lambda x: x * 2.0)
    f(f32(3))
    f(f32(3))
    assert f.trace_count == 1
    f(f32(4))
    f(np.ones(3, np.float16))
    assert f.trace_count == 3
    f(f32(3))
    assert f.trace_count == 3


def test_static_arguments_by_position_and_name():
    f = fg.jit(lambda x, n, scale=1.0: x * n * scale, static_argnums=1, static_argnames="scale")
    x = f32(3)
    np.testing.assert_allclose(f(x, 3), x * 3, rtol=1e-6)
    np.testing.assert_allclose(f(x, 3, scale=2.0), x * 6, rtol=1e-6)
    f(x, 3)
    assert f.trace_count == 2
    f(x, 4)
    assert f.trace_count == 3


def test_python_control_flow_on_static_arguments():
    f = fg.jit(lambda x, mode: jnp.sin(x) if mode == "sin" else jnp.cos(x), static_argnums=1)
    x = f32(3)
    np.testing.assert_allclose(f(x, "sin"), np.sin(x), rtol=1e-6)
    np.testing.assert_allclose(f(x, "cos"), np.cos(x), rtol=1e-6)


def test_composition_with_grad_vmap_and_itself():
    x = f32(4)
    f = fg.jit(lambda v: jnp.sin(v) * v)
    np.testing.assert_allclose(
        fg.grad(lambda v: f(v).sum())(x), np.cos(x) * x + np.sin(x), rtol=1e-5
    )
    np.testing.assert_allclose(fg.jit(fg.grad(lambda v: (v**3).sum()))(x), 3 * x**2, rtol=1e-5)
    xs = f32(2, 4)
    np.testing.assert_allclose(fg.vmap(f)(xs), np.sin(xs) * xs, rtol=1e-6)
    np.testing.assert_allclose(fg.jit(fg.vmap(f))(xs), np.sin(xs) * xs, rtol=1e-6)
    np.testing.assert_allclose(fg.jit(lambda v: f(v) + 1.0)(x), np.sin(x) * x + 1, rtol=1e-6)
    assert "closed_call" in str(fg.make_jaxpr(f)(x))


def test_closure_over_arrays_is_a_constant():
    table = f32(3)
    f = fg.jit(lambda x: x + table)
    np.testing.assert_allclose(f(f32(3) * 0), table, rtol=1e-6)


def test_disable_jit_runs_python(monkeypatch):
    calls = []

    def fun(x):
        calls.append(type(x).__name__)
        return x * 2

    f = fg.jit(fun)
    previous = config.jax_disable_jit
    config.update("jax_disable_jit", True)
    try:
        f(f32(2))
    finally:
        config.update("jax_disable_jit", previous)
    assert calls == ["ndarray"] and f.trace_count == 0


def test_non_hashable_static_argument():
    f = fg.jit(lambda x, shape: x.reshape(shape), static_argnums=1)
    with pytest.raises(
        TypeError, match="static argument 1 is a list, which is not hashable.*test_jit.py"
    ):
        f(f32(4), [2, 2])


def test_python_if_on_a_traced_value_suggests_static_argnums():
    f = fg.jit(lambda x: x if x.sum() > 0 else -x)
    with pytest.raises(fg.errors.ConcretizationTypeError, match="static_argnums"):
        f(f32(3))


def test_inputs_are_not_mutated_or_aliased():
    x = f32(3)
    out = fg.jit(lambda v: v)(x)
    x[0] = 100.0
    assert float(out[0]) != 100.0
    assert x.flags.writeable
    assert lax.add(out, 0.0).shape == (3,)


def test_dead_code_is_not_compiled():
    def f(x):
        unused = jnp.exp(x) * 3.0  # noqa: F841
        return jnp.sin(x)

    jitted = fg.jit(f, backend="numpy")
    np.testing.assert_allclose(jitted(f32(3) * 0), 0.0)
    (entry,) = jitted._cache.values()
    # Traced: exp, mul, sin; compiled: only sin.
    assert len(entry.closed.eqns) == 3
    kernels = jitted.lower(f32(3)).compile().as_text()
    assert "np.sin(" in kernels and "exp" not in kernels and "multiply" not in kernels


def test_lower_shows_the_optimized_program_with_its_fusion_groups():
    def layer(x, w, b):
        return jnp.maximum(x @ w + b, 0.0).sum(axis=1)

    text = fg.jit(layer).lower(f32(2, 3), f32(3, 4), f32(4)).as_text()
    lines = [line.strip() for line in text.splitlines()]
    assert lines[1].startswith("# fusion 0: matmul[2,4] float32, 4 ops")
    assert [line.split(" = ")[1].split("[")[0].split(" ")[0] for line in lines[2:6]] == [
        "dot_general",
        "broadcast_in_dim",
        "add",
        "max",
    ]
    assert lines[6].startswith("# fusion 1: reduction[2,4]")


def test_compile_shows_kernels_and_counts_flops_and_bytes():
    m, k, n = 5, 3, 4

    def layer(x, w):
        return jnp.tanh(x @ w)

    compiled = fg.jit(layer, backend="numpy").lower(f32(m, k), f32(k, n)).compile()
    text = compiled.as_text()
    assert "dot_into(" in text and "np.tanh(" in text
    cost = compiled.cost_analysis()
    # 2mkn for the product, one op per output element for tanh (a transcendental).
    assert cost["flops"] == 2 * m * k * n + m * n
    assert cost["transcendentals"] == m * n
    # The fused group reads x and w once and writes the result once; the product stays inside.
    assert cost["bytes accessed"] == 4 * (m * k + k * n + m * n)


def test_cached_calls_take_the_fast_path_and_still_see_disable_jit(monkeypatch):
    calls = []

    def f(x):
        calls.append(1)
        return x * 2.0

    jitted = fg.jit(f)
    x = jnp.asarray(f32(4))
    np.testing.assert_allclose(jitted(x), np.asarray(x) * 2, rtol=1e-6)
    np.testing.assert_allclose(jitted(x), np.asarray(x) * 2, rtol=1e-6)
    assert jitted.trace_count == 1 and len(calls) == 1
    config.update("jax_disable_jit", True)
    try:
        jitted(x)
    finally:
        config.update("jax_disable_jit", False)
    assert len(calls) == 2  # ran as Python, not from the cache


def test_donated_buffer_is_reused_for_the_output_and_the_argument_is_deleted():
    def update(params, grads):
        return params - 0.5 * grads

    step = fg.jit(update, donate_argnums=0, backend="numpy")
    params_np, grads_np = f32(64), f32(64)
    params = jnp.asarray(params_np)
    address = params._value.ctypes.data
    new = step(params, jnp.asarray(grads_np))
    np.testing.assert_allclose(new, params_np - 0.5 * grads_np, rtol=1e-6)
    assert new._value.ctypes.data == address  # written into the donated memory
    assert params.is_deleted() and not new.is_deleted()
    with pytest.raises(RuntimeError, match=r"donated to jit\(update\).*test_jit\.py:\d+"):
        params + 1.0
    with pytest.raises(RuntimeError, match="deleted"):
        np.asarray(params)


def test_donating_a_shared_buffer_copies_it_and_leaves_the_sharers_intact():
    step = fg.jit(lambda p: p * 3.0, donate_argnums=(0,))
    p = jnp.asarray(np.arange(6, dtype=np.float32))
    view = p.reshape(2, 3)  # may share p's memory
    out = step(p)
    np.testing.assert_allclose(out, np.arange(6) * 3.0)
    np.testing.assert_allclose(view, np.arange(6).reshape(2, 3))


def test_donated_argument_still_needed_is_not_overwritten_early():
    step = fg.jit(lambda p: (p * 2.0, p.sum()), donate_argnums=0)
    values = f32(8)
    doubled, total = step(jnp.asarray(values))
    np.testing.assert_allclose(doubled, values * 2, rtol=1e-6)
    np.testing.assert_allclose(total, values.sum(), rtol=1e-5)


def test_numpy_arguments_are_donated_as_copies():
    values = f32(5)
    out = fg.jit(lambda p: p + 1.0, donate_argnums=0)(values)
    np.testing.assert_allclose(out, values + 1, rtol=1e-6)
    assert values.flags.writeable  # the caller's NumPy array is untouched and usable


def test_backend_argument():
    x = f32(3)
    for name in (None, "numpy", "cpu"):
        np.testing.assert_allclose(fg.jit(jnp.sin, backend=name)(x), np.sin(x), rtol=1e-6)
    with pytest.raises(ValueError, match=r"unknown backend 'tpu'.*test_jit\.py:\d+.*numpy"):
        fg.jit(jnp.sin, backend="tpu")


def test_jit_of_a_non_function_says_to_pass_the_function():
    with pytest.raises(TypeError, match=r"jit expects a function.*test_jit\.py:\d+"):
        fg.jit(jnp.sin(f32(2)))


def test_statics_equal_in_python_but_of_other_types_compile_separately():
    scale = fg.jit(lambda x, c: x * c, static_argnums=1)
    ints = np.ones(2, np.int32)
    assert scale(ints, 1).dtype == np.int32
    assert scale(ints, 1.0).dtype == np.float32  # 1 == 1.0, but the program differs
    signs = fg.jit(lambda x, c: x * c, static_argnums=1)
    assert np.signbit(np.asarray(signs(np.ones(1, np.float32), -0.0))).all()
    assert not np.signbit(np.asarray(signs(np.ones(1, np.float32), 0.0))).any()


def test_outputs_are_read_only_once_exposed_to_numpy():
    out = fg.jit(lambda x: jnp.sin(x) + 1.0)(jnp.asarray(f32(4)))
    view = np.asarray(out)
    with pytest.raises(ValueError, match="read-only"):
        view[0] = 5.0
    scalar = fg.jit(lambda x: x.sum())(jnp.asarray(f32(4)))
    with pytest.raises(ValueError, match="read-only"):
        np.asarray(scalar)[()] = 5.0


def test_a_tracer_leaked_from_jit_names_where_it_was_created():
    leaked = []

    @fg.jit
    def f(x):
        leaked.append(x)
        return x * 2.0

    x = jnp.asarray(f32(3))
    f(x)
    for use in (lambda: jnp.sin(leaked[0]), lambda: f(leaked[0])):
        with pytest.raises(fg.errors.UnexpectedTracerError) as info:
            use()
        message = str(info.value)
        assert "jit of f" in message and "test_jit.py:" in message


@pytest.mark.parametrize("level", [0, 1, 2, 3])
def test_funcgrad_debug_shows_the_stages_of_each_compilation(level, monkeypatch, capsys):
    monkeypatch.setenv("FUNCGRAD_DEBUG", str(level))

    def double_sine(x):
        return jnp.sin(x) * 2.0

    fg.jit(double_sine, backend="numpy")(f32(3))
    err = capsys.readouterr().err
    titles = ["traced", "optimized", "kernels"]
    for index, title in enumerate(titles):
        assert (f"--- jit(double_sine) {title} ---" in err) == (index < level)
    if level >= 1:
        assert "sin" in err and "mul" in err
    if level >= 2:
        assert "# fusion 0: elementwise[3]" in err
    if level >= 3:
        assert "np.sin(" in err
