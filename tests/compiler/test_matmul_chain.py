"""Matrix-chain reassociation: chains are re-bracketed in the order of least flops (checked
against hand-derived orders and a brute-force search over all bracketings), shared
intermediates and mixed dtypes are left alone, and values equal eager evaluation."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.compiler.passes.dce import dce
from funcgrad.compiler.passes.matmul_chain import dot_general_flops, reassociate_matmuls
from funcgrad.compiler.passes.simplify import simplify
from funcgrad.core.jaxpr import Var, check_jaxpr, eval_jaxpr

rng = np.random.default_rng(7)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def _reassociated(fun, *args):
    """(traced program, rewritten program), the latter type checked and evaluated against
    eager `fun` and a float64 NumPy evaluation of `fun` on the same inputs."""
    closed = fg.make_jaxpr(fun)(*args)
    result = reassociate_matmuls(closed)
    check_jaxpr(result)
    assert result.out_avals == closed.out_avals
    got = eval_jaxpr(result.jaxpr, result.consts, *args)
    eager = fg.tree.leaves(fun(*map(jnp.asarray, args)))
    exact = fg.tree.leaves(fun(*(a.astype(np.float64) for a in args)))
    for g, e, x in zip(got, eager, exact):
        np.testing.assert_allclose(np.asarray(g), np.asarray(e), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(np.asarray(g), x, rtol=1e-4, atol=1e-4)
    return closed, result


def _bracketing(closed, index: int = 0):
    """Output `index` as nested (lhs, rhs) pairs of input positions, looking through the
    reshapes `@` wraps around vectors."""
    jaxpr = closed.jaxpr
    producers = {v: e for e in jaxpr.eqns for v in e.outvars}
    positions = {v: i for i, v in enumerate(jaxpr.invars)}

    def walk(atom):
        if atom in positions:
            return positions[atom]
        eqn = producers[atom]
        if eqn.primitive.name == "reshape":
            return walk(eqn.invars[0])
        assert eqn.primitive.name == "dot_general"
        return (walk(eqn.invars[0]), walk(eqn.invars[1]))

    return walk(jaxpr.outvars[index])


def _matmul_flops(closed) -> int:
    """Sum over the program's 2-D products of 2 * rows * inner * columns (vectors count as
    one row or column)."""
    total = 0
    for eqn in closed.eqns:
        if eqn.primitive.name == "dot_general":
            lhs, rhs = (v.aval.shape for v in eqn.invars)
            rows = lhs[0] if len(lhs) == 2 else 1
            cols = rhs[1] if len(rhs) == 2 else 1
            total += 2 * rows * lhs[-1] * cols
    return total


def test_flops_of_plain_and_batched_products():
    assert dot_general_flops((4, 3), (3, 5), (((1,), (0,)), ((), ()))) == 2 * 4 * 3 * 5
    batched = (((2,), (1,)), ((0,), (0,)))
    assert dot_general_flops((2, 4, 3), (2, 3, 5), batched) == 2 * 2 * 4 * 3 * 5
    assert dot_general_flops((3,), (3,), (((0,), (0,)), ((), ()))) == 2 * 3


def test_matrix_times_matrix_times_vector_goes_right_to_left():
    a, b, v = f32(16, 16), f32(16, 16), f32(16)
    closed, result = _reassociated(lambda a, b, v: (a @ b) @ v, a, b, v)
    assert _bracketing(closed) == ((0, 1), 2)
    # (AB)v: 2*16^3 + 2*16^2 flops; A(Bv): two matrix-vector products, 2 * 2*16^2.
    assert _bracketing(result) == (0, (1, 2))
    assert _matmul_flops(result) == 2 * 2 * 16**2


def test_vectors_at_either_end():
    a, b, u, v = f32(8, 8), f32(8, 8), f32(8), f32(8)
    _, right = _reassociated(lambda a, b, v: jnp.dot(jnp.dot(a, b), v), a, b, v)
    assert _bracketing(right) == (0, (1, 2))
    _, left = _reassociated(lambda u, a, b: jnp.dot(u, jnp.dot(a, b)), u, a, b)
    assert _bracketing(left) == ((0, 1), 2)


def _all_bracketings(first: int, last: int):
    if first == last:
        yield first
        return
    for split in range(first, last):
        for lhs in _all_bracketings(first, split):
            for rhs in _all_bracketings(split + 1, last):
                yield (lhs, rhs)


def _bracketing_cost(tree, dims) -> tuple[tuple[int, int], int]:
    """((rows, cols), flops) of a bracketing of matrices of shapes dims[i] x dims[i + 1]."""
    if isinstance(tree, int):
        return (dims[tree], dims[tree + 1]), 0
    (rows, inner), left = _bracketing_cost(tree[0], dims)
    (_, cols), right = _bracketing_cost(tree[1], dims)
    return (rows, cols), left + right + 2 * rows * inner * cols


def test_four_matrix_chain_takes_the_brute_force_optimum():
    dims = (10, 30, 5, 60, 8)
    mats = [f32(dims[i], dims[i + 1]) for i in range(4)]
    costs = {t: _bracketing_cost(t, dims)[1] for t in _all_bracketings(0, 3)}
    best = min(costs.values())
    (optimum,) = [t for t, c in costs.items() if c == best]
    left_to_right = (((0, 1), 2), 3)
    assert optimum != left_to_right
    closed, result = _reassociated(lambda a, b, c, d: a @ b @ c @ d, *mats)
    assert _bracketing(closed) == left_to_right
    assert _bracketing(result) == optimum
    assert _matmul_flops(result) == best
    assert [e.primitive.name for e in result.eqns] == ["dot_general"] * 3


def test_batch_size_flips_the_order():
    a, b = f32(8, 64), f32(64, 8)
    # X with one column: (AB)X costs 2*(8*64*8 + 8*8*1) = 8320, A(BX) 2*(64*8 + 8*64) = 2048.
    closed, result = _reassociated(lambda a, b, x: (a @ b) @ x, a, b, f32(8, 1))
    assert _bracketing(result) == (0, (1, 2))
    # 16 columns: (AB)X costs 2*(4096 + 8*8*16) = 10240, A(BX) 2*(64*8*16 + 8*64*16) = 32768.
    closed, result = _reassociated(lambda a, b, x: a @ (b @ x), a, b, f32(8, 16))
    assert _bracketing(result) == ((0, 1), 2)


def test_factors_read_transposed_stay_read_in_place():
    a, b, v = f32(16, 12), f32(20, 16), f32(20)

    def fun(a, b, v):
        return jnp.dot(a.T @ b.T, v)

    closed = simplify(fg.make_jaxpr(fun)(a, b, v))
    result = dce(reassociate_matmuls(closed))
    check_jaxpr(result)
    inner, outer = result.eqns
    # b.T @ v reads b contracting its axis 0 (as lhs); a.T @ (that) reads a contracting axis 0.
    assert inner.invars == (result.jaxpr.invars[1], result.jaxpr.invars[2])
    assert inner.params["dimension_numbers"] == (((0,), (0,)), ((), ()))
    assert outer.invars == (result.jaxpr.invars[0], inner.outvars[0])
    assert outer.params["dimension_numbers"] == (((0,), (0,)), ((), ()))
    (got,) = eval_jaxpr(result.jaxpr, result.consts, a, b, v)
    np.testing.assert_allclose(got, a.T.astype(np.float64) @ b.T @ v, rtol=1e-4, atol=1e-4)


def test_intermediate_also_returned_is_not_touched():
    def fun(a, b, v):
        ab = a @ b
        return ab @ v, ab

    closed, result = _reassociated(fun, f32(16, 16), f32(16, 16), f32(16, 1))
    assert result.eqns == closed.eqns


def test_intermediate_also_read_elsewhere_is_not_touched():
    def fun(a, b, v):
        ab = a @ b
        return ab @ v + ab.sum(axis=1, keepdims=True)

    closed, result = _reassociated(fun, f32(16, 16), f32(16, 16), f32(16, 1))
    assert result.eqns == closed.eqns


def test_already_cheapest_chain_is_unchanged():
    closed, result = _reassociated(lambda a, b, v: a @ (b @ v), f32(16, 16), f32(16, 16), f32(16))
    assert result.eqns == closed.eqns


def test_mixed_dtypes_are_not_reassociated():
    def fun(a, b, v):
        numbers = (((1,), (0,)), ((), ()))
        wide = lax.dot_general(a, b, numbers, preferred_element_type=np.float32)
        return lax.dot_general(wide, v, numbers, preferred_element_type=np.float32)

    a, b = f32(16, 16).astype(np.float16), f32(16, 16).astype(np.float16)
    closed = fg.make_jaxpr(fun)(a, b, f32(16, 1))
    result = reassociate_matmuls(closed)
    check_jaxpr(result)
    assert result.eqns == closed.eqns


def test_new_products_keep_types_and_the_final_variable():
    closed, result = _reassociated(lambda a, b, v: (a @ b) @ v, f32(6, 6), f32(6, 6), f32(6, 1))
    assert result.jaxpr.outvars == closed.jaxpr.outvars
    inner, outer = result.eqns
    assert isinstance(inner.outvars[0], Var) and inner.outvars[0].aval.shape == (6, 1)
    assert outer.params == closed.eqns[-1].params
    assert outer.source_info is closed.eqns[-1].source_info
