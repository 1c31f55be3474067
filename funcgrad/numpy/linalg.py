"""funcgrad.numpy.linalg: NumPy's linear algebra as jax.numpy.linalg has it.

Everything is built on the factorization primitives of funcgrad.lax.linalg (cholesky,
triangular_solve, lu, qr, svd, eigh) and dot_general: solve is an LU factorization and
two triangular solves, inv solves against the identity, det and slogdet read the LU
diagonal, norms reduce |x| or the singular values. Functions work on batches of matrices
stacked on the leading axes, take integer inputs as the default float type, and like
JAX they do not raise on singular or indefinite matrices: the results hold inf or NaN.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.lax import elementwise as ew
from funcgrad.lax import linalg as lax_linalg
from funcgrad.lax import reductions as red
from funcgrad.lax import shapes as lax_shapes
from funcgrad.numpy.creation import asarray
from funcgrad.numpy.einsum import einsum
from funcgrad.numpy.products import matmul
from funcgrad.numpy.promotion import broadcast_shapes, broadcast_to_shape, promote_dtypes

__all__ = [
    "cholesky",
    "det",
    "eigh",
    "eigvalsh",
    "inv",
    "lstsq",
    "matrix_norm",
    "matrix_power",
    "matrix_rank",
    "matrix_transpose",
    "multi_dot",
    "norm",
    "pinv",
    "qr",
    "slogdet",
    "solve",
    "svd",
    "svdvals",
    "vector_norm",
    "EighResult",
    "QRResult",
    "SlogdetResult",
    "SVDResult",
]


class EighResult(NamedTuple):
    eigenvalues: object
    eigenvectors: object


class QRResult(NamedTuple):
    Q: object
    R: object


class SlogdetResult(NamedTuple):
    sign: object
    logabsdet: object


class SVDResult(NamedTuple):
    U: object
    S: object
    Vh: object


# ---------------------------------------------------------------------------------------
# Operand checks and small pieces


def _inexact(name: str, *arrays):
    """The arrays at their common inexact dtype (integers and bools become float32)."""
    return promote_dtypes(*(asarray(a) for a in arrays), inexact=True)


def _matrices(name: str, a, *, square: bool = True):
    (a,) = _inexact(name, a)
    shape = get_aval(a).shape
    if len(shape) < 2:
        raise ValueError(
            f"{name}: the argument must have at least 2 dimensions, got shape {shape} "
            f"(at {user_location()}). Pass a matrix, or a batch of matrices on leading axes."
        )
    if square and shape[-1] != shape[-2]:
        raise ValueError(
            f"{name}: the last two dimensions must be equal (square matrices), got shape "
            f"{shape} (at {user_location()})."
        )
    return a


def _real_dtype(dtype) -> np.dtype:
    return np.zeros((), dtype).real.dtype


def _is_complex(x) -> bool:
    return dtypes.dtype_kind(get_aval(x).dtype) == "c"


def _transpose_last(x):
    ndim = get_aval(x).ndim
    return lax_shapes.transpose(x, (*range(ndim - 2), ndim - 1, ndim - 2))


def _adjoint(x):
    x = _transpose_last(x)
    return ew.conj(x) if _is_complex(x) else x


def _identity(n: int, dtype, batch=()):
    eye = ew.convert_element_type(
        ew.eq(
            lax_shapes.broadcasted_iota(np.int32, (n, n), 0),
            lax_shapes.broadcasted_iota(np.int32, (n, n), 1),
        ),
        dtype,
    )
    return broadcast_to_shape(eye, (*batch, n, n)) if batch else eye


def _abs(x):
    return ew.abs(x)


def _max(x, axes):
    return red.reduce_max(x, axes)


def _min(x, axes):
    return ew.neg(red.reduce_max(ew.neg(x), axes))


def _sum(x, axes):
    return red.reduce_sum(x, axes)


def _full_like(x, value):
    aval = get_aval(x)
    return lax_shapes.broadcast_in_dim(asarray(value, aval.dtype), aval.shape, ())


def _reciprocal_where(keep, s, dtype):
    """1 / s where `keep`, else 0 (without dividing by the dropped values), as `dtype`."""
    safe = ew.select(keep, s, _full_like(s, 1))
    inverse = ew.select(keep, ew.div(1, safe), _full_like(s, 0))
    return ew.convert_element_type(inverse, dtype)


def _diagonal(x):
    return einsum("...ii->...i", x)


def _count(mask, axes):
    return red.reduce_sum(ew.convert_element_type(mask, np.int32), axes)


# ---------------------------------------------------------------------------------------
# Factorizations


@api_boundary
def cholesky(a, *, upper: bool = False):
    """The Cholesky factor of Hermitian positive-definite matrices: L with a = L @ L^H
    (or U with a = U^H @ U when `upper`). A matrix that is not positive definite gives NaN.

    >>> cholesky(jnp.array([[4.0, 2.0], [2.0, 5.0]]))  # doctest: +SKIP
    Array([[2., 0.],
           [1., 2.]], dtype=float32)
    """
    a = _matrices("cholesky", a)
    lower = lax_linalg.cholesky(a, symmetrize_input=False)
    return _adjoint(lower) if upper else lower


@api_boundary
def qr(a, mode: str = "reduced"):
    """QR decomposition a = Q @ R of (batched) matrices.

    `mode` 'reduced' gives Q [..., m, k], R [..., k, n] with k = min(m, n); 'complete'
    gives a square Q; 'r' gives R alone.

    >>> q, r = qr(jnp.ones((3, 2)))  # doctest: +SKIP
    """
    if mode not in ("reduced", "complete", "r"):
        raise ValueError(
            f"qr: unsupported mode {mode!r} (at {user_location()}); use 'reduced', "
            "'complete' or 'r'."
        )
    a = _matrices("qr", a, square=False)
    q, r = lax_linalg.qr(a, full_matrices=mode == "complete")
    return r if mode == "r" else QRResult(q, r)


@api_boundary
def svd(a, full_matrices: bool = True, compute_uv: bool = True, hermitian: bool = False):
    """Singular value decomposition a = U @ diag(S) @ Vh; S descending and real.

    Returns `SVDResult(U, S, Vh)`, or S alone without `compute_uv`.

    >>> u, s, vh = svd(jnp.ones((3, 2)), full_matrices=False)  # doctest: +SKIP
    """
    a = _matrices("svd", a, square=False)
    out = lax_linalg.svd(a, full_matrices=full_matrices, compute_uv=compute_uv)
    return SVDResult(*out) if compute_uv else out


@api_boundary
def svdvals(x):
    """The singular values of (batched) matrices, in descending order."""
    return lax_linalg.svd(_matrices("svdvals", x, square=False), compute_uv=False)


def _lower(name: str, UPLO) -> bool:
    if UPLO not in (None, "L", "U"):
        raise ValueError(f"{name}: UPLO must be 'L' or 'U', got {UPLO!r} (at {user_location()}).")
    return UPLO != "U"


@api_boundary
def eigh(a, UPLO=None, symmetrize_input: bool = True):
    """Eigenvalues (ascending, real) and eigenvectors of Hermitian matrices.

    Returns `EighResult(eigenvalues, eigenvectors)` with a @ v = v * w. Only the lower
    (`UPLO='L'`, the default) or upper triangle is read unless `symmetrize_input`.

    >>> w, v = eigh(jnp.array([[2.0, 1.0], [1.0, 2.0]]))  # doctest: +SKIP
    """
    lower = _lower("eigh", UPLO)
    a = _matrices("eigh", a)
    v, w = lax_linalg.eigh(a, lower=lower, symmetrize_input=symmetrize_input)
    return EighResult(w, v)


@api_boundary
def eigvalsh(a, UPLO="L", *, symmetrize_input: bool = True):
    """The eigenvalues of Hermitian matrices, ascending."""
    lower = _lower("eigvalsh", UPLO)
    a = _matrices("eigvalsh", a)
    return lax_linalg.eigh(a, lower=lower, symmetrize_input=symmetrize_input)[1]


# ---------------------------------------------------------------------------------------
# Solving and inverting


def _permute_rows(b, permutation):
    """P @ b for the permutation `permutation` (row i of the result is row
    permutation[i] of b), as a product with the one-hot matrix of the permutation."""
    shape = get_aval(b).shape
    n = shape[-2]
    batch = shape[:-2]
    rows = lax_shapes.broadcast_in_dim(permutation, (*batch, n, n), (*range(len(batch) + 1),))
    columns = lax_shapes.broadcasted_iota(np.int32, (*batch, n, n), len(batch) + 1)
    one_hot = ew.convert_element_type(ew.eq(rows, columns), get_aval(b).dtype)
    return matmul(one_hot, b)


def _lu_solve(lu_factors, permutation, b):
    """Solve a @ x = b from a's LU factors; a and b share batch dimensions."""
    y = _permute_rows(b, permutation)
    y = lax_linalg.triangular_solve(lu_factors, y, left_side=True, lower=True, unit_diagonal=True)
    return lax_linalg.triangular_solve(lu_factors, y, left_side=True, lower=False)


