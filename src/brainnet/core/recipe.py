"""Data recipes: what differs between kinds of input (tables, images) for the one estimator.

A recipe checks the training data, learns the input statistics on the training rows (feature medians and
scales; per-channel image means), checks prediction inputs against what it learned, and writes itself into the
model directory. It never trains: engines do (``brainnet.core.estimator.Engine``).

The estimator sees data only through a recipe, so a recipe also says how to take rows of its data
(``subset``), how to join two sets (``concat``) and where the labels are (``labels``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from brainnet.core.data.dataset import Dataset
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.preprocessing import FeatureScaler
from brainnet.core.data.table import check_finite
from brainnet.core.errors import UserInputError


class Recipe:
    """The data half of an estimator. Subclasses set ``kind`` and write every method below."""

    kind: ClassVar[str] = ""  # "table" or "images": which reader the CLI uses for this model's data

    def training_data(self, X: Any, Y: Any, **reading: Any) -> Any:
        """Check labelled training data and return it in the recipe's own type (Y inside it)."""
        raise NotImplementedError

    def validation_data(self, validation: Any, like: Any) -> Any:
        """Check explicit validation data against the training data ``like``; return it in the recipe's type."""
        raise NotImplementedError

    def labels(self, data: Any) -> np.ndarray | None:
        """(n, L) uint8 multi-hot labels of ``data``, or None."""
        raise NotImplementedError

    def label_names(self, data: Any) -> list[str]:
        raise NotImplementedError

    def split(self, data: Any) -> np.ndarray | None:
        """(n,) "train"/"val"/"test" given by the data itself, or None."""
        return None

    def subset(self, data: Any, idx: np.ndarray) -> Any:
        raise NotImplementedError

    def digest(self, data: Any) -> dict[str, Any]:
        """What identifies the inputs of ``data`` (JSON values, e.g. a SHA-256), so that resuming a run on
        other inputs is caught (``brainnet.core.resume.fingerprint``; labels are added there)."""
        raise NotImplementedError

    def concat(self, a: Any, b: Any) -> Any:
        raise NotImplementedError

    def fit(self, data: Any, cfg: Any) -> list[str]:
        """Learn the input statistics on the training rows; returns notes for the user."""
        raise NotImplementedError

    def encode(self, data: Any, *, arithmetic: bool = True) -> Any:
        """``data`` as the engines see it, computed once per fit or prediction (default: unchanged; images are
        transformed per batch by the engine's loader). ``arithmetic=False``: only check it, for an engine whose
        network holds the arithmetic (an exported ONNX graph)."""
        return data

    def inputs(self, X: Any, label_names: list[str]) -> Any:
        """Check prediction inputs (labels optional) against what ``fit`` saw; return them as ``data``."""
        raise NotImplementedError

    def to_meta(self) -> dict[str, Any]:
        """What brainnet.json stores of the recipe."""
        raise NotImplementedError

    def fitted_attributes(self) -> dict[str, Any]:
        """What the estimator shows of the fitted recipe, scikit-learn style (names ending in ``_``)."""
        return {}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], cfg: Any) -> Recipe:
        raise NotImplementedError


