"""Primitives: the named operations every funcgrad program is built from.

A primitive carries two rules of its own: `impl` (evaluate on NumPy arrays) and
`abstract_eval` (the shape/dtype rule, avals in, avals out). Transforms keep their
rule tables (jvp, transpose, batching, lowering) in their own modules, keyed by the
primitive; the entries are registered beside the primitive's definition in `lax/`.
`bind` hands the primitive to the current trace, which decides what applying it means.
"""

from __future__ import annotations

import sys
from typing import Callable

from funcgrad.core.trace import current_trace

__all__ = ["Primitive", "all_primitives"]

_REGISTRY: dict[str, "Primitive"] = {}


class Primitive:
    """An operation with rules. Arrays are positional in `bind`; parameters are hashable keywords.

    >>> sin_p = Primitive("sin")            # doctest: +SKIP
    >>> sin_p.def_impl(np.sin)              # doctest: +SKIP
    """

    def __init__(
        self, name: str, *, multiple_results: bool = False, has_side_effects: bool = False
    ):
        if name in _REGISTRY:
            raise ValueError(f"a primitive named {name!r} already exists")
        _REGISTRY[name] = self
        self.name = name
        # The defining module (the caller's, or its caller's for a family helper in it).
        self.module: str = sys._getframe(1).f_globals.get("__name__", "")
        self.multiple_results = multiple_results
        # Effectful equations (debug printing) run even when nothing reads their results,
        # so compiler passes must neither drop, merge nor fold them.
        self.has_side_effects = has_side_effects
        self.impl: Callable = self._missing("impl (eager evaluation)")
        self.abstract_eval: Callable = self._missing("abstract_eval (shape rule)")

    def _missing(self, rule: str) -> Callable:
        def missing(*args, **params):
            raise NotImplementedError(f"primitive {self.name!r} has no {rule} rule")

        missing.is_missing_rule = True
        return missing

    def def_impl(self, impl: Callable) -> Callable:
        self.impl = impl
        return impl

    def def_abstract_eval(self, rule: Callable) -> Callable:
        self.abstract_eval = rule
        return rule

    def bind(self, *args, **params):
        return current_trace().process_primitive(self, args, params)

    def __repr__(self) -> str:
        return self.name


def all_primitives() -> dict[str, Primitive]:
    """Every primitive defined so far, by name (registry tests walk this)."""
    return dict(_REGISTRY)
