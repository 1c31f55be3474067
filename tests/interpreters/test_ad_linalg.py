"""Differentiation of the linear-algebra primitives (triangular_solve, cholesky, lu, qr,
svd, eigh) and of the funcgrad.numpy.linalg functions built on them: check_grads in both
modes to second order on well-conditioned inputs (batched), hand-derived gradients, the
transpose of triangular_solve against NumPy, the rule registry and the unsupported cases."""

import numpy as np
import pytest

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad.interpreters import ad
from funcgrad.lax import linalg as lax_linalg
from funcgrad.test_util import check_grads

rng = np.random.default_rng(0)


def normal(*shape, dtype=np.float32):
    return rng.standard_normal(shape).astype(dtype)


def well_conditioned(*shape, dtype=np.float32):
    """Random matrices with the identity times 3 added: far from singular."""
    return (rng.standard_normal(shape) + 3 * np.eye(shape[-1])).astype(dtype)


def orthogonal(*shape):
    """Random matrices with orthonormal columns, [..., m, k] with m >= k."""
    q, _ = np.linalg.qr(rng.standard_normal(shape))
    return q


def with_spectrum(*shape, dtype=np.float32):
    """Random matrices whose singular values are k, k-1, ..., 1 (k = min(m, n)): well
    separated, so U and V are well-conditioned functions of the matrix."""
    *batch, m, n = shape
    k = min(m, n)
    values = np.arange(k, 0, -1.0)
    u, v = orthogonal(*batch, m, k), orthogonal(*batch, n, k)
    return ((u * values) @ np.swapaxes(v, -1, -2)).astype(dtype)


def half_symmetric(*shape, dtype=np.float32):
    """x whose symmetric(x) = x + x^T has eigenvalues spaced by 1 (-1, 0, 1, 2 for n = 4),
    so its eigenvectors are well-conditioned functions of x."""
    n = shape[-1]
    v = orthogonal(*shape)
    values = np.arange(n) - n // 2 + 1.0
    return ((v * (values / 2)) @ np.swapaxes(v, -1, -2)).astype(dtype)


def spd(x):
    """A symmetric positive-definite matrix from any square x (differentiable in x)."""
    n = x.shape[-1]
    return x @ jnp.swapaxes(x, -1, -2) + 2 * jnp.eye(n, dtype=x.dtype)


def symmetric(x):
    return x + jnp.swapaxes(x, -1, -2)


def _column_signs(x):
    """+-1 per column, from the sign of the sum of its cubes (dominated by its largest
    entries, so it does not change under small perturbations)."""
    return jnp.sign(jnp.sum(x**3, axis=-2, keepdims=True))


def svd_fixed_signs(x, **params):
    """lax svd with each singular pair's sign fixed: LAPACK may flip a pair's sign
    between nearby matrices, which finite differences would see as a jump."""
    return fixed_signs(*lax_linalg.svd(x, **params))


def eigh_fixed_signs(x):
    """lax eigh of symmetric(x) with each eigenvector's sign fixed (see svd_fixed_signs)."""
    return fixed_signs(*lax_linalg.eigh(symmetric(x)))


def fixed_signs(vectors, values, row_vectors=None):
    """Singular (or eigen) vectors times one sign per vector that makes them continuous."""
    signs = _column_signs(vectors)
    if row_vectors is None:
        return vectors * signs, values
    return vectors * signs, values, row_vectors * jnp.swapaxes(signs, -1, -2)


def test_every_linalg_primitive_has_a_jvp_rule():
    primitives = [getattr(lax_linalg, name) for name in dir(lax_linalg) if name.endswith("_p")]
    assert len(primitives) >= 7
    missing = [p.name for p in primitives if p not in ad.primitive_jvps]
    assert not missing, f"linalg primitives without a jvp rule: {missing}"
    linear = [lax_linalg.dot_general_p, lax_linalg.triangular_solve_p]
    assert all(p in ad.primitive_transposes for p in linear)


# ---------------------------------------------------------------------------------------
# The primitives, in float64 for tight finite-difference checks


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("lower", [True, False])
@pytest.mark.parametrize("transpose_a", [False, True])
@pytest.mark.parametrize("unit_diagonal", [False, True])
def test_triangular_solve(x64, left_side, lower, transpose_a, unit_diagonal):
    # The triangle the solve does not read holds noise: its tangent must not matter.
    a = well_conditioned(2, 4, 4, dtype=np.float64)
    b = normal(2, 4, 3, dtype=np.float64) if left_side else normal(2, 3, 4, dtype=np.float64)

    def solve(a, b):
        return lax_linalg.triangular_solve(
            a,
            b,
            left_side=left_side,
            lower=lower,
            transpose_a=transpose_a,
            unit_diagonal=unit_diagonal,
        )

    check_grads(solve, (a, b), order=2)


