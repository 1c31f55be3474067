"""Pytrees: nested containers flattened into a list of leaves plus a structure.

Every transform (grad, jit, vmap, ...) takes and returns pytrees, so this module is the
one place that decides what a container is: the registry of node types, the
flatten/unflatten pair that converts between a tree and ``(leaves, PyTreeDef)``, and the
tree helpers built on that pair. jit flattens its arguments on every call and keys its
trace cache on the resulting PyTreeDef, so flattening looks the exact ``type(x)`` up in
a dict (no isinstance chains), a treedef is plain nested tuples, and its hash is cached.
"""

from __future__ import annotations

import collections
import dataclasses
import functools
import operator
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, NoReturn, TypeVar

from funcgrad.core.source_info import user_location

__all__ = [
    "DictKey",
    "FlattenedIndexKey",
    "GetAttrKey",
    "KeyEntry",
    "KeyPath",
    "PyTreeDef",
    "SequenceKey",
    "all_leaves",
    "keystr",
    "register_dataclass",
    "register_pytree_node",
    "register_pytree_node_class",
    "register_static",
    "tree_all",
    "tree_flatten",
    "tree_flatten_with_path",
    "tree_leaves",
    "tree_leaves_with_path",
    "tree_map",
    "tree_map_with_path",
    "tree_reduce",
    "tree_structure",
    "tree_transpose",
    "tree_unflatten",
    "treedef_is_leaf",
]

_TypeT = TypeVar("_TypeT", bound=type)


# ----------------------------------------------------------------------------------------
# Key paths: how tree_flatten_with_path names the route from the root to each leaf.


@dataclasses.dataclass(frozen=True, slots=True)
class SequenceKey:
    """Path entry for the child at position ``idx`` of a tuple or list.

    >>> keystr((SequenceKey(0), SequenceKey(2)))
    '[0][2]'
    """

    idx: int

    def __str__(self) -> str:
        return f"[{self.idx!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class DictKey:
    """Path entry for the value stored under ``key`` in a dict-like node.

    >>> keystr((DictKey("w"),))
    "['w']"
    """

    key: Hashable

    def __str__(self) -> str:
        return f"[{self.key!r}]"


@dataclasses.dataclass(frozen=True, slots=True)
class GetAttrKey:
    """Path entry for the attribute ``name`` of a namedtuple or registered dataclass.

    >>> keystr((GetAttrKey("params"), DictKey("b")))
    ".params['b']"
    """

    name: str

    def __str__(self) -> str:
        return f".{self.name}"


@dataclasses.dataclass(frozen=True, slots=True)
class FlattenedIndexKey:
    """Path entry for child ``key`` of a custom node that was registered without key names.

    >>> str(FlattenedIndexKey(1))
    '[<flat index 1>]'
    """

    key: int

    def __str__(self) -> str:
        return f"[<flat index {self.key}>]"


# Public aliases for annotations, as in jax.tree_util.
KeyEntry = SequenceKey | DictKey | GetAttrKey | FlattenedIndexKey
KeyPath = tuple[KeyEntry, ...]


def keystr(keys: KeyPath, *, simple: bool = False, separator: str = "") -> str:
    """Render a key path as text.

    >>> keystr((SequenceKey(0), DictKey("w"), GetAttrKey("x")))
    "[0]['w'].x"
    >>> keystr((SequenceKey(0), DictKey("w")), simple=True, separator="/")
    '0/w'
    """
    if not simple:
        return separator.join(str(key) for key in keys)
    return separator.join(_simple_key_text(key) for key in keys)


def _simple_key_text(key: KeyEntry) -> str:
    if type(key) is SequenceKey:
        return str(key.idx)
    if type(key) is GetAttrKey:
        return key.name
    return str(key.key)


# ----------------------------------------------------------------------------------------
# Node kinds and the registry.
#
# A treedef node is either the marker _LEAF or a tuple (kind, aux_data, child_nodes). Kinds
# compare by identity, so tuple equality and hashing give PyTreeDef its ==/hash for free.


