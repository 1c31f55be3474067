"""Hypothesis properties of broadcasting and promotion in funcgrad.numpy's binary
functions: the result's shape is NumPy's broadcast shape, its dtype and weak type are
the JAX lattice's (funcgrad.core.dtypes.result_type, itself checked against every pair
JAX gives in tests/core/test_dtypes.py), and its values are NumPy's computed at that
dtype; traced and eager results agree."""

import ml_dtypes
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.core import dtypes
from funcgrad.core.jaxpr import eval_jaxpr

DTYPES = [np.dtype(t) for t in (np.bool_, np.int8, np.uint8, np.int32, np.float16, np.float32)]
DTYPES.append(np.dtype(ml_dtypes.bfloat16))
FUNCTIONS = [
    ("multiply", jnp.multiply, np.multiply),
    ("maximum", jnp.maximum, np.maximum),
    ("less", jnp.less, np.less),
    ("not_equal", jnp.not_equal, np.not_equal),
]


@st.composite
def broadcastable_shapes(draw):
    """Two shapes NumPy can broadcast: drop leading axes and set some sizes to 1."""
    full = draw(st.lists(st.integers(0, 3), min_size=0, max_size=3))

    def variant():
        keep = draw(st.integers(0, len(full)))
        shape = full[len(full) - keep :]
        return tuple(1 if draw(st.booleans()) else n for n in shape)

    return variant(), variant()


def operand(draw, shape, dtype):
    if dtype == np.bool_:
        size = int(np.prod(shape))
        flags = draw(st.lists(st.booleans(), min_size=size, max_size=size))
        return np.asarray(flags, dtype=bool).reshape(shape)
    values = draw(
        st.lists(st.integers(0, 9), min_size=int(np.prod(shape)), max_size=int(np.prod(shape)))
    )
    return np.asarray(values, dtype=np.int64).reshape(shape).astype(dtype)


@settings(max_examples=80, deadline=None, database=None)
@given(
    data=st.data(),
    shapes=broadcastable_shapes(),
    left=st.sampled_from(DTYPES),
    right=st.sampled_from(DTYPES),
    function=st.sampled_from(FUNCTIONS),
)
def test_binary_functions_broadcast_and_promote(data, shapes, left, right, function):
    name, fun, reference = function
    x = operand(data.draw, shapes[0], left)
    y = operand(data.draw, shapes[1], right)
    out = fun(x, y)
    common, weak = dtypes.result_type((left, False), (right, False))
    expected_dtype = np.dtype(bool) if name in ("less", "not_equal") else common
    if name == "multiply" and common == np.bool_:
        expected = np.logical_and(x, y)
    else:
        expected = reference(x.astype(common), y.astype(common))
    assert out.shape == np.broadcast_shapes(x.shape, y.shape)
    assert out.dtype == expected_dtype and not out.weak_type
    np.testing.assert_array_equal(
        np.asarray(out).astype(np.float64), np.asarray(expected).astype(np.float64)
    )
    closed = fg.make_jaxpr(fun)(x, y)
    (traced,) = eval_jaxpr(closed.jaxpr, closed.consts, x, y)
    np.testing.assert_array_equal(np.asarray(traced), np.asarray(out))


@settings(max_examples=60, deadline=None, database=None)
@given(
    dtype=st.sampled_from(DTYPES[1:]),
    scalar=st.sampled_from([2, 2.5, True]),
    shape=st.lists(st.integers(0, 3), max_size=3).map(tuple),
)
def test_python_scalars_are_weak(dtype, scalar, shape):
    x = np.ones(shape, dtype)
    out = jnp.multiply(x, scalar)
    scalar_kind = dtypes.scalar_dtype(scalar)
    common, weak = dtypes.result_type((dtype, False), (scalar_kind, type(scalar) is not bool))
    assert (out.dtype, out.weak_type) == (common, weak)
    assert out.shape == shape
    # A weak scalar never widens a float array: float16 * 2.5 stays float16.
    if dtypes.is_float(dtype) and type(scalar) is not bool:
        assert out.dtype == dtype
