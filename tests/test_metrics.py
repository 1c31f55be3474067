"""funcgrad.metrics: History records and plots what was appended; progress bars pass every
item through and show the live values (tqdm's bar and the text fallback alike)."""

from __future__ import annotations

import io

import numpy as np
import pytest

import funcgrad.numpy as jnp
from funcgrad import metrics


def test_history_records_series_by_name():
    history = metrics.History()
    for step in range(3):
        history.append(step, loss=jnp.asarray(1.0 / (step + 1)), accuracy=0.5 + step / 10)
    steps, losses = history["loss"]
    np.testing.assert_array_equal(steps, [0, 1, 2])
    np.testing.assert_allclose(losses, [1.0, 0.5, 1 / 3], rtol=1e-6)
    assert history.names == ["loss", "accuracy"]
    assert history.last("accuracy") == pytest.approx(0.7)
    with pytest.raises(KeyError, match=r"no metric 'lr'; it has \['accuracy', 'loss'\]"):
        history["lr"]


def test_history_plot_draws_each_metric():
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    history = metrics.History()
    for step in range(4):
        history.append(step, loss=4.0 - step, accuracy=step / 4)
    figure = history.plot()
    axes = figure.get_axes()
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy"]
    x, y = axes[0].get_lines()[0].get_data()
    np.testing.assert_array_equal(x, [0, 1, 2, 3])
    np.testing.assert_array_equal(y, [4.0, 3.0, 2.0, 1.0])


def test_text_progress_bar_without_tqdm(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_tqdm(name, *args, **kwargs):
        if name.startswith("tqdm"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_tqdm)
    stream = io.StringIO()
    bar = metrics.progress(range(5), desc="train", stream=stream)
    seen = []
    for item in bar:
        seen.append(item)
        bar.set_postfix(loss=0.125, epoch=2)
    assert seen == [0, 1, 2, 3, 4]
    assert "train: 5/5" in stream.getvalue()
    assert "loss=0.125, epoch=2" in stream.getvalue()


def test_tqdm_progress_bar():
    pytest.importorskip("tqdm")
    stream = io.StringIO()
    bar = metrics.progress([1, 2, 3], desc="fit", stream=stream)
    total = 0
    for item in bar:
        total += item
        bar.set_postfix(loss=1.5)
    bar.close()
    assert total == 6
    assert "fit" in stream.getvalue() and "3/3" in stream.getvalue()
    assert "loss=1.5" in stream.getvalue()