@api_boundary
def solve(a, b):
    """Solve a @ x = b for x; a is [..., n, n], b is [n] (one vector) or [..., n, k],
    with the batch dimensions broadcasting (NumPy 2's rule).

    >>> solve(jnp.array([[2.0, 0.0], [0.0, 4.0]]), jnp.array([2.0, 2.0]))  # doctest: +SKIP
    Array([1. , 0.5], dtype=float32)
    """
    a = _matrices("solve", a)
    a, b = _inexact("solve", a, b)
    a_shape, b_shape = get_aval(a).shape, get_aval(b).shape
    given_shape = b_shape
    vector = len(b_shape) == 1
    if vector:
        b = lax_shapes.reshape(b, (b_shape[0], 1))
        b_shape = get_aval(b).shape
    if len(b_shape) < 2 or b_shape[-2] != a_shape[-1]:
        raise ValueError(
            f"solve: a has shape {a_shape} but b has shape {given_shape}; b needs "
            f"{a_shape[-1]} rows, as [{a_shape[-1]}] or [..., {a_shape[-1]}, k] "
            f"(at {user_location()})."
        )
    batch = broadcast_shapes("solve", a_shape[:-2], b_shape[:-2])
    a = broadcast_to_shape(a, (*batch, *a_shape[-2:]))
    b = broadcast_to_shape(b, (*batch, *b_shape[-2:]))
    lu_factors, _, permutation = lax_linalg.lu(a)
    x = _lu_solve(lu_factors, permutation, b)
    return lax_shapes.reshape(x, (*batch, a_shape[-1])) if vector else x


