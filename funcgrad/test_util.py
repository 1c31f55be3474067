"""Testing helpers for users and for funcgrad's own tests: `check_grads`, as in
`jax.test_util`, compares forward and reverse mode against central finite differences;
`jit_everything` puts every public function under jit, so that a whole test suite checks
compiled programs (FUNCGRAD_TEST_JIT=1 in funcgrad's own tests)."""

from __future__ import annotations

import collections
import contextlib
import functools
import importlib
import os
import threading
from typing import Callable, NamedTuple, Sequence

import numpy as np

from funcgrad import api
from funcgrad.compiler.jit import default_jit_backend
from funcgrad.config import config
from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.errors import (
    ConcretizationTypeError,
    NonConcreteBooleanIndexError,
    TracerArrayConversionError,
    TracerIntegerConversionError,
)
from funcgrad.core.source_info import api_boundary
from funcgrad.core.trace import EvalTrace, Tracer, current_trace
from funcgrad.runtime.array import Array
from funcgrad.tree_util import tree_flatten, tree_map, tree_unflatten

__all__ = [
    "check_grads",
    "check_jvp",
    "check_vjp",
    "auto_jit",
    "is_auto_jitted",
    "jit_everything",
    "jit_mode_requested",
    "assert_agrees_with_op_by_op",
]

_DEFAULT_EPS = {np.dtype(np.float64): 1e-6, np.dtype(np.complex128): 1e-6}
_DEFAULT_TOL = {
    np.dtype(np.float64): 1e-5,
    np.dtype(np.float32): 2e-2,
    np.dtype(np.float16): 1e-1,
    np.dtype(np.complex128): 1e-5,
    np.dtype(np.complex64): 2e-2,
}


def _dtype_of(args) -> np.dtype:
    leaves, _ = tree_flatten(args)
    return max((np.asarray(leaf).dtype for leaf in leaves), key=lambda d: d.itemsize)


def _wide(x) -> np.ndarray:
    """x in float64, or complex128 for complex x: the precision the checks compute in."""
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _inner(xs, ys) -> float:
    # The real pairing Re(sum u * v), under which vjp is the adjoint of jvp for complex
    # values too (JAX's convention).
    pairs = zip(tree_flatten(xs)[0], tree_flatten(ys)[0])
    return float(sum(np.real(np.sum(_wide(x) * _wide(y))) for x, y in pairs))


def _random_like(rng, tree):
    def draw(x):
        shape, dtype = np.shape(x), np.asarray(x).dtype
        values = rng.standard_normal(shape)
        if np.issubdtype(dtype, np.complexfloating):
            values = values + 1j * rng.standard_normal(shape)
        return values.astype(dtype)

    return tree_map(draw, tree)


def _scaled_add(tree, direction, scale):
    def step(x, d):
        return (_wide(x) + scale * _wide(d)).astype(np.asarray(x).dtype)

    return tree_map(step, tree, direction)


def _assert_close(name, got, want, atol, rtol):
    got_leaves, want_leaves = tree_flatten(got)[0], tree_flatten(want)[0]
    for g, w in zip(got_leaves, want_leaves):
        np.testing.assert_allclose(
            _wide(g), _wide(w), atol=atol, rtol=rtol, err_msg=f"check_grads: {name}"
        )


def check_jvp(f: Callable, args: Sequence, *, atol=None, rtol=None, eps=None, seed=0) -> None:
    """jvp(f) along a random direction equals a central finite difference of f."""
    dtype = _dtype_of(args)
    eps = eps or _DEFAULT_EPS.get(dtype, 1e-3)
    tol = _DEFAULT_TOL.get(dtype, 2e-2)
    rng = np.random.default_rng(seed)
    direction = _random_like(rng, tuple(args))
    _, tangent = api.jvp(f, tuple(args), direction)
    plus = f(*_scaled_add(tuple(args), direction, eps))
    minus = f(*_scaled_add(tuple(args), direction, -eps))
    numeric = tree_map(
        lambda p, m: (_wide(p) - _wide(m)) / (2 * eps),
        plus,
        minus,
    )
    _assert_close("jvp vs finite differences", tangent, numeric, atol or tol, rtol or tol)


