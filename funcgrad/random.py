"""funcgrad.random: random numbers from explicit keys, as `jax.random`, bit for bit.

There is no global generator. A *key* names a stream of random bits: a uint32 array of
shape (2,) from `PRNGKey(seed)` (or a typed key from `key(seed)`). Every function here is
a pure function of its key: the same key gives the same numbers, on every backend and
under every transform. To get fresh numbers, derive fresh keys with `split` (or
`fold_in`) and use each key once.

How bits are made (JAX's default, `jax_threefry_partitionable=True`): element i of an
array of bits, in row-major order, is the Threefry-2x32 hash (funcgrad/lax/random_bits.py)
of the 64-bit counter i, split into two 32-bit words, under the key; the two output words
are xored into 32 bits. `split` hashes counters 0..num-1 the same way and keeps both words
as the new keys; `fold_in(key, d)` hashes the counter (0, d).

Floats follow JAX's recipes, and for float32 they reproduce the exact values JAX computes
on CPU: the helpers below compute log, log1p, erf and erf_inv with the polynomials XLA's CPU
compiler uses, and with its fused multiply-adds (each a float64 product and sum rounded
once to float32, the rounding an FMA makes). They are elementwise lax operations, so under
jit a whole sampler is one fused kernel.

Key reuse: consuming one key twice in a traced program (two samplers, or a sampler and a
`split`, given the same traced key) raises `funcgrad.errors.KeyReuseError`, unlike JAX,
which allows it silently. `fold_in` does not consume its key. Turn the check off with
`funcgrad.config.update("funcgrad_check_key_reuse", False)`.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Sequence

import ml_dtypes
import numpy as np

from funcgrad.config import config
from funcgrad.core import dtypes
from funcgrad.core.avals import get_aval
from funcgrad.core.errors import KeyReuseError
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.core.trace import Tracer, current_trace
from funcgrad.lax import elementwise as ew
from funcgrad.lax.random_bits import threefry2x32
from funcgrad.lax.shapes import broadcasted_iota
from funcgrad.lax.sorting import sort_key_val, top_k
from funcgrad.runtime.array import Array
from funcgrad.tree_util import register_pytree_node

__all__ = [
    "PRNGKey",
    "PRNGKeyArray",
    "bernoulli",
    "bits",
    "categorical",
    "choice",
    "exponential",
    "fold_in",
    "gumbel",
    "key",
    "key_data",
    "normal",
    "permutation",
    "randint",
    "split",
    "truncated_normal",
    "uniform",
    "wrap_key_data",
]

_U32, _F32, _F64 = np.dtype(np.uint32), np.dtype(np.float32), np.dtype(np.float64)
_UINTS = {8: np.dtype(np.uint8), 16: np.dtype(np.uint16), 32: _U32, 64: np.dtype(np.uint64)}


def _jnp():
    # funcgrad.numpy imports late: it is a sibling user library, and this module must not
    # depend on its import order.
    import funcgrad.numpy as jnp

    return jnp


# ---------------------------------------------------------------------------------------
# Keys


class _KeyDtype:
    """The dtype of typed keys, spelled as JAX spells it."""

    name = "key<fry>"

    def __repr__(self) -> str:
        return self.name

    __str__ = __repr__


_KEY_DTYPE = _KeyDtype()


class PRNGKeyArray:
    """An array of typed PRNG keys (dtype key<fry>) over uint32 key data of shape
    (*shape, 2). A pytree with the key data as its one leaf, so it passes through jit,
    vmap and grad like an array.

    >>> k = key(0)
    >>> k.shape, key_data(k).shape
    ((), (2,))
    """

    __slots__ = ("_data",)

    def __init__(self, data):
        self._data = data

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(get_aval(self._data).shape[:-1])

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def dtype(self) -> _KeyDtype:
        return _KEY_DTYPE

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a single typed key (shape ())")
        return self.shape[0]

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __getitem__(self, index) -> "PRNGKeyArray":
        index = index if isinstance(index, tuple) else (index,)
        if any(i is Ellipsis for i in index):
            raise IndexError("typed key arrays do not support ... in indices")
        return PRNGKeyArray(self._data[index])

    def __repr__(self) -> str:
        return f"Array({self.shape}, dtype={_KEY_DTYPE}) overlaying:\n{self._data}"


register_pytree_node(
    PRNGKeyArray, lambda keys: ((keys._data,), None), lambda _, data: PRNGKeyArray(*data)
)


def _is_array(x) -> bool:
    return isinstance(x, (Array, Tracer, np.ndarray, np.generic))


def _ndim(x) -> int:
    return get_aval(x).ndim if _is_array(x) else np.ndim(x)


def _raw_key_data(name: str, data, *, single: bool):
    """`data` checked as uint32 key data (shape (..., 2)); a single key when `single`."""
    if not _is_array(data):
        raise TypeError(
            f"{name}: a PRNG key must be an array, got {type(data).__name__} (at "
            f"{user_location()}). Make one with funcgrad.random.PRNGKey(seed) or "
            "funcgrad.random.key(seed)."
        )
    aval = get_aval(data)
    if aval.dtype != _U32:
        raise TypeError(
            f"{name}: a PRNG key must be uint32 key data, got {aval.str_short()} (at "
            f"{user_location()}). Make keys with funcgrad.random.PRNGKey(seed); a float "
            "array is not a key."
        )
    if aval.shape[-1:] != (2,):
        raise TypeError(
            f"{name}: PRNG key data must have shape (..., 2), got {aval.str_short()} (at "
            f"{user_location()}). A key is two uint32 words, as PRNGKey(seed) returns."
        )
    if single and aval.ndim != 1:
        raise ValueError(
            f"{name} accepts a single key, but was given a key array of shape "
            f"{aval.shape[:-1]} != () (at {user_location()}). Use funcgrad.vmap for batching."
        )
    return data


def _unpack_key(name: str, key) -> tuple[Any, bool]:
    """(uint32[2] key data, whether the key was typed) of a single key."""
    if isinstance(key, PRNGKeyArray):
        return _raw_key_data(name, key._data, single=True), True
    return _raw_key_data(name, key, single=True), False


def _pack_keys(data, typed: bool):
    return PRNGKeyArray(data) if typed else data


# Each trace that consumed traced keys carries {id(key data): (key data, who, where)} in
# this attribute. The entry holds the tracer itself, so its id cannot be reused by another
# tracer while the trace lives, and the table dies with the trace.
_CONSUMED_ATTRIBUTE = "_funcgrad_random_consumed_keys"


def _consume(name: str, key):
    """Unpack a single key, recording it as used (see the module docstring)."""
    data, typed = _unpack_key(name, key)
    if config.funcgrad_check_key_reuse and isinstance(data, Tracer):
        scope = current_trace()
        used = scope.__dict__.setdefault(_CONSUMED_ATTRIBUTE, {})
        earlier = used.get(id(data))
        if earlier is not None:
            raise KeyReuseError(
                f"{name}: this PRNG key was already consumed by {earlier[1]} at {earlier[2]}; "
                f"using it again at {user_location()} would repeat the same random numbers. "
                "Split the key (k1, k2 = funcgrad.random.split(key)) and use each part once, "
                'or turn the check off with funcgrad.config.update("funcgrad_check_key_reuse", '
                "False)."
            )
        used[id(data)] = (data, name, user_location())
    return data, typed


def _seed_words(seed):
    """The two uint32 key words of an integer seed, as JAX's threefry_seed makes them:
    the seed's high and low 32 bits, where a seed has 32 bits unless x64 is on."""
    jnp = _jnp()
    if isinstance(seed, (bool, np.bool_)) or not (
        isinstance(seed, (int, np.integer))
        or (_is_array(seed) and dtypes.is_integer(get_aval(seed).dtype))
    ):
        raise TypeError(f"PRNG key seed must be an integer, got {seed!r} (at {user_location()}).")
    if isinstance(seed, (int, np.integer)):
        seed = int(seed)
        if not -(2**63) <= seed < 2**63:
            raise OverflowError(
                f"PRNG key seed {seed} does not fit in a signed 64-bit integer (at "
                f"{user_location()})."
            )
        if not config.jax_enable_x64:
            seed &= 0xFFFFFFFF  # 64-bit ints narrow to 32 bits, wrapping, when x64 is off
        words = ((seed >> 32) & 0xFFFFFFFF, seed & 0xFFFFFFFF)
        return jnp.asarray(np.array(words, _U32))
    if get_aval(seed).shape:
        raise TypeError(f"PRNG key seed must be a scalar, got {get_aval(seed).str_short()}")
    high = ew.convert_element_type(ew.shift_right_logical(seed, 32), _U32)
    low = ew.convert_element_type(seed, _U32)
    return jnp.stack([high, low])