@api_boundary
def inv(a):
    """The inverse of (batched) square matrices; singular ones give inf/NaN.

    >>> inv(jnp.array([[2.0, 0.0], [0.0, 4.0]]))  # doctest: +SKIP
    Array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    a = _matrices("inv", a)
    shape = get_aval(a).shape
    lu_factors, _, permutation = lax_linalg.lu(a)
    eye = _identity(shape[-1], get_aval(a).dtype, shape[:-2])
    return _lu_solve(lu_factors, permutation, eye)


@api_boundary
def slogdet(a, *, method=None):
    """Sign and natural log of the absolute value of the determinant, for real matrices:
    `SlogdetResult(sign, logabsdet)`; a singular matrix gives sign 0, logabsdet -inf.

    >>> slogdet(jnp.array([[2.0, 0.0], [0.0, -3.0]]))  # doctest: +SKIP
    SlogdetResult(sign=Array(-1., dtype=float32), logabsdet=Array(1.7917595, dtype=float32))
    """
    if method not in (None, "lu"):
        raise ValueError(f"slogdet: method must be 'lu', got {method!r} (at {user_location()}).")
    a = _matrices("slogdet", a)
    if _is_complex(a):
        raise NotImplementedError(
            f"slogdet: complex matrices are not supported yet (at {user_location()})."
        )
    lu_factors, pivots, _ = lax_linalg.lu(a)
    diagonal = _diagonal(lu_factors)
    last = get_aval(diagonal).ndim - 1
    logabsdet = _sum(ew.log(_abs(diagonal)), (last,))
    # Each row swap and each negative pivot flips the sign.
    steps = lax_shapes.broadcasted_iota(np.int32, get_aval(pivots).shape, last)
    flips = ew.add(_count(ew.ne(pivots, steps), (last,)), _count(ew.lt(diagonal, 0), (last,)))
    odd = ew.sub(flips, ew.mul(ew.div(flips, 2), 2))
    dtype = get_aval(a).dtype
    sign = ew.convert_element_type(ew.sub(1, ew.mul(odd, 2)), dtype)
    singular = ew.gt(_count(ew.eq(diagonal, 0), (last,)), 0)
    sign = ew.select(singular, ew.mul(sign, 0), sign)
    return SlogdetResult(sign, logabsdet)


@api_boundary
def det(a):
    """The determinant of (batched) square real matrices (closed forms for 2x2 and 3x3,
    sign * exp(logabsdet) from an LU factorization otherwise, as in JAX).

    >>> det(jnp.array([[1.0, 2.0], [3.0, 4.0]]))  # doctest: +SKIP
    Array(-2., dtype=float32)
    """
    a = _matrices("det", a)
    n = get_aval(a).shape[-1]
    if n in (2, 3):
        return _det_closed_form(a, n)
    sign, logabsdet = slogdet(a)
    return ew.mul(sign, ew.exp(logabsdet))


def _entry(a, i, j):
    shape = get_aval(a).shape
    start = [0] * len(shape)
    start[-2:] = [i, j]
    piece = lax_shapes.slice(a, start, (*shape[:-2], i + 1, j + 1))
    return lax_shapes.reshape(piece, shape[:-2])


def _det_closed_form(a, n):
    m = [[_entry(a, i, j) for j in range(n)] for i in range(n)]
    if n == 2:
        return ew.sub(ew.mul(m[0][0], m[1][1]), ew.mul(m[0][1], m[1][0]))
    terms = []
    for j in range(3):
        minor = ew.sub(
            ew.mul(m[1][(j + 1) % 3], m[2][(j + 2) % 3]),
            ew.mul(m[1][(j + 2) % 3], m[2][(j + 1) % 3]),
        )
        terms.append(ew.mul(m[0][j], minor))
    return ew.add(ew.add(terms[0], terms[1]), terms[2])


@api_boundary
def pinv(a, rtol=None, hermitian: bool = False):
    """The Moore-Penrose pseudo-inverse from the SVD; singular values at or below
    `rtol` times the largest (default 10 * max(m, n) * eps) count as zero.

    >>> pinv(jnp.array([[1.0, 0.0], [0.0, 0.0]]))  # doctest: +SKIP
    Array([[1., 0.],
           [0., 0.]], dtype=float32)
    """
    a = _matrices("pinv", a, square=False)
    dtype = get_aval(a).dtype
    *batch, m, n = get_aval(a).shape
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    if rtol is None:
        rtol = 10.0 * max(m, n) * float(np.finfo(_real_dtype(dtype)).eps)
    k = min(m, n)
    if k:
        largest = ew.mul(_max(s, (len(batch),)), asarray(rtol, _real_dtype(dtype)))
        cutoff = lax_shapes.broadcast_in_dim(largest, (*batch, k), tuple(range(len(batch))))
    else:
        cutoff = s
    inverse = _reciprocal_where(ew.gt(s, cutoff), s, dtype)
    columns = lax_shapes.broadcast_in_dim(
        inverse, (*batch, n, k), (*range(len(batch)), len(batch) + 1)
    )
    return matmul(ew.mul(_adjoint(vh), columns), _adjoint(u))


@api_boundary
def matrix_rank(M, rtol=None):
    """The number of singular values above `rtol` times the largest (default
    max(m, n) * eps); for a vector, whether any entry is nonzero.

    >>> matrix_rank(jnp.array([[1.0, 2.0], [2.0, 4.0]]))  # doctest: +SKIP
    Array(1, dtype=int32)
    """
    (M,) = _inexact("matrix_rank", M)
    shape = get_aval(M).shape
    if len(shape) < 2:  # a vector has rank 1 unless it is all zeros
        nonzero = _count(ew.ne(M, 0), tuple(range(len(shape))))
        return ew.convert_element_type(ew.gt(nonzero, 0), np.int32)
    *batch, m, n = shape
    s = lax_linalg.svd(M, compute_uv=False)
    real = _real_dtype(get_aval(M).dtype)
    if rtol is None:
        rtol = max(m, n) * float(np.finfo(real).eps)
    k = min(m, n)
    if k == 0:
        return _count(ew.ne(s, 0), (len(batch),))
    tol = ew.mul(_max(s, (len(batch),)), asarray(rtol, real))
    tol = lax_shapes.broadcast_in_dim(tol, (*batch, k), tuple(range(len(batch))))
    return _count(ew.gt(s, tol), (len(batch),))


@api_boundary
def matrix_power(a, n: int):
    """a raised to the integer power n by repeated squaring (n < 0 inverts first, n = 0
    gives the identity).

    >>> matrix_power(jnp.array([[1.0, 1.0], [0.0, 1.0]]), 3)  # doctest: +SKIP
    Array([[1., 3.],
           [0., 1.]], dtype=float32)
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool):
        raise TypeError(
            f"matrix_power: the exponent must be an integer, got {n!r} (at {user_location()})."
        )
    a = asarray(a)
    shape = get_aval(a).shape
    if len(shape) < 2 or shape[-1] != shape[-2]:
        raise ValueError(
            f"matrix_power: the argument must be a (batch of) square matrices, got shape "
            f"{shape} (at {user_location()})."
        )
    if n == 0:
        return _identity(shape[-1], get_aval(a).dtype, shape[:-2])
    if n < 0:
        a, n = inv(a), -n
    result = None
    power = a
    while n:
        if n & 1:
            result = power if result is None else matmul(result, power)
        n >>= 1
        if n:
            power = matmul(power, power)
    return result


