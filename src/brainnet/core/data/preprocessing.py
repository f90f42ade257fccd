"""Feature preprocessing fitted on training data only: median imputation, then standardisation."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainnet.core.errors import UserInputError


@dataclass(frozen=True)
class FeatureScaler:
    """x' = (impute(x) - mean) / scale, with statistics from the training rows.

    Attributes:
        medians: (d,) values that replace missing features (training medians).
        mean: (d,) training means after imputation.
        scale: (d,) training standard deviations (1 where a feature is constant).
        impute: when False, missing values are rejected instead of imputed.
    """

    medians: np.ndarray
    mean: np.ndarray
    scale: np.ndarray
    impute: bool = True

    @classmethod
    def fit(
        cls, X: np.ndarray, feature_names: list[str], *, impute: bool = True
    ) -> tuple[FeatureScaler, list[str]]:
        """Fit on training features.

        Returns:
            (scaler, notes): notes say what was imputed and which features are constant.
        """
        X = np.asarray(X, dtype=np.float64)
        missing = np.isnan(X)
        notes: list[str] = []
        if missing.any():
            _check_missing(missing, feature_names, impute, "training data")
            per_col = missing.sum(axis=0)
            cols = [f"{feature_names[j]}: {int(per_col[j])}" for j in np.flatnonzero(per_col)[:10]]
            notes.append(
                f"imputed {int(missing.sum())} missing feature value(s) with training medians ({', '.join(cols)}"
                f"{', ...' if np.count_nonzero(per_col) > 10 else ''})"
            )
        all_missing = missing.all(axis=0)
        with np.errstate(all="ignore"):
            medians = np.where(
                all_missing, 0.0, np.nanmedian(np.where(all_missing, 0.0, X), axis=0)
            )
        filled = np.where(missing, medians, X)
        mean = filled.mean(axis=0)
        std = filled.std(axis=0)
        constant = std < 1e-12
        if constant.any():
            names = [feature_names[j] for j in np.flatnonzero(constant)]
            notes.append(
                f"{len(names)} constant feature(s) carry no information: {', '.join(names[:10])}"
            )
        return cls(medians, mean, np.where(constant, 1.0, std), impute), notes

    def transform(self, X: np.ndarray, feature_names: list[str]) -> np.ndarray:
        """(n, d) raw features -> (n, d) float32 standardised features."""
        X = self.check(X, feature_names)
        missing = np.isnan(X)
        if missing.any():
            X = np.where(missing, self.medians, X)
        return ((X - self.mean) / self.scale).astype(np.float32)

    def check(self, X: np.ndarray, feature_names: list[str]) -> np.ndarray:
        """(n, d) float64 raw features that ``transform`` accepts (an exported graph does its arithmetic)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != self.mean.shape[0]:
            raise UserInputError(
                f"expected features of shape (n, {self.mean.shape[0]}); received {X.shape}."
            )
        missing = np.isnan(X)
        if missing.any():
            _check_missing(missing, feature_names, self.impute, "the input")
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


def _check_missing(missing: np.ndarray, feature_names: list[str], impute: bool, where: str) -> None:
    if impute:
        return
    row, col = map(int, np.argwhere(missing)[0])
    raise UserInputError(
        f"{where} has {int(missing.sum())} missing feature value(s) (first: column {feature_names[col]!r}, "
        f"row {row + 1}) and imputation is off (--no-impute). Fill them in, or drop --no-impute to use "
        "training medians."
    )
