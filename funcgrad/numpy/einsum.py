"""einsum and einsum_path: Einstein summation lowered to dot_general.

A call is planned in three steps, all from shapes alone (so tracing costs nothing
extra and jit caches the plan with the jaxpr):
1. parse the subscripts (or the interleaved operand/sublist form) into one tuple of
   labels per operand, expanding `...` into private labels that broadcast like NumPy;
2. simplify each operand on its own: a repeated label takes a diagonal, a size-1 axis
   whose label is larger elsewhere is dropped (it broadcasts), and a label no other
   operand or the output needs is summed away;
3. choose the order of pairwise contractions (exhaustively for a few operands, greedily
   by size for many) and lower each pair to one dot_general, whose shared labels are
   batch dimensions when still needed later and contracted otherwise.
A final reduce_sum/transpose puts the labels in the output's order.
"""

from __future__ import annotations

import functools
import itertools
import math
import string
from collections import Counter
from typing import Sequence

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions as red
from funcgrad.lax import shapes as lax_shapes
from funcgrad.lax.linalg import dot_general
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.promotion import promote_dtypes

__all__ = ["einsum", "einsum_path"]

_LETTERS = frozenset(string.ascii_letters)
_EXHAUSTIVE_LIMIT = {"auto": 4, "optimal": 8}


def _ellipsis_label(position: int) -> str:
    # Not a letter, so it can never clash with a user's label; sorts before letters.
    return f"...{position:03d}"


# ---------------------------------------------------------------------------------------
# Parsing


def _error(message: str, fix: str = "") -> ValueError:
    return ValueError(f"einsum: {message} (at {user_location()}). {fix}".rstrip())


def _sublist_to_string(sublist) -> str:
    out = []
    for item in sublist:
        if item is Ellipsis:
            out.append("...")
        elif isinstance(item, (int, np.integer)) and 0 <= item < 52:
            out.append(string.ascii_letters[int(item)])
        else:
            raise _error(
                f"sublist entries must be Ellipsis or ints in [0, 52), got {item!r}",
                "Use integers to name the axes, e.g. einsum(x, [0, 1], y, [1, 2]).",
            )
    return "".join(out)


def _split_arguments(subscripts, operands):
    """(subscripts string, operands) from either calling convention."""
    if isinstance(subscripts, str):
        return subscripts, list(operands)
    # Interleaved: einsum(op0, sublist0, op1, sublist1, ..., [sublist_out])
    args = [subscripts, *operands]
    output = _sublist_to_string(args.pop()) if len(args) % 2 else None
    arrays, terms = args[0::2], [_sublist_to_string(s) for s in args[1::2]]
    text = ",".join(terms) + ("" if output is None else "->" + output)
    return text, arrays


def _split_term(term: str, what: str) -> list:
    """A term's labels, with the ellipsis as the single item Ellipsis."""
    if term.count("...") > 1 or term.replace("...", "").count("."):
        raise _error(
            f"{what} {term!r} may hold one ellipsis ('...') and no other '.'",
            "Write '...' exactly once, for all broadcast axes.",
        )
    pieces = term.split("...")
    for char in "".join(pieces):
        if char not in _LETTERS:
            raise _error(
                f"invalid subscript {char!r} in {what} {term!r}; subscripts must be letters",
                "Use a-z and A-Z for axis labels.",
            )
    if len(pieces) == 1:
        return list(pieces[0])
    return [*pieces[0], Ellipsis, *pieces[1]]


