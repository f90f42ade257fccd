"""The training-loop protocol every engine drives: a short fixed list of events; stopping is an exception.

Events, in order: ``on_fit_start``, then per epoch ``on_epoch_start``, per batch ``on_after_backward`` and
``on_batch_end``, then ``on_epoch_end`` (which may raise ``StopTraining``), finally ``on_fit_end`` (always runs,
also after Ctrl-C). Each event receives the loop (``loop.model``, ``loop.state``, ``loop.epochs``); a loop
also knows how to ``snapshot()`` and ``restore()`` everything its network needs to predict, so early stopping
and checkpoints are written once for the torch Trainer and the NumPy engine alike.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import numpy as np

from brainnet.core.decision.metrics import MONITORS


class StopTraining(Exception):  # noqa: N818 - a signal, not an error
    """Raised by a callback's ``on_epoch_end`` to end training after the current epoch."""


@dataclass
class TrainState:
    """What the loop knows; callbacks read and write it. Epochs count from 1.

    ``best_epoch`` / ``best_value`` are set by ``EarlyStopping`` (None until an epoch improved ``monitor``);
    ``history`` holds one log dict per finished epoch.
    """

    epoch: int = 0
    best_epoch: int | None = None
    best_value: float | None = None
    history: list[dict[str, float]] = field(default_factory=list)
    stop_reason: str = ""
    interrupted: bool = False
    monitor: str = ""  # the log key best_value belongs to (set by EarlyStopping)


class Loop(Protocol):
    """What a training loop offers its callbacks (the torch ``Trainer``, the scratch ``NumpyLoop``)."""

    model: Any
    state: TrainState
    epochs: int
    callbacks: list[Callback]

    def snapshot(self) -> object:
        """A deep copy of everything the network needs to predict as it does now (BatchNorm statistics too)."""
        ...

    def restore(self, snapshot: object) -> None:
        """Put a ``snapshot()`` back in place."""
        ...

    # An exact resume (``brainnet.core.resume``) also needs, from a loop that offers it:
    # ``resume_state()`` (a tree of JSON values and NumPy copies: model, optimizer, scheduler, RNG states now),
    # ``load_resume_state(tree)``, and ``snapshot_arrays(snapshot)`` / ``snapshot_from_arrays(arrays)`` (a
    # snapshot as the arrays ``Engine.tensors_of`` gives for the model it holds, and back).


class Callback:
    """Override the events you need; each receives the loop (its state in ``loop.state``)."""

    def on_fit_start(self, loop: Loop) -> None: ...
    def on_epoch_start(self, loop: Loop) -> None: ...
    def on_after_backward(self, loop: Loop) -> None: ...
    def on_batch_end(self, loop: Loop, loss: float) -> None: ...
    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None: ...
    def on_fit_end(self, loop: Loop) -> None: ...

    def state_dict(self) -> dict[str, Any]:
        """What an exact resume must put back (``brainnet.core.resume``): numbers, strings, None and loop
        snapshots; {} for a callback that keeps nothing between epochs."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Put a ``state_dict()`` back (called after ``on_fit_start``)."""


def emit(loop: Loop, event: str, *args: object) -> None:
    """Call ``event`` on every callback of ``loop``, in list order."""
    for cb in loop.callbacks:
        getattr(cb, event)(loop, *args)


_EXTRA_CALLBACKS: ContextVar[tuple[Callback, ...]] = ContextVar("extra_callbacks", default=())


@contextmanager
def extra_callbacks(*callbacks: Callback) -> Iterator[None]:
    """Every loop run inside the block also drives ``callbacks`` (after its own): a caller that does not build
    the loop (``brainnet.tune`` feeding a pruner from an estimator's engines) adds its callbacks this way."""
    token = _EXTRA_CALLBACKS.set(_EXTRA_CALLBACKS.get() + callbacks)
    try:
        yield
    finally:
        _EXTRA_CALLBACKS.reset(token)


