"""The main job's promises: on the fixed digits split, the MLP reaches 97% and the LeNet CNN
98% held-out accuracy with the demo's own training functions and seeds, and `main` saves a
checkpoint that reloads into a jitted predictor giving the same predictions.

Held-out accuracy is computed here from the predictions and the labels, independently of
`demo.evaluate`.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

from funcgrad import demo

pytestmark = pytest.mark.eager_only("trains real models; the demo jits its steps itself")


@pytest.fixture(scope="module")
def digits():
    return demo.digits_split()


def held_out_accuracy(model, trained, images, labels) -> float:
    predict = demo.inference_function(model, trained.state)
    return float(np.mean(np.asarray(predict(trained.params, images)) == labels))


def test_split_is_fixed_stratified_and_disjoint(digits):
    (train_x, train_y), (test_x, test_y) = digits
    assert train_x.shape == (1438, 8, 8, 1) and test_x.shape == (359, 8, 8, 1)
    # Stratified: each class keeps (to rounding) a fifth of its examples in the test part.
    counts = np.bincount(np.concatenate([train_y, test_y]), minlength=10)
    assert np.all(np.abs(np.bincount(test_y, minlength=10) - counts / 5) <= 1)
    train_rows = {row.tobytes() for row in train_x}
    overlap = sum(row.tobytes() in train_rows for row in test_x)
    assert overlap < 5  # a few digits in this data set are pixel-identical duplicates
    (again_x, _), _ = demo.digits_split()
    np.testing.assert_array_equal(again_x, train_x)


def test_mlp_reaches_97_percent(digits):
    (train_x, train_y), (test_x, test_y) = digits
    model = demo.mlp()
    trained = demo.train(model, train_x, train_y, epochs=30, show_progress=False)
    assert held_out_accuracy(model, trained, test_x, test_y) >= 0.97
    losses = trained.history["loss"][1]
    assert losses[-20:].mean() < losses[:20].mean() / 5


def test_cnn_reaches_98_percent(digits):
    (train_x, train_y), (test_x, test_y) = digits
    model = demo.lenet()
    trained = demo.train(model, train_x, train_y, epochs=15, show_progress=False)
    assert held_out_accuracy(model, trained, test_x, test_y) >= 0.98


def test_main_saves_and_reloads_the_checkpoint(tmp_path, capsys):
    demo.main(
        [
            "--mlp-epochs",
            "1",
            "--cnn-epochs",
            "1",
            "--no-progress",
            "--checkpoint-dir",
            str(tmp_path),
        ]
    )
    out = capsys.readouterr().out
    assert "same predictions as before saving" in out
    assert os.path.getsize(tmp_path / "lenet_digits.safetensors") > 4 * 500 * 200
    assert "LeNet CNN" in out and "MLP" in out
