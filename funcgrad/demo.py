"""The main job, `python -m funcgrad`: train an MLP and a LeNet-style CNN on the bundled
handwritten digits, save the CNN, reload it into a jit-compiled inference function.

It is the training loop funcgrad is built for, written the way a user would write it: models
from `nn`, `jit(value_and_grad)` of the loss, adam from `optim`, shuffled minibatches from
`data`, a checkpoint through `io`, and progress bars from `metrics`. The functions here are
also what tests/test_demo.py runs to hold the accuracy targets (MLP >= 97%, CNN >= 98% on a
fixed held-out split).
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np

import funcgrad
import funcgrad.numpy as jnp
from funcgrad import data, io, metrics, nn, optim, random
from funcgrad.compiler.jit import default_jit_backend

__all__ = ["mlp", "lenet", "digits_split", "train", "evaluate", "inference_function", "main"]

# The split and initialization seeds the accuracy targets are stated for.
SPLIT_SEED, TRAIN_SEED = 0, 1


def mlp() -> nn.Sequential:
    """64 pixels -> 256 ReLU units -> 10 logits."""
    return nn.Sequential([nn.Flatten(), nn.Linear(256), nn.relu, nn.Linear(10)])


def lenet() -> nn.Sequential:
    """LeNet's layers (conv 5x5 to 20 channels, max-pool, conv 5x5 to 50 channels, max-pool,
    dense 500, dense 10) with "SAME" padding, which is what lets 8x8 digits (rather than
    28x28 MNIST) keep 4x4 and then 2x2 feature maps through the two poolings."""
    return nn.Sequential(
        [
            nn.Conv2d(20, 5),
            nn.relu,
            nn.MaxPool(2),
            nn.Conv2d(50, 5),
            nn.relu,
            nn.MaxPool(2),
            nn.Flatten(),
            nn.Linear(500),
            nn.relu,
            nn.Linear(10),
        ]
    )


def digits_split():
    """The bundled digits as NHWC images (n, 8, 8, 1), split 80/20 per class with a fixed key:
    `((train_images, train_labels), (test_images, test_labels))`."""
    images, labels = data.load_digits()
    images = images[..., None]
    return data.split(random.PRNGKey(SPLIT_SEED), images, labels, stratify=labels)


@dataclasses.dataclass
class Trained:
    """A trained model's numbers and how training went."""

    params: object
    state: object
    history: metrics.History
    first_step_seconds: float  # tracing and compiling included
    step_seconds: float  # the median of the others
    train_seconds: float


def _train_step(model: nn.Module, optimizer: optim.GradientTransformation) -> Callable:
    def loss_and_logits(params, state, images, labels):
        logits, state = model.apply(params, state, images, train=True)
        return nn.softmax_cross_entropy(logits, labels), (state, logits)

    @funcgrad.jit
    def step(params, state, opt_state, images, labels):
        gradient = funcgrad.value_and_grad(loss_and_logits, has_aux=True)
        (loss, (state, logits)), grads = gradient(params, state, images, labels)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optim.apply_updates(params, updates)
        return params, state, opt_state, loss, nn.accuracy(logits, labels)

    return step


def train(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = TRAIN_SEED,
    name: str = "train",
    show_progress: bool = True,
) -> Trained:
    """Adam on the mean softmax cross-entropy, `epochs` passes over shuffled minibatches."""
    init_key, data_key = random.split(random.PRNGKey(seed))
    params, state = model.init(init_key, images[:batch_size])
    optimizer = optim.adam(learning_rate)
    opt_state = optimizer.init(params)
    step = _train_step(model, optimizer)

    steps_per_epoch = len(images) // batch_size
    history, durations = metrics.History(), []
    epochs_bar = range(epochs)
    bar = metrics.progress(epochs_bar, desc=name) if show_progress else epochs_bar
    start = time.perf_counter()
    for epoch in bar:
        epoch_key = random.fold_in(data_key, epoch)
        for index, (x, y) in enumerate(
            data.batches(epoch_key, images, labels, batch_size=batch_size, drop_remainder=True)
        ):
            began = time.perf_counter()
            params, state, opt_state, loss, accuracy = step(params, state, opt_state, x, y)
            loss = float(loss)  # waits for the step, so its time is all in `durations`
            durations.append(time.perf_counter() - began)
            history.append(epoch * steps_per_epoch + index, loss=loss, accuracy=accuracy)
        if show_progress:
            bar.set_postfix(loss=history.last("loss"), accuracy=history.last("accuracy"))
    train_seconds = time.perf_counter() - start
    return Trained(
        params, state, history, durations[0], float(np.median(durations[1:])), train_seconds
    )


