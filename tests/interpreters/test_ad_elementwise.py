"""Differentiation rules of the elementwise primitives (funcgrad/lax/elementwise.py).

Every differentiable primitive is checked by `check_grads` to second order in both modes
on float32 inputs away from kinks and singularities; the complex rules by a checker that
compares jvp with finite differences along complex directions and vjp with jvp through
the pairing Re(sum(u * v)) that funcgrad's (and JAX's) cotangents use; non-differentiable
primitives and the conventions at ties by hand-derived values. A registry test, run in a
fresh interpreter, fails when an elementwise primitive lacks a jvp rule or a primitive
that tangents flow through lacks a transpose rule.
"""

import math
import warnings

import numpy as np
import pytest
from primitive_registry import rules_of_every_primitive

import funcgrad as fg
from funcgrad import lax
from funcgrad.interpreters import ad
from funcgrad.lax import elementwise
from funcgrad.test_util import check_grads

rng = np.random.default_rng(0)


def f32(*shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def signed(*shape, low=0.3, high=2.0):
    """float32 values with |x| in [low, high] and mixed signs (away from a kink at 0)."""
    magnitude = rng.uniform(low, high, size=shape)
    return (magnitude * np.where(rng.random(shape) < 0.5, -1, 1)).astype(np.float32)


def c64(*shape, low=0.3, high=1.0):
    """complex64 values with real and imaginary parts in [low, high] (off every branch cut)."""
    parts = rng.uniform(low, high, size=(2, *shape))
    return (parts[0] + 1j * parts[1]).astype(np.complex64)


# ---------------------------------------------------------------------------------------
# check_grads, order 2, forward and reverse, on float32

UNARY = [
    ("rsqrt", lax.rsqrt, f32(4, low=0.5)),
    ("cbrt", lax.cbrt, signed(4)),
    ("abs", lax.abs, signed(5)),
    ("tan", lax.tan, f32(4, low=-1.2, high=1.2)),
    ("asin", lax.asin, f32(4, low=-0.8, high=0.8)),
    ("acos", lax.acos, f32(4, low=-0.8, high=0.8)),
    ("atan", lax.atan, f32(4)),
    ("sinh", lax.sinh, f32(4)),
    ("cosh", lax.cosh, f32(4)),
    ("asinh", lax.asinh, f32(4)),
    ("acosh", lax.acosh, f32(4, low=1.3, high=3.0)),
    ("atanh", lax.atanh, f32(4, low=-0.7, high=0.7)),
    ("exp2", lax.exp2, f32(4)),
    ("erf", lax.erf, f32(4)),
    ("erfc", lax.erfc, f32(4)),
    ("erf_inv", lax.erf_inv, f32(4, low=-0.8, high=0.8)),
    ("lgamma", lax.lgamma, f32(4, low=0.5, high=4.0)),
    ("lgamma negative", lax.lgamma, f32(3, low=-1.8, high=-1.2)),
    ("digamma", lax.digamma, f32(4, low=0.5, high=4.0)),
    ("digamma reflected", lax.digamma, f32(3, low=-2.7, high=-2.3)),
    ("polygamma", lambda x: elementwise.polygamma(2.0, x), f32(4, low=0.5, high=4.0)),
    ("real of complex", lambda x: lax.real(lax.complex(x, x * x)), f32(3)),
    ("imag of complex", lambda x: lax.imag(lax.complex(x, x * x)), f32(3)),
    ("conj of real", lambda x: lax.imag(lax.conj(x) * (1 + 2j)), f32(3)),
    ("abs of complex", lambda x: lax.abs(lax.complex(x, 1.5 - x)), f32(3)),
]
BINARY = [
    ("atan2", lax.atan2, signed(4), signed(4)),
    ("rem", lax.rem, f32(5, low=-9.0, high=9.0), signed(5, low=0.7)),
    ("rem scalar divisor", lax.rem, f32(4, low=-9.0, high=9.0), np.float32(1.7)),
    ("complex", lambda x, y: lax.abs(lax.complex(x, y)), signed(3), signed(3)),
]


def _clamp_operands(scalar_bounds):
    # Each element sits clearly inside, below or above [low, high] (never at a tie).
    shape = () if scalar_bounds else (6,)
    low = np.full(shape, -1.0, np.float32) + f32(*shape, low=-0.5, high=0.0)
    high = np.full(shape, 1.0, np.float32) + f32(*shape, low=0.0, high=0.5)
    x = np.array([-3.0, -2.5, -0.4, 0.3, 2.2, 3.1], np.float32)
    return low, x, high


TERNARY = [
    ("clamp", lax.clamp, _clamp_operands(False)),
    ("clamp scalar bounds", lax.clamp, _clamp_operands(True)),
]


@pytest.mark.parametrize("name, fun, x", UNARY, ids=[u[0] for u in UNARY])
def test_unary(name, fun, x):
    check_grads(fun, (x,), order=2)


@pytest.mark.parametrize("name, fun, x, y", BINARY, ids=[b[0] for b in BINARY])
def test_binary(name, fun, x, y):
    check_grads(fun, (x, y), order=2)


@pytest.mark.parametrize("name, fun, args", TERNARY, ids=[t[0] for t in TERNARY])
def test_ternary(name, fun, args):
    check_grads(fun, args, order=2)


# ---------------------------------------------------------------------------------------
# Complex: check_grads pairs real vectors only, so complex rules get their own checker.


def _random_as(tree, seed):
    draw = np.random.default_rng(seed)

    def like(x):
        x = np.asarray(x)
        values = draw.standard_normal(x.shape)
        if x.dtype.kind == "c":
            values = values + 1j * draw.standard_normal(x.shape)
        return values.astype(x.dtype)

    return fg.tree.map(like, tree)


def _pairing(us, vs) -> float:
    # Cotangents pair with tangents by Re(sum(u * v)), with no conjugation.
    leaves = zip(fg.tree.leaves(us), fg.tree.leaves(vs))
    return sum(
        float(np.real(np.sum(np.asarray(u, np.complex128) * np.asarray(v)))) for u, v in leaves
    )


def check_complex_grads(fun, args, order, eps=1e-3, tol=2e-2):
    """jvp against central differences along a random complex direction, and
    <u, jvp(v)> == <vjp(u), v>; then the same for the jvp and vjp functions."""
    args = tuple(args)
    direction = _random_as(args, order)
    out, tangent = fg.jvp(fun, args, direction)
    plus, minus = (
        fun(*(np.asarray(a + sign * eps * d, np.asarray(a).dtype) for a, d in zip(args, direction)))
        for sign in (1, -1)
    )
    for got, p, m in zip(*map(fg.tree.leaves, (tangent, plus, minus))):
        numeric = (np.asarray(p, np.complex128) - np.asarray(m)) / (2 * eps)
        np.testing.assert_allclose(np.asarray(got), numeric, rtol=tol, atol=tol)
    cotangent = _random_as(out, order + 10)
    pulled = fg.vjp(fun, *args)[1](cotangent)
    forward, backward = _pairing(cotangent, tangent), _pairing(pulled, direction)
    assert abs(forward - backward) <= tol * max(1.0, abs(forward)), (forward, backward)
    if order > 1:
        check_complex_grads(lambda *x: fg.jvp(fun, x, direction)[1], args, order - 1, eps, tol)
        check_complex_grads(lambda *x: fg.vjp(fun, *x)[1](cotangent), args, order - 1, eps, tol)


COMPLEX_UNARY = [
    ("rsqrt", lax.rsqrt),
    ("tan", lax.tan),
    ("asin", lax.asin),
    ("acos", lax.acos),
    ("atan", lax.atan),
    ("sinh", lax.sinh),
    ("cosh", lax.cosh),
    ("asinh", lax.asinh),
    ("acosh", lax.acosh),
    ("atanh", lax.atanh),
    ("exp2", lax.exp2),
    ("abs", lax.abs),
    ("real", lax.real),
    ("imag", lax.imag),
    ("conj", lax.conj),
    ("abs of product", lambda z: lax.abs(z * lax.conj(z) + z)),
]


@pytest.mark.parametrize("name, fun", COMPLEX_UNARY, ids=[c[0] for c in COMPLEX_UNARY])
def test_complex(name, fun):
    check_complex_grads(fun, (c64(3),), order=2)


def test_complex_from_parts():
    check_complex_grads(lambda x, y: lax.complex(x, y) * (2 - 1j), (f32(3), f32(3)), order=2)


def test_complex_gradients_by_hand():
    z = np.complex64(3 + 4j)
    # For a real function of z = x + iy, grad gives df/dx - i df/dy, as JAX does.
    squared = fg.grad(lambda z: lax.real(z) ** 2 + lax.imag(z) ** 2)(z)
    assert complex(squared) == 6 - 8j
    assert np.isclose(complex(fg.grad(lax.abs)(z)), 0.6 - 0.8j)
    assert complex(fg.grad(lambda z: lax.real(lax.conj(z) * 2j))(z)) == -2j
    assert complex(fg.grad(lambda z: lax.imag(z))(z)) == -1j
    parts = fg.grad(lambda x, y: lax.imag(lax.complex(x, y) * (1 + 2j)), argnums=(0, 1))
    assert [float(g) for g in parts(np.float32(1.0), np.float32(2.0))] == [2.0, 1.0]
    assert float(fg.grad(lambda x: lax.real(lax.conj(x) * (2 + 3j)))(np.float32(1.0))) == 2.0
    # A holomorphic function's cotangent is f'(z) times the output cotangent, unconjugated.
    (pulled,) = fg.vjp(lax.sinh, z)[1](np.complex64(1j))
    np.testing.assert_allclose(complex(pulled), np.cosh(3 + 4j) * 1j, rtol=1e-5)


# ---------------------------------------------------------------------------------------
# Hand-derived values: conventions at kinks and ties, and zero derivatives


def grad_values(fun, *args, argnums=0):
    out = fg.grad(lambda *a: fun(*a).sum(), argnums=argnums)(*args)
    return (
        [np.asarray(g).tolist() for g in out]
        if isinstance(argnums, tuple)
        else np.asarray(out).tolist()
    )


def test_abs_has_slope_one_at_zero():
    assert grad_values(lax.abs, np.array([-2.0, 0.0, 3.0], np.float32)) == [-1.0, 1.0, 1.0]
    assert complex(fg.grad(lax.abs)(np.complex64(0))) == 0


def test_clamp_tangent_at_ties_and_to_the_bounds():
    low, high = np.full(5, -1.0, np.float32), np.full(5, 1.0, np.float32)
    x = np.array([-2.0, -1.0, 0.0, 1.0, 2.0], np.float32)
    d_low, d_x, d_high = grad_values(lax.clamp, low, x, high, argnums=(0, 1, 2))
    assert d_x == [0.0, 0.0, 1.0, 0.0, 0.0]  # only strictly inside; ties give nothing
    assert d_low == [1.0, 0.0, 0.0, 0.0, 0.0]
    assert d_high == [0.0, 0.0, 0.0, 0.0, 1.0]
    scalar = fg.grad(lambda lo, v: lax.clamp(lo, v, 1.0).sum(), argnums=(0, 1))
    d_low, d_x = scalar(np.float32(-1.0), x)
    assert float(d_low) == 1.0 and np.asarray(d_x).tolist() == [0.0, 0.0, 1.0, 0.0, 0.0]


def test_rem_divisor_derivative_truncates_the_quotient():
    x, y = np.array([7.5, -7.5, 1.0], np.float32), np.array([2.0, 2.0, -3.0], np.float32)
    d_x, d_y = grad_values(lax.rem, x, y, argnums=(0, 1))
    assert d_x == [1.0, 1.0, 1.0]
    assert d_y == [-3.0, 3.0, 0.0]  # -trunc(x / y)


def test_atan2_by_hand():
    d_x, d_y = grad_values(lax.atan2, np.float32(3.0), np.float32(4.0), argnums=(0, 1))
    assert np.allclose([d_x, d_y], [4 / 25, -3 / 25])


def test_special_function_derivatives_by_hand():
    assert np.isclose(float(fg.grad(lax.erf)(np.float32(0.0))), 2 / math.sqrt(math.pi))
    assert np.isclose(float(fg.grad(lax.erf_inv)(np.float32(0.0))), math.sqrt(math.pi) / 2)
    assert np.isclose(float(fg.grad(lax.lgamma)(np.float32(1.0))), -0.5772157, rtol=1e-6)
    assert np.isclose(float(fg.grad(lax.digamma)(np.float32(1.0))), math.pi**2 / 6, rtol=1e-6)
    second = fg.grad(fg.grad(lax.digamma))(np.float32(1.0))
    assert np.isclose(float(second), -2 * 1.2020569, rtol=1e-6)  # -2 zeta(3)


def test_polygamma_values_and_order():
    x = np.array([0.3, 1.0, 2.5, -1.5], np.float32)
    np.testing.assert_allclose(elementwise.polygamma(0.0, x), lax.digamma(x), rtol=1e-6)
    assert np.isclose(float(elementwise.polygamma(1.0, 1.0)), math.pi**2 / 6, rtol=1e-6)
    assert np.isnan(float(elementwise.polygamma(1.5, 1.0)))
    with pytest.raises(NotImplementedError, match="polygamma: differentiation with respect to"):
        fg.grad(lambda m: elementwise.polygamma(m, np.float32(2.0)))(np.float32(1.0))


ZERO_DERIVATIVE = [
    ("sign", lax.sign),
    ("floor", lax.floor),
    ("ceil", lax.ceil),
    ("round", lax.round),
    ("nextafter", lambda x: lax.nextafter(x, np.float32(10.0))),
    ("stop_gradient", lax.stop_gradient),
    ("is_finite", lambda x: lax.select(lax.is_finite(x), x * 0, x)),
    (
        "bitcast",
        lambda x: lax.bitcast_convert_type(lax.bitcast_convert_type(x, np.int32), np.float32),
    ),
]


@pytest.mark.parametrize("name, fun", ZERO_DERIVATIVE, ids=[z[0] for z in ZERO_DERIVATIVE])
def test_zero_derivatives(name, fun):
    x = np.array([-1.3, 0.4, 2.6], np.float32)
    _, tangent = fg.jvp(fun, (x,), (np.ones(3, np.float32),))
    assert np.asarray(tangent).tolist() == [0.0, 0.0, 0.0]
    assert grad_values(fun, x) == [0.0, 0.0, 0.0]


def test_integer_operations_carry_zero_tangents():
    def fun(x, n):
        bits = lax.shift_left(n, 1) + lax.population_count(n) + lax.shift_right_logical(n, 1)
        bits = lax.shift_right_arithmetic(bits, 1) + lax.rem(n, 3) + lax.abs(n)
        return x * lax.convert_element_type(lax.clamp(0, bits, 100), np.float32)

    n = np.array([3, 5, 6], np.int32)
    out, vjp_fun = fg.vjp(fun, np.ones(3, np.float32), n)
    d_x, d_n = vjp_fun(np.ones(3, np.float32))
    np.testing.assert_array_equal(d_x, out)
    d_n = np.asarray(d_n)
    assert d_n.shape == (3,) and (d_n.dtype.kind == "V" or not d_n.any())  # zeros or float0


def test_stop_gradient():
    assert float(fg.grad(lambda x: x * lax.stop_gradient(x))(3.0)) == 3.0
    tree = {"a": np.float32(2.0), "b": [np.ones(2, np.float32)], "n": 3, "i": np.arange(2)}
    stopped = lax.stop_gradient(tree)
    assert fg.tree.structure(stopped) == fg.tree.structure(tree)
    assert stopped["n"] == 3 and stopped["i"] is tree["i"]
    assert float(stopped["a"]) == 2.0 and np.asarray(stopped["b"][0]).tolist() == [1.0, 1.0]

    def loss(p):
        frozen = lax.stop_gradient(p)
        return p["w"] * frozen["w"] + frozen["v"] * p["v"] ** 2

    grads = fg.grad(loss)({"w": np.float32(2.0), "v": np.float32(3.0)})
    assert (float(grads["w"]), float(grads["v"])) == (2.0, 18.0)
    hessian = fg.grad(fg.grad(lambda x: x**2 * lax.stop_gradient(x)))(np.float32(3.0))
    assert float(hessian) == 6.0
    assert "stop_gradient" in str(fg.make_jaxpr(lax.stop_gradient)(np.float32(1.0)))


# ---------------------------------------------------------------------------------------
# The registry: every elementwise primitive has a jvp rule; every primitive a tangent can
# flow through has a transpose rule.

# Linear primitives the elementwise jvp rules apply to tangents.
LINEAR = {
    "add",
    "sub",
    "neg",
    "mul",
    "div",
    "select_n",
    "convert_element_type",
    "real",
    "imag",
    "conj",
    "complex",
}


def test_every_elementwise_primitive_has_a_jvp_rule_and_linear_ones_transpose():
    rules = {
        name: (r["jvp"], r["transpose"])
        for name, r in rules_of_every_primitive().items()
        if r["module"] == "funcgrad.lax.elementwise"
    }
    assert LINEAR <= set(rules) and "stop_gradient" in rules and "clamp" in rules
    assert sorted(name for name, (jvp, _) in rules.items() if not jvp) == []
    assert sorted(name for name in LINEAR if not rules[name][1]) == []


def _tangent_primitives(fun, args) -> set:
    """The primitives of the linear part of `fun`'s jvp at `args`."""
    n = len(args)
    closed = fg.make_jaxpr(lambda *a: fg.jvp(fun, a[:n], a[n:]))(*args, *args)
    _, linear, _ = ad.partial_eval_jaxpr(closed, [False] * n + [True] * n, 1)
    return {eqn.primitive for eqn in linear.eqns}


def test_every_primitive_in_a_tangent_computation_has_a_transpose_rule():
    cases = [(fun, (x,)) for _, fun, x in UNARY] + [(fun, (x, y)) for _, fun, x, y in BINARY]
    cases += [(fun, args) for _, fun, args in TERNARY]
    cases += [(fun, (c64(2),)) for _, fun in COMPLEX_UNARY]
    seen = set().union(*(_tangent_primitives(fun, args) for fun, args in cases))
    assert {p.name for p in seen} >= {"mul", "real", "select_n"}
    assert sorted(p.name for p in seen if p not in ad.primitive_transposes) == []


def test_converting_real_to_complex_transposes_to_the_real_part():
    _, vjp_fun = fg.vjp(lambda x: lax.convert_element_type(x, np.complex64), np.float32(1.0))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no ComplexWarning from discarding the imaginary part
        (pulled,) = vjp_fun(np.complex64(1 + 2j))
    assert (pulled.dtype, float(pulled)) == (np.float32, 1.0)
