"""Op records for funcgrad/lax/debugging.py: debug_print.

A print has no outputs, so the table's value checks only confirm that it binds exactly
one equation whose shape rule gives no results; what it prints is checked against
NumPy's own formatting in tests/test_debug.py.
"""

from __future__ import annotations

from op_records import EXACT, ORDERED, OpRecord, uniform

from funcgrad.lax.debugging import debug_print
from funcgrad.tree_util import tree_structure


def _print_pair(x, y):
    debug_print("{} and {}", x, y, in_tree=tree_structure(((x, y), {})))
    return []


RECORDS = [
    OpRecord(
        "debug_print",
        "debug_print",
        "debug_print",
        _print_pair,
        lambda x, y: [],
        2,
        ORDERED,
        uniform(2),
        EXACT,
        shapes=((), (0,), (2, 3)),
    ),
]
