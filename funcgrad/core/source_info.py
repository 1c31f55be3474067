"""Where in the user's code an operation happened, and tracebacks without our frames.

Every error and every traced equation points at the first stack frame outside the
funcgrad package: that is the line the user wrote. `api_boundary` strips funcgrad's
own frames from tracebacks that leave a public function, as JAX does, so the user
sees their call and the message, not our interpreter. Set
FUNCGRAD_TRACEBACK_FILTERING=off to keep every frame.
"""

from __future__ import annotations

import functools
import os
import sys
import types

__all__ = ["SourceInfo", "user_frame", "user_location", "api_boundary"]

_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def _is_internal(filename: str) -> bool:
    # "<funcgrad NAME>" names the programs jit generates.
    return filename.startswith(_PACKAGE_DIR) or filename.startswith("<funcgrad ")


class SourceInfo:
    """A user-code location: file, line and function name."""

    __slots__ = ("filename", "lineno", "function")

    def __init__(self, filename: str, lineno: int, function: str):
        self.filename = filename
        self.lineno = lineno
        self.function = function

    def __str__(self) -> str:
        cell = _notebook_cell(self.filename)
        if cell is not None:
            return f"{cell}, line {self.lineno} ({self.function})"
        return f"{os.path.basename(self.filename)}:{self.lineno} ({self.function})"

    def __repr__(self) -> str:
        return f"SourceInfo({self.filename!r}, {self.lineno}, {self.function!r})"


def _notebook_cell(filename: str) -> str | None:
    """IPython's name for the code cell compiled to `filename` ("Cell In[3]", as its own
    tracebacks say), when running under IPython; else None."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    cells = getattr(getattr(shell, "compile", None), "_filename_map", None)
    number = cells.get(filename) if isinstance(cells, dict) else None
    return None if number is None else f"Cell In[{number}]"


def user_frame() -> SourceInfo | None:
    """The innermost frame on the stack that is not funcgrad's own code."""
    frame = sys._getframe(1)
    while frame is not None and _is_internal(frame.f_code.co_filename):
        frame = frame.f_back
    if frame is None:
        return None
    return SourceInfo(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)


def user_location() -> str:
    """`file.py:12 (fn)` of the user's line, for error messages."""
    info = user_frame()
    return str(info) if info is not None else "<unknown location>"


def _filtering_enabled() -> bool:
    return os.environ.get("FUNCGRAD_TRACEBACK_FILTERING", "on").lower() not in ("off", "0", "false")


def _filtered(tb: types.TracebackType | None) -> types.TracebackType | None:
    frames = []
    while tb is not None:
        if not _is_internal(tb.tb_frame.f_code.co_filename):
            frames.append((tb.tb_frame, tb.tb_lasti, tb.tb_lineno))
        tb = tb.tb_next
    out = None
    for frame, lasti, lineno in reversed(frames):
        out = types.TracebackType(out, frame, lasti, lineno)
    return out


def api_boundary(fun):
    """Decorate a public entry point so errors leaving it hide funcgrad's frames."""

    @functools.wraps(fun)
    def wrapped(*args, **kwargs):
        try:
            return fun(*args, **kwargs)
        except Exception as err:
            if not _filtering_enabled():
                raise
            raise err.with_traceback(_filtered(err.__traceback__)) from err.__cause__

    return wrapped
