"""Tests for funcgrad.tree_util and funcgrad.tree.

Expected leaves and structures are written out by hand, and the property tests compare
against `reference_leaves`, an independent recursive walk of the container semantics
that does not use the module under test.
"""

from __future__ import annotations

import collections
import copy
import dataclasses
import operator
from typing import Any, NamedTuple

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from funcgrad import tree, tree_util
from funcgrad.tree_util import (
    DictKey,
    FlattenedIndexKey,
    GetAttrKey,
    PyTreeDef,
    SequenceKey,
    all_leaves,
    keystr,
    register_dataclass,
    register_pytree_node,
    register_pytree_node_class,
    register_static,
    tree_all,
    tree_flatten,
    tree_flatten_with_path,
    tree_leaves,
    tree_leaves_with_path,
    tree_map,
    tree_map_with_path,
    tree_reduce,
    tree_structure,
    tree_transpose,
    tree_unflatten,
    treedef_is_leaf,
)

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None, database=None)


# ----------------------------------------------------------------------------------------
# Node types used throughout. Registered once, at import.


class Point(NamedTuple):
    y: Any  # declared before x on purpose: field order, not name order, must be kept
    x: Any


OtherPoint = collections.namedtuple("OtherPoint", ["y", "x"])


@register_dataclass
@dataclasses.dataclass
class Scaled:
    value: Any
    tag: str = dataclasses.field(metadata={"static": True})


class Pair:
    """A custom node with aux data, registered through register_pytree_node."""

    def __init__(self, first: Any, second: Any, label: str) -> None:
        self.first, self.second, self.label = first, second, label


register_pytree_node(
    Pair,
    lambda pair: ((pair.first, pair.second), pair.label),
    lambda label, children: Pair(children[0], children[1], label),
)


@register_pytree_node_class
class Box:
    def __init__(self, content: Any) -> None:
        self.content = content

    def tree_flatten(self) -> tuple[tuple, None]:
        return (self.content,), None

    @classmethod
    def tree_unflatten(cls, aux: None, children: tuple) -> Box:
        return cls(*children)


@register_static
@dataclasses.dataclass(frozen=True)
class Activation:
    name: str


# ----------------------------------------------------------------------------------------
# Independent oracles.


def reference_leaves(node: Any) -> list:
    """Leaves in flatten order, derived from the container rules, not from tree_util."""
    if node is None or isinstance(node, Activation):
        return []
    if isinstance(node, (Point, OtherPoint)):
        return reference_leaves(node.y) + reference_leaves(node.x)
    if type(node) in (tuple, list):
        return [leaf for child in node for leaf in reference_leaves(child)]
    if type(node) is collections.OrderedDict:
        return [leaf for child in node.values() for leaf in reference_leaves(child)]
    if type(node) in (dict, collections.defaultdict):
        return [leaf for key in sorted(node) for leaf in reference_leaves(node[key])]
    if isinstance(node, Scaled):
        return reference_leaves(node.value)
    if isinstance(node, Pair):
        return reference_leaves(node.first) + reference_leaves(node.second)
    if isinstance(node, Box):
        return reference_leaves(node.content)
    return [node]


def assert_same_tree(actual: Any, expected: Any) -> None:
    """Structural equality; plain dicts must come back with sorted keys."""
    assert type(actual) is type(expected), (actual, expected)
    if isinstance(expected, np.ndarray):
        assert actual.dtype == expected.dtype
        np.testing.assert_array_equal(actual, expected)
    elif isinstance(expected, (tuple, list)):
        assert len(actual) == len(expected)
        for a, e in zip(actual, expected):
            assert_same_tree(a, e)
    elif type(expected) is collections.OrderedDict:
        assert list(actual) == list(expected)
        for key in expected:
            assert_same_tree(actual[key], expected[key])
    elif isinstance(expected, dict):
        assert list(actual) == sorted(expected)
        for key in expected:
            assert_same_tree(actual[key], expected[key])
    elif isinstance(expected, Scaled):
        assert actual.tag == expected.tag
        assert_same_tree(actual.value, expected.value)
    elif isinstance(expected, Pair):
        assert actual.label == expected.label
        assert_same_tree(actual.first, expected.first)
        assert_same_tree(actual.second, expected.second)
    elif isinstance(expected, Box):
        assert_same_tree(actual.content, expected.content)
    else:
        assert actual == expected


# ----------------------------------------------------------------------------------------
# Hypothesis strategies.