def check_vjp(f: Callable, args: Sequence, *, atol=None, rtol=None, seed=0) -> None:
    """<u, J v> from jvp equals <J^T u, v> from vjp for random u, v."""
    dtype = _dtype_of(args)
    tol = _DEFAULT_TOL.get(dtype, 2e-2)
    rng = np.random.default_rng(seed + 1)
    direction = _random_like(rng, tuple(args))
    out, tangent = api.jvp(f, tuple(args), direction)
    _, vjp_fun = api.vjp(f, *args)
    cotangent = _random_like(rng, out)
    pulled = vjp_fun(cotangent)
    forward, backward = _inner(cotangent, tangent), _inner(pulled, direction)
    scale = max(1.0, abs(forward))
    np.testing.assert_allclose(
        backward / scale,
        forward / scale,
        atol=atol or tol,
        rtol=rtol or tol,
        err_msg="check_grads: vjp vs jvp",
    )


def check_grads(
    f: Callable, args: Sequence, order: int, modes=("fwd", "rev"), atol=None, rtol=None, eps=None
) -> None:
    """Check derivatives of `f` at `args` up to `order`, in forward and/or reverse mode.

    Each order differentiates the previous order's jvp (forward) or vjp (reverse) along
    fixed random directions, as `jax.test_util.check_grads` does.

    >>> check_grads(jnp.sin, (1.0,), order=2)              # doctest: +SKIP
    """
    args = tuple(args)
    if "fwd" in modes:
        check_jvp(f, args, atol=atol, rtol=rtol, eps=eps)
        if order > 1:
            direction = _random_like(np.random.default_rng(order), args)
            check_grads(
                lambda *x: api.jvp(f, x, direction)[1], args, order - 1, ("fwd",), atol, rtol, eps
            )
    if "rev" in modes:
        check_vjp(f, args, atol=atol, rtol=rtol)
        if order > 1:
            out = f(*args)
            flat, tree = tree_flatten(out)
            cotangent = tree_unflatten(
                tree, [np.ones(np.shape(x), np.asarray(x).dtype) for x in flat]
            )
            check_grads(
                lambda *x: api.vjp(f, *x)[1](cotangent), args, order - 1, ("rev",), atol, rtol, eps
            )


# ---------------------------------------------------------------------------------------
# Jit mode: the public functions compiled wherever they are called at the top level
#
# A test written against eager funcgrad checks jit as well when every public function it calls
# goes through `funcgrad.jit`. `jit_everything` replaces the public functions of funcgrad's
# namespaces with `auto_jit` wrappers. A wrapper called at the top level (no transform
# running) jits the function per signature: array leaves of the arguments are traced, every
# other leaf (Python scalars, shapes, dtypes, strings, callables) is static and keys the cache.
# Called under a transform it runs the original, so that traced jaxprs keep their exact
# primitives. A call that jit cannot stage (its outputs are not arrays, or it needs the
# concrete values of its arrays) runs eagerly; an error the eager call raises too reaches the
# caller exactly as eager evaluation raises it.

_JIT_MODE_VARIABLE = "FUNCGRAD_TEST_JIT"

# Errors meaning "this call needs concrete values": such signatures run eagerly from then on.
_NEEDS_CONCRETE_VALUES = (
    ConcretizationTypeError,
    TracerIntegerConversionError,
    TracerArrayConversionError,
    NonConcreteBooleanIndexError,
)

# Signatures kept per wrapped function; fresh lambdas passed as static arguments would
# otherwise grow the cache without bound over a test session.
_CACHE_SIZE = 256

