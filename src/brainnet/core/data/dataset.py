"""The in-memory multi-label table every reader returns and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Features and multi-hot labels.

    Attributes:
        X: (n, d) float64 features; NaN marks a missing value. A ``scipy.sparse.csr_matrix`` (float64) for
            sparse data (sparse ARFF, wide binary tables): omitted entries are 0, explicit NaN is missing.
            ``dense_X()`` gives an ndarray either way.
        Y: (n, L) uint8 multi-hot labels, or None when the input has no labels (prediction input).
        feature_names: d column names, in X's column order.
        label_names: L label names, in Y's column order.
        name: where it came from (a path or a built-in name, with the split).
        notes: what the reader wants the user to know.
        levels: the categorical columns: name -> their values (text); such a column of X holds the index
            of the row's value in ``levels[name]`` (a float, NaN for missing). Numeric columns are absent.
    """

    X: np.ndarray
    Y: np.ndarray | None
    feature_names: list[str]
    label_names: list[str]
    name: str = ""
    notes: list[str] = field(default_factory=list)
    levels: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n_samples

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def is_sparse(self) -> bool:
        return not isinstance(self.X, np.ndarray)

    def dense_X(self) -> np.ndarray:
        """X as an (n, d) float64 ndarray (a sparse X is densified: mind the memory)."""
        if hasattr(self.X, "toarray"):
            return np.asarray(self.X.toarray(), dtype=np.float64)
        return np.asarray(self.X, dtype=np.float64)  # an ndarray, or SparseRows (densified)

    @property
    def n_labels(self) -> int:
        return len(self.label_names)
