"""Labels in files, written once for tables and image manifests: the text and rows of a CSV/TSV,
0/1 label columns, one column of delimited label names, and ``LabelSpec`` (the CLI's label options).

``read_table`` (``table.py``) and ``read_manifest`` (``images.py``) both read their rows and labels
here, so a file's labels mean the same thing, and fail with the same message, whichever reads it.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from brainnet.core.errors import UserInputError

TAB_EXTENSIONS = (".tsv", ".tsv.gz", ".tab")
_DELIMITERS = ("\t", ";", ",")


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


# ----------------------------------------------------------------------------- text and rows


def read_text(path: Path) -> tuple[str, list[str]]:
    """A whole file as text (gunzipped when it starts with the gzip magic) and reading notes.

    Raises:
        UserInputError: a broken gzip, a zip archive (an Excel workbook), an empty file.
    """
    raw = Path(path).read_bytes()
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise UserInputError(
                f"{path} looks gzipped but cannot be decompressed ({err}); re-create the file."
            ) from None
    if raw[:4] == b"PK\x03\x04":
        raise UserInputError(
            f"{path} is a zip archive (an Excel workbook?); expected plain text. Export it as CSV."
        )
    if not raw.strip():
        raise UserInputError(
            f"{path} is empty; expected a header row of column names followed by data rows."
        )
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        return raw.decode("latin-1"), [f"{path.name} is not UTF-8; read it as Latin-1"]


def sniff_delimiter(text: str, path: Path, notes: list[str]) -> str:
    """The column separator: tab for .tsv/.tab, else comma, unless the header holds only another of
    tab, ';' or ',' (then that one, with a note)."""
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if path.name.lower().endswith(TAB_EXTENSIONS) else ","
    if delimiter in first_line:
        return delimiter
    for other in _DELIMITERS:
        if other != delimiter and other in first_line:
            notes.append(f"columns are separated by {other!r}")
            return other
    return delimiter


def read_rows(text: str, path: Path, delimiter: str) -> tuple[list[list[str]], list[int]]:
    """Every non-blank row of a CSV text (the header first) and the line where each ends.

    Raises:
        UserInputError: a quoting error, naming the line.
    """
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    rows, lines = [], []
    try:
        for row in reader:
            if any(cell.strip() for cell in row):
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as err:
        raise UserInputError(
            f"cannot parse {path} as CSV at line {reader.line_num}: {err}. "
            "Check the quoting on that line."
        ) from None
    return rows, lines


def check_header(header: list[str], path: Path) -> None:
    """Raise when a column name is repeated."""
    duplicates = [name for name, count in Counter(header).items() if count > 1]
    if duplicates:
        raise UserInputError(
            f"duplicate column names in {path}: {', '.join(map(repr, duplicates[:10]))}; "
            "every column needs a unique name. Rename or drop the repeated columns."
        )


def check_row_lengths(n_cols: int, rows: list, lines: list[int], path: Path) -> None:
    """Raise at the first row without one cell per header column."""
    for row, line in zip(rows, lines, strict=True):
        if len(row) != n_cols:
            raise UserInputError(
                f"line {line} of {path} has {len(row)} cells; expected {n_cols}, one per header "
                "column. Fix that row (a stray or missing separator, or an unquoted value "
                "containing the separator)."
            )


def is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


# ----------------------------------------------------------------------------- labels


def multi_hot(sets: list[set[str]], names: list[str]) -> np.ndarray:
    """Label-name sets (every name in ``names``) -> (n, L) uint8 multi-hot rows in ``names``' order."""
    from sklearn.preprocessing import MultiLabelBinarizer

    return MultiLabelBinarizer(classes=list(names)).fit_transform(sets).astype(np.uint8)  # (n, L)


def parse_binary_labels(
    cells: np.ndarray, names: list[str], where: Callable[[int], str]
) -> np.ndarray:
    """One 0/1 column per label: (n, L) strings "0"/"1" (also "0.0"/"1.0") -> (n, L) uint8.

    Args:
        cells: (n, L) label cells as text.
        names: the L label column names, for messages.
        where: row index -> where it is, e.g. "data row 2 (line 3)".

    Raises:
        UserInputError: naming the column, the row and the value of the first cell not 0 or 1.
    """
    try:
        values = cells.astype(np.float64)  # (n, L)
        if np.isin(values, (0.0, 1.0)).all():
            return values.astype(np.uint8)
    except ValueError:
        pass
    for j, name in enumerate(names):
        for i, value in enumerate(cells[:, j]):
            if not is_number(value) or float(value) not in (0.0, 1.0):
                shown = "an empty cell" if not str(value).strip() else repr(str(value))
                raise UserInputError(
                    f"label column {name!r} must hold 0 or 1; received {shown} at {where(i)}. "
                    "Write 0/1 in every label cell (labels cannot be missing); for one column of "
                    "label names pass --label-column NAME --delimiter ';' (label_column=NAME)."
                )
    raise AssertionError("unreachable: a label cell failed to parse but none was found")


def parse_delimited_labels(
    cells: Sequence[str],
    delimiter: str,
    *,
    column: str,
    path: Path,
    where: Callable[[int], str],
    vocabulary: Sequence[str] | None = None,
    vocabulary_name: str = "labels=[...]",
) -> tuple[np.ndarray, list[str]]:
    """One column of label names separated by ``delimiter`` (``sea;sunset``; empty = no label).

    Args:
        cells: the n cells of the column.
        delimiter: the separator of names inside a cell.
        column, path: the column's name and file, for messages.
        where: row index -> where it is, e.g. "data row 2 (line 3) of m.csv".
        vocabulary: the label names in Y's order (a model's labels); default the sorted names found.
        vocabulary_name: what the vocabulary is, for messages ("the model's labels").

    Returns:
        Y (n, L) uint8 multi-hot and the L label names.

    Raises:
        UserInputError: an empty delimiter, names differing only in case, a name outside the
            vocabulary, or no name at all.
    """
    if not delimiter:
        raise UserInputError(
            "the delimiter is empty (--delimiter, delimiter=); pass the separator of label names, "
            'e.g. ";".'
        )
    sets = [{name.strip() for name in cell.split(delimiter) if name.strip()} for cell in cells]
    found = sorted(set().union(*sets))
    check_case_clash(found, f"column {column!r} of {path}")
    names = list(vocabulary) if vocabulary is not None else found
    unknown = [name for name in found if name not in set(names)]
    if unknown:
        i = next(i for i, s in enumerate(sets) if s & set(unknown))
        raise UserInputError(
            f"column {column!r} of {path} holds labels not in {vocabulary_name}: "
            f"{', '.join(unknown[:10])} (first at {where(i)}); expected only: "
            f"{', '.join(names[:20])}. Fix the file, or name those labels too."
        )
    if not names:
        raise UserInputError(
            f"column {column!r} of {path} has no label names (every cell is empty); "
            f"expected names separated by {delimiter!r}, e.g. 'sea{delimiter}sunset'."
        )
    return multi_hot(sets, names), names


def check_case_clash(names: list[str], where: str) -> None:
    """Label names that differ only in case ('Sea', 'sea') are almost always one label typed twice."""
    by_lower: dict[str, list[str]] = {}
    for name in names:
        by_lower.setdefault(name.lower(), []).append(name)
    clash = next((group for group in by_lower.values() if len(group) > 1), None)
    if clash:
        raise UserInputError(
            f"{where} mixes label names that differ only in case: {', '.join(map(repr, clash))}; "
            "spell each label one way."
        )