leaf_values = st.one_of(
    st.integers(-5, 5),
    st.floats(-10, 10, allow_nan=False),
    st.text(alphabet="xyz", max_size=2),
    hnp.arrays(np.float32, hnp.array_shapes(min_dims=0, max_dims=2, max_side=3)),
)
dict_keys = st.text(alphabet="abcd", min_size=1, max_size=2)


def extend(children: st.SearchStrategy) -> st.SearchStrategy:
    return st.one_of(
        st.lists(children, max_size=3).map(tuple),
        st.lists(children, max_size=3),
        st.dictionaries(dict_keys, children, max_size=3),
        st.dictionaries(dict_keys, children, max_size=3).map(collections.OrderedDict),
        st.builds(Point, children, children),
        st.builds(Scaled, children, st.sampled_from(["p", "q"])),
        st.builds(Pair, children, children, st.sampled_from(["left", "right"])),
        st.builds(Box, children),
    )


pytrees = st.recursive(leaf_values | st.none(), extend, max_leaves=12)


@PROPERTY_SETTINGS
@given(pytrees)
def test_round_trip_matches_reference_leaves(tree_value: Any) -> None:
    leaves, treedef = tree_flatten(tree_value)
    expected_leaves = reference_leaves(tree_value)
    assert len(leaves) == len(expected_leaves) == treedef.num_leaves
    assert all(a is b for a, b in zip(leaves, expected_leaves))
    rebuilt = tree_unflatten(treedef, leaves)
    assert_same_tree(rebuilt, tree_value)
    assert tree_structure(rebuilt) == treedef
    assert hash(tree_structure(rebuilt)) == hash(treedef)


@PROPERTY_SETTINGS
@given(pytrees)
def test_tree_map_pairs_matching_leaves(tree_value: Any) -> None:
    class Tagged:  # unregistered, so a leaf of the mapped trees
        def __init__(self, *items: Any) -> None:
            self.items = items

    tagged = tree_map(Tagged, tree_value)
    paired = tree_map(Tagged, tree_value, tagged)
    leaves = reference_leaves(tree_value)
    pairs = tree_leaves(paired)
    assert len(pairs) == len(leaves)
    for pair, leaf in zip(pairs, leaves):
        first, second = pair.items
        assert first is leaf and second.items == (leaf,)


@PROPERTY_SETTINGS
@given(pytrees)
def test_paths_lead_to_their_leaves(tree_value: Any) -> None:
    def follow(node: Any, key: Any) -> Any:
        if isinstance(key, SequenceKey):
            return node[key.idx]
        if isinstance(key, DictKey):
            return node[key.key]
        if isinstance(key, GetAttrKey):
            return getattr(node, key.name)
        # FlattenedIndexKey: the registered flatten order of Pair and Box.
        children = (node.first, node.second) if isinstance(node, Pair) else (node.content,)
        return children[key.key]

    pairs, treedef = tree_flatten_with_path(tree_value)
    assert treedef == tree_structure(tree_value)
    for path, leaf in pairs:
        node = tree_value
        for key in path:
            node = follow(node, key)
        assert node is leaf


# ----------------------------------------------------------------------------------------
# Containers.


def test_none_is_an_empty_subtree_not_a_leaf() -> None:
    assert tree_leaves(None) == []
    assert tree_leaves([None, 1, (None,)]) == [1]
    treedef = tree_structure(None)
    assert treedef.num_leaves == 0
    assert repr(treedef) == "PyTreeDef(None)"
    assert tree_unflatten(treedef, []) is None
    assert tree_map(lambda x: x + 1, [None, 1]) == [None, 2]


def test_is_leaf_can_make_none_a_leaf() -> None:
    assert tree_leaves([None, 1], is_leaf=lambda x: x is None) == [None, 1]


def test_dict_children_in_sorted_key_order() -> None:
    value = {"b": 1, "c": 2, "a": 3}
    leaves, treedef = tree_flatten(value)
    assert leaves == [3, 1, 2]
    rebuilt = tree_unflatten(treedef, ["A", "B", "C"])
    assert list(rebuilt.items()) == [("a", "A"), ("b", "B"), ("c", "C")]
    assert repr(treedef) == "PyTreeDef({'a': *, 'b': *, 'c': *})"


def test_dict_with_unsortable_keys_raises() -> None:
    with pytest.raises(TypeError, match=r"keys cannot be sorted.*comparable"):
        tree_flatten({1: "a", "b": 2})


