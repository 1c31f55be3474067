"""Graphviz DOT text for funcgrad programs: a jaxpr, or a jitted program with its fusion groups.

Each equation is a node labelled with its primitive's name and the user's line that made it;
each value is an edge from its producer to each reader, labelled `name:dtype[shape]` with the
printer's variable names, so the picture and `print(jaxpr)` can be read side by side. The
program's inputs, constants and outputs are nodes of their own. A control-flow or call
equation's bodies (cond's branches, scan's and while's bodies, a jit call's program) are
drawn as dashed clusters beside it, joined to it by a dashed edge; after jit, each fusion
group (one kernel) is a shaded cluster around its equations. Only text is produced here:
render.py turns it into SVG.
"""

from __future__ import annotations

from typing import Sequence

from funcgrad.compiler.passes.fusion import FusionGroup
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, _literal_text, _Names
from funcgrad.viz.source import source_text

__all__ = ["jaxpr_to_dot", "groups_to_dot"]

# Fill colours by fusion-group kind, light enough for black text.
_GROUP_COLOURS = {
    "elementwise": "#e3f2fd",
    "reduction": "#e8f5e9",
    "matmul": "#fff3e0",
    "opaque": "#f3e5f5",
}
_HEADER = [
    "  compound=true;",
    "  rankdir=TB;",
    '  graph [fontname="Helvetica", fontsize=11];',
    # Square boxes and ellipses: rounded boxes cost Graphviz's SVG four times the path data.
    '  node [fontname="Helvetica", fontsize=11, shape=box, style=filled, fillcolor="#ffffff"];',
    '  edge [fontname="Helvetica", fontsize=9, color="#555555"];',
]


def _quoted(text: str) -> str:
    """A DOT double-quoted string."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _body_params(eqn: JaxprEqn) -> list[tuple[str, Jaxpr]]:
    """(label, jaxpr) for each body in the equation's parameters, in the printer's order."""
    bodies = []
    for key, value in sorted(eqn.params.items()):
        items = value if isinstance(value, (tuple, list)) else (value,)
        for index, item in enumerate(items):
            jaxpr = item.jaxpr if isinstance(item, ClosedJaxpr) else item
            if isinstance(jaxpr, Jaxpr):
                label = f"{key}[{index}]" if isinstance(value, (tuple, list)) else key
                bodies.append((label, jaxpr))
    return bodies


def _short_params(eqn: JaxprEqn) -> str:
    """Parameters that fit on a line (no bodies), for the node's tooltip."""
    parts = []
    for key, value in sorted(eqn.params.items()):
        items = value if isinstance(value, (tuple, list)) else (value,)
        if not any(isinstance(item, (Jaxpr, ClosedJaxpr)) for item in items):
            parts.append(f"{key}={getattr(value, 'name', value)!s}")
    return " ".join(parts)


class _Writer:
    """Accumulates DOT lines; hands out node and cluster ids and the printer's names."""

    def __init__(self, rich: bool = True):
        self.lines: list[str] = []
        # Edges go after every cluster: DOT makes an edge's endpoints members of the
        # subgraph the edge is written in, which would pull inputs into fusion clusters.
        self.edges: list[str] = []
        self.names = _Names()
        self.nodes = 0
        self.clusters = 0
        self.rich = rich

    def node(self, indent: str, attributes: str) -> str:
        node_id = f"n{self.nodes}"
        self.nodes += 1
        self.lines.append(f"{indent}{node_id} [{attributes}];")
        return node_id

    def edge(self, source: str, target: str, attributes: str = "") -> None:
        self.edges.append(f"  {source} -> {target}{f' [{attributes}]' if attributes else ''};")

    def value_label(self, var: Var) -> str:
        return f"{self.names(var)}:{var.aval.str_short()}"

    def begin_cluster(self, indent: str, label: str, style: str) -> str:
        cluster = f"cluster_{self.clusters}"
        self.clusters += 1
        self.lines.append(f"{indent}subgraph {cluster} {{")
        self.lines.append(f"{indent}  label={_quoted(label)}; {style}")
        return cluster

    def end_cluster(self, indent: str) -> None:
        self.lines.append(f"{indent}}}")