class _Plan:
    """The labels of every operand and of the output, and each label's size."""

    def __init__(self, subscripts: str, shapes: Sequence[tuple[int, ...]]):
        self.subscripts = subscripts
        text = subscripts.replace(" ", "")
        if (
            text.count("->") > 1
            or ("-" in text.replace("->", ""))
            or (">" in text.replace("->", ""))
        ):
            raise _error(f"subscripts {subscripts!r} may contain '->' only once")
        inputs_text, arrow, output_text = text.partition("->")
        terms = inputs_text.split(",")
        if len(terms) != len(shapes):
            raise _error(
                f"subscripts {subscripts!r} name {len(terms)} operand(s) but "
                f"{len(shapes)} were given (shapes {', '.join(map(str, shapes))})",
                "Give one comma-separated term per operand.",
            )
        parsed = [_split_term(t, "term") for t in terms]
        ellipsis_rank = 0
        for term, shape in zip(parsed, shapes):
            named = len([x for x in term if x is not Ellipsis])
            if named > len(shape) or (Ellipsis not in term and named != len(shape)):
                raise _error(
                    f"term {''.join('...' if x is Ellipsis else x for x in term)!r} has "
                    f"{named} label(s) but its operand has shape {shape} ({len(shape)} axes)",
                    "Use one label per axis, or '...' for the leading ones.",
                )
            if Ellipsis in term:
                ellipsis_rank = max(ellipsis_rank, len(shape) - named)
        self.inputs = [
            self._expand(term, len(shape), ellipsis_rank) for term, shape in zip(parsed, shapes)
        ]
        self.sizes = self._sizes(shapes)
        self.output = self._output(arrow, output_text, ellipsis_rank)

    @staticmethod
    def _expand(term, ndim: int, ellipsis_rank: int) -> tuple[str, ...]:
        if Ellipsis not in term:
            return tuple(term)
        at = term.index(Ellipsis)
        rank = ndim - (len(term) - 1)
        broadcast = [_ellipsis_label(ellipsis_rank - rank + k) for k in range(rank)]
        return tuple([*term[:at], *broadcast, *term[at + 1 :]])

    def _sizes(self, shapes) -> dict[str, int]:
        sizes: dict[str, int] = {}
        for labels, shape in zip(self.inputs, shapes):
            for label in set(labels):
                own = {size for x, size in zip(labels, shape) if x == label}
                if len(own) > 1:
                    raise _error(
                        f"label {label!r} is repeated in one term of {self.subscripts!r} over "
                        f"axes of different sizes {sorted(own)} (shape {shape})",
                        "A repeated label takes a diagonal, which needs equal sizes.",
                    )
            for label, size in zip(labels, shape):
                known = sizes.get(label, 1)
                if size != known and 1 not in (size, known):
                    shown = label if label in _LETTERS else "'...'"
                    raise _error(
                        f"size {size} of axis {shown} does not match size {known} elsewhere "
                        f"in {self.subscripts!r} (operand shapes "
                        f"{', '.join(map(str, shapes))})",
                        "Axes sharing a label must have equal sizes (or size 1, which broadcasts).",
                    )
                sizes[label] = max(size, known) if known != 1 else size
        return sizes

    def _output(self, arrow: str, output_text: str, ellipsis_rank: int) -> tuple[str, ...]:
        broadcast = [_ellipsis_label(k) for k in range(ellipsis_rank)]
        if not arrow:
            counts = Counter(label for labels in self.inputs for label in labels)
            once = sorted(label for label, n in counts.items() if n == 1 and label in _LETTERS)
            return tuple(broadcast + once)
        term = _split_term(output_text, "output")
        letters = [x for x in term if x is not Ellipsis]
        for label, count in Counter(letters).items():
            if count > 1:
                raise _error(
                    f"output subscript {label!r} appears more than once in {self.subscripts!r}"
                )
            if label not in self.sizes:
                raise _error(
                    f"output subscript {label!r} never appears in an input of {self.subscripts!r}"
                )
        if Ellipsis not in term:  # broadcast axes left out of the output are summed, as in JAX
            return tuple(letters)
        at = term.index(Ellipsis)
        return tuple([*term[:at], *broadcast, *term[at + 1 :]])


# ---------------------------------------------------------------------------------------
# Contraction order. A group is the frozenset of original operand positions merged so
# far; its labels are those of its members still needed outside it.


def _group_labels(group, inputs, output) -> frozenset:
    inside = set().union(*(inputs[i] for i in group))
    outside = set(output).union(*(inputs[i] for i in range(len(inputs)) if i not in group))
    return frozenset(inside & outside)


