"""The in-memory multi-label table every reader returns and every model consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class LabelSpec:
    """How to find the labels in a file (the CLI's reading options).

    Args:
        labels: label column names (``--labels a,b,c``).
        label_columns: the last N columns (CSV) or attributes (ARFF) are labels (``--label-columns N``).
        label_column: one column of delimited label names (``--label-column tags``).
        delimiter: separator inside ``label_column`` (``--delimiter ";"``).
        xml: a MULAN label XML file naming the ARFF label attributes (``--xml FILE``).
    """

    labels: tuple[str, ...] | None = None
    label_columns: int | None = None
    label_column: str | None = None
    delimiter: str = ";"
    xml: str | None = None

    def is_empty(self) -> bool:
        return (
            self.labels is None
            and self.label_columns is None
            and self.label_column is None
            and self.xml is None
        )

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels) if self.labels is not None else None,
            "label_columns": self.label_columns,
            "label_column": self.label_column,
            "delimiter": self.delimiter,
            "xml": self.xml,
        }

    @classmethod
    def from_dict(cls, d: dict) -> LabelSpec:
        labels = d.get("labels")
        return cls(
            labels=tuple(labels) if labels is not None else None,
            label_columns=d.get("label_columns"),
            label_column=d.get("label_column"),
            delimiter=d.get("delimiter", ";"),
            xml=d.get("xml"),
        )


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

    @property
    def n_features(self) -> int:
        return int(self.X.shape[1])

    @property
    def n_labels(self) -> int:
        return len(self.label_names)
