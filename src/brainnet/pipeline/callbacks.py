"""Training-loop callbacks: a short fixed list of events; stopping is an exception.

Events, in order: ``on_fit_start``, then per epoch ``on_epoch_start``, per batch ``on_after_backward`` and
``on_batch_end``, then ``on_epoch_end`` (which may raise ``StopTraining``), finally ``on_fit_end`` (always runs,
also after Ctrl-C).
"""

from __future__ import annotations

import copy
import math
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from brainnet.pipeline.trainer import Trainer


class StopTraining(Exception):
    """Raised by a callback to end training after the current epoch."""


class Callback:
    """Override the events you need; each receives the trainer (state in ``trainer.state``)."""

    def on_fit_start(self, trainer: Trainer) -> None: ...
    def on_epoch_start(self, trainer: Trainer) -> None: ...
    def on_after_backward(self, trainer: Trainer) -> None: ...
    def on_batch_end(self, trainer: Trainer, loss: float) -> None: ...
    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None: ...
    def on_fit_end(self, trainer: Trainer) -> None: ...


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best weights at the end.

    Args:
        monitor: a key of the epoch logs, e.g. "val_loss" or "val_average_precision".
        mode: "min" or "max".
        patience: epochs without improvement before stopping.
        min_delta: smallest change that counts as an improvement.
    """

    def __init__(self, monitor: str, mode: str, patience: int, min_delta: float = 1e-6) -> None:
        assert mode in ("min", "max")
        self.monitor, self.mode, self.patience, self.min_delta = monitor, mode, patience, min_delta
        self.best = math.inf if mode == "min" else -math.inf
        self.best_state: dict[str, Any] | None = None
        self.wait = 0

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return (
            value < self.best - self.min_delta
            if self.mode == "min"
            else value > self.best + self.min_delta
        )

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        value = logs[self.monitor]
        if self._improved(value):
            self.best, self.wait = value, 0
            self.best_state = copy.deepcopy(trainer.model.state_dict())
            trainer.state.best_epoch = trainer.state.epoch
            trainer.state.best_value = value
            return
        self.wait += 1
        if self.wait >= self.patience:
            raise StopTraining(f"no improvement of {self.monitor} for {self.patience} epochs")

    def on_fit_end(self, trainer: Trainer) -> None:
        if self.best_state is not None:
            trainer.model.load_state_dict(self.best_state)


class Checkpoint(Callback):
    """Call ``save()`` after an epoch that improved the monitored value (at most every ``min_interval_s``).

    With EarlyStopping before it in the callback list, the trainer's state says which epoch was best. The save
    function writes a loadable model directory, so a crash leaves the last good model behind.
    """

    def __init__(self, save: Any, min_interval_s: float = 2.0) -> None:
        self.save, self.min_interval_s = save, min_interval_s
        self._last = -math.inf
        self._pending = False

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        if trainer.state.best_epoch == trainer.state.epoch:
            self._pending = True
        if self._pending and time.monotonic() - self._last >= self.min_interval_s:
            self.save(trainer.model)
            self._last, self._pending = time.monotonic(), False


_SHORT = {
    "val_loss": "val loss",
    "val_average_precision": "val AP",
    "val_mean_average_precision": "val mAP",
    "val_macro_auc": "val AUC",
    "val_micro_f1": "val micro-F1",
    "val_macro_f1": "val macro-F1",
}


class ProgressBar(Callback):
    """A compact rich progress line on stderr: epoch, train loss, validation metric, best so far, time left.

    The time left assumes every epoch runs, so with early stopping it is an upper bound. With
    ``batches_per_epoch`` (long epochs, e.g. images) the bar advances every batch instead of every epoch.
    """

    def __init__(
        self, monitor: str, description: str = "training", batches_per_epoch: int | None = None
    ) -> None:
        self.monitor, self.description = monitor, description
        self.per_batch = batches_per_epoch
        self.label = _SHORT.get(monitor, monitor)
        self._progress: Any = None

    def on_fit_start(self, trainer: Trainer) -> None:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=12),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]} {task.fields[metric]} best {task.fields[best]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        total = trainer.epochs * (self.per_batch or 1)
        self._task = self._progress.add_task(
            self.description, total=total, loss="-", metric=f"{self.label} -", best="-"
        )

    def on_batch_end(self, trainer: Trainer, loss: float) -> None:
        if self.per_batch:
            self._progress.update(self._task, advance=1, loss=f"{loss:.4f}")

    def on_epoch_end(self, trainer: Trainer, logs: dict[str, float]) -> None:
        best = trainer.state.best_value
        done = trainer.state.epoch * (self.per_batch or 1)
        self._progress.update(
            self._task,
            completed=done,
            loss=f"{logs['train_loss']:.4f}",
            metric=f"{self.label} {logs[self.monitor]:.4f}",
            best=f"{best:.4f}@{trainer.state.best_epoch}" if best is not None else "-",
        )

    def on_fit_end(self, trainer: Trainer) -> None:
        if self._progress is not None:
            done = trainer.state.epoch * (self.per_batch or 1)
            self._progress.update(self._task, total=done, completed=done)
            self._progress.stop()