@pytest.mark.parametrize("left_side", [True, False])
@pytest.mark.parametrize("transpose_a", [False, True])
def test_triangular_solve_transpose_matches_numpy(x64, left_side, transpose_a):
    # b -> op(T)^-1 b (or b op(T)^-1) pulls a cotangent back through op(T)^-T.
    a = well_conditioned(4, 4, dtype=np.float64)
    tri = np.tril(a)
    op = tri.T if transpose_a else tri
    b = normal(4, 2, dtype=np.float64) if left_side else normal(2, 4, dtype=np.float64)
    ct = normal(*b.shape, dtype=np.float64)

    def solve(b):
        return lax_linalg.triangular_solve(
            a, b, left_side=left_side, lower=True, transpose_a=transpose_a
        )

    (pulled,) = fg.vjp(solve, b)[1](ct)
    want = np.linalg.solve(op.T, ct) if left_side else np.linalg.solve(op, ct.T).T
    np.testing.assert_allclose(pulled, want, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_cholesky(x64, shape):
    check_grads(lambda x: lax_linalg.cholesky(spd(x)), (normal(*shape, dtype=np.float64),), order=2)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (5, 3), (3, 5)])
def test_lu(x64, shape):
    # Away from ties in the pivot search the pivots are locally constant.
    check_grads(lambda x: lax_linalg.lu(x)[0], (normal(*shape, dtype=np.float64),), order=2)


def test_lu_integer_outputs_have_zero_tangents():
    x = well_conditioned(3, 3)
    _, (_, pivots_dot, permutation_dot) = fg.jvp(lax_linalg.lu, (x,), (x,))
    assert not np.any(np.asarray(pivots_dot)) and not np.any(np.asarray(permutation_dot))


@pytest.mark.parametrize(
    "shape, full_matrices",
    [((4, 4), True), ((2, 3, 3), False), ((5, 3), False), ((3, 5), False), ((3, 5), True)],
)
def test_qr(x64, shape, full_matrices):
    x = with_spectrum(*shape, dtype=np.float64)
    check_grads(lambda x: lax_linalg.qr(x, full_matrices=full_matrices), (x,), order=2)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (5, 3), (3, 5)])
def test_svd(x64, shape):
    # Gaussian matrices have distinct singular values almost surely.
    x = with_spectrum(*shape, dtype=np.float64)
    check_grads(lambda x: lax_linalg.svd(x, compute_uv=False), (x,), order=2)
    check_grads(lambda x: svd_fixed_signs(x, full_matrices=False), (x,), order=2)


def test_svd_full_matrices_square(x64):
    check_grads(svd_fixed_signs, (with_spectrum(3, 3, dtype=np.float64),), order=2)


@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3)])
def test_eigh(x64, shape):
    x = half_symmetric(*shape, dtype=np.float64)
    check_grads(eigh_fixed_signs, (x,), order=2)


def test_factorizations_float32():
    x = normal(2, 4, 4)
    check_grads(lambda x: lax_linalg.cholesky(spd(x)), (x,), order=2)
    # Diagonally dominant: partial pivoting never swaps rows, so the factors are smooth.
    dominant = 0.5 * normal(4, 4) + 3 * np.eye(4, dtype=np.float32)
    check_grads(lambda x: lax_linalg.lu(x)[0], (dominant,), order=2)
    check_grads(lambda x: lax_linalg.qr(x, full_matrices=False), (with_spectrum(4, 3),), order=2)
    check_grads(lambda x: svd_fixed_signs(x, full_matrices=False), (with_spectrum(4, 3),), order=2)
    check_grads(eigh_fixed_signs, (half_symmetric(2, 4, 4),), order=2)


# ---------------------------------------------------------------------------------------
# funcgrad.numpy.linalg, built on the primitives