@api_boundary
def PRNGKey(seed) -> Array:
    """A raw PRNG key: uint32 key data of shape (2,) made from an integer seed.

    >>> PRNGKey(0)
    Array([0, 0], dtype=uint32)
    """
    return _seed_words(seed)


@api_boundary
def key(seed) -> PRNGKeyArray:
    """A typed PRNG key (shape (), dtype key<fry>) made from an integer seed.

    >>> key(1)
    Array((), dtype=key<fry>) overlaying:
    [0 1]
    """
    return PRNGKeyArray(_seed_words(seed))


@api_boundary
def key_data(keys):
    """The uint32 key data under typed keys (shape (*keys.shape, 2)); raw keys as they are.

    >>> key_data(key(1))
    Array([0, 1], dtype=uint32)
    """
    if isinstance(keys, PRNGKeyArray):
        return keys._data
    return _raw_key_data("key_data", keys, single=False)


@api_boundary
def wrap_key_data(key_bits_array, *, impl: str | None = None) -> PRNGKeyArray:
    """Typed keys over uint32 key data of shape (..., 2).

    >>> wrap_key_data(PRNGKey(1)).shape
    ()
    """
    if impl not in (None, "threefry2x32"):
        raise ValueError(
            f"wrap_key_data: only the threefry2x32 implementation exists, got {impl!r}"
        )
    return PRNGKeyArray(_raw_key_data("wrap_key_data", key_bits_array, single=False))


