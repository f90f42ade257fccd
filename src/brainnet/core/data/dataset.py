"""The in-memory multi-label table every reader returns and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """Features and multi-hot labels.

    Attributes:
        X: (n, d) float64 features; NaN marks a missing value.
        Y: (n, L) uint8 multi-hot labels, or None when the input has no labels (prediction input).
        feature_names: d column names, in X's column order.
        label_names: L label names, in Y's column order.
        name: where it came from (a path or a built-in name, with the split).
    """

    X: np.ndarray
    Y: np.ndarray | None
    feature_names: list[str]
    label_names: list[str]
    name: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def n_samples(self) -> int:
        return int(self.X.shape[0])

    def __len__(self) -> int:
        return self.n_samples

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_labels(self) -> int:
        return len(self.label_names)
