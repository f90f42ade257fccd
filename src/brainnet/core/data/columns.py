"""Feature columns of text: numbers, or categories (a column of names) stored as indices into their values.

A reader hands every feature column here when NumPy could not parse the whole block as numbers. A column whose
cells are numbers (or missing) is numeric; a column that is mostly text is **categorical**: X holds the index of
each cell's value in the column's sorted values (``Dataset.levels``), NaN for missing. A column of numbers with
a few text cells is a typo, not a category: that is an error naming the first bad cell.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from brainnet.core.errors import UserInputError

MISSING_TOKENS = ("", "?", "na", "nan", "null")  # compared lower-cased and stripped
# two-valued text columns that are one 0/1 feature (negative, positive), compared lower-cased
BOOLEAN_PAIRS = (("no", "yes"), ("false", "true"), ("n", "y"), ("f", "t"))


def parse_columns(
    cells: np.ndarray, names: list[str], where: Callable[[int], str]
) -> tuple[np.ndarray, dict[str, list[str]]]:
    """(n, d) text cells -> (X (n, d) float64, levels of the categorical columns).

    Args:
        cells: (n, d) strings.
        names: the d column names, for messages and ``levels``' keys.
        where: row index -> its place in the file, for messages ("data row 3 (line 4)").

    Raises:
        UserInputError: a numeric column with a text cell (named by column, row and value).
    """
    try:
        return cells.astype(np.float64), {}  # fast path: the whole block at once
    except ValueError:
        pass
    X = np.empty(cells.shape, dtype=np.float64)
    levels: dict[str, list[str]] = {}
    for j, name in enumerate(names):
        X[:, j], values = parse_column(cells[:, j], name, where)
        if values is not None:
            levels[name] = values
    return X, levels


def parse_column(
    col: np.ndarray, name: str, where: Callable[[int], str]
) -> tuple[np.ndarray, list[str] | None]:
    """(n,) text cells -> ((n,) float64 numbers or category indices, the categories or None if numeric)."""
    try:
        return col.astype(np.float64), None
    except ValueError:
        pass
    stripped = np.char.strip(col.astype(str))
    missing = np.isin(np.char.lower(stripped), MISSING_TOKENS)
    try:
        return np.where(missing, "nan", col).astype(np.float64), None
    except ValueError:
        pass
    values, codes, counts = np.unique(stripped[~missing], return_inverse=True, return_counts=True)
    numeric = np.array([_is_number(v) for v in values], dtype=bool)  # (k,) per distinct value
    if counts[numeric].sum() >= 0.5 * counts.sum():  # numbers with a typo: say where
        i = next(i for i, v in enumerate(stripped) if not missing[i] and not _is_number(v))
        raise UserInputError(
            f"feature column {name!r} holds a non-numeric value {str(col[i])!r} at {where(i)} among "
            f"numbers; fix that cell (empty, '?', 'NA' or 'NaN' mean missing). A column that is "
            "mostly text is read as categorical; this one is mostly numbers."
        )
    X = np.full(len(col), np.nan)
    X[~missing] = codes
    return X, [str(v) for v in values]


def boolean_pair(levels: list[str]) -> tuple[str, str] | None:
    """(negative, positive) when ``levels`` are a yes/no-like pair (any case), or one value of such a pair
    (a column that is "NO" on every training row), else None."""
    if len(levels) == 1:
        for pair in BOOLEAN_PAIRS:
            if levels[0].lower() in pair:
                return pair if levels[0].islower() else (pair[0].upper(), pair[1].upper())
        return None
    if len(levels) != 2:
        return None
    lower = sorted(v.lower() for v in levels)
    for pair in BOOLEAN_PAIRS:
        if lower == sorted(pair):
            by_lower = {v.lower(): v for v in levels}
            return by_lower[pair[0]], by_lower[pair[1]]
    return None


def number_text(x: float) -> str:
    """How a number reads as a category: 3.0 -> "3", 2.5 -> "2.5"."""
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True
