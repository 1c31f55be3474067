"""Pictures of programs: `graph(x)` -> `Graph` (DOT source, SVG through Graphviz, text).

Drawing needs the `graphviz` Python package and Graphviz's `dot` program; without them
`Graph.svg()` raises `GraphvizMissingError`, which says how to install both, and the notebook
views (`_repr_html_` of jaxprs and of jit's Lowered and Compiled stages, all built by
`html`) fall back to the program's text with a one-line note. The text view always works.
"""

from __future__ import annotations

import html as html_text
import pathlib
import shutil
from typing import Any

from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, pp_jaxpr, sub_jaxprs
from funcgrad.core.source_info import user_location
from funcgrad.viz.dot import groups_to_dot, jaxpr_to_dot

__all__ = ["Graph", "GraphvizMissingError", "graph", "html", "can_render"]

# Larger programs are shown as text in notebooks: their pictures take long to lay out and
# are too big to read inline (Graph.save still draws them).
INLINE_LIMIT = 250

_INSTALL = (
    "install the graphviz Python package (pip install graphviz, or pip install "
    "'funcgrad[notebooks]') and Graphviz's dot program (apt-get install graphviz, "
    "brew install graphviz, or conda install graphviz)"
)


class GraphvizMissingError(ImportError):
    """Drawing a graph needs the `graphviz` package and the `dot` program; one is missing.

    >>> try:
    ...     graph(make_jaxpr(jnp.sin)(1.0)).svg()   # doctest: +SKIP
    ... except GraphvizMissingError as err:
    ...     print(err)
    """


def can_render() -> bool:
    """Whether SVG can be drawn here (the graphviz package imports and `dot` is on PATH).

    >>> can_render()      # doctest: +SKIP
    True
    """
    try:
        import graphviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _count_eqns(jaxpr: Jaxpr) -> int:
    return sum(1 + sum(_count_eqns(sub) for sub in sub_jaxprs(e.params)) for e in jaxpr.eqns)


