"""Read multi-label tables (CSV/TSV, optionally gzipped, and MULAN/MEKA ARFF) into a ``Dataset``.

One entry point, ``read_table``. CSV values are parsed with NumPy in one go; only when that fails does
the reader walk the columns to say which cell is wrong. Every problem the user can fix raises
``UserInputError`` with what was expected, what came and how to fix it.
"""

from __future__ import annotations

import csv
import dataclasses
import difflib
import io
import re
import warnings
from collections import Counter
from functools import cached_property
from operator import itemgetter
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import arff
import numpy as np

from brainnet.core.data.columns import MISSING_TOKENS, number_text, parse_columns
from brainnet.core.data.dataset import Dataset
from brainnet.core.data.labels import (
    LabelSpec,
    check_header,
    check_row_lengths,
    is_number,
    parse_binary_labels,
    parse_delimited_labels,
    read_rows,
    read_text,
    sniff_delimiter,
)
from brainnet.core.data.sparse import SPARSE_MAX_DENSITY, is_sparse, to_csr, worth_sparse
from brainnet.core.errors import UserInputError

__all__ = ["MISSING_TOKENS", "check_finite", "read_table"]
CHUNK_BYTES = (
    8 * 2**20
)  # a CSV at least this large is parsed a chunk of rows at a time (sparse_numbers)
CHUNK_CELLS = 1_000_000  # cells per chunk: 8 MB of float64
_NUMERIC_ARFF_TYPES = ("NUMERIC", "REAL", "INTEGER")
_MEKA_C = re.compile(r"(?:^|\s)-C\s+(-?\d+)")
_NO_SPEC = LabelSpec()
_LABEL_HELP = (
    "--labels a,b,c (label column names), --label-columns N (the last N columns are labels), "
    "or --label-column NAME --delimiter \";\" (one column holding label names separated by ';')"
)
_ARFF_LABEL_HELP = (
    "--label-columns N (the last N attributes), --xml FILE (a MULAN label XML), --labels a,b,c, "
    "or a MEKA header such as @relation 'name: -C -14' (-C N: first N attributes, -C -N: last N)"
)


def read_table(
    source: str | Path,
    spec: LabelSpec = _NO_SPEC,
    *,
    split: str = "train",
    known_features: list[str] | None = None,
    known_labels: list[str] | None = None,
    require_labels: bool = True,
    sparse: bool | None = None,
) -> Dataset:
    """Read a built-in dataset or a CSV/TSV/ARFF file into features and multi-hot labels.

    The format follows the file name: ``.csv``, ``.csv.gz`` -> comma separated; ``.tsv`` (``.gz``) ->
    tab separated; ``.arff`` (``.gz``) -> ARFF; anything else is tried as CSV. A CSV header without the
    expected separator but with tabs or semicolons is read with that separator instead (and a note).

    Labels in a CSV come from exactly one of ``spec.labels`` (names, Y in that order),
    ``spec.label_columns`` (the last N columns) or ``spec.label_column`` (one column of names split on
    ``spec.delimiter``; labels are the sorted unique names, or ``known_labels``). In an ARFF file they
    come from ``spec.label_columns``, ``spec.labels``, ``spec.xml`` (MULAN label XML; Y keeps the ARFF
    attribute order, not the XML's) or, with no option, the MEKA ``-C N`` in the ``@relation`` name
    (N > 0: the first N attributes, N < 0: the last -N). Without any option, ``known_labels`` (the
    labels of a saved model) name the label columns.

    Args:
        source: a built-in dataset name (``"yeast"``; it wins over a directory of that name, not over
            a file) or a path to a file.
        spec: how to find the labels (the CLI's reading options); default: no option given.
        split: ``"train"`` or ``"test"``; used only for built-in datasets.
        known_features: feature names a saved model expects; those columns are taken by name, in this
            order, wherever they are in the file; other non-label columns are ignored.
        known_labels: label names a saved model predicts; Y is returned in this order.
        require_labels: when False, a file without any of the label columns reads with ``Y=None``
            (prediction input).
        sparse: X as a ``scipy.sparse.csr_matrix`` (True), an ndarray (False), or (None) sparse when the
            features are large and mostly zeros (``sparse.worth_sparse``; a sparse ARFF file is never made
            dense whole on the way).

    Feature columns: numbers stay numbers; a CSV column that is mostly text, and an ARFF nominal attribute
    (but a two-valued numeric one such as ``{0,1}``, which is a number), are categorical: X holds the index of
    the value in ``Dataset.levels[column]`` (CSV: the sorted values in the file; ARFF: the declared values),
    and the estimator's recipe encodes them (``core/data/encoding.py``).

    Returns:
        Dataset with X (n, d) float64 (NaN = missing) or CSR, Y (n, L) uint8 or None, the column names,
        the categorical columns' ``levels``, ``name`` ("yeast (train)" or the path) and reading notes.

    Raises:
        UserInputError: unreadable file, bad option, missing column, a text cell among numbers, label not 0/1...
    """
    if isinstance(source, str) and _is_builtin(source):
        if not spec.is_empty():
            raise UserInputError(
                f"the built-in dataset {source!r} comes with its labels; received label options "
                f"{_given_options(spec)}. Drop them, or pass the path of your own file."
            )
        from brainnet.core.data import (
            builtin_tables as datasets,
        )  # lazy: datasets imports this module

        return datasets.load_builtin(
            source, split, known_features=known_features, known_labels=known_labels
        )
    path = Path(source)
    _check_path(path)
    if known_labels is not None and not known_labels:
        raise UserInputError("known_labels is empty; expected the label names of the model.")
    reader = _read_arff if _is_arff(path) else _read_csv
    data = reader(path, spec, known_features, known_labels, require_labels)
    return _storage(data, sparse)