# ---------------------------------------------------------------------------------------
# Bits


def _shape_tuple(name: str, shape) -> tuple[int, ...]:
    if isinstance(shape, (int, np.integer)):
        shape = (shape,)
    try:
        shape = tuple(int(operator.index(d)) for d in shape)
    except TypeError:
        raise TypeError(
            f"{name}: shape must be a tuple of integers, got {shape!r} (at {user_location()})"
        ) from None
    if any(d < 0 for d in shape):
        raise ValueError(
            f"{name}: shape {shape} has a negative dimension (at {user_location()}); every "
            "dimension must be >= 0."
        )
    return shape


def _counters(shape: tuple[int, ...]):
    """The two uint32 words of each element's 64-bit row-major index, in `shape`."""
    size = math.prod(shape)
    if size > 2**32:
        raise NotImplementedError(f"random arrays of more than 2**32 elements ({shape})")
    if not shape:
        return np.uint32(0), np.uint32(0)
    # Built from iotas, not a reshaped arange, so it fuses with what consumes it.
    low, stride = None, 1
    for dim in reversed(range(len(shape))):
        term = broadcasted_iota(_U32, shape, dim)
        if stride != 1:
            term = ew.mul(term, np.uint32(stride))
        low = term if low is None else ew.add(low, term)
        stride *= shape[dim]
    high = ew.mul(low, np.uint32(0))  # sizes below 2**32: the high words are all 0
    return high, low


def _key_words(data):
    from funcgrad.lax.shapes import reshape, slice

    return [reshape(slice(data, (i,), (i + 1,)), ()) for i in range(2)]


def _hash(data, shape: tuple[int, ...]):
    """Both threefry output words for the counters of `shape` under key `data`."""
    return threefry2x32(*_key_words(data), *_counters(shape))


def _random_bits(data, bit_width: int, shape: tuple[int, ...]):
    high, low = _hash(data, shape)
    if bit_width == 64:
        wide = _UINTS[64]
        high, low = ew.convert_element_type(high, wide), ew.convert_element_type(low, wide)
        return ew.bitwise_or(ew.shift_left(high, np.uint64(32)), low)
    mixed = ew.bitwise_xor(high, low)
    return mixed if bit_width == 32 else ew.convert_element_type(mixed, _UINTS[bit_width])


def _split(data, shape: tuple[int, ...]):
    return _jnp().stack(list(_hash(data, shape)), axis=-1)


@api_boundary
def split(key, num: int | tuple[int, ...] = 2):
    """`num` new keys (a leading axis; or a shape of keys) derived from `key`.

    >>> split(PRNGKey(0))
    Array([[1797259609, 2579123966],
           [ 928981903, 3453687069]], dtype=uint32)
    """
    data, typed = _consume("split", key)
    return _pack_keys(_split(data, _shape_tuple("split", num)), typed)


@api_boundary
def fold_in(key, data):
    """A new key: `key` with the 32-bit integer `data` hashed into it. Does not count as a
    use of `key` (fold different data into one key freely).

    >>> fold_in(PRNGKey(0), 7)
    Array([2716826189,  292468403], dtype=uint32)
    """
    key_words, typed = _unpack_key("fold_in", key)
    if _ndim(data):
        raise TypeError(
            f"fold_in accepts a scalar, but was given an array of shape {np.shape(data)} != () "
            f"(at {user_location()}). Use funcgrad.vmap for batching."
        )
    if _is_array(data):
        word = ew.convert_element_type(data, _U32)
    else:
        word = _jnp().asarray(data, dtype=_U32)
    high, low = threefry2x32(*_key_words(key_words), np.uint32(0), word)
    return _pack_keys(_jnp().stack([high, low]), typed)


@api_boundary
def bits(key, shape: Sequence[int] = (), dtype=None):
    """Uniformly random unsigned integers (uint32, or uint64 with x64 on, by default).

    >>> bits(PRNGKey(0), (2,))
    Array([4070199207, 4202968722], dtype=uint32)
    """
    data, _ = _consume("bits", key)
    dtype = dtypes.canonicalize_dtype(_UINTS[64] if dtype is None else dtype)
    if dtype.kind != "u":
        raise ValueError(f"dtype argument to `bits` must be an unsigned int dtype, got {dtype}")
    return _random_bits(data, dtype.itemsize * 8, _shape_tuple("bits", shape))


# ---------------------------------------------------------------------------------------
# float32 math as XLA's CPU compiler computes it. XLA fuses a multiply feeding an add into
# one fused multiply-add; `_fma` reproduces it: the product of two float32s is exact in
# float64, and the float64 sum is rounded to float32 (a second rounding that can differ
# from the FMA's single one only when the float64 sum lands exactly on a float32 tie; none
# did in the 20 million samples of five samplers compared with JAX's).


def _wide(value):
    # Bound directly: convert_element_type would narrow float64 back when x64 is off.
    if isinstance(value, (float, np.floating)):
        value = np.float32(value)
    return ew.convert_element_type_p.bind(value, new_dtype=_F64, weak_type=False)