def test_ordered_dict_keeps_insertion_order_in_treedef() -> None:
    ba = collections.OrderedDict([("b", 1), ("a", 2)])
    ab = collections.OrderedDict([("a", 2), ("b", 1)])
    assert tree_leaves(ba) == [1, 2]
    assert tree_structure(ba) != tree_structure(ab)
    rebuilt = tree_unflatten(tree_structure(ba), [10, 20])
    assert type(rebuilt) is collections.OrderedDict
    assert list(rebuilt.items()) == [("b", 10), ("a", 20)]
    assert repr(tree_structure(ba)) == "PyTreeDef(CustomNode(OrderedDict[('b', 'a')], [*, *]))"


def test_defaultdict_sorts_keys_and_keeps_default_factory() -> None:
    value = collections.defaultdict(list, {"z": 1, "a": 2})
    leaves, treedef = tree_flatten(value)
    assert leaves == [2, 1]
    rebuilt = tree_unflatten(treedef, [20, 10])
    assert type(rebuilt) is collections.defaultdict
    assert rebuilt.default_factory is list
    assert list(rebuilt.items()) == [("a", 20), ("z", 10)]
    other_factory = collections.defaultdict(int, {"z": 1, "a": 2})
    assert tree_structure(other_factory) != treedef
    assert tree_structure({"z": 1, "a": 2}) != treedef


def test_namedtuple_keeps_field_order_and_type() -> None:
    leaves, treedef = tree_flatten(Point(y=1, x=2))
    assert leaves == [1, 2]
    assert tree_unflatten(treedef, [5, 6]) == Point(y=5, x=6)
    assert type(tree_unflatten(treedef, [5, 6])) is Point
    assert repr(treedef) == "PyTreeDef(CustomNode(namedtuple[Point], [*, *]))"
    assert treedef != tree_structure((1, 2))
    assert treedef != tree_structure(OtherPoint(1, 2))


def test_unregistered_types_are_leaves() -> None:
    class MyDict(dict):
        pass

    array = np.arange(3)
    values = [array, 1.5, "text", MyDict(a=1), b"bytes"]
    assert all(a is b for a, b in zip(tree_leaves(values), values))
    assert tree_structure(array) == tree_structure(0)


def test_repr_of_builtin_containers() -> None:
    assert repr(tree_structure((1, {"a": 2, "b": None}))) == "PyTreeDef((*, {'a': *, 'b': None}))"
    assert repr(tree_structure(1)) == "PyTreeDef(*)"
    assert repr(tree_structure([1, (2,), ()])) == "PyTreeDef([*, (*,), ()])"


# ----------------------------------------------------------------------------------------
# Registration.


def test_registered_dataclass_static_field_lives_in_treedef() -> None:
    leaves, treedef = tree_flatten(Scaled(value=(1, 2), tag="p"))
    assert leaves == [1, 2]
    rebuilt = tree_unflatten(treedef, [3, 4])
    assert type(rebuilt) is Scaled
    assert rebuilt.value == (3, 4) and rebuilt.tag == "p"
    assert repr(treedef) == "PyTreeDef(CustomNode(Scaled[('p',)], [(*, *)]))"
    assert tree_structure(Scaled(value=(5, 6), tag="p")) == treedef
    assert tree_structure(Scaled(value=(1, 2), tag="q")) != treedef


def test_register_dataclass_with_explicit_and_dropped_fields() -> None:
    @dataclasses.dataclass
    class Layer:
        weight: Any
        bias: Any
        width: int
        cache: Any = "empty"

    assert (
        register_dataclass(
            Layer, data_fields=["bias", "weight"], meta_fields=["width"], drop_fields=["cache"]
        )
        is Layer
    )
    leaves, treedef = tree_flatten(Layer(weight=1, bias=2, width=3, cache="full"))
    assert leaves == [2, 1]  # data_fields order, not declaration order
    rebuilt = tree_unflatten(treedef, [20, 10])
    assert (rebuilt.weight, rebuilt.bias, rebuilt.width, rebuilt.cache) == (10, 20, 3, "empty")
    pairs = tree_leaves_with_path(Layer(weight=1, bias=2, width=3))
    assert [keystr(path) for path, _ in pairs] == [".bias", ".weight"]


def test_register_dataclass_on_non_dataclass_with_fields() -> None:
    class Plain:
        def __init__(self, a: Any, b: Any) -> None:
            self.a, self.b = a, b

    register_dataclass(Plain, data_fields=["a"], meta_fields=["b"])
    leaves, treedef = tree_flatten(Plain(1, "meta"))
    assert leaves == [1]
    rebuilt = tree_unflatten(treedef, [7])
    assert (rebuilt.a, rebuilt.b) == (7, "meta")


