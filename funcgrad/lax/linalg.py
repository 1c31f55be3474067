"""Linear algebra primitives: dot_general, the one contraction (matmul, dot, einsum and
tensordot are built on it), and the matrix factorizations and solves that
funcgrad.numpy.linalg builds on: cholesky, triangular_solve, lu, qr, svd and eigh.

dot_general's dimension numbers are ((lhs_contract, rhs_contract), (lhs_batch,
rhs_batch)); the result's axes are batch, then lhs free, then rhs free. The
factorizations work on the last two axes and are batched over any leading ones.

This module is also `funcgrad.lax.linalg`, as `jax.lax.linalg`: `lax.linalg.cholesky`,
`lax.linalg.qr`, ... are the wrappers below.
"""

from __future__ import annotations

import math

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import ShapedArray, get_aval
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax import elementwise as ew
from funcgrad.lax import reductions, shapes
from funcgrad.lax.operands import coerce_scalars, scalar_array
from funcgrad.lax.shape_rules import check_axes, shape_error

__all__ = ["dot_general", "cholesky", "triangular_solve", "lu", "qr", "svd", "eigh"]

dot_general_p = Primitive("dot_general")


def _free_axes(ndim: int, *used) -> list[int]:
    taken = {a for axes in used for a in axes}
    return [a for a in range(ndim) if a not in taken]


def as_batched_matmul(lhs, rhs, dimension_numbers) -> tuple[np.ndarray, np.ndarray, list]:
    """Views of the operands as (batch, rows, contracted) and (batch, contracted, cols), so
    one np.matmul computes the product (a transposed operand stays a strided view that BLAS
    reads in place), and the shape the product then has."""
    (lc, rc), (lb, rb) = dimension_numbers
    lf, rf = _free_axes(lhs.ndim, lc, lb), _free_axes(rhs.ndim, rc, rb)

    def size(shape, axes):
        return int(np.prod([shape[a] for a in axes], dtype=np.int64))

    lhs3 = np.transpose(lhs, [*lb, *lf, *lc]).reshape(
        size(lhs.shape, lb), size(lhs.shape, lf), size(lhs.shape, lc)
    )
    rhs3 = np.transpose(rhs, [*rb, *rc, *rf]).reshape(
        size(rhs.shape, rb), size(rhs.shape, rc), size(rhs.shape, rf)
    )
    shape = [*(lhs.shape[a] for a in lb), *(lhs.shape[a] for a in lf)]
    return lhs3, rhs3, shape + [rhs.shape[a] for a in rf]


