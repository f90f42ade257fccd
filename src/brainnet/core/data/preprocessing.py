"""Feature preprocessing fitted on training data only: median imputation, then standardisation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brainnet.core.data.sparse import column_blocks, is_sparse
from brainnet.core.errors import UserInputError


@dataclass(frozen=True)
class FeatureScaler:
    """x' = (impute(x) - mean) / scale, with statistics from the training rows.

    Attributes:
        medians: (d,) values that replace missing features (training medians).
        mean: (d,) training means after imputation.
        scale: (d,) training standard deviations (1 where a feature is constant, and for a 0/1 feature when
            fitted with ``scale_binary=False``, as the table recipe does by default).
        impute: when False, missing values are rejected instead of imputed.
    """

    medians: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    impute: bool = True

    @classmethod
    def fit(
        cls, X: Any, feature_names: list[str], *, impute: bool = True, scale_binary: bool = True
    ) -> tuple[FeatureScaler, list[str]]:
        """Fit on training features: an (n, d) array, or a CSR matrix (never made dense whole: its
        statistics are computed a block of columns at a time, to the same numbers as its dense copy).
        ``scale_binary=False``: a column whose training values are all 0 or 1 (after imputation) keeps scale 1
        (centred, not divided by its standard deviation, which would make a rare indicator a large input).

        Returns:
            (scaler, notes): notes say what was imputed and which features are constant.
        """
        parts = [_column_stats(block) for _, block in column_blocks(X)]
        per_col, medians, mean, std, binary = (np.concatenate(p) for p in zip(*parts, strict=True))
        notes: list[str] = []
        if per_col.any():
            if not impute:
                col = int(np.flatnonzero(per_col)[0])
                rows = X[:, [col]].toarray().ravel() if is_sparse(X) else np.asarray(X)[:, col]
                _raise_missing(
                    int(per_col.sum()),
                    feature_names[col],
                    int(np.flatnonzero(np.isnan(rows))[0]),
                    "training data",
                )
            cols = [f"{feature_names[j]}: {int(per_col[j])}" for j in np.flatnonzero(per_col)[:10]]
            notes.append(
                f"imputed {int(per_col.sum())} missing feature value(s) with training medians ({', '.join(cols)}"
                f"{', ...' if np.count_nonzero(per_col) > 10 else ''})"
            )
        constant = std < 1e-12
        if constant.any():
            names = [feature_names[j] for j in np.flatnonzero(constant)]
            notes.append(
                f"{len(names)} constant feature(s) carry no information: {', '.join(names[:10])}"
            )
        unit = constant if scale_binary else constant | binary
        return cls(medians, mean, np.where(unit, 1.0, std), impute), notes

    def transform(self, X: np.ndarray, feature_names: list[str]) -> np.ndarray:
        """(n, d) raw features -> (n, d) float32 standardised features."""
        return self.transform_rows(self.check(X, feature_names))

    def transform_rows(self, X: np.ndarray) -> np.ndarray:
        """``transform`` of checked (n, d) float64 rows (``SparseRows`` applies it per batch)."""
        Z = X - self.mean  # (n, d) float64, divided in place: 2x faster than with a NaN mask first
        Z /= self.scale
        out = Z.astype(np.float32)
        if np.isnan(out).any():  # a missing value (NaN stays NaN; finite rows give no NaN): impute
            X = np.where(np.isnan(X), self.medians, X)
            out = ((X - self.mean) / self.scale).astype(np.float32)
        return out

    def uncentred(self, X: Any) -> tuple[Any, np.ndarray]:
        """A CSR matrix of checked raw rows split into (X_u, shift): X_u = impute(X) / scale, a CSR matrix
        with X's zeros (the rows scaled, not centred), and shift = mean / scale (d,), so that
        ``transform_rows(X.toarray())`` is ``X_u.toarray() - shift`` to float rounding. An engine that
        multiplies X_u sparsely subtracts ``shift @ W`` once instead of centring every zero."""
        X_u = X.tocsr().astype(np.float64)  # a copy: the caller's data stays as it was
        # missing values are stored entries (NaN is not 0): fill them with the medians
        if np.isnan(X_u.data).any():
            missing = np.isnan(X_u.data)
            X_u.data[missing] = self.medians[X_u.indices[missing]]
        X_u.data /= self.scale[X_u.indices]
        return X_u, self.mean / self.scale

    def check(self, X: Any, feature_names: list[str]) -> Any:
        """(n, d) float64 raw features that ``transform`` accepts (an exported graph does its arithmetic);
        a CSR matrix is checked without being made dense and returned as is."""
        if not is_sparse(X):
            X = np.asarray(X, dtype=np.float64)
        if len(X.shape) != 2 or X.shape[1] != self.mean.shape[0]:
            raise UserInputError(
                f"expected features of shape (n, {self.mean.shape[0]}); received {X.shape}."
            )
        if self.impute:
            return X
        values = X.data if is_sparse(X) else X
        if np.isnan(values).any():
            coo = X.tocoo() if is_sparse(X) else None
            if coo is not None:
                k = int(np.flatnonzero(np.isnan(coo.data))[0])
                row, col = int(coo.row[k]), int(coo.col[k])
            else:
                row, col = map(int, np.argwhere(np.isnan(X))[0])
            _raise_missing(int(np.isnan(values).sum()), feature_names[col], row, "the input")
        return X

    def to_dict(self) -> dict:
        """JSON-ready statistics (Python floats round-trip exactly through JSON)."""
        return {
            "impute": self.impute,
            "medians": self.medians.tolist(),
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict) -> FeatureScaler:
        arrays = [np.asarray(d[k], dtype=np.float64) for k in ("medians", "mean", "scale")]
        if len({a.shape for a in arrays}) != 1 or arrays[0].ndim != 1:
            raise ValueError("scaler statistics must be three lists of the same length")
        return cls(*arrays, impute=bool(d["impute"]))


def _column_stats(X: np.ndarray) -> tuple[np.ndarray, ...]:
    """(n, k) float64 -> per column: (missing counts, medians, means and standard deviations after
    filling the missing values with the medians, and whether every filled value is 0 or 1)."""
    missing = np.isnan(X)
    all_missing = missing.all(axis=0)
    with np.errstate(all="ignore"):
        medians = np.where(all_missing, 0.0, np.nanmedian(np.where(all_missing, 0.0, X), axis=0))
    filled = np.where(missing, medians, X) if missing.any() else X
    binary = ((filled == 0) | (filled == 1)).all(axis=0)
    return missing.sum(axis=0), medians, filled.mean(axis=0), filled.std(axis=0), binary


def _raise_missing(count: int, column: str, row: int, where: str) -> None:
    raise UserInputError(
        f"{where} has {count} missing feature value(s) (first: column {column!r}, "
        f"row {row + 1}) and imputation is off (--no-impute). Fill them in, or drop --no-impute to use "
        "training medians."
    )
