"""funcgrad.nn losses and accuracy against NumPy float64 formulas written here.

Cross-entropy is checked with integer labels and with one-hot and smoothed probability labels,
at logits large enough that a naive softmax overflows; every reduction mode; gradients against
finite differences; and each shape mistake gets an error naming the shapes.
"""

from __future__ import annotations

import numpy as np
import pytest

import funcgrad.numpy as jnp
from funcgrad import nn
from funcgrad.test_util import check_grads

RNG = np.random.default_rng(0)
LOGITS = (RNG.normal(size=(6, 5)) * 3).astype(np.float32)
LOGITS[0] = [900.0, -900.0, 0.0, 1.0, 2.0]  # exp overflows float32 without the max shift
LABELS = np.array([0, 4, 2, 1, 3, 0], np.int32)


def log_softmax64(x):
    x = np.asarray(x, np.float64)
    shifted = x - x.max(-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))


def reduce64(values, reduction):
    return {"mean": values.mean(), "sum": values.sum(), "none": values}[reduction]


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_softmax_cross_entropy_integer_labels(reduction):
    want = -log_softmax64(LOGITS)[np.arange(6), LABELS]
    got = nn.softmax_cross_entropy(LOGITS, LABELS, reduction=reduction)
    np.testing.assert_allclose(np.asarray(got), reduce64(want, reduction), rtol=1e-5, atol=1e-5)


def test_softmax_cross_entropy_probability_labels():
    one_hot = np.eye(5, dtype=np.float32)[LABELS]
    smoothed = 0.9 * one_hot + 0.1 / 5
    for labels in (one_hot, smoothed):
        want = -(labels * log_softmax64(LOGITS)).sum(-1).mean()
        got = nn.softmax_cross_entropy(LOGITS, labels)
        np.testing.assert_allclose(float(got), want, rtol=1e-5)


def test_softmax_cross_entropy_batched_sequence_labels():
    logits = RNG.normal(size=(2, 3, 4)).astype(np.float32)
    labels = RNG.integers(0, 4, size=(2, 3)).astype(np.int32)
    picked = np.take_along_axis(log_softmax64(logits), labels[..., None], -1)[..., 0]
    got = nn.softmax_cross_entropy(logits, labels, reduction="none")
    np.testing.assert_allclose(np.asarray(got), -picked, rtol=1e-5)


def test_mse_means_over_features_then_batch():
    predictions = RNG.normal(size=(4, 3)).astype(np.float32)
    targets = RNG.normal(size=(4, 3)).astype(np.float32)
    per_example = ((predictions.astype(np.float64) - targets) ** 2).mean(1)
    np.testing.assert_allclose(float(nn.mse(predictions, targets)), per_example.mean(), rtol=1e-6)
    np.testing.assert_allclose(
        np.asarray(nn.mse(predictions, targets, reduction="none")), per_example, rtol=1e-6
    )
    np.testing.assert_allclose(float(nn.mse(np.array([1.0, 3.0]), np.zeros(2))), 5.0)


def test_sigmoid_binary_cross_entropy():
    logits = np.array([[-50.0, 0.0, 3.0], [100.0, -2.0, 0.5]], np.float32)
    labels = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.3]], np.float32)
    x = logits.astype(np.float64)
    # -[y log(sigmoid(x)) + (1 - y) log(1 - sigmoid(x))], each log written as -log(1 + e^(..)).
    elementwise = labels * np.logaddexp(0, -x) + (1 - labels) * np.logaddexp(0, x)
    want = elementwise.mean(1)
    got = nn.sigmoid_binary_cross_entropy(logits, labels, reduction="none")
    np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-6)


def test_accuracy_with_integer_and_one_hot_labels():
    predicted = LOGITS.argmax(1)
    want = (predicted == LABELS).mean()
    np.testing.assert_allclose(float(nn.accuracy(LOGITS, LABELS)), want)
    np.testing.assert_allclose(float(nn.accuracy(LOGITS, np.eye(5)[LABELS])), want)
    assert float(nn.accuracy(LOGITS, predicted.astype(np.int32))) == 1.0


def test_gradients_match_finite_differences(x64):
    logits = RNG.normal(size=(3, 4))
    labels = np.array([1, 0, 3])
    targets = RNG.normal(size=(3, 4))
    check_grads(lambda x: nn.softmax_cross_entropy(x, labels), (logits,), order=2)
    check_grads(lambda x: nn.softmax_cross_entropy(x, np.eye(4)[labels]), (logits,), order=1)
    check_grads(lambda x: nn.mse(x, targets), (logits,), order=2)
    check_grads(lambda x: nn.sigmoid_binary_cross_entropy(x, targets > 0), (logits,), order=2)


def test_cross_entropy_gradient_is_softmax_minus_one_hot():
    import funcgrad

    grad = funcgrad.grad(lambda x: nn.softmax_cross_entropy(x, LABELS, reduction="sum"))(LOGITS)
    probabilities = np.exp(log_softmax64(LOGITS))
    np.testing.assert_allclose(
        np.asarray(grad), probabilities - np.eye(5)[LABELS], rtol=1e-5, atol=1e-6
    )


def test_shape_mistakes_are_named():
    with pytest.raises(
        ValueError, match=r"integer labels have shape \(6, 1\) but must have shape \(6,\)"
    ):
        nn.softmax_cross_entropy(LOGITS, LABELS[:, None])
    with pytest.raises(
        ValueError, match=r"one-hot\) labels have shape \(6, 4\) but must have shape \(6, 5\)"
    ):
        nn.softmax_cross_entropy(LOGITS, np.eye(4, dtype=np.float32)[LABELS % 4])
    with pytest.raises(ValueError, match=r"targets have shape \(4, 1\) but must have shape \(4,\)"):
        nn.mse(jnp.zeros(4), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match="no broadcasting"):
        nn.mse(jnp.zeros(4), jnp.zeros((4, 1)))
    with pytest.raises(ValueError, match=r"labels have shape \(2,\) but must have shape \(3,\)"):
        nn.sigmoid_binary_cross_entropy(jnp.zeros(3), jnp.zeros(2))
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.mse(jnp.zeros(3), jnp.zeros(3), reduction="average")
    with pytest.raises(ValueError, match="class axis"):
        nn.accuracy(jnp.zeros(()), jnp.zeros((), jnp.int32))


def test_errors_name_the_callers_line():
    with pytest.raises(ValueError, match=r"test_losses\.py:\d+"):
        nn.softmax_cross_entropy(LOGITS, LABELS[:3])
