"""The bundled digits: shapes, dtypes and values, checked against the csv parsed here with
the standard library only, and against known answers from the file."""

from __future__ import annotations

import csv
import gzip
import importlib.resources
import io

import numpy as np

from funcgrad.data import load_digits

# The first image of the data set, a zero (row 0 of digits.csv.gz), as stored: counts 0..16.
FIRST_IMAGE = [
    [0, 0, 5, 13, 9, 1, 0, 0],
    [0, 0, 13, 15, 10, 15, 5, 0],
    [0, 3, 15, 2, 0, 11, 8, 0],
    [0, 4, 12, 0, 0, 8, 8, 0],
    [0, 5, 8, 0, 0, 9, 8, 0],
    [0, 4, 11, 0, 1, 12, 7, 0],
    [0, 2, 14, 5, 10, 12, 0, 0],
    [0, 0, 6, 13, 10, 0, 0, 0],
]
# Images per digit 0..9 in scikit-learn's copy of the UCI test set.
CLASS_COUNTS = [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]


def _rows_by_hand() -> list[list[int]]:
    packed = importlib.resources.files("funcgrad.data").joinpath("digits.csv.gz").read_bytes()
    text = gzip.decompress(packed).decode("ascii")
    return [[int(cell) for cell in row] for row in csv.reader(io.StringIO(text))]


def test_shapes_dtypes_and_range():
    images, labels = load_digits()
    assert images.shape == (1797, 8, 8) and images.dtype == np.float32
    assert labels.shape == (1797,) and labels.dtype == np.int32
    assert images.min() == 0.0 and images.max() == 1.0
    assert set(np.unique(labels)) == set(range(10))


def test_known_answers():
    images, labels = load_digits()
    np.testing.assert_array_equal(images[0] * 16, FIRST_IMAGE)
    assert labels[0] == 0 and list(labels[:10]) == list(range(10))
    counts = [int((labels == digit).sum()) for digit in range(10)]
    assert counts == CLASS_COUNTS and sum(counts) == 1797


def test_every_value_matches_the_csv():
    rows = _rows_by_hand()
    images, labels = load_digits()
    assert len(rows) == 1797 and all(len(row) == 65 for row in rows)
    for i, row in enumerate(rows):
        assert labels[i] == row[64]
        assert [int(v) for v in (images[i] * 16).reshape(-1)] == row[:64]


def test_each_call_returns_fresh_arrays():
    images, labels = load_digits()
    images[0] = 9.0
    labels[0] = 7
    again_images, again_labels = load_digits()
    assert again_images[0, 0, 0] == 0.0 and again_labels[0] == 0