LINALG_FUNCTIONS = {
    "inv": (jnp.linalg.inv, lambda dt: (well_conditioned(2, 4, 4, dtype=dt),)),
    "det_3x3": (jnp.linalg.det, lambda dt: (well_conditioned(3, 3, dtype=dt),)),
    # Scaled so the determinants are O(1) and float32 finite differences stay accurate.
    "det_lu": (jnp.linalg.det, lambda dt: (well_conditioned(2, 5, 5, dtype=dt) / 3,)),
    "slogdet": (lambda a: jnp.linalg.slogdet(a)[1], lambda dt: (well_conditioned(4, 4, dtype=dt),)),
    "solve": (
        jnp.linalg.solve,
        lambda dt: (well_conditioned(2, 4, 4, dtype=dt), normal(2, 4, 2, dtype=dt)),
    ),
    "solve_vector": (
        jnp.linalg.solve,
        lambda dt: (well_conditioned(4, 4, dtype=dt), normal(4, dtype=dt)),
    ),
    "cholesky": (lambda x: jnp.linalg.cholesky(spd(x)), lambda dt: (normal(2, 4, 4, dtype=dt),)),
    "cholesky_upper": (
        lambda x: jnp.linalg.cholesky(spd(x), upper=True),
        lambda dt: (normal(3, 3, dtype=dt),),
    ),
    "qr": (lambda x: tuple(jnp.linalg.qr(x)), lambda dt: (with_spectrum(5, 3, dtype=dt),)),
    "qr_r": (lambda x: jnp.linalg.qr(x, mode="r"), lambda dt: (with_spectrum(3, 4, dtype=dt),)),
    "svd_values": (
        lambda x: jnp.linalg.svd(x, compute_uv=False),
        lambda dt: (with_spectrum(2, 4, 3, dtype=dt),),
    ),
    "svd_reduced": (
        lambda x: fixed_signs(*jnp.linalg.svd(x, full_matrices=False)),
        lambda dt: (with_spectrum(4, 3, dtype=dt),),
    ),
    "svdvals": (jnp.linalg.svdvals, lambda dt: (with_spectrum(3, 5, dtype=dt),)),
    "eigh": (
        lambda x: fixed_signs(*reversed(jnp.linalg.eigh(symmetric(x)))),
        lambda dt: (half_symmetric(4, 4, dtype=dt),),
    ),
    "eigvalsh": (
        lambda x: jnp.linalg.eigvalsh(symmetric(x)),
        lambda dt: (half_symmetric(4, 4, dtype=dt),),
    ),
    "norm_2": (lambda x: jnp.linalg.norm(x, 2), lambda dt: (with_spectrum(4, 3, dtype=dt),)),
    "norm_nuc": (lambda x: jnp.linalg.norm(x, "nuc"), lambda dt: (with_spectrum(4, 3, dtype=dt),)),
    "pinv": (jnp.linalg.pinv, lambda dt: (with_spectrum(4, 3, dtype=dt),)),
    "lstsq": (
        lambda a, b: jnp.linalg.lstsq(a, b)[0],
        lambda dt: (with_spectrum(5, 3, dtype=dt), normal(5, 2, dtype=dt)),
    ),
    "matrix_power_negative": (
        lambda a: jnp.linalg.matrix_power(a, -2),
        lambda dt: (well_conditioned(3, 3, dtype=dt),),
    ),
}


@pytest.mark.parametrize("name", sorted(LINALG_FUNCTIONS))
def test_numpy_linalg_float32(name):
    fun, make_args = LINALG_FUNCTIONS[name]
    check_grads(fun, make_args(np.float32), order=2)


@pytest.mark.parametrize("name", sorted(LINALG_FUNCTIONS))
def test_numpy_linalg_float64(x64, name):
    fun, make_args = LINALG_FUNCTIONS[name]
    check_grads(fun, make_args(np.float64), order=2)


# ---------------------------------------------------------------------------------------
# Hand-derived gradients


def test_grad_det_is_det_times_inverse_transpose(x64):
    # d det(A) = det(A) tr(A^-1 dA)  =>  grad = det(A) A^-T (3x3: closed form; 5x5: LU).
    for n in (3, 5):
        a = well_conditioned(n, n, dtype=np.float64)
        want = np.linalg.det(a) * np.linalg.inv(a).T
        np.testing.assert_allclose(fg.grad(jnp.linalg.det)(a), want, rtol=1e-9)


def test_grad_logdet_is_inverse_transpose(x64):
    a = well_conditioned(4, 4, dtype=np.float64)
    got = fg.grad(lambda a: jnp.linalg.slogdet(a)[1])(a)
    np.testing.assert_allclose(got, np.linalg.inv(a).T, rtol=1e-9)


def test_grad_logdet_through_cholesky_is_inverse(x64):
    # log det A = 2 sum(log diag L); along symmetric directions its gradient is A^-1.
    a = np.asarray(spd(normal(4, 4, dtype=np.float64)))

    def logdet(a):
        return 2 * jnp.sum(jnp.log(jnp.diagonal(jnp.linalg.cholesky(a))))

    np.testing.assert_allclose(fg.grad(logdet)(a), np.linalg.inv(a), rtol=1e-9)


