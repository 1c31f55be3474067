"""The table of programs the CuPy backend's tests generate CUDA kernels for: elementwise
chains, every scalar rule, reductions over last, first, middle, several and all axes, row
kernels (softmax, logsumexp, layernorm), broadcast and strided inputs, threefry and the
samplers built on it, and mixed dtypes. `strides` asks for kernel variants reading inputs
through other strides (transposed, reversed, broadcast views)."""

import contextlib
import dataclasses
from typing import Callable

import numpy as np

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax, random
from funcgrad.config import config
from funcgrad.lax.random_bits import threefry2x32

__all__ = ["Case", "CASES", "UNREACHED", "compile_case", "x64_as", "all_natives"]

rng = np.random.default_rng(3)


def f32(*shape):
    return rng.normal(size=shape).astype(np.float32)


def ints(dtype, *shape):
    return rng.integers(-100, 100, size=shape).astype(dtype)


def f64(*shape):
    return rng.normal(size=shape)


def flags(*shape):
    return rng.random(shape) < 0.5


U8 = np.uint8
bitcast = lax.bitcast_convert_type


def int64_ops(x, y):
    return lax.div(x, y) * lax.shift_right_arithmetic(x, y) + lax.population_count(x)


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    fun: Callable
    args: tuple
    x64: bool = False
    # Input element strides to generate (and compile) variants for: {input number: strides}.
    strides: tuple = ()


