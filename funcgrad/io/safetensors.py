"""The safetensors file format, byte by byte: named NumPy arrays in, bytes out, and back.

A safetensors file is three parts:

    [8 bytes]  N, the header length, unsigned little-endian
    [N bytes]  a JSON object: {name: {"dtype": "F32", "shape": [2, 3],
               "data_offsets": [begin, end]}, ..., "__metadata__": {str: str}}
    [rest]     the data section: each tensor's raw bytes, little-endian, C order, at
               [begin, end) counted from the start of the data section

The tensors must tile the data section exactly (no gaps, no overlaps, nothing after the
last one), which is what makes truncation and most corruption detectable from the header
alone. The header is padded with spaces to a multiple of 8 bytes, as the reference writer
does, so that the data section starts aligned.

This module only knows the format. Pytrees, checksums and atomic writes belong to
funcgrad/io/checkpoint.py, which calls `encode_header`, `tensor_bytes`, `read_header` and
`read_tensor`.
"""

from __future__ import annotations

import dataclasses
import json
import math
import struct
from collections.abc import Mapping, Sequence
from typing import BinaryIO

import ml_dtypes
import numpy as np

from funcgrad.errors import CheckpointError

__all__ = [
    "DTYPE_CODES",
    "METADATA_KEY",
    "Header",
    "TensorEntry",
    "dtype_code",
    "encode_header",
    "read_header",
    "read_tensor",
    "tensor_bytes",
]

METADATA_KEY = "__metadata__"

# The codes the reference implementation defines that funcgrad has a dtype for. Its 8-bit
# and smaller float codes (F8_E4M3, F4, ...) have no funcgrad dtype and are refused by name.
DTYPE_CODES: dict[str, np.dtype] = {
    "BOOL": np.dtype(np.bool_),
    "U8": np.dtype(np.uint8),
    "I8": np.dtype(np.int8),
    "U16": np.dtype(np.uint16),
    "I16": np.dtype(np.int16),
    "U32": np.dtype(np.uint32),
    "I32": np.dtype(np.int32),
    "U64": np.dtype(np.uint64),
    "I64": np.dtype(np.int64),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "F32": np.dtype(np.float32),
    "F64": np.dtype(np.float64),
    "C64": np.dtype(np.complex64),
}
_CODE_OF_DTYPE = {dtype: code for code, dtype in DTYPE_CODES.items()}

# The reference reader refuses larger headers; so do we, before allocating for one.
_MAX_HEADER_BYTES = 100_000_000
_LENGTH_PREFIX = struct.Struct("<Q")


@dataclasses.dataclass(frozen=True)
class TensorEntry:
    """One tensor's header entry: where its bytes are in the data section and what they mean."""

    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    begin: int
    end: int


@dataclasses.dataclass(frozen=True)
class Header:
    """A parsed, validated header: the tensors in file order, the metadata map, and where
    the data section starts and how long it is."""

    tensors: dict[str, TensorEntry]
    metadata: dict[str, str]
    data_start: int
    data_size: int


def dtype_code(dtype: np.dtype) -> str | None:
    """The safetensors code of a NumPy dtype ("F32" for float32), or None if it has none.

    >>> dtype_code(np.dtype(np.float32))
    'F32'
    """
    return _CODE_OF_DTYPE.get(np.dtype(dtype).newbyteorder("="))


def tensor_bytes(array: np.ndarray) -> memoryview:
    """The bytes of `array` as the data section stores them: little-endian, C order.

    >>> bytes(tensor_bytes(np.array([1, 2], np.uint16)))
    b'\\x01\\x00\\x02\\x00'
    """
    little = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    # A uint8 view gives every dtype (bfloat16, bool, 0-d) the same plain buffer protocol.
    return memoryview(little.reshape(-1).view(np.uint8))


def encode_header(named: Sequence[tuple[str, np.ndarray]], metadata: Mapping[str, str]) -> bytes:
    """The length prefix and JSON header for `named` arrays stored back to back in order.

    >>> encode_header([("w", np.zeros(2, np.float32))], {})[8:]
    b'{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}  '
    """
    header: dict = {}
    if metadata:
        header[METADATA_KEY] = dict(metadata)
    offset = 0
    for name, array in named:
        size = array.size * array.dtype.itemsize
        header[name] = {
            "dtype": _CODE_OF_DTYPE[array.dtype.newbyteorder("=")],
            "shape": list(array.shape),
            "data_offsets": [offset, offset + size],
        }
        offset += size
    text = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return _LENGTH_PREFIX.pack(len(text)) + text


