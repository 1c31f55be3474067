"""Watching training: a history of metrics that plots itself, and progress bars.

`History` records named scalars per step (loss, accuracy, ...) and draws them with matplotlib;
`progress` wraps an iterable in a tqdm bar when tqdm is installed (a notebook-aware one in
Jupyter) and in a plain one-line text bar otherwise, so the same loop runs everywhere.

    history, bar = metrics.History(), metrics.progress(batches, desc="train")
    for step, batch in enumerate(bar):
        params, opt_state, loss = train_step(params, opt_state, batch)
        bar.set_postfix(loss=float(loss))
        history.append(step, loss=loss)
    history.plot()
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator

import numpy as np

from funcgrad.core.source_info import user_location

__all__ = ["History", "progress"]


class History:
    """Named metrics over steps: `append(step, loss=..., accuracy=...)`, then read them back
    with `history["loss"]` (steps, values) or plot them all with `plot()`.

    >>> h = History(); h.append(0, loss=2.3); h.append(1, loss=1.1)
    >>> h["loss"]
    (array([0, 1]), array([2.3, 1.1]))
    """

    def __init__(self) -> None:
        self._series: dict[str, tuple[list[int], list[float]]] = {}

    def append(self, step: int, **values) -> None:
        for name, value in values.items():
            steps, numbers = self._series.setdefault(name, ([], []))
            steps.append(int(step))
            numbers.append(float(np.asarray(value)))

    def __getitem__(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._series:
            raise KeyError(
                f"History has no metric {name!r}; it has {sorted(self._series)} (at "
                f"{user_location()})"
            )
        steps, numbers = self._series[name]
        return np.asarray(steps), np.asarray(numbers)

    @property
    def names(self) -> list[str]:
        return list(self._series)

    def last(self, name: str) -> float:
        """The latest value of a metric."""
        return self[name][1][-1]

    def plot(self, names: Iterable[str] | None = None, axes=None):
        """One matplotlib panel per metric against the step; returns the figure."""
        try:
            import matplotlib.pyplot as plt
        except ImportError as err:
            raise ImportError(
                "History.plot needs matplotlib: pip install matplotlib (or pip install "
                "'funcgrad[notebooks]')."
            ) from err
        names = list(self._series if names is None else names)
        if axes is None:
            figure, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3), squeeze=False)
            axes = axes[0]
        else:
            figure = np.ravel(axes)[0].figure
        for ax, name in zip(np.ravel(axes), names):
            steps, numbers = self[name]
            ax.plot(steps, numbers)
            ax.set_xlabel("step")
            ax.set_title(name)
        figure.tight_layout()
        return figure


class _TextBar:
    """A minimal progress line for terminals without tqdm: rewritten in place, ~4 times a
    second at most, so printing never costs more than the training it reports on."""

    def __init__(self, iterable: Iterable, total: int | None, desc: str, stream) -> None:
        self._iterable, self._total, self._desc, self._stream = iterable, total, desc, stream
        self._postfix = ""
        self._count = 0
        self._start = self._shown = time.perf_counter()

    def __iter__(self) -> Iterator:
        for item in self._iterable:
            yield item
            self._count += 1
            if time.perf_counter() - self._shown > 0.25:
                self._show()
        self._show(final=True)

    def set_postfix(self, **values) -> None:
        self._postfix = ", ".join(
            f"{name}={value:.4g}" if isinstance(value, float) else f"{name}={value}"
            for name, value in values.items()
        )

    def _show(self, final: bool = False) -> None:
        self._shown = time.perf_counter()
        done = f"{self._count}/{self._total}" if self._total else str(self._count)
        elapsed = self._shown - self._start
        line = f"\r{self._desc}: {done} [{elapsed:.1f}s] {self._postfix}"
        self._stream.write(line + ("\n" if final else ""))
        self._stream.flush()

    def close(self) -> None:
        pass


def progress(iterable: Iterable, *, total: int | None = None, desc: str = "", stream=None):
    """`iterable` with a progress bar; call `bar.set_postfix(loss=...)` for live values.

    Uses tqdm (tqdm.auto, so Jupyter gets a widget) when it is installed, else a text line.
    """
    if total is None and hasattr(iterable, "__len__"):
        total = len(iterable)
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _TextBar(iterable, total, desc, stream or sys.stderr)
    return tqdm(iterable, total=total, desc=desc, file=stream, leave=True, dynamic_ncols=True)
