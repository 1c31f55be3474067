"""funcgrad.numpy.linalg (and the lax.linalg factorizations under it) against NumPy.

Oracles: numpy.linalg in float64 on the same inputs (well conditioned: symmetric
positive definite for cholesky/eigh, a dominant diagonal where a solve is involved), the
reconstruction identities of each factorization (Q @ R == A, U @ diag(S) @ Vh == A,
L @ L^H == A, P @ A == L @ U, A @ V == V * W), and hand-derived values for singular
matrices and the errors. Every function also runs under make_jaxpr, whose jaxpr must
evaluate to the eager result.
"""

from __future__ import annotations

import zlib

import ml_dtypes
import numpy as np
import pytest

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.jaxpr import eval_jaxpr
from funcgrad.test_util import assert_agrees_with_op_by_op
from funcgrad.tree_util import tree_leaves

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
C64, I32 = np.dtype(np.complex64), np.dtype(np.int32)
TOL = {F32: 2e-4, C64: 2e-4, F16: 2e-2, BF16: 1.5e-1}
BATCHED_SQUARE = [(3, 3), (2, 4, 4), (2, 1, 3, 3), (1, 1), (0, 0), (0, 2, 2)]
RECTANGULAR = [(3, 2), (2, 5), (2, 4, 3), (0, 3), (3, 0)]


def rng_for(*key) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def general(shape, dtype=F32, key=()):
    rng = rng_for("general", shape, str(dtype), key)
    x = rng.uniform(-1, 1, size=shape)
    if np.dtype(dtype).kind == "c":
        x = x + 1j * rng.uniform(-1, 1, size=shape)
    return x.astype(dtype)


def dominant(shape, dtype=F32, key=()):
    n = shape[-1]
    return (general(shape, dtype, key) + 2 * n * np.eye(n)).astype(dtype)


def positive_definite(shape, dtype=F32):
    a = general(shape, dtype, "spd").astype(np.complex128)
    spd = a @ np.conj(np.swapaxes(a, -1, -2)) + shape[-1] * np.eye(shape[-1])
    return spd.astype(dtype) if np.dtype(dtype).kind == "c" else spd.real.astype(dtype)


def values(x) -> np.ndarray:
    assert isinstance(x, jnp.ndarray), f"expected a funcgrad Array, got {type(x).__name__}"
    return np.asarray(x)


