"""einsum, einsum_path and the other products (vdot, inner, outer, tensordot, kron, cross)
against NumPy.

Oracles: numpy.einsum and NumPy's product functions on the same inputs (floats in
float64); for the contraction order, hand-counted multiply-adds of the chain
'ij,jk,k->i'; a hypothesis property checks tensordot, einsum and NumPy agree on random
shapes and axes. Each case also runs under make_jaxpr, whose jaxpr must evaluate to the
eager result.
"""

from __future__ import annotations

import zlib

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import funcgrad
import funcgrad.numpy as jnp
from funcgrad.core.jaxpr import eval_jaxpr

F32, F16, BF16 = np.dtype(np.float32), np.dtype(np.float16), np.dtype(ml_dtypes.bfloat16)
I32, I8, U8, BOOL = np.dtype(np.int32), np.dtype(np.int8), np.dtype(np.uint8), np.dtype(bool)
TOL = {F32: 1e-5, F16: 1e-2, BF16: 6e-2}


def operand(shape, dtype=F32, key=()):
    rng = np.random.default_rng(zlib.crc32(repr((shape, str(dtype), key)).encode()))
    if dtype == BOOL:
        return rng.random(shape) < 0.5
    if np.dtype(dtype).kind in "iu":
        return rng.integers(0, 4, size=shape).astype(dtype)
    return rng.uniform(-1, 1, size=shape).astype(dtype)


def upcast(x):
    x = np.asarray(x)
    return x.astype(np.float64) if x.dtype in (F32, F16, BF16) else x


def assert_matches(got, want, dtype):
    assert isinstance(got, jnp.ndarray)
    got = np.asarray(got)
    assert got.shape == np.shape(want), (got.shape, np.shape(want))
    if dtype in TOL:
        scale = max(1.0, float(np.max(np.abs(want), initial=0)))
        tol = TOL[dtype] * scale
        np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)
    else:
        np.testing.assert_array_equal(got, want)


def assert_traced_matches(fun, *args):
    closed = funcgrad.make_jaxpr(fun)(*args)
    (traced,) = eval_jaxpr(closed.jaxpr, closed.consts, *args)
    eager = fun(*args)
    assert (traced.dtype, traced.shape) == (eager.dtype, eager.shape)
    np.testing.assert_array_equal(np.asarray(traced), np.asarray(eager))


# ---------------------------------------------------------------------------------------
# einsum against numpy.einsum: subscripts and operand shapes