class _NodeKind:
    """How one container type is taken apart, rebuilt, named on paths and printed."""

    __slots__ = ("child_keys", "flatten", "formatter", "node_type", "unflatten")

    def __init__(
        self,
        node_type: type,
        flatten: Callable[[Any], tuple[Iterable[Any], Any]],
        unflatten: Callable[[Any, tuple], Any],
        child_keys: Callable[[Any, int], Sequence[KeyEntry]],
        formatter: Callable[[Any, list[str]], str],
    ) -> None:
        self.node_type = node_type
        self.flatten = flatten  # node -> (children, aux_data)
        self.unflatten = unflatten  # (aux_data, children tuple) -> node
        self.child_keys = child_keys  # (aux_data, number of children) -> path entries
        self.formatter = formatter  # (aux_data, children's text) -> text for repr

    def __repr__(self) -> str:
        return f"<pytree node kind for {self.node_type.__qualname__}>"


class _Leaf:
    """Type of the _LEAF marker; prints as the ``*`` JAX uses for a leaf."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "*"


_LEAF = _Leaf()

# Cache value for types already seen to be leaves, so a leaf costs one dict lookup.
_LEAF_KIND = object()

# Exact type -> _NodeKind or _LEAF_KIND. Holds registered types plus every type met while
# flattening (namedtuple classes get a kind of their own, everything else is a leaf).
_kind_by_type: dict[type, Any] = {}
_registered_types: set[type] = set()


def _sequence_keys(aux: Any, count: int) -> list[KeyEntry]:
    return [SequenceKey(index) for index in range(count)]


def _dict_keys(keys: tuple, count: int) -> list[KeyEntry]:
    return [DictKey(key) for key in keys]


def _flat_index_keys(aux: Any, count: int) -> list[KeyEntry]:
    return [FlattenedIndexKey(index) for index in range(count)]


def _sorted_keys(mapping: dict) -> tuple:
    try:
        return tuple(sorted(mapping))
    except TypeError:
        raise TypeError(
            f"Cannot flatten a dict whose keys cannot be sorted: {list(mapping)!r}. Pytrees "
            "order dict children by sorted key, so all keys of one dict must be comparable "
            "with each other (for example, all str)."
        ) from None


def _format_tuple(aux: Any, children: list[str]) -> str:
    if len(children) == 1:
        return f"({children[0]},)"
    return "(" + ", ".join(children) + ")"


def _format_dict_items(keys: Iterable, children: list[str]) -> str:
    return "{" + ", ".join(f"{key!r}: {child}" for key, child in zip(keys, children)) + "}"


def _custom_formatter(type_name: str) -> Callable[[Any, list[str]], str]:
    def format_custom(aux: Any, children: list[str]) -> str:
        return f"CustomNode({type_name}[{aux!r}], [{', '.join(children)}])"

    return format_custom


def _flatten_dict(mapping: dict) -> tuple[list, tuple]:
    keys = _sorted_keys(mapping)
    return [mapping[key] for key in keys], keys


def _flatten_defaultdict(mapping: collections.defaultdict) -> tuple[list, tuple]:
    keys = _sorted_keys(mapping)
    return [mapping[key] for key in keys], (mapping.default_factory, keys)


def _flatten_ordered_dict(mapping: collections.OrderedDict) -> tuple[list, tuple]:
    return list(mapping.values()), tuple(mapping)


_BUILTIN_KINDS = [
    _NodeKind(
        tuple,
        lambda node: (node, None),
        lambda aux, children: children,
        _sequence_keys,
        _format_tuple,
    ),
    _NodeKind(
        list,
        lambda node: (node, None),
        lambda aux, children: list(children),
        _sequence_keys,
        lambda aux, children: "[" + ", ".join(children) + "]",
    ),
    _NodeKind(
        dict,
        _flatten_dict,
        lambda keys, children: dict(zip(keys, children)),
        _dict_keys,
        _format_dict_items,
    ),
    _NodeKind(
        type(None),
        lambda node: ((), None),
        lambda aux, children: None,
        _sequence_keys,
        lambda aux, children: "None",
    ),
    _NodeKind(
        collections.OrderedDict,
        _flatten_ordered_dict,
        lambda keys, children: collections.OrderedDict(zip(keys, children)),
        _dict_keys,
        _custom_formatter("OrderedDict"),
    ),
    _NodeKind(
        collections.defaultdict,
        _flatten_defaultdict,
        lambda aux, children: collections.defaultdict(aux[0], zip(aux[1], children)),
        lambda aux, count: _dict_keys(aux[1], count),
        _custom_formatter("defaultdict"),
    ),
]
for _kind in _BUILTIN_KINDS:
    _kind_by_type[_kind.node_type] = _kind
    _registered_types.add(_kind.node_type)
del _kind


def _namedtuple_kind(namedtuple_type: type) -> _NodeKind:
    field_keys = tuple(GetAttrKey(name) for name in namedtuple_type._fields)
    return _NodeKind(
        namedtuple_type,
        lambda node: (node, None),
        lambda aux, children: namedtuple_type(*children),
        lambda aux, count: field_keys,
        lambda aux, children: (
            f"CustomNode(namedtuple[{namedtuple_type.__name__}], [{', '.join(children)}])"
        ),
    )


def _classify(node_type: type) -> Any:
    """Kind of a type not in the cache yet: namedtuple classes are nodes, the rest leaves."""
    if issubclass(node_type, tuple) and hasattr(node_type, "_fields"):
        kind = _namedtuple_kind(node_type)
    else:
        kind = _LEAF_KIND
    # setdefault: a concurrent registration of the same type wins over this guess.
    return _kind_by_type.setdefault(node_type, kind)


def _kind_of(node_type: type) -> Any:
    kind = _kind_by_type.get(node_type)
    return kind if kind is not None else _classify(node_type)


def _check_is_type(nodetype: Any, api_name: str) -> None:
    if not isinstance(nodetype, type):
        raise TypeError(
            f"{api_name}: expected a class to register as a pytree node, got {nodetype!r} "
            f"(an instance of {type(nodetype).__name__}). Pass the class itself."
        )


def _register(kind: _NodeKind, api_name: str) -> None:
    node_type = kind.node_type
    if node_type in _registered_types:
        raise ValueError(
            f"{api_name}: {node_type.__module__}.{node_type.__qualname__} is already "
            "registered as a pytree node type; a type can be registered only once."
        )
    _registered_types.add(node_type)
    _kind_by_type[node_type] = kind


def register_pytree_node(
    nodetype: type,
    flatten_func: Callable[[Any], tuple[Iterable[Any], Hashable]],
    unflatten_func: Callable[[Any, Iterable[Any]], Any],
) -> None:
    """Make instances of ``nodetype`` pytree nodes rather than leaves.

    ``flatten_func(node)`` returns ``(children, aux_data)``; ``aux_data`` becomes part of
    the treedef, so it must be hashable and comparable. ``unflatten_func(aux_data,
    children)`` rebuilds a node. Only the exact type is registered, not its subclasses.

    >>> class Pair:
    ...     def __init__(self, first, second):
    ...         self.first, self.second = first, second
    >>> register_pytree_node(
    ...     Pair, lambda p: ((p.first, p.second), None), lambda aux, kids: Pair(*kids))
    >>> tree_leaves(Pair(1, (2, 3)))
    [1, 2, 3]
    """
    _check_is_type(nodetype, "register_pytree_node")
    kind = _NodeKind(
        nodetype,
        flatten_func,
        unflatten_func,
        _flat_index_keys,
        _custom_formatter(nodetype.__name__),
    )
    _register(kind, "register_pytree_node")


def register_pytree_node_class(cls: _TypeT) -> _TypeT:
    """Class decorator: register ``cls`` through its ``tree_flatten``/``tree_unflatten``.

    ``tree_flatten(self)`` returns ``(children, aux_data)`` and the classmethod
    ``tree_unflatten(cls, aux_data, children)`` rebuilds an instance.

    >>> @register_pytree_node_class
    ... class Scale:
    ...     def __init__(self, value, name):
    ...         self.value, self.name = value, name
    ...     def tree_flatten(self):
    ...         return (self.value,), self.name
    ...     @classmethod
    ...     def tree_unflatten(cls, name, children):
    ...         return cls(children[0], name)
    >>> tree_structure(Scale(1.0, "s"))
    PyTreeDef(CustomNode(Scale['s'], [*]))
    """
    _check_is_type(cls, "register_pytree_node_class")
    register_pytree_node(cls, operator.methodcaller("tree_flatten"), cls.tree_unflatten)
    return cls


def register_static(cls: _TypeT) -> _TypeT:
    """Register ``cls`` so that its instances are stored in the treedef, not as leaves.

    The instance becomes aux data, so it must be hashable; the node has no children.

    >>> @register_static
    ... @dataclasses.dataclass(frozen=True)
    ... class Activation:
    ...     name: str
    >>> tree_leaves([1.0, Activation("relu")])
    [1.0]
    """
    _check_is_type(cls, "register_static")
    register_pytree_node(cls, lambda node: ((), node), lambda node, children: node)
    return cls


class _StaticFields:
    """Aux data of a registered dataclass: the values of its meta (static) fields.

    Hashing names the offending field when one holds an unhashable value, since that
    hash is what a jit cache lookup computes.
    """

    __slots__ = ("names", "node_type", "values")

    def __init__(self, node_type: type, names: tuple[str, ...], values: tuple) -> None:
        self.node_type = node_type
        self.names = names
        self.values = values

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _StaticFields):
            return NotImplemented
        return self.names == other.names and self.values == other.values

    def __hash__(self) -> int:
        try:
            return hash(self.values)
        except TypeError:
            for name, value in zip(self.names, self.values):
                try:
                    hash(value)
                except TypeError:
                    raise TypeError(
                        f"Static field {self.node_type.__qualname__}.{name} holds an "
                        f"unhashable value {value!r} (of type {type(value).__name__}). Static "
                        "(meta) fields are part of the tree structure and must be hashable: "
                        "store a hashable value (e.g. a tuple instead of a list) or make the "
                        "field a data field."
                    ) from None
            raise

    def __repr__(self) -> str:
        return repr(self.values)


def register_dataclass(
    nodetype: _TypeT,
    data_fields: Sequence[str] | None = None,
    meta_fields: Sequence[str] | None = None,
    drop_fields: Sequence[str] = (),
) -> _TypeT:
    """Register a dataclass-like type whose data fields are children and meta fields aux data.

    With neither field list given, ``nodetype`` must be a dataclass: fields declared with
    ``metadata=dict(static=True)`` are meta (kept in the treedef, must be hashable) and the
    other ``init`` fields are data. ``drop_fields`` are left out of both and take their
    defaults when a node is rebuilt. Returns ``nodetype``, so it works as a decorator.

    >>> @register_dataclass
    ... @dataclasses.dataclass
    ... class Layer:
    ...     weight: float
    ...     width: int = dataclasses.field(metadata=dict(static=True))
    >>> tree_flatten(Layer(0.5, 3))
    ([0.5], PyTreeDef(CustomNode(Layer[(3,)], [*])))
    """
    _check_is_type(nodetype, "register_dataclass")
    if (data_fields is None) != (meta_fields is None):
        raise TypeError(
            "register_dataclass: pass both data_fields and meta_fields, or neither (to infer "
            f"them from the dataclass fields of {nodetype.__qualname__})."
        )
    is_dataclass = dataclasses.is_dataclass(nodetype)
    if data_fields is None:
        if not is_dataclass:
            raise TypeError(
                f"register_dataclass: {nodetype.__qualname__} is not a dataclass, so "
                "data_fields and meta_fields must be given explicitly."
            )
        init_fields = [
            f for f in dataclasses.fields(nodetype) if f.init and f.name not in drop_fields
        ]
        data_fields = [f.name for f in init_fields if not f.metadata.get("static", False)]
        meta_fields = [f.name for f in init_fields if f.metadata.get("static", False)]
    data_names, meta_names = tuple(data_fields), tuple(meta_fields)
    if is_dataclass:
        expected = {f.name for f in dataclasses.fields(nodetype) if f.init} - set(drop_fields)
        given = set(data_names) | set(meta_names)
        if given != expected:
            raise ValueError(
                f"register_dataclass: data_fields and meta_fields of {nodetype.__qualname__} "
                "must list every init field not in drop_fields, each once. Missing: "
                f"{sorted(expected - given)}; not init fields: {sorted(given - expected)}."
            )

    def flatten(node: Any) -> tuple[list, _StaticFields]:
        children = [getattr(node, name) for name in data_names]
        static = tuple([getattr(node, name) for name in meta_names])
        return children, _StaticFields(nodetype, meta_names, static)

    def unflatten(static: _StaticFields, children: tuple) -> Any:
        return nodetype(**dict(zip(data_names, children)), **dict(zip(meta_names, static.values)))

    data_keys = tuple(GetAttrKey(name) for name in data_names)
    kind = _NodeKind(
        nodetype,
        flatten,
        unflatten,
        lambda aux, count: data_keys,
        _custom_formatter(nodetype.__name__),
    )
    _register(kind, "register_dataclass")
    return nodetype


# ----------------------------------------------------------------------------------------
# Flattening and rebuilding.


def _flatten_into(
    tree: Any,
    leaves: list,
    _get_kind: Callable[[type], Any] = _kind_by_type.get,
    _leaf_kind: object = _LEAF_KIND,
    _leaf: _Leaf = _LEAF,
) -> Any:
    """Append the leaves of ``tree`` to ``leaves`` and return its treedef node.

    This is jit's per-call hot path: the keyword defaults bind globals as locals, and
    children that are leaves are handled in the loop instead of by a recursive call.
    """
    kind = _get_kind(type(tree)) or _classify(type(tree))
    if kind is _leaf_kind:
        leaves.append(tree)
        return _leaf
    children, aux = kind.flatten(tree)
    child_nodes = []
    for child in children:
        if _get_kind(type(child)) is _leaf_kind:
            leaves.append(child)
            child_nodes.append(_leaf)
        else:
            child_nodes.append(_flatten_into(child, leaves))
    return (kind, aux, tuple(child_nodes))


def _flatten_into_with_is_leaf(tree: Any, leaves: list, is_leaf: Callable[[Any], bool]) -> Any:
    """_flatten_into for a caller-supplied ``is_leaf``, which is asked about every node."""
    kind = _LEAF_KIND if is_leaf(tree) else _kind_of(type(tree))
    if kind is _LEAF_KIND:
        leaves.append(tree)
        return _LEAF
    children, aux = kind.flatten(tree)
    child_nodes = [_flatten_into_with_is_leaf(child, leaves, is_leaf) for child in children]
    return (kind, aux, tuple(child_nodes))


def _flatten_node(tree: Any, leaves: list, is_leaf: Callable[[Any], bool] | None) -> Any:
    if is_leaf is None:
        return _flatten_into(tree, leaves)
    return _flatten_into_with_is_leaf(tree, leaves, is_leaf)


def _flatten_with_path_into(
    tree: Any, path: KeyPath, out: list, is_leaf: Callable[[Any], bool] | None
) -> Any:
    """Like _flatten_into, appending ``(key_path, leaf)`` pairs."""
    kind = _LEAF_KIND if is_leaf is not None and is_leaf(tree) else _kind_of(type(tree))
    if kind is _LEAF_KIND:
        out.append((path, tree))
        return _LEAF
    children, aux = kind.flatten(tree)
    children = tuple(children)
    keys = kind.child_keys(aux, len(children))
    child_nodes = [
        _flatten_with_path_into(child, path + (key,), out, is_leaf)
        for key, child in zip(keys, children)
    ]
    return (kind, aux, tuple(child_nodes))


def _build(node: Any, leaf_iter: Iterator[Any]) -> Any:
    """Rebuild the tree of treedef node ``node``, taking its leaves from ``leaf_iter``."""
    if node is _LEAF:
        return next(leaf_iter)
    kind, aux, child_nodes = node
    children = [
        next(leaf_iter) if child is _LEAF else _build(child, leaf_iter) for child in child_nodes
    ]
    return kind.unflatten(aux, tuple(children))


def _count_leaves(node: Any) -> int:
    if node is _LEAF:
        return 1
    return sum(_count_leaves(child) for child in node[2])


def _count_nodes(node: Any) -> int:
    if node is _LEAF:
        return 1
    return 1 + sum(_count_nodes(child) for child in node[2])


def _format_node(node: Any) -> str:
    if node is _LEAF:
        return "*"
    kind, aux, child_nodes = node
    return kind.formatter(aux, [_format_node(child) for child in child_nodes])


class _StructureMismatch(Exception):
    """Internal: a tree differs from a treedef; ``path`` is collected innermost first."""

    def __init__(self, expected_node: Any, value: Any) -> None:
        super().__init__()
        self.expected_node = expected_node
        self.value = value
        self.path: list[KeyEntry] = []

    def describe(self) -> str:
        where = keystr(tuple(reversed(self.path)))
        location = f"at path {where}" if where else "at the root"
        return (
            f"{location}: expected {_shorten(_format_node(self.expected_node))}, "
            f"got {_describe_value(self.value)}"
        )


def _shorten(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _describe_value(value: Any) -> str:
    leaves: list = []
    node = _flatten_into(value, leaves)
    if node is _LEAF:
        return f"a leaf of type {type(value).__name__} ({_shorten(repr(value), 60)})"
    return _shorten(_format_node(node))


def _flatten_up_to_into(node: Any, tree: Any, out: list) -> None:
    if node is _LEAF:
        out.append(tree)
        return
    kind, aux, child_nodes = node
    if _kind_of(type(tree)) is kind:
        children, tree_aux = kind.flatten(tree)
        children = tuple(children)
        if len(children) == len(child_nodes) and tree_aux == aux:
            for index, (child_node, child) in enumerate(zip(child_nodes, children)):
                try:
                    _flatten_up_to_into(child_node, child, out)
                except _StructureMismatch as mismatch:
                    mismatch.path.append(kind.child_keys(aux, len(child_nodes))[index])
                    raise
            return
    raise _StructureMismatch(node, tree)


class PyTreeDef:
    """The structure of a pytree: its node types, their aux data, and where leaves go.

    Immutable and hashable; two treedefs are equal when they have the same shape, node
    types and aux data (dict keys, namedtuple class, static fields, ...). Made by
    :func:`tree_flatten` and :func:`tree_structure`, not constructed directly.

    >>> treedef = tree_structure((1, {"a": 2, "b": None}))
    >>> treedef
    PyTreeDef((*, {'a': *, 'b': None}))
    >>> treedef.num_leaves, treedef.num_nodes
    (2, 5)
    >>> treedef.unflatten(["x", "y"])
    ('x', {'a': 'y', 'b': None})
    """

    # _hash is None until the first hash() call, which fills it in.
    __slots__ = ("_hash", "_node", "_num_leaves")

    def __new__(cls, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("PyTreeDef has no public constructor; use tree_structure or tree_flatten.")

    def __copy__(self) -> PyTreeDef:
        return self

    def __deepcopy__(self, memo: dict) -> PyTreeDef:
        return self

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("PyTreeDef is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("PyTreeDef is immutable")

    @property
    def num_leaves(self) -> int:
        """Number of leaves a tree of this structure holds."""
        return self._num_leaves

    @property
    def num_nodes(self) -> int:
        """Number of nodes, counting leaves and ``None`` nodes."""
        return _count_nodes(self._node)

    def unflatten(self, leaves: Iterable[Any]) -> Any:
        """Build a tree of this structure from ``leaves`` (same as ``tree_unflatten``)."""
        if not isinstance(leaves, (list, tuple)):
            leaves = list(leaves)
        if len(leaves) != self._num_leaves:
            raise ValueError(
                f"tree_unflatten: {self!r} expects {self._num_leaves} leaves, got "
                f"{len(leaves)}. Pass exactly treedef.num_leaves leaves, in the order "
                "tree_flatten returns them."
            )
        return _build(self._node, iter(leaves))

    def flatten_up_to(self, tree: Any) -> list[Any]:
        """Split ``tree`` at this structure's leaves; each returned item may be a subtree.

        >>> tree_structure([0, 0]).flatten_up_to([(1, 2), {"a": 3}])
        [(1, 2), {'a': 3}]
        """
        out: list = []
        try:
            _flatten_up_to_into(self._node, tree, out)
        except _StructureMismatch as mismatch:
            raise ValueError(
                f"flatten_up_to: the tree does not match {self!r} {mismatch.describe()}."
            ) from None
        return out

    def children(self) -> list[PyTreeDef]:
        """Treedefs of the root's immediate children (empty for a leaf)."""
        if self._node is _LEAF:
            return []
        return [_make_treedef(child, _count_leaves(child)) for child in self._node[2]]

    def node_data(self) -> tuple[type, Any] | None:
        """``(node_type, aux_data)`` of the root, or ``None`` for a leaf."""
        if self._node is _LEAF:
            return None
        kind, aux, _ = self._node
        return kind.node_type, aux

    def compose(self, inner: PyTreeDef) -> PyTreeDef:
        """The structure obtained by putting a tree of structure ``inner`` at every leaf.

        >>> tree_structure([0, 0]).compose(tree_structure((0, 0)))
        PyTreeDef([(*, *), (*, *)])
        """

        def substitute(node: Any) -> Any:
            if node is _LEAF:
                return inner._node
            kind, aux, child_nodes = node
            return (kind, aux, tuple([substitute(child) for child in child_nodes]))

        return _make_treedef(substitute(self._node), self._num_leaves * inner._num_leaves)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PyTreeDef):
            return NotImplemented
        return self._node == other._node

    def __hash__(self) -> int:
        cached = self._hash
        if cached is None:
            cached = hash(self._node)
            _set_treedef_hash(self, cached)
        return cached

    def __repr__(self) -> str:
        return f"PyTreeDef({_format_node(self._node)})"


