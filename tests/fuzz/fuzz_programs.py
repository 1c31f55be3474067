"""Random well-typed funcgrad programs, as hypothesis strategies.

A `Program` is plain data: its input avals and a list of `Step`s, each naming an op from
`OPS` and the pool positions of its operands. The generator tracks every value's shape and
dtype while it draws, so each step is well typed by construction, and it may add a fresh
input whenever an op needs a partner of a particular shape (a matmul's right operand, an
update's values). Calling a Program interprets its steps with funcgrad.numpy and
funcgrad.lax, so the same program runs eagerly, under jit, grad, vmap and make_jaxpr.

Two profiles: `ANY` draws every dtype (float32, float64, int32, bool) and every op, for the
properties that compare transforms of one function (jit vs eager, vmap vs a loop, jaxpr
round trips); `SMOOTH` draws float64 programs whose ops have derivatives almost
everywhere, for the finite-difference checks.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np
from hypothesis import strategies as st

import funcgrad as fg
import funcgrad.numpy as jnp
from funcgrad import lax
from funcgrad.scipy import special

FLOATS = ("float16", "float32", "float64")
DIMS = (0, 1, 1, 2, 3, 3, 5)


@dataclasses.dataclass(frozen=True)
class Aval:
    shape: tuple[int, ...]
    dtype: str

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_float(self) -> bool:
        return self.dtype in FLOATS


@dataclasses.dataclass(frozen=True)
class Step:
    op: str
    args: tuple[int, ...]  # pool positions: inputs first, then step results in order
    params: tuple = ()

    def __repr__(self) -> str:
        return f"{self.op}{self.args}{self.params if self.params else ''}"


@dataclasses.dataclass(frozen=True)
class Profile:
    name: str
    dtypes: tuple[str, ...]
    smooth: bool


ANY = Profile("any", ("float16", "float32", "float64", "float64", "int32", "bool"), smooth=False)
SMOOTH = Profile("smooth", ("float64",), smooth=True)


@dataclasses.dataclass(frozen=True)
class Program:
    """A generated function of `len(inputs)` arrays returning a tuple of arrays."""

    inputs: tuple[Aval, ...]
    steps: tuple[Step, ...]
    outputs: tuple[int, ...]
    avals: tuple[Aval, ...]  # every pool value's aval, inputs first

    def __call__(self, *xs):
        pool = list(xs)
        for step in self.steps:
            pool.append(OPS[step.op](*(pool[i] for i in step.args), *step.params))
        return tuple(pool[i] for i in self.outputs)

    def __repr__(self) -> str:
        lines = [f"Program(inputs={[(a.shape, a.dtype) for a in self.inputs]}"]
        for n, step in enumerate(self.steps, start=len(self.inputs)):
            lines.append(f"  v{n} = {step!r} -> {self.avals[n].shape} {self.avals[n].dtype}")
        lines.append(f"  outputs={list(self.outputs)})")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# The ops a step may name: plain functions of funcgrad arrays and static parameters.


def _bounded(x):
    # Keeps long chains of products from overflowing while staying smooth.
    return x / (1.0 + x * x)


UNARY_FLOAT = {
    "sin": jnp.sin,
    "cos": jnp.cos,
    "tanh": jnp.tanh,
    "logistic": lax.logistic,
    "neg": jnp.negative,
    "square": jnp.square,
    "abs": jnp.abs,
    "exp_tanh": lambda x: jnp.exp(jnp.tanh(x)),
    "log1p_sq": lambda x: jnp.log1p(x * x),
    "sqrt_1p_sq": lambda x: jnp.sqrt(1.0 + x * x),
    "erf": special.erf,
    "arctan": jnp.arctan,
    "arcsinh": jnp.arcsinh,
    "bounded": _bounded,
    "expm1_sin": lambda x: jnp.expm1(jnp.sin(x)),
    "integer_pow3": lambda x: lax.integer_pow(x, 3),
    "floor": jnp.floor,
    "round": jnp.round,
    "sign": jnp.sign,
}
UNARY_INT = {
    "neg": jnp.negative,
    "abs": jnp.abs,
    "square": jnp.square,
    "bitwise_not": jnp.bitwise_not,
}
BINARY = {
    "add": jnp.add,
    "sub": jnp.subtract,
    "mul": jnp.multiply,
    "maximum": jnp.maximum,
    "minimum": jnp.minimum,
    "safe_div": lambda x, y: x / (1.0 + y * y),
    "arctan2": jnp.arctan2,
    "logaddexp": jnp.logaddexp,
    "bitwise_and": jnp.bitwise_and,
    "bitwise_or": jnp.bitwise_or,
    "bitwise_xor": jnp.bitwise_xor,
    "less": jnp.less,
    "equal": jnp.equal,
    "greater_equal": jnp.greater_equal,
}
FLOAT_ONLY_BINARY = ("safe_div", "arctan2", "logaddexp")
BITWISE = ("bitwise_and", "bitwise_or", "bitwise_xor")
COMPARE = ("less", "equal", "greater_equal")
NON_SMOOTH_UNARY = ("floor", "round", "sign")
REDUCTIONS = {
    "sum": jnp.sum,
    "prod": jnp.prod,
    "mean": jnp.mean,
    "max": jnp.max,
    "min": jnp.min,
    "logsumexp": special.logsumexp,
    "any": jnp.any,
    "all": jnp.all,
}


def _unary(name):
    return lambda x: (UNARY_FLOAT if x.dtype.kind == "f" else UNARY_INT)[name](x)


def _int32(x):
    # Index results are int64 when x64 is on; the generator tracks one integer dtype.
    return x.astype(jnp.int32) if x.dtype == np.int64 else x


def _reduce(x, name, axis, keepdims):
    return _int32(REDUCTIONS[name](x, axis=axis, keepdims=keepdims))


def _argreduce(x, name, axis):
    return _int32((jnp.argmax if name == "argmax" else jnp.argmin)(x, axis=axis))


def _update(x, values, how, index):
    ref = jnp.asarray(x).at[_index(index)]
    return getattr(ref, how)(values)


def _index(index):
    # Index arrays travel in params as tuples (params must be hashable); rebuild them.
    if isinstance(index, tuple) and index and index[0] == "array":
        return np.asarray(index[1], dtype=np.int32)
    if isinstance(index, tuple) and index and index[0] == "slices":
        return tuple(slice(*s) for s in index[1])
    return index


def _sort_like(x, how, axis):
    if how == "sort":
        return jnp.sort(x, axis=axis)
    if how == "argsort":
        return _int32(jnp.argsort(x, axis=axis))
    return jnp.take_along_axis(x, jnp.argsort(x, axis=axis), axis=axis)


def _cumulative(x, how, axis, reverse):
    fun = {"cumsum": lax.cumsum, "cumprod": lax.cumprod, "cummax": lax.cummax}[how]
    return fun(x, axis=axis, reverse=reverse)


def _cond(x, pred_source, true_op, false_op):
    pred = jnp.sum(jnp.asarray(pred_source, jnp.float32)) > 0.5
    return lax.cond(pred, _unary(true_op), _unary(false_op), x)


def _switch(x, index_source, ops):
    index = jnp.sum(jnp.asarray(index_source, jnp.int32))
    return lax.switch(index, [_unary(op) for op in ops], x)


def _fori(x, trips, op):
    def body(i, carry):
        return (_unary(op)(carry) + i).astype(carry.dtype)

    return lax.fori_loop(0, trips, body, x)


def _scan(xs, init, op, reverse):
    def body(carry, x):
        new = (_unary(op)(carry) + x).astype(carry.dtype)
        return new, carry * x

    carry, ys = lax.scan(body, init, xs, reverse=reverse)
    return ys + carry


def _while(x, trips, op):
    def cond(state):
        return state[0] < trips

    def body(state):
        return state[0] + 1, _unary(op)(state[1])

    return lax.while_loop(cond, body, (0, x))[1]


def _random(x, seed, fold, kind):
    key = fg.random.PRNGKey(seed)
    if fold is not None:
        key = fg.random.fold_in(key, jnp.sum(jnp.asarray(fold, jnp.int32)))
    draw = fg.random.normal if kind == "normal" else fg.random.uniform
    return x + draw(key, x.shape, x.dtype)


def _dynamic_slice(x, start_source, offsets, sizes):
    base = jnp.sum(jnp.asarray(start_source, jnp.int32)) if start_source is not None else 0
    return lax.dynamic_slice(x, [base + o for o in offsets], sizes)


def _dynamic_update_slice(x, update, start_source, offsets):
    base = jnp.sum(jnp.asarray(start_source, jnp.int32)) if start_source is not None else 0
    return lax.dynamic_update_slice(x, update, [base + o for o in offsets])


OPS: dict[str, Callable[..., Any]] = {
    "unary": lambda x, name: _unary(name)(x),
    "binary": lambda x, y, name: BINARY[name](x, y),
    "binary_literal": lambda x, name, literal: BINARY[name](x, literal),
    "logical_not": jnp.logical_not,
    "where": jnp.where,
    "where_positive": lambda c, x, y: jnp.where(c > 0, x, y),
    "astype": lambda x, dtype: jnp.asarray(x).astype(dtype),
    "reduce": _reduce,
    "argreduce": _argreduce,
    "reshape": lambda x, shape: jnp.reshape(x, shape),
    "expand_dims": lambda x, axis: jnp.expand_dims(x, axis),
    "squeeze": lambda x, axes: jnp.squeeze(x, axes),
    "transpose": lambda x, perm: jnp.transpose(x, perm),
    "broadcast_to": lambda x, shape: jnp.broadcast_to(x, shape),
    "flip": lambda x, axis: jnp.flip(x, axis),
    "getitem": lambda x, index: jnp.asarray(x)[_index(index)],
    "update": _update,
    "update_literal": lambda x, how, index, value: _update(x, value, how, index),
    "take_along_axis": lambda x, indices, axis: jnp.take_along_axis(
        x, np.asarray(indices[1], np.int32).reshape(indices[0]), axis=axis
    ),
    "dot_general": lambda x, y, dims: lax.dot_general(x, y, dims),
    "matmul": jnp.matmul,
    "concatenate": lambda x, y, axis: jnp.concatenate([x, y], axis=axis),
    "stack": lambda x, y, axis: jnp.stack([x, y], axis=axis),
    "sort": _sort_like,
    "cumulative": _cumulative,
    "cond": _cond,
    "switch": _switch,
    "fori_loop": _fori,
    "scan": _scan,
    "while_loop": _while,
    "random": lambda x, seed, kind: _random(x, seed, None, kind),
    "random_fold": lambda x, fold, seed, kind: _random(x, seed, fold, kind),
    "dynamic_slice": lambda x, offsets, sizes: _dynamic_slice(x, None, offsets, sizes),
    "dynamic_slice_traced": _dynamic_slice,
    "dynamic_update_slice": lambda x, u, offsets: _dynamic_update_slice(x, u, None, offsets),
    "dynamic_update_slice_traced": _dynamic_update_slice,
    "nested_jit": lambda x, name: fg.jit(_unary(name))(x),
}


# ---------------------------------------------------------------------------------------
# The generator: a Builder holds the pool of avals while hypothesis draws each step.


# Where a value sits while a program is drawn: ("input", i) or ("step", j). Inputs may be
# added after steps, so positions in the finished Program are assigned by `finish`.
Ref = tuple[str, int]


class Builder:
    def __init__(self, draw, profile: Profile):
        self.draw, self.profile = draw, profile
        self.inputs: list[Aval] = []
        self.steps: list[tuple[Step, Aval]] = []

    @property
    def avals(self) -> list[Aval]:
        return self.inputs + [aval for _, aval in self.steps]

    def dtype(self) -> str:
        return self.draw(st.sampled_from(self.profile.dtypes))

    def shape(self, max_rank: int = 3) -> tuple[int, ...]:
        rank = self.draw(st.integers(0, max_rank))
        return tuple(self.draw(st.sampled_from(DIMS)) for _ in range(rank))

    def new_input(self, shape, dtype) -> Ref:
        """Add an input. Smooth programs take float64 inputs only (so that every
        input can be perturbed), converted by a step when another dtype is needed."""
        if self.profile.smooth and dtype != "float64":
            converted = Aval(tuple(shape), dtype)
            self.add("astype", [self.new_input(shape, "float64")], [dtype], converted)
            return ("step", len(self.steps) - 1)
        self.inputs.append(Aval(tuple(shape), dtype))
        return ("input", len(self.inputs) - 1)

    def pick(self, accept=lambda aval: True) -> Ref | None:
        """A pool reference (("input", i) or ("step", j)) whose aval passes `accept`."""
        refs = [("input", i) for i, a in enumerate(self.inputs) if accept(a)]
        refs += [("step", j) for j, (_, a) in enumerate(self.steps) if accept(a)]
        if not refs:
            return None
        # Prefer recent results, so programs are chains rather than fans of inputs.
        prefer_recent = self.draw(st.booleans())
        if prefer_recent and any(r[0] == "step" for r in refs):
            refs = [r for r in refs if r[0] == "step"][-3:]
        return self.draw(st.sampled_from(refs))

    def aval(self, ref) -> Aval:
        kind, n = ref
        return self.inputs[n] if kind == "input" else self.steps[n][1]

    def partner(self, shape, dtype) -> Ref:
        """An operand of exactly this aval: an existing value or a fresh input."""
        existing = self.pick(lambda a: a.shape == tuple(shape) and a.dtype == dtype)
        if existing is not None and self.draw(st.booleans()):
            return existing
        return self.new_input(shape, dtype)

    def add(self, op: str, refs, params, out: Aval) -> None:
        self.steps.append((Step(op, tuple(refs), tuple(params)), out))

    def finish(self, outputs) -> Program:
        n_in = len(self.inputs)

        def position(ref):
            return ref[1] if ref[0] == "input" else n_in + ref[1]

        steps = tuple(
            Step(s.op, tuple(position(r) for r in s.args), s.params) for s, _ in self.steps
        )
        return Program(
            tuple(self.inputs), steps, tuple(position(r) for r in outputs), tuple(self.avals)
        )


def _broadcast_shape(a, b):
    return tuple(np.broadcast_shapes(a, b))


def _broadcasts_to(shape, target) -> bool:
    if len(shape) > len(target):
        return False
    return all(d in (1, t) for d, t in zip(shape[::-1], target[::-1]))


def _result_dtype(*dtypes) -> str:
    order = ("bool", "int32", "float16", "float32", "float64")
    return max(dtypes, key=order.index)


def _axes_subset(draw, rank):
    return tuple(sorted(draw(st.sets(st.integers(0, rank - 1), max_size=rank)))) if rank else ()


def gen_unary(b: Builder):
    ref = b.pick(lambda a: a.dtype != "bool")
    if ref is None:
        return
    aval = b.aval(ref)
    names = list(UNARY_FLOAT if aval.is_float else UNARY_INT)
    if b.profile.smooth:
        names = [n for n in names if n not in NON_SMOOTH_UNARY or b.draw(st.booleans())]
    b.add("unary", [ref], [b.draw(st.sampled_from(names))], aval)


def gen_binary(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    if x.dtype == "bool":
        names = [n for n in BINARY if n in BITWISE or n in COMPARE]
    elif x.is_float:
        names = [n for n in BINARY if n not in BITWISE]
    else:
        names = [n for n in BINARY if n not in FLOAT_ONLY_BINARY]
    if b.profile.smooth:
        # arctan2 has no derivative at (0, 0), which an empty sum reaches exactly.
        names = [n for n in names if n not in COMPARE and n != "arctan2"]
    name = b.draw(st.sampled_from(names))
    how = b.draw(st.sampled_from(["literal", "pool", "fresh"]))
    out_dtype = "bool" if name in COMPARE else x.dtype
    if how == "literal" and x.dtype != "bool":
        literal = b.draw(
            st.sampled_from([2, -1, 0])
            if not x.is_float
            else st.sampled_from([0.5, -1.5, 2.0, 0.0])
        )
        if name in FLOAT_ONLY_BINARY:
            literal = float(literal)
        b.add("binary_literal", [ref], [name, literal], Aval(x.shape, out_dtype))
        return
    # A partner that broadcasts against x: a suffix of x's shape with some axes set to 1,
    # possibly with extra leading axes.
    start = b.draw(st.integers(0, len(x.shape)))
    suffix = tuple(1 if b.draw(st.integers(0, 3)) == 0 else d for d in x.shape[start:])
    lead = ()
    if start == 0:
        lead = tuple(b.draw(st.sampled_from([1, 2])) for _ in range(b.draw(st.integers(0, 1))))
    shape = lead + suffix
    dtype = x.dtype
    if not b.profile.smooth and name in ("add", "sub", "mul", "maximum", "minimum"):
        dtype = b.draw(st.sampled_from(b.profile.dtypes))
        if dtype == "bool" and x.dtype == "bool" and name == "sub":
            dtype = "int32"
    if name in FLOAT_ONLY_BINARY:
        dtype = x.dtype
    other = b.partner(shape, dtype) if how == "pool" else b.new_input(shape, dtype)
    if name not in COMPARE:
        out_dtype = _result_dtype(x.dtype, dtype)
    b.add("binary", [ref, other], [name], Aval(_broadcast_shape(x.shape, shape), out_dtype))


def gen_where(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    other = b.partner(x.shape, x.dtype)
    if b.profile.smooth:
        # A float selector keeps every input differentiable.
        b.add("where_positive", [b.new_input(x.shape, x.dtype), ref, other], [], x)
        return
    cond = b.pick(lambda a: a.dtype == "bool" and _broadcasts_to(a.shape, x.shape))
    if cond is None:
        cond = b.new_input(x.shape, "bool")
    b.add("where", [cond, ref, other], [], x)


def gen_astype(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    dtype = b.draw(st.sampled_from(b.profile.dtypes))
    b.add("astype", [ref], [dtype], Aval(x.shape, dtype))


def gen_reduce(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    axes = _axes_subset(b.draw, len(x.shape)) if b.draw(st.booleans()) else None
    reduced = x.shape if axes is None else tuple(x.shape[a] for a in axes)
    empty = math.prod(reduced) == 0
    if x.dtype == "bool":
        names = ["any", "all", "sum"]
    else:
        names = ["sum", "prod"] + ([] if empty else ["max", "min", "mean"])
        if x.is_float and not empty:
            names.append("logsumexp")
    non_empty = [a for a, d in enumerate(x.shape) if d]
    if b.draw(st.integers(0, 4)) == 0 and non_empty and x.dtype != "bool":
        axis = b.draw(st.sampled_from(non_empty))
        out = x.shape[:axis] + x.shape[axis + 1 :]
        which = b.draw(st.sampled_from(["argmax", "argmin"]))
        b.add("argreduce", [ref], [which, axis], Aval(out, "int32"))
        return
    name = b.draw(st.sampled_from(names))
    keepdims = b.draw(st.booleans())
    kept = set(range(len(x.shape))) if axes is None else set(axes)
    shape = tuple(
        (1 if i in kept else d) for i, d in enumerate(x.shape) if keepdims or i not in kept
    )
    dtype = {"any": "bool", "all": "bool"}.get(name, x.dtype)
    if x.dtype == "bool" and name == "sum":
        dtype = "int32"
    if name == "mean" and not x.is_float:
        dtype = "float64" if "float64" in b.profile.dtypes else "float32"
    b.add("reduce", [ref], [name, axes, keepdims], Aval(shape, dtype))


def _factorizations(size, rank):
    if rank == 0:
        return [()] if size == 1 else []
    if rank == 1:
        return [(size,)]
    out = []
    for d in range(0 if size == 0 else 1, size + 1 if size else 4):
        if (size == 0 and d >= 0) or (d and size % d == 0):
            for rest in _factorizations(size // d if d else 0, rank - 1):
                out.append((d,) + rest)
    return out


def gen_reshape(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    kind = b.draw(
        st.sampled_from(["reshape", "expand_dims", "squeeze", "transpose", "flip", "broadcast_to"])
    )
    rank = len(x.shape)
    if kind == "reshape":
        options = [s for r in range(4) for s in _factorizations(x.size, r)][:40]
        if not options:
            return
        shape = b.draw(st.sampled_from(options))
        params = shape
        if shape and x.size and b.draw(st.booleans()):
            minus = b.draw(st.integers(0, len(shape) - 1))
            params = shape[:minus] + (-1,) + shape[minus + 1 :]
        b.add("reshape", [ref], [params], Aval(shape, x.dtype))
    elif kind == "expand_dims" and rank < 4:
        axis = b.draw(st.integers(-rank - 1, rank))
        shape = list(x.shape)
        shape.insert(axis % (rank + 1), 1)
        b.add("expand_dims", [ref], [axis], Aval(tuple(shape), x.dtype))
    elif kind == "squeeze":
        ones = [i for i, d in enumerate(x.shape) if d == 1]
        if not ones:
            return
        axes = tuple(b.draw(st.sets(st.sampled_from(ones), min_size=1)))
        shape = tuple(d for i, d in enumerate(x.shape) if i not in axes)
        b.add("squeeze", [ref], [axes], Aval(shape, x.dtype))
    elif kind == "transpose":
        perm = tuple(b.draw(st.permutations(range(rank))))
        b.add("transpose", [ref], [perm], Aval(tuple(x.shape[p] for p in perm), x.dtype))
    elif kind == "flip" and rank:
        axis = b.draw(st.integers(0, rank - 1))
        b.add("flip", [ref], [axis], x)
    elif kind == "broadcast_to" and rank < 3:
        lead = tuple(
            b.draw(st.sampled_from([0, 1, 2, 3])) for _ in range(b.draw(st.integers(0, 1)))
        )
        shape = lead + tuple(b.draw(st.sampled_from([d, 2])) if d == 1 else d for d in x.shape)
        b.add("broadcast_to", [ref], [shape], Aval(shape, x.dtype))


def _slices(b: Builder, shape):
    out, result = [], []
    for d in shape:
        start = b.draw(st.integers(-d - 1, d + 1))
        stop = b.draw(st.one_of(st.none(), st.integers(-d - 1, d + 1)))
        step = b.draw(st.sampled_from([1, 1, 2, -1, -2]))
        out.append((start, stop, step))
        result.append(len(range(*slice(start, stop, step).indices(d))))
    return tuple(out), tuple(result)


def gen_index(b: Builder):
    ref = b.pick(lambda a: len(a.shape) >= 1)
    if ref is None:
        return
    x = b.aval(ref)
    kind = b.draw(st.sampled_from(["int", "slices", "array", "take_along"]))
    if kind == "int" and x.shape[0]:
        i = b.draw(st.integers(-x.shape[0], x.shape[0] - 1))
        b.add("getitem", [ref], [i], Aval(x.shape[1:], x.dtype))
    elif kind == "slices":
        slices, shape = _slices(b, x.shape[: b.draw(st.integers(1, len(x.shape)))])
        b.add("getitem", [ref], [("slices", slices)], Aval(shape + x.shape[len(shape) :], x.dtype))
    elif kind == "array" and x.shape[0]:
        # Out-of-range indices are legal and clamp (documented); they must agree everywhere.
        n = b.draw(st.integers(0, 4))
        idx = tuple(b.draw(st.integers(-x.shape[0] - 2, x.shape[0] + 2)) for _ in range(n))
        b.add("getitem", [ref], [("array", idx)], Aval((n,) + x.shape[1:], x.dtype))
    elif kind == "take_along" and x.shape[-1]:
        axis = len(x.shape) - 1
        n = b.draw(st.integers(0, 3))
        rng = np.random.default_rng(b.draw(st.integers(0, 2**16)))
        idx = rng.integers(0, x.shape[-1], size=x.shape[:-1] + (n,))
        b.add(
            "take_along_axis",
            [ref],
            [(idx.shape, tuple(idx.ravel().tolist())), axis],
            Aval(x.shape[:-1] + (n,), x.dtype),
        )


def gen_update(b: Builder):
    ref = b.pick(lambda a: len(a.shape) >= 1 and a.dtype != "bool")
    if ref is None:
        return
    x = b.aval(ref)
    hows = ["set", "add", "multiply", "min", "max"]
    how = b.draw(st.sampled_from(hows))
    kind = b.draw(st.sampled_from(["int", "slices", "array"]))
    if kind == "int":
        # Scatters drop out-of-range updates (documented), so an index past the end is legal.
        index = b.draw(st.integers(-x.shape[0] - 1, x.shape[0] + 1))
        if not -x.shape[0] <= index < x.shape[0]:
            index = ("array", (index,))
            target = (1,) + x.shape[1:]
        else:
            target = x.shape[1:]
    elif kind == "slices":
        slices, shape = _slices(b, x.shape[:1])
        index, target = ("slices", slices), shape + x.shape[1:]
    else:
        # In-range positions and one or two past the end (dropped); for `set`, no two may
        # name the same element, since duplicates make `set` order-dependent (unspecified,
        # as in JAX).
        rows = x.shape[0]
        pool = st.integers(-rows, rows + 1)
        same_element = lambda i: i % rows if rows and i < rows else i  # noqa: E731
        unique = same_element if how == "set" else None
        chosen = b.draw(st.lists(pool, max_size=3, unique_by=unique))
        index, target = ("array", tuple(chosen)), (len(chosen),) + x.shape[1:]
    if b.draw(st.booleans()):
        value = 1.5 if x.is_float else 2
        b.add("update_literal", [ref], [how, index, value], x)
    else:
        b.add("update", [ref, b.partner(target, x.dtype)], [how, index], x)


def gen_dot(b: Builder):
    ref = b.pick(lambda a: len(a.shape) >= 1 and a.dtype != "bool")
    if ref is None:
        return
    x = b.aval(ref)
    rank = len(x.shape)
    if b.draw(st.booleans()):
        k = x.shape[-1]
        right = (k,) if b.draw(st.booleans()) else (k, b.draw(st.sampled_from(DIMS)))
        if rank >= 3 and len(right) == 2 and b.draw(st.booleans()):
            right = x.shape[:-2] + right
        y = b.partner(right, x.dtype)
        out = np.broadcast_shapes(x.shape[:-2], right[:-2]) if len(right) > 2 else x.shape[:-2]
        shape = (
            tuple(out)
            + ((x.shape[-2],) if rank >= 2 else ())
            + (right[-1:] if len(right) >= 2 else ())
        )
        b.add("matmul", [ref, y], [], Aval(shape, x.dtype))
        return
    axes = list(range(rank))
    contract = _axes_subset(b.draw, rank)
    free = [a for a in axes if a not in contract]
    batch = tuple(a for a in free if b.draw(st.integers(0, 2)) == 0)
    x_free = [a for a in free if a not in batch]
    y_free = tuple(b.draw(st.sampled_from(DIMS)) for _ in range(b.draw(st.integers(0, 1))))
    # y's axes: batch dims, contracting dims, its free dims, in a random order.
    pieces = (
        [("b", a) for a in batch]
        + [("c", a) for a in contract]
        + [("f", d) for d in range(len(y_free))]
    )
    order = b.draw(st.permutations(pieces))
    y_shape = tuple(x.shape[a] if kind != "f" else y_free[a] for kind, a in order)
    y_contract = tuple(order.index(("c", a)) for a in contract)
    y_batch = tuple(order.index(("b", a)) for a in batch)
    dims = ((tuple(contract), y_contract), (batch, y_batch))
    y = b.partner(y_shape, x.dtype)
    shape = tuple(x.shape[a] for a in batch) + tuple(x.shape[a] for a in x_free) + y_free
    b.add("dot_general", [ref, y], [dims], Aval(shape, x.dtype))


def gen_join(b: Builder):
    ref = b.pick()
    if ref is None:
        return
    x = b.aval(ref)
    if b.draw(st.booleans()) and x.shape:
        axis = b.draw(st.integers(0, len(x.shape) - 1))
        extra = b.draw(st.sampled_from(DIMS))
        other = x.shape[:axis] + (extra,) + x.shape[axis + 1 :]
        shape = x.shape[:axis] + (x.shape[axis] + extra,) + x.shape[axis + 1 :]
        b.add("concatenate", [ref, b.partner(other, x.dtype)], [axis], Aval(shape, x.dtype))
    elif len(x.shape) < 3:
        axis = b.draw(st.integers(0, len(x.shape)))
        shape = x.shape[:axis] + (2,) + x.shape[axis:]
        b.add("stack", [ref, b.partner(x.shape, x.dtype)], [axis], Aval(shape, x.dtype))


def gen_sort(b: Builder):
    ref = b.pick(lambda a: len(a.shape) >= 1 and a.dtype != "bool")
    if ref is None:
        return
    x = b.aval(ref)
    axis = b.draw(st.integers(-len(x.shape), len(x.shape) - 1))
    if b.draw(st.booleans()):
        how = b.draw(st.sampled_from(["sort", "argsort", "take_sorted"]))
        b.add("sort", [ref], [how, axis], Aval(x.shape, "int32" if how == "argsort" else x.dtype))
    else:
        how = b.draw(st.sampled_from(["cumsum", "cumprod", "cummax"]))
        b.add("cumulative", [ref], [how, axis % len(x.shape), b.draw(st.booleans())], x)


def gen_control(b: Builder):
    ref = b.pick(lambda a: a.dtype != "bool")
    if ref is None:
        return
    x = b.aval(ref)
    names = list(UNARY_FLOAT if x.is_float else UNARY_INT)
    if b.profile.smooth:
        names = [n for n in names if n not in NON_SMOOTH_UNARY]
    op = lambda: b.draw(st.sampled_from(names))  # noqa: E731
    kinds = ["cond", "switch", "fori_loop", "scan", "nested_jit"]
    if not b.profile.smooth:
        kinds.append("while_loop")
    kind = b.draw(st.sampled_from(kinds))
    if kind == "cond":
        source = b.pick(lambda a: a.dtype != "bool" or not b.profile.smooth) or ref
        b.add("cond", [ref, source], [op(), op()], x)
    elif kind == "switch":
        if b.profile.smooth:
            source = b.new_input((), "float64")
        else:
            source = b.pick(lambda a: not a.is_float) or b.new_input((), "int32")
        b.add("switch", [ref, source], [(op(), op(), op())], x)
    elif kind == "fori_loop":
        b.add("fori_loop", [ref], [b.draw(st.integers(0, 3)), op()], x)
    elif kind == "while_loop":
        b.add("while_loop", [ref], [b.draw(st.integers(0, 3)), op()], x)
    elif kind == "nested_jit":
        b.add("nested_jit", [ref], [op()], x)
    elif x.shape:
        init = b.partner(x.shape[1:], x.dtype)
        b.add("scan", [ref, init], [op(), b.draw(st.booleans())], x)


def gen_random(b: Builder):
    ref = b.pick(lambda a: a.is_float)
    if ref is None:
        return
    x = b.aval(ref)
    seed = b.draw(st.integers(0, 2**31 - 1))
    kind = b.draw(st.sampled_from(["normal", "uniform"]))
    fold = b.pick(lambda a: a.dtype == "int32") if not b.profile.smooth else None
    if fold is not None and b.draw(st.booleans()):
        b.add("random_fold", [ref, fold], [seed, kind], x)
    else:
        b.add("random", [ref], [seed, kind], x)


def gen_dynamic(b: Builder):
    ref = b.pick(lambda a: len(a.shape) >= 1)
    if ref is None:
        return
    x = b.aval(ref)
    offsets = tuple(b.draw(st.integers(-2, d + 1)) for d in x.shape)  # clamped starts
    traced = None
    if not b.profile.smooth and b.draw(st.booleans()):
        traced = b.pick(lambda a: a.dtype == "int32") or b.new_input((), "int32")
    if b.draw(st.booleans()):
        sizes = tuple(b.draw(st.integers(0, d)) for d in x.shape)
        refs = [ref] if traced is None else [ref, traced]
        op = "dynamic_slice" if traced is None else "dynamic_slice_traced"
        b.add(op, refs, [offsets, sizes], Aval(sizes, x.dtype))
    else:
        sizes = tuple(b.draw(st.integers(0, d)) for d in x.shape)
        update = b.partner(sizes, x.dtype)
        refs = [ref, update] if traced is None else [ref, update, traced]
        op = "dynamic_update_slice" if traced is None else "dynamic_update_slice_traced"
        b.add(op, refs, [offsets], x)


GENERATORS = [
    gen_unary,
    gen_binary,
    gen_reduce,
    gen_dot,
    gen_index,
    gen_update,
    gen_sort,
    gen_control,
    gen_reshape,
    gen_where,
    gen_astype,
    gen_join,
    gen_random,
    gen_dynamic,
]


@st.composite
def programs(draw, profile: Profile = ANY, max_steps: int = 8) -> Program:
    """A random well-typed program of up to `max_steps` ops drawn from the whole op set."""
    b = Builder(draw, profile)
    b.new_input(b.shape(), b.dtype())
    for _ in range(draw(st.integers(3, max_steps))):
        draw(st.sampled_from(GENERATORS))(b)
    refs = [("input", i) for i in range(len(b.inputs))] + [("step", j) for j in range(len(b.steps))]
    last = refs[-1]
    outputs = [last]
    if len(refs) > 1 and draw(st.booleans()):
        outputs.append(draw(st.sampled_from(refs[:-1])))
    if profile.smooth:
        outputs = [r for r in outputs if b.aval(r).is_float]
        if not outputs:
            b.add("astype", [last], ["float64"], Aval(b.aval(last).shape, "float64"))
            outputs = [("step", len(b.steps) - 1)]
    return b.finish(outputs)


def make_inputs(program: Program, seed: int, batch: int | None = None, axes=None):
    """Concrete NumPy inputs for `program`; some are non-contiguous views, as a user's
    sliced or transposed arrays are. With `batch`, each input gets a batch axis at the
    position `axes` gives (None: unbatched)."""
    rng = np.random.default_rng(seed)
    out = []
    for n, aval in enumerate(program.inputs):
        axis = None if axes is None else axes[n]
        shape = aval.shape if axis is None else aval.shape[:axis] + (batch,) + aval.shape[axis:]
        out.append(_draw_array(rng, shape, aval.dtype))
    return out


def _draw_array(rng, shape, dtype):
    if dtype == "bool":
        value = rng.random(shape) < 0.5
    elif dtype == "int32":
        value = rng.integers(-4, 5, size=shape)
    else:
        value = rng.uniform(-2.0, 2.0, size=shape)
    value = np.asarray(value).astype(dtype)
    layout = rng.integers(0, 3)
    if layout == 1 and value.ndim:
        # A strided view into a larger buffer.
        big = np.empty(value.shape[:-1] + (2 * value.shape[-1],), dtype)
        view = big[..., ::2]
        view[...] = value
        return view
    if layout == 2 and value.ndim >= 2:
        return np.asfortranarray(value)
    return value