def _storage(data: Dataset, sparse: bool | None) -> Dataset:
    """``data`` with X sparse or dense as asked (None: sparse when large and mostly zeros)."""
    want = worth_sparse(data.X) if sparse is None else sparse
    if want == is_sparse(data.X):
        return data
    X = to_csr(data.X) if want else data.dense_X()
    return dataclasses.replace(data, X=X)


# ----------------------------------------------------------------------------- paths and text


def _is_builtin(source: str) -> bool:
    from brainnet.core.data import builtin_tables as datasets  # lazy: datasets imports this module

    return source in datasets.DATASETS and not Path(source).is_file()


def _is_arff(path: Path) -> bool:
    return path.name.lower().endswith((".arff", ".arff.gz"))


def _check_path(path: Path) -> None:
    if path.is_dir():
        raise UserInputError(
            f"{path} is a directory; expected a .csv, .csv.gz, .tsv or .arff file. "
            "Pass the path of a file inside it."
        )
    if path.exists():
        return
    from brainnet.core.data import builtin_tables as datasets  # lazy: datasets imports this module

    message = f"file not found: {path}."
    names = datasets.builtin_names()
    if len(path.parts) == 1:  # a bare name: perhaps a mistyped built-in
        stem = path.name.split(".", 1)[0].lower()
        close = difflib.get_close_matches(stem, names, n=1, cutoff=0.6)
        if close or not path.suffix:
            hint = f" Did you mean the built-in dataset {close[0]!r}?" if close else ""
            message += f"{hint} Built-in datasets: {', '.join(names)}."
    raise UserInputError(message + " Check the path, or pass a built-in dataset name.")


def _columns_text(columns: list[str], limit: int = 12) -> str:
    shown = ", ".join(columns[:limit])
    return shown + (f", ... ({len(columns) - limit} more)" if len(columns) > limit else "")


def _given_options(spec: LabelSpec) -> str:
    flags = {
        "--labels": spec.labels,
        "--label-columns": spec.label_columns,
        "--label-column": spec.label_column,
        "--xml": spec.xml,
    }
    return " and ".join(flag for flag, value in flags.items() if value is not None)


# ----------------------------------------------------------------------------- CSV