def _chain_order(dims):
    """The cheapest parenthesization of a matrix chain with shapes dims[i] x dims[i+1]
    (the classic dynamic program); split[i][j] is where chain i..j splits."""
    count = len(dims) - 1
    cost = [[0] * count for _ in range(count)]
    split = [[0] * count for _ in range(count)]
    for length in range(1, count):
        for i in range(count - length):
            j = i + length
            cost[i][j] = None
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if cost[i][j] is None or c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


@api_boundary
def multi_dot(arrays, *, precision=None):
    """The product of a chain of matrices, multiplied in the cheapest order. The first
    array may be a vector (a row) and the last a vector (a column).

    >>> multi_dot([jnp.ones((10, 100)), jnp.ones((100, 5)), jnp.ones(5)]).shape  # doctest: +SKIP
    (10,)
    """
    arrays = [asarray(x) for x in arrays]
    if len(arrays) < 2:
        raise ValueError(
            f"multi_dot: expected at least two arrays, got {len(arrays)} (at {user_location()})."
        )
    shapes = [get_aval(x).shape for x in arrays]
    first_vector, last_vector = len(shapes[0]) == 1, len(shapes[-1]) == 1
    if first_vector:
        arrays[0] = lax_shapes.reshape(arrays[0], (1, shapes[0][0]))
    if last_vector:
        arrays[-1] = lax_shapes.reshape(arrays[-1], (shapes[-1][0], 1))
    shapes = [get_aval(x).shape for x in arrays]
    for i, shape in enumerate(shapes):
        if len(shape) != 2:
            raise ValueError(
                f"multi_dot: array {i} has shape {shape}; only the first and last may be "
                f"vectors, the others must be matrices (at {user_location()})."
            )
    for i in range(len(shapes) - 1):
        if shapes[i][1] != shapes[i + 1][0]:
            raise ValueError(
                f"multi_dot: shapes {shapes[i]} (array {i}) and {shapes[i + 1]} (array "
                f"{i + 1}) are not aligned: {shapes[i][1]} != {shapes[i + 1][0]} "
                f"(at {user_location()})."
            )
    arrays = promote_dtypes(*arrays)
    split = _chain_order([shapes[0][0]] + [s[1] for s in shapes])

    def product(i, j):
        if i == j:
            return arrays[i]
        k = split[i][j]
        return matmul(product(i, k), product(k + 1, j))

    out = product(0, len(arrays) - 1)
    out_shape = get_aval(out).shape
    keep = [n for n, drop in zip(out_shape, (first_vector, last_vector)) if not drop]
    return lax_shapes.reshape(out, keep) if len(keep) != 2 else out


