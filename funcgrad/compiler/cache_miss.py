"""Why did jit trace again? A readable answer for a cache miss.

A jitted function retraces whenever a call's `CacheKey` (jit.py) differs from every key
seen before. Retracing on every call is a common, silent slowdown: a shape that changes
each step, a Python scalar passed where an array was passed before, a static argument
that takes a new value. `explain_cache_miss` compares the new key with the closest
earlier one and names each argument that differs, by its parameter name and its path
inside the argument (`params['w']`), and how: shape or dtype, weak type, static value,
pytree structure, the x64 flag or the backend. jit logs the text (see jit.py).
"""

from __future__ import annotations

import collections
import inspect
from typing import Callable, Sequence

from funcgrad.core.avals import ShapedArray
from funcgrad.core.source_info import user_location
from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    keystr,
    tree_flatten_with_path,
)

__all__ = ["explain_cache_miss"]


def explain_cache_miss(fun: Callable, key, previous_keys: Sequence) -> str:
    """The text jit logs when `key` (a jit.CacheKey) misses a cache holding `previous_keys`.

    >>> explain_cache_miss(f, new_key, [old_key])            # doctest: +SKIP
    "TRACING CACHE MISS: jit(f) (defined at m.py:3) is retracing at m.py:9, because ..."
    """
    names = _ArgumentNames(fun)
    closest = min(previous_keys, key=lambda old: _distance(old, key))
    reasons = _differences(closest, key, names) or ["the cache key differs (no named change)"]
    count = len(previous_keys)
    earlier = "the earlier call" if count == 1 else f"the closest of {count} earlier calls"
    return (
        f"TRACING CACHE MISS: jit({_fun_name(fun)}){_defined_at(fun)} is retracing at "
        f"{user_location()}, because compared with {earlier}:\n"
        + "\n".join(f"  * {reason}" for reason in reasons)
        + "\nEach new combination of shapes, dtypes, weak types, pytree structures and static "
        "argument values traces and compiles the function again."
    )


def _distance(old, new) -> int:
    """How far apart two keys are: a changed weak type counts least, a new structure most."""
    distance = 4 * (old.x64 != new.x64) + 4 * (old.backend != new.backend)
    distance += 2 * len(set(old.statics) ^ set(new.statics))
    if old.in_tree != new.in_tree or old.dynamic_positions != new.dynamic_positions:
        return distance + 3
    for before, after in zip(old.avals, new.avals):
        if before.shape != after.shape or before.dtype != after.dtype:
            distance += 2
        elif before.weak_type != after.weak_type:
            distance += 1
    return distance


def _fun_name(fun: Callable) -> str:
    return getattr(fun, "__name__", type(fun).__name__)


def _defined_at(fun: Callable) -> str:
    code = getattr(inspect.unwrap(fun), "__code__", None)
    return f" (defined at {code.co_filename}:{code.co_firstlineno})" if code else ""


