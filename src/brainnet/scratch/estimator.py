"""``ScratchMultiLabelMLP``: the multi-label estimator of ``brainnet.core.estimator`` on the NumPy engine.

The same contract, splits, cross-fitting, thresholds, metrics and model directory as the PyTorch
``MultiLabelMLP``; only the network is hand-written: Dropout -> [Dense -> BatchNorm -> activation -> Dropout] *
len(hidden_sizes) -> Dense(L) logits, trained with BCE on logits and AdamW, early-stopped on the validation
rows with the best epoch's weights (BatchNorm statistics included) restored. ``brainnet train yeast --engine
scratch`` trains it.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from brainnet.core.config import TrainConfig
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.errors import UserInputError
from brainnet.core.estimator import (
    FitResult,
    MultiLabelEstimator,
    pos_weights,
)
from brainnet.scratch.callbacks import Callback, StopTraining
from brainnet.scratch.layers import BatchNorm, Dense, Dropout
from brainnet.scratch.layers.activations import ACTIVATIONS, get_activation
from brainnet.scratch.losses import BCEWithLogits
from brainnet.scratch.module import Module
from brainnet.scratch.optimizers import AdamW
from brainnet.scratch.sequential import Sequential
from brainnet.scratch.serialization import assign_arrays, model_arrays

MODEL_KIND = "scratch_multilabel_mlp"
# torch's BatchNorm1d(momentum=0.1) keeps 0.9 of the old moving statistics; Keras's convention writes that 0.9
BATCHNORM_MOMENTUM = 0.9


def build_network(
    n_features: int, n_labels: int, cfg: TrainConfig, rng: np.random.Generator
) -> Sequential:
    """The MLP of ``cfg`` (as ``brainnet.pipeline.models.mlp.MLP``), built on a first forward of zeros."""
    layers: list[Module] = [Dropout(cfg.input_dropout, rng)] if cfg.input_dropout > 0 else []
    init = "he_normal" if cfg.activation in ("relu", "leaky_relu") else "glorot_uniform"
    for width in cfg.hidden_sizes:
        layers.append(Dense(width, kernel_init=init, use_bias=not cfg.batch_norm, rng=rng))
        if cfg.batch_norm:
            layers.append(BatchNorm(momentum=BATCHNORM_MOMENTUM, epsilon=1e-5))
        layers += [get_activation(cfg.activation), Dropout(cfg.dropout, rng)]
    layers.append(Dense(n_labels, rng=rng))
    model = Sequential(layers)
    model.eval()
    model.forward(np.zeros((1, n_features), dtype=np.float32))  # creates the weights
    return model


class _KeepBest(Callback):
    """Early stopping on a validation metric that always ends on the best epoch's arrays.

    Each epoch: compute ``monitor`` on the validation rows; on improvement copy every array (Parameters and
    BatchNorm statistics) and call ``save``; after ``patience`` epochs without one raise StopTraining.
    """

    def __init__(self, Z_val, Y_val, monitor: str, patience: int, save, log) -> None:
        self.Z_val, self.Y_val, self.monitor, self.patience = Z_val, Y_val, monitor, patience
        self.mode, self.save, self.log = MONITORS.get(monitor).mode, save, log
        self.best_value, self.best_epoch, self.best_arrays = None, None, None
        self.stop_reason = ""
        self.history: list[dict[str, float]] = []

    def on_epoch_end(self, epoch: int, logs: dict[str, float]) -> None:
        logits = self.model.predict(self.Z_val, batch_size=4096).astype(np.float64)  # (n_val, L)
        row = {"epoch": float(epoch + 1), "train_loss": logs["loss"]}
        row["val_loss"] = float(BCEWithLogits()(logits, self.Y_val.astype(np.float64)))
        if self.monitor != "loss":
            P = 1.0 / (1.0 + np.exp(-logits))
            row[f"val_{self.monitor}"] = float(MONITORS.get(self.monitor).fn(self.Y_val, P))
        self.history.append(row)
        value = row["val_loss" if self.monitor == "loss" else f"val_{self.monitor}"]
        better = self.best_value is None or (
            value < self.best_value if self.mode == "min" else value > self.best_value
        )
        if better:
            self.best_value, self.best_epoch = value, epoch + 1
            self.best_arrays = {k: v.copy() for k, v in model_arrays(self.model).items()}
            if self.save is not None:
                self.save(self.model)
        self.log(epoch + 1, value, self.best_value, self.best_epoch)
        if epoch + 1 - self.best_epoch >= self.patience:
            self.stop_reason = f"no improvement of val_{self.monitor} for {self.patience} epochs"
            raise StopTraining(self.stop_reason)

    def restore(self) -> None:
        if self.best_arrays is not None:
            assign_arrays(self.model, self.best_arrays, "the best epoch's weights")


class ScratchMultiLabelMLP(MultiLabelEstimator):
    """Multi-label classifier on the NumPy engine: standardise -> MLP -> sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig``; fitted attributes are listed on
    ``MultiLabelEstimator``. ``models_`` holds ``brainnet.scratch.Sequential`` networks in eval mode (float32).
    ``device`` must be "auto" or "cpu"; ``activation`` one of the engine's (relu, leaky_relu, tanh, sigmoid).
    """

    model_kind = MODEL_KIND
    engine = "scratch"

    def _check_config(self, cfg: TrainConfig) -> None:
        if cfg.activation not in ACTIVATIONS or cfg.activation == "softmax":
            valid = ", ".join(n for n in ACTIVATIONS.names() if n != "softmax")
            raise UserInputError(
                f"the scratch engine has no activation {cfg.activation!r}; available: {valid}. "
                "Pick one of these or use --engine torch."
            )
        if cfg.device not in ("auto", "cpu"):
            raise UserInputError(
                f"the scratch engine runs on the CPU with NumPy; received device={cfg.device!r}. "
                "Use --device cpu (or auto), or --engine torch for a GPU."
            )

    def _fit_one(
        self, cfg: TrainConfig, seed: int, Z_tr, Y_tr, Z_val, Y_val, verbose: bool, save, desc: str
    ) -> FitResult:
        rng = np.random.default_rng(seed)
        model = build_network(Z_tr.shape[1], Y_tr.shape[1], cfg, rng)
        pos_weight = pos_weights(Y_tr) if cfg.pos_weight == "auto" else None
        model.compile(
            AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
            BCEWithLogits(pos_weight=pos_weight),
        )
        keep = _KeepBest(
            Z_val.astype(np.float32), Y_val, cfg.monitor, cfg.patience, save, _logger(verbose, desc)
        )
        result = FitResult(model)
        try:
            # one BLAS thread: batches of ~64 rows are too small to split, and two threads fighting for busy
            # cores were 4-25x slower here; it also makes the sums, and so the numbers, independent of cores
            with threadpool_limits(limits=1, user_api="blas"):
                model.fit(
                    Z_tr.astype(np.float32),
                    Y_tr.astype(np.float32),
                    epochs=cfg.epochs,
                    batch_size=cfg.batch_size,
                    seed=seed,
                    callbacks=[keep],
                )
            result.stop_reason = keep.stop_reason or f"reached the epoch limit ({cfg.epochs})"
        except KeyboardInterrupt:
            result.interrupted = True
            result.stop_reason = f"interrupted (Ctrl-C) during epoch {len(keep.history) + 1}"
        keep.restore()
        model.eval()
        result.history, result.epochs_run = keep.history, len(keep.history)
        result.best_epoch = keep.best_epoch
        keep.log(result.epochs_run, None, keep.best_value, result.best_epoch, result.stop_reason)
        return result

    def _proba_one(self, model: Any, Z: np.ndarray) -> np.ndarray:
        logits = model.predict(Z.astype(np.float32), batch_size=4096).astype(np.float64)
        return 1.0 / (1.0 + np.exp(-logits))  # (n, L)

    def _tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        return model_arrays(model)

    @classmethod
    def _model_from(
        cls, cfg: TrainConfig, n_features: int, n_labels: int, tensors: dict[str, np.ndarray]
    ) -> Any:
        model = build_network(n_features, n_labels, cfg, np.random.default_rng(0))
        assign_arrays(model, tensors, "the saved network")  # a mismatch is a ModelFormatError
        return model


def _logger(verbose: bool, desc: str):
    """Status on stderr: a line rewritten every epoch on a terminal, then one line per model (``reason``)."""
    clear = "\r\033[K" if sys.stderr.isatty() else ""

    def log(epoch: int, value, best, best_epoch, reason: str | None = None) -> None:
        if verbose and reason is not None:
            best = float("nan") if best is None else best
            print(
                f"{clear}{desc}: {epoch} epochs, best {best:.4f} at epoch {best_epoch} ({reason})",
                file=sys.stderr,
            )
        elif verbose and clear:
            print(
                f"{clear}{desc}: epoch {epoch}  monitor {value:.4f}  best {best:.4f} (epoch {best_epoch})",
                end="",
                file=sys.stderr,
                flush=True,
            )

    return log


def load(path: Any) -> ScratchMultiLabelMLP:
    """Load a model directory written by ``ScratchMultiLabelMLP.save`` (no pickle; checked for corruption)."""
    return ScratchMultiLabelMLP.load(path)
