"""The DOT text of programs (no Graphviz needed): one node per equation named by its
primitive, edges labelled with the printer's names and types, bodies and fusion groups as
clusters. Expected structure comes from the jaxpr itself, walked independently here."""

import re

import numpy as np
import pytest
from viz_programs import line_of, mlp_inputs, mlp_loss, scan_inputs, scan_then_cond

import funcgrad as jax
from funcgrad.core.jaxpr import Literal, sub_jaxprs
from funcgrad.viz import groups_to_dot, jaxpr_to_dot

NODE = re.compile(r'^\s*(n\d+) \[label=("(?:[^"\\]|\\.)*"|<.*?>)(?=[,\]])')
EDGE = re.compile(r"^\s*(n\d+) -> (n\d+)(?: \[(.*)\])?;$")


def parse(dot: str):
    """(nodes: id -> label, edges: [(source, target, attributes)], clusters: label -> node ids)."""
    nodes, edges, clusters, open_clusters = {}, [], {}, []
    for line in dot.splitlines():
        if line.strip().startswith("subgraph cluster_"):
            open_clusters.append(None)
        elif line.strip().startswith("label=") and open_clusters and open_clusters[-1] is None:
            label = re.match(r'\s*label="(.*?)";', line).group(1)
            open_clusters[-1] = label
            clusters[label] = []
        elif line.strip() == "}" and open_clusters:
            open_clusters.pop()
        elif match := NODE.match(line):
            nodes[match.group(1)] = match.group(2)
            for label in open_clusters:
                clusters[label].append(match.group(1))
        elif match := EDGE.match(line):
            edges.append((match.group(1), match.group(2), match.group(3) or ""))
    return nodes, edges, clusters


def primitive_of(label: str) -> str | None:
    match = re.match(r"<<b>(\w+)</b>", label) or re.match(r'"(\w+)"$', label)
    return match.group(1) if match else None


def all_eqns(jaxpr):
    for eqn in jaxpr.eqns:
        yield eqn
        for sub in sub_jaxprs(eqn.params):
            yield from all_eqns(sub)


def test_one_node_per_equation_named_by_its_primitive():
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    nodes, _, _ = parse(jaxpr_to_dot(closed))
    drawn = [primitive_of(label) for label in nodes.values() if primitive_of(label)]
    assert drawn == [eqn.primitive.name for eqn in closed.eqns]
    assert drawn == ["dot_general", "add", "tanh", "mul", "reduce_sum"]


def test_edges_carry_the_printers_names_and_types():
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    dot = jaxpr_to_dot(closed)
    nodes, edges, _ = parse(dot)
    labels = sorted(re.search(r'label=" (.*?)"', a).group(1) for _, _, a in edges if "label" in a)
    # Every read of a variable (operands, then the program's outputs) is one labelled edge.
    text = str(closed)
    names = dict(re.findall(r"(\w+):(\w+\[[\d,]*\])", text))
    expected = []
    for eqn in closed.eqns:
        expected += [a.aval.str_short() for a in eqn.invars if not isinstance(a, Literal)]
    expected += [v.aval.str_short() for v in closed.jaxpr.outvars]
    assert sorted(label.split(":")[1] for label in labels) == sorted(expected)
    # The names are the printer's: c is dot_general's result, read by add.
    assert names["c"] == "f32[4,5]"
    add = next(n for n, label in nodes.items() if primitive_of(label) == "add")
    assert any(t == add and 'label=" c:f32[4,5]"' in a for _, t, a in edges)
    assert 'label="in a:f32[4,3]"' in dot and 'label="out 0: f32[]"' in dot
    # The literal operand is a node of its own joined by a dotted edge.
    literal = next(n for n, label in nodes.items() if label == '"1.0:f32[]"')
    assert (literal, add, "style=dotted") in edges


def test_nodes_show_the_users_line():
    closed = jax.make_jaxpr(mlp_loss)(*mlp_inputs())
    dot = jaxpr_to_dot(closed)
    hidden = line_of(mlp_loss, "MLP_HIDDEN_LINE")
    assert f"viz_programs.py:{hidden} (mlp_loss)" in dot
    plain = jaxpr_to_dot(closed, rich=False)
    assert all("viz_programs.py" not in label for label in parse(plain)[0].values())
    assert [primitive_of(label) for label in parse(plain)[0].values() if primitive_of(label)] == [
        "dot_general",
        "add",
        "tanh",
        "mul",
        "reduce_sum",
    ]


def test_bodies_are_clusters_joined_to_their_equation():
    closed = jax.make_jaxpr(scan_then_cond)(*scan_inputs())
    dot = jaxpr_to_dot(closed)
    nodes, edges, clusters = parse(dot)
    assert set(clusters) == {"scan jaxpr", "cond branches[0]", "cond branches[1]"}
    drawn = [primitive_of(label) for label in nodes.values() if primitive_of(label)]
    assert sorted(drawn) == sorted(e.primitive.name for e in all_eqns(closed.jaxpr))
    scan_body = next(
        sub for e in closed.eqns if e.primitive.name == "scan" for sub in sub_jaxprs(e.params)
    )
    inside = [primitive_of(nodes[n]) for n in clusters["scan jaxpr"] if primitive_of(nodes[n])]
    assert inside == [e.primitive.name for e in scan_body.eqns]
    for number, owner in enumerate(["scan", "cond", "cond"]):
        (edge,) = [e for e in edges if f"lhead=cluster_{number}," in e[2]]
        assert primitive_of(nodes[edge[0]]) == owner
        assert edge[1] in [n for ids in clusters.values() for n in ids]


@pytest.mark.parametrize("backend", ["numpy", "llvm"])
def test_fusion_groups_are_clusters(backend, monkeypatch):
    monkeypatch.setenv("FUNCGRAD_LLVM_MIN_SIZE", "0")
    jitted = jax.jit(mlp_loss, backend=backend)
    lowered = jitted.lower(*mlp_inputs())
    nodes, _, clusters = parse(groups_to_dot(lowered.optimized, lowered.groups))
    assert len(clusters) == len(lowered.groups)
    for (label, ids), group in zip(clusters.items(), lowered.groups):
        assert label.startswith("fusion ") and group.describe() in label
        assert [primitive_of(nodes[n]) for n in ids if primitive_of(nodes[n])] == [
            e.primitive.name for e in group.eqns
        ]
    # Inputs stay outside every group.
    inputs = [n for n, label in nodes.items() if label.startswith('"in ')]
    assert inputs and not set(inputs) & {n for ids in clusters.values() for n in ids}


def test_text_escapes_quotes_and_markup():
    def f(x):
        return (lambda y: y * 2.0)(x)

    dot = jaxpr_to_dot(jax.make_jaxpr(f)(np.float32(1.0)), name='say "hi"\\')
    assert "(&lt;lambda&gt;)" in dot  # inside an HTML-like label
    assert dot.startswith('digraph "say \\"hi\\"\\\\" {')  # a quoted string
    for line in dot.splitlines():
        assert line.count('"') % 2 == 0, line