def test_register_dataclass_errors() -> None:
    @dataclasses.dataclass
    class Half:
        a: Any
        b: Any

    with pytest.raises(TypeError, match="both data_fields and meta_fields, or neither"):
        register_dataclass(Half, data_fields=["a", "b"])
    with pytest.raises(ValueError, match=r"Missing: \['b'\]; not init fields: \['c'\]"):
        register_dataclass(Half, data_fields=["a", "c"], meta_fields=[])

    class NotADataclass:
        pass

    with pytest.raises(TypeError, match="NotADataclass is not a dataclass"):
        register_dataclass(NotADataclass)


def test_register_pytree_node_custom_aux_and_node_class() -> None:
    leaves, treedef = tree_flatten(Pair(1, [2, 3], "left"))
    assert leaves == [1, 2, 3]
    assert repr(treedef) == "PyTreeDef(CustomNode(Pair['left'], [*, [*, *]]))"
    rebuilt = tree_unflatten(treedef, ["a", "b", "c"])
    assert (rebuilt.first, rebuilt.second, rebuilt.label) == ("a", ["b", "c"], "left")
    assert tree_structure(Pair(1, [2, 3], "right")) != treedef
    box = tree_map(lambda x: x * 2, Box({"k": 4}))
    assert type(box) is Box and box.content == {"k": 8}


def test_register_static_stores_value_in_treedef() -> None:
    leaves, treedef = tree_flatten([1.0, Activation("relu")])
    assert leaves == [1.0]
    assert tree_unflatten(treedef, [2.0]) == [2.0, Activation("relu")]
    assert tree_structure([1.0, Activation("gelu")]) != treedef
    assert tree_structure([3.0, Activation("relu")]) == treedef


def test_registering_twice_names_the_type() -> None:
    class Twice:
        pass

    register_pytree_node(Twice, lambda node: ((), None), lambda aux, children: Twice())
    with pytest.raises(ValueError, match=r"test_tree_util\..*Twice is already registered"):
        register_pytree_node(Twice, lambda node: ((), None), lambda aux, children: Twice())
    with pytest.raises(ValueError, match="builtins.tuple is already registered"):
        register_pytree_node(tuple, lambda node: (node, None), lambda aux, children: children)


def test_registering_a_non_type_raises_type_error() -> None:
    with pytest.raises(TypeError, match=r"register_pytree_node: expected a class.*got 3"):
        register_pytree_node(3, lambda node: ((), None), lambda aux, children: None)
    with pytest.raises(TypeError, match="register_static: expected a class"):
        register_static(Activation("relu"))


def test_registering_a_type_already_seen_as_leaf_makes_it_a_node() -> None:
    class Late:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

    assert tree_leaves([Late(5)])[0].inner == 5  # a leaf while unregistered
    register_pytree_node(Late, lambda node: ((node.inner,), None), lambda aux, kids: Late(*kids))
    assert tree_leaves([Late(5)]) == [5]


def test_unhashable_static_field_error_names_the_field() -> None:
    treedef = tree_structure(Scaled(value=1, tag=["not", "hashable"]))
    with pytest.raises(TypeError, match=r"Static field .*Scaled\.tag holds an unhashable value"):
        hash(treedef)


# ----------------------------------------------------------------------------------------
# PyTreeDef.


def test_treedef_equality_and_hash() -> None:
    first = tree_structure({"a": (1, 2), "b": [3]})
    same = tree_structure({"b": ["x"], "a": ("y", "z")})
    assert first == same and hash(first) == hash(same)
    assert len({first, same}) == 1
    assert tree_structure((1, 2)) != tree_structure([1, 2])
    assert tree_structure({"a": 1}) != tree_structure({"b": 1})
    assert tree_structure((1, 2)) != tree_structure((1, 2, 3))
    assert tree_structure((1, None)) != tree_structure((1, 2))
    assert tree_structure(1) != 1
    cache = {first: "compiled"}
    assert cache[same] == "compiled"


def test_treedef_properties_and_children() -> None:
    treedef = tree_structure((1, {"a": 2, "b": None}))
    assert treedef.num_leaves == 2
    assert treedef.num_nodes == 5  # tuple, leaf, dict, leaf, None
    assert treedef.children() == [tree_structure(0), tree_structure({"a": 0, "b": None})]
    assert tree_structure(0).children() == []
    assert treedef.node_data() == (tuple, None)
    assert tree_structure({"a": 0}).node_data() == (dict, ("a",))
    assert tree_structure(0).node_data() is None


