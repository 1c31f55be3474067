"""Matrix-chain reassociation: re-bracket products of matrices in the cheapest order.

Matrix multiplication is associative but its cost is not: with A and B square and v a
vector, `(A @ B) @ v` does a matrix-matrix product where `A @ (B @ v)` does two
matrix-vector ones, and whether `(A @ B) @ X` or `A @ (B @ X)` is cheaper flips as X
gains columns. Users write whatever bracketing reads best, and reverse mode produces long
chains of its own, so this pass finds chains of plain matrix products (dot_general with
no batch dimensions contracting one axis of a matrix or vector with one of the next:
`a @ b`, and also `a @ b.T` or `a.T @ b` as simplify leaves them, reading the transposed
matrix in place) and re-brackets each by the classic matrix-chain dynamic program over
flop counts (`dot_general_flops`). A factor read transposed stays read in place, through
the dimension numbers of whichever new product reads it.

A product joins the chain of the product reading it only when nothing else reads it (so
no work is duplicated), it is a matrix read as it is (not transposed), so vectors stay at
the chain's ends where associativity holds, both share precision and
preferred_element_type, and its result keeps its operands' dtype (so every factor of the
chain has one dtype and re-bracketing cannot change a rounding step's type). A chain is
rewritten only when the best order is strictly cheaper; the new products take the
chain's final equation's place and source line, and the final result keeps its variable
and aval. Uses are counted on the live program, so dead code is dropped first.
Sub-jaxprs in parameters are left as they are.
"""

from __future__ import annotations

import math
from typing import NamedTuple, Sequence

from funcgrad.compiler.passes.dce import dce_jaxpr
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.lax.linalg import dot_general_p

__all__ = ["dot_general_flops", "reassociate_matmuls"]

Atom = Var | Literal
Shape = tuple[int, ...]


def dot_general_flops(lhs_shape: Sequence[int], rhs_shape: Sequence[int], dimension_numbers) -> int:
    """Floating-point operations of a dot_general: a multiply and an add per term summed.

    >>> dot_general_flops((4, 3), (3, 5), (((1,), (0,)), ((), ())))
    120
    """
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = dimension_numbers
    lhs_taken = {*lhs_contract, *lhs_batch}
    rhs_taken = {*rhs_contract, *rhs_batch}
    batch = math.prod(lhs_shape[a] for a in lhs_batch)
    contracted = math.prod(lhs_shape[a] for a in lhs_contract)
    lhs_free = math.prod(n for a, n in enumerate(lhs_shape) if a not in lhs_taken)
    rhs_free = math.prod(n for a, n in enumerate(rhs_shape) if a not in rhs_taken)
    return 2 * batch * contracted * lhs_free * rhs_free


class _Factor(NamedTuple):
    """One factor of a chain: an array, read as a matrix or as its transpose (a 2-D operand
    contracted on its first axis as lhs, or on its last as rhs, as simplify leaves
    `x @ w.T`), or a vector at either end of the chain."""

    atom: Atom
    transposed: bool = False

    @property
    def shape(self) -> Shape:
        shape = self.atom.aval.shape
        return shape[::-1] if self.transposed else shape


def _orientation(eqn: JaxprEqn) -> tuple[bool, bool] | None:
    """Whether a matrix product reads (lhs, rhs) transposed; None for any other equation."""
    if eqn.primitive is not dot_general_p:
        return None
    lhs, rhs = (atom.aval for atom in eqn.invars)
    (lhs_contract, rhs_contract), (lhs_batch, _) = eqn.params["dimension_numbers"]
    if lhs_batch or len(lhs_contract) != 1 or lhs.ndim not in (1, 2) or rhs.ndim not in (1, 2):
        return None
    return lhs_contract[0] != lhs.ndim - 1, rhs_contract[0] != 0


def _numbers(lhs: _Factor, rhs: _Factor) -> tuple:
    lhs_axis = 0 if lhs.transposed else lhs.atom.aval.ndim - 1
    rhs_axis = 1 if rhs.transposed else 0
    return (((lhs_axis,), (rhs_axis,)), ((), ()))


def _same_arithmetic(a: JaxprEqn, b: JaxprEqn) -> bool:
    keys = ("precision", "preferred_element_type")
    return all(a.params[k] == b.params[k] for k in keys)