def assert_close(got, want, dtype, scale=1.0):
    tol = TOL[np.dtype(dtype)] * scale
    got = values(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    np.testing.assert_allclose(
        got.astype(np.complex128), np.asarray(want, np.complex128), rtol=tol, atol=tol
    )


def assert_traced_matches(fun, *args):
    """make_jaxpr(fun) evaluates to exactly what fun gives eagerly."""
    closed = funcgrad.make_jaxpr(fun)(*args)
    traced = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager = tree_leaves(fun(*args))
    assert len(traced) == len(eager)
    for t, e in zip(traced, eager):
        assert (t.dtype, t.shape) == (e.dtype, e.shape)
        assert_agrees_with_op_by_op(e, t)


def h(x):
    return np.conj(np.swapaxes(x, -1, -2))


# ---------------------------------------------------------------------------------------
# Values against numpy.linalg: name, funcgrad function, NumPy reference, input maker, shapes

CASES = [
    ("inv", jnp.linalg.inv, np.linalg.inv, lambda s, d: [dominant(s, d)], BATCHED_SQUARE),
    (
        "solve_matrix",
        jnp.linalg.solve,
        np.linalg.solve,
        lambda s, d: [dominant(s, d), general((*s[:-1], 2), d, "b")],
        BATCHED_SQUARE,
    ),
    (
        "solve_vector",
        jnp.linalg.solve,
        np.linalg.solve,
        lambda s, d: [dominant(s, d), general(s[-1:], d, "b")],
        [(3, 3), (2, 4, 4), (0, 0)],
    ),
    (
        "solve_broadcast_batch",
        jnp.linalg.solve,
        np.linalg.solve,
        lambda s, d: [dominant(s, d), general((3, *s[-2:]), d, "b")],
        [(1, 3, 3), (3, 3)],
    ),
    ("det", jnp.linalg.det, np.linalg.det, lambda s, d: [general(s, d)], BATCHED_SQUARE),
    (
        "det_larger",
        jnp.linalg.det,
        np.linalg.det,
        lambda s, d: [general(s, d)],
        [(2, 5, 5), (6, 6)],
    ),
    (
        "slogdet",
        lambda a: tuple(jnp.linalg.slogdet(a)),
        lambda a: tuple(np.linalg.slogdet(a)),
        lambda s, d: [general(s, d)],
        [(3, 3), (2, 4, 4), (2, 2), (1, 1), (0, 0), (2, 6, 6)],
    ),
    (
        "cholesky",
        jnp.linalg.cholesky,
        np.linalg.cholesky,
        lambda s, d: [positive_definite(s, d)],
        BATCHED_SQUARE,
    ),
    (
        "cholesky_upper",
        lambda a: jnp.linalg.cholesky(a, upper=True),
        lambda a: h(np.linalg.cholesky(a)),
        lambda s, d: [positive_definite(s, d)],
        [(3, 3), (2, 4, 4)],
    ),
    (
        "eigvalsh",
        jnp.linalg.eigvalsh,
        np.linalg.eigvalsh,
        lambda s, d: [positive_definite(s, d)],
        BATCHED_SQUARE,
    ),
    (
        "svd_values",
        lambda a: jnp.linalg.svd(a, compute_uv=False),
        lambda a: np.linalg.svd(a, compute_uv=False),
        lambda s, d: [general(s, d)],
        [(3, 2), (2, 5), (2, 4, 3), (3, 3)],
    ),
    (
        "svdvals",
        jnp.linalg.svdvals,
        lambda a: np.linalg.svd(a, compute_uv=False),
        lambda s, d: [general(s, d)],
        [(3, 2), (2, 4, 3)],
    ),
    ("pinv", jnp.linalg.pinv, np.linalg.pinv, lambda s, d: [general(s, d)], RECTANGULAR),
    (
        "matrix_rank",
        jnp.linalg.matrix_rank,
        np.linalg.matrix_rank,
        lambda s, d: [general(s, d)],
        [(3, 2), (2, 4, 3), (4,)],
    ),
    (
        "matrix_power_5",
        lambda a: jnp.linalg.matrix_power(a, 5),
        lambda a: np.linalg.matrix_power(a, 5),
        lambda s, d: [general(s, d)],
        [(3, 3), (2, 4, 4), (0, 0)],
    ),
    (
        "matrix_power_0",
        lambda a: jnp.linalg.matrix_power(a, 0),
        lambda a: np.linalg.matrix_power(a, 0),
        lambda s, d: [general(s, d)],
        [(3, 3), (2, 2, 2)],
    ),
    (
        "matrix_power_negative",
        lambda a: jnp.linalg.matrix_power(a, -3),
        lambda a: np.linalg.matrix_power(a, -3),
        lambda s, d: [dominant(s, d)],
        [(3, 3), (2, 4, 4)],
    ),
    (
        "multi_dot",
        lambda a, b, c, d: jnp.linalg.multi_dot([a, b, c, d]),
        lambda a, b, c, d: np.linalg.multi_dot([a, b, c, d]),
        lambda s, d: [
            general((2, 8), d),
            general((8, 3), d, 1),
            general((3, 6), d, 2),
            general(6, d),
        ],
        [()],
    ),
    (
        "multi_dot_vector_first",
        lambda a, b, c: jnp.linalg.multi_dot([a, b, c]),
        lambda a, b, c: np.linalg.multi_dot([a, b, c]),
        lambda s, d: [general(4, d), general((4, 3), d, 1), general((3, 5), d, 2)],
        [()],
    ),
    (
        "lstsq",
        lambda a, b: jnp.linalg.lstsq(a, b)[:2],
        lambda a, b: np.linalg.lstsq(a, b)[:2],
        lambda s, d: [general(s, d), general(s[:1], d, "b")],
        [(6, 3), (5, 2)],
    ),
    (
        "lstsq_matrix_rank_and_s",
        lambda a, b: jnp.linalg.lstsq(a, b)[1:],
        lambda a, b: np.linalg.lstsq(a, b)[1:],
        lambda s, d: [general(s, d), general((s[0], 2), d, "b")],
        [(6, 3)],
    ),
    (
        "matrix_transpose",
        jnp.linalg.matrix_transpose,
        lambda a: np.swapaxes(a, -1, -2),
        lambda s, d: [general(s, d)],
        [(2, 3), (2, 4, 3)],
    ),
]


def _case_params(dtypes):
    return [
        pytest.param(fun, ref, make, shape, dtype, id=f"{name}-{dtype.name}-{list(shape)}")
        for name, fun, ref, make, shapes in CASES
        for shape in shapes
        for dtype in dtypes
    ]


def _check_against_numpy(fun, ref, args, dtype):
    got = fun(*args)
    want = ref(*(a.astype(np.complex128 if a.dtype.kind == "c" else np.float64) for a in args))
    got, want = (list(got), list(want)) if isinstance(want, tuple) else ([got], [want])
    scale = max([1.0] + [float(np.max(np.abs(w), initial=0)) for w in want])
    for g, w in zip(got, want):
        if values(g).dtype.kind in "iu":
            assert values(g).dtype == I32
            np.testing.assert_array_equal(values(g), w)
        else:
            real = np.zeros((), dtype).real.dtype
            assert values(g).dtype == (dtype if np.iscomplexobj(w) else real)
            assert_close(g, w, dtype, scale)


@pytest.mark.parametrize("fun, ref, make, shape, dtype", _case_params([F32]))
def test_matches_numpy(fun, ref, make, shape, dtype):
    args = make(shape, dtype)
    _check_against_numpy(fun, ref, args, dtype)
    assert_traced_matches(fun, *args)


LOW_PRECISION = ["inv", "solve_matrix", "det", "cholesky", "eigvalsh", "svd_values"]


@pytest.mark.parametrize(
    "fun, ref, make, shape, dtype",
    [
        pytest.param(fun, ref, make, shape, dtype, id=f"{name}-{dtype.name}")
        for name, fun, ref, make, _ in CASES
        if name in LOW_PRECISION
        for shape in [(2, 3, 3)]
        for dtype in (F16, BF16)
    ],
)
def test_float16_and_bfloat16_keep_their_dtype(fun, ref, make, shape, dtype):
    args = make(shape, dtype)
    out = fun(*args)
    assert out.dtype == dtype
    want = ref(*(a.astype(np.float64) for a in args))
    assert_close(out, want, dtype, max(1.0, float(np.max(np.abs(want)))))


COMPLEX = ["inv", "solve_matrix", "cholesky", "eigvalsh", "svd_values", "pinv", "matrix_power_5"]


@pytest.mark.parametrize(
    "fun, ref, make, shape, dtype",
    [
        pytest.param(fun, ref, make, shape, C64, id=name)
        for name, fun, ref, make, _ in CASES
        if name in COMPLEX
        for shape in [(2, 3, 3)]
    ],
)
def test_complex64(fun, ref, make, shape, dtype):
    _check_against_numpy(fun, ref, make(shape, dtype), dtype)


@pytest.mark.parametrize(
    "fun, reference",
    [
        (jnp.linalg.inv, np.linalg.inv),
        (jnp.linalg.det, np.linalg.det),
        (jnp.linalg.norm, np.linalg.norm),
        (jnp.linalg.eigvalsh, np.linalg.eigvalsh),
        (lambda a: jnp.linalg.solve(a, np.array([1, 2])), lambda a: np.linalg.solve(a, [1, 2])),
    ],
)
def test_integer_inputs_compute_in_float32(fun, reference):
    a = np.array([[2, 1], [1, 3]], np.int32)
    out = fun(a)
    assert out.dtype == F32
    assert_close(out, reference(a.astype(np.float64)), F32)


# ---------------------------------------------------------------------------------------
# Norms

VECTOR_ORDS = [None, 1, 2, np.inf, -np.inf, 0, 3, 0.5]
MATRIX_ORDS = [None, "fro", "nuc", 1, -1, 2, -2, np.inf, -np.inf]


@pytest.mark.parametrize("ord", VECTOR_ORDS, ids=repr)
@pytest.mark.parametrize("axis, keepdims", [(None, False), (1, False), (-1, True), (0, True)])
def test_vector_norms(ord, axis, keepdims):
    x = general((3, 4)) if axis is not None else general((5,))
    x.flat[1] = 0.0  # ord=0 counts nonzeros
    got = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    want = np.linalg.norm(x.astype(np.float64), ord=ord, axis=axis, keepdims=keepdims)
    assert got.dtype == F32
    assert_close(got, want, F32)


@pytest.mark.parametrize("ord", MATRIX_ORDS, ids=repr)
@pytest.mark.parametrize("axis", [None, (1, 2), (2, 0), (-1, -3)])
@pytest.mark.parametrize("keepdims", [False, True])
def test_matrix_norms(ord, axis, keepdims):
    x = general((3, 4)) if axis is None else general((2, 3, 4))
    got = jnp.linalg.norm(x, ord=ord, axis=axis, keepdims=keepdims)
    want = np.linalg.norm(x.astype(np.float64), ord=ord, axis=axis, keepdims=keepdims)
    assert_close(got, want, F32)


def test_norm_without_ord_or_axis_flattens_any_rank():
    x = general((2, 3, 4))
    assert_close(jnp.linalg.norm(x), np.linalg.norm(x.astype(np.float64)), F32)
    assert jnp.linalg.norm(x, keepdims=True).shape == (1, 1, 1)
    assert_close(jnp.linalg.norm(np.float32(-3.0)), 3.0, F32)
    assert_close(jnp.linalg.norm(np.zeros((0, 3), np.float32)), 0.0, F32)


def test_norm_of_complex_and_half_precision():
    z = general((3, 4), C64)
    assert jnp.linalg.norm(z).dtype == F32  # the real counterpart
    assert_close(jnp.linalg.norm(z), np.linalg.norm(z.astype(np.complex128)), F32)
    assert_close(jnp.linalg.norm(z, 1, axis=1), np.linalg.norm(z, 1, axis=1), F32)
    half = general((3, 4), F16)
    assert jnp.linalg.norm(half).dtype == F16
    assert_close(jnp.linalg.norm(half), np.linalg.norm(half.astype(np.float64)), F16)


def test_vector_and_matrix_norm_functions():
    x = general((2, 3, 4))
    assert_close(
        jnp.linalg.vector_norm(x, axis=(0, 2), ord=1),
        np.sum(np.abs(x.astype(np.float64)), axis=(0, 2)),
        F32,
    )
    assert_close(jnp.linalg.vector_norm(x), np.linalg.norm(x.astype(np.float64).ravel()), F32)
    assert_close(
        jnp.linalg.matrix_norm(x, ord="nuc"),
        np.linalg.norm(x.astype(np.float64), "nuc", axis=(-2, -1)),
        F32,
    )


def test_norms_trace():
    x = general((2, 3, 4))
    assert_traced_matches(lambda a: jnp.linalg.norm(a, ord=2, axis=(1, 2)), x)
    assert_traced_matches(lambda a: jnp.linalg.norm(a, ord=-np.inf, axis=0, keepdims=True), x)


# ---------------------------------------------------------------------------------------
# Factorizations: reconstruction identities (float32 and complex64, batched)


@pytest.mark.parametrize("dtype", [F32, C64], ids=str)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 5, 5), (2, 1, 3, 2)])
@pytest.mark.parametrize("mode", ["reduced", "complete"])
def test_qr_reconstructs(dtype, shape, mode):
    a = general(shape, dtype)
    q, r = jnp.linalg.qr(a, mode=mode)
    k = min(shape[-2:]) if mode == "reduced" else shape[-2]
    assert q.shape == (*shape[:-1], k) and r.shape == (*shape[:-2], k, shape[-1])
    q, r = values(q), values(r)
    assert_close(jnp.asarray(q @ r), a, dtype)
    assert_close(jnp.asarray(h(q) @ q), np.broadcast_to(np.eye(k), (*shape[:-2], k, k)), dtype)
    assert np.all(np.tril(r, -1) == 0)
    assert_close(jnp.linalg.qr(a, mode="r"), r[..., : min(shape[-2:]), :], dtype)


