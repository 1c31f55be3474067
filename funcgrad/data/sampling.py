"""Train/test splits and shuffled minibatches, both defined by a funcgrad PRNG key.

The order of the examples comes from `funcgrad.random.permutation(key, n)`, so a key fixes
it exactly: the same key gives the same split or the same batches on every run and every
machine. The data stays in host NumPy arrays; each batch is one fancy-indexing gather per
array with a slice of the precomputed permutation, so a batch costs no more than the copy.
Arrays are indexed along their first axis, which counts the examples.

For several epochs derive one key per epoch, e.g. ``random.fold_in(key, epoch)``.
"""

from __future__ import annotations

import operator
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from funcgrad import random
from funcgrad.core.source_info import user_location

__all__ = ["batches", "split"]


def split(
    key: Any, *arrays: Any, test_fraction: float = 0.2, stratify: Any = None
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...]]:
    """Shuffle the examples with `key` and split them into a training and a test part.

    ``round(test_fraction * n)`` examples go to the test part. With `stratify` (a 1-D array
    of n class labels, usually the labels themselves), every class is split in the same
    proportion, up to rounding. Returns ``(train, test)``, each a tuple holding the
    corresponding rows of every array, in shuffled order.

    >>> import numpy as np, funcgrad.random as random
    >>> x, y = np.arange(20).reshape(10, 2), np.arange(10)
    >>> (x_train, y_train), (x_test, y_test) = split(random.PRNGKey(0), x, y)
    >>> x_train.shape, x_test.shape
    ((8, 2), (2, 2))
    """
    where = f"split at {user_location()}"
    data, count = _examples(where, arrays)
    fraction = float(test_fraction)
    test_count = round(fraction * count)
    if not 0 < fraction < 1 or not 0 < test_count < count:
        raise ValueError(
            f"{where}: test_fraction={test_fraction!r} of {count} examples leaves "
            f"{test_count} for testing and {count - test_count} for training; both parts must "
            "be non-empty. Choose a fraction between 0 and 1 that fits the data."
        )
    order = _permutation(key, count)
    if stratify is None:
        is_test = np.arange(count) < test_count
    else:
        is_test = _stratified_test_mask(where, stratify, count, order, test_count)
    train_rows, test_rows = order[~is_test], order[is_test]
    return tuple(a[train_rows] for a in data), tuple(a[test_rows] for a in data)


def batches(
    key: Any,
    *arrays: Any,
    batch_size: int,
    shuffle: bool = True,
    drop_remainder: bool = False,
) -> Iterator[tuple[np.ndarray, ...]]:
    """Iterate once over the examples in minibatches: one tuple of arrays per batch.

    With ``shuffle=True`` the order is a permutation drawn from `key`; with
    ``shuffle=False`` it is the stored order and `key` may be None. The last batch is
    smaller when `batch_size` does not divide the number of examples, unless
    ``drop_remainder=True`` drops it (useful under jit, where each batch shape compiles once).

    >>> import numpy as np, funcgrad.random as random
    >>> x, y = np.zeros((10, 3)), np.arange(10)
    >>> key = random.PRNGKey(0)
    >>> for epoch in range(2):
    ...     for xb, yb in batches(random.fold_in(key, epoch), x, y, batch_size=4):
    ...         print(epoch, xb.shape, yb.shape)
    0 (4, 3) (4,)
    0 (4, 3) (4,)
    0 (2, 3) (2,)
    1 (4, 3) (4,)
    1 (4, 3) (4,)
    1 (2, 3) (2,)
    """
    where = f"batches at {user_location()}"
    data, count = _examples(where, arrays)
    size = _batch_size(where, batch_size)
    stop = count - count % size if drop_remainder else count
    if stop == 0:
        raise ValueError(
            f"{where}: drop_remainder=True with {count} examples and batch_size={size} "
            "would give no batch at all. Use a smaller batch_size or drop_remainder=False."
        )
    if shuffle:
        if key is None:
            raise TypeError(
                f"{where}: shuffle=True needs a PRNG key, got None. Pass e.g. "
                "funcgrad.random.PRNGKey(0), or shuffle=False for the stored order."
            )
        order = _permutation(key, count)
    else:
        order = None
    # Validation above runs at the call; only the iteration itself is deferred.
    return _iterate(data, order, size, stop)


