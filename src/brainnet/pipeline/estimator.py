"""``MultiLabelMLP``: a scikit-learn style multi-label classifier on PyTorch, with tuned per-label thresholds.

The estimator contract: ``__init__`` stores keyword arguments (the fields of ``TrainConfig``); ``fit`` validates
them and learns ``model_``, ``scaler_``, ``thresholds_``, ``label_names_``...; ``predict_proba`` gives (n, L)
independent probabilities; ``predict`` applies the stored thresholds. ``save``/``load`` use the model directory
format of ``brainnet.core.model_dir`` (safetensors + JSON, never pickle).
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator

from brainnet.core import metrics
from brainnet.core.config import TrainConfig
from brainnet.core.dataset import Dataset, LabelSpec
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.model_dir import load_model_dir, save_model_dir
from brainnet.core.preprocessing import FeatureScaler
from brainnet.core.splits import multilabel_kfold, multilabel_split
from brainnet.core.thresholds import ThresholdResult, apply_thresholds, tune_thresholds

MODEL_KIND = "multilabel_mlp"
POS_WEIGHT_CAP = 30.0


class MultiLabelMLP(BaseEstimator):
    """Multi-label classifier: standardise -> MLP -> independent sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig`` (same names, same defaults).

    Fitted attributes:
        models_: list of ``n_models`` torch modules (an ensemble when > 1; probabilities are averaged).
        scaler_: FeatureScaler fitted on the training rows.
        training_: per-model summary (seed, epochs run, best epoch, stop reason, best epoch's logs).
        thresholds_: ThresholdResult tuned on the validation split.
        feature_names_, label_names_: column names seen in ``fit``.
        history_: per-model list of per-epoch logs.
        val_metrics_: metric suite on the validation split with the tuned thresholds.
        notes_: what the user should know about the data (imputation, constant labels, interruption).
        interrupted_: True when Ctrl-C ended training early (the best model so far was kept).
    """

    def __init__(self, **params: Any) -> None:
        names = TrainConfig.field_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TypeError(
                f"MultiLabelMLP got unexpected keyword argument(s) {unknown}; valid: {names}"
            )
        defaults = TrainConfig()
        for name in names:
            setattr(self, name, params.get(name, getattr(defaults, name)))

    @classmethod
    def from_config(cls, config: TrainConfig) -> MultiLabelMLP:
        return cls(**{name: getattr(config, name) for name in TrainConfig.field_names()})

    @property
    def config(self) -> TrainConfig:
        """The parameters as a validated TrainConfig (raises UserInputError on bad values)."""
        return TrainConfig.from_dict(self.get_params(), source="MultiLabelMLP parameters")

    # ------------------------------------------------------------------ fit
    def fit(
        self,
        X: np.ndarray | Dataset,
        Y: np.ndarray | None = None,
        *,
        feature_names: list[str] | None = None,
        label_names: list[str] | None = None,
        validation: tuple[np.ndarray, np.ndarray] | None = None,
        verbose: bool = False,
        checkpoint: str | Path | None = None,
        label_spec: LabelSpec | None = None,
    ) -> MultiLabelMLP:
        """Train on (X, Y), tune thresholds on a validation split, keep the best weights.

        Args:
            X: (n, d) features (NaN = missing), or a Dataset (then Y and names come from it).
            Y: (n, L) 0/1 labels.
            feature_names, label_names: column names (default f0.. / l0..).
            validation: explicit (X_val, Y_val) for early stopping and thresholds. Default: with
                ``n_models == 1`` a multi-label stratified hold-out of ``val_fraction``; with more, cross-fitting
                (each model early-stops on its own stratified fold; thresholds use out-of-fold probabilities).
            verbose: show a progress bar on stderr.
            checkpoint: a directory where the best model so far is saved during training (crash safety).
            label_spec: how labels were read (stored so that ``evaluate`` can read new files the same way).

        Returns:
            self.
        """

        cfg = self.config
        X, Y, feature_names, label_names = _check_xy(X, Y, feature_names, label_names)
        self.feature_names_, self.label_names_ = feature_names, label_names
        self.n_features_in_ = X.shape[1]
        self.label_spec_ = label_spec or LabelSpec(labels=tuple(label_names))
        notes = _label_notes(Y, label_names)

        X_all, Y_all, plan, self.validation_ = _plan(
            X, Y, validation, cfg, feature_names, label_names
        )
        used = np.unique(np.concatenate([tr for tr, _ in plan]))
        self.scaler_, scaler_notes = FeatureScaler.fit(
            X_all[used], feature_names, impute=cfg.impute
        )
        notes += scaler_notes
        Z = self.scaler_.transform(X_all, feature_names)

        device = resolve_device(cfg.device)
        self.models_, self.history_, self.training_ = [], [], []
        self.interrupted_ = False
        P_sum, n_pred = np.zeros(Y_all.shape), np.zeros(len(Y_all))  # out-of-fold probabilities
        save = self._checkpoint_saver(Path(checkpoint)) if checkpoint is not None else None
        start = time.perf_counter()
        for k, (tr, va) in enumerate(plan):
            desc = f"model {k + 1}/{len(plan)}" if len(plan) > 1 else "training"
            model, state = _train_one(
                cfg, cfg.seed + k, Z[tr], Y_all[tr], Z[va], Y_all[va], device, verbose, save, desc
            )
            if state.best_epoch is None:  # interrupted before one epoch finished
                if not self.models_:
                    raise KeyboardInterrupt
            else:
                self.models_.append(model.cpu().eval())
                self.history_.append(state.history)
                self.training_.append(_summary(state, cfg.seed + k))
                P_sum[va] += _probabilities([self.models_[-1]], Z[va])
                n_pred[va] += 1
            if state.interrupted:
                self.interrupted_ = True
                notes.append(
                    f"{state.stop_reason}; kept {len(self.models_)} model(s), the last at its best epoch "
                    f"({state.best_epoch})."
                )
                break
        self.fit_seconds_ = time.perf_counter() - start
        val = n_pred > 0
        Y_val, P_val = Y_all[val], P_sum[val] / n_pred[val, None]
        # unset at_least_one: on when every training row has a label (an empty prediction is then never right)
        self.at_least_one_ = (
            cfg.at_least_one if cfg.at_least_one is not None else bool(Y.sum(axis=1).min() > 0)
        )
        self.thresholds_ = tune_thresholds(
            Y_val,
            P_val,
            cfg.threshold_objective,
            min_positives=cfg.min_positives,
            shrinkage=cfg.threshold_shrinkage,
            at_least_one=self.at_least_one_,
        )
        self.val_metrics_ = metrics.evaluate(Y_val, P_val, self._decide(P_val))
        self.n_train_, self.n_val_ = int(len(used)), int(val.sum())
        self.notes_ = notes
        return self

    def _checkpoint_saver(self, path: Path) -> Callable:
        """Returns save(model): writes the models trained so far plus ``model`` with 0.5 thresholds."""

        def save(model: Any) -> None:
            L = len(self.label_names_)
            snapshot = _clone_estimator_state(self, models=[*self.models_, model])
            snapshot.thresholds_ = ThresholdResult(
                np.full(L, 0.5), "none", 0.5, [], float("nan"), float("nan")
            )
            snapshot.val_metrics_, snapshot.notes_ = {}, ["checkpoint written during training"]
            snapshot.history_, snapshot.training_, snapshot.interrupted_ = [], [], True
            snapshot.n_train_ = snapshot.n_val_ = 0
            snapshot.validation_ = "checkpoint: thresholds not tuned yet (0.5)"
            snapshot.fit_seconds_, snapshot.at_least_one_ = 0.0, False
            snapshot.save(path, force=True, status="checkpoint")

        return save

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: np.ndarray | Dataset) -> np.ndarray:
        """(n, d) features -> (n, L) float64 probabilities (mean over the ensemble)."""
        self._check_fitted()
        return _probabilities(
            self.models_, self.scaler_.transform(self._features(X), self.feature_names_)
        )

    def predict(self, X: np.ndarray | Dataset) -> np.ndarray:
        """(n, d) features -> (n, L) uint8 label sets, using the tuned per-label thresholds."""
        return self._decide(self.predict_proba(X))

    def _decide(self, P: np.ndarray) -> np.ndarray:
        return apply_thresholds(P, self.thresholds_.thresholds, at_least_one=self.at_least_one_)

    def evaluate(self, X: np.ndarray | Dataset, Y: np.ndarray | None = None) -> dict[str, float]:
        """The full metric suite (``brainnet.core.metrics.evaluate``) on labelled data."""
        if isinstance(X, Dataset):
            X, Y = X, X.Y
        if Y is None:
            raise UserInputError("evaluate needs labels; the data has none.")
        P = self.predict_proba(X)
        return metrics.evaluate(np.asarray(Y), P, self._decide(P))

    def _features(self, X: np.ndarray | Dataset) -> np.ndarray:
        if isinstance(X, Dataset):
            if X.feature_names != self.feature_names_:
                missing = [f for f in self.feature_names_ if f not in X.feature_names]
                raise UserInputError(
                    f"the data's feature columns do not match the model's: missing {missing[:10]}"
                    f"{' ...' if len(missing) > 10 else ''}. Read it with the model's feature names."
                )
            X = X.X
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.n_features_in_:
            raise UserInputError(
                f"expected features of shape (n, {self.n_features_in_}) as in training; received {X.shape}."
            )
        return X

    def _check_fitted(self) -> None:
        if not hasattr(self, "models_"):
            raise UserInputError(
                "this MultiLabelMLP is not fitted yet; call 'fit' first (or brainnet.load)."
            )

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path, *, force: bool = False, status: str = "complete") -> Path:
        """Write the model directory (atomically; an existing one is replaced only with ``force``)."""
        self._check_fitted()
        tensors = {}
        for k, model in enumerate(self.models_):
            for name, t in model.state_dict().items():
                tensors[f"model{k}.{name}"] = t.detach().cpu().numpy()
        meta = {
            "kind": MODEL_KIND,
            "status": status,
            "config": self.config.to_dict(),
            "feature_names": list(self.feature_names_),
            "label_names": list(self.label_names_),
            "label_spec": self.label_spec_.to_dict(),
            "n_models": len(self.models_),
            "thresholds": self.thresholds_.to_dict(),
            "at_least_one": self.at_least_one_,
            "preprocessing": self.scaler_.to_dict(),
            "seed": self.seed,
            "training": self.training_,
            "validation_metrics": self.val_metrics_,
            "n_train": self.n_train_,
            "n_val": self.n_val_,
            "validation": self.validation_,
            "fit_seconds": round(self.fit_seconds_, 3),
            "interrupted": bool(self.interrupted_),
            "notes": list(self.notes_),
        }
        return save_model_dir(path, meta, tensors, force=force)


def load(path: str | Path) -> MultiLabelMLP:
    """Load a model directory written by ``MultiLabelMLP.save`` (no pickle; checked for corruption)."""
    import torch

    from brainnet.pipeline.models import MODELS

    meta, tensors = load_model_dir(path)
    if meta.get("kind") != MODEL_KIND:
        raise ModelFormatError(
            f"{str(path)!r} holds a {meta.get('kind')!r} model; expected {MODEL_KIND!r}."
        )
    try:
        cfg = TrainConfig.from_dict(meta["config"], source=f"{path}/brainnet.json")
        est = MultiLabelMLP.from_config(cfg)
        est.feature_names_, est.label_names_ = (
            list(meta["feature_names"]),
            list(meta["label_names"]),
        )
        est.n_features_in_ = len(est.feature_names_)
        est.label_spec_ = LabelSpec.from_dict(meta["label_spec"])
        est.scaler_ = FeatureScaler.from_dict(meta["preprocessing"])
        est.thresholds_ = ThresholdResult.from_dict(meta["thresholds"])
        est.at_least_one_ = bool(meta["at_least_one"])
        est.models_ = []
        for k in range(int(meta["n_models"])):
            model = MODELS.get("mlp")(est.n_features_in_, len(est.label_names_), cfg)
            prefix = f"model{k}."
            state = {
                n[len(prefix) :]: torch.from_numpy(a.copy())
                for n, a in tensors.items()
                if n.startswith(prefix)
            }
            model.load_state_dict(state)
            est.models_.append(model.eval())
        est.val_metrics_, est.notes_ = meta["validation_metrics"], meta["notes"]
        est.n_train_, est.n_val_, est.validation_ = (
            meta["n_train"],
            meta["n_val"],
            meta["validation"],
        )
        est.fit_seconds_, est.interrupted_ = meta["fit_seconds"], meta["interrupted"]
        est.history_, est.training_ = [], meta["training"]
        est.status_ = meta["status"]
    except (KeyError, TypeError, ValueError, RuntimeError) as e:
        raise ModelFormatError(
            f"{str(path)!r} is a damaged brainnet model ({type(e).__name__}: {e})."
        ) from None
    if est.thresholds_.thresholds.shape != (len(est.label_names_),):
        raise ModelFormatError(
            f"{str(path)!r}: thresholds do not match the {len(est.label_names_)} labels."
        )
    return est


# ---------------------------------------------------------------------- helpers
def resolve_device(name: str) -> Any:
    import torch

    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise UserInputError(
            f"device {name!r} requested but CUDA is not available; use --device cpu or auto."
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise UserInputError(
            "device 'mps' requested but it is not available; use --device cpu or auto."
        )
    return torch.device(name)


def _train_one(
    cfg: TrainConfig, seed: int, Z_tr, Y_tr, Z_val, Y_val, device, verbose: bool, save, desc: str
):
    import torch

    from brainnet.pipeline.callbacks import Checkpoint, EarlyStopping, ProgressBar
    from brainnet.pipeline.models import MODELS
    from brainnet.pipeline.trainer import Trainer, monitor_mode

    torch.manual_seed(seed)
    model = MODELS.get("mlp")(Z_tr.shape[1], Y_tr.shape[1], cfg)
    pos_weight = None
    if cfg.pos_weight == "auto":
        pos = Y_tr.sum(axis=0)
        ratio = (Y_tr.shape[0] - pos) / np.maximum(pos, 1)
        pos_weight = torch.as_tensor(
            np.clip(ratio, 1.0, POS_WEIGHT_CAP), dtype=torch.float32, device=device
        )
    loss_fn = torch.nn.BCEWithLogitsLoss(pos_weight=pos_weight)
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    monitor_key = "val_loss" if cfg.monitor == "loss" else f"val_{cfg.monitor}"
    callbacks = [EarlyStopping(monitor_key, monitor_mode(cfg.monitor), cfg.patience)]
    if save is not None:
        callbacks.append(Checkpoint(save))
    if verbose:
        callbacks.append(ProgressBar(monitor_key, desc))
    trainer = Trainer(
        model,
        loss_fn,
        optimizer,
        epochs=cfg.epochs,
        batch_size=cfg.batch_size,
        monitor=cfg.monitor,
        callbacks=callbacks,
        generator=torch.Generator().manual_seed(seed),
        device=device,
    )
    state = trainer.fit(Z_tr, Y_tr, Z_val, Y_val)
    return model, state


def _plan(X, Y, validation, cfg: TrainConfig, feature_names, label_names):
    """Which rows each model trains and early-stops on.

    Returns:
        (X_all, Y_all, plan, description): plan is a list of (train_idx, val_idx) into X_all, one per model.
        - explicit ``validation``: every model trains on X and stops on it (a seed ensemble);
        - ``n_models == 1``: one multi-label stratified hold-out of ``val_fraction``;
        - ``n_models > 1``: cross-fitting: k = n_models stratified folds, model k stops on fold k, so every row
          trains k-1 models and the thresholds are tuned on out-of-fold probabilities of all rows.
    """
    if validation is not None:
        X_val, Y_val, _, _ = _check_xy(validation[0], validation[1], feature_names, label_names)
        n, m = len(X), len(X_val)
        plan = [(np.arange(n), np.arange(n, n + m))] * cfg.n_models
        return (
            np.vstack([X, X_val]),
            np.vstack([Y, Y_val]),
            plan,
            f"given validation set ({m} rows)",
        )
    if cfg.n_models == 1:
        plan = [multilabel_split(Y, cfg.val_fraction, cfg.seed)]
        return X, Y, plan, f"stratified hold-out of {cfg.val_fraction:g} of the training rows"
    plan = multilabel_kfold(Y, cfg.n_models, cfg.seed)
    return X, Y, plan, f"{cfg.n_models}-fold stratified cross-fitting (out-of-fold thresholds)"


def _probabilities(models: list, Z: np.ndarray) -> np.ndarray:
    """Mean sigmoid over the models: (n, d) standardised features -> (n, L) float64."""
    import torch

    from brainnet.pipeline.trainer import predict_logits

    return np.mean(
        [torch.sigmoid(predict_logits(m, Z, "cpu")).numpy() for m in models], axis=0
    ).astype(np.float64)


def _summary(state: Any, seed: int) -> dict[str, Any]:
    """What one model's training did, for brainnet.json."""
    best = state.history[state.best_epoch - 1] if state.best_epoch else {}
    return {
        "seed": seed,
        "epochs_run": state.epoch,
        "best_epoch": state.best_epoch,
        "stop_reason": state.stop_reason,
        **{f"best_{k}": round(v, 6) for k, v in best.items() if k != "epoch"},
    }


def _clone_estimator_state(est: MultiLabelMLP, models: list) -> MultiLabelMLP:
    snap = MultiLabelMLP(**est.get_params())
    for name in ("feature_names_", "label_names_", "n_features_in_", "label_spec_", "scaler_"):
        setattr(snap, name, getattr(est, name))
    snap.models_ = models
    return snap


def _check_xy(X, Y, feature_names, label_names):
    if isinstance(X, Dataset):
        if X.Y is None:
            raise UserInputError(
                f"{X.name or 'the data'} has no label columns; training needs labels."
            )
        X, Y, feature_names, label_names = X.X, X.Y, X.feature_names, X.label_names
    if Y is None:
        raise UserInputError("fit needs labels Y of shape (n_samples, n_labels); received None.")
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise UserInputError(
            f"features X must be numeric; {e}. Encode or drop non-numeric columns."
        ) from None
    Y = np.asarray(Y)
    if X.ndim != 2:
        raise UserInputError(f"X must be 2-D (n_samples, n_features); received shape {X.shape}.")
    if Y.ndim == 1:
        raise UserInputError(
            f"Y must be 2-D multi-hot (n_samples, n_labels); received shape {Y.shape}. "
            "For one label, pass Y.reshape(-1, 1)."
        )
    if Y.ndim != 2 or Y.shape[0] != X.shape[0]:
        raise UserInputError(
            f"X and Y need the same number of rows; received X {X.shape} and Y {Y.shape}."
        )
    if X.shape[0] < 2:
        raise UserInputError(f"training needs at least 2 rows; received {X.shape[0]}.")
    if Y.shape[1] < 1:
        raise UserInputError("training needs at least one label column; received 0.")
    if np.isinf(X).any():
        raise UserInputError(
            "X contains infinite values; replace them (missing values may be NaN)."
        )
    if not np.isin(Y, (0, 1)).all():
        bad = Y[~np.isin(Y, (0, 1))].ravel()[0].item()
        raise UserInputError(
            f"labels must be 0 or 1; found {bad!r}. Encode each label as a 0/1 column."
        )
    feature_names = (
        list(feature_names) if feature_names is not None else [f"f{j}" for j in range(X.shape[1])]
    )
    label_names = (
        list(label_names) if label_names is not None else [f"l{j}" for j in range(Y.shape[1])]
    )
    if len(feature_names) != X.shape[1] or len(label_names) != Y.shape[1]:
        raise UserInputError(
            f"got {len(feature_names)} feature names for {X.shape[1]} columns and {len(label_names)} label "
            f"names for {Y.shape[1]} labels; they must match."
        )
    return X, Y.astype(np.uint8), feature_names, label_names


def _label_notes(Y: np.ndarray, label_names: list[str]) -> list[str]:
    pos = Y.sum(axis=0)
    never = [label_names[j] for j in np.flatnonzero(pos == 0)]
    always = [label_names[j] for j in np.flatnonzero(pos == Y.shape[0])]
    notes = []
    if never:
        notes.append(
            f"label(s) never present in training (the model will learn to never predict them): {', '.join(never)}"
        )
    if always:
        notes.append(
            f"label(s) present in every training row (always predicted): {', '.join(always)}"
        )
    return notes


# The sklearn contract: get_params() reads __init__'s signature, so expose the config fields there.
MultiLabelMLP.__init__.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
    [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
    + [
        inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=getattr(TrainConfig(), name)
        )
        for name in TrainConfig.field_names()
    ]
)
