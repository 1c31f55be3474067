"""split and batches: the order is funcgrad.random.permutation of the key (so the key fixes
it), every example appears exactly once, stratification keeps class proportions, and bad
arguments raise clear errors naming the call and the user's line."""

from __future__ import annotations

import numpy as np
import pytest

from funcgrad import random
from funcgrad.data import batches, load_digits, split

HERE = "test_sampling.py"
KEY = random.PRNGKey(0)


def _data(count=23):
    x = np.arange(count * 2, dtype=np.float32).reshape(count, 2)
    return x, np.arange(count, dtype=np.int32)


def _ids(parts) -> list[int]:
    return [int(v) for part in parts for v in part]


def test_batches_follow_the_keys_permutation_and_cover_each_example_once():
    x, y = _data()
    got = list(batches(KEY, x, y, batch_size=5))
    assert [len(yb) for _, yb in got] == [5, 5, 5, 5, 3]
    order = np.asarray(random.permutation(KEY, 23))
    assert _ids(yb for _, yb in got) == order.tolist()
    assert sorted(_ids(yb for _, yb in got)) == list(range(23))
    for xb, yb in got:
        np.testing.assert_array_equal(xb, x[yb])


def test_same_key_same_batches_different_keys_differ():
    x, y = _data(100)
    first = _ids(yb for _, yb in batches(KEY, x, y, batch_size=16))
    again = _ids(yb for _, yb in batches(KEY, x, y, batch_size=16))
    epoch_1 = _ids(yb for _, yb in batches(random.fold_in(KEY, 1), x, y, batch_size=16))
    other = _ids(yb for _, yb in batches(random.PRNGKey(1), x, y, batch_size=16))
    assert first == again
    assert first != epoch_1 and first != other
    assert sorted(epoch_1) == sorted(other) == list(range(100))


def test_typed_keys_give_the_same_order_as_raw_keys():
    x, _ = _data()
    raw = [b[0] for b in batches(random.PRNGKey(5), x, batch_size=4)]
    typed = [b[0] for b in batches(random.key(5), x, batch_size=4)]
    for a, b in zip(raw, typed, strict=True):
        np.testing.assert_array_equal(a, b)


def test_drop_remainder_and_stored_order():
    x, y = _data()
    dropped = list(batches(KEY, x, y, batch_size=5, drop_remainder=True))
    assert [len(yb) for _, yb in dropped] == [5, 5, 5, 5]
    in_order = list(batches(None, y, batch_size=10, shuffle=False))
    assert [b[0].tolist() for b in in_order] == [
        list(range(10)),
        list(range(10, 20)),
        [20, 21, 22],
    ]


def test_a_single_array_still_yields_tuples():
    (batch,) = next(iter(batches(KEY, np.arange(4), batch_size=4)))
    assert sorted(batch.tolist()) == [0, 1, 2, 3]


def test_split_is_a_shuffled_partition_defined_by_the_key():
    x, y = _data(50)
    (x_train, y_train), (x_test, y_test) = split(KEY, x, y, test_fraction=0.3)
    assert len(y_test) == 15 and len(y_train) == 35
    order = np.asarray(random.permutation(KEY, 50)).tolist()
    assert y_test.tolist() == order[:15] and y_train.tolist() == order[15:]
    np.testing.assert_array_equal(x_train, x[y_train])
    (_, again), _ = split(KEY, x, y, test_fraction=0.3)
    (_, other), _ = split(random.PRNGKey(9), x, y, test_fraction=0.3)
    assert again.tolist() == y_train.tolist() and other.tolist() != y_train.tolist()


def test_stratified_split_keeps_every_class_proportion():
    images, labels = load_digits()
    (_, y_train), (_, y_test) = split(KEY, images, labels, test_fraction=0.2, stratify=labels)
    assert len(y_test) == round(0.2 * 1797) and len(y_train) + len(y_test) == 1797
    for digit in range(10):
        total = int((labels == digit).sum())
        in_test = int((y_test == digit).sum())
        assert abs(in_test - 0.2 * total) < 1, (digit, in_test, total)
        assert in_test + int((y_train == digit).sum()) == total


def test_stratified_split_by_hand_on_a_small_case():
    labels = np.array([0] * 6 + [1] * 3 + [2] * 1)
    _, (test_labels,) = split(KEY, labels, test_fraction=0.5, stratify=labels)
    # Shares of 5 in proportion 6:3:1 are 3, 1.5, 0.5: floors 3, 1, 0, and the two equal
    # remainders give the last example to the first class with one (class 1).
    assert sorted(test_labels.tolist()) == [0, 0, 0, 1, 1]


def _fails(error, match, call):
    with pytest.raises(error, match=match) as info:
        call()
    assert HERE in str(info.value)


def test_bad_arguments_to_batches():
    x, y = _data()
    _fails(
        ValueError,
        "different numbers of examples .*\\(23, 2\\), \\(22,\\)",
        lambda: batches(KEY, x, y[:-1], batch_size=4),
    )
    _fails(
        ValueError,
        "batch_size must be a positive int, got 0",
        lambda: batches(KEY, x, batch_size=0),
    )
    _fails(
        TypeError,
        "batch_size must be a positive int, got 2.5 of type float",
        lambda: batches(KEY, x, batch_size=2.5),
    )
    _fails(
        TypeError,
        "batch_size must be a positive int, got True",
        lambda: batches(KEY, x, batch_size=True),
    )
    _fails(ValueError, "hold no examples", lambda: batches(KEY, np.zeros((0, 3)), batch_size=2))
    _fails(ValueError, "array 1 is 0-dimensional", lambda: batches(KEY, x, 3.0, batch_size=2))
    _fails(TypeError, "no arrays given", lambda: batches(KEY, batch_size=2))
    _fails(TypeError, "shuffle=True needs a PRNG key", lambda: batches(None, x, batch_size=2))
    _fails(
        ValueError,
        "would give no batch at all",
        lambda: batches(KEY, x, batch_size=50, drop_remainder=True),
    )


def test_bad_arguments_to_split():
    x, y = _data(10)
    _fails(ValueError, "test_fraction=0.0 of 10 examples", lambda: split(KEY, x, test_fraction=0.0))
    _fails(
        ValueError,
        "test_fraction=0.99 of 10 examples leaves 10 for testing",
        lambda: split(KEY, x, test_fraction=0.99),
    )
    _fails(
        ValueError,
        "stratify must be a 1-D array of 10 labels",
        lambda: split(KEY, x, stratify=y[:5]),
    )
    _fails(ValueError, "different numbers of examples", lambda: split(KEY, x, y[:3]))