def test_grad_trace_of_inverse(x64):
    # d tr(A^-1) = -tr(A^-1 dA A^-1)  =>  grad = -(A^-2)^T.
    a = well_conditioned(4, 4, dtype=np.float64)
    inverse = np.linalg.inv(a)
    got = fg.grad(lambda a: jnp.trace(jnp.linalg.inv(a)))(a)
    np.testing.assert_allclose(got, -(inverse @ inverse).T, rtol=1e-9)


def test_grad_solve_matches_adjoint_system(x64):
    # x = A^-1 b, L = c.x  =>  dL/db = A^-T c, dL/dA = -(A^-T c) x^T.
    a = well_conditioned(4, 4, dtype=np.float64)
    b, c = normal(4, dtype=np.float64), normal(4, dtype=np.float64)
    grad_a, grad_b = fg.grad(lambda a, b: jnp.dot(c, jnp.linalg.solve(a, b)), argnums=(0, 1))(a, b)
    adjoint = np.linalg.solve(a.T, c)
    np.testing.assert_allclose(grad_b, adjoint, rtol=1e-9)
    np.testing.assert_allclose(grad_a, -np.outer(adjoint, np.linalg.solve(a, b)), rtol=1e-9)


def test_grad_of_eigenvalues(x64):
    a = np.asarray(symmetric(half_symmetric(4, 4, dtype=np.float64)))
    w, v = np.linalg.eigh(a)
    # The sum of the eigenvalues is the trace; the largest one moves along v v^T.
    total = fg.grad(lambda a: jnp.linalg.eigvalsh(a).sum())(a)
    np.testing.assert_allclose(total, np.eye(4), atol=1e-12)
    top = fg.grad(lambda a: jnp.linalg.eigvalsh(a)[-1])(a)
    np.testing.assert_allclose(top, np.outer(v[:, -1], v[:, -1]), rtol=1e-9, atol=1e-12)


def test_grad_of_singular_values(x64):
    a = with_spectrum(5, 3, dtype=np.float64)
    u, _, vh = np.linalg.svd(a, full_matrices=False)
    # The nuclear norm's gradient is U V^T; the spectral norm's is u1 v1^T.
    nuclear = fg.grad(lambda a: jnp.linalg.norm(a, "nuc"))(a)
    np.testing.assert_allclose(nuclear, u @ vh, rtol=1e-9)
    spectral = fg.grad(lambda a: jnp.linalg.norm(a, 2))(a)
    np.testing.assert_allclose(spectral, np.outer(u[:, 0], vh[0]), rtol=1e-9, atol=1e-12)


def test_grad_program_is_traceable():
    a = np.asarray(spd(normal(3, 3)))
    jaxpr = fg.make_jaxpr(fg.grad(lambda a: jnp.linalg.cholesky(a).sum()))(a)
    text = str(jaxpr)
    assert "cholesky" in text and "triangular_solve" in text


# ---------------------------------------------------------------------------------------
# What is not differentiable


@pytest.mark.parametrize(
    "fun, shape",
    [
        (lambda x: lax_linalg.qr(x, full_matrices=True), (4, 3)),
        (lambda x: lax_linalg.svd(x, full_matrices=True), (4, 3)),
    ],
)
def test_non_unique_factors_raise(fun, shape):
    x = normal(*shape)
    with pytest.raises(NotImplementedError, match="full_matrices"):
        fg.jvp(fun, (x,), (x,))


@pytest.mark.parametrize(
    "fun",
    [
        lax_linalg.cholesky,
        lambda a: lax_linalg.lu(a)[0],
        lambda a: lax_linalg.triangular_solve(
            a, np.ones((3, 2), np.complex128), left_side=True, lower=True, conjugate_a=True
        ),
    ],
)
def test_complex_forward_mode(x64, fun):
    # Hermitian positive-definite a, Hermitian direction: jvp against central differences.
    x = normal(3, 3, dtype=np.float64) + 1j * normal(3, 3, dtype=np.float64)
    a = x @ x.conj().T + 3 * np.eye(3)
    direction = normal(3, 3, dtype=np.float64) + 1j * normal(3, 3, dtype=np.float64)
    direction = direction + direction.conj().T
    _, tangent = fg.jvp(fun, (a,), (direction,))
    eps = 1e-6
    numeric = (np.asarray(fun(a + eps * direction)) - np.asarray(fun(a - eps * direction))) / (
        2 * eps
    )
    np.testing.assert_allclose(tangent, numeric, rtol=1e-6, atol=1e-8)


def test_complex_svd_raises():
    x = (normal(3, 3) + 1j * normal(3, 3)).astype(np.complex64)
    with pytest.raises(NotImplementedError, match="real matrices"):
        fg.jvp(lambda x: lax_linalg.svd(x, compute_uv=False), (x,), (x,))