@pytest.mark.parametrize("dtype", [F32, C64], ids=str)
@pytest.mark.parametrize("shape", [(4, 3), (3, 4), (2, 5, 5)])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_reconstructs(dtype, shape, full_matrices):
    a = general(shape, dtype)
    u, s, vh = jnp.linalg.svd(a, full_matrices=full_matrices)
    assert s.dtype == F32
    k = min(shape[-2:])
    u, s, vh = values(u), values(s), values(vh)
    assert np.all(np.diff(s, axis=-1) <= 0)  # descending
    assert_close(jnp.asarray((u[..., :, :k] * s[..., None, :]) @ vh[..., :k, :]), a, dtype)
    assert_close(
        jnp.asarray(h(u) @ u),
        np.broadcast_to(np.eye(u.shape[-1]), u.shape[:-2] + (u.shape[-1],) * 2),
        dtype,
    )


@pytest.mark.parametrize("dtype", [F32, C64], ids=str)
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_cholesky_and_eigh_reconstruct(dtype, shape):
    a = positive_definite(shape, dtype)
    lower = values(jnp.linalg.cholesky(a))
    assert_close(jnp.asarray(lower @ h(lower)), a, dtype, shape[-1])
    assert np.all(np.triu(lower, 1) == 0)
    w, v = jnp.linalg.eigh(a)
    w, v = values(w), values(v)
    assert w.dtype == F32 and np.all(np.diff(w, axis=-1) >= 0)  # ascending
    assert_close(jnp.asarray(a @ v), v * w[..., None, :], dtype, shape[-1])


