"""Callbacks: a short fixed list of events in ``Sequential.fit``; stopping early is an exception.

Events, in order: ``on_train_begin(logs)``, then per epoch ``on_epoch_begin(epoch, logs)`` and
``on_epoch_end(epoch, logs)``, then ``on_train_end(logs)``. ``epoch`` counts from 0; ``logs`` maps
"loss", each metric, "val_loss" and "val_<metric>" to floats. A callback ends training by raising
``StopTraining``; ``fit`` catches it, still calls ``on_train_end``, and returns the History.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


class StopTraining(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a callback to end ``fit`` after the current epoch."""


class Callback:
    """Base: every event does nothing; ``fit`` sets ``self.model`` before ``on_train_begin``."""

    model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_begin(self, epoch: int, logs: dict[str, float] | None = None) -> None:
        pass

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        pass

    def on_train_end(self, logs: dict[str, float] | None = None) -> None:
        pass


@dataclass
class History(Callback):
    """What ``fit`` returns: ``history[name]`` is one float per epoch; ``epoch`` the epoch numbers (from 0)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        self.epoch.append(epoch)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


class ProgressPrinter(Callback):
    """Prints one line per epoch: ``Epoch 3/100 - loss: 0.1234 - mae: 0.2345`` (``fit(verbose=1)``)."""

    def __init__(self, epochs: int) -> None:
        self.epochs = epochs

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        parts = " - ".join(f"{k}: {v:.4f}" for k, v in logs.items())
        print(f"Epoch {epoch + 1}/{self.epochs} - {parts}")


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs (Keras semantics).

    Args:
        monitor: a key of the epoch logs, default "val_loss".
        patience: epochs without improvement before stopping, default 0.
        min_delta: smallest change that counts as an improvement, default 0.
        mode: "min", "max" or "auto" (default: "max" when the name holds "acc" or "f1", else "min").
        restore_best_weights: when stopping, put back the parameters of the best epoch (default False).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; received mode={mode!r}.")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "f1" in monitor) else "min"
        self.monitor, self.patience, self.min_delta = monitor, patience, abs(min_delta)
        self.mode, self.restore_best_weights = mode, restore_best_weights
        self.best_weights: list[np.ndarray] | None = None
        self.best_epoch, self.stopped_epoch, self.wait = 0, 0, 0
        self.best = np.inf if mode == "min" else -np.inf

    def on_train_begin(self, logs: dict[str, float] | None = None) -> None:
        self.best = np.inf if self.mode == "min" else -np.inf
        self.best_weights, self.best_epoch, self.stopped_epoch, self.wait = None, 0, 0, 0

    def _improved(self, current: float) -> bool:
        if self.mode == "min":
            return current + self.min_delta < self.best
        return current - self.min_delta > self.best

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not in the logs; available: "
                f"{', '.join(logs)}. Pass validation data for 'val_*' keys or pick one of these."
            )
        self.wait += 1
        if self._improved(logs[self.monitor]):
            self.best, self.best_epoch, self.wait = logs[self.monitor], epoch, 0
            if self.restore_best_weights:
                self.best_weights = [p.value.copy() for p in self.model.parameters()]
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            if self.restore_best_weights and self.best_weights is not None:
                for p, best in zip(self.model.parameters(), self.best_weights, strict=True):
                    p.value[...] = best
            raise StopTraining(f"{self.monitor} did not improve for {self.wait} epochs")