@dot_general_p.def_impl
def _dot_general_impl(lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    lhs3, rhs3, shape = as_batched_matmul(lhs, rhs, dimension_numbers)
    out_dtype = preferred_element_type or lhs.dtype
    out = np.matmul(lhs3.astype(out_dtype, copy=False), rhs3.astype(out_dtype, copy=False))
    # NumPy computes bfloat16 products in float32; the result keeps the operands' dtype.
    return out.astype(out_dtype, copy=False).reshape(shape)


@dot_general_p.def_abstract_eval
def _dot_general_abstract_eval(
    lhs: ShapedArray, rhs: ShapedArray, *, dimension_numbers, precision, preferred_element_type
) -> ShapedArray:
    name, avals = "dot_general", [lhs, rhs]
    (lc, rc), (lb, rb) = dimension_numbers
    check_axes(name, lhs, (*lc, *lb), "lhs contracting and batch dimensions", avals)
    check_axes(name, rhs, (*rc, *rb), "rhs contracting and batch dimensions", avals)
    if len(lc) != len(rc) or len(lb) != len(rb):
        raise shape_error(
            name,
            avals,
            f"dimension_numbers {dimension_numbers} pair different "
            "numbers of lhs and rhs dimensions",
        )
    for kind, left, right in (("contracting", lc, rc), ("batch", lb, rb)):
        for a, b in zip(left, right):
            if lhs.shape[a] != rhs.shape[b]:
                raise shape_error(
                    name,
                    avals,
                    f"{kind} dimension {a} of lhs (size {lhs.shape[a]}) does not "
                    f"match dimension {b} of rhs (size {rhs.shape[b]})",
                    "Check the operands' shapes: for x @ y the last axis of x must equal the "
                    "second-to-last axis of y.",
                )
    if lhs.dtype != rhs.dtype:
        raise shape_error(
            name, avals, "operand dtypes must be equal", "Convert one operand with .astype(...)."
        )
    if dtypes.dtype_kind(lhs.dtype) == "b":
        raise shape_error(
            name,
            avals,
            "bool operands cannot be contracted",
            "Convert them to a numeric dtype first.",
        )
    shape = [lhs.shape[a] for a in lb]
    shape += [lhs.shape[a] for a in _free_axes(lhs.ndim, lc, lb)]
    shape += [rhs.shape[a] for a in _free_axes(rhs.ndim, rc, rb)]
    out_dtype = preferred_element_type or lhs.dtype
    return ShapedArray(shape, out_dtype, lhs.weak_type and rhs.weak_type)


def _axes_tuple(axes) -> tuple[int, ...]:
    return tuple(int(a) for a in axes)


def dot_general(lhs, rhs, dimension_numbers, precision=None, preferred_element_type=None):
    """General tensor contraction, as in `jax.lax.dot_general`.

    >>> dot_general(x, y, (((1,), (0,)), ((), ())))   # matrix product  # doctest: +SKIP
    """
    lhs, rhs = coerce_scalars(lhs, rhs)
    (lc, rc), (lb, rb) = dimension_numbers
    numbers = ((_axes_tuple(lc), _axes_tuple(rc)), (_axes_tuple(lb), _axes_tuple(rb)))
    if preferred_element_type is not None:
        preferred_element_type = dtypes.canonicalize_dtype(preferred_element_type)
    return dot_general_p.bind(
        lhs,
        rhs,
        dimension_numbers=numbers,
        precision=precision,
        preferred_element_type=preferred_element_type,
    )


# ---------------------------------------------------------------------------------------
# Factorizations and triangular solves. Impls compute in at least float32 (LAPACK has no
# float16/bfloat16) and return the operand's own dtype. Like JAX they never raise on bad
# values: a matrix that is not positive definite, singular or whose iteration does not
# converge gives NaN (or inf) entries instead of an exception.

_F32 = np.dtype(np.float32)
_I32 = np.dtype(np.int32)


def _computable(x: np.ndarray) -> np.ndarray:
    """x in a dtype NumPy's linear algebra accepts: float16 and bfloat16 become float32."""
    return x.astype(_F32) if x.dtype.kind != "c" and x.dtype.itemsize < 4 else x


def _real_dtype(dtype: np.dtype) -> np.dtype:
    """The real counterpart of a floating or complex dtype (complex64 -> float32)."""
    return np.zeros((), dtype).real.dtype


def _check_matrices(name: str, avals, *, square: bool = False) -> None:
    """Every operand is a batch of float or complex matrices (square ones if asked) of
    one dtype."""
    for aval in avals:
        if dtypes.dtype_kind(aval.dtype) not in "fc":
            raise shape_error(
                name,
                avals,
                f"dtype {aval.dtype.name} is not accepted (accepted: floating, complex)",
                "Convert the operand with .astype(jnp.float32) first.",
            )
        if aval.ndim < 2:
            raise shape_error(
                name,
                avals,
                f"operands must have at least 2 dimensions, got rank {aval.ndim}",
                "Pass a matrix, or a batch of matrices stacked on the leading axes.",
            )
        if square and aval.shape[-1] != aval.shape[-2]:
            raise shape_error(
                name,
                avals,
                f"the last two dimensions of {aval.str_short()} must be equal (square matrices)",
            )
    if len({aval.dtype for aval in avals}) > 1:
        raise shape_error(
            name, avals, "operand dtypes must be equal", "Convert one with .astype(...)."
        )


def _per_matrix(fun, x: np.ndarray, out_shapes, out_dtypes) -> list[np.ndarray]:
    """Apply `fun` (a NumPy routine that may raise LinAlgError) to each matrix of a batch;
    a matrix it refuses gets NaN outputs, as from JAX's kernels."""
    batch = x.shape[:-2]
    outs = [np.empty(batch + tuple(s), d) for s, d in zip(out_shapes, out_dtypes)]
    for index in np.ndindex(*batch):
        try:
            results = fun(x[index])
        except np.linalg.LinAlgError:
            results = [np.full(s, np.nan, d) for s, d in zip(out_shapes, out_dtypes)]
        for out, result in zip(outs, results):
            out[index] = result
    return outs


def _matrix_transpose(x):
    ndim = get_aval(x).ndim
    return shapes.transpose(x, (*range(ndim - 2), ndim - 1, ndim - 2))


def _symmetrize(x):
    """(x + x^H) / 2: a Hermitian input stays the same, rounding aside."""
    xt = _matrix_transpose(x)
    if dtypes.dtype_kind(get_aval(x).dtype) == "c":
        xt = ew.conj(xt)
    return ew.div(ew.add(x, xt), 2)


cholesky_p = Primitive("cholesky")


@cholesky_p.def_impl
def _cholesky_impl(operand):
    x = _computable(operand)
    try:
        lower = np.linalg.cholesky(x)
    except np.linalg.LinAlgError:
        (lower,) = _per_matrix(lambda m: [np.linalg.cholesky(m)], x, [x.shape[-2:]], [x.dtype])
    return lower.astype(operand.dtype)


@cholesky_p.def_abstract_eval
def _cholesky_abstract_eval(operand: ShapedArray) -> ShapedArray:
    _check_matrices("cholesky", [operand], square=True)
    return ShapedArray(operand.shape, operand.dtype)


def cholesky(x, *, symmetrize_input: bool = True):
    """The lower Cholesky factor L of Hermitian positive-definite x = L @ L^H, batched.

    Only the lower triangle of x is read (after averaging x with x^H when
    `symmetrize_input`); a matrix that is not positive definite gives NaN.

    >>> cholesky(np.array([[4.0, 2.0], [2.0, 5.0]], np.float32))  # doctest: +SKIP
    Array([[2., 0.],
           [1., 2.]], dtype=float32)
    """
    (x,) = coerce_scalars(x)
    if symmetrize_input:
        x = _symmetrize(x)
    return cholesky_p.bind(x)


triangular_solve_p = Primitive("triangular_solve")


def _substitute(tri: np.ndarray, rhs: np.ndarray, lower: bool, unit_diagonal: bool):
    """Solve tri @ x = rhs for triangular `tri` by forward (lower) or back substitution,
    vectorized over the batch and the columns of rhs. A zero pivot gives inf/NaN."""
    size = tri.shape[-1]
    diagonal = np.diagonal(tri, 0, -2, -1)
    strict = np.tril(tri, -1) if lower else np.triu(tri, 1)
    out = np.zeros(rhs.shape, np.result_type(tri, rhs))
    with np.errstate(all="ignore"):
        for i in range(size) if lower else reversed(range(size)):
            row = rhs[..., i, :] - np.matmul(strict[..., i : i + 1, :], out)[..., 0, :]
            out[..., i, :] = row if unit_diagonal else row / diagonal[..., i, None]
    return out


@triangular_solve_p.def_impl
def _triangular_solve_impl(a, b, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal):
    tri, rhs = _computable(a), _computable(b)
    if conjugate_a:
        tri = np.conj(tri)
    if transpose_a:
        tri, lower = np.swapaxes(tri, -1, -2), not lower
    if not left_side:  # x @ T = b  <=>  T^T @ x^T = b^T
        tri, rhs, lower = np.swapaxes(tri, -1, -2), np.swapaxes(rhs, -1, -2), not lower
    out = _substitute(tri, rhs, lower, unit_diagonal)
    if not left_side:
        out = np.swapaxes(out, -1, -2)
    return out.astype(b.dtype)


@triangular_solve_p.def_abstract_eval
def _triangular_solve_abstract_eval(
    a: ShapedArray, b: ShapedArray, *, left_side, lower, transpose_a, conjugate_a, unit_diagonal
) -> ShapedArray:
    name, avals = "triangular_solve", [a, b]
    _check_matrices(name, avals)
    _check_matrices(name, [a], square=True)
    if a.ndim != b.ndim or a.shape[:-2] != b.shape[:-2]:
        raise shape_error(
            name,
            avals,
            "a and b must have the same batch dimensions (all but the last two)",
            "Broadcast them to one batch shape first.",
        )
    axis = -2 if left_side else -1
    if b.shape[axis] != a.shape[-1]:
        side = "rows" if left_side else "columns"
        raise shape_error(
            name,
            avals,
            f"b has {b.shape[axis]} {side} but a is {a.shape[-1]}x{a.shape[-1]} "
            f"(left_side={left_side})",
        )
    return ShapedArray(b.shape, b.dtype)


def triangular_solve(
    a,
    b,
    *,
    left_side: bool = False,
    lower: bool = False,
    transpose_a: bool = False,
    conjugate_a: bool = False,
    unit_diagonal: bool = False,
):
    """Solve op(a) @ x = b (`left_side`) or x @ op(a) = b for x, with a triangular.

    op(a) is a, its transpose or its conjugate (transpose); only the `lower` (or upper)
    triangle of a is read, and with `unit_diagonal` its diagonal is taken to be ones.
    a is [..., m, m]; b is [..., m, n] (left_side) or [..., n, m], with a's batch shape.

    >>> triangular_solve(l, b, left_side=True, lower=True)  # doctest: +SKIP
    """
    a, b = coerce_scalars(a, b)
    return triangular_solve_p.bind(
        a,
        b,
        left_side=bool(left_side),
        lower=bool(lower),
        transpose_a=bool(transpose_a),
        conjugate_a=bool(conjugate_a),
        unit_diagonal=bool(unit_diagonal),
    )


lu_p = Primitive("lu", multiple_results=True)


@lu_p.def_impl
def _lu_impl(operand):
    # Doolittle elimination with partial pivoting (LAPACK's getrf), one column at a time,
    # vectorized over the batch.
    *batch, rows, cols = operand.shape
    steps = min(rows, cols)
    count = math.prod(batch)
    factors = np.array(_computable(operand)).reshape(count, rows, cols)
    pivots = np.zeros((count, steps), _I32)
    permutation = np.tile(np.arange(rows, dtype=_I32), (count, 1))
    every = np.arange(count)
    with np.errstate(all="ignore"):
        for j in range(steps):
            pivot_row = j + np.argmax(np.abs(factors[:, j:, j]), axis=1)
            pivots[:, j] = pivot_row
            factors[every, j], factors[every, pivot_row] = (
                factors[every, pivot_row],
                factors[every, j].copy(),
            )
            permutation[every, j], permutation[every, pivot_row] = (
                permutation[every, pivot_row],
                permutation[every, j].copy(),
            )
            pivot = factors[:, j, j]
            # A zero pivot means the whole column below is zero: nothing to eliminate.
            factors[:, j + 1 :, j] /= np.where(pivot == 0, 1, pivot)[:, None]
            factors[:, j + 1 :, j + 1 :] -= (
                factors[:, j + 1 :, j : j + 1] * factors[:, j : j + 1, j + 1 :]
            )
    return [
        factors.reshape(operand.shape).astype(operand.dtype),
        pivots.reshape(*batch, steps),
        permutation.reshape(*batch, rows),
    ]


@lu_p.def_abstract_eval
def _lu_abstract_eval(operand: ShapedArray):
    _check_matrices("lu", [operand])
    *batch, rows, cols = operand.shape
    return [
        ShapedArray(operand.shape, operand.dtype),
        ShapedArray((*batch, min(rows, cols)), _I32),
        ShapedArray((*batch, rows), _I32),
    ]


def lu(x):
    """LU decomposition with partial pivoting: P @ x = L @ U, batched.

    Returns `(lu, pivots, permutation)`: L (unit diagonal, below it) and U (on and above
    the diagonal) packed into one array like x; `pivots[i]`, the row swapped with row i
    at step i (int32); and `permutation`, the rows of x in the order of P @ x (int32).

    >>> lu_factors, pivots, permutation = lu(x)  # doctest: +SKIP
    """
    (x,) = coerce_scalars(x)
    return tuple(lu_p.bind(x))


qr_p = Primitive("qr", multiple_results=True)


def _qr_shapes(shape, full_matrices: bool):
    *batch, rows, cols = shape
    inner = rows if full_matrices else min(rows, cols)
    return (*batch, rows, inner), (*batch, inner, cols)


@qr_p.def_impl
def _qr_impl(operand, *, full_matrices):
    q_shape, r_shape = _qr_shapes(operand.shape, full_matrices)
    x = _computable(operand)
    if x.size == 0:  # LAPACK refuses empty matrices; Q is then part of the identity
        q = np.broadcast_to(np.eye(*q_shape[-2:], dtype=x.dtype), q_shape)
        r = np.zeros(r_shape, x.dtype)
    else:
        q, r = np.linalg.qr(x, mode="complete" if full_matrices else "reduced")
    return [q.astype(operand.dtype), r.astype(operand.dtype)]


@qr_p.def_abstract_eval
def _qr_abstract_eval(operand: ShapedArray, *, full_matrices):
    _check_matrices("qr", [operand])
    q_shape, r_shape = _qr_shapes(operand.shape, full_matrices)
    return [ShapedArray(q_shape, operand.dtype), ShapedArray(r_shape, operand.dtype)]


def qr(x, *, pivoting: bool = False, full_matrices: bool = True):
    """QR decomposition x = Q @ R (Q with orthonormal columns, R upper triangular), batched.

    Returns `(q, r)`; with `full_matrices` Q is square [..., m, m], otherwise
    [..., m, min(m, n)].

    >>> q, r = qr(x, full_matrices=False)  # doctest: +SKIP
    """
    if pivoting:
        raise NotImplementedError("qr: pivoting=True is not supported by funcgrad yet.")
    (x,) = coerce_scalars(x)
    return tuple(qr_p.bind(x, full_matrices=bool(full_matrices)))


svd_p = Primitive("svd", multiple_results=True)


def _svd_avals(operand: ShapedArray, full_matrices: bool, compute_uv: bool):
    *batch, rows, cols = operand.shape
    inner = min(rows, cols)
    s = ShapedArray((*batch, inner), _real_dtype(operand.dtype))
    if not compute_uv:
        return [s]
    u_cols, vh_rows = (rows, cols) if full_matrices else (inner, inner)
    return [
        s,
        ShapedArray((*batch, rows, u_cols), operand.dtype),
        ShapedArray((*batch, vh_rows, cols), operand.dtype),
    ]


@svd_p.def_impl
def _svd_impl(operand, *, full_matrices, compute_uv):
    avals = _svd_avals(ShapedArray(operand.shape, operand.dtype), full_matrices, compute_uv)
    x = _computable(operand)
    if x.size == 0:
        outs = [np.zeros(avals[0].shape, avals[0].dtype)]
        outs += [np.broadcast_to(np.eye(*a.shape[-2:], dtype=a.dtype), a.shape) for a in avals[1:]]
        return outs

    def one(m):
        if not compute_uv:
            return [np.linalg.svd(m, compute_uv=False)]
        u, s, vh = np.linalg.svd(m, full_matrices=full_matrices)
        return [s, u, vh]

    work = [_computable(np.zeros((), a.dtype)).dtype for a in avals]
    try:
        outs = one(x)
    except np.linalg.LinAlgError:
        outs = _per_matrix(one, x, [a.shape[len(x.shape) - 2 :] for a in avals], work)
    return [out.astype(a.dtype) for out, a in zip(outs, avals)]


@svd_p.def_abstract_eval
def _svd_abstract_eval(operand: ShapedArray, *, full_matrices, compute_uv):
    _check_matrices("svd", [operand])
    return _svd_avals(operand, full_matrices, compute_uv)


def svd(x, *, full_matrices: bool = True, compute_uv: bool = True, subset_by_index=None):
    """Singular value decomposition x = U @ diag(s) @ Vh, batched; s descending (real).

    Returns `(u, s, vh)`, or just `s` without `compute_uv`. With `full_matrices` U and Vh
    are square; otherwise they have min(m, n) columns and rows.

    >>> u, s, vh = svd(x, full_matrices=False)  # doctest: +SKIP
    """
    if subset_by_index is not None:
        raise NotImplementedError("svd: subset_by_index is not supported by funcgrad yet.")
    (x,) = coerce_scalars(x)
    outs = svd_p.bind(x, full_matrices=bool(full_matrices), compute_uv=bool(compute_uv))
    if not compute_uv:
        return outs[0]
    s, u, vh = outs
    return u, s, vh


eigh_p = Primitive("eigh", multiple_results=True)


@eigh_p.def_impl
def _eigh_impl(operand, *, lower):
    x = _computable(operand)
    uplo = "L" if lower else "U"
    try:
        w, v = np.linalg.eigh(x, UPLO=uplo)
    except np.linalg.LinAlgError:
        real = _real_dtype(x.dtype)
        w, v = _per_matrix(
            lambda m: np.linalg.eigh(m, UPLO=uplo), x, [x.shape[-1:], x.shape[-2:]], [real, x.dtype]
        )
    return [v.astype(operand.dtype), w.astype(_real_dtype(operand.dtype))]


@eigh_p.def_abstract_eval
def _eigh_abstract_eval(operand: ShapedArray, *, lower):
    _check_matrices("eigh", [operand], square=True)
    return [
        ShapedArray(operand.shape, operand.dtype),
        ShapedArray(operand.shape[:-1], _real_dtype(operand.dtype)),
    ]


def eigh(x, *, lower: bool = True, symmetrize_input: bool = True, sort_eigenvalues: bool = True):
    """Eigenvectors and eigenvalues of Hermitian x, batched: returns `(v, w)` with
    x @ v = v * w, eigenvalues w (real) in ascending order.

    Only the `lower` (or upper) triangle is read, after averaging x with x^H when
    `symmetrize_input`.

    >>> v, w = eigh(x)  # doctest: +SKIP
    """
    (x,) = coerce_scalars(x)
    if symmetrize_input:
        x = _symmetrize(x)
    v, w = eigh_p.bind(x, lower=bool(lower))
    return v, w


# ---------------------------------------------------------------------------------------
# Differentiation rules: dot_general is bilinear; each transpose is another dot_general
# of the cotangent with the other operand, followed by a transpose into place.


def _dot_general_cotangent(ct, this_aval, other, this, other_dims, ct_other_axes):
    """The cotangent of one operand: contract the cotangent's axes that came from the other
    operand's free axes with those axes (batch with batch), then move axes into place."""
    this_c, this_b, this_f = this
    other_c, other_b, other_f = other_dims
    nb = len(this_b)
    result = dot_general(
        ct, other, ((tuple(ct_other_axes), tuple(other_f)), (tuple(range(nb)), tuple(other_b)))
    )
    # The result's axes: batch, this operand's free axes, then the other operand's
    # contracting axes in ascending order, each standing for its partner axis here.
    source = [*this_b, *this_f, *(this_c[list(other_c).index(a)] for a in sorted(other_c))]
    permutation = tuple(int(i) for i in np.argsort(source))
    if permutation != tuple(range(len(source))):
        result = shapes.transpose(result, permutation)
    if get_aval(result).dtype != this_aval.dtype:
        result = ew.convert_element_type(result, this_aval.dtype)
    return result


def _dot_general_transpose(ct, lhs, rhs, *, dimension_numbers, precision, preferred_element_type):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs_aval = lhs.aval if isinstance(lhs, ad.UndefinedPrimal) else get_aval(lhs)
    rhs_aval = rhs.aval if isinstance(rhs, ad.UndefinedPrimal) else get_aval(rhs)
    lf, rf = _free_axes(lhs_aval.ndim, lc, lb), _free_axes(rhs_aval.ndim, rc, rb)
    nb = len(lb)
    ct_lf = range(nb, nb + len(lf))
    ct_rf = range(nb + len(lf), nb + len(lf) + len(rf))
    out = [None, None]
    if isinstance(lhs, ad.UndefinedPrimal):
        out[0] = _dot_general_cotangent(ct, lhs_aval, rhs, (lc, lb, lf), (rc, rb, rf), ct_rf)
    if isinstance(rhs, ad.UndefinedPrimal):
        out[1] = _dot_general_cotangent(ct, rhs_aval, lhs, (rc, rb, rf), (lc, lb, lf), ct_lf)
    return out


def _dot_general_jvp(primals, tangents, **params):
    lhs, rhs = primals
    t_lhs, t_rhs = tangents
    out = dot_general_p.bind(lhs, rhs, **params)
    total = ad.Zero(get_aval(out))
    if type(t_lhs) is not ad.Zero:
        total = ad.add_tangents(total, dot_general_p.bind(t_lhs, rhs, **params))
    if type(t_rhs) is not ad.Zero:
        total = ad.add_tangents(total, dot_general_p.bind(lhs, t_rhs, **params))
    return out, total


ad.primitive_jvps[dot_general_p] = _dot_general_jvp
ad.primitive_transposes[dot_general_p] = _dot_general_transpose


# The factorizations' rules differentiate A = (factors) and solve for the factors'
# tangents with triangular solves and products, so every tangent is a linear function of
# dA built from primitives that are themselves differentiable: reverse mode transposes
# them and higher orders differentiate them again. Inputs that only one triangle of is
# read (cholesky, eigh) get their tangent symmetrized first, as in JAX: the derivative
# along Hermitian perturbations. U and V of svd and the eigenvectors of eigh are
# differentiable only where the singular values (eigenvalues) are distinct.


def _matmul(x, y):
    """Batched x @ y over the last two axes (both operands share the batch axes)."""
    ndim = get_aval(x).ndim
    batch = tuple(range(ndim - 2))
    return dot_general(x, y, (((ndim - 1,), (ndim - 2,)), (batch, batch)))


def _index_grids(shape):
    """(row index, column index) int32 grids of `shape`, whose last two axes are a matrix."""
    ndim = len(shape)
    rows = shapes.broadcasted_iota(np.int32, shape, ndim - 2)
    return rows, shapes.broadcasted_iota(np.int32, shape, ndim - 1)


def _triangle_mask(shape, dtype, *, lower: bool, strict: bool):
    """1 on the lower (upper) triangle of each matrix (without the diagonal if
    `strict`), 0 elsewhere."""
    rows, cols = _index_grids(shape)
    if lower:
        inside = ew.gt(rows, cols) if strict else ew.ge(rows, cols)
    else:
        inside = ew.lt(rows, cols) if strict else ew.le(rows, cols)
    return ew.convert_element_type(inside, dtype)


def _identity_like(shape, dtype):
    rows, cols = _index_grids(shape)
    return ew.convert_element_type(ew.eq(rows, cols), dtype)


def _diagonal_part(x):
    """The diagonals of a batch of square matrices, shape [..., n]."""
    aval = get_aval(x)
    return reductions.reduce_sum(
        ew.mul(x, _identity_like(aval.shape, aval.dtype)), (aval.ndim - 1,)
    )


def _spread(vector, shape, axis: int):
    """A vector [..., n] repeated along the other matrix axis: its entries run along
    `axis` (-2: entry i fills row i; -1: entry j fills column j)."""
    ndim = len(shape)
    return shapes.broadcast_in_dim(vector, shape, (*range(ndim - 2), ndim + axis))


def _inverse_gaps(values, dtype):
    """F with F[i, j] = 1 / (values[j] - values[i]) off the diagonal and 0 on it."""
    n = get_aval(values).shape[-1]
    shape = (*get_aval(values).shape[:-1], n, n)
    gaps = ew.sub(_spread(values, shape, -1), _spread(values, shape, -2))
    eye = _identity_like(shape, dtype)
    return ew.div(ew.sub(1, eye), ew.add(gaps, eye))


def _matrix_slice(x, rows: int, cols: int):
    """The leading rows x cols block of each matrix."""
    shape = get_aval(x).shape
    return shapes.slice(x, (0,) * len(shape), (*shape[:-2], rows, cols))


def _pad_matrix(x, rows: int, cols: int):
    """Each matrix padded with zeros at the bottom and right to rows x cols."""
    shape = get_aval(x).shape
    config = [(0, 0, 0)] * (len(shape) - 2)
    config += [(0, rows - shape[-2], 0), (0, cols - shape[-1], 0)]
    return shapes.pad(x, scalar_array(0, get_aval(x).dtype, False), config)


def _permute_rows(x, permutation):
    """P @ x: row i of the result is row permutation[i] of x (a one-hot product, linear
    in x)."""
    shape = get_aval(x).shape
    n = shape[-2]
    one_hot_shape = (*shape[:-2], n, n)
    sources = _spread(permutation, one_hot_shape, -2)
    _, cols = _index_grids(one_hot_shape)
    one_hot = ew.convert_element_type(ew.eq(sources, cols), get_aval(x).dtype)
    return _matmul(one_hot, x)


def _real_only(name: str, aval: ShapedArray) -> None:
    if dtypes.dtype_kind(aval.dtype) == "c":
        raise NotImplementedError(
            f"differentiation of {name} is implemented for real matrices only, got "
            f"{aval.str_short()}"
        )


def _triangular_solve_jvp(primals, tangents, **params):
    # op(T) x = b  =>  op(T) dx = db - op(dT) x (left side; on the right, x op(dT)),
    # with dT the part of da that the solve reads: its triangle, less the diagonal
    # when the diagonal is taken to be ones.
    a, b = primals
    a_dot, b_dot = tangents
    x = triangular_solve_p.bind(a, b, **params)
    rhs = b_dot
    if type(a_dot) is not ad.Zero:
        aval = get_aval(a_dot)
        mask = _triangle_mask(
            aval.shape, aval.dtype, lower=params["lower"], strict=params["unit_diagonal"]
        )
        t_dot = ew.mul(a_dot, mask)
        if params["conjugate_a"]:
            t_dot = ew.conj(t_dot)
        if params["transpose_a"]:
            t_dot = _matrix_transpose(t_dot)
        change = _matmul(t_dot, x) if params["left_side"] else _matmul(x, t_dot)
        rhs = ew.neg(change) if type(b_dot) is ad.Zero else ew.sub(b_dot, change)
    return x, triangular_solve_p.bind(a, rhs, **params)


def _triangular_solve_transpose(ct, a, b, *, transpose_a, **params):
    # b -> op(T)^-1 b is linear; its transpose multiplies by op(T)^-T: flip transpose_a.
    if isinstance(a, ad.UndefinedPrimal):
        raise ValueError("triangular_solve is linear in b only, not in the matrix a")
    return [None, triangular_solve_p.bind(a, ct, transpose_a=not transpose_a, **params)]


def _cholesky_jvp(primals, tangents):
    # A = L L^H  =>  L^-1 dA L^-H = L^-1 dL + (L^-1 dL)^H, whose lower triangle with the
    # diagonal halved is L^-1 dL (lower triangular).
    (a,), (a_dot,) = primals, tangents
    factor = cholesky_p.bind(a)
    aval = get_aval(factor)
    is_complex = dtypes.dtype_kind(aval.dtype) == "c"
    left = triangular_solve(factor, _symmetrize(a_dot), left_side=True, lower=True)
    middle = triangular_solve(
        factor, left, left_side=False, lower=True, transpose_a=True, conjugate_a=is_complex
    )
    halves = ew.sub(
        _triangle_mask(aval.shape, aval.dtype, lower=True, strict=False),
        ew.mul(_identity_like(aval.shape, aval.dtype), 0.5),
    )
    return factor, _matmul(factor, ew.mul(middle, halves))


def _lu_jvp(primals, tangents):
    # P A = L U  =>  L^-1 P dA U^-1 = L^-1 dL + dU U^-1: strictly lower plus upper. For
    # an m x n matrix L is padded to m x m and U to n x n with identity blocks, which
    # makes the same formula give the rectangular factors' tangents.
    (a,), (a_dot,) = primals, tangents
    packed, pivots, permutation = lu_p.bind(a)
    aval = get_aval(packed)
    *batch, m, n = aval.shape
    square_l = _pad_matrix(packed, m, m) if m > n else _matrix_slice(packed, m, m)
    l_shape, u_shape = (*batch, m, m), (*batch, n, n)
    l_full = ew.add(
        ew.mul(square_l, _triangle_mask(l_shape, aval.dtype, lower=True, strict=True)),
        _identity_like(l_shape, aval.dtype),
    )
    square_u = _pad_matrix(packed, n, n) if n > m else _matrix_slice(packed, n, n)
    u_full = ew.mul(square_u, _triangle_mask(u_shape, aval.dtype, lower=False, strict=False))
    if n > m:
        # Ones on the diagonal of the padding rows (U's rows m..n-1).
        rows, _ = _index_grids(u_shape)
        below = ew.convert_element_type(ew.ge(rows, m), aval.dtype)
        u_full = ew.add(u_full, ew.mul(_identity_like(u_shape, aval.dtype), below))
    x = triangular_solve(
        l_full, _permute_rows(a_dot, permutation), left_side=True, lower=True, unit_diagonal=True
    )
    x = triangular_solve(u_full, x, left_side=False, lower=False)
    l_dot = _matmul(
        l_full, ew.mul(x, _triangle_mask(aval.shape, aval.dtype, lower=True, strict=True))
    )
    u_dot = _matmul(
        ew.mul(x, _triangle_mask(aval.shape, aval.dtype, lower=False, strict=False)), u_full
    )
    zeros = [ad.Zero(get_aval(pivots)), ad.Zero(get_aval(permutation))]
    return [packed, pivots, permutation], [ew.add(l_dot, u_dot), *zeros]


def _qr_jvp(primals, tangents, *, full_matrices):
    # A = Q R (A's first k columns, k = min(m, n), for a wide A): with C = Q^T dA R^-1,
    # Q^T dQ = Omega is antisymmetric and dR R^-1 = C - Omega upper triangular, so Omega
    # is C's strictly lower part minus its transpose; then dR = (C - Omega) R and
    # dQ = dA R^-1 - Q (C - Omega). A wide A's remaining columns follow from
    # A2 = Q R2: dR2 = Q^T (dA2 - dQ R2).
    (a,), (a_dot,) = primals, tangents
    aval = get_aval(a)
    _real_only("qr", aval)
    *batch, m, n = aval.shape
    if full_matrices and m > n:
        raise NotImplementedError(
            "differentiation of qr with full_matrices=True is implemented for m <= n only "
            f"(the extra columns of Q are not unique), got {aval.str_short()}; use "
            "full_matrices=False (mode='reduced')"
        )
    q, r = qr_p.bind(a, full_matrices=full_matrices)
    k = min(m, n)
    r_square = _matrix_slice(r, k, k)
    a_dot_left = _matrix_slice(a_dot, m, k)
    ratio = triangular_solve(r_square, a_dot_left, left_side=False, lower=False)
    c = _matmul(_matrix_transpose(q), ratio)
    strict_lower = ew.mul(c, _triangle_mask((*batch, k, k), aval.dtype, lower=True, strict=True))
    upper = ew.add(ew.sub(c, strict_lower), _matrix_transpose(strict_lower))
    q_dot = ew.sub(ratio, _matmul(q, upper))
    r_dot = _matmul(upper, r_square)
    if n > m:
        start = (*(0,) * len(batch), 0, m)
        a_dot_rest = shapes.slice(a_dot, start, aval.shape)
        r_rest = shapes.slice(r, start, get_aval(r).shape)
        r_dot_rest = _matmul(_matrix_transpose(q), ew.sub(a_dot_rest, _matmul(q_dot, r_rest)))
        r_dot = shapes.concatenate([r_dot, r_dot_rest], aval.ndim - 1)
    return [q, r], [q_dot, r_dot]


def _svd_jvp(primals, tangents, *, full_matrices, compute_uv):
    # A = U S V^T  =>  dP = U^T dA V = U^T dU S + dS + S dV^T V, whose diagonal is dS and
    # whose off-diagonal entries give the antisymmetric U^T dU and V^T dV through
    # F[i, j] = 1 / (s_j^2 - s_i^2). A tall (wide) A adds the part of dA V S^-1
    # (dA^T U S^-1) outside the span of U (V).
    (a,), (a_dot,) = primals, tangents
    aval = get_aval(a)
    _real_only("svd", aval)
    *batch, m, n = aval.shape
    if compute_uv and full_matrices and m != n:
        raise NotImplementedError(
            "differentiation of svd with full_matrices=True is implemented for square "
            f"matrices only (the extra singular vectors are not unique), got "
            f"{aval.str_short()}; use full_matrices=False"
        )
    s, u, vh = svd_p.bind(a, full_matrices=False, compute_uv=True)
    v = _matrix_transpose(vh)
    projected = _matmul(_matmul(_matrix_transpose(u), a_dot), v)
    s_dot = _diagonal_part(projected)
    if not compute_uv:
        return [s], [s_dot]
    k = min(m, n)
    shape = (*batch, k, k)
    s_rows, s_cols = _spread(s, shape, -2), _spread(s, shape, -1)
    gaps = _inverse_gaps(ew.mul(s, s), aval.dtype)
    projected_t = _matrix_transpose(projected)
    omega_u = ew.mul(gaps, ew.add(ew.mul(projected, s_cols), ew.mul(s_rows, projected_t)))
    omega_v = ew.mul(gaps, ew.add(ew.mul(s_rows, projected), ew.mul(projected_t, s_cols)))
    u_dot, v_dot = _matmul(u, omega_u), _matmul(v, omega_v)
    if m > n:
        outside = ew.sub(_matmul(a_dot, v), _matmul(u, projected))
        u_dot = ew.add(u_dot, ew.div(outside, _spread(s, (*batch, m, k), -1)))
    if n > m:
        outside = ew.sub(_matmul(_matrix_transpose(a_dot), u), _matmul(v, projected_t))
        v_dot = ew.add(v_dot, ew.div(outside, _spread(s, (*batch, n, k), -1)))
    return [s, u, vh], [s_dot, u_dot, _matrix_transpose(v_dot)]


def _eigh_jvp(primals, tangents, *, lower):
    # A V = V W  =>  with P = V^T dA V: dW = diag(P) and V^T dV = F * P, where
    # F[i, j] = 1 / (w_j - w_i) off the diagonal.
    (a,), (a_dot,) = primals, tangents
    _real_only("eigh", get_aval(a))
    v, w = eigh_p.bind(a, lower=lower)
    projected = _matmul(_matmul(_matrix_transpose(v), _symmetrize(a_dot)), v)
    v_dot = _matmul(v, ew.mul(_inverse_gaps(w, get_aval(v).dtype), projected))
    return [v, w], [v_dot, _diagonal_part(projected)]


ad.primitive_jvps[triangular_solve_p] = _triangular_solve_jvp
ad.primitive_transposes[triangular_solve_p] = _triangular_solve_transpose
ad.primitive_jvps[cholesky_p] = _cholesky_jvp
ad.primitive_jvps[lu_p] = _lu_jvp
ad.primitive_jvps[qr_p] = _qr_jvp
ad.primitive_jvps[svd_p] = _svd_jvp
ad.primitive_jvps[eigh_p] = _eigh_jvp


# ---------------------------------------------------------------------------------------
# Batching: dot_general takes a batched operand's batch axis as one more batch dimension
# (both batched) or as one more free dimension (one batched); the decompositions are
# already batched over leading axes.


def _dot_general_batch(
    axis_size, values, dims, *, dimension_numbers, precision, preferred_element_type
):
    (lc, rc), (lb, rb) = dimension_numbers
    lhs, rhs = values
    lhs_dim, rhs_dim = dims
    params = dict(precision=precision, preferred_element_type=preferred_element_type)
    shift = lambda axes: tuple(a + 1 for a in axes)  # noqa: E731
    if lhs_dim is not None and rhs_dim is not None:
        lhs = batching.move_axis(lhs, lhs_dim, 0, axis_size)
        rhs = batching.move_axis(rhs, rhs_dim, 0, axis_size)
        numbers = ((shift(lc), shift(rc)), ((0, *shift(lb)), (0, *shift(rb))))
        return dot_general_p.bind(lhs, rhs, dimension_numbers=numbers, **params), 0
    if lhs_dim is not None:
        lhs = batching.move_axis(lhs, lhs_dim, 0, axis_size)
        numbers = ((shift(lc), rc), (shift(lb), rb))
        # The batch axis is lhs's first free axis: it lands right after the batch dims.
        return dot_general_p.bind(lhs, rhs, dimension_numbers=numbers, **params), len(lb)
    rhs = batching.move_axis(rhs, rhs_dim, 0, axis_size)
    numbers = ((lc, shift(rc)), (lb, shift(rb)))
    lhs_free = get_aval(lhs).ndim - len(lc) - len(lb)
    return dot_general_p.bind(lhs, rhs, dimension_numbers=numbers, **params), len(lb) + lhs_free


batching.primitive_batchers[dot_general_p] = _dot_general_batch


def _batch_in_front(primitive):
    """A factorization of the last two axes: the batch axis goes in front, as one more
    leading batch axis (operands without it are broadcast to carry it too)."""

    def rule(axis_size, values, dims, **params):
        operands = [batching.move_axis(v, d, 0, axis_size) for v, d in zip(values, dims)]
        out = primitive.bind(*operands, **params)
        if primitive.multiple_results:
            return out, [0] * len(out)
        return out, 0

    return rule


for _factorization in (cholesky_p, triangular_solve_p, lu_p, qr_p, svd_p, eigh_p):
    batching.primitive_batchers[_factorization] = _batch_in_front(_factorization)