def _pair_cost(labels_a, labels_b, sizes) -> int:
    return math.prod(sizes[label] for label in labels_a | labels_b)


def _optimal_order(inputs, output, sizes):
    """The pairwise order minimizing total multiply-adds, by search over merge orders."""
    labels = functools.cache(lambda group: _group_labels(group, inputs, output))

    @functools.cache
    def best(state: frozenset):
        if len(state) == 1:
            return 0, ()
        choice = None
        for a, b in itertools.combinations(sorted(state, key=sorted), 2):
            step = _pair_cost(labels(a), labels(b), sizes)
            rest, order = best(state - {a, b} | {a | b})
            if choice is None or step + rest < choice[0]:
                choice = (step + rest, ((a, b), *order))
        return choice

    return list(best(frozenset(frozenset([i]) for i in range(len(inputs))))[1])


def _greedy_order(inputs, output, sizes):
    """Repeatedly contract the pair whose result shrinks memory most (ties: fewest
    multiply-adds), preferring pairs that share a label over outer products."""
    size_of = lambda labels: math.prod(sizes[label] for label in labels)  # noqa: E731
    state = [frozenset([i]) for i in range(len(inputs))]
    order = []
    while len(state) > 1:
        candidates = []
        for a, b in itertools.combinations(state, 2):
            la = _group_labels(a, inputs, output)
            lb = _group_labels(b, inputs, output)
            merged = _group_labels(a | b, inputs, output)
            shared = bool(la & lb)
            removed = size_of(merged) - size_of(la) - size_of(lb)
            candidates.append(((not shared, removed, _pair_cost(la, lb, sizes)), a, b))
        _, a, b = min(candidates, key=lambda c: c[0])
        state = [g for g in state if g not in (a, b)] + [a | b]
        order.append((a, b))
    return order


def _left_to_right_order(count: int):
    order, acc = [], frozenset([0])
    for i in range(1, count):
        order.append((acc, frozenset([i])))
        acc |= {i}
    return order


def _positions(order, count: int) -> list[tuple[int, ...]]:
    """A merge order as NumPy's/opt_einsum's path: positions in a list where each
    contraction removes its pair and appends the result at the end."""
    current = [frozenset([i]) for i in range(count)]
    path = []
    for a, b in order:
        i, j = sorted((current.index(a), current.index(b)))
        path.append((i, j))
        current = [g for g in current if g not in (a, b)] + [a | b]
    if count == 1:
        return [(0,)]
    return path


def _order_from_path(path, count: int):
    """The merge order of an explicit path (a list of position pairs)."""
    steps = [tuple(step) for step in path if step != "einsum_path"]
    current = [frozenset([i]) for i in range(count)]
    order = []
    for step in steps:
        if len(step) == 1 and count == 1:
            continue
        if len(step) != 2 or any(not 0 <= i < len(current) for i in step) or step[0] == step[1]:
            raise _error(
                f"path step {step} is not a pair of distinct positions among "
                f"{len(current)} operands",
                "Give pairs like [(0, 1), (0, 1)], as einsum_path returns.",
            )
        a, b = current[step[0]], current[step[1]]
        order.append((a, b))
        current = [g for g in current if g not in (a, b)] + [a | b]
    if len(current) != 1:
        raise _error(f"path {steps} leaves {len(current)} operands uncontracted")
    return order


def _choose_order(optimize, inputs, output, sizes):
    count = len(inputs)
    if optimize is False or optimize is None:
        return _left_to_right_order(count)
    if isinstance(optimize, (list, tuple)):
        return _order_from_path(optimize, count)
    strategy = "auto" if optimize is True else optimize
    if strategy not in ("auto", "optimal", "greedy"):
        raise _error(
            f"optimize={optimize!r} is not understood",
            "Use True, False, 'auto', 'greedy', 'optimal' or an explicit path.",
        )
    if count <= 1:
        return []
    if strategy != "greedy" and count <= _EXHAUSTIVE_LIMIT[strategy]:
        return _optimal_order(inputs, output, sizes)
    return _greedy_order(inputs, output, sizes)


