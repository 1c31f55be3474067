"""Pictures through Graphviz: the SVG holds one node per equation with its primitive's name,
one cluster per fusion group; without Graphviz, a clear error and a text fallback."""

import xml.etree.ElementTree as ET

import numpy as np
import pytest
from viz_programs import mlp_inputs, mlp_loss, scan_inputs, scan_then_cond, svg_parts

import funcgrad as jax
import funcgrad.numpy as jnp
from funcgrad import viz
from funcgrad.viz import render

needs_dot = pytest.mark.skipif(not viz.can_render(), reason="Graphviz (dot) is not installed")


@needs_dot
def test_svg_has_one_node_per_equation_with_its_primitive():
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    nodes, clusters = svg_parts(viz.graph(closed).svg())
    named = [
        texts[0]
        for texts in nodes
        if texts[0] in {"dot_general", "add", "tanh", "mul", "reduce_sum"}
    ]
    assert named == [eqn.primitive.name for eqn in closed.eqns]
    assert clusters == []
    # Inputs, the literal and the output are nodes too.
    assert ["in a:f32[4,3]"] in nodes and ["out 0: f32[]"] in nodes and ["1.0:f32[]"] in nodes


@needs_dot
def test_svg_of_a_jitted_program_has_its_fusion_groups():
    lowered = jax.jit(mlp_loss, backend="numpy").lower(*mlp_inputs())
    _, clusters = svg_parts(viz.graph(lowered).svg())
    assert clusters == [f"fusion {n}: {g.describe()}" for n, g in enumerate(lowered.groups)]


@needs_dot
def test_svg_of_control_flow_has_its_bodies():
    nodes, clusters = svg_parts(viz.graph(scan_then_cond, *scan_inputs()).svg())
    assert sorted(clusters) == ["cond branches[0]", "cond branches[1]", "scan jaxpr"]
    assert [t[0] for t in nodes].count("tanh") == 1 and ["scan"] in [t[:1] for t in nodes]


@needs_dot
def test_compiled_llvm_program_marks_native_kernels(monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    compiled = jax.jit(mlp_loss, backend="llvm").lower(*mlp_inputs()).compile()
    picture = viz.graph(compiled)
    _, clusters = svg_parts(picture.svg())
    native = sorted(compiled.program.natives)
    assert native and len(clusters) == len(compiled.program.groups)
    for number in native:
        assert clusters[number].endswith("(native kernel)")
    assert "(native kernel)" in picture.text


@needs_dot
def test_notebook_views_show_picture_and_text():
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    lowered = jax.jit(mlp_loss).lower(*mlp_inputs())
    for program in (closed, closed.jaxpr, lowered, lowered.compile()):
        view = program._repr_html_()
        assert view.startswith('<div style="overflow:auto"><svg')
        ET.fromstring(view[view.index("<svg") : view.index("</svg>") + 6])
        assert "reduce_sum" in view and "<pre>" in view
    assert viz.graph(closed)._repr_svg_().lstrip().startswith("<?xml")


def test_large_programs_are_shown_as_text():
    def chain(x):
        for _ in range(render.INLINE_LIMIT + 1):
            x = jnp.sin(x)
        return x

    closed = jax.make_jaxpr(chain)(np.float32(1.0))
    view = closed._repr_html_()
    assert "too many to draw inline" in view and "<svg" not in view
    assert view.count("sin ") == render.INLINE_LIMIT + 1


@pytest.fixture
def no_dot(monkeypatch, tmp_path):
    """A PATH without Graphviz's dot program."""
    monkeypatch.setenv("PATH", str(tmp_path))


def test_without_dot_svg_says_how_to_install(no_dot):
    picture = viz.graph(jax.make_jaxpr(mlp_loss)(*mlp_inputs()))
    assert not viz.can_render()
    with pytest.raises(viz.GraphvizMissingError) as caught:
        picture.svg()
    message = str(caught.value)
    assert "apt-get install graphviz" in message and "pip install graphviz" in message
    assert "test_render.py" in message  # the user's line
    assert picture._repr_svg_() is None
    assert "reduce_sum" in str(picture)  # the text view always works


def test_without_dot_notebook_view_is_text_with_a_note(no_dot):
    view = jax.make_jaxpr(mlp_loss)(*mlp_inputs())._repr_html_()
    assert "<svg" not in view and "apt-get install graphviz" in view
    assert "reduce_sum" in view and "<pre>" in view


def test_without_the_python_package(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "graphviz", None)  # import graphviz now fails
    picture = viz.graph(jax.make_jaxpr(mlp_loss)(*mlp_inputs()))
    assert not viz.can_render()
    with pytest.raises(viz.GraphvizMissingError, match="pip install graphviz"):
        picture.svg()


def test_save(tmp_path):
    picture = viz.graph(jax.make_jaxpr(mlp_loss)(*mlp_inputs()))
    assert picture.save(tmp_path / "p.dot") == tmp_path / "p.dot"
    assert (tmp_path / "p.dot").read_text() == picture.source
    picture.save(tmp_path / "p.txt")
    assert (tmp_path / "p.txt").read_text() == str(jax.make_jaxpr(mlp_loss)(*mlp_inputs()))
    if viz.can_render():
        picture.save(tmp_path / "p.svg")
        ET.parse(tmp_path / "p.svg")
    with pytest.raises(ValueError, match=r"test_render\.py.*unknown file type '\.png'"):
        picture.save(tmp_path / "p.png")


def test_graph_rejects_what_it_cannot_draw():
    with pytest.raises(TypeError, match=r"test_render\.py.*cannot draw a int"):
        viz.graph(3)
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    with pytest.raises(TypeError, match="example arguments are for a function"):
        viz.graph(closed, 1.0)


def test_graph_of_a_function_traces_it():
    picture = viz.graph(mlp_loss, *mlp_inputs())
    assert picture.text == str(jax.make_jaxpr(mlp_loss)(*mlp_inputs()))
    jitted = viz.graph(jax.jit(mlp_loss, backend="numpy"), *mlp_inputs())
    assert jitted.text == jax.jit(mlp_loss, backend="numpy").lower(*mlp_inputs()).as_text()