def run_loop(loop: Loop, train_epoch: Callable[[], dict[str, float]]) -> TrainState:
    """Drive ``loop`` for up to ``loop.epochs`` epochs: the one place the events are fired around epochs.

    ``train_epoch()`` trains one epoch (firing ``on_after_backward`` / ``on_batch_end`` per batch) and returns
    that epoch's logs (train loss, validation values). Ends at the epoch limit, on ``StopTraining`` or on Ctrl-C
    (``state.interrupted``); ``on_fit_end`` runs in every case, also when an error propagates. A callback
    that resumes a run sets ``state.epoch`` in ``on_fit_start``; training continues with the next epoch.
    """
    state = loop.state
    own = list(loop.callbacks)
    loop.callbacks = own + list(_EXTRA_CALLBACKS.get())  # (see extra_callbacks)
    emit(loop, "on_fit_start")
    try:
        for epoch in range(state.epoch + 1, loop.epochs + 1):
            state.epoch = epoch
            emit(loop, "on_epoch_start")
            logs = train_epoch()
            state.history.append(logs)
            try:
                emit(loop, "on_epoch_end", logs)
            except StopTraining as stop:
                state.stop_reason = str(stop)
                break
        else:
            state.stop_reason = f"reached the epoch limit ({loop.epochs})"
    except KeyboardInterrupt:
        state.interrupted = True
        state.stop_reason = f"interrupted (Ctrl-C) during epoch {state.epoch}"
    finally:
        emit(loop, "on_fit_end")
        loop.callbacks = own
    return state


def validation_logs(Y_val: np.ndarray, logits: np.ndarray, monitor: str) -> dict[str, float]:
    """The per-epoch validation values of every engine.

    Args:
        Y_val: (n, L) 0/1 labels.
        logits: (n, L) float logits; sigmoid is taken in their dtype (float32 for torch), then float64.
        monitor: "loss" or a name of ``brainnet.core.decision.metrics.MONITORS``.

    Returns:
        {"val_loss": mean BCE on logits (float64, stable), "val_<monitor>": value} (one key for "loss").
    """
    z = np.asarray(logits)
    y = np.asarray(Y_val, dtype=np.float64)
    z64 = z.astype(np.float64)
    # y softplus(-z) + (1 - y) softplus(z), softplus(x) = max(x, 0) + log1p(exp(-|x|))
    tail = np.log1p(np.exp(-np.abs(z64)))
    terms = y * (np.maximum(-z64, 0) + tail) + (1 - y) * (np.maximum(z64, 0) + tail)
    logs = {"val_loss": float(terms.sum()) / max(terms.size, 1)}
    fn = MONITORS.get(monitor).fn
    if fn is not None:
        P = (1.0 / (1.0 + np.exp(-z))).astype(np.float64)  # (n, L)
        logs[f"val_{monitor}"] = float(fn(Y_val, P))
    return logs


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved for ``patience`` epochs; restore the best snapshot at the end.

    An improvement is ``value < best - min_delta`` ("min") or ``value > best + min_delta`` ("max"); NaN never
    improves. Each improvement takes ``loop.snapshot()`` and sets ``state.best_epoch`` / ``state.best_value``;
    ``on_fit_end`` (also after Ctrl-C) restores the best snapshot when ``restore_best``.

    Args:
        monitor: a key of the epoch logs, default "val_loss".
        mode: "min" (default) or "max".
        patience: epochs without improvement before stopping, default 0 (stop at the first one).
        min_delta: smallest change that counts as an improvement, default 0.
        restore_best: put the best epoch back at the end of training, default True.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int = 0,
        min_delta: float = 0.0,
        restore_best: bool = True,
    ) -> None:
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max'; received mode={mode!r}.")
        self.monitor, self.mode, self.patience = monitor, mode, patience
        self.min_delta, self.restore_best = abs(min_delta), restore_best
        self._reset()

    def _reset(self) -> None:
        self.best = math.inf if self.mode == "min" else -math.inf
        self.best_epoch: int | None = None
        self.best_snapshot: object | None = None
        self.wait = 0

    def _improved(self, value: float) -> bool:
        if math.isnan(value):
            return False
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_fit_start(self, loop: Loop) -> None:
        self._reset()
        loop.state.monitor = self.monitor

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        if self.monitor not in logs:
            raise ValueError(
                f"EarlyStopping monitors {self.monitor!r}, which is not in the logs; available: "
                f"{', '.join(logs)}. Pass validation data for 'val_*' keys or pick one of these."
            )
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, loop.state.epoch, 0
            self.best_snapshot = loop.snapshot() if self.restore_best else None
            loop.state.best_epoch, loop.state.best_value = loop.state.epoch, value
            return
        self.wait += 1
        if self.wait >= self.patience:
            raise StopTraining(f"no improvement of {self.monitor} for {self.patience} epochs")

    def on_fit_end(self, loop: Loop) -> None:
        if self.best_snapshot is not None:
            loop.restore(self.best_snapshot)

    def state_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "best_epoch": self.best_epoch,
            "wait": self.wait,
            "best_snapshot": self.best_snapshot,
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch = float(state["best"]), state["best_epoch"]
        self.wait, self.best_snapshot = int(state["wait"]), state["best_snapshot"]


