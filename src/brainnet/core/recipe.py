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

from brainnet.core.data.columns import parse_columns
from brainnet.core.data.dataset import Dataset
from brainnet.core.data.encoding import TableEncoder
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.preprocessing import FeatureScaler
from brainnet.core.data.sparse import SparseRows, is_sparse, take_rows, to_csr, vstack
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
    """Tables: raw columns -> categories encoded, identifiers dropped (``TableEncoder``) -> training medians
    fill the gaps -> standardised ``Z``. A sparse (CSR) table stays sparse until a batch is made
    (``core/data/sparse.py``).

    Fitted attributes: ``feature_names`` (the raw columns the model reads), ``label_spec`` (how the labels were
    read, so ``evaluate`` reads new files alike), ``encoder`` (TableEncoder), ``scaler`` (FeatureScaler, over
    the encoded columns).
    """

    kind = "table"

    def __init__(self) -> None:
        self.feature_names: list[str] = []
        self.label_spec = LabelSpec()
        self.encoder: TableEncoder | None = None
        self.scaler: FeatureScaler | None = None
        self.keep_id_columns = False

    @property
    def input_shape(self) -> tuple[int, ...]:
        """(d,) the width of the encoded rows the networks see (one-hot columns counted)."""
        if self.encoder is not None:
            return (self.encoder.n_encoded,)
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
        data = check_xy(X, Y, feature_names, label_names)
        self.feature_names = list(data.feature_names)
        self.label_spec = label_spec or LabelSpec(labels=tuple(data.label_names))
        return data

    def validation_data(self, validation: Any, like: Dataset) -> Dataset:
        """(X_val, Y_val) arrays or a Dataset, with the training data's column names."""
        if isinstance(validation, Dataset):
            X, Y = validation, None
        else:
            X, Y = validation if isinstance(validation, tuple) else (validation, None)
        return check_xy(X, Y, like.feature_names, like.label_names)

    def labels(self, data: Dataset) -> np.ndarray | None:
        return data.Y

    def label_names(self, data: Dataset) -> list[str]:
        return list(data.label_names)

    def subset(self, data: Dataset, idx: np.ndarray) -> Dataset:
        Y = None if data.Y is None else data.Y[idx]
        X = take_rows(data.X, idx)
        return Dataset(X, Y, data.feature_names, data.label_names, data.name, levels=data.levels)

    def digest(self, data: Dataset) -> dict[str, Any]:
        from brainnet.core.resume import sha256_of

        X = data.X
        if is_sparse(X):
            csr = X.tocsr()
            inputs = sha256_of(
                np.concatenate([csr.data, csr.indices, csr.indptr]).astype(np.float64)
            )
        else:
            inputs = sha256_of(X)
        digest = {"features": list(data.feature_names), "inputs": inputs}
        if data.levels:
            digest["levels"] = {k: list(v) for k, v in sorted(data.levels.items())}
        return digest

    def concat(self, a: Dataset, b: Dataset) -> Dataset:
        b = _relevel(b, a)
        levels = {**a.levels, **b.levels}
        return Dataset(
            vstack(a.X, b.X), np.vstack([a.Y, b.Y]), a.feature_names, a.label_names, levels=levels
        )

    def fit(self, data: Dataset, cfg: Any) -> list[str]:
        keep = bool(getattr(cfg, "keep_id_columns", False))
        self.encoder, notes = TableEncoder.fit(data, keep_ids=keep)
        self.feature_names = self.encoder.feature_names
        Xe = self.encoder.transform(data)
        self.scaler, more = FeatureScaler.fit(
            Xe,
            self.encoder.encoded_names,
            impute=cfg.impute,
            scale_binary=bool(getattr(cfg, "scale_binary", False)),
        )
        return notes + more

    def encode(self, data: Dataset, *, arithmetic: bool = True) -> Dataset:
        """The same rows as the networks see them: categories encoded, then (n, d) float32 standardised
        features with missing values filled (``SparseRows``, made dense per batch, when ``data.X`` is
        sparse). ``arithmetic=False``: the encoded raw rows (float64, NaN for missing), checked (missing
        values without imputation are an error): what an exported graph reads."""
        assert self.scaler is not None and self.encoder is not None, "fit the recipe first"
        names = self.encoder.encoded_names
        Xe = self.scaler.check(self.encoder.transform(data), names)
        if not arithmetic:
            Z = Xe
        elif is_sparse(Xe):
            Z = SparseRows(
                Xe.tocsr(), self.scaler.transform_rows, len(names), self.scaler.uncentred
            )
        else:
            Z = self.scaler.transform_rows(Xe)
        return Dataset(Z, data.Y, names, data.label_names, data.name)

    def inputs(self, X: Any, label_names: list[str]) -> Dataset:
        """Prediction rows: a Dataset (columns taken by name; extra ones ignored) or an (n, d) array of the
        model's raw columns in order (a categorical column holds the index of its value in
        ``feature_levels_``)."""
        assert self.encoder is not None, "fit the recipe first"
        if isinstance(X, Dataset):
            Xs, _, levels = self.encoder.select(X)
            data = Dataset(Xs, X.Y, self.feature_names, label_names, X.name, levels=levels)
            values = Xs.data if is_sparse(Xs) else Xs
        else:
            try:
                values = np.asarray(X, dtype=np.float64)
            except (TypeError, ValueError) as e:
                raise UserInputError(
                    f"features must be numeric; {e}. For text (categorical) columns pass a Dataset "
                    "(brainnet.read_table) with the column values as text."
                ) from None
            d = len(self.feature_names)
            if values.ndim != 2 or values.shape[1] != d:
                raise UserInputError(
                    f"expected features of shape (n, {d}) as in training; received {values.shape}."
                )
            data = Dataset(
                values, None, self.feature_names, label_names, levels=self.encoder.levels
            )
        if np.isinf(values).any():
            check_finite(data.dense_X(), self.feature_names, "the features to predict")
        return data

    def to_meta(self) -> dict[str, Any]:
        assert self.scaler is not None and self.encoder is not None, "fit the recipe first"
        meta = {
            "feature_names": list(self.feature_names),
            "label_spec": self.label_spec.to_dict(),
            "preprocessing": self.scaler.to_dict(),
        }
        if not self.encoder.is_identity:  # numeric-only models keep the 0.2 format exactly
            meta["encoding"] = self.encoder.to_dict()
        return meta

    def fitted_attributes(self) -> dict[str, Any]:
        assert self.encoder is not None
        return {
            "feature_names_": self.feature_names,
            "n_features_in_": len(self.feature_names),
            "feature_levels_": self.encoder.levels,
            "dropped_columns_": dict(self.encoder.dropped),
            "encoder_": self.encoder,
            "scaler_": self.scaler,
            "label_spec_": self.label_spec,
        }

    @classmethod
    def from_meta(cls, meta: dict[str, Any], cfg: Any) -> TableRecipe:
        recipe = cls()
        recipe.feature_names = list(meta["feature_names"])
        recipe.label_spec = LabelSpec.from_dict(meta["label_spec"])
        recipe.encoder = TableEncoder.from_dict(meta.get("encoding"), recipe.feature_names)
        recipe.scaler = FeatureScaler.from_dict(meta["preprocessing"])
        if recipe.scaler.mean.shape[0] != recipe.encoder.n_encoded:
            raise ValueError(
                f"the scaler has {recipe.scaler.mean.shape[0]} columns for "
                f"{recipe.encoder.n_encoded} encoded features"
            )
        return recipe