def test_treedef_is_immutable_and_not_constructible() -> None:
    treedef = tree_structure((1, 2))
    with pytest.raises(AttributeError, match="immutable"):
        treedef._node = None
    with pytest.raises(TypeError, match="no public constructor"):
        PyTreeDef()
    assert copy.copy(treedef) is treedef and copy.deepcopy(treedef) is treedef


def test_flatten_up_to_keeps_subtrees_and_reports_mismatch() -> None:
    treedef = tree_structure([0, {"k": 0}])
    assert treedef.flatten_up_to([(1, 2), {"k": {"deep": 3}}]) == [(1, 2), {"deep": 3}]
    with pytest.raises(ValueError, match=r"at path \[1\]: expected \{'k': \*\}, got \{'j': \*\}"):
        treedef.flatten_up_to([1, {"j": 2}])


def test_compose() -> None:
    composed = tree_structure([0, 0]).compose(tree_structure((0, None)))
    assert composed == tree_structure([(1, None), (2, None)])
    assert composed.num_leaves == 2


def test_treedef_is_leaf() -> None:
    assert treedef_is_leaf(tree_structure(1.0))
    assert not treedef_is_leaf(tree_structure([1.0]))
    assert treedef_is_leaf(tree_structure(None))  # a single node, as in JAX


# ----------------------------------------------------------------------------------------
# Tree functions.


def test_tree_map_over_several_trees() -> None:
    result = tree_map(
        lambda a, b, c: a + b * c,
        {"x": 1, "y": (2, 3)},
        {"x": 10, "y": (20, 30)},
        {"x": 2, "y": (3, 4)},
    )
    assert result == {"x": 21, "y": (62, 123)}


def test_tree_map_passes_whole_subtrees_of_rest() -> None:
    result = tree_map(lambda a, b: (a, b), [1, 2], [(3, 4), {"k": 5}])
    assert result == [(1, (3, 4)), (2, {"k": 5})]


def test_tree_map_is_leaf() -> None:
    result = tree_map(len, [(1, 2), [(3,)]], is_leaf=lambda x: isinstance(x, tuple))
    assert result == [2, [1]]


def test_tree_map_structure_mismatch_names_both_structures_and_path() -> None:
    with pytest.raises(ValueError) as error:
        tree_map(lambda a, b: a + b, (1, {"w": 2, "b": 3}), (1, {"w": 2, "c": 3}))
    message = str(error.value)
    assert "rest[0] does not have the structure of the first tree" in message
    assert "at path [1]: expected {'b': *, 'w': *}, got {'c': *, 'w': *}" in message
    assert "first tree: PyTreeDef((*, {'b': *, 'w': *}))" in message
    assert "PyTreeDef((*, {'c': *, 'w': *}))" in message

    with pytest.raises(ValueError, match=r"at path \[0\]: expected \(\*, \*\), got \[\*, \*\]"):
        tree_map(lambda a, b: a, [(1, 2)], [[1, 2]])
    with pytest.raises(ValueError, match=r"at the root: expected \[\*, \*\], got \[\*, \*, \*\]"):
        tree_map(lambda a, b: a, [1, 2], [1, 2, 3])
    with pytest.raises(ValueError, match=r"at path \[1\]: expected None, got a leaf of type int"):
        tree_map(lambda a, b: a, [1, None], [1, 2])
    with pytest.raises(ValueError, match=r"at path \.x: expected \(\*,\), got a leaf"):
        tree_map(lambda a, b: a, Point(y=1, x=(2,)), Point(y=1, x=2))


def test_tree_unflatten_wrong_leaf_count() -> None:
    treedef = tree_structure((1, 2))
    with pytest.raises(ValueError, match=r"PyTreeDef\(\(\*, \*\)\) expects 2 leaves, got 3"):
        tree_unflatten(treedef, [1, 2, 3])
    with pytest.raises(ValueError, match="expects 2 leaves, got 1"):
        tree_unflatten(treedef, iter([1]))


