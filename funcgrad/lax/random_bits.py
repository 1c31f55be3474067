"""The random-bits primitive: `threefry2x32`, the Threefry-2x32 block cipher (Salmon et al.,
"Parallel random numbers: as easy as 1, 2, 3", SC 2011) with 20 rounds, as JAX uses it.

`threefry2x32_p` takes a key (two uint32 words) and a counter (two uint32 words) and
returns two uint32 words that look random; every random number funcgrad draws is a hash
of a key and a counter, so the same key gives the same bits everywhere (see
funcgrad/random.py). Its four operands are elementwise: rank-0 operands broadcast.

Eagerly it runs as NumPy array arithmetic. Under jit it has an *expansion*: the same
cipher written with lax integer elementwise primitives (add, xor, or, shifts on uint32),
which the inline pass (funcgrad/compiler/passes/inline.py) splices in place of the
equation, so that fusion puts the whole generator in one elementwise kernel that every
backend compiles without knowing the cipher. Traced programs still show one
`threefry2x32` equation; the expansion only happens while compiling.
"""

from __future__ import annotations

import numpy as np

from funcgrad.compiler.passes.inline import EXPANSIONS
from funcgrad.core.avals import ShapedArray
from funcgrad.core.primitive import Primitive
from funcgrad.interpreters import ad, batching
from funcgrad.lax.shape_rules import shape_error

__all__ = ["threefry2x32", "threefry2x32_p"]

_UINT32 = np.dtype(np.uint32)

# The cipher's constants: rotation distances of the two alternating groups of four rounds,
# and the parity word that makes the third key word.
_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))
_PARITY = 0x1BD11BDA


def _key_schedule(key0, key1, xor):
    return (key0, key1, xor(xor(key0, key1), _PARITY))


threefry2x32_p = Primitive("threefry2x32", multiple_results=True)


@threefry2x32_p.def_impl
def _threefry2x32_impl(key0, key1, count0, count1):
    # In-place uint32 arithmetic (wrapping, as the cipher needs) on two working arrays.
    shape = np.broadcast_shapes(key0.shape, key1.shape, count0.shape, count1.shape)
    keys = _key_schedule(key0, key1, np.bitwise_xor)
    x0, x1, rotated = (np.empty(shape, _UINT32) for _ in range(3))
    np.add(count0, keys[0], out=x0)
    np.add(count1, keys[1], out=x1)
    for block in range(5):
        for distance in _ROTATIONS[block % 2]:
            np.add(x0, x1, out=x0)
            np.right_shift(x1, np.uint32(32 - distance), out=rotated)
            np.left_shift(x1, np.uint32(distance), out=x1)
            np.bitwise_or(x1, rotated, out=x1)
            np.bitwise_xor(x1, x0, out=x1)
        np.add(x0, keys[(block + 1) % 3], out=x0)
        np.add(x1, keys[(block + 2) % 3], out=x1)
        np.add(x1, np.uint32(block + 1), out=x1)
    return [x0, x1]


@threefry2x32_p.def_abstract_eval
def _threefry2x32_abstract_eval(*operands: ShapedArray):
    if any(x.dtype != _UINT32 for x in operands):
        raise shape_error(
            "threefry2x32",
            operands,
            "every operand must be uint32",
            "Keys and counters are uint32 words; convert with .astype(jnp.uint32).",
        )
    shapes = {x.shape for x in operands if x.shape}
    if len(shapes) > 1:
        raise shape_error(
            "threefry2x32",
            operands,
            "operand shapes must be equal (rank-0 operands broadcast)",
        )
    shape = shapes.pop() if shapes else ()
    return [ShapedArray(shape, _UINT32), ShapedArray(shape, _UINT32)]


def threefry2x32(key0, key1, count0, count1):
    """The Threefry-2x32 hash of counter words (count0, count1) under key (key0, key1):
    two uint32 arrays of the operands' common shape.

    >>> threefry2x32(np.uint32(0), np.uint32(0), np.uint32(0), np.uint32(0))  # doctest: +SKIP
    [Array(1797259609, dtype=uint32), Array(2579123966, dtype=uint32)]
    """
    return threefry2x32_p.bind(key0, key1, count0, count1)


# Integers carry no tangents; under vmap the cipher is elementwise.
ad.defjvp_zero(threefry2x32_p)
batching.defbroadcasting(threefry2x32_p)


# ---------------------------------------------------------------------------------------
# The expansion the compiler inlines: the cipher in lax uint32 elementwise primitives.


def _threefry2x32_expansion(key0, key1, count0, count1):
    from funcgrad.core.avals import get_aval
    from funcgrad.lax import elementwise as ew
    from funcgrad.lax.shapes import broadcast_in_dim

    # Rank-0 keys are broadcast first: the key schedule is then computed in the counters'
    # iteration space, so fusion keeps the whole cipher in one group instead of splitting
    # it around a rank-0 equation.
    shape = next((get_aval(x).shape for x in (count0, count1, key0, key1) if get_aval(x).shape), ())
    key0, key1 = (
        broadcast_in_dim(k, shape, ()) if not get_aval(k).shape else k for k in (key0, key1)
    )

    def rotate_left(value, distance: int):
        return ew.bitwise_or(
            ew.shift_left(value, np.uint32(distance)),
            ew.shift_right_logical(value, np.uint32(32 - distance)),
        )

    keys = _key_schedule(key0, key1, ew.bitwise_xor)
    x0, x1 = ew.add(count0, keys[0]), ew.add(count1, keys[1])
    for block in range(5):
        for distance in _ROTATIONS[block % 2]:
            x0 = ew.add(x0, x1)
            x1 = ew.bitwise_xor(rotate_left(x1, distance), x0)
        x0 = ew.add(x0, keys[(block + 1) % 3])
        x1 = ew.add(ew.add(x1, keys[(block + 2) % 3]), np.uint32(block + 1))
    return [x0, x1]


EXPANSIONS[threefry2x32_p] = _threefry2x32_expansion
