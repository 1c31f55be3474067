"""Primitive registration and bind, independent of any real primitive."""

import numpy as np
import pytest

import funcgrad as fg
from funcgrad.core import primitive as primitive_module
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive, all_primitives


@pytest.fixture(autouse=True)
def scratch_registry(monkeypatch):
    """Primitives made here vanish from the registry afterwards (registry tests walk it)."""
    monkeypatch.setattr(primitive_module, "_REGISTRY", dict(primitive_module._REGISTRY))


def test_missing_rules_name_the_primitive_and_the_rule():
    bare = Primitive("test_bare_primitive")
    with pytest.raises(NotImplementedError, match="'test_bare_primitive' has no impl"):
        bare.impl(np.ones(2))
    assert bare.impl.is_missing_rule
    with pytest.raises(NotImplementedError, match="'test_bare_primitive' has no abstract_eval"):
        fg.make_jaxpr(lambda x: bare.bind(x))(np.ones(2, np.float32))


def test_names_are_unique():
    with pytest.raises(ValueError, match="a primitive named 'add' already exists"):
        Primitive("add")


def test_a_new_primitive_works_eagerly_and_traced():
    double_p = Primitive("test_double")
    double_p.def_impl(lambda x: x * 2)
    double_p.def_abstract_eval(lambda aval: aval)
    assert all_primitives()["test_double"] is double_p
    np.testing.assert_array_equal(
        np.asarray(double_p.bind(np.arange(3, dtype=np.float32))), [0.0, 2.0, 4.0]
    )
    closed = fg.make_jaxpr(lambda x: double_p.bind(x))(np.ones(2, np.float32))
    assert str(closed) == "{ lambda ; a:f32[2]. let b:f32[2] = test_double a in (b,) }"
    assert closed.out_avals == [ShapedArray((2,), np.float32)]
