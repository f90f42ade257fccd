"""The training loop: mini-batch gradient descent with callbacks for everything optional."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import torch
from torch import nn

from brainnet.core.data.sparse import SparseRows, batch_rows
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.training import Callback, TrainState, emit, run_loop, validation_logs

__all__ = ["Trainer", "TrainState", "build_trainer", "fit_result", "predict_logits"]


class Trainer:
    """Trains ``model`` on in-memory tensors (``fit``) or any batches (``run``); a ``brainnet.core.training.Loop``.

    Args:
        model: maps (B, d) to (B, L) logits.
        loss_fn: e.g. ``BCEWithLogitsLoss``; called as ``loss_fn(logits, targets)``.
        optimizer: over ``model.parameters()``.
        epochs: upper bound on epochs.
        batch_size: rows per step; a last batch of one row is dropped (BatchNorm needs two).
        monitor: "loss" or a metric name of ``brainnet.core.decision.metrics.MONITORS``, computed on the validation data each epoch.
        callbacks: run in list order for every event.
        generator: the torch RNG that orders the batches (seeded by the caller); ``generators`` lists every
            RNG the batches draw from (an image loader's too), saved for an exact resume.
        device: where the model and batches live.
    """

    def __init__(
        self,
        model: nn.Module,
        loss_fn: nn.Module,
        optimizer: torch.optim.Optimizer,
        *,
        epochs: int,
        batch_size: int,
        monitor: str = "loss",
        callbacks: list[Callback] | None = None,
        generator: torch.Generator | None = None,
        device: torch.device | str = "cpu",
    ) -> None:
        self.model, self.loss_fn, self.optimizer = model, loss_fn, optimizer
        self.epochs, self.batch_size, self.monitor = epochs, batch_size, monitor
        self.callbacks = list(callbacks or [])
        self.generator = generator
        self.generators = [generator] if generator is not None else []
        self.device = torch.device(device)
        self.state = TrainState()

    def snapshot(self) -> dict[str, torch.Tensor]:
        """A deep copy of the state_dict (parameters and buffers: BatchNorm running statistics too)."""
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore(self, snapshot: object) -> None:
        """Load a ``snapshot()`` back into the model."""
        assert isinstance(snapshot, dict)
        self.model.load_state_dict(snapshot)

    # an exact resume (brainnet.core.resume): the loop's state as arrays + JSON, and snapshots as arrays
    def resume_state(self) -> dict[str, Any]:
        from brainnet.pipeline.loop_state import trainer_state

        return trainer_state(self)

    def load_resume_state(self, state: dict[str, Any]) -> None:
        from brainnet.pipeline.loop_state import load_trainer_state

        load_trainer_state(self, state)

    def snapshot_arrays(self, snapshot: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in snapshot.items()}

    def snapshot_from_arrays(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(v) for k, v in arrays.items()}

    def fit(self, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray) -> TrainState:
        """Train on in-memory features (n, d) (an array, or ``SparseRows`` made dense per batch) and labels
        (n, L); see ``run``."""
        rows_of, n = feature_rows(X, self.device), len(X)
        Yt = torch.as_tensor(Y, dtype=torch.float32, device=self.device)  # (n, L)

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(n, generator=self.generator).to(self.device)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]
                if idx.numel() < 2 and start > 0:
                    return  # BatchNorm cannot train on one row
                yield rows_of(idx), Yt[idx]

        return self.run(batches, lambda: (predict_logits(self.model, X_val, self.device), Y_val))

    def run(
        self,
        batches: Callable[[], Iterable[tuple[torch.Tensor, torch.Tensor]]],
        validation: Callable[[], tuple[torch.Tensor, np.ndarray]],
    ) -> TrainState:
        """Train until ``epochs``, a callback's StopTraining, or Ctrl-C (which keeps the best model so far).

        Args:
            batches: called once per epoch; yields (inputs, (B, L) float targets) on ``device``.
            validation: called after each epoch; returns ((n_val, L) logits on the CPU, (n_val, L) 0/1 labels).
        """
        self.model.to(self.device)

        def train_epoch() -> dict[str, float]:
            train_loss = self._train_epoch(batches())
            logits, Y_val = validation()
            return {
                "epoch": float(self.state.epoch),
                "train_loss": train_loss,
                **self._validate(logits, Y_val),
            }

        return run_loop(self, train_epoch)

    def _train_epoch(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
        self.model.train()
        total, seen = 0.0, 0
        for b, (xb, yb) in enumerate(batches, start=1):
            loss = self.loss_fn(self.model(xb), yb)
            value = float(loss.detach())
            if not math.isfinite(value):
                lr = self.optimizer.param_groups[0]["lr"]
                raise FloatingPointError(
                    f"the loss became {value} at epoch {self.state.epoch}, batch {b}. Lower the "
                    f"learning rate (now {lr:g}) or check the inputs for extreme values."
                )
            self.optimizer.zero_grad(set_to_none=True)
            loss.backward()
            emit(self, "on_after_backward")
            self.optimizer.step()
            total += value * yb.shape[0]
            seen += yb.shape[0]
            emit(self, "on_batch_end", value)
        return total / max(seen, 1)

    def _validate(self, logits: torch.Tensor, Y_val: np.ndarray) -> dict[str, float]:
        return validation_logs(Y_val, logits.detach().cpu().numpy(), self.monitor)


def build_trainer(
    model: nn.Module,
    cfg: Any,
    labels: np.ndarray,
    device: torch.device,
    save: Callable[[nn.Module, dict[str, Any]], None] | Callback | None,
    verbose: bool,
    desc: str,
    *,
    batches_per_epoch: int | None = None,
    generator: torch.Generator | None = None,
    trainer_class: Callable[..., Trainer] = Trainer,
) -> Trainer:
    """The Trainer both estimators use: BCE on logits (``pos_weight="auto"`` from ``labels``), AdamW over the
    trainable parameters, early stopping on ``cfg.monitor``, a checkpoint when ``save`` is given, a progress bar
    when ``verbose``; ``trainer_class`` builds it (``distributed.Context.trainer_class`` under torchrun)."""
    from brainnet.core.estimator import pos_weights
    from brainnet.core.training import Checkpoint, EarlyStopping, ProgressBar

    pos_weight = None
    if cfg.pos_weight == "auto":
        pos_weight = torch.as_tensor(pos_weights(labels), dtype=torch.float32, device=device)
    from brainnet.pipeline.train_recipe import (
        param_groups,
    )  # lists, or groups with discriminative LRs

    monitor_key = "val_loss" if cfg.monitor == "loss" else f"val_{cfg.monitor}"
    callbacks: list[Callback] = [
        EarlyStopping(monitor_key, MONITORS.get(cfg.monitor).mode, cfg.patience, min_delta=1e-6)
    ]
    if (
        save is not None
    ):  # the estimator's checkpoint is a callback; a plain save(model, info) is wrapped
        callbacks.append(save if isinstance(save, Callback) else Checkpoint(save))
    if verbose:
        callbacks.append(
            ProgressBar(
                monitor_key,
                desc,
                batches_per_epoch=batches_per_epoch,
                items_per_batch=cfg.batch_size if batches_per_epoch else None,  # images/s
            )
        )
    return trainer_class(
        model,
        nn.BCEWithLogitsLoss(pos_weight=pos_weight),
        torch.optim.AdamW(param_groups(model, cfg), lr=cfg.lr, weight_decay=cfg.weight_decay),
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        monitor=cfg.monitor,
        callbacks=callbacks,
        generator=generator,
        device=device,
    )


def fit_result(model: nn.Module, state: TrainState) -> Any:
    """The engine-independent ``FitResult`` of a finished run."""
    from brainnet.core.estimator import FitResult

    return FitResult(
        model, state.history, state.epoch, state.best_epoch, state.stop_reason, state.interrupted
    )


def feature_rows(X: Any, device: torch.device) -> Callable[[torch.Tensor], torch.Tensor]:
    """Batches of (n, d) features by row index: an array is moved to ``device`` once; ``SparseRows`` stay sparse
    and each batch is made dense when it is taken."""
    if isinstance(X, SparseRows):
        return lambda idx: torch.from_numpy(X.rows(idx.cpu().numpy())).to(device)
    Xt = torch.as_tensor(X, dtype=torch.float32, device=device)  # (n, d)
    return lambda idx: Xt[idx]


@torch.no_grad()
def predict_logits(
    model: nn.Module, X: np.ndarray, device: torch.device | str, batch_size: int = 4096
) -> torch.Tensor:
    """(n, d) features -> (n, L) logits on the CPU, in eval mode, in batches."""
    model.eval()
    Xt = X if isinstance(X, SparseRows) else torch.as_tensor(X, dtype=torch.float32)
    out = [
        model(torch.as_tensor(batch_rows(Xt, slice(i, i + batch_size))).to(device)).cpu()
        for i in range(0, Xt.shape[0], batch_size)
    ]
    return torch.cat(out) if out else torch.zeros((0, 0))
