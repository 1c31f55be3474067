"""funcgrad.io round trips: every dtype and shape, every container, the naming scheme, the
byte layout (read back with an independent parser written here), metadata, and atomic
writes that survive a crash between writing and renaming."""

from __future__ import annotations

import collections
import json
import os
import stat
import struct
import subprocess
import sys

import numpy as np
import pytest
from saved_dtypes import DTYPES

import funcgrad as fg
import funcgrad.io as fio
import funcgrad.numpy as jnp
from funcgrad import ShapeDtypeStruct, tree_util

Adam = collections.namedtuple("Adam", ["count", "mu", "nu"])

SHAPES = [(), (0,), (3,), (2, 0, 4), (2, 3, 4)]


def _sample(dtype, shape, seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.random(shape) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        return rng.integers(info.min, info.max, size=shape, dtype=dtype, endpoint=True)
    values = rng.standard_normal(shape) * 100
    if dtype.kind == "c":
        values = values + 1j * rng.standard_normal(shape)
    return np.asarray(values).astype(dtype)


def _parse_by_hand(path) -> tuple[dict, bytes]:
    """The header and data section, parsed with struct and json only: an oracle that shares
    no code with funcgrad.io."""
    raw = open(path, "rb").read()
    (size,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8 : 8 + size]), raw[8 + size :]


def _same(actual, expected) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert actual.dtype == expected.dtype
    # Compare bytes, so NaN payloads and signed zeros must survive too.
    assert actual.tobytes() == expected.tobytes()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_and_shape_round_trips_bit_for_bit(tmp_path, x64, dtype, shape):
    value = _sample(dtype, shape)
    path = tmp_path / "one.safetensors"
    fio.save(path, {"x": value})
    loaded = fio.load(path)["x"]
    assert isinstance(loaded, fg.Array)
    _same(loaded, value)
    header, data = _parse_by_hand(path)
    begin, end = header["x"]["data_offsets"]
    assert header["x"]["shape"] == list(shape)
    assert data[begin:end] == value.astype(value.dtype.newbyteorder("<")).tobytes()


def test_header_layout_matches_the_format(tmp_path):
    tree = {"b": np.arange(3, dtype=np.int16), "a": np.ones((2, 2), np.float32)}
    path = tmp_path / "layout.safetensors"
    fio.save(path, tree, metadata={"note": "hi"})
    raw = open(path, "rb").read()
    (size,) = struct.unpack("<Q", raw[:8])
    assert (8 + size) % 8 == 0, "the data section starts 8-byte aligned"
    header, data = _parse_by_hand(path)
    assert header["a"] == {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]}
    assert header["b"] == {"dtype": "I16", "shape": [3], "data_offsets": [16, 22]}
    assert header["__metadata__"]["note"] == "hi"
    assert len(data) == 22
    assert data[16:] == struct.pack("<3h", 0, 1, 2)


def test_big_endian_input_is_stored_little_endian(tmp_path):
    value = np.array([1.5, -2.0, 3.25], dtype=">f4")
    path = tmp_path / "big.safetensors"
    fio.save(path, {"x": value})
    header, data = _parse_by_hand(path)
    assert header["x"]["dtype"] == "F32"
    assert data == struct.pack("<3f", 1.5, -2.0, 3.25)
    _same(fio.load(path)["x"], value.astype(np.float32))