def softmax(x):
    e = jnp.exp(x - x.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def layernorm(x, scale, bias):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    return (x - mean) / jnp.sqrt(var + 1e-5) * scale + bias


def gelu(x):
    return 0.5 * x * (1.0 + jnp.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def unary(name, make=f32):
    x = make(5, 7)
    return Case(f"rule {name} {x.dtype}", lambda x: getattr(lax, name)(x), (x,))


def binary(name, make=f32):
    x, y = make(5, 7), make(5, 7)
    return Case(f"rule {name} {x.dtype}", lambda x, y: getattr(lax, name)(x, y), (x, y))


def logsumexp(x):
    return fg.nn.logsumexp(x, axis=-1)


FLOAT_UNARY = [
    "exp",
    "exp2",
    "expm1",
    "log",
    "log1p",
    "sqrt",
    "rsqrt",
    "cbrt",
    "tanh",
    "sin",
    "cos",
    "tan",
    "asin",
    "acos",
    "atan",
    "sinh",
    "cosh",
    "asinh",
    "acosh",
    "atanh",
    "erf",
    "erfc",
    "erf_inv",
    "lgamma",
    "floor",
    "ceil",
    "logistic",
    "is_finite",
    "sign",
    "abs",
    "neg",
]
FLOAT_BINARY = [
    "add",
    "sub",
    "mul",
    "div",
    "rem",
    "max",
    "min",
    "pow",
    "atan2",
    "nextafter",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
]
INT_BINARY = ["add", "sub", "mul", "div", "rem", "max", "min", "bitwise_and", "bitwise_or"]
INT_BINARY += ["bitwise_xor", "shift_left", "shift_right_logical", "shift_right_arithmetic"]

CASES = [
    # Elementwise chains and broadcasting.
    Case("gelu", gelu, (f32(64, 33),)),
    Case("arith chain", lambda x, y: (x * y + 1.0) / (y * y + 2.0) - x, (f32(5, 7), f32(5, 7))),
    Case("where", lambda x, y: jnp.where(x > y, x, -y * 3.0), (f32(13, 17), f32(13, 17))),
    Case(
        "broadcast row and column",
        lambda x, r, c: x * r + c - 2.0 * x,
        (f32(6, 9), f32(9), f32(6, 1)),
    ),
    Case("rank-0 input", lambda x, s: jnp.sin(x) * s, (f32(8, 3), np.float32(2.0))),
    Case("rank-0 program", lambda x: jnp.sin(x) * 2.0 + 1.0, (np.float32(0.5),)),
    # Iotas of more than 1024 elements are not folded into constants (fold.py).
    Case("iota", lambda x: x * jnp.arange(x.shape[0], dtype=jnp.float32), (f32(1500),)),
    Case(
        "broadcasted iota",
        lambda x: x + lax.broadcasted_iota(jnp.int32, x.shape, 1),
        (ints(np.int32, 3, 1500),),
    ),
    Case("transposed input", lambda x: x * 2.0 + 1.0, (f32(8, 12),), strides=((1, 8),)),
    Case("reversed input", lambda x: jnp.exp(x) - x, (f32(8, 12),), strides=((-12, -1),)),
    Case("sliced input", lambda x: x * x, (f32(3, 4),), strides=((24, 3),)),
    Case("broadcast input", lambda x, y: x + y, (f32(6, 5), f32(6, 5)), strides=((0, 1), (5, 0))),
    Case("transpose in program", lambda x: lax.transpose(x, (1, 0)) * 2.0 + 1.0, (f32(8, 12),)),
    Case("slice in program", lambda x: x[1:7:2, ::3] * 2.0 + 1.0, (f32(8, 12),)),
    # Reductions over last, first, middle, several and all axes, fused with producers.
    *[
        Case(
            f"{op} over {axes}",
            lambda x, op=op, axes=axes: getattr(x * 2.0 + 1.0, op)(axis=axes),
            (f32(5, 7, 3),),
            strides=((1, 5, 35),),
        )
        for op in ("sum", "max", "min")
        for axes in ((2,), (0,), (1,), (0, 2), None)
    ],
    Case("prod", lambda x: lax.reduce_prod(x, (1,)), (f32(4, 6),)),
    Case("argmax", lambda x: jnp.argmax(x, axis=1), (f32(4, 300),)),
    Case("argmin first axis", lambda x: jnp.argmin(x, axis=0), (f32(40, 3),)),
    Case("sum with full output", lambda x: ((x * 2).sum(axis=1), x * 2), (f32(5, 7),)),
    Case("int32 sum", lambda x: (x * 3).sum(axis=0), (ints(np.int32, 9, 4),)),
    Case("bool any", lambda x: lax.reduce_or(x, (1,)), (flags(5, 6),)),
    Case("bool all", lambda x: lax.reduce_and(x, (0,)), (flags(5, 6),)),
    Case("xor reduce", lambda x: lax.reduce_xor(x, (0,)), (ints(np.uint32, 7, 3),)),
    Case("empty reduced axis", lambda x: x.sum(axis=1), (f32(4, 0),)),
    # Row kernels.
    Case("softmax", softmax, (f32(16, 130),)),
    Case("logsumexp", logsumexp, (f32(8, 64),)),
    Case("layernorm", layernorm, (f32(16, 96), f32(96), f32(96))),
    # Random bits.
    Case("threefry2x32", threefry2x32, tuple(ints(np.uint32, 256) for _ in range(4))),
    Case("random bits", lambda k: random.bits(k, (1000,)), (np.asarray(random.PRNGKey(7)),)),
    Case("random uniform", lambda k: random.uniform(k, (33, 5)), (np.asarray(random.PRNGKey(1)),)),
    Case("random normal", lambda k: random.normal(k, (64,)), (np.asarray(random.PRNGKey(2)),)),
    # Mixed dtypes.
    Case("int8 to float", lambda x, y: x.astype(jnp.float32) * y, (ints(np.int8, 9), f32(9))),
    Case(
        "uint8 shifts",
        lambda x: lax.shift_left(x, U8(3)) ^ lax.shift_right_logical(x, U8(9)),
        (ints(np.uint8, 10),),
    ),
    Case(
        "int16 div rem",
        lambda x, y: lax.div(x, y) + lax.rem(x, y),
        (ints(np.int16, 10), ints(np.int16, 10)),
    ),
    Case("uint16 mul", lambda x, y: x * y, (ints(np.uint16, 10), ints(np.uint16, 10))),
    Case("bool logic", lambda a, b: (a & ~b) | (a ^ b), (flags(10), flags(10))),
    Case("bool to int", lambda a, x: a.astype(jnp.int32) + x, (flags(10), ints(np.int32, 10))),
    Case(
        "int to bool",
        lambda x: (x.astype(jnp.bool_) & (x > 3)).astype(jnp.float32),
        (ints(np.int32, 10),),
    ),
    Case("float64 math", lambda x, y: jnp.exp(x) / y + lax.rem(x, y), (f64(9), f64(9)), x64=True),
    Case("int64 ops", int64_ops, (ints(np.int64, 9), ints(np.int64, 9)), x64=True),
    Case(
        "float64 reductions",
        lambda x: (x.sum(axis=1), jnp.argmax(x, axis=1)),
        (f64(5, 6),),
        x64=True,
    ),
    Case("bitcast 64", lambda x: bitcast(bitcast(x, jnp.int64), jnp.float64), (f64(4),), x64=True),
    Case("bitcast uint64", lambda x: bitcast(x, jnp.uint64), (f64(4),), x64=True),
    Case(
        "float from uint64",
        lambda x: bitcast(x, jnp.float64),
        (rng.integers(0, 2**60, 4).astype(np.uint64),),
        x64=True,
    ),
    # Every scalar rule at least once.
    *[unary(name) for name in FLOAT_UNARY],
    *[binary(name) for name in FLOAT_BINARY],
    *[binary(name, lambda *s: ints(np.int32, *s)) for name in INT_BINARY],
    unary("bitwise_not", lambda *s: ints(np.int32, *s)),
    unary("population_count", lambda *s: ints(np.uint8, *s)),
    unary("population_count", lambda *s: ints(np.int32, *s)),
    unary("abs", lambda *s: ints(np.int32, *s)),
    unary("sign", lambda *s: ints(np.int32, *s)),
    unary("sign", lambda *s: ints(np.uint32, *s)),
    unary("neg", lambda *s: ints(np.int32, *s)),
    Case("round away", lambda x: lax.round(x, 0), (f32(5),)),
    Case("round even", lambda x: lax.round(x, 1), (f32(5),)),
    Case("integer_pow", lambda x: sum(lax.integer_pow(x, n) for n in (3, -2, 0)), (f32(5),)),
    Case("integer_pow int", lambda x: lax.integer_pow(x, 5), (ints(np.int32, 5),)),
    Case("clamp", lambda x: lax.clamp(-0.5, x, 0.5), (f32(5),)),
    Case(
        "select_n int",
        lambda w, a, b, c: lax.select_n(w, a, b, c),
        (ints(np.int32, 5), f32(5), f32(5), f32(5)),
    ),
    Case("bitcast 32", lambda x: bitcast(x, jnp.uint32) >> 3, (f32(5),)),
    Case("bitcast to float", lambda x: bitcast(x, jnp.float32), (ints(np.int32, 5),)),
    Case("stop_gradient", lambda x: lax.stop_gradient(x) * x, (f32(5),)),
    # Two reductions over different axes of x: a group (a kernel) each.
    Case("reductions over two axis sets", lambda x: (x.sum(axis=0), x.max(axis=1)), (f32(5, 6),)),
    # Groups the backend declines run equation by equation (the LLVM backend declines them
    # too).
    Case("float to int", lambda x: (x * 10.0).astype(jnp.int32) + 1, (f32(6),)),
    Case("convert float widths", lambda x: x.astype(jnp.float16).astype(jnp.float32), (f32(5),)),
    # Matrix products (a library call) and their epilogues (kernels).
    Case("matmul epilogue", lambda x, w, b: jnp.tanh(x @ w + b), (f32(8, 5), f32(5, 3), f32(3))),
    Case(
        "batched matmul",
        lambda x, y: jnp.einsum("bij,bjk->bik", x, y).sum(axis=-1),
        (f32(2, 3, 4), f32(2, 4, 5)),
    ),
    # Control flow: the bodies are programs of their own.
    Case("fori_loop", lambda x: lax.fori_loop(0, 5, lambda i, acc: acc * 0.5 + x, x), (f32(8),)),
    Case(
        "while_loop",
        lambda x: lax.while_loop(lambda v: v.sum() < 100.0, lambda v: v * 2 + 1, x),
        (np.abs(f32(8)),),
    ),
    Case("cond", lambda x: lax.cond(x.sum() > 0, jnp.sin, jnp.cos, x), (f32(7),)),
    Case(
        "scan",
        lambda h, xs: lax.scan(lambda h, x: (jnp.tanh(h * 0.5 + x), h.sum()), h, xs),
        (f32(4), f32(6, 4)),
    ),
]


# Rules the table cannot reach: the optimizer removes stop_gradient from compiled programs.
UNREACHED = {"stop_gradient"}


@contextlib.contextmanager
def x64_as(case: Case):
    """The case's x64 setting, for compiling and running it."""
    previous = config.jax_enable_x64
    config.update("jax_enable_x64", case.x64)
    try:
        yield
    finally:
        config.update("jax_enable_x64", previous)


def compile_case(case: Case, number: int, backend: str = "cupy"):
    """The case's program compiled for `backend`, named so that its kernels' names are
    unique across the table."""
    fun = case.fun
    named = lambda *args: fun(*args)  # noqa: E731
    named.__name__ = f"case{number}"
    with x64_as(case):
        return fg.jit(named, backend=backend).lower(*case.args).compile()


def all_natives(program) -> list:
    """The kernels (CudaGroups) of a compiled CuPy program and of its control-flow bodies."""
    found = []
    pending = [program.device]
    while pending:
        device = pending.pop()
        found += list(device.natives.values())
        pending += device.bodies
    return found
