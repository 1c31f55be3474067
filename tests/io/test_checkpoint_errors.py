"""Damaged checkpoints, mismatched `like` trees and bad arguments: each raises a clear
funcgrad error naming the file, what is wrong and the user's line."""

from __future__ import annotations

import json
import re
import struct

import numpy as np
import pytest

import funcgrad.io as fio
from funcgrad.errors import CheckpointError

HERE = "test_checkpoint_errors.py"
TREE = {"a": np.arange(4, dtype=np.float32), "b": np.arange(6, dtype=np.int32).reshape(2, 3)}


@pytest.fixture
def saved(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    fio.save(path, TREE)
    return path


def _write_raw(path, header: dict, data: bytes, *, header_bytes: bytes | None = None) -> None:
    text = header_bytes if header_bytes is not None else json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)


def _load_fails(path, match: str) -> str:
    with pytest.raises(CheckpointError, match=match) as info:
        fio.load(path)
    message = str(info.value)
    assert str(path) in message and HERE in message
    return message


def test_a_flipped_data_byte_fails_the_checksum(saved):
    raw = bytearray(saved.read_bytes())
    raw[-5] ^= 0x01
    saved.write_bytes(bytes(raw))
    _load_fails(saved, "SHA-256 .* corrupted after the file was written")


@pytest.mark.parametrize("keep", [0, 5, 8, 20, -1, -7])
def test_a_cut_file_is_reported_as_truncated(saved, keep):
    raw = saved.read_bytes()
    saved.write_bytes(raw[:keep])
    _load_fails(saved, "truncated")


def test_a_header_length_larger_than_the_file(tmp_path):
    path = tmp_path / "big.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b"{}")
    _load_fails(path, r"header length field says 1099511627776 bytes, but only 2")


def test_an_absurd_header_length_is_refused_before_reading(tmp_path):
    path = tmp_path / "huge.safetensors"
    with open(path, "wb") as file:
        file.write(struct.pack("<Q", 200_000_000))
        file.truncate(200_000_100)  # sparse: no need to write the bytes
    _load_fails(path, "more than the 100000000 the format allows")


@pytest.mark.parametrize(
    "text",
    [b"{not json", b"\xff\xfe{}", b'{"a": ', b"[" * 100_000],
    ids=["not-json", "not-utf8", "cut-off", "too-deep"],
)
def test_malformed_json(tmp_path, text):
    path = tmp_path / "bad.safetensors"
    _write_raw(path, {}, b"", header_bytes=text)
    _load_fails(path, "not valid UTF-8 JSON")


def test_a_header_that_is_not_an_object(tmp_path):
    path = tmp_path / "list.safetensors"
    _write_raw(path, [], b"")  # type: ignore[arg-type]
    _load_fails(path, "header is a JSON list")


