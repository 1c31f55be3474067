"""Loss functions and accuracy for training loops.

Every loss reduces over the batch by default (`reduction="mean"`, the value a training step
differentiates), or returns the per-example values (`"none"`, e.g. to weight them) or their sum
(`"sum"`). Classification losses take logits, never probabilities, so they can use the stable
log-softmax and softplus forms; labels are either integer class indices (shape
`logits.shape[:-1]`) or per-class probabilities such as one-hot rows (shape `logits.shape`),
told apart by their dtype.
"""

from __future__ import annotations

import numpy as np

from funcgrad.core.avals import get_aval
from funcgrad.core.source_info import api_boundary, user_location
from funcgrad.numpy import creation, indexing, reductions, shape_ops, ufuncs
from funcgrad.numpy.promotion import promote_args, promote_dtypes

__all__ = [
    "mse",
    "softmax_cross_entropy",
    "sigmoid_binary_cross_entropy",
    "accuracy",
]

_REDUCTIONS = ("mean", "sum", "none")


def _reduce(name: str, per_example, reduction: str):
    if reduction == "mean":
        return reductions.mean(per_example)
    if reduction == "sum":
        return reductions.sum(per_example)
    if reduction == "none":
        return per_example
    raise ValueError(
        f"{name}: reduction must be one of {_REDUCTIONS}, got {reduction!r} (at {user_location()})"
    )


def _shape_mismatch(name: str, what: str, got, expected, fix: str) -> ValueError:
    return ValueError(
        f"{name}: {what} have shape {tuple(got)} but must have shape {tuple(expected)} (at "
        f"{user_location()}); {fix}"
    )


def _is_integer_labels(labels) -> bool:
    dtype = get_aval(labels).dtype
    return np.issubdtype(dtype, np.integer) or dtype == np.bool_


def _class_axis_labels(name: str, logits, labels):
    """Integer labels as indices of the last axis, checked against the logits' shape."""
    logits_shape, labels_shape = get_aval(logits).shape, get_aval(labels).shape
    if not logits_shape:
        raise ValueError(
            f"{name}: logits must have a class axis (the last one), got a scalar (at "
            f"{user_location()})"
        )
    if _is_integer_labels(labels):
        if labels_shape != logits_shape[:-1]:
            raise _shape_mismatch(
                name,
                "integer labels",
                labels_shape,
                logits_shape[:-1],
                f"integer labels hold one class index per row of logits {tuple(logits_shape)}; "
                "for one-hot labels pass a float array shaped like the logits.",
            )
    elif labels_shape != logits_shape:
        raise _shape_mismatch(
            name,
            "probability (one-hot) labels",
            labels_shape,
            logits_shape,
            "float labels give a probability per class; for class indices pass an integer array "
            f"of shape {tuple(logits_shape[:-1])}.",
        )


@api_boundary
def mse(predictions, targets, *, reduction: str = "mean"):
    """Mean squared error: the mean over every axis but the first of `(predictions -
    targets) ** 2`, reduced over the batch (the first axis).

    >>> mse(jnp.array([[1.0, 2.0]]), jnp.array([[0.0, 0.0]]))  # doctest: +SKIP
    Array(2.5, dtype=float32)
    """
    predictions, targets = promote_dtypes(
        creation.asarray(predictions), creation.asarray(targets), inexact=True
    )
    shape, target_shape = get_aval(predictions).shape, get_aval(targets).shape
    if shape != target_shape:
        raise _shape_mismatch(
            "mse",
            "targets",
            target_shape,
            shape,
            "predictions and targets must match exactly (no broadcasting, which would silently "
            "compare every prediction with every target); reshape one of them.",
        )
    squared = ufuncs.square(ufuncs.subtract(predictions, targets))
    if len(shape) > 1:
        squared = reductions.mean(squared, axis=tuple(range(1, len(shape))))
    return _reduce("mse", squared, reduction)


@api_boundary
def softmax_cross_entropy(logits, labels, *, reduction: str = "mean"):
    """Cross-entropy between `softmax(logits)` and `labels` over the last axis.

    `labels` are integer class indices of shape `logits.shape[:-1]`, or float probabilities
    (one-hot rows, or smoothed ones) of the logits' shape.

    >>> softmax_cross_entropy(jnp.array([[2.0, 0.0]]), jnp.array([0]))  # doctest: +SKIP
    Array(0.12692805, dtype=float32)
    """
    from funcgrad.nn.functions import log_softmax

    (logits,) = promote_args("softmax_cross_entropy", logits, inexact=True)
    labels = creation.asarray(labels)
    _class_axis_labels("softmax_cross_entropy", logits, labels)
    log_probs = log_softmax(logits, axis=-1)
    if _is_integer_labels(labels):
        picked = indexing.take_along_axis(
            log_probs, shape_ops.expand_dims(labels.astype(np.int32), -1), axis=-1
        )
        per_example = ufuncs.negative(shape_ops.squeeze(picked, -1))
    else:
        labels = labels.astype(get_aval(logits).dtype)
        per_example = ufuncs.negative(reductions.sum(ufuncs.multiply(labels, log_probs), axis=-1))
    return _reduce("softmax_cross_entropy", per_example, reduction)


@api_boundary
def sigmoid_binary_cross_entropy(logits, labels, *, reduction: str = "mean"):
    """Binary cross-entropy between `sigmoid(logits)` and `labels` in [0, 1], elementwise,
    in the overflow-free form `softplus(logits) - logits * labels`; per example it is the mean
    over every axis but the first.

    >>> sigmoid_binary_cross_entropy(jnp.array([0.0]), jnp.array([1.0]))  # doctest: +SKIP
    Array(0.6931472, dtype=float32)
    """
    from funcgrad.nn.functions import softplus

    logits, labels = promote_dtypes(
        creation.asarray(logits), creation.asarray(labels), inexact=True
    )
    shape, label_shape = get_aval(logits).shape, get_aval(labels).shape
    if shape != label_shape:
        raise _shape_mismatch(
            "sigmoid_binary_cross_entropy",
            "labels",
            label_shape,
            shape,
            "give one 0/1 label (or probability) per logit.",
        )
    losses = ufuncs.subtract(softplus(logits), ufuncs.multiply(logits, labels))
    if len(shape) > 1:
        losses = reductions.mean(losses, axis=tuple(range(1, len(shape))))
    return _reduce("sigmoid_binary_cross_entropy", losses, reduction)


@api_boundary
def accuracy(logits, labels):
    """The fraction of rows whose largest logit is at the label's class (integer labels, or
    one-hot/probability rows whose largest entry marks the class).

    >>> accuracy(jnp.array([[2.0, 0.0], [0.0, 1.0]]), jnp.array([0, 0]))  # doctest: +SKIP
    Array(0.5, dtype=float32)
    """
    logits, labels = creation.asarray(logits), creation.asarray(labels)
    _class_axis_labels("accuracy", logits, labels)
    if not _is_integer_labels(labels):
        labels = reductions.argmax(labels, axis=-1)
    hits = ufuncs.equal(reductions.argmax(logits, axis=-1), labels.astype(np.int32))
    return reductions.mean(hits.astype(np.float32))