def _iterate(
    data: Sequence[np.ndarray], order: np.ndarray | None, size: int, stop: int
) -> Iterator[tuple[np.ndarray, ...]]:
    for start in range(0, stop, size):
        end = min(start + size, stop)
        if order is None:
            yield tuple(a[start:end] for a in data)
        else:
            rows = order[start:end]
            yield tuple(a[rows] for a in data)


def _examples(where: str, arrays: Sequence[Any]) -> tuple[list[np.ndarray], int]:
    if not arrays:
        raise TypeError(f"{where}: no arrays given. Pass the data, e.g. (key, images, labels).")
    data = [np.asarray(a) for a in arrays]
    scalars = [i for i, a in enumerate(data) if a.ndim == 0]
    if scalars:
        raise ValueError(
            f"{where}: array {scalars[0]} is 0-dimensional; every array needs a leading axis "
            "that counts the examples."
        )
    lengths = [a.shape[0] for a in data]
    if len(set(lengths)) > 1:
        shapes = ", ".join(str(a.shape) for a in data)
        raise ValueError(
            f"{where}: the arrays hold different numbers of examples (shapes {shapes}); the "
            "first axis of each must have the same length."
        )
    if lengths[0] == 0:
        raise ValueError(f"{where}: the arrays hold no examples (first axis of length 0).")
    return data, lengths[0]


def _batch_size(where: str, batch_size: Any) -> int:
    if isinstance(batch_size, bool):
        raise TypeError(f"{where}: batch_size must be a positive int, got {batch_size!r}.")
    try:
        size = operator.index(batch_size)
    except TypeError:
        raise TypeError(
            f"{where}: batch_size must be a positive int, got {batch_size!r} of type "
            f"{type(batch_size).__name__}."
        ) from None
    if size <= 0:
        raise ValueError(f"{where}: batch_size must be a positive int, got {size}.")
    return size


def _permutation(key: Any, count: int) -> np.ndarray:
    return np.asarray(random.permutation(key, count))


def _stratified_test_mask(
    where: str, stratify: Any, count: int, order: np.ndarray, test_count: int
) -> np.ndarray:
    """Which positions of `order` go to the test part, so that each class contributes its
    share of `test_count`: the first examples of each class in shuffled order."""
    labels = np.asarray(stratify)
    if labels.shape != (count,):
        raise ValueError(
            f"{where}: stratify must be a 1-D array of {count} labels, one per example, got "
            f"shape {labels.shape}."
        )
    _, class_of, class_sizes = np.unique(labels[order], return_inverse=True, return_counts=True)
    quotas = _largest_remainder(class_sizes, test_count, count)
    # Rank of each position among the positions of its class, counted in shuffled order.
    by_class = np.argsort(class_of, kind="stable")
    class_starts = np.cumsum(class_sizes) - class_sizes
    rank = np.empty(count, dtype=np.int64)
    rank[by_class] = np.arange(count) - np.repeat(class_starts, class_sizes)
    return rank < quotas[class_of]


def _largest_remainder(sizes: np.ndarray, total: int, count: int) -> np.ndarray:
    """Integer shares of `total` proportional to `sizes` (which sum to `count`), summing
    exactly to `total`: floors first, then one more each for the largest remainders."""
    scaled = sizes.astype(np.int64) * total
    shares, remainders = scaled // count, scaled % count
    short = total - int(shares.sum())
    shares[np.argsort(-remainders, kind="stable")[:short]] += 1
    return shares