class _ArgumentNames:
    """Names a call's arguments as the user wrote the function's parameters."""

    def __init__(self, fun: Callable):
        try:
            parameters = list(inspect.signature(fun).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
        self.positional = [p.name for p in parameters if p.kind in kinds]
        self.star = next(
            (p.name for p in parameters if p.kind is inspect.Parameter.VAR_POSITIONAL), None
        )

    def positional_name(self, position: int) -> str:
        if position < len(self.positional):
            return self.positional[position]
        if self.star is not None:
            return f"{self.star}[{position - len(self.positional)}]"
        return f"args[{position}]"


def _differences(old, new, names: _ArgumentNames) -> list[str]:
    """Every way `new` differs from `old`, one phrase each."""
    reasons = _static_differences(old.statics, new.statics, names)
    if old.in_tree == new.in_tree and old.dynamic_positions == new.dynamic_positions:
        reasons += _aval_differences(old, new, names)
    else:
        reasons += _structure_differences(old, new, names)
    if old.x64 != new.x64:
        reasons.append(f"the jax_enable_x64 flag changed: {old.x64} -> {new.x64}")
    if old.backend != new.backend:
        reasons.append(f"the backend changed: {old.backend} -> {new.backend}")
    return reasons


def _statics_by_name(statics: tuple, names: _ArgumentNames) -> dict[str, tuple[str, object]]:
    """name -> (how it was passed, value) for each static argument."""
    return {
        (names.positional_name(where) if kind == "arg" else where): (_HOW[kind], value)
        for kind, where, value in statics
    }


_HOW = {"arg": "positionally", "kw": "by keyword"}


def _static_differences(old: tuple, new: tuple, names: _ArgumentNames) -> list[str]:
    before, after = _statics_by_name(old, names), _statics_by_name(new, names)
    reasons = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after:
            reasons.append(
                f"static argument {name} is no longer passed (it was {before[name][1]!r})"
            )
        elif name not in before:
            reasons.append(
                f"static argument {name} is passed now ({after[name][1]!r}); it was not before"
            )
        elif before[name][0] != after[name][0]:
            reasons.append(
                f"static argument {name} was passed {before[name][0]}, now {after[name][0]}"
            )
        elif not _same_static(before[name][1], after[name][1]):
            reasons.append(
                f"static argument {name} changed value: {before[name][1]!r} -> {after[name][1]!r}"
            )
    return reasons


def _same_static(a, b) -> bool:
    # The cache compares static values by hash and equality, so must we.
    return type(a) is type(b) and a == b


def _leaf_names(in_tree: PyTreeDef, positions: tuple, names: _ArgumentNames) -> list[str]:
    """`params['w']` for each leaf of `(dynamic args, dynamic kwargs)`."""
    try:
        with_paths, _ = tree_flatten_with_path(in_tree.unflatten(range(in_tree.num_leaves)))
    except Exception:  # a custom node whose unflatten rejects placeholder leaves
        return [f"flat input {i}" for i in range(in_tree.num_leaves)]
    return [_path_name(path, positions, names) for path, _ in with_paths]


def _path_name(path, positions: tuple, names: _ArgumentNames) -> str:
    group, entry, rest = path[0].idx, path[1], keystr(path[2:])
    if group == 0:
        return names.positional_name(positions[entry.idx]) + rest
    return f"{entry.key}{rest}"


def _aval_text(aval: ShapedArray) -> str:
    return aval.str_short() + ("{weak_type}" if aval.weak_type else "")


def _aval_differences(old, new, names: _ArgumentNames) -> list[str]:
    leaf_names = _leaf_names(new.in_tree, new.dynamic_positions, names)
    reasons = []
    for name, before, after in zip(leaf_names, old.avals, new.avals):
        if before.shape != after.shape or before.dtype != after.dtype:
            what = "shape" if before.dtype == after.dtype else "dtype"
            if before.shape != after.shape and before.dtype != after.dtype:
                what = "shape and dtype"
            reasons.append(
                f"argument {name} changed {what}: {_aval_text(before)} -> {_aval_text(after)}"
            )
        elif before.weak_type != after.weak_type:
            reasons.append(
                f"argument {name} changed weak type: {_aval_text(before)} -> "
                f"{_aval_text(after)} (a Python scalar is weakly typed, a typed array is not: "
                "pass the same kind each call)"
            )
    return reasons


def _arguments(key, names: _ArgumentNames) -> dict[str, tuple[str, PyTreeDef]]:
    """name -> (how it was passed, its own pytree structure) for each traced argument."""
    args_tree, kwargs_tree = key.in_tree.children()
    named = {
        names.positional_name(position): (_HOW["arg"], tree)
        for position, tree in zip(key.dynamic_positions, args_tree.children())
    }
    _, kwarg_names = kwargs_tree.node_data()
    named.update(
        (name, (_HOW["kw"], tree)) for name, tree in zip(kwarg_names, kwargs_tree.children())
    )
    return named


def _structure_differences(old, new, names: _ArgumentNames) -> list[str]:
    before, after = _arguments(old, names), _arguments(new, names)
    reasons = []
    for name in [*before, *(n for n in after if n not in before)]:
        if name not in after:
            reasons.append(f"argument {name} is no longer passed as a traced argument")
        elif name not in before:
            reasons.append(f"argument {name} is passed now; it was not before")
        elif before[name][0] != after[name][0]:
            reasons.append(f"argument {name} was passed {before[name][0]}, now {after[name][0]}")
        elif before[name][1] != after[name][1]:
            old_tree, new_tree = before[name][1], after[name][1]
            where, difference = _first_structure_difference(old_tree, new_tree, ())
            reasons.append(
                f"argument {name + keystr(where)} changed pytree structure: {difference} (whole "
                f"argument: {_tree_text(old_tree)} -> {_tree_text(new_tree)})"
            )
    return reasons


def _tree_text(tree: PyTreeDef) -> str:
    return repr(tree)[len("PyTreeDef(") : -1]


def _node_text(tree: PyTreeDef) -> str:
    data = tree.node_data()
    if data is None:
        return "an array leaf"
    node_type, aux = data
    if node_type is type(None):
        return "None"
    if node_type in (dict, collections.OrderedDict):
        return f"a {node_type.__name__} with keys {list(aux)}"
    if node_type in (tuple, list):
        return f"a {node_type.__name__} of {len(tree.children())}"
    return f"a {node_type.__name__} ({_tree_text(tree)})"


def _first_structure_difference(old: PyTreeDef, new: PyTreeDef, path: tuple):
    """(key path, phrase) of the outermost node where `old` and `new` differ."""
    data = old.node_data()
    if data == new.node_data() and len(old.children()) == len(new.children()):
        for index, (a, b) in enumerate(zip(old.children(), new.children())):
            if a != b:
                return _first_structure_difference(a, b, (*path, _child_key(*data, index)))
    return path, f"{_node_text(old)} -> {_node_text(new)}"


def _child_key(node_type: type, aux, index: int):
    """The key-path entry naming child `index` of a node, as tree_flatten_with_path does."""
    if node_type in (dict, collections.OrderedDict):
        return DictKey(aux[index])
    if node_type in (tuple, list):
        return SequenceKey(index)
    fields = getattr(node_type, "_fields", None)  # a namedtuple
    return GetAttrKey(fields[index]) if fields else FlattenedIndexKey(index)