class Graph:
    """A program's picture: `source` (DOT), `text` (the program printed), `svg()`, `save()`.
    In Jupyter it shows itself as SVG.

    >>> g = graph(make_jaxpr(lambda x: jnp.sin(x) * 2.0)(1.0))    # doctest: +SKIP
    >>> g.save("sin.svg")                                          # doctest: +SKIP
    """

    def __init__(self, source: str, text: str, n_eqns: int):
        self.source = source
        self.text = text
        self.n_eqns = n_eqns
        self._svg: str | None = None

    def svg(self) -> str:
        """The picture as an SVG document (laid out by Graphviz's dot)."""
        if self._svg is None:
            self._svg = _render_svg(self.source)
        return self._svg

    def save(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write the picture (`.svg`), the DOT source (`.dot`, `.gv`) or the text (`.txt`)."""
        path = pathlib.Path(path)
        writers = {".svg": self.svg, ".dot": lambda: self.source, ".gv": lambda: self.source}
        writers[".txt"] = lambda: self.text
        if path.suffix not in writers:
            raise ValueError(
                f"Graph.save({str(path)!r}) at {user_location()}: unknown file type "
                f"{path.suffix!r}; use .svg for the picture, .dot or .gv for its Graphviz "
                "source, or .txt for the program as text."
            )
        path.write_text(writers[path.suffix]())
        return path

    def _repr_svg_(self) -> str | None:
        # None lets Jupyter fall back to the text repr when Graphviz is missing.
        try:
            return self.svg()
        except GraphvizMissingError:
            return None

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text


def _render_svg(source: str) -> str:
    try:
        import graphviz
    except ImportError:
        raise GraphvizMissingError(
            f"drawing a program (at {user_location()}) needs the graphviz Python package, which "
            f"is not installed: {_INSTALL}. The text view, print(program), always works."
        ) from None
    try:
        return graphviz.Source(source).pipe(format="svg", encoding="utf-8")
    except graphviz.ExecutableNotFound:
        raise GraphvizMissingError(
            f"drawing a program (at {user_location()}) needs Graphviz's dot program, which is "
            f"not on PATH: {_INSTALL}. The text view, print(program), always works."
        ) from None


def _fusion_text(jaxpr: Jaxpr, groups, native=()) -> str:
    notes, start = {}, 0
    for number, group in enumerate(groups):
        kernel = " (native kernel)" if number in native else ""
        notes[start] = f"fusion {number}: {group.describe()}{kernel}"
        start += len(group.eqns)
    order = tuple(e for group in groups for e in group.eqns)
    return pp_jaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, order), notes)


def graph(program: Any, *args, rich: bool = True, **kwargs) -> Graph:
    """The picture of a program: a jaxpr (what `make_jaxpr` returns), `jit(f).lower(...)`
    (fusion groups as clusters), its `.compile()` (the groups the backend really runs, native
    kernels marked), or a function and example arguments (a jitted function is lowered, any
    other traced with make_jaxpr). `rich=False` labels nodes with the primitive name only.

    >>> graph(make_jaxpr(jnp.sin)(1.0)).source.startswith("digraph")     # doctest: +SKIP
    True
    >>> graph(jit(f), x)            # in a notebook: f's fusion groups     # doctest: +SKIP
    """
    from funcgrad.compiler.jit import JitFunction
    from funcgrad.compiler.stages import Compiled, Lowered

    if isinstance(program, JitFunction):
        program = program.lower(*args, **kwargs)
    elif callable(program) and not isinstance(program, (Jaxpr, ClosedJaxpr)):
        from funcgrad.api import make_jaxpr

        program = make_jaxpr(program)(*args, **kwargs)
    elif args or kwargs:
        raise TypeError(
            f"viz.graph at {user_location()}: example arguments are for a function; a "
            f"{type(program).__name__} is drawn as it is: call graph(program) alone."
        )
    if isinstance(program, (Jaxpr, ClosedJaxpr)):
        jaxpr = program.jaxpr if isinstance(program, ClosedJaxpr) else program
        return Graph(jaxpr_to_dot(jaxpr, rich=rich), pp_jaxpr(jaxpr), _count_eqns(jaxpr))
    if isinstance(program, Lowered):
        jaxpr = program.optimized.jaxpr
        source = groups_to_dot(jaxpr, program.groups, program.name, rich=rich)
        return Graph(source, _fusion_text(jaxpr, program.groups), _count_eqns(jaxpr))
    if isinstance(program, Compiled):
        compiled = program.program
        jaxpr, groups, native = program.lowered.optimized.jaxpr, compiled.groups, compiled.natives
        source = groups_to_dot(jaxpr, groups, program.lowered.name, native, rich=rich)
        n_eqns = sum(len(g.eqns) for g in groups)
        return Graph(source, _fusion_text(jaxpr, groups, native), n_eqns)
    raise TypeError(
        f"viz.graph at {user_location()}: cannot draw a {type(program).__name__}. Pass a jaxpr "
        "(make_jaxpr(f)(x)), jit(f).lower(x) or its .compile(), or a function with example "
        "arguments: graph(f, x)."
    )


def html(program: Any) -> str:
    """The notebook view of a program: its picture (when Graphviz is installed and the
    program has at most INLINE_LIMIT equations) above its text, else its text with a note.

    >>> html(make_jaxpr(jnp.sin)(1.0))[:4]     # doctest: +SKIP
    '<div'
    """
    picture = graph(program)
    text = f"<pre>{html_text.escape(picture.text)}</pre>"
    if picture.n_eqns > INLINE_LIMIT:
        note = (
            f"{picture.n_eqns} equations: too many to draw inline; "
            "funcgrad.viz.graph(program).save('program.svg') draws it to a file."
        )
    elif not can_render():
        note = f"To see this program as a graph, {_INSTALL}."
    else:
        svg = picture.svg()
        svg = svg[svg.index("<svg") :]  # inline SVG takes no XML prolog or doctype
        return (
            f'<div style="overflow:auto">{svg}</div>'
            f"<details><summary>as text</summary>{text}</details>"
        )
    return f"<div><p><i>{html_text.escape(note)}</i></p>{text}</div>"