def _fma(a, b, c):
    product = ew.mul(_wide(a), _wide(b))
    return ew.convert_element_type_p.bind(
        ew.add(product, _wide(c)), new_dtype=_F32, weak_type=False
    )


def _f32(value: float) -> np.float32:
    return np.float32(value)


def _horner_fma(x, coefficients: Sequence[float]):
    """c0 x^n + c1 x^(n-1) + ... + cn, each step a fused multiply-add."""
    acc = _f32(coefficients[0])
    for c in coefficients[1:]:
        acc = _fma(acc, x, _f32(c))
    return acc


def _where(condition, on_true, on_false):
    return _jnp().where(condition, on_true, on_false)


# Cephes' logf polynomial, as Eigen and XLA evaluate it.
_LOG_P = (
    7.0376836292e-2,
    -1.1514610310e-1,
    1.1676998740e-1,
    -1.2420140846e-1,
    1.4249322787e-1,
    -1.6668057665e-1,
    2.0000714765e-1,
    -2.4999993993e-1,
    3.3333331174e-1,
)


def _frexp(x):
    """(m, e) with x = m * 2**e and m in [0.5, 1), for normal positive float32 x, by exact
    power-of-two scaling (a binary search on the exponent) rather than by reading bits."""
    e = _f32(0.0)
    for step in (64, 32, 16, 8, 4, 2, 1):
        small = ew.lt(x, _f32(2.0**-step))
        x = _where(small, ew.mul(x, _f32(2.0**step)), x)
        e = _where(small, ew.sub(e, _f32(step)), e)
    for step in (64, 32, 16, 8, 4, 2, 1):
        large = ew.ge(x, _f32(2.0**step))
        x = _where(large, ew.mul(x, _f32(2.0**-step)), x)
        e = _where(large, ew.add(e, _f32(step)), e)
    at_least_one = ew.ge(x, _f32(1.0))
    return (
        _where(at_least_one, ew.mul(x, _f32(0.5)), x),
        _where(at_least_one, ew.add(e, _f32(1.0)), e),
    )


def _log(x):
    """Natural log of float32 `x`: x = m 2**e with m in [sqrt(1/2), sqrt(2)), then a
    degree-9 polynomial in m - 1 evaluated in three interleaved Horner chains."""
    finite = ew.min(ew.max(x, _f32(np.finfo(np.float32).tiny)), _f32(np.finfo(np.float32).max))
    mantissa, e = _frexp(finite)
    below = ew.lt(mantissa, _f32(0.707106781186547524))
    zero, one = _f32(0.0), _f32(1.0)
    t = ew.add(ew.sub(mantissa, one), _where(below, mantissa, zero))
    e = ew.sub(e, _where(below, one, zero))
    t2 = ew.mul(t, t)
    t3 = ew.mul(t2, t)
    p = _LOG_P
    y0 = _fma(_fma(t, _f32(p[0]), _f32(p[1])), t, _f32(p[2]))
    y1 = _fma(_fma(t, _f32(p[3]), _f32(p[4])), t, _f32(p[5]))
    y2 = _fma(_fma(t, _f32(p[6]), _f32(p[7])), t, _f32(p[8]))
    y = _fma(_fma(y0, t3, y1), t3, y2)
    y = _fma(y, t3, ew.mul(_f32(-2.12194440e-4), e))
    result = _fma(_f32(0.693359375), e, ew.add(_fma(_f32(-0.5), t2, t), y))
    result = _where(ew.lt(x, zero), _f32(np.nan), result)
    result = _where(ew.ne(x, x), x, result)
    result = _where(ew.eq(x, zero), _f32(-np.inf), result)
    return _where(ew.eq(x, _f32(np.inf)), x, result)


_LOG1P_NUMERATOR = (
    4.5270000862445199635215e-5,
    4.9854102823193375972212e-1,
    6.5787325942061044846969e0,
    2.9911919328553073277375e1,
    6.0949667980987787057556e1,
    5.7112963590585538103336e1,
    2.0039553499201281259648e1,
)
_LOG1P_DENOMINATOR = (
    1.0,
    1.5062909083469192043167e1,
    8.3047565967967209469434e1,
    2.2176239823732856465394e2,
    3.0909872225312059774938e2,
    2.1642788614495947685003e2,
    6.0118660497603843919306e1,
)


def _log1p(x):
    """log(1 + x): Cephes' rational approximation for |x| < sqrt(2) - 1, else log(1 + x)."""
    x2 = ew.mul(x, x)
    ratio = ew.div(_horner_fma(x, _LOG1P_NUMERATOR), _horner_fma(x, _LOG1P_DENOMINATOR))
    small = ew.add(x, _fma(_f32(-0.5), x2, ew.mul(ew.mul(x, x2), ratio)))
    large = _log(ew.add(x, _f32(1.0)))
    return _where(ew.lt(ew.abs(x), _f32(0.41421356237309504880)), small, large)