# Building a treedef skips __new__ and writes the slots directly: this runs on every flatten.
_set_treedef_node = PyTreeDef._node.__set__
_set_treedef_num_leaves = PyTreeDef._num_leaves.__set__
_set_treedef_hash = PyTreeDef._hash.__set__


def _make_treedef(node: Any, num_leaves: int) -> PyTreeDef:
    treedef = object.__new__(PyTreeDef)
    _set_treedef_node(treedef, node)
    _set_treedef_num_leaves(treedef, num_leaves)
    _set_treedef_hash(treedef, None)
    return treedef


# ----------------------------------------------------------------------------------------
# Public tree functions.

_NO_INITIALIZER = object()


def tree_flatten(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[Any], PyTreeDef]:
    """Flatten ``tree`` into its leaves (left to right) and its structure.

    Dict children come in sorted key order; ``None`` is a node with no children.
    ``is_leaf(x)`` returning True stops the descent and makes ``x`` a leaf.

    >>> tree_flatten({"b": 1, "a": (2, None)})
    ([2, 1], PyTreeDef({'a': (*, None), 'b': *}))
    """
    leaves: list = []
    node = _flatten_node(tree, leaves, is_leaf)
    return leaves, _make_treedef(node, len(leaves))


def flatten_to_key(tree: Any) -> tuple[list[Any], Any]:
    """The leaves of ``tree`` and a hashable value equal exactly for equal structures:
    what tree_flatten computes, without building a PyTreeDef (jit's dispatch key)."""
    leaves: list = []
    return leaves, _flatten_into(tree, leaves)