EINSUM_CASES = [
    ("ij,jk->ik", [(2, 3), (3, 4)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij->ji", [(2, 3)]),
    ("ij", [(2, 3)]),
    ("ba", [(2, 3)]),
    ("aB", [(2, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->j", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ii", [(3, 3)]),
    ("iij->ji", [(3, 3, 2)]),
    ("iji->j", [(2, 3, 2)]),
    ("iii->i", [(2, 2, 2)]),
    ("i,i->", [(4,), (4,)]),
    ("i,i", [(0,), (0,)]),
    ("i,j->ij", [(3,), (4,)]),
    (",->", [(), ()]),
    ("i,->i", [(3,), ()]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bij,bjk->bki", [(2, 3, 4), (2, 4, 5)]),
    ("ijk,kji->", [(2, 3, 4), (4, 3, 2)]),
    ("ij,ij->ij", [(2, 3), (2, 3)]),
    ("ij,j->i", [(2, 3), (1,)]),
    ("ij,ij->i", [(2, 3), (1, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ij,jk,k->i", [(5, 6), (6, 7), (7,)]),
    ("a,b,c,d,e->", [(2,), (3,), (1,), (4,), (2,)]),
    ("ab,bc,cd,de,ef->af", [(2, 3), (3, 4), (4, 2), (2, 5), (5, 3)]),
    ("ab,bc,cd,de,ef,fg->ga", [(2, 3), (3, 2), (2, 4), (4, 2), (2, 3), (3, 2)]),
    ("ii,ij,jk->k", [(3, 3), (3, 4), (4, 2)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("...i,...i->...", [(2, 3), (4, 1, 3)]),
    ("...i,...i", [(2, 3), (4, 1, 3)]),
    ("i...->...", [(3, 2, 4)]),
    ("ij...,jk...->ik...", [(2, 3, 5), (3, 4, 5)]),
    ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
    ("...,...->...", [(2, 3), (3,)]),
    ("i...j->j...i", [(2, 3, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
    ("ij,jk->ik", [(0, 3), (3, 4)]),
]


@pytest.mark.parametrize(
    "subscripts, shapes",
    [pytest.param(s, shapes, id=f"{s}-{shapes}") for s, shapes in EINSUM_CASES],
)
@pytest.mark.eager_only(
    "checks bits against the traced order; jit reorders matmul chains (matmul_chain pass)",
    params=[
        "False-ij,jk,k->i-[(5, 6), (6, 7), (7,)]",
        "False-ab,bc,cd,de,ef->af-[(2, 3), (3, 4), (4, 2), (2, 5), (5, 3)]",
        "False-ab,bc,cd,de,ef,fg->ga-[(2, 3), (3, 2), (2, 4), (4, 2), (2, 3), (3, 2)]",
        "greedy-ij,jk,kl->il-[(2, 3), (3, 4), (4, 5)]",
        "greedy-ii,ij,jk->k-[(3, 3), (3, 4), (4, 2)]",
    ],
)
@pytest.mark.parametrize("optimize", ["auto", False, "greedy"])
def test_einsum_matches_numpy(subscripts, shapes, optimize):
    args = [operand(shape, key=i) for i, shape in enumerate(shapes)]
    want = np.einsum(subscripts, *map(upcast, args))
    got = jnp.einsum(subscripts, *args, optimize=optimize)
    assert got.dtype == F32
    assert_matches(got, want, F32)
    assert_traced_matches(lambda *xs: jnp.einsum(subscripts, *xs, optimize=optimize), *args)


@pytest.mark.parametrize("dtype", [F16, BF16, I32, I8, U8, BOOL], ids=str)
@pytest.mark.parametrize(
    "subscripts, shapes",
    [("ij,jk->ik", [(2, 3), (3, 4)]), ("ii->i", [(3, 3)]), ("bij,bj->bi", [(2, 3, 4), (2, 4)])],
)
def test_einsum_dtypes(dtype, subscripts, shapes):
    args = [operand(shape, dtype, i) for i, shape in enumerate(shapes)]
    got = jnp.einsum(subscripts, *args)
    assert got.dtype == dtype
    want = np.einsum(subscripts, *(upcast(a) for a in args))
    if dtype in TOL:
        assert_matches(got, want, dtype)
    else:
        assert_matches(got, want.astype(dtype), dtype)  # integers wrap like NumPy's


def test_einsum_promotes_and_accepts_preferred_element_type():
    a, b = operand((2, 3), I8), operand((3,), F16)
    out = jnp.einsum("ij,j->i", a, b)
    assert out.dtype == F16  # int8 with float16 is float16 in JAX's lattice
    assert_matches(out, np.einsum("ij,j->i", upcast(a), upcast(b)), F16)
    wide = jnp.einsum(
        "ij,jk->ik", operand((2, 3), I8), operand((3, 2), I8), preferred_element_type=I32
    )
    assert wide.dtype == I32
    weak = jnp.einsum(",->", 2.0, 3.0)
    assert (weak.dtype, weak.weak_type, float(weak)) == (F32, True, 6.0)


def test_broadcast_axes_missing_from_the_output_are_summed():
    # NumPy refuses '...i->i' when '...' covers axes; JAX (and funcgrad) sum them.
    x = operand((2, 4, 3))
    assert_matches(jnp.einsum("...i->i", x), np.einsum("abi->i", upcast(x)), F32)
    y = operand((4, 3), key=1)
    assert_matches(
        jnp.einsum("...i,...i->i", x, y), np.einsum("abi,bi->i", upcast(x), upcast(y)), F32
    )


def test_einsum_interleaved_sublists():
    a, b = operand((2, 3)), operand((3, 4), key=1)
    assert_matches(jnp.einsum(a, [0, 1], b, [1, 2], [0, 2]), upcast(a) @ upcast(b), F32)
    assert_matches(jnp.einsum(a, [0, 1], b, [1, 2]), upcast(a) @ upcast(b), F32)
    c = operand((5, 2, 2))
    assert_matches(
        jnp.einsum(c, [Ellipsis, 0, 0], [Ellipsis, 0]), np.einsum("...ii->...i", upcast(c)), F32
    )


# ---------------------------------------------------------------------------------------
# Contraction order

CHAIN = [(100, 100), (100, 100), (100,)]  # 'ij,jk,k->i'; contracting jk,k first is 100x cheaper


def _chain():
    return [np.ones(s, np.float32) for s in CHAIN]


@pytest.mark.parametrize("optimize", ["optimal", "greedy", "auto", True])
def test_einsum_path_contracts_the_small_vector_first(optimize):
    path, info = jnp.einsum_path("ij,jk,k->i", *_chain(), optimize=optimize)
    assert path == [(1, 2), (0, 1)]
    assert "20000" in info  # 100*100 + 100*100 multiply-adds


def test_einsum_path_without_optimization_is_left_to_right():
    path, info = jnp.einsum_path("ij,jk,k->i", *_chain(), optimize=False)
    assert path == [(0, 1), (0, 1)]
    assert "1010000" in info  # 100**3 + 100**2
    assert jnp.einsum_path("ij->i", np.ones((2, 3)))[0] == [(0,)]
    # NumPy's optimizer agrees on the order.
    assert np.einsum_path("ij,jk,k->i", *_chain(), optimize="optimal")[0][1:] == [(1, 2), (0, 1)]


def test_einsum_lowers_the_chosen_order_to_dot_generals():
    closed = funcgrad.make_jaxpr(lambda a, b, c: jnp.einsum("ij,jk,k->i", a, b, c))(*_chain())
    dots = [eqn for eqn in closed.eqns if eqn.primitive.name == "dot_general"]
    assert len(dots) == 2
    assert dots[0].outvars[0].aval.shape == (100,)  # b @ c first: a vector, not a matrix
    naive = funcgrad.make_jaxpr(lambda a, b, c: jnp.einsum("ij,jk,k->i", a, b, c, optimize=False))
    first = [e for e in naive(*_chain()).eqns if e.primitive.name == "dot_general"][0]
    assert first.outvars[0].aval.shape == (100, 100)


def test_einsum_accepts_an_explicit_path():
    args = [operand((2, 3)), operand((3, 4), key=1), operand((4,), key=2)]
    want = np.einsum("ij,jk,k->i", *map(upcast, args))
    for path in ([(0, 2), (0, 1)], ["einsum_path", (1, 2), (0, 1)]):
        assert_matches(jnp.einsum("ij,jk,k->i", *args, optimize=path), want, F32)


def test_greedy_order_on_many_operands_matches_numpy():
    shapes = [(3, 4), (4, 5), (5, 2), (2, 6), (6, 3), (3, 2), (2, 4), (4, 3), (3,)]
    args = [operand(s, key=i) for i, s in enumerate(shapes)]
    subscripts = "ab,bc,cd,de,ef,fg,gh,hi,i->a"
    for optimize in ("greedy", "auto", "optimal"):
        got = jnp.einsum(subscripts, *args, optimize=optimize)
        assert_matches(got, np.einsum(subscripts, *map(upcast, args)), F32)


# ---------------------------------------------------------------------------------------
# Other products against NumPy

PRODUCT_CASES = [
    ("vdot", jnp.vdot, np.vdot, [(3,), (3,)]),
    ("vdot_matrices", jnp.vdot, np.vdot, [(2, 3), (3, 2)]),
    ("inner_vectors", jnp.inner, np.inner, [(3,), (3,)]),
    ("inner_matrices", jnp.inner, np.inner, [(2, 3), (4, 3)]),
    ("inner_scalar", jnp.inner, np.inner, [(), (2, 3)]),
    ("outer", jnp.outer, np.outer, [(3,), (4,)]),
    ("outer_flattens", jnp.outer, np.outer, [(2, 2), (3,)]),
    ("outer_empty", jnp.outer, np.outer, [(0,), (3,)]),
    ("tensordot_default", jnp.tensordot, np.tensordot, [(2, 3, 4), (3, 4, 5)]),
    (
        "tensordot_int",
        lambda a, b: jnp.tensordot(a, b, 1),
        lambda a, b: np.tensordot(a, b, 1),
        [(2, 3), (3, 4)],
    ),
    (
        "tensordot_zero",
        lambda a, b: jnp.tensordot(a, b, 0),
        lambda a, b: np.tensordot(a, b, 0),
        [(2,), (3,)],
    ),
    (
        "tensordot_pairs",
        lambda a, b: jnp.tensordot(a, b, ((0, 2), (2, 0))),
        lambda a, b: np.tensordot(a, b, ((0, 2), (2, 0))),
        [(2, 3, 4), (4, 5, 2)],
    ),
    (
        "tensordot_negative",
        lambda a, b: jnp.tensordot(a, b, (-1, 0)),
        lambda a, b: np.tensordot(a, b, (-1, 0)),
        [(2, 3), (3, 4)],
    ),
    ("kron_matrices", jnp.kron, np.kron, [(2, 3), (3, 2)]),
    ("kron_vectors", jnp.kron, np.kron, [(2,), (3,)]),
    ("kron_ranks", jnp.kron, np.kron, [(2,), (2, 3, 2)]),
    ("kron_scalar", jnp.kron, np.kron, [(), (2, 2)]),
    ("cross_3", jnp.cross, np.cross, [(3,), (3,)]),
    ("cross_batched", jnp.cross, np.cross, [(4, 3), (3,)]),
    ("cross_broadcast", jnp.cross, np.cross, [(2, 1, 3), (5, 3)]),
    (
        "cross_axes",
        lambda a, b: jnp.cross(a, b, axisa=0, axisb=1, axisc=0),
        lambda a, b: np.cross(a, b, axisa=0, axisb=1, axisc=0),
        [(3, 4), (4, 3)],
    ),
    (
        "cross_axis",
        lambda a, b: jnp.cross(a, b, axis=0),
        lambda a, b: np.cross(a, b, axis=0),
        [(3, 2), (3, 2)],
    ),
    ("cross_3_and_2", jnp.cross, np.cross, [(4, 3), (4, 2)]),
]


@pytest.mark.parametrize(
    "fun, reference, shapes",
    [pytest.param(*case[1:], id=case[0]) for case in PRODUCT_CASES],
)
@pytest.mark.parametrize("dtype", [F32, I32, BF16], ids=str)
@pytest.mark.filterwarnings("ignore:Arrays of 2-dimensional vectors:DeprecationWarning")
def test_products_match_numpy(fun, reference, shapes, dtype):
    args = [operand(shape, dtype, i) for i, shape in enumerate(shapes)]
    got = fun(*args)
    assert got.dtype == dtype
    want = reference(*map(upcast, args))
    assert_matches(got, want if dtype in TOL else want.astype(dtype), dtype)
    assert_traced_matches(fun, *args)


@pytest.mark.parametrize(
    "fun, reference",
    [
        (lambda a, b: jnp.tensordot(a, b, 1), lambda a, b: np.tensordot(a, b, 1)),
        (jnp.inner, np.inner),
        (jnp.vdot, np.vdot),
        (jnp.outer, np.outer),
        (jnp.kron, np.kron),
        (lambda a, b: jnp.einsum("ij,jk->ik", a, b), lambda a, b: np.einsum("ij,jk->ik", a, b)),
    ],
)
def test_products_of_bools_are_any_of_all(fun, reference):
    a, b = operand((3, 3), BOOL, "a"), operand((3, 3), BOOL, "b")
    got = fun(a, b)
    assert got.dtype == BOOL
    np.testing.assert_array_equal(np.asarray(got), reference(a, b))


def test_two_dimensional_cross_gives_the_z_component():
    a, b = np.array([1.0, 2.0], np.float32), np.array([3.0, 5.0], np.float32)
    assert float(jnp.cross(a, b)) == 1.0 * 5.0 - 2.0 * 3.0


def test_vdot_conjugates_the_first_operand():
    a = np.array([1 + 2j, 3 - 1j], np.complex64)
    b = np.array([2 - 1j, 1j], np.complex64)
    assert complex(jnp.vdot(a, b)) == pytest.approx(np.vdot(a, b))
    assert complex(jnp.vdot(b, a)) == pytest.approx(np.vdot(b, a))


# ---------------------------------------------------------------------------------------
# Property: tensordot, einsum and NumPy agree


@st.composite
def tensordot_problems(draw):
    count = draw(st.integers(0, 2))
    contracted = draw(st.lists(st.integers(1, 3), min_size=count, max_size=count))
    a_free = draw(st.lists(st.integers(0, 3), max_size=2))
    b_free = draw(st.lists(st.integers(0, 3), max_size=2))
    a_order = draw(st.permutations(range(len(a_free) + count)))
    b_order = draw(st.permutations(range(len(b_free) + count)))
    # Axis k of `a` holds the k-th entry of a_free + contracted, permuted by a_order.
    a_dims = a_free + contracted
    b_dims = contracted + b_free
    a_shape = [a_dims[i] for i in a_order]
    b_shape = [b_dims[i] for i in b_order]
    a_axes = [a_order.index(len(a_free) + k) for k in range(count)]
    b_axes = [b_order.index(k) for k in range(count)]
    return tuple(a_shape), tuple(b_shape), a_axes, b_axes


@settings(max_examples=40, deadline=None)
@given(tensordot_problems())
def test_tensordot_einsum_and_numpy_agree(problem):
    a_shape, b_shape, a_axes, b_axes = problem
    a = operand(a_shape, key="a")
    b = operand(b_shape, key="b")
    letters = iter("abcdefghij")
    a_labels = [next(letters) for _ in a_shape]
    b_labels = [next(letters) for _ in b_shape]
    for i, j in zip(a_axes, b_axes):
        b_labels[j] = a_labels[i]
    out_labels = [x for x in a_labels if x not in b_labels] + [
        x for x in b_labels if x not in a_labels
    ]
    subscripts = f"{''.join(a_labels)},{''.join(b_labels)}->{''.join(out_labels)}"
    via_tensordot = jnp.tensordot(a, b, (a_axes, b_axes))
    via_einsum = jnp.einsum(subscripts, a, b)
    want = np.tensordot(upcast(a), upcast(b), (a_axes, b_axes))
    assert_matches(via_tensordot, want, F32)
    assert_matches(via_einsum, want, F32)


# ---------------------------------------------------------------------------------------
# Errors: ValueError (as NumPy) naming the function, the subscripts or shapes, and the
# user's line. Each lambda sits on one line.

m23, m34, v3 = np.ones((2, 3)), np.ones((3, 4)), np.ones(3)

ERRORS = [
    ("letters_only", ValueError, ("einsum", "'1'"), lambda: jnp.einsum("i1", m23)),
    ("two_arrows", ValueError, ("einsum", "'->'"), lambda: jnp.einsum("i->i->i", v3)),
    ("stray_dot", ValueError, ("einsum", "'...'"), lambda: jnp.einsum("i.j", m23)),
    ("two_ellipses", ValueError, ("einsum", "'...'"), lambda: jnp.einsum("...i...", m23)),
    (
        "too_few_operands",
        ValueError,
        ("einsum", "2 operand", "1 were given"),
        lambda: jnp.einsum("ij,jk", m23),
    ),
    ("too_many_labels", ValueError, ("einsum", "(2, 3)", "'ijk'"), lambda: jnp.einsum("ijk", m23)),
    ("too_few_labels", ValueError, ("einsum", "(2, 3)", "'i'"), lambda: jnp.einsum("i", m23)),
    (
        "sizes",
        ValueError,
        ("einsum", "size", "(2, 3)", "(2, 3)"),
        lambda: jnp.einsum("ij,jk", m23, m23),
    ),
    ("diagonal_sizes", ValueError, ("einsum", "'i'", "[2, 3]"), lambda: jnp.einsum("ii", m23)),
    ("unknown_output", ValueError, ("einsum", "'k'"), lambda: jnp.einsum("ij->k", m23)),
    (
        "repeated_output",
        ValueError,
        ("einsum", "'i'", "more than once"),
        lambda: jnp.einsum("ij->ii", m23),
    ),
    ("no_operands", ValueError, ("einsum", "at least one"), lambda: jnp.einsum("")),
    (
        "bad_optimize",
        ValueError,
        ("einsum", "'fastest'"),
        lambda: jnp.einsum("ij", m23, optimize="fastest"),
    ),
    (
        "bad_path",
        ValueError,
        ("einsum", "(0, 5)"),
        lambda: jnp.einsum("ij,jk", m23, m34, optimize=[(0, 5)]),
    ),
    (
        "short_path",
        ValueError,
        ("einsum", "uncontracted"),
        lambda: jnp.einsum("i,i,i", v3, v3, v3, optimize=[(0, 1)]),
    ),
    ("bad_sublist", ValueError, ("einsum", "'x'"), lambda: jnp.einsum(m23, ["x", 1])),
    ("out_argument", TypeError, ("einsum", "'out'"), lambda: jnp.einsum("ij", m23, out=m23)),
    (
        "tensordot_sizes",
        ValueError,
        ("tensordot", "(2, 3)", "(3, 4)"),
        lambda: jnp.tensordot(m23, m34, ((0,), (0,))),
    ),
    ("tensordot_count", ValueError, ("tensordot", "axes=3"), lambda: jnp.tensordot(m23, m34, 3)),
    (
        "tensordot_lengths",
        ValueError,
        ("tensordot", "(0, 1)", "(0,)"),
        lambda: jnp.tensordot(m23, m34, ((0, 1), (0,))),
    ),
    (
        "tensordot_axis",
        np.exceptions.AxisError,
        ("tensordot", "axis 2"),
        lambda: jnp.tensordot(m23, m34, ((2,), (0,))),
    ),
    ("tensordot_axes_type", TypeError, ("tensordot", "'x'"), lambda: jnp.tensordot(m23, m34, "x")),
    ("inner_sizes", ValueError, ("inner", "(2, 3)", "(3, 4)"), lambda: jnp.inner(m23, m34)),
    ("vdot_sizes", ValueError, ("vdot", "(2, 3)", "(3,)"), lambda: jnp.vdot(m23, v3)),
    ("cross_sizes", ValueError, ("cross", "4"), lambda: jnp.cross(np.ones(4), v3)),
    (
        "cross_axis",
        np.exceptions.AxisError,
        ("cross", "axis 2"),
        lambda: jnp.cross(v3, v3, axisa=2),
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
    assert f"test_einsum.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "exception, fragments, fun", [pytest.param(*case[1:], id=case[0]) for case in ERRORS[:12]]
)
def test_errors_under_make_jaxpr(exception, fragments, fun):
    with pytest.raises(exception) as info:
        funcgrad.make_jaxpr(fun)()
    assert f"test_einsum.py:{fun.__code__.co_firstlineno}" in str(info.value), str(info.value)


def test_numpy_raises_the_same_exception_classes():
    for fun in [
        lambda: np.einsum("i1", m23),
        lambda: np.einsum("ij,jk", m23),
        lambda: np.einsum("ijk", m23),
        lambda: np.einsum("ij,jk", m23, m23),
        lambda: np.einsum("ij->k", m23),
        lambda: np.einsum("ij->ii", m23),
        lambda: np.tensordot(m23, m34, ((0,), (0,))),
        lambda: np.inner(m23, m34),
        lambda: np.vdot(m23, v3),
        lambda: np.cross(np.ones(4), v3),
    ]:
        with pytest.raises(ValueError):
            fun()