_ERF_INV_CENTRAL = (
    2.81022636e-08,
    3.43273939e-07,
    -3.5233877e-06,
    -4.39150654e-06,
    0.00021858087,
    -0.00125372503,
    -0.00417768164,
    0.246640727,
    1.50140941,
)
_ERF_INV_TAIL = (
    -0.000200214257,
    0.000100950558,
    0.00134934322,
    -0.00367342844,
    0.00573950773,
    -0.0076224613,
    0.00943887047,
    1.00167406,
    2.83297682,
)


def _erf_inv(x):
    """Giles' single-precision erfinv: a polynomial in w = -log(1 - x^2), one for w < 5
    and one in sqrt(w) beyond."""
    w = ew.neg(_log1p(ew.neg(ew.mul(x, x))))
    central = ew.lt(w, _f32(5.0))
    w = _where(central, ew.sub(w, _f32(2.5)), ew.sub(ew.sqrt(w), _f32(3.0)))

    def coefficient(i):
        return _where(central, _f32(_ERF_INV_CENTRAL[i]), _f32(_ERF_INV_TAIL[i]))

    p = coefficient(0)
    for i in range(1, len(_ERF_INV_CENTRAL)):
        p = _fma(p, w, coefficient(i))
    infinite = ew.mul(x, _f32(np.inf))
    return _where(ew.eq(ew.abs(x), _f32(1.0)), infinite, ew.mul(p, x))


_ERF_NUMERATOR = (
    0.00022905065861350646,
    0.0034082910107109506,
    0.050955695062380861,
    0.18520832239976145,
    1.128379143519084,
)
_ERF_DENOMINATOR = (
    -1.1791602954361697e-7,
    0.000023547966471313185,
    0.0010179625278914885,
    0.014070470171167667,
    0.11098505178285362,
    0.49746925110067538,
    1.0,
)


def _erf(x):
    """erf as a rational function of x (odd over even), saturating at +-1 beyond 3.8325."""
    x2 = ew.mul(x, x)
    numerator = ew.mul(x, _horner_fma(x2, _ERF_NUMERATOR))
    denominator = _horner_fma(x2, _ERF_DENOMINATOR)
    one = _where(ew.lt(x, _f32(0.0)), _f32(-1.0), _f32(1.0))
    return _where(ew.ge(ew.abs(x), _f32(3.832506856900711)), one, ew.div(numerator, denominator))


# ---------------------------------------------------------------------------------------
# Samplers. Each public function consumes its key and calls a private one on key data;
# samplers built on others call the private ones, so one public call is one use.


def _float_dtype(name: str, dtype) -> np.dtype:
    dtype = dtypes.canonicalize_dtype(float if dtype is None else dtype)
    if not dtypes.is_float(dtype):
        raise ValueError(f"dtype argument to `{name}` must be a float dtype, got {dtype}")
    return dtype


def _row(keys, i: int):
    from funcgrad.lax.shapes import reshape, slice

    return reshape(slice(keys, (i, 0), (i + 1, 2)), (2,))


def _two_keys(data):
    keys = _split(data, (2,))
    return _row(keys, 0), _row(keys, 1)


def _in_shape(name: str, value, dtype, shape: tuple[int, ...]):
    """A distribution parameter as `dtype`, broadcast to the sample shape."""
    jnp = _jnp()
    value = jnp.asarray(value, dtype=dtype)
    try:
        fits = np.broadcast_shapes(value.shape, shape) == shape
    except ValueError:
        fits = False
    if not fits:
        raise ValueError(
            f"{name}: parameter of shape {value.shape} does not broadcast to the sample shape "
            f"{shape} (at {user_location()})."
        )
    return jnp.broadcast_to(value, shape)


def _uniform(data, shape, dtype, minval, maxval):
    info = ml_dtypes.finfo(dtype)
    nbits, nmant = info.bits, info.nmant
    # Narrow mantissas still get at least 8 random bits.
    rng_bits = 8 if nmant < 8 else nbits
    word = _random_bits(data, rng_bits, shape)
    uint = _UINTS[nbits]
    if rng_bits != nbits:
        word = ew.convert_element_type(word, uint)
    # JAX puts nmant random bits under the exponent of 1.0 and subtracts 1; the same float
    # in [0, 1) is those bits as an integer times 2**-nmant (both steps exact), which needs
    # no bitcast.
    mantissa = ew.shift_right_logical(word, uint.type(rng_bits - nmant))
    floats = ew.mul(ew.convert_element_type(mantissa, dtype), np.array(2.0**-nmant, dtype))
    minval = _in_shape("uniform", minval, dtype, shape)
    maxval = _in_shape("uniform", maxval, dtype, shape)
    width = ew.sub(maxval, minval)
    if dtype == _F32:
        scaled = _fma(floats, width, minval)
    else:
        scaled = ew.add(ew.mul(floats, width), minval)
    return ew.max(minval, scaled)


@api_boundary
def uniform(key, shape: Sequence[int] = (), dtype=None, minval=0.0, maxval=1.0):
    """Floats uniformly distributed in [minval, maxval).

    >>> uniform(PRNGKey(0), (2,))
    Array([0.947667 , 0.9785799], dtype=float32)
    """
    data, _ = _consume("uniform", key)
    dtype = _float_dtype("uniform", dtype)
    return _uniform(data, _shape_tuple("uniform", shape), dtype, minval, maxval)