def tree_unflatten(treedef: PyTreeDef, leaves: Iterable[Any]) -> Any:
    """Rebuild a tree of structure ``treedef`` from ``leaves``; inverse of tree_flatten.

    >>> leaves, treedef = tree_flatten([1, (2, 3)])
    >>> tree_unflatten(treedef, [x * 10 for x in leaves])
    [10, (20, 30)]
    """
    return treedef.unflatten(leaves)


def tree_leaves(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> list[Any]:
    """The leaves of ``tree``, in tree_flatten order.

    >>> tree_leaves([1, None, {"y": 2, "x": 3}])
    [1, 3, 2]
    """
    leaves: list = []
    _flatten_node(tree, leaves, is_leaf)
    return leaves


def tree_structure(tree: Any, is_leaf: Callable[[Any], bool] | None = None) -> PyTreeDef:
    """The PyTreeDef of ``tree``.

    >>> tree_structure([1, (2, 3)])
    PyTreeDef([*, (*, *)])
    """
    return tree_flatten(tree, is_leaf)[1]


def _flatten_rest_up_to(api_name: str, treedef: PyTreeDef, rest: tuple) -> list[list[Any]]:
    """Leaves of each tree in ``rest`` cut at ``treedef``'s leaves, with a clear error."""
    all_leaves_of_rest = []
    for position, other in enumerate(rest):
        out: list = []
        try:
            _flatten_up_to_into(treedef._node, other, out)
        except _StructureMismatch as mismatch:
            try:
                other_structure = repr(tree_structure(other))
            except TypeError as error:
                other_structure = f"<cannot flatten: {error}>"
            raise ValueError(
                f"{api_name} (at {user_location()}): rest[{position}] does not have the "
                f"structure of the first tree; {mismatch.describe()}.\n"
                f"  first tree: {treedef!r}\n"
                f"  rest[{position}]:    {other_structure}\n"
                "Every tree must have the first tree's structure (it may hold a whole "
                "subtree where the first tree has a leaf)."
            ) from None
        all_leaves_of_rest.append(out)
    return all_leaves_of_rest


def tree_map(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Apply ``f`` to every leaf of ``tree`` (and the matching leaves of ``rest``).

    Each tree in ``rest`` must have ``tree``'s structure, or hold whole subtrees where
    ``tree`` has leaves; those subtrees are passed to ``f`` as they are.

    >>> tree_map(lambda x, y: x + y, {"a": 1, "b": (2, 3)}, {"a": 10, "b": (20, 30)})
    {'a': 11, 'b': (22, 33)}
    """
    leaves, treedef = tree_flatten(tree, is_leaf)
    if not rest:
        return _build(treedef._node, map(f, leaves))
    others = _flatten_rest_up_to("tree_map", treedef, rest)
    return _build(treedef._node, iter([f(*xs) for xs in zip(leaves, *others)]))


def tree_reduce(
    function: Callable[[Any, Any], Any],
    tree: Any,
    initializer: Any = _NO_INITIALIZER,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Fold ``function`` over the leaves of ``tree``, left to right.

    >>> tree_reduce(lambda acc, x: acc + x, [1, (2, 3)])
    6
    >>> tree_reduce(max, [], initializer=-1)
    -1
    """
    leaves = tree_leaves(tree, is_leaf)
    if initializer is _NO_INITIALIZER:
        return functools.reduce(function, leaves)
    return functools.reduce(function, leaves, initializer)


def tree_all(tree: Any, *, is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every leaf of ``tree`` is truthy (True for a tree with no leaves).

    >>> tree_all([True, (1, None)]), tree_all({"a": 0})
    (True, False)
    """
    return all(tree_leaves(tree, is_leaf))


def tree_transpose(
    outer_treedef: PyTreeDef, inner_treedef: PyTreeDef | None, pytree_to_transpose: Any
) -> Any:
    """Turn a tree of structure outer(inner) into one of structure inner(outer).

    ``inner_treedef=None`` infers it from the first subtree at an outer leaf.

    >>> outer, inner = tree_structure([0, 0, 0]), tree_structure((0, 0))
    >>> tree_transpose(outer, inner, [(1, 2), (3, 4), (5, 6)])
    ([1, 3, 5], [2, 4, 6])
    """
    if inner_treedef is None:
        inner_treedef = tree_structure(outer_treedef.flatten_up_to(pytree_to_transpose)[0])
    leaves, treedef = tree_flatten(pytree_to_transpose)
    inner_size, outer_size = inner_treedef.num_leaves, outer_treedef.num_leaves
    if treedef.num_leaves != inner_size * outer_size:
        raise TypeError(
            f"tree_transpose: expected a tree of structure "
            f"{outer_treedef.compose(inner_treedef)!r} ({inner_size * outer_size} leaves), "
            f"got {treedef!r} ({treedef.num_leaves} leaves)."
        )
    columns = [leaves[position::inner_size] for position in range(inner_size)]
    return inner_treedef.unflatten([outer_treedef.unflatten(column) for column in columns])


def treedef_is_leaf(treedef: PyTreeDef) -> bool:
    """Whether ``treedef`` has a single node: a leaf, or (as in JAX) ``None`` or ``()``.

    >>> treedef_is_leaf(tree_structure(1.0)), treedef_is_leaf(tree_structure([1.0]))
    (True, False)
    """
    return treedef.num_nodes == 1


def all_leaves(iterable: Iterable[Any], is_leaf: Callable[[Any], bool] | None = None) -> bool:
    """Whether every item of ``iterable`` is a leaf (``None`` and containers are not).

    >>> all_leaves([1.0, "a"]), all_leaves([1.0, (2.0,)]), all_leaves([None])
    (True, False, False)
    """
    if is_leaf is None:
        return all(_kind_of(type(item)) is _LEAF_KIND for item in iterable)
    items = list(iterable)
    leaves = tree_leaves(items, is_leaf)
    return len(leaves) == len(items) and all(a is b for a, b in zip(items, leaves))


def tree_flatten_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> tuple[list[tuple[KeyPath, Any]], PyTreeDef]:
    """Like tree_flatten, but each leaf comes with its key path from the root.

    >>> pairs, _ = tree_flatten_with_path({"w": [5, 6]})
    >>> [(keystr(path), leaf) for path, leaf in pairs]
    [("['w'][0]", 5), ("['w'][1]", 6)]
    """
    out: list = []
    node = _flatten_with_path_into(tree, (), out, is_leaf)
    return out, _make_treedef(node, len(out))


def tree_leaves_with_path(
    tree: Any, is_leaf: Callable[[Any], bool] | None = None
) -> list[tuple[KeyPath, Any]]:
    """The ``(key_path, leaf)`` pairs of ``tree``, in tree_flatten order.

    >>> tree_leaves_with_path((7,))
    [((SequenceKey(idx=0),), 7)]
    """
    return tree_flatten_with_path(tree, is_leaf)[0]


def tree_map_with_path(
    f: Callable[..., Any],
    tree: Any,
    *rest: Any,
    is_leaf: Callable[[Any], bool] | None = None,
) -> Any:
    """Like tree_map, but ``f`` receives the key path first: ``f(path, leaf, *others)``.

    >>> tree_map_with_path(lambda path, x: f"{keystr(path)}={x}", {"a": [1]})
    {'a': ["['a'][0]=1"]}
    """
    pairs, treedef = tree_flatten_with_path(tree, is_leaf)
    others = _flatten_rest_up_to("tree_map_with_path", treedef, rest)
    results = [f(path, leaf, *xs) for (path, leaf), *xs in zip(pairs, *others)]
    return _build(treedef._node, iter(results))