def test_with_path_variants_and_keystr() -> None:
    value = {"w": [1, Pair(2, 3, "l")], "b": Point(y=4, x=Scaled(value=5, tag="p"))}
    pairs, treedef = tree_flatten_with_path(value)
    assert treedef == tree_structure(value)
    assert [(keystr(path), leaf) for path, leaf in pairs] == [
        ("['b'].y", 4),
        ("['b'].x.value", 5),
        ("['w'][0]", 1),
        ("['w'][1][<flat index 0>]", 2),
        ("['w'][1][<flat index 1>]", 3),
    ]
    assert pairs[0][0] == (DictKey("b"), GetAttrKey("y"))
    assert tree_leaves_with_path([7]) == [((SequenceKey(0),), 7)]
    mapped = tree_map_with_path(
        lambda path, a, b: f"{keystr(path)}:{a + b}", [1, {"k": 2}], [10, {"k": 20}]
    )
    assert mapped == ["[0]:11", {"k": "[1]['k']:22"}]


def test_with_path_is_leaf() -> None:
    pairs = tree_leaves_with_path({"a": (1, 2)}, is_leaf=lambda x: isinstance(x, tuple))
    assert pairs == [((DictKey("a"),), (1, 2))]


def test_keystr_forms_and_key_reprs() -> None:
    path = (SequenceKey(0), DictKey("w"), GetAttrKey("x"), FlattenedIndexKey(2))
    assert keystr(path) == "[0]['w'].x[<flat index 2>]"
    assert keystr(path, simple=True, separator="/") == "0/w/x/2"
    assert keystr(()) == ""
    assert repr(SequenceKey(0)) == "SequenceKey(idx=0)"
    assert repr(DictKey("w")) == "DictKey(key='w')"
    assert GetAttrKey("x") == GetAttrKey("x") and hash(GetAttrKey("x")) == hash(GetAttrKey("x"))


def test_tree_transpose() -> None:
    outer, inner = tree_structure([0, 0, 0]), tree_structure((0, 0))
    assert tree_transpose(outer, inner, [(1, 2), (3, 4), (5, 6)]) == ([1, 3, 5], [2, 4, 6])
    assert tree_transpose(outer, None, [(1, 2), (3, 4), (5, 6)]) == ([1, 3, 5], [2, 4, 6])
    inner_dict = tree_structure({"a": 0, "b": 0})
    transposed = tree_transpose(
        tree_structure((0, 0)), inner_dict, ({"a": 1, "b": 2}, {"a": 3, "b": 4})
    )
    assert transposed == {"a": (1, 3), "b": (2, 4)}
    with pytest.raises(TypeError, match=r"expected a tree of structure .*\(6 leaves\), got .*5"):
        tree_transpose(outer, inner, [(1, 2), (3, 4), (5,)])


def test_tree_reduce() -> None:
    assert tree_reduce(operator.add, [1, (2, None, {"a": 3})]) == 6
    assert tree_reduce(operator.add, [1, 2], 100) == 103
    assert tree_reduce(operator.add, [], initializer=7) == 7
    assert tree_reduce(
        lambda acc, t: acc + [t], [(1, 2)], [], is_leaf=lambda x: type(x) is tuple
    ) == [(1, 2)]
    with pytest.raises(TypeError):
        tree_reduce(operator.add, [None])


def test_tree_all() -> None:
    assert tree_all([True, (1, None)])
    assert not tree_all({"a": 1, "b": 0})
    assert tree_all(None)
    assert not tree_all([(0,)], is_leaf=lambda x: x == (1,))


def test_all_leaves() -> None:
    assert all_leaves([1, "a", np.zeros(2)])
    assert not all_leaves([1, (2,)])
    assert not all_leaves([None])
    assert all_leaves([1, (2,)], is_leaf=lambda x: isinstance(x, tuple))


def test_tree_namespace_aliases() -> None:
    aliases = {
        "map": "tree_map",
        "leaves": "tree_leaves",
        "flatten": "tree_flatten",
        "unflatten": "tree_unflatten",
        "structure": "tree_structure",
        "reduce": "tree_reduce",
        "all": "tree_all",
        "transpose": "tree_transpose",
        "flatten_with_path": "tree_flatten_with_path",
        "leaves_with_path": "tree_leaves_with_path",
        "map_with_path": "tree_map_with_path",
    }
    for short, long in aliases.items():
        assert getattr(tree, short) is getattr(tree_util, long)
    assert sorted(tree.__all__) == sorted(aliases)
    leaves, treedef = tree.flatten({"b": 1, "a": 2})
    assert tree.unflatten(treedef, leaves[::-1]) == {"a": 1, "b": 2}


def test_public_names_are_exported() -> None:
    for name in tree_util.__all__:
        assert getattr(tree_util, name).__doc__ or name in ("KeyEntry", "KeyPath")
