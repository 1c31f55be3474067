"""docs/graph.svg, the README's picture, is a real drawing of the program docs/make_graph.py
describes, and stays in step with it."""

import importlib.util
import pathlib
import xml.etree.ElementTree as ET

import pytest
from viz_programs import SVG, svg_parts

import funcgrad as jax
from funcgrad import viz

DOCS = pathlib.Path(__file__).parent.parent.parent / "docs"


def load_script():
    spec = importlib.util.spec_from_file_location("make_graph", DOCS / "make_graph.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_picture_shows_the_program_and_its_fusion_groups():
    script = load_script()
    lowered = jax.jit(script.loss, backend="numpy").lower(*script.example_arguments())
    nodes, clusters = svg_parts((DOCS / "graph.svg").read_text())
    primitives = {eqn.primitive.name for eqn in lowered.optimized.eqns}
    assert sorted(t[0] for t in nodes if t[0] in primitives) == sorted(
        eqn.primitive.name for eqn in lowered.optimized.eqns
    )
    assert clusters == [f"fusion {n}: {g.describe()}" for n, g in enumerate(lowered.groups)]
    assert (DOCS / "graph.svg").stat().st_size < 50_000


@pytest.mark.skipif(not viz.can_render(), reason="Graphviz (dot) is not installed")
def test_the_script_redraws_it(tmp_path):
    drawn = load_script().draw(tmp_path / "graph.svg")
    fresh, committed = ET.parse(drawn).getroot(), ET.parse(DOCS / "graph.svg").getroot()
    assert texts(fresh) == texts(committed)


def texts(root) -> list[str]:
    return sorted(t.text or "" for t in root.iter(f"{SVG}text"))