@pytest.mark.parametrize("shape", [(4, 4), (3, 5), (5, 3), (2, 4, 4)])
def test_lax_lu_reconstructs(shape):
    a = general(shape)
    lu, pivots, permutation = lax.linalg.lu(a)
    assert (pivots.dtype, permutation.dtype) == (I32, I32)
    lu, pivots, permutation = values(lu), values(pivots), values(permutation)
    m, n = shape[-2:]
    k = min(m, n)
    lower = np.tril(lu[..., :, :k], -1) + np.eye(m, k)
    upper = np.triu(lu[..., :k, :])
    permuted = np.take_along_axis(a, permutation[..., :, None], axis=-2)
    assert_close(jnp.asarray(lower @ upper), permuted, F32)
    # The permutation is the row swaps of `pivots` applied in order.
    for index in np.ndindex(*shape[:-2]):
        rows = list(range(m))
        for i, p in enumerate(pivots[index]):
            rows[i], rows[p] = rows[p], rows[i]
        assert rows == permutation[index].tolist()
    assert np.all(np.abs(np.tril(lu[..., :, :k], -1)) <= 1 + 1e-6)  # partial pivoting


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a, conjugate_a", [(False, False), (True, False), (True, True)])
def test_lax_triangular_solve_complex(left_side, lower, transpose_a, conjugate_a):
    a = dominant((2, 3, 3), C64)
    b = general((2, 3, 2) if left_side else (2, 2, 3), C64)
    x = values(
        lax.linalg.triangular_solve(
            a, b, left_side=left_side, lower=lower, transpose_a=transpose_a,
            conjugate_a=conjugate_a,
        )
    )  # fmt: skip
    tri = np.tril(a) if lower else np.triu(a)
    op = np.conj(tri) if conjugate_a else tri
    op = np.swapaxes(op, -1, -2) if transpose_a else op
    assert_close(jnp.asarray(op @ x if left_side else x @ op), b, C64)