class Checkpoint(Callback):
    """Call ``save(model, info)`` after an epoch that improved the monitored value (at most every
    ``min_interval_s``; an improvement that came too soon is saved at the next chance or at fit end).

    ``info`` is {"epoch": int, "monitor": str, "value": float, "time": ISO-8601 UTC str}: which epoch the saved
    model is, the monitored log key and its value then, and when it was saved. Put it after an
    ``EarlyStopping`` (which sets ``state.best_epoch`` and, at fit end, restores the best epoch first).
    """

    def __init__(self, save: Callable[[Any, dict[str, Any]], None], min_interval_s: float = 2.0):
        self.save, self.min_interval_s = save, min_interval_s
        self._last = -math.inf
        self._pending = False

    def on_fit_start(self, loop: Loop) -> None:
        self._last, self._pending = -math.inf, False

    def _save(self, loop: Loop) -> None:
        state = loop.state
        info = {
            "epoch": int(state.best_epoch or 0),
            "monitor": state.monitor,
            "value": float(state.best_value) if state.best_value is not None else math.nan,
            "time": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.save(loop.model, info)
        self._last, self._pending = time.monotonic(), False

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        if loop.state.best_epoch is None or loop.state.best_epoch != loop.state.epoch:
            return  # the model now is not the best one: nothing correct to save
        self._pending = True
        if time.monotonic() - self._last >= self.min_interval_s:
            self._save(loop)

    def on_fit_end(self, loop: Loop) -> None:
        if self._pending:  # EarlyStopping, earlier in the list, has put the best epoch back
            self._save(loop)


_SHORT = {
    "val_loss": "val loss",
    "val_average_precision": "val AP",
    "val_mean_average_precision": "val mAP",
    "val_macro_auc": "val AUC",
    "val_micro_f1": "val micro-F1",
    "val_macro_f1": "val macro-F1",
}


class ProgressBar(Callback):
    """A compact rich progress line on stderr: epoch, train loss, monitored value, best so far, time left.

    The time left assumes every epoch runs, so with early stopping it is an upper bound. With
    ``batches_per_epoch`` (long epochs, e.g. images) the bar advances every batch instead of every epoch.
    On a stderr that is not a terminal rich draws nothing live, only the final line.

    Args:
        monitor_key: the log key to show, e.g. "val_loss" or "val_average_precision".
        description: the text before the bar, default "training".
        batches_per_epoch: advance per batch (None: per epoch).
        items_per_batch: with it, the bar also shows items (images) per second over the run so far.
    """

    def __init__(
        self,
        monitor_key: str,
        description: str = "training",
        batches_per_epoch: int | None = None,
        items_per_batch: int | None = None,
    ) -> None:
        self.monitor, self.description = monitor_key, description
        self.per_batch = batches_per_epoch
        self.items_per_batch = items_per_batch
        self.label = _SHORT.get(monitor_key, monitor_key)
        self._progress: Any = None
        self._batches, self._start = 0, 0.0

    def on_fit_start(self, loop: Loop) -> None:
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
            TextColumn("{task.fields[rate]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
        )
        self._progress.start()
        total = loop.epochs * (self.per_batch or 1)
        self._task = self._progress.add_task(
            self.description,
            total=total,
            completed=loop.state.epoch * (self.per_batch or 1),  # > 0 when a run is resumed
            loss="-",
            metric=f"{self.label} -",
            best="-",
            rate="",
        )
        self._batches, self._start = 0, time.monotonic()

    def on_batch_end(self, loop: Loop, loss: float) -> None:
        self._batches += 1
        rate = ""
        if self.items_per_batch:  # an upper bound when the last batch of an epoch is short
            seconds = max(time.monotonic() - self._start, 1e-9)
            rate = f"{self._batches * self.items_per_batch / seconds:.1f} img/s"
        if self.per_batch:
            self._progress.update(self._task, advance=1, loss=f"{loss:.4f}", rate=rate)

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        best = loop.state.best_value
        loss = logs.get("train_loss", logs.get("loss", math.nan))
        value = logs.get(self.monitor, math.nan)
        self._progress.update(
            self._task,
            completed=loop.state.epoch * (self.per_batch or 1),
            loss=f"{loss:.4f}",
            metric=f"{self.label} {value:.4f}",
            best=f"{best:.4f}@{loop.state.best_epoch}" if best is not None else "-",
        )

    def on_fit_end(self, loop: Loop) -> None:
        if self._progress is not None:
            done = loop.state.epoch * (self.per_batch or 1)
            self._progress.update(self._task, total=done, completed=done)
            self._progress.stop()
