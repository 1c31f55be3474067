"""IDX files and load_mnist: files written here with struct (an encoder independent of
funcgrad.data) read back exactly, plain and gzipped; each kind of damage gives a clear error."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest

from funcgrad.data import load_mnist, read_idx
from funcgrad.errors import DatasetError

# IDX type code -> (struct format character, NumPy dtype): the format's own table.
CODES = {
    0x08: ("B", np.uint8),
    0x09: ("b", np.int8),
    0x0B: ("h", np.int16),
    0x0C: ("i", np.int32),
    0x0D: ("f", np.float32),
    0x0E: ("d", np.float64),
}


def _idx_bytes(code: int, shape: tuple[int, ...], values: list) -> bytes:
    fmt = CODES[code][0]
    head = bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape)
    return head + struct.pack(f">{len(values)}{fmt}", *values)


def _write(path, payload: bytes, compress: bool = False):
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


@pytest.mark.parametrize("compress", [False, True], ids=["plain", "gz"])
@pytest.mark.parametrize("code", sorted(CODES), ids=lambda c: f"0x{c:02X}")
def test_every_type_code_round_trips(tmp_path, code, compress):
    dtype = np.dtype(CODES[code][1])
    values = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8] if dtype.kind in "iu" else [0.5, -1.25] * 6
    path = _write(tmp_path / "x-idx3", _idx_bytes(code, (2, 3, 2), values), compress)
    array = read_idx(path)
    assert array.dtype == dtype and array.dtype.isnative
    assert array.shape == (2, 3, 2)
    assert array.reshape(-1).tolist() == values


def test_big_endian_byte_order_is_decoded(tmp_path):
    path = _write(tmp_path / "big", bytes([0, 0, 0x0C, 1, 0, 0, 0, 1, 0x01, 0x02, 0x03, 0x04]))
    assert read_idx(path).tolist() == [0x01020304]


def test_zero_dimensional_and_empty_files(tmp_path):
    assert read_idx(_write(tmp_path / "s", _idx_bytes(0x08, (), [7]))).tolist() == 7
    assert read_idx(_write(tmp_path / "e", _idx_bytes(0x08, (0, 28), []))).shape == (0, 28)


@pytest.mark.parametrize(
    "payload, match",
    [
        (b"\0\0", "2 bytes long, too short for the 4-byte IDX magic"),
        (b"\1\0\x08\x01\0\0\0\0", "bad magic number 01000801"),
        (b"PK\x03\x04rest", "bad magic number 504b0304"),
        (b"\0\0\x0a\x01\0\0\0\0", "unknown IDX type code 0x0A"),
        (b"\0\0\x08\x03\0\0\0\x02\0\0", "truncated: its 3 dimensions need 16 header bytes"),
        (_idx_bytes(0x08, (2, 3), [1] * 6)[:-1], "truncated: shape \\(2, 3\\) of uint8 needs 6"),
        (_idx_bytes(0x0C, (2,), [1, 2]) + b"\0", "has trailing bytes: .* needs 8 data bytes"),
    ],
)
def test_damaged_files(tmp_path, payload, match):
    path = _write(tmp_path / "bad-idx1-ubyte", payload)
    with pytest.raises(DatasetError, match=match) as info:
        read_idx(path)
    assert str(path) in str(info.value)


def test_a_truncated_gzip_file(tmp_path):
    packed = gzip.compress(_idx_bytes(0x08, (100,), list(range(100))))
    path = _write(tmp_path / "cut.gz", packed[: len(packed) // 2])
    with pytest.raises(DatasetError, match="gzip-compressed but cannot be decompressed"):
        read_idx(path)


def _mnist_dir(tmp_path, train=3, test=2, labels_train=None, compress=("train",)):
    rng = np.random.default_rng(0)
    for split, count, prefix in (("train", train, "train"), ("test", test, "t10k")):
        pixels = rng.integers(0, 256, size=count * 4 * 5).tolist()
        labels = rng.integers(0, 10, size=labels_train or count if split == "train" else count)
        gz = ".gz" if split in compress else ""
        _write(
            tmp_path / f"{prefix}-images-idx3-ubyte{gz}",
            _idx_bytes(0x08, (count, 4, 5), pixels),
            bool(gz),
        )
        _write(
            tmp_path / f"{prefix}-labels-idx1-ubyte{gz}",
            _idx_bytes(0x08, (len(labels),), labels.tolist()),
            bool(gz),
        )
    return tmp_path


def test_load_mnist_reads_the_four_files(tmp_path):
    directory = _mnist_dir(tmp_path)
    (x_train, y_train), (x_test, y_test) = load_mnist(directory)
    assert x_train.shape == (3, 4, 5) and x_train.dtype == np.float32
    assert y_train.shape == (3,) and y_train.dtype == np.int32
    assert x_test.shape == (2, 4, 5) and y_test.shape == (2,)
    raw = read_idx(directory / "t10k-images-idx3-ubyte")
    np.testing.assert_array_equal(x_test * 255, raw.astype(np.float32))
    assert 0.0 <= x_train.min() and x_train.max() <= 1.0


def test_load_mnist_names_the_missing_file(tmp_path):
    directory = _mnist_dir(tmp_path)
    (directory / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match="neither t10k-labels-idx1-ubyte nor .*\\.gz"):
        load_mnist(directory)


def test_load_mnist_checks_image_and_label_counts(tmp_path):
    directory = _mnist_dir(tmp_path, train=3, labels_train=4)
    with pytest.raises(DatasetError, match="has 3 images but train-labels-idx1-ubyte has 4"):
        load_mnist(directory)


def test_load_mnist_checks_what_each_file_holds(tmp_path):
    directory = _mnist_dir(tmp_path, compress=())
    swapped = (directory / "train-labels-idx1-ubyte").read_bytes()
    (directory / "train-images-idx3-ubyte").write_bytes(swapped)
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte holds uint8 of shape \\(3,\\)"):
        load_mnist(directory)