def inference_function(model: nn.Module, state) -> Callable:
    """A jit-compiled `predict(params, images) -> class indices`."""

    @funcgrad.jit
    def predict(params, images):
        logits, _ = model.apply(params, state, images)
        return jnp.argmax(logits, axis=-1)

    return predict


def evaluate(model: nn.Module, trained: Trained, images, labels) -> float:
    """Held-out accuracy."""
    predictions = inference_function(model, trained.state)(trained.params, images)
    return float(np.mean(np.asarray(predictions) == labels))


def _parameter_count(params) -> int:
    return sum(math.prod(leaf.shape) for leaf in funcgrad.tree.leaves(params))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m funcgrad", description=__doc__.split("\n")[0])
    parser.add_argument("--mlp-epochs", type=int, default=30)
    parser.add_argument("--cnn-epochs", type=int, default=15)
    parser.add_argument(
        "--checkpoint-dir", help="where the CNN checkpoint goes (default: a temporary directory)"
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    arguments = parser.parse_args(argv)
    started = time.perf_counter()

    (train_x, train_y), (test_x, test_y) = digits_split()
    print(
        f"digits: {len(train_x)} training and {len(test_x)} held-out 8x8 images, 10 classes; "
        f"jit backend: {default_jit_backend()}"
    )
    rows, trained_models = [], {}
    for name, model, epochs in (
        ("MLP", mlp(), arguments.mlp_epochs),
        ("LeNet CNN", lenet(), arguments.cnn_epochs),
    ):
        trained = train(
            model,
            train_x,
            train_y,
            epochs=epochs,
            name=name,
            show_progress=not arguments.no_progress,
        )
        accuracy = evaluate(model, trained, test_x, test_y)
        trained_models[name] = (model, trained)
        rows.append((name, _parameter_count(trained.params), epochs, trained, accuracy))

    print(
        f"\n{'model':<10} {'params':>8} {'epochs':>6} {'first step':>11} {'step':>8} "
        f"{'training':>9} {'held-out accuracy':>18}"
    )
    for name, count, epochs, trained, accuracy in rows:
        print(
            f"{name:<10} {count:>8,} {epochs:>6} {trained.first_step_seconds * 1e3:>8.0f} ms "
            f"{trained.step_seconds * 1e3:>5.2f} ms {trained.train_seconds:>7.1f} s "
            f"{accuracy:>17.2%}"
        )

    model, trained = trained_models["LeNet CNN"]
    directory = arguments.checkpoint_dir or tempfile.mkdtemp(prefix="funcgrad-demo-")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "lenet_digits.safetensors")
    io.save(path, trained.params, metadata={"model": "lenet", "data": "digits"})
    restored = io.load(path, like=trained.params)
    predict = inference_function(model, trained.state)
    began = time.perf_counter()
    reloaded_predictions = np.asarray(predict(restored, test_x))
    first_call = time.perf_counter() - began
    original_predictions = np.asarray(predict(trained.params, test_x))
    agree = np.array_equal(reloaded_predictions, original_predictions)
    print(
        f"\ncheckpoint: {path} ({os.path.getsize(path) / 1024:.0f} KiB); reloaded into a jitted "
        f"predict ({first_call * 1e3:.0f} ms first call, {len(test_x)} images): "
        f"{'same predictions as before saving' if agree else 'PREDICTIONS DIFFER'}, "
        f"accuracy {np.mean(reloaded_predictions == test_y):.2%}"
    )
    print(f"total: {time.perf_counter() - started:.1f} s")
    if not agree:
        raise SystemExit("the reloaded checkpoint predicts differently")