# ---------------------------------------------------------------------------------------
# Lowering


def _diagonal(x, labels: tuple, label: str):
    """Merge the two axes of x carrying `label` into one (their diagonal), placed last.

    Moving the pair to the end and flattening it, the diagonal is every (n+1)-th element:
    a reshape and a strided slice, with no gather."""
    first = labels.index(label)
    second = labels.index(label, first + 1)
    rest = [i for i in range(len(labels)) if i not in (first, second)]
    shape = get_aval(x).shape
    n = shape[first]
    x = lax_shapes.transpose(x, (*rest, first, second))
    lead = [shape[i] for i in rest]
    x = lax_shapes.reshape(x, (*lead, n * n))
    x = lax_shapes.slice(x, (0,) * (len(lead) + 1), (*lead, n * n), (1,) * len(lead) + (n + 1,))
    return x, tuple(labels[i] for i in rest) + (label,)


def _sum_labels(x, labels: tuple, drop):
    axes = tuple(i for i, label in enumerate(labels) if label in drop)
    if not axes:
        return x, labels
    return red.reduce_sum(x, axes), tuple(label for label in labels if label not in drop)


def _simplify(x, labels: tuple, sizes, needed: set):
    """Diagonals of repeated labels, broadcasting size-1 axes dropped, unneeded labels summed."""
    for label, count in Counter(labels).items():
        for _ in range(count - 1):
            x, labels = _diagonal(x, labels, label)
    shape = get_aval(x).shape
    squeezed = [i for i, label in enumerate(labels) if shape[i] == 1 and sizes[label] != 1]
    if squeezed:
        x = lax_shapes.squeeze(x, squeezed)
        labels = tuple(label for i, label in enumerate(labels) if i not in squeezed)
    return _sum_labels(x, labels, set(labels) - needed)


def _contract(a, labels_a, b, labels_b, keep: set):
    a, labels_a = _sum_labels(a, labels_a, set(labels_a) - keep - set(labels_b))
    b, labels_b = _sum_labels(b, labels_b, set(labels_b) - keep - set(labels_a))
    shared = [label for label in labels_a if label in labels_b]
    batch = [label for label in shared if label in keep]
    summed = [label for label in shared if label not in keep]
    numbers = (
        (tuple(labels_a.index(x) for x in summed), tuple(labels_b.index(x) for x in summed)),
        (tuple(labels_a.index(x) for x in batch), tuple(labels_b.index(x) for x in batch)),
    )
    out = dot_general(a, b, numbers)
    labels = (
        tuple(batch)
        + tuple(x for x in labels_a if x not in labels_b)
        + tuple(x for x in labels_b if x not in labels_a)
    )
    return out, labels


def _plan(subscripts, operands, optimize):
    subscripts, arrays = _split_arguments(subscripts, operands)
    shapes = [tuple(np.shape(x)) if not hasattr(x, "shape") else tuple(x.shape) for x in arrays]
    if not arrays:
        raise _error("at least one operand is required", "Pass the arrays after the subscripts.")
    plan = _Plan(subscripts, shapes)
    # Labels each operand keeps after simplification: those another operand or the output has.
    simplified = []
    for i, labels in enumerate(plan.inputs):
        others = set(plan.output).union(
            *(plan.inputs[j] for j in range(len(plan.inputs)) if j != i)
        )
        kept = [
            label
            for label in dict.fromkeys(labels)
            if label in others
            and not (plan.sizes[label] != 1 and shapes[i][labels.index(label)] == 1)
        ]
        simplified.append(frozenset(kept))
    order = _choose_order(optimize, simplified, plan.output, plan.sizes)
    return plan, arrays, simplified, order


