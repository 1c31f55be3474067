"""The jaxpr printer's exact text, in JAX's format, for hand-written programs."""

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.core.avals import ShapedArray
from funcgrad.core.jaxpr import ClosedJaxpr, Jaxpr, JaxprEqn, Literal, Var, pp_jaxpr
from funcgrad.lax.elementwise import sin_p


def test_single_equation_fits_on_one_line():
    text = str(fg.make_jaxpr(jnp.sin)(np.ones(3, np.float32)))
    assert text == "{ lambda ; a:f32[3]. let b:f32[3] = sin a in (b,) }"


def test_literals_and_several_equations():
    text = str(fg.make_jaxpr(lambda x: x * 2.0 + 1)(np.ones(3, np.float32)))
    assert text == (
        "{ lambda ; a:f32[3]. let\n"
        "    b:f32[3] = mul a 2.0:f32[]\n"
        "    c:f32[3] = add b 1.0:f32[]\n"
        "  in (c,) }"
    )


def test_weak_scalar_takes_the_array_dtype_and_params_print_sorted():
    text = str(fg.make_jaxpr(lambda x: x.astype(jnp.float16) + 2)(np.ones((2, 3), np.float32)))
    assert text == (
        "{ lambda ; a:f32[2,3]. let\n"
        "    b:f16[2,3] = convert_element_type[new_dtype=float16 weak_type=False] a\n"
        "    c:f16[2,3] = add b 2.0:f16[]\n"
        "  in (c,) }"
    )


def test_closed_over_array_is_a_constvar():
    offset = np.arange(3, dtype=np.float32)
    text = str(fg.make_jaxpr(lambda x: x + offset)(np.ones(3, np.float32)))
    assert text == "{ lambda a:f32[3]; b:f32[3]. let c:f32[3] = add b a in (c,) }"


def test_identity_has_no_equations():
    text = str(fg.make_jaxpr(lambda x, y: (y, x))(np.ones(2, np.int32), True))
    assert text == "{ lambda ; a:i32[2] b:bool[]. let  in (b, a) }"


def test_pytree_arguments_flatten_in_sorted_key_order():
    params = {"w": np.ones((4, 2), np.float32), "b": np.ones(2, np.float32)}
    text = str(
        fg.make_jaxpr(lambda p, x: jnp.dot(x, p["w"]) + p["b"])(params, np.ones(4, np.float32))
    )
    assert text == (
        "{ lambda ; a:f32[2] b:f32[4,2] c:f32[4]. let\n"
        "    d:f32[2] = dot_general[dimension_numbers=(((0,), (0,)), ((), ())) "
        "precision=None preferred_element_type=None] c b\n"
        "    e:f32[2] = add d a\n"
        "  in (e,) }"
    )


def test_reduction_and_comparison_params():
    def f(x):
        return lax.reduce_sum(x, (0,)), x > 0

    text = str(fg.make_jaxpr(f)(np.ones((2, 3), np.int32)))
    assert text == (
        "{ lambda ; a:i32[2,3]. let\n"
        "    b:i32[3] = reduce_sum[axes=(0,)] a\n"
        "    c:bool[2,3] = gt a 0:i32[]\n"
        "  in (b, c) }"
    )


def test_names_continue_past_z():
    def f(x):
        for _ in range(27):
            x = lax.sin(x)
        return x

    lines = str(fg.make_jaxpr(f)(np.float32(1))).splitlines()
    assert lines[1] == "    b:f32[] = sin a"
    assert lines[25] == "    z:f32[] = sin y"
    assert lines[26] == "    ba:f32[] = sin z"
    assert lines[27] == "    bb:f32[] = sin ba"
    assert lines[-1] == "  in (bb,) }"


def test_sub_jaxpr_in_params_is_indented_and_shares_names():
    inner = fg.make_jaxpr(lambda y: lax.sin(y))(np.float32(0))
    text = str(fg.make_jaxpr(lambda x: lax.closed_call(inner, x)[0] * 2.0)(np.float32(0)))
    assert text == (
        "{ lambda ; a:f32[]. let\n"
        "    b:f32[] = closed_call[\n"
        "      call_jaxpr={ lambda ; c:f32[]. let d:f32[] = sin c in (d,) }\n"
        "    ] a\n"
        "    e:f32[] = mul b 2.0:f32[]\n"
        "  in (e,) }"
    )


def test_hand_built_jaxpr_with_bool_and_int_literals():
    a = Var(ShapedArray((), np.float32))
    b = Var(ShapedArray((), np.float32))
    eqn = JaxprEqn(sin_p, (a,), (b,), {})
    jaxpr = Jaxpr(
        (),
        (a,),
        (
            b,
            Literal(np.int32(7), ShapedArray((), np.int32)),
            Literal(np.bool_(True), ShapedArray((), np.bool_)),
        ),
        (eqn,),
    )
    assert pp_jaxpr(jaxpr) == (
        "{ lambda ; a:f32[]. let b:f32[] = sin a in (b, 7:i32[], True:bool[]) }"
    )
    assert str(ClosedJaxpr(jaxpr, ())) == pp_jaxpr(jaxpr)
