"""Column encoding fitted on the training rows: categories to numbers, identifier columns dropped.

``TableEncoder`` turns a table's raw columns (``Dataset``: numbers, and categorical columns as indices into
``Dataset.levels``) into the numeric columns the scaler and the networks see:

- a numeric column passes through (NaN stays missing, the scaler imputes it);
- a categorical column whose values are a yes/no-like pair (``columns.BOOLEAN_PAIRS``, any case; one of the
  two is enough) is one 0/1 column ("binary"); any other value is missing;
- any other categorical column is one-hot ("onehot"): one column per value seen in training, in the order of
  its levels, and a last ``NAME=<unknown>`` column for missing values and values unseen at fit;
- a categorical column with a different value on (nearly) every row (at least ``ID_MIN_ROWS`` rows, distinct
  values >= ``ID_UNIQUE_FRACTION`` of the rows: an accession, a name) is an identifier, not a feature: it is
  dropped with a note unless ``keep_ids``.

Values are matched by their text, so a file whose categories come in another order (or a CSV with numbers where
the ARFF had nominal codes) encodes the same way. The encoding is saved in brainnet.json (``to_dict``). One-hot
happens in NumPy before the networks (and before an exported ONNX graph, whose input is the encoded columns).
A sparse X stays sparse: one-hot columns of a CSR matrix are built as CSR.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainnet.core.data.columns import boolean_pair, number_text
from brainnet.core.data.dataset import Dataset
from brainnet.core.errors import ModelFormatError, UserInputError

ID_MIN_ROWS = 20
ID_UNIQUE_FRACTION = 0.95
UNKNOWN = "<unknown>"
KINDS = ("numeric", "binary", "onehot")


@dataclass(frozen=True)
class Column:
    """How one raw column becomes encoded columns.

    Attributes:
        name: the raw column.
        kind: "numeric" (one column as is), "binary" (levels[1] -> 1, levels[0] -> 0, else missing) or
            "onehot" (one column per level and one for unknown).
        levels: the category texts (binary: [negative, positive]).
    """

    name: str
    kind: str = "numeric"
    levels: tuple[str, ...] = ()

    @property
    def encoded_names(self) -> list[str]:
        if self.kind == "onehot":
            return [f"{self.name}={v}" for v in self.levels] + [f"{self.name}={UNKNOWN}"]
        return [self.name]


@dataclass(frozen=True)
class TableEncoder:
    """Raw table columns -> numeric columns (see the module docstring).

    Attributes:
        columns: the columns the model reads, in order.
        dropped: {column: why} for columns left out at fit (identifiers).
    """

    columns: tuple[Column, ...]
    dropped: dict[str, str] = field(default_factory=dict)

    @classmethod
    def identity(cls, feature_names: list[str]) -> TableEncoder:
        """All numeric: what models saved before categorical columns existed read as."""
        return cls(tuple(Column(name) for name in feature_names))

    @classmethod
    def fit(cls, data: Dataset, *, keep_ids: bool = False) -> tuple[TableEncoder, list[str]]:
        """Learn the categories of ``data``'s categorical columns; returns (encoder, notes for the user)."""
        columns, dropped, notes = [], {}, []
        n = data.n_samples
        for j, name in enumerate(data.feature_names):
            if name not in data.levels:
                columns.append(Column(name))
                continue
            codes = _column(data.X, j)
            seen = np.unique(codes[~np.isnan(codes)]).astype(np.int64)
            values = [data.levels[name][k] for k in seen]
            present = int((~np.isnan(codes)).sum())
            unique = n >= ID_MIN_ROWS and len(values) >= ID_UNIQUE_FRACTION * max(present, 1) > 1
            if unique and not keep_ids:
                dropped[name] = f"identifier-like: {len(values)} distinct values in {n} rows"
                continue
            declared = data.levels[
                name
            ]  # a yes/no column stays one 0/1 column even if one value occurs
            pair = boolean_pair(declared if len(declared) <= 2 else values) if values else None
            if pair is not None:
                columns.append(Column(name, "binary", pair))
            else:
                columns.append(Column(name, "onehot", tuple(values)))
        if not columns:
            raise UserInputError(
                f"every feature column of {data.name or 'the data'} was dropped as an identifier "
                f"({', '.join(dropped)}); expected at least one feature. Keep them with --keep-id-columns."
            )
        encoder = cls(tuple(columns), dropped)
        for name, why in dropped.items():
            notes.append(
                f"dropped column {name!r} ({why}); it names rows rather than describing them. "
                "Keep it with --keep-id-columns (keep_id_columns=True)."
            )
        onehot = [c for c in columns if c.kind == "onehot"]
        if onehot or any(c.kind == "binary" for c in columns):
            shown = ", ".join(f"{c.name} ({len(c.levels)})" for c in onehot[:5])
            more = ", ..." if len(onehot) > 5 else ""
            binary = sum(c.kind == "binary" for c in columns)
            parts = (
                [f"one-hot encoded {len(onehot)} categorical column(s): {shown}{more}"]
                if onehot
                else []
            )
            parts += [f"{binary} yes/no column(s) read as 0/1"] if binary else []
            notes.append("; ".join(parts) + f" -> {encoder.n_encoded} input columns")
        return encoder, notes

    @property
    def feature_names(self) -> list[str]:
        """The raw columns the model reads."""
        return [c.name for c in self.columns]

    @property
    def encoded_names(self) -> list[str]:
        return [name for c in self.columns for name in c.encoded_names]

    @property
    def n_encoded(self) -> int:
        return len(self.encoded_names)

    @property
    def is_identity(self) -> bool:
        return not self.dropped and all(c.kind == "numeric" for c in self.columns)

    @property
    def levels(self) -> dict[str, list[str]]:
        """The categorical columns and their training values (what a caller may send as text)."""
        return {c.name: list(c.levels) for c in self.columns if c.kind != "numeric"}

    def select(self, data: Dataset) -> tuple[Any, list[str], dict[str, list[str]]]:
        """``data``'s X restricted to the model's raw columns, in the model's order (extra ones ignored)."""
        names = list(data.feature_names)
        if names == self.feature_names:
            return data.X, names, data.levels
        position = {name: j for j, name in enumerate(names)}
        missing = [name for name in self.feature_names if name not in position]
        if missing:
            raise UserInputError(
                f"the data lacks {len(missing)} feature column(s) the model needs: "
                f"{', '.join(map(repr, missing[:10]))}{' ...' if len(missing) > 10 else ''}. Pass data "
                "with the training data's feature columns (any order; extra columns are ignored)."
            )
        idx = [position[name] for name in self.feature_names]
        return data.X[:, idx], self.feature_names, data.levels

    def transform(self, data: Dataset) -> Any:
        """(n, d_raw) raw columns -> (n, n_encoded) float64 (a CSR matrix when ``data.X`` is sparse)."""
        X, _, levels = self.select(data)
        if self.is_identity and not levels:
            return X
        sparse = not isinstance(X, np.ndarray)
        blocks = []
        for j, col in enumerate(self.columns):
            if col.kind == "numeric":
                if col.name in levels:
                    example = levels[col.name][0] if levels[col.name] else "?"
                    raise UserInputError(
                        f"feature column {col.name!r} holds text (such as {example!r}); the model was "
                        "trained on numbers in that column. Pass numbers (or leave the cell empty)."
                    )
                blocks.append(X[:, [j]] if sparse else X[:, j : j + 1])
                continue
            codes = _column(X, j)  # (n,) indices into the data's own levels, NaN for missing
            index = _level_index(
                codes, levels.get(col.name), col
            )  # (n,) into col.levels, -1 unknown
            blocks.append(_encode(index, col, sparse))
        if sparse:
            import scipy.sparse as sp

            return sp.hstack(blocks, format="csr", dtype=np.float64)
        return np.hstack(blocks).astype(np.float64, copy=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "columns": [
                {"name": c.name, "kind": c.kind, "levels": list(c.levels)}
                for c in self.columns
                if c.kind != "numeric"
            ],
            "dropped": dict(self.dropped),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None, feature_names: list[str]) -> TableEncoder:
        """The encoder saved by ``to_dict`` over the model's ``feature_names`` (None: all numeric)."""
        if d is None:
            return cls.identity(feature_names)
        special = {c["name"]: c for c in d["columns"]}
        if set(special) - set(feature_names) or any(c["kind"] not in KINDS for c in d["columns"]):
            raise ModelFormatError(
                f"the saved column encoding does not match the features: {d!r:.200}"
            )
        columns = tuple(
            Column(name, special[name]["kind"], tuple(special[name]["levels"]))
            if name in special
            else Column(name)
            for name in feature_names
        )
        return cls(columns, dict(d.get("dropped", {})))