def _normal(data, shape, dtype):
    # The open interval (-1, 1): erf_inv is infinite at -1.
    below_one = np.array(-1.0 + float(ml_dtypes.finfo(dtype).epsneg), dtype)
    u = _uniform(data, shape, dtype, below_one, 1.0)
    sqrt2 = np.array(np.sqrt(2), dtype)
    return ew.mul(sqrt2, _erf_inv(u) if dtype == _F32 else ew.erf_inv(u))


@api_boundary
def normal(key, shape: Sequence[int] = (), dtype=None):
    """Standard normal floats: sqrt(2) erf_inv(u) for u uniform in (-1, 1).

    >>> normal(PRNGKey(0), (2,))
    Array([1.6226422, 2.0252647], dtype=float32)
    """
    data, _ = _consume("normal", key)
    return _normal(data, _shape_tuple("normal", shape), _float_dtype("normal", dtype))


def _shape_or_broadcast(name: str, shape, *params) -> tuple[int, ...]:
    if shape is None:
        return tuple(np.broadcast_shapes(*(np.shape(p) for p in params)))
    return _shape_tuple(name, shape)


@api_boundary
def truncated_normal(key, lower, upper, shape: Sequence[int] | None = None, dtype=None):
    """Standard normal floats conditioned on lower < x < upper (the inverse-CDF method).

    >>> truncated_normal(PRNGKey(0), -1.0, 1.0, (2,)).shape
    (2,)
    """
    data, _ = _consume("truncated_normal", key)
    dtype = _float_dtype("truncated_normal", dtype)
    shape = _shape_or_broadcast("truncated_normal", shape, lower, upper)
    jnp = _jnp()
    lower, upper = jnp.asarray(lower, dtype=dtype), jnp.asarray(upper, dtype=dtype)
    sqrt2 = np.array(np.sqrt(2), dtype)
    erf, erf_inv = (_erf, _erf_inv) if dtype == _F32 else (ew.erf, ew.erf_inv)
    # XLA divides by a constant by multiplying by its rounded reciprocal.
    inverse_sqrt2 = np.array(1, dtype) / sqrt2
    u = _uniform(
        data, shape, dtype, erf(ew.mul(lower, inverse_sqrt2)), erf(ew.mul(upper, inverse_sqrt2))
    )
    out = ew.mul(sqrt2, erf_inv(u))
    # Rounding may land on a bound: clamp into the open interval.
    above = ew.nextafter(ew.stop_gradient(lower), np.array(np.inf, dtype))
    below = ew.nextafter(ew.stop_gradient(upper), np.array(-np.inf, dtype))
    return jnp.minimum(below, jnp.maximum(above, out))


@api_boundary
def bernoulli(key, p=0.5, shape: Sequence[int] | None = None):
    """Booleans that are True with probability `p` (uniform(key) < p).

    >>> bernoulli(PRNGKey(0), 0.5, (3,))
    Array([False, False,  True], dtype=bool)
    """
    data, _ = _consume("bernoulli", key)
    p = _jnp().asarray(p)
    if not dtypes.is_float(p.dtype):
        raise TypeError(f"bernoulli probability `p` must have a floating dtype, got {p.dtype}.")
    shape = _shape_or_broadcast("bernoulli", shape, p)
    return _jnp().less(_uniform(data, shape, p.dtype, 0.0, 1.0), p)


def _log_of(dtype):
    return _log if dtype == _F32 else ew.log


def _gumbel(data, shape, dtype):
    log = _log_of(dtype)
    return ew.neg(log(ew.neg(log(_uniform(data, shape, dtype, _tiny(dtype), 1.0)))))


def _tiny(dtype) -> float:
    return float(ml_dtypes.finfo(dtype).tiny)


@api_boundary
def gumbel(key, shape: Sequence[int] = (), dtype=None):
    """Standard Gumbel floats: -log(-log(u)) for u uniform in [tiny, 1).

    >>> gumbel(PRNGKey(0), (2,)).shape
    (2,)
    """
    data, _ = _consume("gumbel", key)
    return _gumbel(data, _shape_tuple("gumbel", shape), _float_dtype("gumbel", dtype))


@api_boundary
def exponential(key, shape: Sequence[int] = (), dtype=None):
    """Standard exponential floats: -log1p(-u) for u uniform in [0, 1).

    >>> exponential(PRNGKey(0), (2,)).shape
    (2,)
    """
    data, _ = _consume("exponential", key)
    dtype = _float_dtype("exponential", dtype)
    u = _uniform(data, _shape_tuple("exponential", shape), dtype, 0.0, 1.0)
    log1p = _log1p if dtype == _F32 else ew.log1p
    return ew.neg(log1p(ew.neg(u)))