_NAMESPACES = (
    "funcgrad.numpy",
    "funcgrad.numpy.linalg",
    "funcgrad.lax",
    "funcgrad.lax.linalg",
    "funcgrad.nn",
    "funcgrad.scipy.special",
    "funcgrad.random",
)
# Functions about dtypes and contraction orders, not arrays: nothing to compile.
_NOT_ARRAY_MODULES = ("funcgrad.numpy.dtype_functions",)
_NOT_ARRAY_NAMES = ("einsum_path",)
# Transforms whose result is a function (jitted in turn), whose result holds a linear
# function (vjp_fun, f_jvp: jitted in turn), or that are applied directly.
_FUNCTION_TRANSFORMS = (
    "grad",
    "value_and_grad",
    "vmap",
    "jacfwd",
    "jacrev",
    "hessian",
    "checkpoint",
    "remat",
)
_LINEAR_FUNCTION_TRANSFORMS = ("vjp", "linearize")
_APPLIED_TRANSFORMS = ("jvp",)
# Array methods that return Python objects (iteration, len) or refuse (item assignment).
_EAGER_METHODS = ("__len__", "__iter__", "__setitem__")


def jit_mode_requested() -> bool:
    """Whether FUNCGRAD_TEST_JIT asks for the test suite to run with every function jitted."""
    return os.environ.get(_JIT_MODE_VARIABLE, "").lower() in ("1", "true", "on")


# Native kernels differ from NumPy's in the last bits: the LLVM math library is within 2
# ulp per function, and its sums are reassociated. Chains of such operations (with
# cancellation) stay within this many ulp of the result's largest magnitude.
_NATIVE_ULPS = 16


def assert_agrees_with_op_by_op(result, op_by_op) -> None:
    """`result`, what a function returned (compiled, in jit mode), agrees with `op_by_op`,
    the same program evaluated one primitive at a time on NumPy kernels: bit for bit, or,
    when jit runs native (LLVM or CUDA) kernels, within a few ulp of the largest
    magnitude.

    >>> assert_agrees_with_op_by_op(np.float32(1.0), np.float32(1.0))
    """
    got, want = np.asarray(result), np.asarray(op_by_op)
    assert (got.dtype, got.shape) == (want.dtype, want.shape), (got.dtype, want.dtype)
    native = jit_mode_requested() and default_jit_backend() != "numpy"
    if not native or got.dtype.kind != "f":
        np.testing.assert_array_equal(_comparable(got), _comparable(want))
        return
    eps, tiny = np.finfo(got.dtype).eps, np.finfo(got.dtype).tiny
    got, want = _comparable(got), _comparable(want)
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite], want[~finite])
    scale = np.max(np.abs(want[finite]), initial=tiny)
    np.testing.assert_allclose(got[finite], want[finite], rtol=0, atol=_NATIVE_ULPS * eps * scale)


def _comparable(x: np.ndarray) -> np.ndarray:
    # Floats compare as float64: NumPy's testing sees bfloat16 NaNs as unequal.
    return x.astype(np.float64) if dtypes.is_float(x.dtype) else x


class _NotStageable(Exception):
    """The function returned something jit cannot return: a shape, a dtype, a closure."""


class _Dispatch(threading.local):
    depth = 0


_dispatch = _Dispatch()


@contextlib.contextmanager
def _dispatching():
    # While a wrapper dispatches (traces, compiles, or falls back to eager evaluation), the
    # wrapped functions it reaches run as originals: one jit per top-level call.
    _dispatch.depth += 1
    try:
        yield
    finally:
        _dispatch.depth -= 1


def _at_top_level() -> bool:
    return (
        not _dispatch.depth
        and not config.jax_disable_jit
        and isinstance(current_trace(), EvalTrace)
    )


def _static_key(leaf):
    """A hashable stand-in for a static argument that tells apart values Python calls equal
    but funcgrad does not (1, 1.0 and True; 0.0 and -0.0); TypeError when unhashable."""
    if isinstance(leaf, (float, complex)):
        return type(leaf), repr(leaf)
    if isinstance(leaf, slice):
        return slice, _static_key(leaf.start), _static_key(leaf.stop), _static_key(leaf.step)
    hash(leaf)
    return type(leaf), leaf


