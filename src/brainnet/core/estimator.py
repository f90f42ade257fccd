"""The multi-label estimator contract, shared by every engine (PyTorch in ``pipeline``, NumPy in ``scratch``).

``MultiLabelEstimator`` does everything that does not depend on the engine: checking (X, Y), choosing which rows
each model trains and early-stops on (hold-out or cross-fitting), standardising features, tuning per-label
thresholds on out-of-fold probabilities, the metric suite, and the model directory (safetensors + JSON). An engine
subclass writes four hooks:

    _fit_one(cfg, seed, Z_tr, Y_tr, Z_val, Y_val, verbose, save, desc) -> FitResult   train one model
    _proba_one(model, Z) -> (n, L) float64                                            sigmoid of its logits
    _tensors_of(model) -> {name: array}                                               its weights, for saving
    _model_from(cfg, n_features, n_labels, tensors) -> model                          rebuild it when loading

The contract (scikit-learn's): ``__init__`` stores the ``TrainConfig`` fields; ``fit`` validates and learns
``models_``, ``scaler_``, ``thresholds_``...; ``predict_proba`` gives (n, L) independent probabilities (the mean
over the ensemble); ``predict`` applies the stored thresholds.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator

from brainnet.core.config import TrainConfig
from brainnet.core.data.dataset import Dataset, LabelSpec
from brainnet.core.data.preprocessing import FeatureScaler
from brainnet.core.data.splits import multilabel_kfold, multilabel_split
from brainnet.core.decision import metrics
from brainnet.core.decision.thresholds import ThresholdResult, apply_thresholds, tune_thresholds
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.model_dir import load_model_dir, save_model_dir

POS_WEIGHT_CAP = 30.0


def pos_weights(Y: np.ndarray) -> np.ndarray:
    """``pos_weight="auto"``: negatives / positives per label, clipped to [1, POS_WEIGHT_CAP]. (L,) float64."""
    pos = Y.sum(axis=0)
    return np.clip((Y.shape[0] - pos) / np.maximum(pos, 1), 1.0, POS_WEIGHT_CAP)


@dataclass
class FitResult:
    """What training one model produced (an engine's ``_fit_one`` returns it).

    ``best_epoch`` is None when training was interrupted before one epoch finished (no usable model).
    """

    model: Any
    history: list[dict[str, float]] = field(default_factory=list)
    epochs_run: int = 0
    best_epoch: int | None = None
    stop_reason: str = ""
    interrupted: bool = False

    def summary(self, seed: int) -> dict[str, Any]:
        """What the training did, for brainnet.json."""
        best = self.history[self.best_epoch - 1] if self.best_epoch else {}
        return {
            "seed": seed,
            "epochs_run": self.epochs_run,
            "best_epoch": self.best_epoch,
            "stop_reason": self.stop_reason,
            **{f"best_{k}": round(v, 6) for k, v in best.items() if k != "epoch"},
        }


def _config_signature(config_class: type) -> inspect.Signature:
    """``__init__``'s signature as scikit-learn reads it: one keyword argument per config field."""
    defaults = config_class()
    return inspect.Signature(
        [inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)]
        + [
            inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=getattr(defaults, name))
            for name in config_class.field_names()
        ]
    )


