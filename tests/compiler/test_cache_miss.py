"""The cache-miss explainer: with jax_explain_cache_misses on, every retrace logs a warning
naming the function and each argument that changed (by parameter name and pytree path)
with its old and new shape, dtype, weak type, static value or structure; with the flag
off the same text is logged at DEBUG level, only when that level is enabled."""

from __future__ import annotations

import logging

import numpy as np
import pytest

import funcgrad as fg
from funcgrad import config

F3 = np.ones(3, np.float32)
F4 = np.ones(4, np.float32)


def model(params, x, scale=1):
    return params["w"] * x * scale


def messages(caplog, level=logging.WARNING) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "funcgrad" and r.levelno == level]


def only_message(caplog, level=logging.WARNING) -> str:
    (message,) = messages(caplog, level)
    assert message.startswith("TRACING CACHE MISS: jit(model)")
    assert "is retracing at test_cache_miss.py:" in message
    assert f"defined at {__file__}:{model.__code__.co_firstlineno}" in message
    return message


def test_shape_change_names_the_argument_and_path(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F4}, F3[:1])
    message = only_message(caplog)
    assert "argument params['w'] changed shape: f32[3] -> f32[4]" in message
    assert "argument x changed shape: f32[3] -> f32[1]" in message


def test_dtype_change(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F3}, F3.astype(np.int32))
    assert "argument x changed dtype: f32[3] -> i32[3]" in only_message(caplog)


def test_weak_type_change(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, 2.0)
    jitted({"w": F3}, np.float32(2.0))
    message = only_message(caplog)
    assert "argument x changed weak type: f32[]{weak_type} -> f32[]" in message


def test_static_value_change(explain_on, caplog):
    jitted = fg.jit(model, static_argnames="scale")
    jitted({"w": F3}, F3, scale=1)
    jitted({"w": F3}, F3, scale=2)
    assert "static argument scale changed value: 1 -> 2" in only_message(caplog)


def test_static_positional_argument_is_named_from_the_signature(explain_on, caplog):
    jitted = fg.jit(model, static_argnums=2)
    jitted({"w": F3}, F3, 1)
    jitted({"w": F3}, F3, 3)
    assert "static argument scale changed value: 1 -> 3" in only_message(caplog)


def test_pytree_structure_change_says_what_differs(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F3, "b": F3}, F3)
    message = only_message(caplog)
    assert "argument params changed pytree structure" in message
    assert "a dict with keys ['w'] -> a dict with keys ['b', 'w']" in message


def test_nested_structure_change_gives_the_path(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3, "extra": {"pair": (F3, F3)}}, F3)
    jitted({"w": F3, "extra": {"pair": [F3, F3]}}, F3)
    message = only_message(caplog)
    expected = "argument params['extra']['pair'] changed pytree structure: a tuple of 2 -> a list"
    assert expected in message


def test_positional_to_keyword(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F3}, x=F3)
    assert "argument x was passed positionally, now by keyword" in only_message(caplog)


def test_x64_flag_change(explain_on, caplog, x64):
    jitted = fg.jit(model)
    config.update("jax_enable_x64", False)
    jitted({"w": F3}, F3)
    config.update("jax_enable_x64", True)
    jitted({"w": F3}, F3)
    assert "the jax_enable_x64 flag changed: False -> True" in only_message(caplog)


def test_the_closest_earlier_call_is_the_one_compared(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, 2.0)
    jitted({"w": F4}, F4)
    caplog.clear()
    jitted({"w": F4}, 2.0)  # one leaf away from the first call's key, two from the second's
    message = only_message(caplog)
    assert "closest of 2 earlier calls" in message
    assert "argument params['w'] changed shape: f32[3] -> f32[4]" in message
    assert "argument x" not in message


def test_no_message_on_the_first_call_or_a_hit(explain_on, caplog):
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F3 + 1}, F3)
    assert messages(caplog) == []


def test_flag_off_logs_at_debug_level_when_enabled(caplog):
    assert not config.jax_explain_cache_misses
    caplog.set_level(logging.DEBUG, logger="funcgrad")
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F4}, F3[:1])
    assert messages(caplog) == []
    assert "params['w'] changed shape" in only_message(caplog, logging.DEBUG)


def test_flag_off_and_debug_disabled_explains_nothing(caplog, monkeypatch):
    from funcgrad.compiler import jit

    monkeypatch.setattr(jit, "explain_cache_miss", lambda *a: pytest.fail("explained"))
    caplog.set_level(logging.INFO, logger="funcgrad")
    jitted = fg.jit(model)
    jitted({"w": F3}, F3)
    jitted({"w": F4}, F3[:1])
    assert jitted.trace_count == 2 and messages(caplog, logging.DEBUG) == []