class TableRecipe(Recipe):
    """Tables: (n, d) features with NaN for missing -> training medians fill the gaps -> standardised ``Z``.

    Fitted attributes: ``feature_names``, ``label_spec`` (how the labels were read, so ``evaluate`` reads new
    files alike), ``scaler`` (FeatureScaler).
    """

    kind = "table"

    def __init__(self) -> None:
        self.feature_names: list[str] = []
        self.label_spec = LabelSpec()
        self.scaler: FeatureScaler | None = None

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (len(self.feature_names),)

    def training_data(
        self,
        X: Any,
        Y: Any,
        *,
        feature_names: list[str] | None = None,
        label_names: list[str] | None = None,
        label_spec: LabelSpec | None = None,
    ) -> Dataset:
        X, Y, feature_names, label_names = check_xy(X, Y, feature_names, label_names)
        self.feature_names = feature_names
        self.label_spec = label_spec or LabelSpec(labels=tuple(label_names))
        return Dataset(X, Y, feature_names, label_names)

    def validation_data(self, validation: Any, like: Dataset) -> Dataset:
        """(X_val, Y_val) arrays or a Dataset, with the training data's column names."""
        X, Y = validation if isinstance(validation, tuple) else (validation, None)
        X, Y, _, _ = check_xy(X, Y, like.feature_names, like.label_names)
        return Dataset(X, Y, like.feature_names, like.label_names)

    def labels(self, data: Dataset) -> np.ndarray | None:
        return data.Y

    def label_names(self, data: Dataset) -> list[str]:
        return list(data.label_names)

    def subset(self, data: Dataset, idx: np.ndarray) -> Dataset:
        Y = None if data.Y is None else data.Y[idx]
        return Dataset(data.X[idx], Y, data.feature_names, data.label_names, data.name)

    def digest(self, data: Dataset) -> dict[str, Any]:
        from brainnet.core.resume import sha256_of

        return {"features": list(data.feature_names), "inputs": sha256_of(data.X)}

    def concat(self, a: Dataset, b: Dataset) -> Dataset:
        return Dataset(np.vstack([a.X, b.X]), np.vstack([a.Y, b.Y]), a.feature_names, a.label_names)

    def fit(self, data: Dataset, cfg: Any) -> list[str]:
        self.scaler, notes = FeatureScaler.fit(data.X, self.feature_names, impute=cfg.impute)
        return notes

    def encode(self, data: Dataset, *, arithmetic: bool = True) -> Dataset:
        """The same rows with (n, d) float32 standardised features, missing values filled (what networks see);
        ``arithmetic=False``: the raw rows, checked (missing values without imputation are an error)."""
        assert self.scaler is not None, "fit the recipe first"
        if not arithmetic:
            self.scaler.check(data.X, self.feature_names)
            return data
        Z = self.scaler.transform(data.X, self.feature_names)
        return Dataset(Z, data.Y, data.feature_names, data.label_names, data.name)

    def inputs(self, X: Any, label_names: list[str]) -> Dataset:
        Y = None
        if isinstance(X, Dataset):
            if X.feature_names != self.feature_names:
                missing = [f for f in self.feature_names if f not in X.feature_names]
                raise UserInputError(
                    f"the data's feature columns do not match the model's: missing {missing[:10]}"
                    f"{' ...' if len(missing) > 10 else ''}. Read it with the model's feature names."
                )
            X, Y = X.X, X.Y
        try:
            X = np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise UserInputError(f"features must be numeric; {e}.") from None
        d = len(self.feature_names)
        if X.ndim != 2 or X.shape[1] != d:
            raise UserInputError(
                f"expected features of shape (n, {d}) as in training; received {X.shape}."
            )
        check_finite(X, self.feature_names, "the features to predict")
        return Dataset(X, Y, self.feature_names, label_names)

    def to_meta(self) -> dict[str, Any]:
        assert self.scaler is not None, "fit the recipe first"
        return {
            "feature_names": list(self.feature_names),
            "label_spec": self.label_spec.to_dict(),
            "preprocessing": self.scaler.to_dict(),
        }

    def fitted_attributes(self) -> dict[str, Any]:
        return {
            "feature_names_": self.feature_names,
            "n_features_in_": len(self.feature_names),
            "scaler_": self.scaler,
            "label_spec_": self.label_spec,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any], cfg: Any) -> TableRecipe:
        recipe = cls()
        recipe.feature_names = list(meta["feature_names"])
        recipe.label_spec = LabelSpec.from_dict(meta["label_spec"])
        recipe.scaler = FeatureScaler.from_dict(meta["preprocessing"])
        return recipe


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
    check_finite(X, feature_names, "X passed to fit")
    return X, Y.astype(np.uint8), feature_names, label_names
