"""Seeded train/validation splits that keep multi-label proportions (iterative stratification)."""

from __future__ import annotations

import numpy as np

from brainnet.core.errors import UserInputError


def multilabel_split(
    Y: np.ndarray, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Split rows so that label and label-pair proportions match in both parts.

    Uses iterative stratification of second order (Sechidis et al. 2011; Szymański & Kajdanowicz 2017) from the
    ``iterative-stratification`` package.

    Args:
        Y: (n, L) 0/1 labels.
        val_fraction: share of rows in the validation part, in (0, 1).
        seed: the same seed and Y give the same split.

    Returns:
        (train_idx, val_idx): sorted int64 row indices, disjoint, covering all rows.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedShuffleSplit

    Y = np.asarray(Y)
    n = Y.shape[0]
    n_val = round(n * val_fraction)
    if not 0 < val_fraction < 1 or n_val < 1 or n - n_val < 1:
        raise UserInputError(
            f"cannot split {n} rows with val_fraction={val_fraction}: both parts need at least one row. "
            "Use more data or pass a validation set explicitly."
        )
    splitter = MultilabelStratifiedShuffleSplit(n_splits=1, test_size=n_val, random_state=seed)
    train_idx, val_idx = next(splitter.split(np.zeros((n, 1)), Y))
    return np.sort(train_idx).astype(np.int64), np.sort(val_idx).astype(np.int64)


def random_split(n: int, val_fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A plain seeded random split, the baseline that stratification is measured against."""
    perm = np.random.default_rng(seed).permutation(n)
    n_val = round(n * val_fraction)
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def multilabel_kfold(Y: np.ndarray, k: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k multi-label stratified folds: a list of (train_idx, val_idx), each row in exactly one val_idx.

    Args:
        Y: (n, L) 0/1 labels.
        k: number of folds, 2 <= k <= n.
        seed: the same seed and Y give the same folds.
    """
    from iterstrat.ml_stratifiers import MultilabelStratifiedKFold

    Y = np.asarray(Y)
    if not 2 <= k <= Y.shape[0]:
        raise UserInputError(
            f"cannot make {k} folds of {Y.shape[0]} rows; use between 2 and {Y.shape[0]} folds."
        )
    folds = MultilabelStratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    return [
        (np.sort(tr).astype(np.int64), np.sort(va).astype(np.int64))
        for tr, va in folds.split(np.zeros((Y.shape[0], 1)), Y)
    ]
