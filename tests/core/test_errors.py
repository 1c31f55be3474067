"""Every bad-input path of the foundation: the exception type, and a message that says
what was wrong, where in the user's code (this file's line), and what to do."""

import inspect
import traceback

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.errors import (
    ConcretizationTypeError,
    TracerArrayConversionError,
    TracerBoolConversionError,
    TracerIntegerConversionError,
    UnexpectedTracerError,
)

HERE = "test_errors.py"


def _line_after(offset: int = 2) -> str:
    """`test_errors.py:N` for the line `offset` lines below the caller's line."""
    return f"{HERE}:{inspect.currentframe().f_back.f_lineno + offset}"


def test_lax_mismatched_shapes_name_primitive_operands_and_line():
    where = _line_after()
    with pytest.raises(TypeError) as info:
        lax.add(np.ones(3, np.float32), np.ones(4, np.float32))
    message = str(info.value)
    assert message.startswith("add: operand shapes must be equal")
    assert "f32[3], f32[4]" in message and where in message and "Broadcast" in message


def test_jnp_incompatible_broadcast_is_a_value_error():
    where = _line_after()
    with pytest.raises(ValueError) as info:
        jnp.multiply(np.ones((2, 3)), np.ones((4,)))
    message = str(info.value)
    assert "multiply" in message and "(2, 3) (4,)" in message and where in message


def test_mismatched_shapes_under_make_jaxpr_point_at_the_traced_line():
    def f(x, y):
        return lax.mul(x, y)  # the line the error must name

    line = f"{HERE}:{f.__code__.co_firstlineno + 1}"
    with pytest.raises(TypeError, match=f"mul: operand shapes must be equal.*{line}"):
        fg.make_jaxpr(f)(np.ones(2, np.float32), np.ones(5, np.float32))


def test_mismatched_dtypes_in_lax():
    with pytest.raises(
        TypeError, match=r"add: operand dtypes must be equal; operands were f32\[2\], i32\[2\]"
    ):
        lax.add(np.ones(2, np.float32), np.ones(2, np.int32))


def test_unsupported_dtype_kind_for_a_primitive():
    where = _line_after()
    with pytest.raises(TypeError) as info:
        lax.sin(np.arange(3, dtype=np.int32))
    message = str(info.value)
    assert "sin: dtype int32 is not accepted (accepted: floating, complex)" in message
    assert where in message and "astype" in message


@pytest.mark.parametrize(
    "data",
    [np.array(["a", "b"]), np.array([1, None], dtype=object), np.arange(3).astype("datetime64[s]")],
)
def test_unsupported_dtype_on_input(data):
    where = _line_after()
    with pytest.raises(TypeError) as info:
        jnp.asarray(data)
    message = str(info.value)
    assert "float32" in message and "bfloat16" in message or "cannot make an array" in message
    assert where in message


def test_unsupported_dtype_in_conversion():
    with pytest.raises(TypeError, match="dtype <U3 is not supported.*supported dtypes are bool"):
        lax.convert_element_type(np.ones(2, np.float32), np.dtype("U3"))


def test_non_array_argument_names_the_argument_and_suggests_static_argnums():
    where = _line_after()
    with pytest.raises(TypeError) as info:
        fg.make_jaxpr(lambda x, mode: x)(np.ones(2), "fast")
    message = str(info.value)
    assert "argument 1 is a str ('fast'), not an array" in message
    assert "static_argnums" in message and where in message


def test_non_array_leaf_inside_a_pytree_argument_names_its_path():
    with pytest.raises(TypeError, match=r"argument 0 at \['cfg'\]\['act'\] is a str"):
        fg.make_jaxpr(lambda p: p["w"])({"w": np.ones(2), "cfg": {"act": "relu"}})


def test_non_array_keyword_argument():
    with pytest.raises(TypeError, match="keyword argument 'name' is a str"):
        fg.make_jaxpr(lambda x, name: x)(np.ones(2), name="a")


def test_non_array_output_names_its_path():
    with pytest.raises(TypeError, match=r"output \[1\] is a str \('done'\), not an array"):
        fg.make_jaxpr(lambda x: (x, "done"))(np.ones(2))