def _read_csv(path, spec, known_features, known_labels, require_labels) -> Dataset:
    if spec.xml is not None and known_labels is not None:
        spec = (
            LabelSpec()
        )  # a model read from ARFF + XML scores the CSV of the same data by label name
    if spec.xml is not None:
        raise UserInputError(
            f"--xml names the labels of an ARFF file; {path} is read as CSV. "
            "For a CSV pass --labels a,b,c or --label-columns N instead."
        )
    _check_one_option(spec)
    text, notes = read_text(path)
    table = _CsvText(text, path, notes)
    header, delimited = table.header, spec.label_column is not None
    if delimited:
        Y, label_names, label_idx = _delimited_labels(table, spec, known_labels, require_labels)
    else:
        label_idx = _select_labels(header, spec, known_labels, require_labels, path)
        label_names = [header[i] for i in label_idx] if label_idx else []
    feat_idx = _select_features(header, label_idx or [], known_features, path, notes)
    feature_names = [header[i] for i in feat_idx]
    numeric = feat_idx if delimited else feat_idx + (label_idx or [])
    d, levels = len(feat_idx), {}
    chunked = table.sparse_numbers(feat_idx, label_idx or []) if not delimited else None
    block = None if chunked else table.numbers(numeric, whole_table=not delimited)  # (n, d + L)
    if chunked is not None:  # a large file, read as CSR a chunk of rows at a time
        X, Y = chunked
        Y = Y if label_idx else None
    elif block is not None and np.isin(block[:, d:], (0.0, 1.0)).all():
        X = np.ascontiguousarray(block[:, :d])
        if not delimited:
            Y = block[:, d:].astype(np.uint8) if label_idx else None
    else:  # slow path: categorical columns, or a bad cell to name
        X, levels = parse_columns(_take(table.rows, feat_idx), feature_names, table.where)
        if not delimited:
            cells = _take(table.rows, label_idx) if label_idx else None
            Y = parse_binary_labels(cells, label_names, table.where) if label_idx else None
    infinite = np.argwhere(np.isinf(X.toarray() if is_sparse(X) else X))
    if infinite.size:
        i, j = infinite[0]
        cell = table.rows[i][feat_idx[j]].strip()
        _raise_not_finite(feature_names[j], cell, f"{table.where(i)} of {path}")
    return _finish(X, Y, feature_names, label_names, known_labels, path, notes, levels)


