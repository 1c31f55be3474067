"""Algebraic simplification: small local rewrites that remove work the trace left behind.

Tracing composes library functions that each do something sensible alone, so a program
ends up with `x * 1`, `-(-x)`, a transpose undone by another, reshapes to the shape an
array already has, or a `dot_general` reading an operand through an explicit transpose.
This pass walks the equations once, front to back, and asks a table of rules keyed by
primitive whether an equation can be dropped (its result is one of its operands) or
replaced by a cheaper one (two transposes composed into one, a dot_general reading the
transpose's input with adjusted dimension numbers). Each equation is rewritten against
the already simplified equations before it and re-examined after a rewrite, so one
rewrite can enable the next in the same sweep: once a transpose of a transpose composes
to the identity, a reshape after it may find itself reshaping to the same shape.

Every rewrite keeps the replaced variable's aval exactly (shape, dtype and weak type):
a rule's result is accepted only when the primitive's shape rule says so, which is what
keeps `x * 1.0` for an integer `x` (a dtype change) or a weak `x` times a strong one
untouched. Equations made unused by a rewrite (the transpose a dot_general no longer
reads) stay for dead code elimination. Sub-jaxprs in parameters are left as they are.

Arithmetic identities follow IEEE exactly, so compiled results equal eager ones bit for
bit: `x * 1`, `x / 1`, `x - (+0)` and `x + (-0)` are identities for every real `x`, but
`x + (+0)` is not (it turns -0.0 into +0.0), so for floats it stays; for integers any
zero is the identity. Complex operands are left alone: `(inf + 0j) * (1 + 0j)` has a NaN
imaginary part under IEEE multiplication.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var
from funcgrad.core.primitive import Primitive
from funcgrad.lax import elementwise as ew
from funcgrad.lax import linalg, shapes

__all__ = ["simplify"]

Atom = Var | Literal


@dataclass(frozen=True)
class _Context:
    """What a rule may look at besides its equation: the (simplified) equation binding each
    variable so far, the values of scalar constants, and how many equations (or program
    outputs) read each variable in the input program."""

    producers: dict[Var, JaxprEqn]
    scalar_consts: dict[Var, Any]
    readers: dict[Var, int]

    def producer(self, atom: Atom, primitive: Primitive) -> JaxprEqn | None:
        eqn = self.producers.get(atom) if isinstance(atom, Var) else None
        return eqn if eqn is not None and eqn.primitive is primitive else None

    def uniform_value(self, atom: Atom):
        """The one value every element of `atom` has, when known at compile time, else None."""
        if isinstance(atom, Literal):
            return atom.val
        if atom in self.scalar_consts:
            return self.scalar_consts[atom]
        broadcast = self.producer(atom, shapes.broadcast_in_dim_p)
        if broadcast is not None:
            return self.uniform_value(broadcast.invars[0])
        convert = self.producer(atom, ew.convert_element_type_p)
        if convert is not None:
            value = self.uniform_value(convert.invars[0])
            return None if value is None else _cast(value, convert.params["new_dtype"])
        return None


def _cast(value, dtype: np.dtype):
    """`value` as `dtype` would hold it, or None where the cast drops an imaginary part."""
    if np.iscomplexobj(value) and dtypes.dtype_kind(dtype) != "c":
        return None
    with np.errstate(all="ignore"):
        return np.asarray(value).astype(dtype)[()]


# A rule returns an operand that the result equals, a cheaper equation binding the same
# result, or None when it does not apply.
Rewrite = Atom | JaxprEqn | None


def _replace(eqn: JaxprEqn, invars: tuple, **params) -> JaxprEqn:
    return dataclasses.replace(eqn, invars=invars, params={**eqn.params, **params})


def _identity(ndim: int) -> tuple[int, ...]:
    return tuple(range(ndim))


# ---------------------------------------------------------------------------------------
# Arithmetic identities


def _real(dtype: np.dtype) -> bool:
    return dtypes.dtype_kind(dtype) in "iuf"


def _is_one(value, dtype: np.dtype) -> bool:
    return bool(np.asarray(value) == 1)


def _is_additive_identity(value, dtype: np.dtype) -> bool:
    """0 for integers; only -0.0 for floats, as -0.0 + (+0.0) is +0.0."""
    is_zero = bool(np.asarray(value) == 0)
    return is_zero and (dtypes.dtype_kind(dtype) != "f" or bool(np.signbit(float(value))))


def _is_subtractive_identity(value, dtype: np.dtype) -> bool:
    """0 for integers; only +0.0 for floats, as -0.0 - (-0.0) is +0.0."""
    is_zero = bool(np.asarray(value) == 0)
    return is_zero and (dtypes.dtype_kind(dtype) != "f" or not bool(np.signbit(float(value))))


def _same_type(atom: Atom, var: Var) -> bool:
    return atom.aval == var.aval


def _drops_identity(is_identity: Callable, commutes: bool):
    """A rule for a binary op that is the identity when one operand (the right one, or
    either if the op commutes) is a known identity element."""

    def rule(eqn: JaxprEqn, context: _Context) -> Rewrite:
        (out,) = eqn.outvars
        if not _real(out.aval.dtype):
            return None
        x, y = eqn.invars
        candidates = [(x, y), (y, x)] if commutes else [(x, y)]
        for kept, other in candidates:
            value = context.uniform_value(other)
            if value is not None and is_identity(value, out.aval.dtype) and _same_type(kept, out):
                return kept
        return None

    return rule


def _neg_of_neg(eqn: JaxprEqn, context: _Context) -> Rewrite:
    inner = context.producer(eqn.invars[0], ew.neg_p)
    return None if inner is None else inner.invars[0]


def _operand_itself(eqn: JaxprEqn, context: _Context) -> Rewrite:
    """For ops that are the identity exactly when they keep the operand's type:
    convert_element_type to the same dtype and weak type, squeeze of no axes."""
    return eqn.invars[0]


# ---------------------------------------------------------------------------------------
# Shape operations


def _transpose(eqn: JaxprEqn, context: _Context) -> Rewrite:
    (operand,) = eqn.invars
    permutation = eqn.params["permutation"]
    inner = context.producer(operand, shapes.transpose_p)
    if inner is not None:
        # Output axis i is the inner result's axis permutation[i], which is operand axis
        # inner_permutation[permutation[i]].
        permutation = tuple(inner.params["permutation"][p] for p in permutation)
        operand = inner.invars[0]
    if permutation == _identity(len(permutation)):
        return operand
    if inner is None:
        return _swapped_product(eqn, context)
    return _replace(eqn, (operand,), permutation=permutation)


def _swapped_product(transpose: JaxprEqn, context: _Context) -> Rewrite:
    """(A B)^T = B^T A^T: a transpose that swaps a product's lhs and rhs free axes becomes
    the product with its operands swapped, written in the wanted layout directly (reverse
    mode makes these for every weight gradient). Only when nothing else reads the product."""
    (operand,), permutation = transpose.invars, transpose.params["permutation"]
    product = context.producer(operand, linalg.dot_general_p)
    if product is None or context.readers.get(operand, 0) != 1:
        return None
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = product.params["dimension_numbers"]
    if lhs_batch or rhs_batch:
        return None
    lhs, rhs = product.invars
    n_lhs = lhs.aval.ndim - len(lhs_contract)
    n_rhs = rhs.aval.ndim - len(rhs_contract)
    if permutation != (*range(n_lhs, n_lhs + n_rhs), *range(n_lhs)):
        return None
    params = {**product.params, "dimension_numbers": ((rhs_contract, lhs_contract), ((), ()))}
    return JaxprEqn(product.primitive, (rhs, lhs), transpose.outvars, params, product.source_info)


def _reshape(eqn: JaxprEqn, context: _Context) -> Rewrite:
    (operand,) = eqn.invars
    dimensions = eqn.params["dimensions"]
    if dimensions is not None and dimensions != _identity(len(dimensions)):
        return None  # a reshape that transposes first cannot absorb another reshape
    if eqn.params["new_sizes"] == operand.aval.shape:
        return operand
    inner = context.producer(operand, shapes.reshape_p)
    if inner is None:
        return None
    # Row-major reshapes compose: only the inner one's transpose (if any) and the outer
    # one's sizes matter.
    return _replace(eqn, inner.invars, dimensions=inner.params["dimensions"])


def _broadcast_in_dim(eqn: JaxprEqn, context: _Context) -> Rewrite:
    (operand,) = eqn.invars
    dims = eqn.params["broadcast_dimensions"]
    inner = context.producer(operand, shapes.broadcast_in_dim_p)
    if inner is not None:
        # Operand axis i lands on inner axis inner_dims[i], which lands on dims[inner_dims[i]].
        dims = tuple(dims[d] for d in inner.params["broadcast_dimensions"])
        operand = inner.invars[0]
    else:
        inner = _unit_axes_reshape(operand, context)
        if inner is not None:
            # A keepdims-style reshape only added size-1 axes: broadcast the original.
            dims = tuple(d for d, size in zip(dims, operand.aval.shape) if size != 1)
            operand = inner.invars[0]
    if eqn.params["shape"] == operand.aval.shape and dims == _identity(len(dims)):
        return operand
    return None if inner is None else _replace(eqn, (operand,), broadcast_dimensions=dims)


def _unit_axes_reshape(operand: Atom, context: _Context) -> JaxprEqn | None:
    """The reshape producing `operand` when it only inserted size-1 axes into an operand
    that has none (a reduction's result given back its reduced axes)."""
    reshape = context.producer(operand, shapes.reshape_p)
    if reshape is None or reshape.params["dimensions"] is not None:
        return None
    before = reshape.invars[0].aval.shape
    after = [s for s in operand.aval.shape if s != 1]
    return reshape if 1 not in before and list(before) == after else None


# ---------------------------------------------------------------------------------------
# dot_general reading a transposed operand in place


def _read_through_transpose(operand: Atom, contracted, batch, context: _Context):
    """(the transpose's input, contracted axes, batch axes) naming the same axes of it,
    or None when the operand is no transpose or reading through it would reorder the
    operand's free axes (and so the result's axes)."""
    transpose = context.producer(operand, shapes.transpose_p)
    if transpose is None:
        return None
    permutation = transpose.params["permutation"]
    free = [a for a in range(len(permutation)) if a not in (*contracted, *batch)]
    source_free = [permutation[a] for a in free]
    if source_free != sorted(source_free):
        return None
    return (
        transpose.invars[0],
        tuple(permutation[a] for a in contracted),
        tuple(permutation[a] for a in batch),
    )


def _dot_general(eqn: JaxprEqn, context: _Context) -> Rewrite:
    """Contract the transpose's input directly: only the dimension numbers change."""
    (lhs_contract, rhs_contract), (lhs_batch, rhs_batch) = eqn.params["dimension_numbers"]
    lhs, rhs = eqn.invars
    lhs_read = _read_through_transpose(lhs, lhs_contract, lhs_batch, context)
    rhs_read = _read_through_transpose(rhs, rhs_contract, rhs_batch, context)
    if lhs_read is None and rhs_read is None:
        return None
    lhs, lhs_contract, lhs_batch = lhs_read or (lhs, lhs_contract, lhs_batch)
    rhs, rhs_contract, rhs_batch = rhs_read or (rhs, rhs_contract, rhs_batch)
    numbers = ((lhs_contract, rhs_contract), (lhs_batch, rhs_batch))
    return _replace(eqn, (lhs, rhs), dimension_numbers=numbers)


RULES: dict[Primitive, Callable[[JaxprEqn, _Context], Rewrite]] = {
    ew.mul_p: _drops_identity(_is_one, commutes=True),
    ew.div_p: _drops_identity(_is_one, commutes=False),
    ew.add_p: _drops_identity(_is_additive_identity, commutes=True),
    ew.sub_p: _drops_identity(_is_subtractive_identity, commutes=False),
    ew.neg_p: _neg_of_neg,
    ew.convert_element_type_p: _operand_itself,
    shapes.squeeze_p: _operand_itself,
    shapes.transpose_p: _transpose,
    shapes.reshape_p: _reshape,
    shapes.broadcast_in_dim_p: _broadcast_in_dim,
    linalg.dot_general_p: _dot_general,
}


# ---------------------------------------------------------------------------------------
# The sweep


def _keeps_type(eqn: JaxprEqn, result: Atom | JaxprEqn) -> bool:
    """Whether `result` gives exactly the aval `eqn` binds, weak type included."""
    (out,) = eqn.outvars
    if isinstance(result, JaxprEqn):
        in_avals = [atom.aval for atom in result.invars]
        return result.primitive.abstract_eval(*in_avals, **result.params) == out.aval
    return _same_type(result, out)


def _simplified(eqn: JaxprEqn, context: _Context) -> Atom | JaxprEqn:
    """`eqn` after applying rules until none fires: an equation, or the atom it equals."""
    while True:
        rule = RULES.get(eqn.primitive)
        result = None if rule is None else rule(eqn, context)
        if result is None or not _keeps_type(eqn, result):
            return eqn
        if not isinstance(result, JaxprEqn):
            return result
        eqn = result


def _scalar_consts(closed: ClosedJaxpr) -> dict[Var, Any]:
    return {
        var: np.asarray(value)[()]
        for var, value in zip(closed.jaxpr.constvars, closed.consts)
        if np.ndim(value) == 0
    }


def simplify(closed: ClosedJaxpr) -> ClosedJaxpr:
    """`closed` with the algebraic rewrites above applied in one forward sweep.

    >>> closed = funcgrad.make_jaxpr(lambda x: -(-x) * 1.0)(np.ones(3))  # doctest: +SKIP
    >>> simplify(closed).eqns                                            # doctest: +SKIP
    ()
    """
    jaxpr = closed.jaxpr
    readers: dict[Var, int] = {}
    for atom in [a for e in jaxpr.eqns for a in e.invars] + list(jaxpr.outvars):
        if isinstance(atom, Var):
            readers[atom] = readers.get(atom, 0) + 1
    context = _Context(producers={}, scalar_consts=_scalar_consts(closed), readers=readers)
    forwarded: dict[Var, Atom] = {}

    def read(atom: Atom) -> Atom:
        return forwarded.get(atom, atom) if isinstance(atom, Var) else atom

    eqns = []
    for eqn in jaxpr.eqns:
        invars = tuple(map(read, eqn.invars))
        if any(new is not old for new, old in zip(invars, eqn.invars)):
            eqn = dataclasses.replace(eqn, invars=invars)
        result = _simplified(eqn, context) if len(eqn.outvars) == 1 else eqn
        if isinstance(result, JaxprEqn):
            eqns.append(result)
            context.producers.update((var, result) for var in result.outvars)
        else:
            forwarded[eqn.outvars[0]] = result
    outvars = tuple(map(read, jaxpr.outvars))
    return ClosedJaxpr(Jaxpr(jaxpr.constvars, jaxpr.invars, outvars, tuple(eqns)), closed.consts)
