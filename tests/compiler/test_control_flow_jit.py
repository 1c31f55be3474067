"""Control flow under jit: each body compiles once into a program of its own (for the
enclosing program's backend) and the loop runs it without interpreting the IR; values
match eager evaluation on both backends; DCE narrows loops to the outputs that are used."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.config import config
from funcgrad.core.jaxpr import check_jaxpr
from funcgrad.lax import control_flow

rng = np.random.default_rng(21)
X = rng.normal(size=(3,)).astype(np.float32)
XS = rng.normal(size=(6, 3)).astype(np.float32)
BACKENDS = ["numpy", "llvm"]


@pytest.fixture
def every_group_native(monkeypatch):
    """The LLVM backend compiles even tiny groups (loop bodies here are tiny)."""
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")


def _eager(fun, *args):
    config.update("jax_disable_jit", True)
    try:
        return fun(*args)
    finally:
        config.update("jax_disable_jit", False)


def _rnn_loss(w, xs):
    def step(h, x):
        h = jnp.tanh(h * w + x)
        return h, h.sum()

    return lax.scan(step, jnp.zeros(3), xs)[1].sum()


PROGRAMS = {
    "cond": (lambda p, x: lax.cond(p, lambda a: jnp.sin(a) * 2.0, jnp.cos, x), (True, X)),
    "cond_false": (lambda p, x: lax.cond(p, lambda a: jnp.sin(a) * 2.0, jnp.cos, x), (False, X)),
    "switch": (lambda i, x: lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], x), (np.int32(2), X)),
    "while": (
        lambda n, x: lax.while_loop(lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 1.5), (0, x)),
        (np.int32(4), X),
    ),
    "fori_static": (lambda x: lax.fori_loop(0, 5, lambda i, c: c * 0.5 + i, x), (X,)),
    "fori_traced": (lambda n, x: lax.fori_loop(0, n, lambda i, c: c * 0.5 + i, x), (5, X)),
    "scan": (lambda w, xs: lax.scan(lambda c, x: (jnp.tanh(c * w + x), c * x), X, xs), (0.7, XS)),
    "scan_reverse": (
        lambda xs: lax.scan(lambda c, x: (c + x, c), jnp.zeros(3), xs, reverse=True),
        (XS,),
    ),
    "map": (lambda xs: lax.map(lambda r: jnp.sin(r) * r.sum(), xs), (XS,)),
    "grad_scan": (fg.grad(_rnn_loss, argnums=(0, 1)), (np.float32(0.8), XS)),
    "vmap_while": (
        fg.vmap(
            lambda n, x: lax.while_loop(
                lambda c: c[0] < n, lambda c: (c[0] + 1, c[1] * 2.0), (0, x)
            )
        ),
        (np.array([0, 3, 1], np.int32), XS[:3]),
    ),
}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_jit_matches_eager(name, backend, every_group_native):
    fun, args = PROGRAMS[name]
    want = fg.tree_util.tree_leaves(_eager(fun, *args))
    got = fg.tree_util.tree_leaves(fg.jit(fun, backend=backend)(*args))
    assert len(got) == len(want)
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.asarray(w).dtype
        np.testing.assert_allclose(g, w, rtol=2e-5, atol=1e-6)


@pytest.mark.eager_only("replaces the impls the eager reference would call")
@pytest.mark.parametrize("backend", BACKENDS)
def test_loop_bodies_run_compiled_not_interpreted(backend, every_group_native, monkeypatch):
    fun, args = PROGRAMS["grad_scan"]
    want = fun(*args)

    # Neither the primitives' impls (which evaluate bodies equation by equation) nor the
    # reference interpreter may run once the program is compiled.
    def refuse(*args, **params):
        raise AssertionError("a control-flow body was interpreted")

    jitted = fg.jit(fun, backend=backend)
    compiled = jitted.lower(*args).compile()
    for primitive in (control_flow.scan_p, control_flow.cond_p, control_flow.while_p):
        monkeypatch.setattr(primitive, "impl", refuse)
    monkeypatch.setattr(control_flow, "eval_jaxpr", refuse)
    got = compiled.program(*[np.asarray(a) for a in args])
    for g, w in zip(got, want):
        np.testing.assert_allclose(g, w, rtol=2e-5)
    assert "flow" in compiled.program.source
    assert len(compiled.program.bodies) == 2  # the forward scan and the transposed one


def test_llvm_bodies_get_native_kernels(every_group_native):
    fun, args = PROGRAMS["scan"]
    compiled = fg.jit(fun, backend="llvm").lower(*args).compile()
    (body,) = compiled.program.bodies
    assert body.natives, body.source
    assert not fg.jit(fun, backend="numpy").lower(*args).compile().program.bodies[0].natives


def test_each_body_compiles_once_per_signature():
    calls = []
    fun = fg.jit(lambda x: lax.fori_loop(0, 50, lambda i, c: c * 0.9 + 1.0, x))
    for _ in range(3):
        calls.append(float(fun(np.float32(1.0))))
    assert fun.trace_count == 1
    want = 1.0
    for _ in range(50):
        want = want * 0.9 + 1.0
    np.testing.assert_allclose(calls, [want] * 3, rtol=1e-5)


def test_nested_control_flow_under_jit():
    def f(w, xs):
        def outer(c, x):
            def inner(c):
                return lax.scan(lambda a, b: (a * w + b, a), c, xs)[0]

            c = lax.cond(x.sum() > 0, inner, lambda c: c * 2.0, c)
            return c, c.sum()

        return lax.scan(outer, jnp.ones(3), xs)

    for backend in BACKENDS:
        got = fg.jit(f, backend=backend)(np.float32(0.5), XS)
        want = _eager(f, np.float32(0.5), XS)
        np.testing.assert_allclose(got[1], want[1], rtol=1e-5)
        grad = fg.jit(fg.grad(lambda w: f(w, XS)[1].sum()), backend=backend)(np.float32(0.5))
        want_grad = _eager(fg.grad(lambda w: f(w, XS)[1].sum()), np.float32(0.5))
        np.testing.assert_allclose(grad, want_grad, rtol=1e-5)


def test_lowered_text_shows_the_loop_as_an_opaque_group():
    fun, args = PROGRAMS["scan"]
    lowered = fg.jit(fun).lower(*args)
    text = lowered.as_text()
    assert "opaque" in text and "scan[" in text
    check_jaxpr(lowered.optimized)


def test_dce_drops_unused_scan_outputs_and_dead_carries():
    def f(xs):
        def step(carry, x):
            used, unused = carry
            return (used + x, unused * x), (jnp.sin(x), x * 2.0)

        (used, _), (_, doubled) = lax.scan(step, (jnp.zeros(3), jnp.ones(3)), xs)
        return used, doubled

    closed = fg.make_jaxpr(f)(XS)
    (scan,) = [e for e in closed.eqns if e.primitive.name == "scan"]
    pruned = dce_jaxpr(closed.jaxpr)
    (narrow,) = [e for e in pruned.eqns if e.primitive.name == "scan"]
    assert len(scan.outvars) == 4 and len(narrow.outvars) == 2
    assert narrow.params["num_carry"] == 1
    assert "sin" not in str(narrow.params["jaxpr"])
    check_jaxpr(pruned)
    used, doubled = fg.jit(f)(XS)
    np.testing.assert_allclose(used, XS.sum(axis=0), rtol=1e-5)
    np.testing.assert_allclose(doubled, XS * 2.0)


def test_dce_drops_unused_cond_outputs_in_every_branch():
    def f(p, x):
        return lax.cond(p, lambda a: (jnp.sin(a), jnp.exp(a)), lambda a: (a, jnp.log(a)), x)[0]

    closed = fg.make_jaxpr(f)(True, X)
    (narrow,) = dce_jaxpr(closed.jaxpr).eqns
    assert len(narrow.outvars) == 1
    text = str(narrow.params["branches"])
    assert "exp" not in text and "log" not in text
    np.testing.assert_allclose(fg.jit(f)(True, X), np.sin(X), rtol=1e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_effects_in_a_compiled_body_run_every_iteration(backend, capsys):
    def f(xs):
        def step(c, x):
            fg.debug.print("c={c}", c=c)
            return c + x, None

        return lax.scan(step, np.float32(0.0), xs)[0]

    assert float(fg.jit(f, backend=backend)(np.arange(3.0, dtype=np.float32))) == 3.0
    assert capsys.readouterr().out == "c=0.0\nc=0.0\nc=1.0\n"


def test_a_jitted_function_inside_a_body_is_inlined_into_it():
    inner = fg.jit(lambda c, x: jnp.sin(c) + x)
    f = fg.jit(
        lambda xs: lax.scan(lambda c, x: (inner(c, x), c), np.float32(0.0), xs), backend="numpy"
    )
    carry, ys = f(XS[:, 0])
    want_carry, want_ys = 0.0, []
    for x in XS[:, 0]:
        want_ys.append(want_carry)
        want_carry = np.sin(want_carry) + x
    np.testing.assert_allclose(carry, want_carry, rtol=1e-5)
    np.testing.assert_allclose(ys, want_ys, rtol=1e-5)
    body = f.lower(XS[:, 0]).compile().program.bodies[0]
    assert "closed_call" not in body.source and "sin" in body.source


def test_cse_merges_separately_traced_identical_loops_only():
    from funcgrad.compiler.passes.cse import cse

    def twice(xs, scale):
        first = lax.scan(lambda c, x: (c * 0.5 + x, None), 0.0, xs)[0]
        second = lax.scan(lambda c, x: (c * 0.5 + x, None), 0.0, xs)[0]
        other = lax.scan(lambda c, x: (c * scale + x, None), 0.0, xs)[0]
        return first + second + other

    closed = fg.make_jaxpr(twice)(XS[:, 0], np.float32(0.25))
    assert _count(closed, "scan") == 3
    merged = cse(closed)
    assert _count(merged, "scan") == 2
    check_jaxpr(merged)
    want = _eager(twice, XS[:, 0], np.float32(0.25))
    np.testing.assert_allclose(fg.jit(twice)(XS[:, 0], np.float32(0.25)), want, rtol=1e-5)


def _count(closed, name):
    return sum(e.primitive.name == name for e in closed.eqns)
