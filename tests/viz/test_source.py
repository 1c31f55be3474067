"""User lines as pictures and profiles show them: file:line (function), notebook cells as
IPython numbers them."""

import sys
import types

from funcgrad.core.source_info import SourceInfo
from funcgrad.viz.source import source_text


def test_a_file_line():
    assert source_text(SourceInfo("/home/me/train.py", 12, "loss")) == "train.py:12 (loss)"
    assert source_text(None) == ""


def test_a_notebook_cell_is_named_as_ipython_names_it(monkeypatch):
    cells = {"/tmp/ipykernel_7/3141.py": 5}

    def format_code_name(name):
        return ("Cell", f"In[{cells[name]}]") if name in cells else None

    shell = types.SimpleNamespace(compile=types.SimpleNamespace(format_code_name=format_code_name))
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    assert source_text(SourceInfo("/tmp/ipykernel_7/3141.py", 2, "f")) == "In[5]:2 (f)"
    assert source_text(SourceInfo("/work/model.py", 9, "g")) == "model.py:9 (g)"


def test_outside_ipython(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: None))
    assert source_text(SourceInfo("/tmp/x.py", 1, "f")) == "x.py:1 (f)"