@api_boundary
def lstsq(a, b, rcond=None, *, numpy_resid: bool = False):
    """The least-squares solution x of a @ x = b (a is [m, n], b is [m] or [m, k]), from
    the SVD. Returns (x, residuals, rank, singular values); residuals are the squared
    norms of the columns of b - a @ x (NumPy leaves them empty unless a has full column
    rank and m > n; `numpy_resid=True` does the same).

    >>> x, resid, rank, s = lstsq(jnp.ones((3, 1)), jnp.array([1.0, 2.0, 3.0]))  # doctest: +SKIP
    """
    a, b = _inexact("lstsq", a, b)
    a_shape, b_shape = get_aval(a).shape, get_aval(b).shape
    if len(a_shape) != 2 or len(b_shape) not in (1, 2) or b_shape[0] != a_shape[0]:
        raise ValueError(
            f"lstsq: a must be [m, n] and b [m] or [m, k] with the same m; got shapes "
            f"{a_shape} and {b_shape} (at {user_location()})."
        )
    m, n = a_shape
    vector = len(b_shape) == 1
    if vector:
        b = lax_shapes.reshape(b, (m, 1))
    dtype = get_aval(a).dtype
    real = _real_dtype(dtype)
    if rcond is None:
        rcond = float(np.finfo(real).eps) * max(m, n)
    u, s, vh = lax_linalg.svd(a, full_matrices=False)
    k = min(m, n)
    if k:
        cutoff = lax_shapes.broadcast_in_dim(ew.mul(_max(s, (0,)), asarray(rcond, real)), (k,), ())
        keep = ew.gt(s, cutoff)
    else:
        keep = ew.gt(s, s)
    rank = _count(keep, (0,))
    inverse = _reciprocal_where(keep, s, dtype)
    projected = matmul(_adjoint(u), b)
    k_cols = get_aval(projected).shape[-1]
    scaled = ew.mul(projected, lax_shapes.broadcast_in_dim(inverse, (k, k_cols), (0,)))
    x = matmul(_adjoint(vh), scaled)
    residual = ew.sub(b, matmul(a, x))
    resid = _sum(_squared_magnitude(residual), (0,))
    # NumPy's residuals are empty unless a has full column rank and more rows than columns;
    # deciding that needs the rank's value, so numpy_resid=True cannot be traced.
    if numpy_resid and (m <= n or int(rank) < n):
        resid = asarray(np.zeros((0,), real))
    if vector:
        x = lax_shapes.reshape(x, (n,))
    return x, resid, rank, s


