"""Argument checks shared by funcgrad.optim's transforms, and the errors they raise.

An optimizer is built once and then called every step, often under jit, where a mistake
shows up far from its cause: a learning rate of the wrong sign trains backwards, and a
gradient tree that drifted from the parameter tree fails inside a tree_map with no word
about the optimizer. These checks run when a transform is built or traced (never on
array values inside a compiled step) and say which optimizer, which argument, the user's
line, and what to do.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from funcgrad.core.source_info import user_location
from funcgrad.core.trace import Tracer
from funcgrad.runtime.array import Array
from funcgrad.tree_util import keystr, tree_flatten_with_path, tree_structure

__all__ = ["check_learning_rate", "check_params_given", "check_same_structure"]


def check_learning_rate(owner: str, learning_rate: Any) -> None:
    """Raise unless `learning_rate` is a schedule, a scalar array, or a finite number >= 0.

    Python and NumPy numbers are checked by value: a negative learning rate would turn
    descent into ascent, and NaN would poison every parameter on the first step.
    Arrays (possibly traced) are only checked to be scalars, since their values may not
    be known yet.
    """
    if callable(learning_rate):
        return
    where = user_location()
    if isinstance(learning_rate, (Array, Tracer, np.ndarray)):
        if np.ndim(learning_rate) != 0:
            raise TypeError(
                f"funcgrad.optim.{owner} ({where}): learning_rate must be a scalar, got an "
                f"array of shape {np.shape(learning_rate)}. Pass a number, a 0-d array, or "
                "a schedule (a function of the step count)."
            )
        return
    is_number = isinstance(learning_rate, numbers.Real) and not isinstance(
        learning_rate, (bool, np.bool_)
    )
    if not is_number:
        raise TypeError(
            f"funcgrad.optim.{owner} ({where}): learning_rate must be a number or a schedule "
            f"(a function of the step count), got {type(learning_rate).__name__} "
            f"({learning_rate!r}). Pass e.g. learning_rate=1e-3 or "
            "learning_rate=optim.exponential_decay(1e-3, 1000, 0.5)."
        )
    value = float(learning_rate)
    if math.isnan(value) or math.isinf(value) or value < 0:
        raise ValueError(
            f"funcgrad.optim.{owner} ({where}): learning_rate must be finite and >= 0, got "
            f"{learning_rate!r}. The optimizer already subtracts the scaled update, so pass "
            "the step size itself (e.g. 1e-3); use optim.scale(...) for an arbitrary factor."
        )


def check_params_given(owner: str, params: Any) -> None:
    """Raise when a transform that reads the parameters was updated without them."""
    if params is None:
        raise ValueError(
            f"funcgrad.optim.{owner} ({user_location()}): this transform needs the current "
            "parameters, but update was called with params=None. Call "
            "`updates, state = optimizer.update(grads, state, params)`."
        )


def check_same_structure(owner: str, updates: Any, other: Any, other_name: str) -> None:
    """Raise when `other` (params or a tree in the state) does not have `updates`' structure.

    The message names the first key path where the two trees part, which is what a user
    needs to find the parameter they added, removed or renamed since `init`.
    """
    if tree_structure(updates) == tree_structure(other):
        return
    update_paths = [keystr(path) for path, _ in tree_flatten_with_path(updates)[0]]
    other_paths = [keystr(path) for path, _ in tree_flatten_with_path(other)[0]]
    update_set, other_set = set(update_paths), set(other_paths)
    only_in_updates = [path for path in update_paths if path not in other_set]
    only_in_other = [path for path in other_paths if path not in update_set]
    if only_in_updates:
        difference = (
            f"updates has a leaf at {only_in_updates[0] or 'the root'} that {other_name} lacks"
        )
    elif only_in_other:
        difference = (
            f"{other_name} has a leaf at {only_in_other[0] or 'the root'} that updates lacks"
        )
    else:
        difference = "the leaves sit at the same key paths but inside different node types"
    raise ValueError(
        f"funcgrad.optim.{owner} ({user_location()}): updates and {other_name} have "
        f"different tree structures; {difference}.\n"
        f"  updates:       {_short(tree_structure(updates))}\n"
        f"  {other_name + ':':<14} {_short(tree_structure(other))}\n"
        "Pass gradients of the same parameter tree the optimizer state was made from "
        "(`state = optimizer.init(params)`), or call init again after changing the model."
    )


def _short(treedef: Any, limit: int = 160) -> str:
    text = repr(treedef)
    return text if len(text) <= limit else text[: limit - 3] + "..."
