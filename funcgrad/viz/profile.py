"""Where a jitted program spends its time: `profile(f, *args, repeat=10) -> Profile`.

The program is compiled once more as an instrumented variant (the backend's
`compile_program(..., profile=True)`, which reads a clock around every step: each NumPy
kernel, BLAS call, impl call and control-flow equation, and each group that runs as one
native kernel), run once to warm up (native kernels compile for the strides they meet), then
`repeat` times. Each step is mapped back to the user's lines through its equations'
`source_info`. The program jit runs for ordinary calls is untouched: profiling costs nothing
unless asked for.
"""

from __future__ import annotations

import html as html_text
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np

from funcgrad.core.source_info import user_location
from funcgrad.viz.source import source_text

__all__ = ["Profile", "ProfileRow", "profile"]


@dataclass(frozen=True)
class ProfileRow:
    """One timed step: `seconds` per call, the primitives it runs and, for each of them,
    the user's line that made it (`eqn_sources`; "-" where unknown)."""

    step: int
    group: int
    runs_as: str
    primitives: tuple[str, ...]
    shape: str
    eqn_sources: tuple[str, ...]
    seconds: float

    @property
    def sources(self) -> tuple[str, ...]:
        """The distinct known user lines, in order."""
        return tuple(dict.fromkeys(s for s in self.eqn_sources if s != "-"))


class Profile:
    """Per-step times of one jitted program, with `rows` in execution order. Prints as a
    table (`str`), shows as an HTML table in notebooks; `by_source()` sums by user line.

    >>> p = profile(jit(f), x, repeat=10)     # doctest: +SKIP
    >>> print(p)                              # doctest: +SKIP
    """

    def __init__(self, name: str, backend: str, repeat: int, rows, total_seconds: float):
        self.name = name
        self.backend = backend
        self.repeat = repeat
        self.rows: list[ProfileRow] = list(rows)
        self.total_seconds = total_seconds

    @property
    def step_seconds(self) -> float:
        """The steps' times summed (the rest of `total_seconds` is the program's own
        Python: buffer setup, calls, returning results)."""
        return sum(row.seconds for row in self.rows)

    def by_source(self) -> list[tuple[str, float]]:
        """(user line, seconds per call), slowest first. A step made of several equations
        (a fused kernel) shares its time evenly among them."""
        totals: dict[str, float] = {}
        for row in self.rows:
            share = row.seconds / max(len(row.eqn_sources), 1)
            for source in row.eqn_sources:
                totals[source] = totals.get(source, 0.0) + share
        return sorted(totals.items(), key=lambda item: -item[1])

    def _table(self, top: int | None) -> tuple[list[str], list[list[str]]]:
        header = ["step", "group", "runs as", "primitives", "shape", "source", "µs/call", "%"]
        total = self.step_seconds or 1.0
        rows = sorted(self.rows, key=lambda row: -row.seconds)[:top]
        body = [
            [
                str(row.step),
                str(row.group),
                row.runs_as,
                _primitive_text(row.primitives),
                row.shape,
                ", ".join(row.sources) or "-",
                f"{row.seconds * 1e6:.1f}",
                f"{100 * row.seconds / total:.1f}",
            ]
            for row in rows
        ]
        return header, body

    def _summary(self) -> str:
        return (
            f"jit({self.name}) on {self.backend}: {self.total_seconds * 1e6:.1f} µs per call "
            f"({self.step_seconds * 1e6:.1f} µs in {len(self.rows)} steps), mean of "
            f"{self.repeat} calls"
        )

    def table(self, top: int | None = 20) -> str:
        """The slowest `top` steps (all with None) as an aligned text table."""
        header, body = self._table(top)
        widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
        lines = [
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths)).rstrip()
            for line in [header, *body]
        ]
        return "\n".join([self._summary(), *lines])

    def __str__(self) -> str:
        return self.table()

    __repr__ = __str__

    def _repr_html_(self) -> str:
        header, body = self._table(20)
        head = "".join(f"<th>{html_text.escape(cell)}</th>" for cell in header)
        rows = "".join(
            "<tr>" + "".join(f"<td>{html_text.escape(cell)}</td>" for cell in line) + "</tr>"
            for line in body
        )
        summary = html_text.escape(self._summary())
        return f"<p>{summary}</p><table><tr>{head}</tr>{rows}</table>"


def _primitive_text(primitives: tuple[str, ...]) -> str:
    text = " ".join(primitives)
    return text if len(text) <= 40 else text[:37] + "..."


def profile(fun: Callable, *args, repeat: int = 10, **kwargs) -> Profile:
    """Time each step of `jit(fun)` on these arguments (`fun` may already be jitted; its
    backend is used), mean over `repeat` calls after one warm-up call.

    >>> p = profile(lambda x: jnp.tanh(x) @ x, np.ones((64, 64), np.float32))   # doctest: +SKIP
    >>> p.rows[0].primitives, p.rows[0].sources      # doctest: +SKIP
    (('tanh',), ('notebook.py:3 (<lambda>)',))
    """
    from funcgrad.compiler.jit import JitFunction, jit
    from funcgrad.compiler.stages import _backend_compiler

    if not callable(fun):
        raise TypeError(
            f"viz.profile at {user_location()}: expected a function (or a jitted one), got "
            f"{type(fun).__name__}. Pass the function itself: profile(f, x), not profile(f(x))."
        )
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise ValueError(
            f"viz.profile at {user_location()}: repeat={repeat!r} must be a positive integer "
            "(the number of timed calls; 10 is a good start)."
        )
    jitted = fun if isinstance(fun, JitFunction) else jit(fun)
    _, leaves, entry, _ = jitted._lookup(args, kwargs)
    lowered = jitted.lower(*args, **kwargs)
    compile_program = _backend_compiler(lowered.backend)
    # Nothing donated: the timed calls reuse the same input buffers.
    program = compile_program(
        lowered.optimized, lowered.groups, (False,) * len(leaves), lowered.name, profile=True
    )
    buffers = [np.asarray(x, a.dtype) for x, a in zip(leaves, entry.closed.in_avals)]
    program(*buffers)
    program.timings[:] = [0.0] * len(program.timings)
    began = time.perf_counter()
    for _ in range(repeat):
        program(*buffers)
    total = (time.perf_counter() - began) / repeat
    rows = [
        _row(index, step, seconds / repeat)
        for index, (step, seconds) in enumerate(zip(program.profile_steps, program.timings))
    ]
    return Profile(lowered.name, lowered.backend, repeat, rows, total)


def _row(index: int, step, seconds: float) -> ProfileRow:
    shapes = [v.aval.str_short() for v in step.eqns[-1].outvars] if step.eqns else []
    return ProfileRow(
        step=index,
        group=step.group,
        runs_as=step.runs_as,
        primitives=tuple(e.primitive.name for e in step.eqns),
        shape=" ".join(shapes),
        eqn_sources=tuple(source_text(e.source_info) or "-" for e in step.eqns),
        seconds=seconds,
    )