@api_boundary
def einsum(
    subscripts,
    /,
    *operands,
    out=None,
    optimize="auto",
    precision=None,
    preferred_element_type=None,
):
    """Einstein summation, as `numpy.einsum`: `einsum('ij,jk->ik', a, b)` is a @ b.

    Repeated labels in one term take diagonals ('ii->i'), labels missing from the output
    are summed, '...' broadcasts, and the interleaved form einsum(a, [0, 1], b, [1, 2])
    works too. `optimize` picks the contraction order: 'auto'/True (exhaustive search
    for up to 4 operands, greedy beyond), 'optimal', 'greedy', False (left to right)
    or an explicit path from `einsum_path`.

    >>> einsum('ij,j->i', jnp.ones((2, 3)), jnp.arange(3.0))  # doctest: +SKIP
    Array([3., 3.], dtype=float32)
    """
    if out is not None:
        raise TypeError(
            f"einsum: the 'out' argument is not supported (at {user_location()}); funcgrad "
            "arrays are immutable, so use the returned value."
        )
    plan, arrays, simplified, order = _plan(subscripts, operands, optimize)
    arrays = promote_dtypes(*(asarray(x) for x in arrays))
    result_dtype = (
        dtypes.canonicalize_dtype(preferred_element_type) if preferred_element_type else None
    )
    compute_dtype = get_aval(arrays[0]).dtype if arrays else np.dtype(np.float32)
    if result_dtype is not None:
        compute_dtype = result_dtype
    is_bool = compute_dtype == np.bool_
    if is_bool:  # sums of products of bools are "any of all": count in int32, then test
        compute_dtype = np.dtype(np.int32)
    arrays = [
        x if get_aval(x).dtype == compute_dtype else ew.convert_element_type(x, compute_dtype)
        for x in arrays
    ]

    terms = {}
    for i, (x, labels) in enumerate(zip(arrays, plan.inputs)):
        x, labels = _simplify(x, labels, plan.sizes, set(simplified[i]))
        terms[frozenset([i])] = (x, labels)
    for a, b in order:
        remaining = [g for g in terms if g not in (a, b)]
        keep = set(plan.output).union(*(label for g in remaining for label in terms[g][1]))
        (xa, la), (xb, lb) = terms.pop(a), terms.pop(b)
        terms[a | b] = _contract(xa, la, xb, lb, keep)
    ((x, labels),) = terms.values()
    x, labels = _sum_labels(x, labels, set(labels) - set(plan.output))
    permutation = tuple(labels.index(label) for label in plan.output)
    if permutation != tuple(range(len(labels))):
        x = lax_shapes.transpose(x, permutation)
    if is_bool:
        x = ew.ne(x, 0)
    return x


@api_boundary
def einsum_path(subscripts, /, *operands, optimize="greedy"):
    """The contraction order einsum would use, from the operands' shapes alone.

    Returns `(path, description)`: `path` is a list of position pairs (each contraction
    removes two operands from the list and appends its result), usable as einsum's
    `optimize=`; `description` lists each step's labels and cost.

    >>> path, info = einsum_path('ij,jk,k->i', a, b, c, optimize='optimal')  # doctest: +SKIP
    >>> path
    [(1, 2), (0, 1)]
    """
    plan, _, simplified, order = _plan(subscripts, operands, optimize)
    count = len(simplified)
    path = _positions(order, count)
    current = [frozenset([i]) for i in range(count)]
    lines = [f"einsum path for {plan.subscripts!r}:"]
    total = 0
    for a, b in order:
        la = _group_labels(a, simplified, plan.output)
        lb = _group_labels(b, simplified, plan.output)
        cost = _pair_cost(la, lb, plan.sizes)
        total += cost
        shown = lambda labels: "".join(sorted(x if x in _LETTERS else "." for x in labels))  # noqa: E731
        lines.append(f"  contract {shown(la)!r} with {shown(lb)!r}: {cost} multiply-adds")
        current = [g for g in current if g not in (a, b)] + [a | b]
    lines.append(f"  total: {total} multiply-adds")
    return path, "\n".join(lines)
