"""Op records for funcgrad/lax/random_bits.py: threefry2x32.

The reference is the cipher written again in plain Python integers, one element at a time
(rotations and 32-bit wrapping by masking), independent of the NumPy implementation and
the lax expansion; the known-answer vector of the Threefry paper's test set (key and
counter all zero) is checked in tests/random/test_random_oracle.py.
"""

from __future__ import annotations

import numpy as np
from op_records import EXACT, OpRecord

from funcgrad.lax.random_bits import threefry2x32

U32 = np.dtype(np.uint32)
MASK = 0xFFFFFFFF
ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry_of_ints(key0: int, key1: int, count0: int, count1: int) -> tuple[int, int]:
    keys = (key0, key1, key0 ^ key1 ^ 0x1BD11BDA)
    x0, x1 = (count0 + keys[0]) & MASK, (count1 + keys[1]) & MASK
    for block in range(5):
        for r in ROTATIONS[block % 2]:
            x0 = (x0 + x1) & MASK
            x1 = (((x1 << r) | (x1 >> (32 - r))) & MASK) ^ x0
        x0 = (x0 + keys[(block + 1) % 3]) & MASK
        x1 = (x1 + keys[(block + 2) % 3] + block + 1) & MASK
    return x0, x1


def reference(key0, key1, count0, count1):
    shape = np.broadcast_shapes(*(np.shape(x) for x in (key0, key1, count0, count1)))
    operands = [np.broadcast_to(x, shape).ravel() for x in (key0, key1, count0, count1)]
    pairs = [threefry_of_ints(*map(int, words)) for words in zip(*operands)]
    first = np.array([p[0] for p in pairs], U32).reshape(shape)
    second = np.array([p[1] for p in pairs], U32).reshape(shape)
    return [first, second]


def words(rng, shape, scalar_keys):
    key_shape = () if scalar_keys else shape
    draw = lambda s: rng.integers(0, 2**32, size=s, dtype=np.uint64).astype(U32)  # noqa: E731
    return [draw(key_shape), draw(key_shape), draw(shape), draw(shape)]


RECORDS = [
    OpRecord(
        label=f"threefry2x32_{'scalar' if scalar else 'elementwise'}_keys",
        name="threefry2x32",
        primitive="threefry2x32",
        fun=threefry2x32,
        reference=reference,
        arity=4,
        dtypes=(U32,),
        make_inputs=lambda rng, shape, dtype, scalar=scalar: words(rng, shape, scalar),
        tolerance=EXACT,
    )
    for scalar in (True, False)
]