def read_header(file: BinaryIO, file_size: int, where: str) -> Header:
    """Read and validate the header at the start of `file` (positioned at 0), leaving the
    file positioned at the data section. `where` prefixes every error message.

    Raises CheckpointError for a short file, an impossible header length, malformed JSON,
    malformed entries, unknown dtypes, and offsets that do not tile the data section.
    """
    if file_size < _LENGTH_PREFIX.size:
        raise CheckpointError(
            f"{where}: the file is {file_size} bytes long, too short for the 8-byte header "
            "length that starts every safetensors file; it is truncated or not a checkpoint."
        )
    (header_size,) = _LENGTH_PREFIX.unpack(file.read(_LENGTH_PREFIX.size))
    available = file_size - _LENGTH_PREFIX.size
    if header_size > available:
        raise CheckpointError(
            f"{where}: the header length field says {header_size} bytes, but only {available} "
            "bytes follow it; the file is truncated or not a safetensors file."
        )
    if header_size > _MAX_HEADER_BYTES:
        raise CheckpointError(
            f"{where}: the header length field says {header_size} bytes, more than the "
            f"{_MAX_HEADER_BYTES} the format allows; this is not a safetensors file."
        )
    raw = file.read(header_size)
    try:
        parsed = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as err:
        raise CheckpointError(
            f"{where}: the {header_size}-byte header is not valid UTF-8 JSON ({err}); the file "
            "is corrupted or not a safetensors file."
        ) from None
    if not isinstance(parsed, dict):
        raise CheckpointError(
            f"{where}: the header is a JSON {type(parsed).__name__}, not an object mapping "
            "tensor names to entries; this is not a safetensors file."
        )
    metadata = _parse_metadata(parsed.pop(METADATA_KEY, {}), where)
    tensors = {name: _parse_entry(name, entry, where) for name, entry in parsed.items()}
    data_size = available - header_size
    _check_tiling(tensors.values(), data_size, where)
    return Header(tensors, metadata, _LENGTH_PREFIX.size + header_size, data_size)


def read_tensor(data: bytes | memoryview, entry: TensorEntry) -> np.ndarray:
    """The array `entry` describes, decoded from the data section `data` into a fresh,
    aligned, native-endian array.

    >>> entry = TensorEntry("w", np.dtype(np.uint16), (2,), 0, 4)
    >>> read_tensor(b"\\x01\\x00\\x02\\x00", entry)
    array([1, 2], dtype=uint16)
    """
    stored = np.frombuffer(data, entry.dtype.newbyteorder("<"), math.prod(entry.shape), entry.begin)
    return stored.astype(entry.dtype).reshape(entry.shape)


def _parse_metadata(metadata: object, where: str) -> dict[str, str]:
    if not isinstance(metadata, dict) or not all(
        isinstance(key, str) and isinstance(value, str) for key, value in metadata.items()
    ):
        raise CheckpointError(
            f"{where}: the header's {METADATA_KEY!r} must map strings to strings, got "
            f"{_shorten(metadata)}; the file is corrupted or was written by a broken writer."
        )
    return metadata


def _parse_entry(name: str, entry: object, where: str) -> TensorEntry:
    def malformed(problem: str) -> CheckpointError:
        return CheckpointError(
            f"{where}: the header entry of tensor {name!r} is malformed: {problem} "
            f"(entry: {_shorten(entry)}); the file is corrupted or not a safetensors file."
        )

    if not isinstance(entry, dict):
        raise malformed("it is not a JSON object")
    missing = [key for key in ("dtype", "shape", "data_offsets") if key not in entry]
    if missing:
        raise malformed(f"it lacks {', '.join(missing)}")
    code, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if code not in DTYPE_CODES:
        known = ", ".join(DTYPE_CODES)
        raise CheckpointError(
            f"{where}: tensor {name!r} has dtype {code!r}, which funcgrad cannot load "
            f"(it reads {known}). Convert the tensor to one of those where it was written."
        )
    if not isinstance(shape, list) or not all(_is_count(dim) for dim in shape):
        raise malformed("shape must be a list of non-negative integers")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(_is_count(offset) for offset in offsets)
        or offsets[0] > offsets[1]
    ):
        raise malformed("data_offsets must be [begin, end] with 0 <= begin <= end")
    dtype = DTYPE_CODES[code]
    needed = math.prod(shape) * dtype.itemsize
    if offsets[1] - offsets[0] != needed:
        raise malformed(
            f"a {code} tensor of shape {tuple(shape)} needs {needed} bytes, but its "
            f"data_offsets span {offsets[1] - offsets[0]}"
        )
    return TensorEntry(name, dtype, tuple(shape), offsets[0], offsets[1])


def _check_tiling(entries, data_size: int, where: str) -> None:
    """The tensors' byte ranges, sorted, must run from 0 to data_size with no gap or overlap."""
    position, previous = 0, None
    for entry in sorted(entries, key=lambda e: (e.begin, e.end)):
        if entry.begin < position:
            raise CheckpointError(
                f"{where}: tensors {previous.name!r} (bytes {previous.begin}..{previous.end}) "
                f"and {entry.name!r} (bytes {entry.begin}..{entry.end}) overlap in the data "
                "section; the header is corrupted."
            )
        if entry.begin > position:
            raise CheckpointError(
                f"{where}: bytes {position}..{entry.begin} of the data section belong to no "
                "tensor; the header is corrupted or was written by a broken writer."
            )
        if entry.end > data_size:
            raise CheckpointError(
                f"{where}: the file is truncated: tensor {entry.name!r} ends at byte "
                f"{entry.end} of the data section, which holds only {data_size} bytes."
            )
        position, previous = entry.end, entry
    if position != data_size:
        raise CheckpointError(
            f"{where}: the data section holds {data_size} bytes but its tensors end at byte "
            f"{position}; {data_size - position} trailing bytes belong to no tensor."
        )


def _is_count(value: object) -> bool:
    return type(value) is int and value >= 0


def _shorten(value: object, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