def test_lax_wrappers_symmetrize_by_default():
    a = positive_definite((3, 3))
    skewed = a + np.triu(np.ones((3, 3), np.float32), 1)  # upper triangle disagrees
    assert_close(lax.linalg.cholesky(skewed), np.linalg.cholesky((skewed + skewed.T) / 2), F32)
    assert_close(lax.linalg.eigh(skewed)[1], np.linalg.eigvalsh((skewed + skewed.T) / 2), F32)
    # Without symmetrizing only the lower (or, for eigh, the chosen) triangle is read.
    assert_close(lax.linalg.cholesky(skewed, symmetrize_input=False), np.linalg.cholesky(a), F32)
    upper = lax.linalg.eigh(skewed, lower=False, symmetrize_input=False)[1]
    assert_close(upper, np.linalg.eigvalsh(skewed, UPLO="U"), F32)
    assert_close(
        jnp.linalg.eigvalsh(skewed, UPLO="U", symmetrize_input=False),
        np.linalg.eigvalsh(skewed, UPLO="U"),
        F32,
    )
    # jnp's default, as JAX's, symmetrizes: then UPLO makes no difference.
    symmetric = np.linalg.eigvalsh((skewed + skewed.T) / 2)
    assert_close(jnp.linalg.eigvalsh(skewed, UPLO="U"), symmetric, F32)