class _Signature(NamedTuple):
    """A call split into its traced array leaves and the cache key of everything else."""

    key: tuple
    arrays: list
    rebuild: Callable[[Sequence], tuple]  # traced leaves -> (args, kwargs)


def _signature(args: tuple, kwargs: dict) -> _Signature | None:
    """The call's signature, or None when it cannot be keyed (a leaked tracer reaches the
    eager error path; an unhashable static or a non-array NumPy value is not keyable)."""
    leaves, treedef = tree_flatten((args, kwargs))
    positions, arrays, statics, avals = [], [], [], []
    try:
        for position, leaf in enumerate(leaves):
            if isinstance(leaf, Tracer):
                return None
            if isinstance(leaf, (Array, np.ndarray, np.generic)):
                avals.append(get_aval(leaf))
                positions.append(position)
                arrays.append(leaf)
            else:
                statics.append(_static_key(leaf))
    except TypeError:
        return None
    template = [None if i in positions else leaf for i, leaf in enumerate(leaves)]

    def rebuild(traced: Sequence) -> tuple:
        full = list(template)
        for position, value in zip(positions, traced):
            full[position] = value
        return tree_unflatten(treedef, full)

    key = (treedef, tuple(positions), tuple(statics), tuple(avals), config.jax_enable_x64)
    return _Signature(key, arrays, rebuild)


class _Staged:
    """One signature of a wrapped function: its jitted flat form and its output tree."""

    def __init__(self, fun: Callable, rebuild: Callable[[Sequence], tuple]):
        self.out_tree = None

        def staged(*arrays):
            args, kwargs = rebuild(arrays)
            leaves, self.out_tree = tree_flatten(fun(*args, **kwargs))
            if not all(isinstance(leaf, (Tracer, Array)) for leaf in leaves):
                raise _NotStageable
            return leaves

        staged.__name__ = getattr(fun, "__name__", "staged")
        staged.__qualname__ = getattr(fun, "__qualname__", staged.__name__)
        self.jitted = api.jit(staged)

    def __call__(self, arrays: list):
        outputs = self.jitted(*arrays)  # the first call traces, which sets out_tree
        return tree_unflatten(self.out_tree, outputs)


_EAGER = "eager"  # cache entry of a signature that jit cannot stage


def _call_jitted(fun: Callable, cache: collections.OrderedDict, args: tuple, kwargs: dict):
    signature = _signature(args, kwargs)
    if signature is None:
        return fun(*args, **kwargs)
    entry = cache.get(signature.key)
    if entry is None:
        entry = cache[signature.key] = _Staged(fun, signature.rebuild)
        if len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)
    cache.move_to_end(signature.key)
    if entry is _EAGER:
        return fun(*args, **kwargs)
    jit_error = None
    try:
        return entry(signature.arrays)
    except (_NotStageable, *_NEEDS_CONCRETE_VALUES):
        cache[signature.key] = _EAGER
    except Exception as error:
        jit_error = error
    # Outside the handler, so that an error eager evaluation raises too reaches the caller
    # as eager evaluation raises it, without the jit error chained to it.
    result = fun(*args, **kwargs)
    if jit_error is not None:
        jit_error.add_note(f"{_JIT_MODE_VARIABLE}: the same call succeeds without jit.")
        raise jit_error
    return result


def auto_jit(fun: Callable) -> Callable:
    """`fun`, jitted per signature when called at the top level and itself under transforms.

    Array leaves of the arguments (funcgrad and NumPy arrays, NumPy scalars) are traced; all
    other leaves are static. Calls that jit cannot stage run `fun` eagerly.

    >>> fast_sin = auto_jit(jnp.sin)                     # doctest: +SKIP
    """
    if is_auto_jitted(fun):
        return fun
    cache: collections.OrderedDict = collections.OrderedDict()

    @functools.wraps(fun)
    @api_boundary
    def auto_jitted(*args, **kwargs):
        if not _at_top_level():
            return fun(*args, **kwargs)
        with _dispatching():
            return _call_jitted(fun, cache, args, kwargs)

    auto_jitted.auto_jit_original = fun
    return auto_jitted