def test_nested_containers_round_trip_through_like(tmp_path):
    params = {
        "layers": [
            {"kernel": np.ones((3, 2), np.float32), "bias": np.zeros(2, np.float32)},
            {"kernel": np.full((2, 1), 2.0, np.float32), "bias": None},
        ],
        "opt": Adam(np.int32(7), (np.ones(2, np.float32),), [np.full(2, 0.5, np.float32)]),
        "scale": jnp.asarray(3.0),
    }
    path = tmp_path / "tree.safetensors"
    fio.save(path, params)
    header, _ = _parse_by_hand(path)
    assert sorted(k for k in header if k != "__metadata__") == [
        "layers.0.bias",
        "layers.0.kernel",
        "layers.1.kernel",
        "opt.count",
        "opt.mu.0",
        "opt.nu.0",
        "scale",
    ]
    loaded = fio.load(path, like=params)
    assert tree_util.tree_structure(loaded) == tree_util.tree_structure(params)
    assert type(loaded["opt"]) is Adam and type(loaded["opt"].mu) is tuple
    assert loaded["layers"][1]["bias"] is None
    for got, want in zip(tree_util.tree_leaves(loaded), tree_util.tree_leaves(params)):
        assert isinstance(got, fg.Array)
        _same(got, want)


def test_without_like_names_become_nested_dicts(tmp_path):
    path = tmp_path / "plain.safetensors"
    fio.save(path, {"layers": [{"w": np.ones(2, np.float32)}], "step": np.int32(3)})
    loaded = fio.load(path)
    assert set(loaded) == {"layers", "step"}
    assert set(loaded["layers"]) == {"0"}
    _same(loaded["layers"]["0"]["w"], np.ones(2, np.float32))
    _same(loaded["step"], np.int32(3))


def test_like_accepts_shape_dtype_structs(tmp_path):
    path = tmp_path / "s.safetensors"
    fio.save(path, {"w": np.arange(6, dtype=np.float32).reshape(2, 3)})
    loaded = fio.load(path, like={"w": ShapeDtypeStruct((2, 3), np.float32)})
    _same(loaded["w"], np.arange(6, dtype=np.float32).reshape(2, 3))


def test_python_scalars_become_0d_arrays_of_their_default_dtype(tmp_path):
    path = tmp_path / "scalars.safetensors"
    fio.save(path, {"i": 3, "f": 0.5, "b": True, "c": 1 + 2j})
    header, _ = _parse_by_hand(path)
    assert {name: header[name]["dtype"] for name in "ifbc"} == {
        "i": "I32",
        "f": "F32",
        "b": "BOOL",
        "c": "C64",
    }
    loaded = fio.load(path, like={"i": 0, "f": 0.0, "b": False, "c": 0j})
    assert [loaded[k].item() for k in "ifbc"] == [3, 0.5, True, 1 + 2j]
    assert all(loaded[k].shape == () for k in "ifbc")


def test_64_bit_data_loads_narrowed_unless_x64_is_on(tmp_path):
    value = np.array([1.5, -2.25], np.float64)
    path = tmp_path / "f64.safetensors"
    fio.save(path, {"x": value})
    assert _parse_by_hand(path)[0]["x"]["dtype"] == "F64", "save keeps the data's dtype"
    narrowed = fio.load(path, like={"x": jnp.zeros(2)})["x"]
    assert narrowed.dtype == np.float32
    np.testing.assert_array_equal(np.asarray(narrowed), value.astype(np.float32))
    fg.config.update("jax_enable_x64", True)
    try:
        _same(fio.load(path)["x"], value)
    finally:
        fg.config.update("jax_enable_x64", False)


def test_loaded_arrays_go_straight_into_jit(tmp_path):
    params = {"w": np.arange(6, dtype=np.float32).reshape(3, 2), "b": np.ones(2, np.float32)}
    path = tmp_path / "mlp.safetensors"
    fio.save(path, params)
    loaded = fio.load(path, like=params)
    x = np.arange(3, dtype=np.float32)
    for backend in ("numpy", "llvm"):
        predict = fg.jit(lambda p, x: x @ p["w"] + p["b"], backend=backend)
        np.testing.assert_allclose(np.asarray(predict(loaded, x)), x @ params["w"] + 1.0)


def test_typed_prng_keys_round_trip(tmp_path):
    key = fg.random.key(42)
    path = tmp_path / "key.safetensors"
    fio.save(path, {"rng": key})
    loaded = fio.load(path, like={"rng": key})["rng"]
    np.testing.assert_array_equal(
        np.asarray(fg.random.normal(loaded, (3,))), np.asarray(fg.random.normal(key, (3,)))
    )