class _Chains:
    """Which matrix product feeds which: the products that may join their reader's chain."""

    def __init__(self, jaxpr: Jaxpr):
        uses: dict[Var, int] = {}
        for atom in (*(v for e in jaxpr.eqns for v in e.invars), *jaxpr.outvars):
            if isinstance(atom, Var):
                uses[atom] = uses.get(atom, 0) + 1
        self.uses = uses
        self.products = {e.outvars[0]: e for e in jaxpr.eqns if _orientation(e) is not None}

    def joining(self, operand: _Factor, reader: JaxprEqn) -> JaxprEqn | None:
        """The product binding `operand` if it may join `reader`'s chain, else None."""
        atom = operand.atom
        product = self.products.get(atom) if isinstance(atom, Var) else None
        if product is None or operand.transposed or self.uses[atom] != 1 or atom.aval.ndim != 2:
            return None
        if atom.aval.dtype != product.invars[0].aval.dtype:
            return None
        return product if _same_arithmetic(product, reader) else None

    def operands(self, eqn: JaxprEqn) -> list[_Factor]:
        return [_Factor(atom, t) for atom, t in zip(eqn.invars, _orientation(eqn))]

    def gather(self, root: JaxprEqn) -> tuple[list[_Factor], list[JaxprEqn]]:
        """The chain ending at `root`: its factors left to right, and its products."""
        factors: list[_Factor] = []
        members: list[JaxprEqn] = []
        for operand in self.operands(root):
            inner = self.joining(operand, root)
            if inner is None:
                factors.append(operand)
            else:
                inner_factors, inner_members = self.gather(inner)
                factors += inner_factors
                members += inner_members
        members.append(root)
        return factors, members

    def roots(self) -> list[JaxprEqn]:
        """Products whose result joins no other chain, in program order."""
        joined = {
            id(inner)
            for reader in self.products.values()
            for operand in self.operands(reader)
            if (inner := self.joining(operand, reader)) is not None
        }
        return [e for e in self.products.values() if id(e) not in joined]


# ---------------------------------------------------------------------------------------
# The dynamic program, on the factors' shapes as the chain reads them


def _product_shape(shapes: Sequence[Shape], first: int, last: int) -> Shape:
    """Shape of factors[first..last]'s product: the first's rows and the last's columns (a
    vector at either end has none)."""
    if first == last:
        return shapes[first]
    return shapes[first][:-1] + shapes[last][1:]


def _step_flops(shapes: Sequence[Shape], first: int, split: int, last: int) -> int:
    left = _product_shape(shapes, first, split)
    right = _product_shape(shapes, split + 1, last)
    return dot_general_flops(left, right, (((len(left) - 1,), (0,)), ((), ())))


def _best_bracketing(shapes: Sequence[Shape]) -> tuple[int, dict[tuple[int, int], int]]:
    """(least flops, split) for the product of factors of these shapes, where
    split[first, last] is the last factor of the left operand of that range's product."""
    count = len(shapes)
    cost = {(i, i): 0 for i in range(count)}
    split: dict[tuple[int, int], int] = {}
    for length in range(2, count + 1):
        for first in range(count - length + 1):
            last = first + length - 1
            options = [
                (cost[first, k] + cost[k + 1, last] + _step_flops(shapes, first, k, last), k)
                for k in range(first, last)
            ]
            cost[first, last], split[first, last] = min(options)
    return cost[0, count - 1], split


def _emit(
    factors: list[_Factor], split: dict, root: JaxprEqn, first: int, last: int, out: list
) -> _Factor:
    """Append the products computing factors[first..last] to `out`; return their result."""
    if first == last:
        return factors[first]
    k = split[first, last]
    lhs = _emit(factors, split, root, first, k, out)
    rhs = _emit(factors, split, root, k + 1, last, out)
    params = {**root.params, "dimension_numbers": _numbers(lhs, rhs)}
    if (first, last) == (0, len(factors) - 1):
        result = root.outvars[0]
    else:
        result = Var(dot_general_p.abstract_eval(lhs.atom.aval, rhs.atom.aval, **params))
    eqn = JaxprEqn(dot_general_p, (lhs.atom, rhs.atom), (result,), params, root.source_info)
    out.append(eqn)
    return _Factor(result)


def _rebracketed(chains: _Chains, root: JaxprEqn) -> tuple[list[JaxprEqn], list[JaxprEqn]]:
    """(products replaced, products replacing them at the root's place); empty when the
    chain's order is already the cheapest."""
    factors, members = chains.gather(root)
    if len(factors) < 3:
        return [], []
    current = sum(
        dot_general_flops(*(a.aval.shape for a in e.invars), e.params["dimension_numbers"])
        for e in members
    )
    best, split = _best_bracketing([factor.shape for factor in factors])
    if best >= current:
        return [], []
    replacement: list[JaxprEqn] = []
    _emit(factors, split, root, 0, len(factors) - 1, replacement)
    return members, replacement


def reassociate_matmuls(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` (without dead code) with every chain of matrix products in its cheapest order.

    >>> f = lambda a, b, v: (a @ b) @ v                           # doctest: +SKIP
    >>> reassociate_matmuls(funcgrad.make_jaxpr(f)(a, b, v))      # doctest: +SKIP
    (the program computing a @ (b @ v))
    """
    jaxpr = dce_jaxpr(closed.jaxpr)
    chains = _Chains(jaxpr)
    removed: set[int] = set()
    placed: dict[int, list[JaxprEqn]] = {}
    for root in chains.roots():
        members, replacement = _rebracketed(chains, root)
        removed.update(id(e) for e in members)
        if replacement:
            placed[id(root)] = replacement
    if not placed:
        return ClosedJaxpr(jaxpr, closed.consts)
    eqns: list[JaxprEqn] = []
    for eqn in jaxpr.eqns:
        eqns += placed.get(id(eqn), []) if id(eqn) in removed else [eqn]
    rewritten = Jaxpr(jaxpr.constvars, jaxpr.invars, jaxpr.outvars, tuple(eqns))
    return ClosedJaxpr(rewritten, closed.consts)