def _column(X: Any, j: int) -> np.ndarray:
    """Column j of a dense or sparse matrix as an (n,) float64 array."""
    if isinstance(X, np.ndarray):
        return np.asarray(X[:, j], dtype=np.float64)
    return np.asarray(X[:, [j]].toarray(), dtype=np.float64).ravel()


def _level_index(codes: np.ndarray, data_levels: list[str] | None, col: Column) -> np.ndarray:
    """(n,) codes into the data's levels (or numbers, when the data read the column as numeric) ->
    (n,) int64 positions in ``col.levels``, -1 for missing or unseen."""
    fold = str.lower if col.kind == "binary" else str  # yes/no values match in any case
    position = {fold(v): k for k, v in enumerate(col.levels)}
    present = ~np.isnan(codes)
    if (
        data_levels is None
    ):  # numbers where the model has categories (a CSV of an ARFF's nominal codes)
        texts = {x: fold(number_text(x)) for x in np.unique(codes[present])}
        lookup = {x: position.get(t, -1) for x, t in texts.items()}
        out = np.full(len(codes), -1, dtype=np.int64)
        out[present] = [lookup[x] for x in codes[present]]
        return out
    table = np.array([position.get(fold(v), -1) for v in data_levels] + [-1], dtype=np.int64)
    k = np.where(present, codes, len(data_levels)).astype(np.int64)
    if k.min(initial=0) < 0 or k.max(initial=0) > len(data_levels):
        raise UserInputError(
            f"categorical column {col.name!r} holds a code outside its {len(data_levels)} levels; "
            "codes must index Dataset.levels."
        )
    return table[k]


def _encode(index: np.ndarray, col: Column, sparse: bool) -> Any:
    """(n,) positions in ``col.levels`` (-1 unknown) -> the column's encoded block (n, width)."""
    n = len(index)
    if col.kind == "binary":
        block = np.where(index < 0, np.nan, (index == 1).astype(np.float64))[:, None]  # (n, 1)
        if not sparse:
            return block
        import scipy.sparse as sp

        return sp.csr_matrix(block)
    width = len(col.levels) + 1
    slot = np.where(index < 0, width - 1, index)  # (n,) the unknown slot is last
    if sparse:
        import scipy.sparse as sp

        return sp.csr_matrix((np.ones(n), (np.arange(n), slot)), shape=(n, width))
    block = np.zeros((n, width))
    block[np.arange(n), slot] = 1.0
    return block
