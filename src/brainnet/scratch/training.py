"""Keras-like training for ``Sequential``: compile, fit, evaluate, predict, as plain functions.

Conventions: the model outputs logits or raw values; "accuracy" and "micro_f1" threshold sigmoid(logits)
at 0.5 (logit >= 0), or take the argmax when the output has several columns and ``y`` holds class indices.
A target of shape (n,) is read as (n, 1) when the model gives one output column.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from brainnet.core.data.sparse import batch_rows
from brainnet.core.decision.metrics import micro_f1
from brainnet.core.registry import Registry
from brainnet.core.training import Callback, ProgressBar, TrainState, emit, run_loop
from brainnet.scratch.callbacks import History
from brainnet.scratch.losses import Loss, get_loss
from brainnet.scratch.optimizers import Optimizer, get_optimizer
from brainnet.scratch.resume import ResumableLoop

METRICS: Registry[Callable[[np.ndarray, np.ndarray], float]] = Registry("metric")


def _accuracy(pred: np.ndarray, y: np.ndarray) -> float:
    if y.ndim == 1 and pred.ndim == 2 and pred.shape[1] > 1:
        return float(np.mean(pred.argmax(axis=1) == y))
    return float(np.mean((pred >= 0) == (y >= 0.5)))


METRICS.register("mae")(lambda p, y: float(np.mean(np.abs(p - y))))
METRICS.register("mse")(lambda p, y: float(np.mean((p - y) ** 2)))
METRICS.register("accuracy")(_accuracy)
METRICS.register("binary_accuracy")(lambda p, y: float(np.mean((p >= 0) == (y >= 0.5))))
METRICS.register("micro_f1")(lambda p, y: micro_f1(y.astype(int), (p >= 0).astype(int)))


def compile_model(
    model: Any, optimizer: str | Optimizer, loss: str | Loss, metrics: Sequence[str] = ()
) -> None:
    """Store the loss, metric names and optimizer; a name builds its optimizer on the first batch."""
    model.loss = get_loss(loss) if isinstance(loss, str) else loss
    model.metrics = list(metrics)
    for name in model.metrics:
        METRICS.get(name)  # a miss lists the available metrics
    model.optimizer_name = optimizer if isinstance(optimizer, str) else None
    model.optimizer = None if isinstance(optimizer, str) else optimizer


def _align(pred: np.ndarray, y: np.ndarray) -> np.ndarray:
    """y as the loss wants it next to pred: (n,) -> (n, 1) for one output column, floats in pred's dtype."""
    if y.ndim == 1 and pred.ndim == 2 and pred.shape[1] == 1:
        y = y[:, None]  # (n, 1)
    return y.astype(pred.dtype, copy=False) if np.issubdtype(y.dtype, np.floating) else y


def _check(model: Any, X: Any, y: Any) -> tuple[np.ndarray, np.ndarray]:
    if getattr(model, "loss", None) is None:
        raise ValueError("call model.compile(optimizer=..., loss=...) before fit or evaluate.")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(
            f"X and y must have the same number of rows; received X {X.shape} and y {y.shape}."
        )
    return X, y


def _logs(model: Any, pred: np.ndarray, y: np.ndarray, loss: float, prefix: str = "") -> dict:
    logs = {f"{prefix}loss": loss}
    y = _align(pred, y)
    for name in model.metrics:
        logs[f"{prefix}{name}"] = METRICS.get(name)(pred, y)
    return logs


