"""MNIST from disk: the IDX file format and the four standard MNIST files.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number of
dimensions), one big-endian uint32 per dimension, then the elements, big-endian, in C
order. MNIST (and Fashion-MNIST, which uses the same names) ships as four such files,
usually gzipped. funcgrad does not download anything: fetch the files yourself and point
`load_mnist` at their directory.
"""

from __future__ import annotations

import gzip
import math
import os
import struct
import zlib

import numpy as np

from funcgrad.errors import DatasetError

__all__ = ["load_mnist", "read_idx"]

# IDX type code -> element dtype as stored (big-endian).
_IDX_DTYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_GZIP_MAGIC = b"\x1f\x8b"

_MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_PIXEL_MAX = 255


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """The array stored in an IDX file, plain or gzipped (recognised by content, not name).

    Returns a native-endian NumPy array of the file's dtype and shape. Raises
    funcgrad.errors.DatasetError naming the file for a bad magic number, an unknown type
    code, or a size that does not match the dimensions.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "labels-idx1-ubyte")
    >>> with open(path, "wb") as f:
    ...     _ = f.write(bytes([0, 0, 0x08, 1, 0, 0, 0, 3, 7, 2, 1]))
    >>> read_idx(path)
    array([7, 2, 1], dtype=uint8)
    """
    raw = _read_bytes(os.fspath(path))
    where = f"read_idx({os.fspath(path)!r})"
    if len(raw) < 4:
        raise DatasetError(
            f"{where}: the file is {len(raw)} bytes long, too short for the 4-byte IDX magic "
            "number; it is truncated or not an IDX file."
        )
    if raw[0] != 0 or raw[1] != 0:
        raise DatasetError(
            f"{where}: bad magic number {raw[:4].hex()} (an IDX file starts with two zero "
            "bytes, a type code and the number of dimensions); this is not an IDX file."
        )
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        known = ", ".join(f"0x{c:02X}" for c in _IDX_DTYPES)
        raise DatasetError(
            f"{where}: unknown IDX type code 0x{code:02X} (known: {known}); the file is "
            "corrupted or not an IDX file."
        )
    data_start = 4 + 4 * ndim
    if len(raw) < data_start:
        raise DatasetError(
            f"{where}: the file is truncated: its {ndim} dimensions need {data_start} header "
            f"bytes, but the file has {len(raw)}."
        )
    shape = struct.unpack(f">{ndim}I", raw[4:data_start])
    dtype = _IDX_DTYPES[code]
    needed = math.prod(shape) * dtype.itemsize
    found = len(raw) - data_start
    if found != needed:
        problem = "is truncated" if found < needed else "has trailing bytes"
        raise DatasetError(
            f"{where}: the file {problem}: shape {shape} of {dtype.newbyteorder('=').name} "
            f"needs {needed} data bytes, but {found} follow the header."
        )
    stored = np.frombuffer(raw, dtype, math.prod(shape), data_start).reshape(shape)
    return stored.astype(dtype.newbyteorder("="))


def load_mnist(
    directory: str | os.PathLike,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """MNIST (or Fashion-MNIST) from the four standard IDX files in `directory`.

    Looks for train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte and
    t10k-labels-idx1-ubyte, each optionally ending in .gz. Returns
    ``((train_images, train_labels), (test_images, test_labels))``: images float32 of shape
    (N, rows, cols) with values in [0, 1] (bytes divided by 255), labels int32 of shape (N,).

    >>> (x_train, y_train), (x_test, y_test) = load_mnist("~/data/mnist")  # doctest: +SKIP
    >>> x_train.shape, y_train.shape  # doctest: +SKIP
    ((60000, 28, 28), (60000,))
    """
    directory = os.path.expanduser(os.fspath(directory))
    splits = []
    for images_name, labels_name in _MNIST_FILES.values():
        images = read_idx(_find(directory, images_name))
        labels = read_idx(_find(directory, labels_name))
        _check_pair(directory, images_name, images, labels_name, labels)
        splits.append((images.astype(np.float32) / np.float32(_PIXEL_MAX), labels.astype(np.int32)))
    return splits[0], splits[1]


def _read_bytes(path: str) -> bytes:
    with open(path, "rb") as file:
        raw = file.read()
    if not raw.startswith(_GZIP_MAGIC):
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(
            f"read_idx({path!r}): the file is gzip-compressed but cannot be decompressed "
            f"({err}); it is truncated or corrupted. Download it again."
        ) from None


def _find(directory: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(directory, candidate)
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(
        f"load_mnist({directory!r}): neither {name} nor {name}.gz is in that directory. "
        "It needs the four standard MNIST files: "
        + ", ".join(name for pair in _MNIST_FILES.values() for name in pair)
        + " (each optionally .gz)."
    )


def _check_pair(
    directory: str, images_name: str, images: np.ndarray, labels_name: str, labels: np.ndarray
) -> None:
    where = f"load_mnist({directory!r})"
    if images.ndim != 3 or images.dtype != np.uint8:
        raise DatasetError(
            f"{where}: {images_name} holds {images.dtype} of shape {images.shape}, not the "
            "uint8 (count, rows, cols) images MNIST has; the files are mixed up."
        )
    if labels.ndim != 1 or labels.dtype != np.uint8:
        raise DatasetError(
            f"{where}: {labels_name} holds {labels.dtype} of shape {labels.shape}, not the "
            "uint8 (count,) labels MNIST has; the files are mixed up."
        )
    if images.shape[0] != labels.shape[0]:
        raise DatasetError(
            f"{where}: {images_name} has {images.shape[0]} images but {labels_name} has "
            f"{labels.shape[0]} labels; one of the files is from another download or cut short."
        )