class _CsvText:
    """A CSV file's text and header; the rows are split by the csv module only when needed.

    Args:
        text: the whole file.
        path: for messages.
        notes: reading notes to append to.
    """

    def __init__(self, text: str, path: Path, notes: list[str]) -> None:
        self.text, self.path = text, path
        self.delimiter = sniff_delimiter(text, path, notes)
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=self.delimiter)
        try:
            header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        except csv.Error as err:
            raise UserInputError(f"cannot parse the header of {path} as CSV: {err}.") from None
        if header is None:
            raise UserInputError(f"{path} has no column names; expected a header row first.")
        self.header, self.skip = [name.strip() for name in header], reader.line_num
        check_header(self.header, path)
        if not "".join(text.split("\n", self.skip)[self.skip :]).strip():
            raise UserInputError(
                f"{path} has a header but no data rows; expected a header row and at least "
                "2 data rows."
            )

    def numbers(self, usecols: list[int], whole_table: bool) -> np.ndarray | None:
        """Fast path: columns ``usecols`` parsed by NumPy at once; None when anything is off.

        ``whole_table`` parses every column so that rows of a different length fail here.
        """
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # "empty input" for a header-only file
                block = np.loadtxt(
                    io.StringIO(self.text, newline=""),
                    delimiter=self.delimiter,
                    quotechar='"',
                    comments=None,
                    skiprows=self.skip,
                    usecols=None if whole_table else usecols,
                    ndmin=2,
                    dtype=np.float64,
                )
        except ValueError:
            return None
        if block.shape[0] < 2 or not whole_table and block.shape[0] != len(self.rows):
            return None
        if whole_table:
            if block.shape[1] != len(self.header):
                return None
            block = block[:, usecols]
        return block

    def sparse_numbers(self, feat: list[int], labels: list[int]) -> tuple[Any, np.ndarray] | None:
        """A large file of numbers with 0/1 labels, parsed ``CHUNK_CELLS`` cells at a time into a CSR matrix of
        the features and (n, L) uint8 labels, so that a wide, mostly-zero table is never dense whole; None for
        a small or mostly non-zero file, or when anything is off (the whole-table path then decides)."""
        if len(self.text) < CHUNK_BYTES:
            return None
        lines = self.text.split("\n")[self.skip :]
        step = max(64, CHUNK_CELLS // len(self.header))
        X_parts, Y_parts = [], []
        for start in range(0, len(lines), step):
            chunk = [line for line in lines[start : start + step] if line.strip()]
            if not chunk:
                continue
            # the first chunk decides: mostly non-zero, the dense path is as small. Read an eighth at a
            # time, it stops once the non-zeros pass that share, so a dense file is not parsed twice
            limit = None if X_parts else SPARSE_MAX_DENSITY * len(chunk) * len(feat)
            block = self._chunk_numbers(chunk, feat, labels, limit)
            if block is None:
                return None
            X_parts.append(to_csr(block[:, feat]))
            Y_parts.append(block[:, labels].astype(np.uint8))
        if sum(part.shape[0] for part in X_parts) < 2:
            return None
        import scipy.sparse as sp

        return sp.vstack(X_parts, format="csr"), np.vstack(Y_parts)

    def _chunk_numbers(
        self, chunk: list[str], feat: list[int], labels: list[int], limit: float | None
    ) -> np.ndarray | None:
        """The lines ``chunk`` as one (rows, columns) block; None when a line is not numbers, a row's length
        is not the header's, a label is not 0/1, or (``limit`` given) the features hold more non-zeros."""
        piece = len(chunk) if limit is None else max(64, len(chunk) // 8)
        parts, nnz = [], 0
        for start in range(0, len(chunk), piece):
            try:
                block = np.loadtxt(chunk[start : start + piece], delimiter=self.delimiter,
                                   quotechar='"', comments=None, ndmin=2, dtype=np.float64)  # fmt: skip
            except ValueError:
                return None
            if block.shape[1] != len(self.header) or not np.isin(block[:, labels], (0, 1)).all():
                return None
            parts.append(block)
            nnz += np.count_nonzero(block[:, feat])
            if limit is not None and nnz > limit:
                return None
        return parts[0] if len(parts) == 1 else np.vstack(parts)

    @cached_property
    def _rows_and_lines(self) -> tuple[list[list[str]], list[int]]:
        rows, lines = read_rows(self.text, self.path, self.delimiter)
        rows, lines = rows[1:], lines[1:]  # drop the header
        if len(rows) < 2:
            raise UserInputError(
                f"{self.path} has {len(rows)} data row(s); expected a header row and at least 2 "
                "data rows."
            )
        check_row_lengths(len(self.header), rows, lines, self.path)
        return rows, lines

    @property
    def rows(self) -> list[list[str]]:
        """Data rows as lists of cells, each with one cell per header column."""
        return self._rows_and_lines[0]

    def where(self, i: int) -> str:
        return f"data row {i + 1} (line {self._rows_and_lines[1][i]})"


def _take(rows: list, idx: list[int]) -> np.ndarray:
    """The cells of columns ``idx`` as an (n, len(idx)) string array."""
    if len(idx) == 1:
        i = idx[0]
        return np.array([[row[i]] for row in rows], dtype=str)
    get = itemgetter(*idx)
    return np.array([get(row) for row in rows], dtype=str)


def _delimited_labels(table: _CsvText, spec: LabelSpec, known_labels, require_labels):
    """One column of delimited label names -> (Y (n, L) uint8 or None, names, [column index])."""
    header, path = table.header, table.path
    if spec.label_column not in header:
        if not require_labels:
            return None, list(known_labels or []), None
        _raise_unknown_columns([spec.label_column], header, path, "--label-column")
    j = header.index(spec.label_column)
    Y, names = parse_delimited_labels(
        [row[j] for row in table.rows],
        spec.delimiter,
        column=spec.label_column,
        path=path,
        where=table.where,
        vocabulary=known_labels,
        vocabulary_name="the model's labels",
    )
    return Y, names, [j]


# ----------------------------------------------------------------------------- columns


def _check_one_option(spec: LabelSpec) -> None:
    given = _given_options(spec)
    if " and " in given:
        raise UserInputError(
            f"pass only one way to find the labels; received {given}. Keep one of them."
        )


def _select_labels(columns, spec, known_labels, require_labels, path, relation=None):
    """Indices of the label columns (file order unless given by names), or None for no labels."""
    _check_one_option(spec)
    if spec.label_columns is not None:
        return _last_n(columns, spec.label_columns, path)
    if spec.labels is not None:
        return _by_names(columns, list(spec.labels), require_labels, path, "--labels")
    if spec.label_column is not None:
        raise UserInputError(
            f"--label-column reads a CSV column of label names; {path} is ARFF. "
            f"Find its labels with {_ARFF_LABEL_HELP}."
        )
    if spec.xml is not None:
        names = _xml_label_names(Path(spec.xml))
        found = _by_names(columns, names, require_labels, path, f"the XML {spec.xml}")
        return sorted(found) if found is not None else None  # ARFF attribute order
    if known_labels is not None:
        return _by_names(columns, list(known_labels), require_labels, path, "the model's labels")
    if relation is not None and _MEKA_C.search(relation):
        return _meka_labels(columns, int(_MEKA_C.search(relation).group(1)), relation, path)
    if not require_labels:
        return None
    options = _LABEL_HELP if relation is None else _ARFF_LABEL_HELP
    xmls = sorted(path.parent.glob("*.xml"))[:3] if relation is not None else []
    found = f" Label XML files next to it: {', '.join(map(str, xmls))}." if xmls else ""
    raise UserInputError(
        f"which columns of {path} are the labels? Pass one of {options}.{found} "
        f"Columns: {_columns_text(columns)}."
    )


def _last_n(columns: list[str], n, path: Path) -> list[int]:
    n_cols = len(columns)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= n_cols - 1:
        raise UserInputError(
            f"--label-columns must be in 1..{n_cols - 1} for {path} ({n_cols} columns: at least "
            f"one must stay a feature); received {n!r}."
        )
    return list(range(n_cols - n, n_cols))


def _meka_labels(columns: list[str], n: int, relation: str, path: Path) -> list[int]:
    if n == 0 or abs(n) >= len(columns):
        raise UserInputError(
            f"the @relation of {path} ({relation!r}) says -C {n}; expected -C N (first N "
            f"attributes) or -C -N (last N) with 1 <= N <= {len(columns) - 1}. "
            "Fix the header or pass --label-columns N."
        )
    return list(range(n)) if n > 0 else list(range(len(columns) + n, len(columns)))


def _by_names(columns, names, require_labels, path, source):
    if not names:
        raise UserInputError(f"no label names given by {source}; expected at least one label.")
    repeated = [name for name, count in Counter(names).items() if count > 1]
    if repeated:
        raise UserInputError(f"{source} names a label twice: {', '.join(repeated)}.")
    position = {name: i for i, name in enumerate(columns)}
    missing = [name for name in names if name not in position]
    if not missing:
        return [position[name] for name in names]
    if len(missing) == len(names) and not require_labels:
        return None
    _raise_unknown_columns(missing, columns, path, source)


def _raise_unknown_columns(missing, columns, path, source) -> None:
    hints = []
    lower = {column.lower(): column for column in columns}
    for name in missing[:3]:
        close = [lower[name.lower()]] if name.lower() in lower else []
        close = close or difflib.get_close_matches(name, columns, n=1)
        if close:
            hints.append(f"{close[0]!r} for {name!r}")
    hint = f" Did you mean {', '.join(hints)}?" if hints else ""
    more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
    raise UserInputError(
        f"label column(s) from {source} not found in {path}: "
        f"{', '.join(map(repr, missing[:10]))}{more}. Available columns: "
        f"{_columns_text(columns)}.{hint}"
    )


def _select_features(columns, label_idx, known_features, path, notes) -> list[int]:
    is_label = set(label_idx)
    free = [i for i in range(len(columns)) if i not in is_label]
    if known_features is not None:
        position = {columns[i]: i for i in free}
        missing = [name for name in known_features if name not in position]
        if missing:
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            raise UserInputError(
                f"{len(missing)} feature column(s) the model needs are missing from {path}: "
                f"{', '.join(map(repr, missing[:10]))}{more}. The file has: "
                f"{_columns_text([columns[i] for i in free], 8)}. Pass a file with the "
                "training data's feature columns (any order; extra columns are ignored)."
            )
        ignored = len(free) - len(known_features)
        if ignored:
            notes.append(f"ignored {ignored} column(s) the model does not use")
        free = [position[name] for name in known_features]
    if not free:
        raise UserInputError(
            f"no feature columns in {path}: all {len(columns)} columns are labels; expected at "
            "least one feature column. Check which columns you named as labels."
        )
    return free


def _xml_label_names(xml: Path) -> list[str]:
    """Label names of a MULAN label XML (``<label name=...>``, nested ones included)."""
    if not xml.is_file():
        raise UserInputError(f"label XML file not found: {xml}. Pass the MULAN .xml of the data.")
    try:
        root = ElementTree.parse(xml).getroot()
    except ElementTree.ParseError as err:
        raise UserInputError(f"cannot parse the label XML {xml}: {err}.") from None
    names = [el.get("name") for el in root.iter() if el.tag.rsplit("}", 1)[-1] == "label"]
    names = [name for name in names if name]
    if not names:
        raise UserInputError(
            f'the label XML {xml} has no <label name="..."> elements; expected a MULAN label file.'
        )
    return names


# ----------------------------------------------------------------------------- ARFF


def _read_arff(path, spec, known_features, known_labels, require_labels) -> Dataset:
    """Dense or sparse (``{index value, ...}`` rows) ARFF; sparse rows are read as a CSR matrix directly."""
    text, notes = read_text(path)
    sparse_rows = _has_sparse_rows(text)
    try:
        table = arff.loads(
            text, encode_nominal=True, return_type=arff.COO if sparse_rows else arff.DENSE
        )
    except arff.ArffException as err:
        raise UserInputError(
            f"cannot read the ARFF file {path}: {err} Fix that line "
            "(every data row needs one value per @attribute, in one layout: all dense or all "
            "{index value} rows)."
        ) from None
    attributes = table["attributes"]
    columns = [name for name, _ in attributes]
    n = _count_rows(text) if sparse_rows else len(table["data"])
    if n < 2:
        raise UserInputError(f"{path} has {n} data row(s); expected at least 2.")
    label_idx = _select_labels(
        columns, spec, known_labels, require_labels, path, relation=table["relation"]
    )
    feat_idx = _select_features(columns, label_idx or [], known_features, path, notes)
    kinds = [_attribute_kind(attributes[i], path) for i in range(len(columns))]
    if sparse_rows:
        X, Y = _sparse_arff(table["data"], n, kinds, feat_idx, label_idx, columns, path)
    else:
        X, Y = _dense_arff(table["data"], kinds, feat_idx, label_idx, columns)
    feature_names = [columns[i] for i in feat_idx]
    values = X.data if is_sparse(X) else X
    if np.isinf(values).any():
        check_finite(X.toarray() if is_sparse(X) else X, feature_names, str(path), rows="data row")
    levels = {columns[i]: kinds[i][1] for i in feat_idx if kinds[i][0] == "categorical"}
    label_names = [columns[i] for i in label_idx] if label_idx else []
    return _finish(X, Y, feature_names, label_names, known_labels, path, notes, levels)


def _has_sparse_rows(text: str) -> bool:
    """Whether the first data row after @data is in ``{index value}`` form."""
    match = re.search(r"^\s*@data\s*$", text, flags=re.IGNORECASE | re.MULTILINE)
    if match is None:
        return False
    for line in text[match.end() :].splitlines():
        line = line.strip()
        if line and not line.startswith("%"):
            return line.startswith("{")
    return False


def _count_rows(text: str) -> int:
    match = re.search(r"^\s*@data\s*$", text, flags=re.IGNORECASE | re.MULTILINE)
    assert match is not None
    lines = (line.strip() for line in text[match.end() :].splitlines())
    return sum(1 for line in lines if line and not line.startswith("%"))


def _attribute_kind(attribute, path: Path) -> tuple[str, Any]:
    """("numeric", None), ("nominal_number", values as floats by declared index) for a two-valued numeric
    nominal such as {0,1}, ("categorical", declared values) for other nominal attributes, or ("string", None)."""
    name, kind = attribute
    if isinstance(kind, list):
        if len(kind) <= 2 and all(is_number(value) for value in kind):
            return "nominal_number", np.array([float(v) for v in kind])
        return "categorical", [str(v) for v in kind]
    if isinstance(kind, str) and kind.upper() in _NUMERIC_ARFF_TYPES:
        return "numeric", None
    if isinstance(kind, str) and kind.upper() == "STRING":
        return "string", None
    raise UserInputError(
        f"ARFF attribute {name!r} in {path} is {kind}; features must be numeric, nominal or string. "
        "Drop that attribute or convert it."
    )


def _dense_arff(rows, kinds, feat_idx, label_idx, columns):
    """Dense rows (nominal values as their declared index) -> (X (n, d) float64, Y (n, L) uint8 or None)."""
    cells = np.array(rows, dtype=object)  # (n, n_attributes)
    X = np.empty((len(rows), len(feat_idx)))
    for k, i in enumerate(feat_idx):
        X[:, k], kinds[i] = _attribute_values(cells[:, i], kinds[i])
    Y = None
    if label_idx:
        texts = np.empty((len(rows), len(label_idx)), dtype=object)
        for k, i in enumerate(label_idx):
            texts[:, k] = _label_texts(cells[:, i], kinds[i])
        names = [columns[i] for i in label_idx]
        Y = parse_binary_labels(texts.astype(str), names, lambda r: f"data row {r + 1}")
    return X, Y


def _attribute_values(col: np.ndarray, kind) -> tuple[np.ndarray, tuple[str, Any]]:
    """(n,) decoded ARFF values of one attribute -> ((n,) float64 (NaN missing; categories as indices), its
    kind: a string attribute becomes categorical over the values in the file)."""
    missing = np.array([v is None for v in col], dtype=bool)
    out = np.full(len(col), np.nan)
    present = col[~missing]
    if kind[0] == "nominal_number":
        out[~missing] = kind[1][present.astype(np.int64)]
    elif kind[0] == "string":  # free text: categorical over the values in the file
        values, codes = np.unique(present.astype(str), return_inverse=True)
        out[~missing] = codes
        return out, ("categorical", [str(v) for v in values])
    else:
        out[~missing] = present.astype(np.float64)
    return out, kind


def _label_texts(col: np.ndarray, kind) -> np.ndarray:
    """Label cells as text for ``parse_binary_labels`` ("" for missing; nominal by their declared value)."""
    if kind[0] == "nominal_number":
        return np.array(
            ["" if v is None else number_text(kind[1][int(v)]) for v in col], dtype=object
        )
    if kind[0] == "categorical":
        return np.array(["" if v is None else kind[1][int(v)] for v in col], dtype=object)
    return np.array(["" if v is None else str(v) for v in col], dtype=object)


def _sparse_arff(coo, n, kinds, feat_idx, label_idx, columns, path):
    """``{index value}`` rows (liac-arff COO) -> (X CSR (n, d) float64, Y (n, L) uint8 or None).

    An omitted entry is the attribute's first declared value (0 for numeric attributes): stored as 0 (the
    index of that value for categorical attributes, the number for {0,1}), so the matrix stays sparse.
    """
    values, rows, cols = coo
    rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
    values = np.asarray(values, dtype=object)
    missing = np.array([v is None for v in values], dtype=bool)
    numbers = np.full(len(values), np.nan)
    for i in np.unique(cols):
        here = (cols == i) & ~missing
        kind = kinds[i]
        if kind[0] == "string":
            raise UserInputError(
                f"ARFF attribute {columns[i]!r} in {path} is a string in sparse rows; expected numeric "
                "or nominal attributes in a sparse ARFF file. Drop it or use dense rows."
            )
        raw = values[here]
        numbers[here] = (
            kind[1][raw.astype(np.int64)] if kind[0] == "nominal_number" else raw.astype(np.float64)
        )
    X = _sparse_columns(numbers, rows, cols, n, feat_idx, kinds, columns)
    Y = None
    if label_idx:
        Y = _sparse_columns(numbers, rows, cols, n, label_idx, kinds, columns).toarray()
        bad = np.argwhere(~np.isin(Y, (0.0, 1.0)))
        if bad.size:
            r, k = bad[0]
            shown = "missing (?)" if np.isnan(Y[r, k]) else f"{Y[r, k]:g}"
            raise UserInputError(
                f"label column {columns[label_idx[k]]!r} holds {shown} at data row {r + 1} of {path}; "
                "labels must be 0 or 1. Fix the cell, or check which columns are labels."
            )
        Y = Y.astype(np.uint8)
    return X, Y


def _sparse_columns(numbers, rows, cols, n, take, kinds, columns):
    """The attributes ``take`` of COO entries as an (n, len(take)) CSR matrix, omitted entries filled with
    each attribute's first declared value (left implicit when that is 0)."""
    import scipy.sparse as sp

    position = np.full(len(columns), -1, dtype=np.int64)
    position[take] = np.arange(len(take))
    keep = position[cols] >= 0
    r, c, v = rows[keep], position[cols[keep]], numbers[keep]
    fills = []
    for k, i in enumerate(take):
        first = kinds[i][1][0] if kinds[i][0] == "nominal_number" else 0.0
        if first != 0.0:  # e.g. {1,0}: an omitted entry is 1
            given = np.zeros(n, dtype=bool)
            given[r[c == k]] = True
            absent = np.flatnonzero(~given)
            fills.append((absent, np.full(len(absent), k), np.full(len(absent), first)))
    if fills:
        r = np.concatenate([r, *(f[0] for f in fills)])
        c = np.concatenate([c, *(f[1] for f in fills)])
        v = np.concatenate([v, *(f[2] for f in fills)])
    return sp.csr_matrix((v, (r, c)), shape=(n, len(take)), dtype=np.float64)


# ----------------------------------------------------------------------------- result


def _finish(X, Y, feature_names, label_names, known_labels, path, notes, levels=None) -> Dataset:
    if Y is None:
        label_names = list(known_labels or [])
        notes.append("no label columns found: read the features only")
    elif known_labels is not None and label_names != list(known_labels):
        extra = sorted(set(label_names) - set(known_labels))
        absent = sorted(set(known_labels) - set(label_names))
        if extra or absent:
            raise UserInputError(
                f"the labels of {path} differ from the model's: not in the file: "
                f"{_columns_text(absent) or '-'}; not in the model: {_columns_text(extra) or '-'}. "
                "Pass a file with the model's label columns."
            )
        order = [label_names.index(name) for name in known_labels]
        Y, label_names = Y[:, order], list(known_labels)
    note = _missing_note(X, feature_names)
    if note:
        notes.append(note)
    if levels:
        shown = ", ".join(f"{name} ({len(v)})" for name, v in list(levels.items())[:5])
        more = ", ..." if len(levels) > 5 else ""
        notes.append(f"{len(levels)} categorical (text) column(s): {shown}{more}")
    return Dataset(
        X,
        Y,
        list(feature_names),
        list(label_names),
        name=str(path),
        notes=notes,
        levels=levels or {},
    )


def _missing_note(X: Any, names: list[str]) -> str | None:
    if is_sparse(X):
        counts = np.bincount(X.tocoo().col[np.isnan(X.tocoo().data)], minlength=X.shape[1])
    else:
        counts = np.isnan(X).sum(axis=0)  # (d,)
    columns = np.flatnonzero(counts)
    if not columns.size:
        return None
    total = int(counts.sum())
    shown = ", ".join(f"{names[j]}: {counts[j]}" for j in columns[:5])
    more = ", ..." if columns.size > 5 else ""
    values = "value" if total == 1 else "values"
    cols = "column" if columns.size == 1 else "columns"
    return f"{total} missing feature {values} in {columns.size} {cols} ({shown}{more})"


def check_finite(
    X: np.ndarray, feature_names: list[str] | None, where: str, *, rows: str = "row"
) -> None:
    """Raise when a feature is infinite (inf, -inf); NaN is allowed (it marks a missing value).

    Args:
        X: (n, d) features.
        feature_names: the d column names, for the message (None: "column 0", "column 1"...).
        where: what X is, for the message: a file name, or "X passed to fit".
        rows: what a row is called in the message ("row", "data row").

    Raises:
        UserInputError: naming the first infinite cell's column and row, and ``where``.
    """
    X = np.asarray(X)
    if X.dtype.kind not in "fc":
        return  # integers cannot be infinite; other dtypes are the caller's to check
    infinite = np.argwhere(np.isinf(X.reshape(len(X), -1)))  # (k, 2) row, column
    if infinite.size:
        i, j = infinite[0]
        name = feature_names[j] if feature_names is not None else f"column {j}"
        shown = "inf" if X.reshape(len(X), -1)[i, j] > 0 else "-inf"
        _raise_not_finite(name, shown, f"{rows} {i + 1} of {where}")


def _raise_not_finite(name: str, shown: str, at: str) -> None:
    raise UserInputError(
        f"feature column {name!r} holds the infinite value {shown!r} at {at}; features must be "
        "finite numbers. Missing values may be left empty or NaN; replace the infinite value by "
        "a finite number or leave the cell empty."
    )
