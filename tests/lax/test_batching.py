"""vmap over every lax primitive that has a batching rule, driven by the op table:
vmap(f, in_axes)(stacked) equals stacking f over the examples, for random in_axes."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import records_control_flow
import records_convolution
import records_elementwise
import records_indexing
import records_linalg
import records_reductions
import records_shapes
import records_sorting
import records_windowed
from hypothesis import given, settings
from hypothesis import strategies as st
from primitive_registry import rules_of_every_primitive

import funcgrad as fg
from funcgrad.interpreters import batching

OPS = [
    *records_elementwise.RECORDS,
    *records_reductions.RECORDS,
    *records_shapes.RECORDS,
    *records_linalg.RECORDS,
    *records_control_flow.RECORDS,
    *records_convolution.RECORDS,
    *records_windowed.RECORDS,
    *records_indexing.RECORDS,
    *records_sorting.RECORDS,
]
BATCHED = [
    r
    for r in OPS
    if r.primitive in {p.name for p in [*batching.primitive_batchers, *batching.trace_rules]}
]
BATCH = 3

# Primitives whose batching rules are still to come (the vmap issue is open): the registry
# test below fails when this list is out of date in either direction.
NOT_YET_BATCHED: set[str] = set()
# Never batched: iota has no operands to carry a batch axis; custom_lin is only staged and
# transposed, never applied under vmap.
NEVER_BATCHED = {"iota", "custom_lin"}


def _wide(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def _as_list(out):
    return list(out) if isinstance(out, (list, tuple)) else [out]


def _shape_for(record):
    return next((s for s in record.shapes if s != ()), record.shapes[0])


@pytest.mark.parametrize("record", BATCHED, ids=[r.label for r in BATCHED])
@settings(max_examples=4, deadline=None, database=None)
@given(data=st.data())
def test_vmap_matches_a_loop(record, data):
    seed = zlib.crc32(record.label.encode())
    dtype = record.dtypes[0]
    shape = _shape_for(record)
    examples = [
        record.make_inputs(np.random.default_rng(seed + i), shape, dtype) for i in range(BATCH)
    ]
    n = len(examples[0])
    # in_axes drawn per operand: None (shared) or any axis, negative ones too; at least
    # one operand mapped.
    axes = [
        data.draw(st.none() | st.integers(-np.ndim(examples[0][k]) - 1, np.ndim(examples[0][k])))
        for k in range(n)
    ]
    if all(a is None for a in axes):
        axes[0] = 0
    args = [
        examples[0][k] if a is None else np.stack([ex[k] for ex in examples], axis=a)
        for k, a in enumerate(axes)
    ]
    expected = [
        _as_list(record.fun(*[examples[0][k] if a is None else ex[k] for k, a in enumerate(axes)]))
        for ex in examples
    ]
    got = _as_list(fg.vmap(record.fun, in_axes=tuple(axes))(*args))
    for j, value in enumerate(got):
        want = np.stack([np.asarray(e[j]) for e in expected])
        assert value.shape == want.shape, (axes, value.shape, want.shape)
        np.testing.assert_allclose(_wide(value), _wide(want), rtol=1e-5, atol=1e-5)


def test_batching_registry():
    registry = rules_of_every_primitive()
    not_batched = {name for name, rules in registry.items() if not rules["batched"]}
    assert not_batched == NOT_YET_BATCHED | NEVER_BATCHED