def test_eigh_and_svd_results_are_named():
    a = positive_definite((3, 3))
    result = jnp.linalg.eigh(a)
    assert_close(result.eigenvalues, np.linalg.eigvalsh(a), F32)
    assert result.eigenvectors.shape == (3, 3)
    u, s, vh = jnp.linalg.svd(general((3, 2)))
    assert (u.shape, s.shape, vh.shape) == ((3, 3), (2,), (2, 2))
    sign, logabsdet = jnp.linalg.slogdet(a)
    assert jnp.linalg.slogdet(a).logabsdet is not None and sign.shape == ()


def test_factorizations_trace():
    a = positive_definite((2, 3, 3))
    assert_traced_matches(jnp.linalg.cholesky, a)
    assert_traced_matches(jnp.linalg.eigh, a)
    assert_traced_matches(jnp.linalg.qr, general((4, 3)))
    assert_traced_matches(jnp.linalg.svd, general((2, 4, 3)))
    assert_traced_matches(lax.linalg.lu, general((3, 4)))
    assert_traced_matches(lambda m: jnp.linalg.lstsq(m, np.ones(4, np.float32)), general((4, 3)))


def test_solve_is_lu_and_two_triangular_solves():
    closed = funcgrad.make_jaxpr(jnp.linalg.solve)(dominant((3, 3)), general((3,)))
    names = [eqn.primitive.name for eqn in closed.eqns]
    assert names.count("lu") == 1 and names.count("triangular_solve") == 2


# ---------------------------------------------------------------------------------------
# Bad values give inf/NaN, never an exception (as in JAX)


def test_singular_and_indefinite_matrices():
    singular = np.array([[1.0, 2.0], [2.0, 4.0]], np.float32)
    assert float(jnp.linalg.det(singular)) == 0.0
    assert float(jnp.linalg.det(np.zeros((4, 4), np.float32))) == 0.0
    sign, logabsdet = jnp.linalg.slogdet(np.zeros((4, 4), np.float32))
    assert float(sign) == 0.0 and float(logabsdet) == -np.inf
    assert not np.all(np.isfinite(values(jnp.linalg.inv(np.zeros((3, 3), np.float32)))))
    assert int(jnp.linalg.matrix_rank(singular)) == 1
    indefinite = np.stack([np.eye(2, dtype=np.float32), -np.eye(2, dtype=np.float32)])
    lower = values(jnp.linalg.cholesky(indefinite))
    assert_close(jnp.asarray(lower[0]), np.eye(2), F32)
    assert np.all(np.isnan(lower[1]))  # only the failing matrix of the batch is NaN