class NumpyLoop(ResumableLoop):
    """The engine's ``brainnet.core.training.Loop``: mini-batch epochs over in-memory arrays, firing the events.

    ``snapshot()`` copies every array of the model (Parameters and BatchNorm moving statistics, as saved by
    ``brainnet.scratch.serialization.model_arrays``); ``restore()`` puts such a copy back.
    """

    def __init__(self, model: Any, epochs: int, callbacks: Iterable[Callback] = ()) -> None:
        self.model, self.epochs, self.callbacks = model, epochs, list(callbacks)
        self.state = TrainState()

    def snapshot(self) -> dict[str, np.ndarray]:
        from brainnet.scratch.serialization import model_arrays

        return {k: v.copy() for k, v in model_arrays(self.model).items()}

    def restore(self, snapshot: object) -> None:
        from brainnet.scratch.serialization import assign_arrays

        assert isinstance(snapshot, dict)
        assign_arrays(self.model, {k: v.copy() for k, v in snapshot.items()}, "the snapshot")

    def run(self, X, y, batch_size: int, logs: Callable[[dict], dict], *, seed=None, shuffle=True):
        """Train until ``epochs``, StopTraining or Ctrl-C (kept: ``state.interrupted``); returns the TrainState.

        Args:
            X, y: (n, ...) inputs and targets; batches of ``batch_size`` rows, reshuffled per epoch by ``seed``.
            logs: ``logs(train_logs)`` -> the epoch's logs (add validation values here).
        """
        rng = self.rng = np.random.default_rng(seed)

        def epoch() -> dict[str, float]:
            order = rng.permutation(len(X)) if shuffle else np.arange(len(X))
            return logs(self._train_epoch(X, y, order, batch_size))

        return run_loop(self, epoch)

    def _train_epoch(self, X, y, order: np.ndarray, batch_size: int) -> dict[str, float]:
        self.model.train()
        losses, preds, n_batches = [], [], -(-len(order) // batch_size)
        for b in range(n_batches):
            idx = order[b * batch_size : (b + 1) * batch_size]
            where = f"epoch {self.state.epoch}/{self.epochs}, batch {b + 1}/{n_batches}"
            loss, pred = self._step(batch_rows(X, idx), y[idx], where)  # sparse: dense per batch
            losses.append(loss * len(idx))
            preds.append(pred)
            emit(self, "on_batch_end", loss)
        return _logs(self.model, np.concatenate(preds), y[order], sum(losses) / len(order))

    def _step(self, xb: np.ndarray, yb: np.ndarray, where: str) -> tuple[float, np.ndarray]:
        """zero_grad -> forward -> loss -> backward -> on_after_backward -> optimizer.step."""
        model = self.model
        model.zero_grad()
        pred = model.forward(xb)
        if model.optimizer is None:
            model.optimizer = get_optimizer(model.optimizer_name, model.parameters())
        loss = model.loss(pred, _align(pred, yb))
        if not np.isfinite(loss):
            raise FloatingPointError(
                f"the loss became {loss} at {where}. Lower the learning rate (now "
                f"{model.optimizer.lr}) or scale the inputs (standardize X)."
            )
        model.backward(model.loss.backward())
        emit(self, "on_after_backward")
        model.optimizer.step()
        return loss, pred


def _split(X, y, validation_split: float, validation_data) -> tuple:
    if not 0.0 <= validation_split < 1.0:
        raise ValueError(
            f"validation_split must be in [0, 1); received {validation_split}. Pass e.g. 0.2."
        )
    if validation_data is not None:
        return X, y, tuple(np.asarray(a) for a in validation_data)
    if validation_split == 0.0:
        return X, y, None
    cut = int(len(X) * (1.0 - validation_split))  # Keras: the last rows, before shuffling
    if cut == 0 or cut == len(X):
        raise ValueError(
            f"validation_split={validation_split} leaves an empty part of {len(X)} rows."
        )
    return X[:cut], y[:cut], (X[cut:], y[cut:])


def fit(
    model: Any,
    X: Any,
    y: Any,
    epochs: int = 1,
    batch_size: int = 32,
    validation_split: float = 0.0,
    validation_data: tuple | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    callbacks: Iterable[Callback] = (),
    verbose: int = 0,
) -> History:
    """Train ``epochs`` passes of mini-batches; ``seed`` fixes the shuffling. Returns the History.

    Ctrl-C ends training cleanly (``history.state.interrupted``); ``verbose=1`` shows a progress bar on stderr.
    """
    X, y = _check(model, X, y)
    X, y, val = _split(X, y, validation_split, validation_data)
    history = History()
    shown = "val_loss" if val is not None else "loss"
    bar = [ProgressBar(shown, "training")] if verbose else []
    loop = NumpyLoop(model, epochs, [history, *callbacks, *bar])

    def logs(train: dict[str, float]) -> dict[str, float]:
        if val is None:
            return train
        return {**train, **evaluate(model, *val, batch_size=batch_size, prefix="val_")}

    loop.run(X, y, batch_size, logs, seed=seed, shuffle=shuffle)
    return history


def predict(model: Any, X: Any, batch_size: int = 32) -> np.ndarray:
    """Outputs (logits or values) for every row of X, in eval mode, batch by batch."""
    X = np.asarray(X)
    model.eval()
    return np.concatenate(
        [model.forward(X[i : i + batch_size]) for i in range(0, len(X), batch_size)]
    )


def evaluate(model: Any, X: Any, y: Any, batch_size: int = 32, prefix: str = "") -> dict:
    """{"loss": ..., metric: ...} over all of (X, y) in eval mode (loss weighted by batch size)."""
    X, y = _check(model, X, y)
    pred = predict(model, X, batch_size)
    losses = [
        model.loss(pred[i : i + batch_size], _align(pred, y[i : i + batch_size]))
        * len(y[i : i + batch_size])
        for i in range(0, len(X), batch_size)
    ]
    return _logs(model, pred, y, sum(losses) / len(X), prefix)