# ---------------------------------------------------------------------------------------
# Norms


def _norm_axes(name, ndim, axis):
    if axis is None:
        return None
    axes = axis if isinstance(axis, (tuple, list)) else (axis,)
    out = []
    for item in axes:
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(
                f"{name}: axis must be an int or a tuple of ints, got {axis!r} "
                f"(at {user_location()})."
            )
        if not -ndim <= item < ndim:
            raise np.exceptions.AxisError(
                f"{name}: axis {item} is out of bounds for an array of dimension {ndim} "
                f"(at {user_location()})."
            )
        out.append(int(item) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}: duplicate axes in {axis!r} (at {user_location()}).")
    return tuple(out)


def _keepdims(x, shape, axes):
    return lax_shapes.reshape(x, [1 if i in axes else n for i, n in enumerate(shape)])


def _squared_magnitude(x):
    return ew.real(ew.mul(x, ew.conj(x))) if _is_complex(x) else ew.mul(x, x)


def _vector_norm(x, axes, ord):
    magnitude = _abs(x)
    dtype = get_aval(magnitude).dtype
    if ord is None or ord == 2:
        return ew.sqrt(_sum(_squared_magnitude(x), axes))
    if ord == np.inf:
        return _max(magnitude, axes)
    if ord == -np.inf:
        return _min(magnitude, axes)
    if ord == 0:
        return ew.convert_element_type(_count(ew.ne(x, 0), axes), dtype)
    if ord == 1:
        return _sum(magnitude, axes)
    if isinstance(ord, str):
        raise ValueError(f"norm: invalid norm order {ord!r} for vectors (at {user_location()}).")
    p = asarray(float(ord), dtype)
    return ew.pow(_sum(ew.pow(magnitude, p), axes), ew.div(asarray(1.0, dtype), p))