class ConfiguredEstimator(BaseEstimator):
    """What every brainnet estimator shares: hyper-parameters are the fields of a typed config, and the
    decision layer (thresholds, the top-1 rule) plus the training record saved beside the weights.

    A subclass sets ``config_class``; its ``__init__`` then takes exactly that config's fields (scikit-learn's
    ``get_params``/``clone`` read them from the signature), stores them, and validates nothing: ``config``
    validates, in ``fit``.
    """

    config_class: ClassVar[type] = TrainConfig

    def __init__(self, **params: Any) -> None:
        names = self.config_class.field_names()
        unknown = sorted(set(params) - set(names))
        if unknown:
            raise TypeError(
                f"{type(self).__name__} got unexpected keyword argument(s) {unknown}; valid: {names}"
            )
        defaults = self.config_class()
        for name in names:
            setattr(self, name, params.get(name, getattr(defaults, name)))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if (
            "config_class" in cls.__dict__
        ):  # a new config: a new __init__ whose signature lists its fields

            def __init__(self, **params: Any) -> None:
                ConfiguredEstimator.__init__(self, **params)

            __init__.__signature__ = _config_signature(cls.config_class)  # type: ignore[attr-defined]
            cls.__init__ = __init__  # type: ignore[method-assign]

    @classmethod
    def from_config(cls, config: Any) -> Any:
        return cls(**{name: getattr(config, name) for name in cls.config_class.field_names()})

    @property
    def config(self) -> Any:
        """The parameters as a validated config (raises UserInputError on bad values)."""
        source = f"{type(self).__name__} parameters"
        cfg = self.config_class.from_dict(self.get_params(), source=source)
        self._check_config(cfg)
        return cfg

    def _check_config(self, cfg: Any) -> None:
        """Reject settings this engine cannot honour (UserInputError naming the option)."""

    def _decide(self, P: np.ndarray) -> np.ndarray:
        return apply_thresholds(P, self.thresholds_.thresholds, at_least_one=self.at_least_one_)

    def _decision_layer(
        self, cfg: Any, Y_train: np.ndarray, Y_val: np.ndarray, P_val: np.ndarray
    ) -> None:
        """Tune ``thresholds_`` on validation probabilities and score them (``val_metrics_``).

        ``at_least_one`` unset: on when every training example has a label (an empty prediction is then never
        right).
        """
        at_least_one = cfg.at_least_one
        self.at_least_one_ = (
            bool(Y_train.sum(axis=1).min() > 0) if at_least_one is None else at_least_one
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

    def _record(self) -> dict[str, Any]:
        """The decision layer and the training record, for brainnet.json."""
        return {
            "thresholds": self.thresholds_.to_dict(),
            "at_least_one": self.at_least_one_,
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

    def _restore_record(self, meta: dict[str, Any], n_labels: int, where: str) -> None:
        """The inverse of ``_record`` (KeyError/TypeError/ValueError on a damaged file)."""
        self.thresholds_ = ThresholdResult.from_dict(meta["thresholds"])
        self.at_least_one_ = bool(meta["at_least_one"])
        self.val_metrics_, self.notes_ = meta["validation_metrics"], meta["notes"]
        self.n_train_, self.n_val_ = meta["n_train"], meta["n_val"]
        self.validation_, self.training_ = meta["validation"], meta["training"]
        self.fit_seconds_, self.interrupted_ = meta["fit_seconds"], meta["interrupted"]
        self.history_, self.status_ = [], meta["status"]
        if self.thresholds_.thresholds.shape != (n_labels,):
            raise ValueError(f"{where}: thresholds do not match the {n_labels} labels")

    def _checkpoint_copy(self, n_labels: int) -> Any:
        """A copy with the same parameters and 0.5 thresholds: what a checkpoint during training holds."""
        snap = type(self)(**self.get_params())
        snap.thresholds_ = ThresholdResult(
            np.full(n_labels, 0.5), "none", 0.5, [], float("nan"), float("nan")
        )
        snap.at_least_one_, snap.val_metrics_, snap.history_, snap.training_ = False, {}, [], []
        snap.notes_, snap.interrupted_ = ["checkpoint written during training"], True
        snap.n_train_ = snap.n_val_ = 0
        snap.validation_ = "checkpoint: thresholds not tuned yet (0.5)"
        snap.fit_seconds_ = 0.0
        return snap


class MultiLabelEstimator(ConfiguredEstimator):
    """Multi-label classifier: standardise -> engine's network -> independent sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig`` (same names, same defaults).

    Fitted attributes:
        models_: the ``n_models`` trained networks (an ensemble when > 1; probabilities are averaged).
        scaler_: FeatureScaler fitted on the training rows.
        training_: per-model summary (seed, epochs run, best epoch, stop reason, best epoch's logs).
        thresholds_: ThresholdResult tuned on the validation (out-of-fold) probabilities.
        at_least_one_: whether a row with no label over its threshold gets its top label.
        feature_names_, label_names_: column names seen in ``fit``.
        history_: per-model list of per-epoch logs.
        val_metrics_: metric suite on the validation rows with the tuned thresholds.
        notes_: what the user should know about the data (imputation, constant labels, interruption).
        interrupted_: True when Ctrl-C ended training early (the best model so far was kept).
    """

    model_kind: ClassVar[str] = ""  # "kind" in brainnet.json; brainnet.load dispatches on it
    engine: ClassVar[str] = ""  # "torch" or "scratch", shown to users

    config_class = TrainConfig

    # ------------------------------------------------------------------ engine hooks
    def _fit_one(
        self, cfg: TrainConfig, seed: int, Z_tr, Y_tr, Z_val, Y_val, verbose: bool, save, desc: str
    ) -> FitResult:
        raise NotImplementedError

    def _proba_one(self, model: Any, Z: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def _tensors_of(self, model: Any) -> dict[str, np.ndarray]:
        raise NotImplementedError

    @classmethod
    def _model_from(
        cls, cfg: TrainConfig, n_features: int, n_labels: int, tensors: dict[str, np.ndarray]
    ) -> Any:
        raise NotImplementedError

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
    ) -> MultiLabelEstimator:
        """Train on (X, Y), tune thresholds on validation probabilities, keep the best weights.

        Args:
            X: (n, d) features (NaN = missing), or a Dataset (then Y and names come from it).
            Y: (n, L) 0/1 labels.
            feature_names, label_names: column names (default f0.. / l0..).
            validation: explicit (X_val, Y_val) for early stopping and thresholds. Default: with
                ``n_models == 1`` a multi-label stratified hold-out of ``val_fraction``; with more, cross-fitting
                (each model early-stops on its own stratified fold; thresholds use out-of-fold probabilities).
            verbose: show progress on stderr.
            checkpoint: a directory where the best model so far is saved during training (crash safety).
            label_spec: how labels were read (stored so that ``evaluate`` can read new files the same way).

        Returns:
            self.
        """
        cfg = self.config
        X, Y, feature_names, label_names = check_xy(X, Y, feature_names, label_names)
        self.feature_names_, self.label_names_ = feature_names, label_names
        self.n_features_in_ = X.shape[1]
        self.label_spec_ = label_spec or LabelSpec(labels=tuple(label_names))
        notes = label_notes(Y, label_names)

        X_all, Y_all, plan, self.validation_ = fit_plan(
            X, Y, validation, cfg, feature_names, label_names
        )
        used = np.unique(np.concatenate([tr for tr, _ in plan]))
        self.scaler_, scaler_notes = FeatureScaler.fit(
            X_all[used], feature_names, impute=cfg.impute
        )
        notes += scaler_notes
        Z = self.scaler_.transform(X_all, feature_names)

        self.models_, self.history_, self.training_ = [], [], []
        self.interrupted_ = False
        P_sum, n_pred = np.zeros(Y_all.shape), np.zeros(len(Y_all))  # out-of-fold probabilities
        save = self._checkpoint_saver(Path(checkpoint)) if checkpoint is not None else None
        start = time.perf_counter()
        for k, (tr, va) in enumerate(plan):
            desc = f"model {k + 1}/{len(plan)}" if len(plan) > 1 else "training"
            result = self._fit_one(
                cfg, cfg.seed + k, Z[tr], Y_all[tr], Z[va], Y_all[va], verbose, save, desc
            )
            if result.best_epoch is None:  # interrupted before one epoch finished
                if not self.models_:
                    raise KeyboardInterrupt
            else:
                self.models_.append(result.model)
                self.history_.append(result.history)
                self.training_.append(result.summary(cfg.seed + k))
                P_sum[va] += self._proba_one(result.model, Z[va])
                n_pred[va] += 1
            if result.interrupted:
                self.interrupted_ = True
                notes.append(
                    f"{result.stop_reason}; kept {len(self.models_)} model(s), the last at its best "
                    f"epoch ({result.best_epoch})."
                )
                break
        self.fit_seconds_ = time.perf_counter() - start
        val = n_pred > 0
        Y_val, P_val = Y_all[val], P_sum[val] / n_pred[val, None]
        self._decision_layer(cfg, Y, Y_val, P_val)
        self.n_train_, self.n_val_ = int(len(used)), int(val.sum())
        self.notes_ = notes
        return self

    def _checkpoint_saver(self, path: Path) -> Callable[[Any], None]:
        """Returns save(model): writes the models trained so far plus ``model`` with 0.5 thresholds."""

        def save(model: Any, info: Any = None) -> None:
            snap = self._checkpoint_copy(len(self.label_names_))
            for name in (
                "feature_names_",
                "label_names_",
                "n_features_in_",
                "label_spec_",
                "scaler_",
            ):
                setattr(snap, name, getattr(self, name))
            snap.models_ = [*self.models_, model]
            snap.save(path, force=True, status="checkpoint")

        return save

    # ------------------------------------------------------------------ predict
    def predict_proba(self, X: np.ndarray | Dataset) -> np.ndarray:
        """(n, d) features -> (n, L) float64 probabilities (mean over the ensemble)."""
        self._check_fitted()
        Z = self.scaler_.transform(self._features(X), self.feature_names_)
        return np.mean([self._proba_one(m, Z) for m in self.models_], axis=0)

    def predict(self, X: np.ndarray | Dataset) -> np.ndarray:
        """(n, d) features -> (n, L) uint8 label sets, using the tuned per-label thresholds."""
        return self._decide(self.predict_proba(X))

    def evaluate(self, X: np.ndarray | Dataset, Y: np.ndarray | None = None) -> dict[str, float]:
        """The full metric suite (``brainnet.core.decision.metrics.evaluate``) on labelled data."""
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
                f"this {type(self).__name__} is not fitted yet; call 'fit' first (or brainnet.load)."
            )

    # ------------------------------------------------------------------ save / load
    def save(self, path: str | Path, *, force: bool = False, status: str = "complete") -> Path:
        """Write the model directory (atomically; an existing one is replaced only with ``force``)."""
        self._check_fitted()
        tensors = {}
        for k, model in enumerate(self.models_):
            for name, array in self._tensors_of(model).items():
                tensors[f"model{k}.{name}"] = array
        meta = {
            "kind": self.model_kind,
            "engine": self.engine,
            "status": status,
            "config": self.config.to_dict(),
            "feature_names": list(self.feature_names_),
            "label_names": list(self.label_names_),
            "label_spec": self.label_spec_.to_dict(),
            "n_models": len(self.models_),
            "preprocessing": self.scaler_.to_dict(),
            **self._record(),
        }
        return save_model_dir(path, meta, tensors, force=force)

    @classmethod
    def load(cls, path: str | Path) -> MultiLabelEstimator:
        """Load a model directory written by ``save`` (no pickle; checked for corruption)."""
        meta, tensors = load_model_dir(path)
        if meta.get("kind") != cls.model_kind:
            raise ModelFormatError(
                f"{str(path)!r} holds a {meta.get('kind')!r} model; expected {cls.model_kind!r}."
            )
        try:
            cfg = TrainConfig.from_dict(meta["config"], source=f"{path}/brainnet.json")
            est = cls.from_config(cfg)
            est.feature_names_ = list(meta["feature_names"])
            est.label_names_ = list(meta["label_names"])
            est.n_features_in_ = len(est.feature_names_)
            est.label_spec_ = LabelSpec.from_dict(meta["label_spec"])
            est.scaler_ = FeatureScaler.from_dict(meta["preprocessing"])
            est._restore_record(meta, len(est.label_names_), str(path))
            est.models_ = []
            for k in range(int(meta["n_models"])):
                prefix = f"model{k}."
                own = {n[len(prefix) :]: a for n, a in tensors.items() if n.startswith(prefix)}
                est.models_.append(
                    cls._model_from(cfg, est.n_features_in_, len(est.label_names_), own)
                )
        except (KeyError, TypeError, ValueError, RuntimeError) as e:
            raise ModelFormatError(
                f"{str(path)!r} is a damaged brainnet model ({type(e).__name__}: {e})."
            ) from None
        return est


# ---------------------------------------------------------------------- helpers
def fit_plan(X, Y, validation, cfg: TrainConfig, feature_names, label_names):
    """Which rows each model trains and early-stops on.

    Returns:
        (X_all, Y_all, plan, description): plan is a list of (train_idx, val_idx) into X_all, one per model.
        - explicit ``validation``: every model trains on X and stops on it (a seed ensemble);
        - ``n_models == 1``: one multi-label stratified hold-out of ``val_fraction``;
        - ``n_models > 1``: cross-fitting: k = n_models stratified folds, model k stops on fold k, so every row
          trains k-1 models and the thresholds are tuned on out-of-fold probabilities of all rows.
    """
    if validation is not None:
        X_val, Y_val, _, _ = check_xy(validation[0], validation[1], feature_names, label_names)
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


def check_xy(X, Y, feature_names, label_names):
    """Validate training data: (X float64 (n, d), Y uint8 (n, L), feature names, label names)."""
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


def label_notes(Y: np.ndarray, label_names: list[str]) -> list[str]:
    """Notes on labels that never or always occur in training."""
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
