"""The ``jax.tree`` namespace: short names for the pytree functions in ``tree_util``.

Each name here is the very same function as its ``tree_util.tree_*`` counterpart, so
``funcgrad.tree.map is funcgrad.tree_util.tree_map``; see those for documentation.

>>> from funcgrad import tree
>>> tree.map(lambda x: x * 2, {"a": 1, "b": (2, None)})
{'a': 2, 'b': (4, None)}
>>> leaves, treedef = tree.flatten([1, 2])
>>> tree.unflatten(treedef, [3, 4])
[3, 4]
"""

from funcgrad.tree_util import tree_all as all
from funcgrad.tree_util import tree_flatten as flatten
from funcgrad.tree_util import tree_flatten_with_path as flatten_with_path
from funcgrad.tree_util import tree_leaves as leaves
from funcgrad.tree_util import tree_leaves_with_path as leaves_with_path
from funcgrad.tree_util import tree_map as map
from funcgrad.tree_util import tree_map_with_path as map_with_path
from funcgrad.tree_util import tree_reduce as reduce
from funcgrad.tree_util import tree_structure as structure
from funcgrad.tree_util import tree_transpose as transpose
from funcgrad.tree_util import tree_unflatten as unflatten

__all__ = [
    "all",
    "flatten",
    "flatten_with_path",
    "leaves",
    "leaves_with_path",
    "map",
    "map_with_path",
    "reduce",
    "structure",
    "transpose",
    "unflatten",
]