def test_det_signs_follow_row_swaps():
    permutation = np.eye(4, dtype=np.float32)[[1, 0, 3, 2]]  # two swaps: +1
    assert float(jnp.linalg.det(permutation)) == 1.0
    assert float(jnp.linalg.det(permutation[[1, 0, 2, 3]])) == -1.0
    assert float(jnp.linalg.det(np.diag(np.float32([2, -3, 1, 1])))) == pytest.approx(-6.0)


# ---------------------------------------------------------------------------------------
# Errors: the exception NumPy (or JAX, for non-square matrices: ValueError) raises, naming
# the function, the shapes and the user's line. Each lambda sits on one line.

m23 = np.ones((2, 3), np.float32)
m33 = np.eye(3, dtype=np.float32)

ERRORS = [
    ("inv_not_square", ValueError, ("inv", "(2, 3)"), lambda: jnp.linalg.inv(m23)),
    ("det_not_square", ValueError, ("det", "(2, 3)"), lambda: jnp.linalg.det(m23)),
    ("slogdet_vector", ValueError, ("slogdet", "(3,)"), lambda: jnp.linalg.slogdet(np.ones(3))),
    ("cholesky_not_square", ValueError, ("cholesky", "(2, 3)"), lambda: jnp.linalg.cholesky(m23)),
    ("eigh_not_square", ValueError, ("eigh", "(2, 3)"), lambda: jnp.linalg.eigh(m23)),
    ("eigh_uplo", ValueError, ("UPLO", "'X'"), lambda: jnp.linalg.eigh(m33, UPLO="X")),
    ("solve_not_square", ValueError, ("solve", "(2, 3)"), lambda: jnp.linalg.solve(m23, m23)),
    ("solve_rows", ValueError, ("solve", "(3, 3)", "(2, 3)"), lambda: jnp.linalg.solve(m33, m23)),
    ("solve_vector", ValueError, ("solve", "(4,)"), lambda: jnp.linalg.solve(m33, np.ones(4))),
    (
        "solve_batch",
        ValueError,
        ("solve", "(2,)", "(3,)"),
        lambda: jnp.linalg.solve(np.ones((2, 3, 3)), np.ones((3, 3, 1))),
    ),
    ("svd_vector", ValueError, ("svd", "(3,)"), lambda: jnp.linalg.svd(np.ones(3))),
    ("qr_mode", ValueError, ("qr", "'raw'"), lambda: jnp.linalg.qr(m33, mode="raw")),
    ("norm_matrix_ord", ValueError, ("norm", "'bad'"), lambda: jnp.linalg.norm(m33, ord="bad")),
    ("norm_vector_ord", ValueError, ("norm", "'fro'"), lambda: jnp.linalg.norm(np.ones(3), "fro")),
    (
        "norm_rank",
        ValueError,
        ("norm", "(2, 2, 2)"),
        lambda: jnp.linalg.norm(np.ones((2, 2, 2)), 2),
    ),
    (
        "norm_three_axes",
        ValueError,
        ("norm", "3 axes"),
        lambda: jnp.linalg.norm(np.ones((2, 2, 2)), axis=(0, 1, 2)),
    ),
    (
        "norm_axis",
        np.exceptions.AxisError,
        ("norm", "axis 2"),
        lambda: jnp.linalg.norm(m23, axis=2),
    ),
    ("norm_axis_type", TypeError, ("norm", "1.5"), lambda: jnp.linalg.norm(m23, axis=1.5)),
    (
        "matrix_power_float",
        TypeError,
        ("matrix_power", "2.5"),
        lambda: jnp.linalg.matrix_power(m33, 2.5),
    ),
    (
        "matrix_power_shape",
        ValueError,
        ("matrix_power", "(2, 3)"),
        lambda: jnp.linalg.matrix_power(m23, 2),
    ),
    ("multi_dot_one", ValueError, ("multi_dot", "1"), lambda: jnp.linalg.multi_dot([m33])),
    (
        "multi_dot_misaligned",
        ValueError,
        ("multi_dot", "(2, 3)", "(2, 3)"),
        lambda: jnp.linalg.multi_dot([m23, m23, m33]),
    ),
    (
        "multi_dot_3d",
        ValueError,
        ("multi_dot", "(1, 3, 3)"),
        lambda: jnp.linalg.multi_dot([m33, m33[None], m33]),
    ),
    (
        "lstsq_shapes",
        ValueError,
        ("lstsq", "(2, 3)", "(3,)"),
        lambda: jnp.linalg.lstsq(m23, np.ones(3)),
    ),
    (
        "matrix_transpose_vector",
        ValueError,
        ("matrix_transpose", "(3,)"),
        lambda: jnp.linalg.matrix_transpose(np.ones(3)),
    ),
]


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS]
)
def test_errors(exception, fragments, fun):
    with pytest.raises(exception) as info:
        fun()
    assert type(info.value) is exception
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    assert f"test_linalg.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS[:8]]
)
def test_errors_under_make_jaxpr(exception, fragments, fun):
    with pytest.raises(exception) as info:
        funcgrad.make_jaxpr(fun)()
    assert f"test_linalg.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