def test_metadata_round_trips_without_the_checksum_entry(tmp_path):
    path = tmp_path / "meta.safetensors"
    fio.save(path, {"w": np.ones(1, np.float32)}, metadata={"step": "12", "ünï": "cödé"})
    assert fio.metadata(path) == {"step": "12", "ünï": "cödé"}
    assert "funcgrad.sha256" in _parse_by_hand(path)[0]["__metadata__"]


def test_an_empty_tree_round_trips(tmp_path):
    path = tmp_path / "empty.safetensors"
    fio.save(path, {})
    assert fio.metadata(path) == {}
    assert fio.load(path) == {}
    assert fio.load(path, like={"a": None}) == {"a": None}


def test_saving_again_replaces_the_file_and_leaves_no_temporary(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    fio.save(path, {"w": np.zeros(3, np.float32)})
    fio.save(path, {"w": np.ones(3, np.float32)})
    _same(fio.load(path)["w"], np.ones(3, np.float32))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_a_new_file_gets_umask_permissions_not_private_ones(tmp_path):
    umask = os.umask(0o022)
    try:
        fio.save(tmp_path / "p.safetensors", {"w": np.zeros(1, np.float32)})
    finally:
        os.umask(umask)
    assert stat.S_IMODE(os.stat(tmp_path / "p.safetensors").st_mode) == 0o644


def test_saving_through_a_symlink_replaces_the_target(tmp_path):
    target = tmp_path / "real.safetensors"
    fio.save(target, {"w": np.zeros(1, np.float32)})
    link = tmp_path / "latest.safetensors"
    link.symlink_to(target)
    fio.save(link, {"w": np.ones(1, np.float32)})
    assert link.is_symlink()
    _same(fio.load(target)["w"], np.ones(1, np.float32))


def test_a_failed_rename_keeps_the_old_checkpoint_and_removes_the_temporary(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    fio.save(path, {"w": np.zeros(3, np.float32)})

    def crash(source, target):
        raise OSError("simulated crash between write and rename")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        fio.save(path, {"w": np.ones(3, np.float32)})
    monkeypatch.undo()
    _same(fio.load(path)["w"], np.zeros(3, np.float32))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


def test_a_failed_write_keeps_the_old_checkpoint(tmp_path, monkeypatch):
    path = tmp_path / "ckpt.safetensors"
    fio.save(path, {"w": np.zeros(3, np.float32)})

    def disk_full(descriptor):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", disk_full)
    with pytest.raises(OSError, match="No space left"):
        fio.save(path, {"w": np.ones(3, np.float32)})
    monkeypatch.undo()
    _same(fio.load(path)["w"], np.zeros(3, np.float32))
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]


_KILLED_BEFORE_RENAME = """
import os, sys
import numpy as np
import funcgrad.io as fio

def die(source, target):
    os._exit(3)  # the process vanishes: no cleanup, no exception handlers

os.replace = die
fio.save(sys.argv[1], {"w": np.ones(3, np.float32)})
"""


def test_a_process_killed_before_the_rename_leaves_the_old_checkpoint(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    fio.save(path, {"w": np.zeros(3, np.float32)})
    done = subprocess.run([sys.executable, "-c", _KILLED_BEFORE_RENAME, str(path)])
    assert done.returncode == 3
    _same(fio.load(path)["w"], np.zeros(3, np.float32))
    # The orphaned temporary is hidden, named after the target, and harmless to the next save.
    leftovers = [name for name in os.listdir(tmp_path) if name != "ckpt.safetensors"]
    assert len(leftovers) == 1 and leftovers[0].startswith(".ckpt.safetensors.")
    fio.save(path, {"w": np.full(3, 2.0, np.float32)})
    _same(fio.load(path)["w"], np.full(3, 2.0, np.float32))
