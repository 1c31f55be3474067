"""custom_jvp and custom_vjp: the user's rules are used (checked with rules that differ
from the true derivative, so the test can tell), in forward, reverse and higher order,
under make_jaxpr, with pytrees and nondiff_argnums; and their error paths."""

import functools

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import eval_jaxpr


@fg.custom_jvp
def softplus(x):
    return jnp.log1p(jnp.exp(x))


@softplus.defjvp
def _softplus_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return softplus(x), t * fg.nn.sigmoid(x)


@fg.custom_jvp
def scaled_sin(x):
    return jnp.sin(x)


@scaled_sin.defjvp
def _scaled_sin_jvp(primals, tangents):
    # Deliberately not sin's derivative: 3 * t, so the test sees that the rule is used.
    (x,), (t,) = primals, tangents
    return jnp.sin(x), 3.0 * t


def test_custom_jvp_values_and_rule_in_both_modes():
    x = np.float32(0.7)
    assert np.isclose(float(softplus(x)), np.log1p(np.exp(0.7)), rtol=1e-6)
    assert np.isclose(float(fg.grad(softplus)(x)), 1 / (1 + np.exp(-0.7)), rtol=1e-6)
    assert float(fg.grad(scaled_sin)(x)) == 3.0
    assert float(fg.jvp(scaled_sin, (x,), (np.float32(2.0),))[1]) == 6.0


def test_custom_jvp_second_order_differentiates_the_rule():
    # d/dx (t * sigmoid(x)) = sigmoid'(x) = s (1 - s)
    s = 1 / (1 + np.exp(-0.3))
    assert np.isclose(float(fg.grad(fg.grad(softplus))(np.float32(0.3))), s * (1 - s), rtol=1e-5)


def test_custom_jvp_under_make_jaxpr_then_grad():
    closed = fg.make_jaxpr(scaled_sin)(np.float32(0.1))
    assert "custom_jvp_call" in str(closed)

    def staged(x):
        return eval_jaxpr(closed.jaxpr, closed.consts, x)[0]

    assert float(fg.grad(staged)(np.float32(0.1))) == 3.0


def test_custom_jvp_nondiff_argnums():
    @functools.partial(fg.custom_jvp, nondiff_argnums=(0,))
    def power(n, x):
        return x**n

    @power.defjvp
    def _power_jvp(n, primals, tangents):
        (x,), (t,) = primals, tangents
        return x**n, n * x ** (n - 1) * t * 10.0  # scaled by 10 to see the rule

    assert float(fg.grad(lambda x: power(3, x))(np.float32(2.0))) == 120.0


@fg.custom_vjp
def clip_gradient(x):
    return x


def _clip_fwd(x):
    return x, None


def _clip_bwd(residuals, g):
    return (jnp.clip(g, -1.0, 1.0),)


clip_gradient.defvjp(_clip_fwd, _clip_bwd)


@fg.custom_vjp
def product(x, y):
    return x * y


product.defvjp(lambda x, y: (x * y, (x, y)), lambda res, g: (g * res[1] * 2.0, g * res[0]))


def test_custom_vjp_uses_bwd():
    assert float(fg.grad(lambda x: 5.0 * clip_gradient(x))(np.float32(2.0))) == 1.0
    gx, gy = fg.grad(product, argnums=(0, 1))(np.float32(3.0), np.float32(4.0))
    assert (float(gx), float(gy)) == (8.0, 3.0)
    np.testing.assert_array_equal(product(np.float32(3.0), np.float32(4.0)), 12.0)


def test_custom_vjp_with_pytrees_and_none_cotangent():
    @fg.custom_vjp
    def f(params, scale):
        return params["w"] * scale

    f.defvjp(lambda p, s: (p["w"] * s, s), lambda s, g: ({"w": g * s * 2.0}, None))
    g = fg.grad(lambda p: f(p, np.float32(3.0)).sum())({"w": np.ones(2, np.float32)})
    np.testing.assert_array_equal(g["w"], [6.0, 6.0])


def test_forward_mode_through_custom_vjp_is_an_error():
    with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
        fg.jvp(clip_gradient, (np.float32(1.0),), (np.float32(1.0),))


def test_missing_rules_are_reported():
    @fg.custom_jvp
    def f(x):
        return x

    with pytest.raises(AttributeError, match="has no jvp rule: define one with @f.defjvp"):
        f(1.0)

    @fg.custom_vjp
    def g(x):
        return x

    with pytest.raises(AttributeError, match=r"call g.defvjp\(fwd, bwd\)"):
        g(1.0)


def test_bad_bwd_output_is_reported():
    @fg.custom_vjp
    def f(x, y):
        return x * y

    f.defvjp(lambda x, y: (x * y, None), lambda res, g: g)
    with pytest.raises(TypeError, match="one cotangent per primal argument"):
        fg.grad(f)(np.float32(1.0), np.float32(2.0))


def test_custom_jvp_rule_survives_vmap():
    x = np.linspace(0.1, 0.9, 4).astype(np.float32)
    np.testing.assert_allclose(fg.vmap(scaled_sin)(x), np.sin(x), rtol=1e-6)
    # grad outside the vmap still uses the rule (3 * t), not sin's derivative.
    np.testing.assert_array_equal(fg.grad(lambda v: fg.vmap(scaled_sin)(v).sum())(x), 3.0)
    np.testing.assert_array_equal(fg.vmap(fg.grad(scaled_sin))(x), 3.0)


def test_custom_vjp_bwd_survives_vmap():
    x = np.asarray([0.5, 2.0, -3.0], np.float32)
    np.testing.assert_array_equal(fg.vmap(clip_gradient)(x), x)
    g = fg.grad(lambda v: (5.0 * fg.vmap(clip_gradient)(v)).sum())(x)
    np.testing.assert_array_equal(g, [1.0, 1.0, 1.0])  # bwd clips 5 to 1 per example
    np.testing.assert_array_equal(fg.vmap(fg.grad(lambda v: 5.0 * clip_gradient(v)))(x), 1.0)
    gx, gy = fg.grad(lambda a, b: fg.vmap(product)(a, b).sum(), argnums=(0, 1))(x, x + 1)
    np.testing.assert_allclose(gx, 2.0 * (x + 1), rtol=1e-6)
    np.testing.assert_allclose(gy, x, rtol=1e-6)