def test_non_array_operand_to_a_function():
    where = _line_after()
    with pytest.raises(TypeError) as info:
        jnp.add(np.ones(2), "x")
    assert "str 'x' is not a valid funcgrad array value" in str(info.value)
    assert where in str(info.value)


def test_static_argnums_out_of_range():
    with pytest.raises(
        ValueError,
        match="static_argnums contains 3, but the function was called with 2 positional arguments",
    ):
        fg.make_jaxpr(lambda x, y: x, static_argnums=3)(1.0, 2.0)


def test_python_if_on_a_traced_value():
    def f(x):
        if x > 0:  # the line the error must name
            return x
        return -x

    line = f"{HERE}:{f.__code__.co_firstlineno + 1}"
    with pytest.raises(TracerBoolConversionError) as info:
        fg.make_jaxpr(f)(1.0)
    assert isinstance(info.value, ConcretizationTypeError)
    assert isinstance(info.value, TypeError)
    message = str(info.value)
    assert "bool() was called on a traced array bool[]" in message and line in message
    assert "make_jaxpr of f" in message
    assert "where" in message and "lax.cond" in message and "static_argnums" in message


def test_int_of_a_traced_value():
    with pytest.raises(
        TracerIntegerConversionError, match=r"int\(\) was called on a traced array i32\[\]"
    ):
        fg.make_jaxpr(lambda n: list(range(n)))(3)


def test_float_of_a_traced_value():
    with pytest.raises(
        ConcretizationTypeError, match=r"float\(\) was called on a traced array f32\[\]"
    ):
        fg.make_jaxpr(lambda x: float(x))(3.0)


def test_numpy_function_on_a_traced_value():
    with pytest.raises(TracerArrayConversionError, match="use the funcgrad.numpy function"):
        fg.make_jaxpr(lambda x: np.sin(x))(np.ones(3, np.float32))


def test_leaked_tracer_is_refused_when_used_later():
    leaked = []

    def f(x):
        leaked.append(x * 2)
        return x

    fg.make_jaxpr(f)(np.ones(2, np.float32))
    where = _line_after()
    with pytest.raises(UnexpectedTracerError) as info:
        jnp.sin(leaked[0])
    message = str(info.value)
    assert "make_jaxpr of f" in message and where in message and "Return the value" in message


def test_leaked_tracer_used_inside_another_trace():
    leaked = []
    fg.make_jaxpr(lambda x: leaked.append(x) or x)(1.0)
    with pytest.raises(UnexpectedTracerError, match="after that transformation finished"):
        fg.make_jaxpr(lambda y: y + leaked[0])(1.0)


def test_item_assignment_suggests_at_set():
    x = jnp.zeros(3)
    with pytest.raises(TypeError, match=r"x = x\.at\[idx\]\.set\(y\)"):
        x[0] = 1.0

    def f(t):
        t[0] = 1.0
        return t

    with pytest.raises(TypeError, match=r"immutable.*\.at\[idx\]\.set"):
        fg.make_jaxpr(f)(np.zeros(3, np.float32))


def test_python_int_too_large_for_int32():
    with pytest.raises(OverflowError, match="does not fit in int32.*jax_enable_x64"):
        jnp.add(np.arange(3, dtype=np.int32), 2**40)


def test_tracers_are_unhashable():
    with pytest.raises(TypeError, match=r"unhashable type: traced array f32\[\]"):
        fg.make_jaxpr(lambda x: {x: 1} and x)(1.0)


def test_traceback_hides_funcgrad_frames():
    with pytest.raises(ValueError) as info:
        jnp.add(np.ones(2), np.ones(3))
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    internal = [f for f in files if "/funcgrad/" in f and "/tests/" not in f]
    # The one frame left is the boundary that re-raised; the rule's own frames are gone.
    assert len(internal) == 1 and internal[0].endswith("source_info.py")
    assert any(f.endswith(HERE) for f in files)


def test_traceback_filtering_can_be_turned_off(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_TRACEBACK_FILTERING", "off")
    with pytest.raises(ValueError) as info:
        jnp.add(np.ones(2), np.ones(3))
    files = [frame.filename for frame in traceback.extract_tb(info.value.__traceback__)]
    assert any(f.endswith("promotion.py") for f in files)