@api_boundary
def categorical(key, logits, axis: int = -1, shape: Sequence[int] | None = None):
    """Indices drawn with probabilities softmax(logits) along `axis` (the Gumbel-max trick).

    >>> categorical(PRNGKey(0), jnp.array([0.0, 10.0]))  # doctest: +SKIP
    Array(1, dtype=int32)
    """
    data, _ = _consume("categorical", key)
    jnp = _jnp()
    logits = jnp.asarray(logits)
    if not dtypes.is_float(logits.dtype):
        logits = logits.astype(dtypes.canonicalize_dtype(float))
    ndim = logits.ndim
    if not -ndim <= axis < ndim:
        raise ValueError(f"categorical: axis {axis} is out of range for logits of rank {ndim}")
    axis = axis % ndim
    batch_shape = logits.shape[:axis] + logits.shape[axis + 1 :]
    shape = batch_shape if shape is None else _shape_tuple("categorical", shape)
    if np.broadcast_shapes(shape, batch_shape) != shape:
        raise ValueError(
            f"categorical: shape {shape} must end with the logits' batch shape {batch_shape} "
            f"(at {user_location()})."
        )
    prefix = shape[: len(shape) - len(batch_shape)]
    sample_shape = list(shape[len(prefix) :])
    sample_shape.insert(axis, logits.shape[axis])
    noise = _gumbel(data, (*prefix, *sample_shape), logits.dtype)
    scores = ew.add(noise, jnp.broadcast_to(logits, (*prefix, *sample_shape)))
    return jnp.argmax(scores, axis=len(prefix) + axis)


def _clip_into(value, dtype: np.dtype):
    """`value` converted to integer `dtype`, saturating instead of wrapping."""
    jnp = _jnp()
    source, target = jnp.iinfo(value.dtype), jnp.iinfo(dtype)
    low = np.array(max(source.min, target.min), value.dtype)
    high = np.array(min(source.max, target.max), value.dtype)
    return jnp.clip(value, low, high).astype(dtype)


def _check_bounds(minval, maxval) -> None:
    """Concrete bounds with minval >= maxval are refused (JAX returns minval there)."""
    if any(isinstance(b, Tracer) for b in (minval, maxval)):
        return
    low, high = np.asarray(minval), np.asarray(maxval)
    if np.any(low >= high):
        raise ValueError(
            f"randint: minval must be less than maxval, got minval={minval!r} and "
            f"maxval={maxval!r} (at {user_location()}); the range [minval, maxval) is empty."
        )


