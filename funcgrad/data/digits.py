"""The bundled handwritten-digits data set: 1797 8x8 grey images of the digits 0-9.

Origin and licence: the test set of the UCI ML "Optical Recognition of Handwritten Digits"
data set (E. Alpaydin and C. Kaynak, 1998,
https://archive.ics.uci.edu/ml/datasets/Optical+Recognition+of+Handwritten+Digits), licensed
CC BY 4.0, in the copy scikit-learn bundles as sklearn/datasets/data/digits.csv.gz. It ships
here unchanged as digits.csv.gz: one row per image, 64 pixel counts (0..16, row-major)
followed by the label.

It is small enough to ship inside the package and to train on in seconds, which is why the
demo and the tests use it; `funcgrad.data.load_mnist` reads the larger MNIST when it is on disk.
"""

from __future__ import annotations

import functools
import gzip
import importlib.resources
import io

import numpy as np

__all__ = ["load_digits"]

_FILE = "digits.csv.gz"
_PIXEL_MAX = 16


@functools.cache
def _table() -> np.ndarray:
    compressed = importlib.resources.files(__package__).joinpath(_FILE).read_bytes()
    text = gzip.decompress(compressed).decode("ascii")
    table = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.int32, ndmin=2)
    # Cached and shared between calls, so nobody may write to it.
    table.flags.writeable = False
    return table


def load_digits() -> tuple[np.ndarray, np.ndarray]:
    """The 1797 digit images and their labels, as NumPy arrays.

    Returns ``(images, labels)``: images float32 of shape (1797, 8, 8) with values in
    [0, 1] (the stored counts 0..16 divided by 16, so ``images * 16`` recovers them
    exactly), labels int32 of shape (1797,) with values 0..9. Both are fresh arrays the
    caller may modify; they go straight into jitted functions.

    >>> images, labels = load_digits()
    >>> images.shape, images.dtype, labels.shape, labels.dtype
    ((1797, 8, 8), dtype('float32'), (1797,), dtype('int32'))
    """
    table = _table()
    images = table[:, :-1].reshape(-1, 8, 8).astype(np.float32) / np.float32(_PIXEL_MAX)
    return images, table[:, -1].copy()