def test_numpy_raises_the_same_exception_classes():
    for fun, exception in [
        (lambda: np.linalg.solve(m33, m23), ValueError),
        (lambda: np.linalg.norm(m33, ord="bad"), ValueError),
        (lambda: np.linalg.norm(m23, axis=2), np.exceptions.AxisError),
        (lambda: np.linalg.qr(m33, mode="bad"), ValueError),
        (lambda: np.linalg.multi_dot([m33]), ValueError),
        (lambda: np.linalg.matrix_power(m33, 2.5), TypeError),
    ]:
        with pytest.raises(exception):
            fun()


i32_33, f32_3 = np.ones((3, 3), np.int32), np.ones(3, np.float32)
f32_23, f32_233 = np.ones((2, 3), np.float32), np.ones((2, 3, 3), np.float32)

LAX_ERRORS = [
    ("cholesky", "i32[3,3]", lambda: lax.linalg.cholesky(i32_33, symmetrize_input=False)),
    ("cholesky", "f32[2,3]", lambda: lax.linalg.cholesky(f32_23, symmetrize_input=False)),
    ("lu", "f32[3]", lambda: lax.linalg.lu(f32_3)),
    ("qr", "i32[3,3]", lambda: lax.linalg.qr(i32_33)),
    ("svd", "f32[3]", lambda: lax.linalg.svd(f32_3)),
    ("eigh", "f32[2,3]", lambda: lax.linalg.eigh(f32_23, symmetrize_input=False)),
    (
        "triangular_solve",
        "f32[2,3,3], f32[2,3]",
        lambda: lax.linalg.triangular_solve(f32_233, f32_23, left_side=True),
    ),
    ("triangular_solve", "f32[2,3], f32[2,3]", lambda: lax.linalg.triangular_solve(f32_23, f32_23)),
    (
        "triangular_solve",
        "f32[2,3,3], f32[2,3,3]",
        lambda: lax.linalg.triangular_solve(f32_233, f32_233.astype(np.float16)),
    ),
]


@pytest.mark.parametrize("primitive, operands, fun", LAX_ERRORS)
def test_lax_shape_rule_errors(primitive, operands, fun):
    with pytest.raises(TypeError) as info:
        fun()
    message = str(info.value)
    assert message.startswith(f"{primitive}:") and operands.split(",")[0] in message, message
    assert f"test_linalg.py:{fun.__code__.co_firstlineno}" in message, message
