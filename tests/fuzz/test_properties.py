"""Differential fuzzing: random programs (fuzz_programs.py) run through every transform and
backend, each result checked against an independent computation of the same thing.

- jit under the numpy backend, the llvm backend, and llvm with every group native
  (FUNCGRAD_LLVM_MIN_SIZE=0) equals eager evaluation;
- `eval_jaxpr(make_jaxpr(f))` equals f, and the type checker accepts the traced program,
  the compiler's optimized program, and the traced grad and vmap programs;
- vmap equals a Python loop over the batch;
- jvp and grad equal central finite differences (float64), and <vjp(u), v> == <u, jvp(v)>.

CI runs a bounded number of programs with derandomized seeds; FUNCGRAD_FUZZ_PROGRAMS=N
(or `python -m tests.fuzz --programs N`) runs N programs per property with fresh seeds.
The fuzz tests run in the eager pass of CI only: they jit explicitly already.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np
import pytest
from fuzz_programs import ANY, SMOOTH, Program, make_inputs, programs
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import funcgrad as fg
from funcgrad.core.jaxpr import check_jaxpr, eval_jaxpr

LONG_RUN = int(os.environ.get("FUNCGRAD_FUZZ_PROGRAMS", "0"))

pytestmark = pytest.mark.eager_only("fuzz programs jit explicitly; one pass is enough")


def fuzz_settings(ci_examples: int):
    """Derandomized and bounded in CI; FUNCGRAD_FUZZ_PROGRAMS=N for a long random run."""
    return settings(
        max_examples=LONG_RUN or ci_examples,
        derandomize=not LONG_RUN,
        database=None,
        deadline=None,
        print_blob=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@pytest.fixture(autouse=True, scope="module")
def x64_for_the_module():
    previous = fg.config.jax_enable_x64
    fg.config.update("jax_enable_x64", True)
    yield
    fg.config.update("jax_enable_x64", previous)


@contextlib.contextmanager
def every_group_native():
    previous = os.environ.get("FUNCGRAD_LLVM_MIN_SIZE")
    os.environ["FUNCGRAD_LLVM_MIN_SIZE"] = "0"
    try:
        yield
    finally:
        if previous is None:
            del os.environ["FUNCGRAD_LLVM_MIN_SIZE"]
        else:
            os.environ["FUNCGRAD_LLVM_MIN_SIZE"] = previous


TOLERANCE = {np.dtype(np.float16): 2e-2, np.dtype(np.float32): 1e-4, np.dtype(np.float64): 1e-9}


def assert_same(got, want, what: str, program: Program) -> None:
    """Same structure, shapes and dtypes; values equal (floats to a few ulps of the least
    precise float dtype the program computes in: a float32 cos one ulp apart stays one
    float32 ulp apart after a cast to float64)."""
    got, want = tuple(got), tuple(want)
    assert len(got) == len(want), what
    float_dtypes = [np.dtype(a.dtype) for a in program.avals if a.is_float]
    tol = max((TOLERANCE[d] for d in float_dtypes), default=0.0)
    for n, (g, w) in enumerate(zip(got, want)):
        g, w = np.asarray(g), np.asarray(w)
        message = f"{what}, output {n}\n{program!r}"
        assert g.shape == w.shape and g.dtype == w.dtype, (
            message + f"\n{g.shape} {g.dtype} vs {w.shape} {w.dtype}"
        )
        if g.dtype.kind == "f":
            scale = np.max(np.abs(w[np.isfinite(w)]), initial=1.0)
            np.testing.assert_allclose(g, w, rtol=tol, atol=tol * scale, err_msg=message)
        else:
            np.testing.assert_array_equal(g, w, err_msg=message)


def assert_matches_generator(outs, program: Program) -> None:
    for out, position in zip(outs, program.outputs):
        aval = program.avals[position]
        assert (np.shape(out), str(np.asarray(out).dtype)) == (aval.shape, aval.dtype), program


seeds = st.integers(0, 2**32 - 1)


@fuzz_settings(150)
@given(programs(ANY), seeds)
def test_jit_on_every_backend_equals_eager(program, seed):
    inputs = make_inputs(program, seed)
    eager = program(*inputs)
    assert_matches_generator(eager, program)
    assert_same(fg.jit(program, backend="numpy")(*inputs), eager, "jit numpy", program)
    assert_same(fg.jit(program, backend="llvm")(*inputs), eager, "jit llvm", program)
    with every_group_native():
        native = fg.jit(program, backend="llvm")(*inputs)
    assert_same(native, eager, "jit llvm, every group native", program)


@fuzz_settings(200)
@given(programs(ANY), seeds)
def test_traced_and_optimized_programs_type_check_and_evaluate(program, seed):
    inputs = make_inputs(program, seed)
    closed = fg.make_jaxpr(program)(*inputs)
    check_jaxpr(closed)
    evaluated = eval_jaxpr(closed.jaxpr, closed.consts, *inputs)
    assert_same(evaluated, program(*inputs), "eval_jaxpr(make_jaxpr(f))", program)
    optimized = fg.jit(program, backend="numpy").lower(*inputs).optimized
    check_jaxpr(optimized)
    assert_same(
        eval_jaxpr(optimized.jaxpr, optimized.consts, *inputs),
        evaluated,
        "eval_jaxpr(optimized program)",
        program,
    )


@fuzz_settings(150)
@given(programs(ANY), seeds, st.data())
def test_vmap_equals_a_loop(program, seed, data):
    batch = data.draw(st.sampled_from([1, 2, 3]), label="batch")
    axes = [
        data.draw(st.one_of(st.none(), st.integers(0, len(aval.shape))), label="in_axis")
        for aval in program.inputs
    ]
    inputs = make_inputs(program, seed, batch, axes)
    batched = fg.vmap(program, in_axes=tuple(axes), axis_size=batch)(*inputs)

    def example(b):
        return [x if a is None else np.take(x, b, axis=a) for x, a in zip(inputs, axes)]

    looped = [program(*example(b)) for b in range(batch)]
    want = [np.stack([np.asarray(out[n]) for out in looped]) for n in range(len(program.outputs))]
    assert_same(batched, want, f"vmap in_axes={axes} batch={batch}", program)
    check_jaxpr(fg.make_jaxpr(fg.vmap(program, in_axes=tuple(axes), axis_size=batch))(*inputs))


def _inner(xs, ys) -> float:
    return float(
        sum(np.sum(np.asarray(x, np.float64) * np.asarray(y, np.float64)) for x, y in zip(xs, ys))
    )


def _close(got: float, want: float, scale: float, what: str, program: Program) -> None:
    assert abs(got - want) <= 1e-6 * (1.0 + scale), f"{what}: {got} vs {want}\n{program!r}"


@fuzz_settings(150)
@given(programs(SMOOTH), seeds)
def test_derivatives_match_finite_differences(program, seed):
    rng = np.random.default_rng(seed)
    inputs = [np.array(x, order="C") for x in make_inputs(program, seed)]
    direction = [rng.standard_normal(x.shape) for x in inputs]
    weights = [rng.standard_normal(program.avals[p].shape) for p in program.outputs]

    def loss(*xs):
        return sum(fg.numpy.sum(w * out) for w, out in zip(weights, program(*xs)))

    # Finite differences mean nothing where the function overflows or leaves its domain.
    assume(all(np.all(np.isfinite(np.asarray(out))) for out in program(*inputs)))
    eps = 1e-6
    plus = program(*[x + eps * d for x, d in zip(inputs, direction)])
    minus = program(*[x - eps * d for x, d in zip(inputs, direction)])
    numeric = [(np.asarray(p) - np.asarray(m)) / (2 * eps) for p, m in zip(plus, minus)]

    _, tangents = fg.jvp(program, tuple(inputs), tuple(direction))
    for got, want in zip(tangents, numeric):
        got = np.asarray(got)
        scale = np.max(np.abs(want), initial=0.0)
        np.testing.assert_allclose(
            got, want, rtol=1e-5, atol=1e-5 * (1 + scale), err_msg=f"jvp vs FD\n{program!r}"
        )

    argnums = tuple(range(len(inputs)))
    grads = fg.grad(loss, argnums=argnums)(*inputs)
    fd_loss = _inner(weights, numeric)
    terms = sum(float(np.sum(np.abs(np.asarray(g) * d))) for g, d in zip(grads, direction))
    _close(_inner(grads, direction), fd_loss, terms, "grad vs FD", program)

    outs, pullback = fg.vjp(program, *inputs)
    pulled = pullback(tuple(fg.numpy.asarray(w) for w in weights))
    forward = _inner(weights, tangents)
    _close(_inner(pulled, direction), forward, terms, "<vjp(u), v> vs <u, jvp(v)>", program)

    check_jaxpr(fg.make_jaxpr(fg.grad(loss, argnums=argnums))(*inputs))
    jitted = fg.jit(fg.grad(loss, argnums=argnums), backend="numpy")(*inputs)
    assert_same(jitted, grads, "jit(grad) vs grad", program)