def _matrix_norm(x, row, col, ord):
    shape = get_aval(x).shape
    if ord is None or ord == "fro":
        return _vector_norm(x, (row, col), 2)
    if ord in (1, -1):
        column_sums = _sum(_abs(x), (row,))
        col_after = col - (1 if row < col else 0)
        return (_max if ord == 1 else _min)(column_sums, (col_after,))
    if ord in (np.inf, -np.inf):
        row_sums = _sum(_abs(x), (col,))
        row_after = row - (1 if col < row else 0)
        return (_max if ord == np.inf else _min)(row_sums, (row_after,))
    if ord in (2, -2, "nuc"):
        others = [i for i in range(len(shape)) if i not in (row, col)]
        moved = lax_shapes.transpose(x, (*others, row, col))
        s = lax_linalg.svd(moved, compute_uv=False)
        last = (len(others),)
        if ord == "nuc":
            return _sum(s, last)
        return (_max if ord == 2 else _min)(s, last)
    raise ValueError(f"norm: invalid norm order {ord!r} for matrices (at {user_location()}).")


@api_boundary
def norm(x, ord=None, axis=None, keepdims: bool = False):
    """Vector or matrix norm, as `numpy.linalg.norm`.

    With one axis (or a 1-d x and no axis) a vector norm: ord None/2, 1, inf, -inf, 0
    (count of nonzeros) or any p. With two axes (or a 2-d x) a matrix norm: 'fro'/None,
    'nuc', 1, -1, 2, -2, inf, -inf. With neither ord nor axis, the 2-norm of x flattened.

    >>> norm(jnp.array([3.0, 4.0]))  # doctest: +SKIP
    Array(5., dtype=float32)
    """
    (x,) = _inexact("norm", x)
    shape = get_aval(x).shape
    axes = _norm_axes("norm", len(shape), axis)
    if axes is None:
        if ord is None:
            out = _vector_norm(x, tuple(range(len(shape))), None)
            return _keepdims(out, shape, range(len(shape))) if keepdims else out
        if len(shape) not in (1, 2):
            raise ValueError(
                f"norm: improper number of dimensions to norm: shape {shape} with ord={ord!r} "
                f"needs axis= naming one or two axes (at {user_location()})."
            )
        axes = tuple(range(len(shape)))
    if len(axes) == 1:
        out = _vector_norm(x, axes, ord)
    elif len(axes) == 2:
        out = _matrix_norm(x, axes[0], axes[1], ord)
    else:
        raise ValueError(
            f"norm: improper number of dimensions to norm: axis={axis!r} names "
            f"{len(axes)} axes; use one (vector norm) or two (matrix norm) (at {user_location()})."
        )
    return _keepdims(out, shape, axes) if keepdims else out


@api_boundary
def vector_norm(x, /, *, axis=None, keepdims: bool = False, ord=2):
    """The vector norm over `axis` (all axes, flattened, when None)."""
    (x,) = _inexact("vector_norm", x)
    shape = get_aval(x).shape
    axes = _norm_axes("vector_norm", len(shape), axis)
    axes = tuple(range(len(shape))) if axes is None else axes
    out = _vector_norm(x, axes, ord)
    return _keepdims(out, shape, axes) if keepdims else out


@api_boundary
def matrix_norm(x, /, *, keepdims: bool = False, ord="fro"):
    """The matrix norm over the last two axes."""
    x = _matrices("matrix_norm", x, square=False)
    ndim = get_aval(x).ndim
    return norm(x, ord=ord, axis=(ndim - 2, ndim - 1), keepdims=keepdims)


@api_boundary
def matrix_transpose(x, /):
    """Swap the last two axes."""
    x = asarray(x)
    if get_aval(x).ndim < 2:
        raise ValueError(
            f"matrix_transpose: x must have at least 2 dimensions, got shape "
            f"{get_aval(x).shape} (at {user_location()})."
        )
    return _transpose_last(x)