def is_auto_jitted(fun) -> bool:
    """Whether `fun` is an `auto_jit` wrapper."""
    return hasattr(fun, "auto_jit_original")


def _jit_returned_function(transform: Callable) -> Callable:
    """A transform whose result (grad(f), vmap(f), ...) is auto-jitted."""

    @functools.wraps(transform)
    def transform_then_jit(*args, **kwargs):
        return auto_jit(transform(*args, **kwargs))

    transform_then_jit.auto_jit_original = transform
    return transform_then_jit


def _jit_returned_linear_function(transform: Callable) -> Callable:
    """vjp or linearize: the forward pass runs as the transform runs it; the linear function
    it returns (vjp_fun, f_jvp), closing over residuals, is auto-jitted."""

    @functools.wraps(transform)
    def transform_then_jit(*args, **kwargs):
        out, linear_fun, *aux = transform(*args, **kwargs)
        return (out, auto_jit(linear_fun), *aux)

    transform_then_jit.auto_jit_original = transform
    return transform_then_jit


def _wrapped_once(fun: Callable, wrap: Callable, wrappers: dict) -> Callable:
    # One wrapper per function object, so aliases stay aliases (jnp.abs is jnp.absolute)
    # and share their cache.
    if is_auto_jitted(fun):
        return fun
    if id(fun) not in wrappers:
        wrappers[id(fun)] = (fun, wrap(fun))
    return wrappers[id(fun)][1]


def _jit_namespace(module, wrappers: dict) -> None:
    for name in module.__all__:
        value = getattr(module, name)
        if (
            not callable(value)
            or isinstance(value, type)
            or getattr(value, "__module__", None) in _NOT_ARRAY_MODULES
            or name in _NOT_ARRAY_NAMES
        ):
            continue
        setattr(module, name, _wrapped_once(value, auto_jit, wrappers))


def _jit_transforms(wrappers: dict) -> None:
    import funcgrad

    kinds = (
        (_FUNCTION_TRANSFORMS, _jit_returned_function),
        (_LINEAR_FUNCTION_TRANSFORMS, _jit_returned_linear_function),
        (_APPLIED_TRANSFORMS, auto_jit),
    )
    for names, wrap in kinds:
        for name in names:
            wrapped = _wrapped_once(getattr(api, name), wrap, wrappers)
            setattr(api, name, wrapped)
            setattr(funcgrad, name, wrapped)


def _jit_array_methods(wrappers: dict) -> None:
    from funcgrad.numpy import array_methods

    for family in array_methods._FAMILIES:
        for name, method in family.ARRAY_METHODS.items():
            if callable(method) and name not in _EAGER_METHODS:
                setattr(Array, name, _wrapped_once(method, auto_jit, wrappers))


def _jit_custom_derivatives(wrappers: dict) -> None:
    for cls in (api.custom_jvp, api.custom_vjp):
        cls.__call__ = _wrapped_once(cls.__call__, auto_jit, wrappers)


def jit_everything() -> None:
    """Jit every public function of funcgrad wherever it is called at the top level: the
    functions of funcgrad.numpy, lax, nn and scipy.special, the transforms (and the
    functions they return), custom_jvp/custom_vjp functions and the methods of Array.

    Functions imported by name before this call keep the originals. Idempotent.
    """
    wrappers: dict = {}
    for name in _NAMESPACES:
        _jit_namespace(importlib.import_module(name), wrappers)
    _jit_transforms(wrappers)
    _jit_array_methods(wrappers)
    _jit_custom_derivatives(wrappers)