def _relevel(b: Dataset, a: Dataset) -> Dataset:
    """``b`` with its categorical codes re-indexed into ``a``'s levels (new values appended), so that the two
    can be stacked."""
    if not b.levels or b.levels == a.levels:
        return b
    X = b.dense_X() if not is_sparse(b.X) else b.X.tolil()
    levels = {}
    for name, values in b.levels.items():
        target = list(a.levels.get(name, []))
        position = {v: k for k, v in enumerate(target)}
        for v in values:
            if v not in position:
                position[v] = len(target)
                target.append(v)
        j = b.feature_names.index(name)
        col = np.asarray(
            X[:, [j]].toarray() if is_sparse(b.X) else X[:, [j]], dtype=np.float64
        ).ravel()
        table = np.array([position[v] for v in values] + [np.nan])
        col = table[np.where(np.isnan(col), len(values), col).astype(np.int64)]
        X[:, j] = col[:, None] if is_sparse(b.X) else col
        levels[name] = target
    X = X.tocsr() if is_sparse(b.X) else X
    return Dataset(X, b.Y, b.feature_names, b.label_names, b.name, levels={**a.levels, **levels})


def check_xy(X, Y, feature_names, label_names) -> Dataset:
    """Validate training data: a Dataset with X float64 (n, d) (or CSR), Y uint8 (n, L), the names and the
    categorical columns' levels. An array with text columns (a 2-D object array, a DataFrame's values) is
    read column by column as ``read_table`` reads a CSV: text columns become categorical."""
    levels: dict[str, list[str]] = {}
    name = ""
    if isinstance(X, Dataset):
        if X.Y is None:
            raise UserInputError(
                f"{X.name or 'the data'} has no label columns; training needs labels."
            )
        X, Y, feature_names, label_names, levels, name = (
            X.X,
            X.Y,
            X.feature_names,
            X.label_names,
            X.levels,
            X.name,
        )
    if Y is None:
        raise UserInputError("fit needs labels Y of shape (n_samples, n_labels); received None.")
    if is_sparse(X):
        X = to_csr(X)
    else:
        X, levels = _numeric_or_columns(X, feature_names, levels)
    Y = np.asarray(Y)
    if len(X.shape) != 2:
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
    if np.isinf(X.data if is_sparse(X) else X).any():
        check_finite(X.toarray() if is_sparse(X) else X, feature_names, "X passed to fit")
    return Dataset(X, Y.astype(np.uint8), feature_names, label_names, name, levels=dict(levels))


def _numeric_or_columns(X: Any, feature_names, levels) -> tuple[np.ndarray, dict[str, list[str]]]:
    """(X as float64, levels): numbers as they are; a 2-D array with text parsed column by column."""
    try:
        return np.asarray(X, dtype=np.float64), levels
    except (TypeError, ValueError):
        pass
    cells = np.asarray(X, dtype=object)
    if cells.ndim != 2:
        raise UserInputError(
            f"X must be 2-D (n_samples, n_features) numbers or text; received shape {cells.shape}."
        )
    names = (
        list(feature_names)
        if feature_names is not None
        else [f"f{j}" for j in range(cells.shape[1])]
    )
    text = np.vectorize(lambda v: "" if v is None or v != v else str(v), otypes=[str])(cells)
    return parse_columns(text, names, lambda i: f"row {i + 1} of X passed to fit")
