"""How pictures and profiles name the user's line: `file.py:12 (fn)`, or `In[3]:12 (fn)` for
code typed into a Jupyter/IPython cell (whose real file name is a hash IPython makes up)."""

from __future__ import annotations

import sys

from funcgrad.core.source_info import SourceInfo

__all__ = ["source_text"]


def source_text(info: SourceInfo | None) -> str:
    """The location as shown to the user; "" when unknown.

    >>> source_text(SourceInfo("/home/me/train.py", 12, "loss"))
    'train.py:12 (loss)'
    """
    if info is None:
        return ""
    cell = _cell_name(info.filename)
    return f"{cell}:{info.lineno} ({info.function})" if cell else str(info)


def _cell_name(filename: str) -> str | None:
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    compiler = getattr(shell, "compile", None)
    naming = getattr(compiler, "format_code_name", None)
    if naming is None:
        return None
    named = naming(filename)  # ("Cell", "In[3]") for a cell's code, None otherwise
    return named[1] if named else None
