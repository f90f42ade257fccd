"""The NumPy engine behind the one estimator, and ``ScratchMultiLabelMLP``, its preset for tables.

The same contract, splits, cross-fitting, thresholds, metrics and model directory as the PyTorch
``MultiLabelMLP`` (``brainnet.core.estimator``); only the network is hand-written: Dropout -> [Dense -> BatchNorm -> activation -> Dropout] *
len(hidden_sizes) -> Dense(L) logits, trained with BCE on logits and AdamW, early-stopped on the validation
rows with the best epoch's weights (BatchNorm statistics included) restored. ``brainnet train yeast --engine
scratch`` trains it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from brainnet.core.config import TrainConfig
from brainnet.core.data.sparse import SparseRows
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.errors import UserInputError
from brainnet.core.estimator import (
    Engine,
    FitResult,
    MultiLabelEstimator,
    Predictions,
    pos_weights,
)
from brainnet.core.recipe import Recipe, TableRecipe
from brainnet.core.training import Callback, Checkpoint, EarlyStopping, ProgressBar, validation_logs
from brainnet.scratch.layers import BatchNorm, Dense, Dropout
from brainnet.scratch.layers.activations import ACTIVATIONS, get_activation
from brainnet.scratch.losses import BCEWithLogits
from brainnet.scratch.module import Module
from brainnet.scratch.optimizers import AdamW
from brainnet.scratch.sequential import Sequential
from brainnet.scratch.serialization import assign_arrays, model_arrays
from brainnet.scratch.training import NumpyLoop

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


def _callbacks(cfg: TrainConfig, save, verbose: bool, desc: str) -> list:
    """Early stopping on ``cfg.monitor`` (strict: min_delta 0), then a checkpoint and a progress bar."""
    monitor = MONITORS.get(cfg.monitor)
    callbacks: list = [EarlyStopping(monitor.key, monitor.mode, cfg.patience, min_delta=0.0)]
    if (
        save is not None
    ):  # the estimator's checkpoint is a callback; a plain save(model, info) is wrapped
        callbacks.append(save if isinstance(save, Callback) else Checkpoint(save))
    return callbacks + ([ProgressBar(monitor.key, desc)] if verbose else [])


def fit_network(
    cfg: TrainConfig, seed: int, Z_tr, Y_tr, Z_val, Y_val, *, verbose: bool, save, desc: str
) -> FitResult:
    """Train one ``build_network`` MLP on (n, d) scaled rows / (n, L) 0/1 labels; return it at its best epoch.

    BCE on logits and AdamW; each epoch ``validation_logs`` on (Z_val, Y_val); the core ``EarlyStopping`` on
    ``cfg.monitor`` restores the best epoch (BatchNorm statistics too), also after Ctrl-C; ``Checkpoint`` calls
    ``save(model, info)`` when ``save`` is given; a ``ProgressBar`` titled ``desc`` when ``verbose``.
    """
    model = build_network(Z_tr.shape[1], Y_tr.shape[1], cfg, np.random.default_rng(seed))
    pos_weight = pos_weights(Y_tr) if cfg.pos_weight == "auto" else None
    model.compile(
        AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay),
        BCEWithLogits(pos_weight=pos_weight),
    )
    loop = NumpyLoop(model, cfg.epochs, _callbacks(cfg, save, verbose, desc))
    Z_val, Z_tr = _float32(Z_val), _float32(Z_tr)  # SparseRows stay sparse (dense per batch)

    def logs(train: dict[str, float]) -> dict[str, float]:
        logits = _logits(model, Z_val)  # (n_val, L)
        row = {"epoch": float(loop.state.epoch), "train_loss": train["loss"]}
        return {**row, **validation_logs(Y_val, logits, cfg.monitor)}

    # one BLAS thread: batches of ~64 rows are too small to split, and two threads fighting for busy
    # cores were 4-25x slower here; it also makes the sums, and so the numbers, independent of cores
    with threadpool_limits(limits=1, user_api="blas"):
        state = loop.run(Z_tr, Y_tr.astype(np.float32), cfg.batch_size, logs, seed=seed)
    model.eval()
    result = FitResult(model, state.history, len(state.history), state.best_epoch)
    result.stop_reason, result.interrupted = state.stop_reason, state.interrupted
    return result


def _float32(Z: Any) -> Any:
    return Z if isinstance(Z, SparseRows) else Z.astype(np.float32)


def _logits(model: Sequential, Z: Any, batch: int = 4096) -> np.ndarray:
    """(n, L) float64 logits of (n, d) rows; ``SparseRows`` are made dense ``batch`` rows at a time."""
    if not isinstance(Z, SparseRows):
        return model.predict(Z, batch_size=batch).astype(np.float64)
    parts = [model.predict(Z.rows(slice(i, i + batch)), batch) for i in range(0, len(Z), batch)]
    return np.concatenate(parts).astype(np.float64)


class ScratchEngine(Engine):
    """The hand-written NumPy engine: tables only, the MLP, on the CPU, float32."""

    name = "scratch"

    def check(self, cfg: TrainConfig, recipe: Recipe) -> None:
        if recipe.kind != "table" or cfg.model != "mlp":
            raise UserInputError(
                f"the scratch engine trains the 'mlp' model on tables; received model {cfg.model!r} on "
                f"{recipe.kind}. Drop --engine scratch (other models run on PyTorch)."
            )
        if cfg.activation not in ACTIVATIONS or cfg.activation == "softmax":
            valid = ", ".join(n for n in ACTIVATIONS.names() if n != "softmax")
            raise UserInputError(
                f"the scratch engine has no activation {cfg.activation!r}; available: {valid}. "
                "Pick one of these or use --engine torch."
            )
        if cfg.sparse_first_layer == "on":
            raise UserInputError(
                "the scratch engine makes every batch dense; sparse_first_layer is a torch-engine option. "
                "Use --sparse-first-layer auto or off, or --engine torch."
            )
        if cfg.distill:
            raise UserInputError(
                f"the scratch engine keeps its ensemble; distill is a torch-engine option (received "
                f"distill={cfg.distill}). Use --distill 0, or --engine torch."
            )
        if cfg.device not in ("auto", "cpu"):
            raise UserInputError(
                f"the scratch engine runs on the CPU with NumPy; received device={cfg.device!r}. "
                "Use --device cpu (or auto), or --engine torch for a GPU."
            )

    def fit_one(self, cfg, seed, recipe, train, val, *, verbose, save, desc) -> FitResult:
        return fit_network(
            cfg, seed, train.X, train.Y, val.X, val.Y, verbose=verbose, save=save, desc=desc
        )

    def predict(self, model: Any, cfg: TrainConfig, recipe: Recipe, data: Any) -> Predictions:
        Z = _float32(data.X)
        logits = _logits(model, Z)
        return Predictions(1.0 / (1.0 + np.exp(-logits)), np.arange(len(Z)))  # (n, L)

    def tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        return model_arrays(model)

    def model_from(self, cfg, recipe, n_labels: int, tensors: dict[str, np.ndarray]) -> Any:
        model = build_network(recipe.input_shape[0], n_labels, cfg, np.random.default_rng(0))
        assign_arrays(model, tensors, "the saved network")  # a mismatch is a ModelFormatError
        return model


class ScratchMultiLabelMLP(MultiLabelEstimator):
    """Multi-label classifier on the NumPy engine: standardise -> MLP -> sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig``; fitted attributes are listed on
    ``MultiLabelEstimator``. ``models_`` holds ``brainnet.scratch.Sequential`` networks in eval mode (float32).
    ``device`` must be "auto" or "cpu"; ``activation`` one of the engine's (relu, leaky_relu, tanh, sigmoid).
    """

    config_class = TrainConfig
    recipe_class = TableRecipe
    engine_class = ScratchEngine
    model_kind = MODEL_KIND


def load(path: Any, runtime: str = "auto") -> ScratchMultiLabelMLP:
    """Load a model directory written by ``ScratchMultiLabelMLP.save`` (no pickle; checked for corruption); ``runtime`` as in ``MultiLabelEstimator.load``."""
    return ScratchMultiLabelMLP.load(path, runtime)