@pytest.mark.parametrize(
    "entry, match",
    [
        ("x", "not a JSON object"),
        ({"dtype": "F32", "shape": [1]}, "lacks data_offsets"),
        ({"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}, "shape must be a list"),
        ({"dtype": "F32", "shape": [1.0], "data_offsets": [0, 4]}, "shape must be a list"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [4, 0]}, "data_offsets must be"),
        ({"dtype": "F32", "shape": [1], "data_offsets": [0]}, "data_offsets must be"),
        ({"dtype": "F32", "shape": [2], "data_offsets": [0, 4]}, "needs 8 bytes, but .* span 4"),
    ],
)
def test_malformed_entries(tmp_path, entry, match):
    path = tmp_path / "entry.safetensors"
    _write_raw(path, {"x": entry}, b"\0" * 4)
    message = _load_fails(path, "header entry of tensor 'x' is malformed")
    assert re.search(match, message)


@pytest.mark.parametrize("code", ["F8_E4M3", "Q7", "C128"])
def test_unknown_dtypes(tmp_path, code):
    path = tmp_path / "dtype.safetensors"
    _write_raw(path, {"x": {"dtype": code, "shape": [1], "data_offsets": [0, 1]}}, b"\0")
    _load_fails(path, f"tensor 'x' has dtype '{code}', which funcgrad cannot load")


def test_bad_metadata(tmp_path):
    path = tmp_path / "meta.safetensors"
    _write_raw(path, {"__metadata__": {"step": 3}}, b"")
    _load_fails(path, "'__metadata__' must map strings to strings")


def _entry(begin, end):
    return {"dtype": "U8", "shape": [end - begin], "data_offsets": [begin, end]}


@pytest.mark.parametrize(
    "entries, size, match",
    [
        ({"a": _entry(0, 4), "b": _entry(2, 6)}, 6, "'a' .* and 'b' .* overlap"),
        ({"a": _entry(0, 2), "b": _entry(4, 6)}, 6, "bytes 2..4 of the data section belong"),
        ({"a": _entry(2, 4)}, 4, "bytes 0..2 of the data section belong to no tensor"),
        ({"a": _entry(0, 4)}, 7, "3 trailing bytes belong to no tensor"),
        ({"a": _entry(0, 4), "b": _entry(4, 9)}, 6, "truncated: tensor 'b' ends at byte 9"),
    ],
)
def test_offsets_must_tile_the_data_section(tmp_path, entries, size, match):
    path = tmp_path / "tiles.safetensors"
    _write_raw(path, entries, b"\0" * size)
    _load_fails(path, match)


def test_metadata_checks_the_header_too(tmp_path):
    path = tmp_path / "cut.safetensors"
    path.write_bytes(b"\1\0")
    with pytest.raises(CheckpointError, match="metadata.*too short for the 8-byte header"):
        fio.metadata(path)


def test_like_mismatches_are_all_listed(saved):
    like = {
        "a": np.zeros(5, np.float32),  # shape differs
        "b": np.zeros((2, 3), np.float32),  # dtype differs
        "c": np.zeros(1, np.float32),  # missing from the file
        "d": {"e": np.zeros(1, np.float32)},  # missing too
    }
    fio.save(saved, {**TREE, "extra": np.zeros(1, np.uint8), "more": np.zeros(1, np.uint8)})
    with pytest.raises(CheckpointError, match="does not match the `like` tree") as info:
        fio.load(saved, like=like)
    message = str(info.value)
    assert "missing from the file (2): c; d.e" in message
    assert "in the file but not in like (2): extra; more" in message
    assert "shape mismatches (1): a: file (4,), like (5,)" in message
    assert "dtype mismatches (1): b: file int32, like float32" in message
    assert HERE in message


def test_long_mismatch_lists_are_capped(saved):
    like = {f"w{i:03}": np.zeros(1, np.float32) for i in range(150)}
    with pytest.raises(CheckpointError, match=r"missing from the file \(150\).*and 50 more"):
        fio.load(saved, like={**TREE, **like})


def test_a_bare_array_has_no_name(tmp_path):
    with pytest.raises(ValueError, match="single array, which has no name") as info:
        fio.save(tmp_path / "x.safetensors", np.zeros(3))
    assert HERE in str(info.value)


def test_colliding_names_are_refused(tmp_path):
    tree = {"a.b": np.zeros(1), "a": {"b": np.ones(1)}}
    with pytest.raises(ValueError, match="share the same checkpoint name: 'a.b'"):
        fio.save(tmp_path / "x.safetensors", tree)


def test_the_metadata_name_is_reserved(tmp_path):
    with pytest.raises(ValueError, match="'__metadata__' is reserved"):
        fio.save(tmp_path / "x.safetensors", {"__metadata__": np.zeros(1)})


@pytest.mark.parametrize(
    "leaf, match",
    [
        (np.zeros(2, np.complex128), "an array of dtype complex128"),
        ("text", "a str"),
        (np.array(["a"]), "an array of dtype <U1"),
        (np.zeros(2, dtype=object), "an array of dtype object"),
    ],
)
def test_leaves_safetensors_cannot_store(tmp_path, leaf, match):
    with pytest.raises(TypeError, match=f"leaf 'x' is {match}, which safetensors cannot store"):
        fio.save(tmp_path / "x.safetensors", {"x": leaf})
    assert not list(tmp_path.iterdir()), "nothing is written when the tree is refused"


@pytest.mark.parametrize("metadata", [{"step": 3}, {1: "a"}, ["a"]])
def test_metadata_must_map_str_to_str(tmp_path, metadata):
    with pytest.raises(TypeError, match="metadata must map str to str"):
        fio.save(tmp_path / "x.safetensors", TREE, metadata=metadata)


def test_the_checksum_key_is_reserved(tmp_path):
    with pytest.raises(ValueError, match="'funcgrad.sha256' is reserved"):
        fio.save(tmp_path / "x.safetensors", TREE, metadata={"funcgrad.sha256": "0"})


def test_names_that_do_not_nest_need_like(tmp_path):
    path = tmp_path / "flat.safetensors"
    fio.save(path, {"a": np.zeros(1, np.float32), "a.b": {"c": np.zeros(1, np.float32)}})
    with pytest.raises(CheckpointError, match="'a.b.c' cannot be placed in a nested dict"):
        fio.load(path)


def test_a_missing_file_is_a_file_not_found_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        fio.load(tmp_path / "nope.safetensors")