def _randint(data, shape, minval, maxval, dtype):
    jnp = _jnp()
    minval, maxval = jnp.asarray(minval), jnp.asarray(maxval)
    if not dtypes.is_integer(minval.dtype):
        minval = minval.astype(dtypes.canonicalize_dtype(int))
    if not dtypes.is_integer(maxval.dtype):
        maxval = maxval.astype(dtypes.canonicalize_dtype(int))
    nbits = jnp.iinfo(dtype).bits
    # A maxval past the dtype's range (256 for uint8) means "up to the largest value".
    largest = _clip_into(jnp.asarray(np.array(jnp.iinfo(dtype).max, dtype)), maxval.dtype)
    maxval_out_of_range = jnp.greater(maxval, largest)
    minval = _in_shape("randint", _clip_into(minval, dtype), dtype, shape)
    maxval = _in_shape("randint", _clip_into(maxval, dtype), dtype, shape)
    maxval_out_of_range = jnp.broadcast_to(maxval_out_of_range, shape)
    # Twice the bits of the result, reduced modulo the span, keep the modulo bias small.
    high_key, low_key = _two_keys(data)
    higher, lower = _random_bits(high_key, nbits, shape), _random_bits(low_key, nbits, shape)
    unsigned = _UINTS[nbits]
    span = ew.convert_element_type(ew.sub(maxval, minval), unsigned)
    empty = ew.le(maxval, minval)
    span = _where(empty, unsigned.type(1), span)
    span = _where(
        jnp.logical_and(maxval_out_of_range, jnp.logical_not(empty)),
        ew.add(span, unsigned.type(1)),
        span,
    )
    # (high * 2**nbits + low) mod span, without overflow: 2**nbits mod span, squared.
    multiplier = ew.rem(unsigned.type(2 ** (nbits // 2)), span)
    multiplier = ew.rem(ew.mul(multiplier, multiplier), span)
    offset = ew.add(ew.mul(ew.rem(higher, span), multiplier), ew.rem(lower, span))
    offset = ew.rem(offset, span)
    return ew.add(minval, ew.convert_element_type(offset, dtype))


@api_boundary
def randint(key, shape: Sequence[int], minval, maxval, dtype=None):
    """Integers uniformly distributed in [minval, maxval) (int32, or int64 with x64 on).

    >>> randint(PRNGKey(0), (3,), 0, 10)
    Array([9, 0, 2], dtype=int32)
    """
    data, _ = _consume("randint", key)
    dtype = dtypes.canonicalize_dtype(int if dtype is None else dtype)
    if not dtypes.is_integer(dtype):
        raise TypeError(f"randint only accepts integer dtypes, got {dtype}")
    shape = _shape_tuple("randint", shape)
    _check_bounds(minval, maxval)
    jnp = _jnp()
    info = jnp.iinfo(dtype)
    if info.bits < 32:
        # Narrow integers are drawn in 32 bits, then narrowed.
        minval = jnp.clip(jnp.asarray(minval).astype(np.int32), int(info.min), int(info.max))
        maxval = jnp.clip(jnp.asarray(maxval).astype(np.int32), int(info.min), int(info.max) + 1)
        return _randint(data, shape, minval, maxval, np.dtype(np.int32)).astype(dtype)
    return _randint(data, shape, minval, maxval, dtype)


def _shuffle(data, x, axis: int):
    """`x` shuffled along `axis` by sorting on random keys, repeated so that ties in the
    32-bit sort keys are unlikely to bias the result (JAX's round count)."""
    size = math.prod(get_aval(x).shape)
    rounds = int(np.ceil(3 * np.log(max(1, size)) / np.log(np.iinfo(np.uint32).max)))
    for _ in range(rounds):
        data, subkey = _two_keys(data)
        sort_keys = _random_bits(subkey, 32, tuple(get_aval(x).shape))
        _, x = sort_key_val(sort_keys, x, axis)
    return x


def _permutation(data, x, axis: int, independent: bool):
    jnp = _jnp()
    if _ndim(x) == 0:
        dtype = get_aval(x).dtype if _is_array(x) else np.asarray(x).dtype
        if not dtypes.is_integer(dtype):
            raise TypeError("x must be an integer or at least 1-dimensional")
        return _shuffle(data, jnp.arange(operator.index(x)), 0)
    x = jnp.asarray(x)
    if not -x.ndim <= axis < x.ndim:
        raise ValueError(f"permutation: axis {axis} is out of range for rank {x.ndim}")
    axis %= x.ndim
    if independent or x.ndim == 1:
        return _shuffle(data, x, axis)
    order = _shuffle(data, jnp.arange(x.shape[axis]), 0)
    return jnp.take(x, order, axis=axis)


@api_boundary
def permutation(key, x, axis: int = 0, independent: bool = False):
    """A random permutation of arange(x) for an integer x, or of x's entries along `axis`.

    >>> permutation(PRNGKey(0), 5).shape
    (5,)
    """
    data, _ = _consume("permutation", key)
    return _permutation(data, x, axis, independent)


@api_boundary
def choice(key, a, shape: Sequence[int] = (), replace: bool = True, p=None, axis: int = 0):
    """Samples from the entries of `a` along `axis` (or from arange(a) for an integer a),
    with or without replacement, uniformly or with probabilities `p`.

    >>> choice(PRNGKey(0), 5, (3,), replace=False).shape
    (3,)
    """
    data, _ = _consume("choice", key)
    if not isinstance(shape, Sequence):
        raise TypeError(f"shape argument of funcgrad.random.choice must be a sequence, got {shape}")
    shape = _shape_tuple("choice", shape)
    jnp = _jnp()
    array = jnp.asarray(a)
    if array.ndim == 0:
        population = operator.index(a)
    else:
        if not -array.ndim <= axis < array.ndim:
            raise ValueError(f"choice: axis {axis} is out of range for rank {array.ndim}")
        axis %= array.ndim
        population = array.shape[axis]
    draws = math.prod(shape)
    if draws == 0:
        return jnp.zeros(shape, dtype=array.dtype)
    if population <= 0:
        raise ValueError("choice: a must be greater than 0 unless no samples are taken")
    if not replace and draws > population:
        raise ValueError(
            f"choice: cannot take a larger sample (size {draws}) than the population (size "
            f"{population}) when replace=False (at {user_location()})."
        )
    if p is None:
        if replace:
            index = _randint(data, shape, 0, population, dtypes.canonicalize_dtype(int))
            result = index if array.ndim == 0 else jnp.take(array, index, axis=axis)
        else:
            shuffled = _permutation(data, population if array.ndim == 0 else array, axis, False)
            result = jnp.take(shuffled, jnp.arange(draws), axis=axis if array.ndim else 0)
    else:
        p = jnp.asarray(p)
        if not dtypes.is_float(p.dtype):
            p = p.astype(dtypes.canonicalize_dtype(float))
        if p.shape != (population,):
            raise ValueError(
                "choice: p must be None or a 1D vector with the same size as a.shape[axis]; "
                f"p has shape {p.shape} and a.shape[axis] is {population}."
            )
        if replace:
            cumulative = jnp.cumsum(p)
            u = _uniform(data, shape, p.dtype, 0.0, 1.0)
            r = ew.mul(cumulative[-1], ew.sub(np.array(1, p.dtype), u))
            index = jnp.searchsorted(cumulative, r).astype(dtypes.canonicalize_dtype(int))
        else:
            # Gumbel top-k: the k largest of log(p) + Gumbel noise, without replacement.
            scores = ew.add(_gumbel(data, (population,), p.dtype), _log_of(p.dtype)(p))
            index = top_k(scores, draws)[1].astype(dtypes.canonicalize_dtype(int))
        result = index if array.ndim == 0 else jnp.take(array, index, axis=axis)
    if array.ndim == 0:
        return result.reshape(shape)
    return result.reshape(array.shape[:axis] + shape + array.shape[axis + 1 :])