class _Emitter:
    """Draws one jaxpr (and, recursively, its bodies) into a writer."""

    def __init__(self, writer: _Writer):
        self.writer = writer

    def inputs(self, jaxpr: Jaxpr, indent: str) -> dict:
        where: dict[Var, str] = {}
        for kind, variables in (("const", jaxpr.constvars), ("in", jaxpr.invars)):
            for var in variables:
                label = f"{kind} {self.writer.value_label(var)}"
                colour = "#fffde7" if kind == "const" else "#eeeeee"
                where[var] = self.writer.node(
                    indent, f'label={_quoted(label)}, shape=ellipse, fillcolor="{colour}"'
                )
        return where

    def operand(self, atom, where: dict, indent: str) -> tuple[str, str]:
        """(node id, edge attributes) of what an equation reads."""
        if isinstance(atom, Literal):
            node = self.writer.node(
                indent, f"label={_quoted(_literal_text(atom))}, shape=plaintext, style=solid"
            )
            return node, "style=dotted"
        return where[atom], f"label={_quoted(' ' + self.writer.value_label(atom))}"

    def equation(self, eqn: JaxprEqn, where: dict, indent: str) -> str:
        """The equation's node; its bodies are drawn beside it, inside the current cluster."""
        writer = self.writer
        for var in eqn.outvars:
            writer.names(var)  # named where the printer names them: before the bodies
        name = eqn.primitive.name
        location = source_text(eqn.source_info)
        if writer.rich:
            label = f"<<b>{_html(name)}</b>"
            label += f'<br/><font point-size="8">{_html(location)}</font>>' if location else ">"
        else:
            label = _quoted(name)
        # The parameters go in a tooltip (when there are any): they would crowd the picture.
        params = _short_params(eqn)
        tooltip = f", tooltip={_quoted(f'{name} {params}')}" if params else ""
        node = writer.node(indent, f"label={label}{tooltip}")
        for atom in eqn.invars:
            source, attributes = self.operand(atom, where, indent)
            writer.edge(source, node, attributes)
        for var in eqn.outvars:
            where[var] = node
        for label, body in _body_params(eqn):
            cluster = writer.begin_cluster(
                indent, f"{name} {label}", 'style="dashed,rounded"; color="#888888";'
            )
            anchor = self.jaxpr(body, indent + "  ")
            writer.end_cluster(indent)
            writer.edge(node, anchor, f"lhead={cluster}, style=dashed, arrowhead=none")
        return node

    def outputs(self, jaxpr: Jaxpr, where: dict, indent: str) -> str | None:
        last = None
        for index, atom in enumerate(jaxpr.outvars):
            aval = atom.aval.str_short()
            last = self.writer.node(
                indent,
                f'label={_quoted(f"out {index}: {aval}")}, shape=ellipse, fillcolor="#eeeeee"',
            )
            source, attributes = self.operand(atom, where, indent)
            self.writer.edge(source, last, attributes)
        return last

    def jaxpr(self, jaxpr: Jaxpr, indent: str, groups: Sequence[tuple[str, str, Sequence]] = ()):
        """Draw `jaxpr`; returns a node inside it (for edges aimed at its cluster).
        `groups` = (label, kind, equations) clusters replacing the plain equation order."""
        where = self.inputs(jaxpr, indent)
        anchor = next(iter(where.values()), None)
        if groups:
            for label, kind, eqns in groups:
                colour = _GROUP_COLOURS.get(kind, "#f5f5f5")
                self.writer.begin_cluster(
                    indent, label, f'style="filled,rounded"; fillcolor="{colour}"; color="#90a4ae";'
                )
                for eqn in eqns:
                    node = self.equation(eqn, where, indent + "  ")
                    anchor = anchor or node
                self.writer.end_cluster(indent)
        else:
            for eqn in jaxpr.eqns:
                node = self.equation(eqn, where, indent)
                anchor = anchor or node
        last_output = self.outputs(jaxpr, where, indent)
        anchor = anchor or last_output
        if anchor is None:  # a body with no inputs, equations or outputs
            anchor = self.writer.node(indent, 'label="(empty)", shape=plaintext, style=solid')
        return anchor


def _document(name: str, writer: _Writer) -> str:
    lines = [f"digraph {_quoted(name)} {{", *_HEADER, *writer.lines, *writer.edges, "}"]
    return "\n".join(lines) + "\n"


def jaxpr_to_dot(jaxpr: Jaxpr | ClosedJaxpr, name: str = "jaxpr", rich: bool = True) -> str:
    """The jaxpr as a DOT digraph: one node per equation, edges labelled with the values'
    names and types, bodies of control flow as clusters. `rich=False` labels nodes with the
    primitive's name only (plain DOT labels, no source lines).

    >>> print(jaxpr_to_dot(make_jaxpr(jnp.sin)(1.0)))     # doctest: +SKIP
    digraph "jaxpr" { ... n1 [label=<<b>sin</b>...
    """
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    writer = _Writer(rich)
    _Emitter(writer).jaxpr(jaxpr, "  ")
    return _document(name, writer)


def groups_to_dot(
    jaxpr: Jaxpr | ClosedJaxpr,
    groups: Sequence[FusionGroup],
    name: str = "program",
    native: Sequence[int] = (),
    rich: bool = True,
) -> str:
    """A compiled program as a DOT digraph: as `jaxpr_to_dot`, with each fusion group a
    shaded cluster (labelled like the printer's `# fusion N:` notes; `native` lists the
    groups that run as one native kernel), equations in execution order."""
    if isinstance(jaxpr, ClosedJaxpr):
        jaxpr = jaxpr.jaxpr
    native = set(native)
    clusters = [
        (
            f"fusion {number}: {group.describe()}"
            + (" (native kernel)" if number in native else ""),
            group.kind,
            group.eqns,
        )
        for number, group in enumerate(groups)
    ]
    writer = _Writer(rich)
    _Emitter(writer).jaxpr(jaxpr, "  ", clusters)
    return _document(name, writer)
