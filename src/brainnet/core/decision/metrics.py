"""Multi-label evaluation metrics: set-based, label-ranking and per-label score-based. NumPy only.

Inputs, shared by every function:

- ``Y``: (n, L) true multi-hot labels, values in {0, 1} (bool, int or float).
- ``Yhat``: (n, L) predicted multi-hot labels, values in {0, 1}.
- ``S``: (n, L) finite real scores (probabilities); higher means more relevant.

Conventions (docs/METRICS.md has the full table):

- Set-based precision, recall, F1 and Jaccard follow scikit-learn with ``zero_division=1.0``: a
  0/0 ratio counts as 1, so an example with no true and no predicted label is perfectly right.
  F1 comes from counts, 2TP / (2TP + FP + FN), exactly as in scikit-learn.
- Label-ranking metrics are averaged over the examples where they are defined, as in the papers
  and MULAN: ``one_error``, ``coverage`` and ``average_precision`` skip examples with no relevant
  label; ``ranking_loss`` also skips examples whose labels are all relevant. scikit-learn counts
  such rows instead (1 for its LRAP, 0 for its ranking loss and coverage). nan when no example
  qualifies.
- Tied scores count pessimistically in every label-ranking metric: a label ranks below every
  label that scores at least as high. This is scikit-learn's rule in ``coverage_error``,
  ``label_ranking_loss`` and ``label_ranking_average_precision_score``; ``one_error`` follows it
  (a tie for the top with an irrelevant label is an error), so a constant scorer never looks good.
- Per-label metrics (``macro_auc``, ``mean_average_precision``) average over the labels where they
  are defined and equal scikit-learn's ``roc_auc_score`` (a tie counts one half) and
  ``average_precision_score`` (step-wise, not interpolated) label by label.

References:
    G. Tsoumakas, I. Katakis, I. Vlahavas. Mining Multi-label Data. In Data Mining and Knowledge
    Discovery Handbook, 2nd ed., Springer, 2010, pp. 667-685.
    M.-L. Zhang, Z.-H. Zhou. A review on multi-label learning algorithms. IEEE TKDE 26(8):1819-1837,
    2014.
    G. Madjarov, D. Kocev, D. Gjorgjevikj, S. Dzeroski. An extensive experimental comparison of
    methods for multi-label learning. Pattern Recognition 45(9):3084-3104, 2012.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from brainnet.core.errors import UserInputError
from brainnet.core.registry import Registry

METRIC_KEYS: tuple[str, ...] = (
    "hamming_loss",
    "subset_accuracy",
    "accuracy",
    "example_f1",
    "micro_f1",
    "macro_f1",
    "one_error",
    "coverage",
    "ranking_loss",
    "average_precision",
    "macro_auc",
    "mean_average_precision",
    "ece_micro",
    "ece_macro",
)
"""The metrics ``evaluate`` reports, in report order."""

LOWER_IS_BETTER: frozenset[str] = frozenset(
    {"hamming_loss", "one_error", "coverage", "ranking_loss", "ece_micro", "ece_macro"}
)
"""The keys of METRIC_KEYS where smaller is better; larger is better for the others."""


# --- Input validation ----------------------------------------------------------------------------


def _as_matrix(name: str, a: object) -> np.ndarray:
    """``a`` as a non-empty 2-D numeric array, or a UserInputError naming ``name``."""
    expected = f"{name} must be a 2-D array of shape (n_samples, n_labels)"
    try:
        a = np.asarray(a)
    except ValueError:  # a ragged nested sequence
        raise UserInputError(f"{expected}; received rows of different lengths.") from None
    if a.ndim != 2:
        hint = f" For a single label pass a column, {name}.reshape(-1, 1)." if a.ndim == 1 else ""
        raise UserInputError(f"{expected}; received an array of shape {a.shape}.{hint}")
    if a.dtype.kind not in "biuf":
        raise UserInputError(f"{name} must hold numbers; received an array of dtype {a.dtype}.")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise UserInputError(
            f"{name} must have at least one sample and one label; received shape {a.shape}."
        )
    return a


def _as_multi_hot(name: str, a: np.ndarray) -> np.ndarray:
    """``a`` as a bool matrix, after checking that every value is 0 or 1."""
    if a.dtype.kind != "b":
        bad = (a != 0) & (a != 1)
        if bad.any():
            examples = ", ".join(str(v) for v in np.unique(a[bad])[:5])
            raise UserInputError(
                f"{name} must contain only 0 and 1 (a multi-hot matrix); "
                f"received {int(bad.sum())} other value(s), such as {examples}."
            )
    return a.astype(bool)


def check_inputs(
    Y: object, *, Yhat: object = None, S: object = None
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Validate and convert the inputs of the metrics.

    Args:
        Y: (n, L) true labels, values in {0, 1}; n >= 1, L >= 1.
        Yhat: (n, L) predicted labels, values in {0, 1}, or None.
        S: (n, L) finite scores, or None.

    Returns:
        (Y, Yhat, S): Y and Yhat as (n, L) bool arrays, S as an (n, L) float64 array; None stays
        None.

    Raises:
        UserInputError: an input is not 2-D or is empty, the shapes differ, a label matrix holds a
            value other than 0 and 1, or S holds NaN or infinity. The message says what was
            expected and what was received.
    """
    Y = _as_matrix("Y", Y)
    others = {"Yhat": Yhat, "S": S}
    for name, a in list(others.items()):
        if a is None:
            continue
        a = others[name] = _as_matrix(name, a)
        if a.shape != Y.shape:
            raise UserInputError(
                f"Y and {name} must have the same shape (n_samples, n_labels); "
                f"received {Y.shape} and {a.shape}."
            )
    Y = _as_multi_hot("Y", Y)
    Yhat = None if others["Yhat"] is None else _as_multi_hot("Yhat", others["Yhat"])
    S = None if others["S"] is None else others["S"].astype(np.float64)
    if S is not None and not np.isfinite(S).all():
        bad = ~np.isfinite(S)
        i, j = np.argwhere(bad)[0]
        raise UserInputError(
            f"S must contain only finite scores; received {int(bad.sum())} NaN or infinite "
            f"value(s), the first at row {i}, column {j}."
        )
    return Y, Yhat, S


# --- Helpers -------------------------------------------------------------------------------------


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den element-wise, and 1.0 where den == 0 (scikit-learn's ``zero_division=1.0``)."""
    num = np.asarray(num, dtype=np.float64)
    den = np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.ones_like(num), where=den != 0)


def _mean_where(values: np.ndarray, defined: np.ndarray) -> float:
    """Mean of ``values`` over the entries where ``defined`` is True; nan when there are none."""
    return float(values[defined].mean()) if defined.any() else float("nan")


def _counts(Y: np.ndarray, Yhat: np.ndarray, axis: int | None) -> tuple[np.ndarray, ...]:
    """(TP, n true, n predicted) summed along axis: 1 per example, 0 per label, None overall."""
    return (Y & Yhat).sum(axis=axis), Y.sum(axis=axis), Yhat.sum(axis=axis)


def _hamming_loss(Y: np.ndarray, Yhat: np.ndarray) -> float:
    return float(np.mean(Y ^ Yhat))  # bool xor: a wrong (example, label) pair


def _subset_accuracy(Y: np.ndarray, Yhat: np.ndarray) -> float:
    return float(np.mean(~(Y ^ Yhat).any(axis=1)))


def _jaccard(Y: np.ndarray, Yhat: np.ndarray) -> float:
    tp, n_true, n_pred = _counts(Y, Yhat, axis=1)  # n_true + n_pred - tp = |Y_i or Yhat_i|
    return float(np.mean(_ratio(tp, n_true + n_pred - tp)))


def _precision(Y: np.ndarray, Yhat: np.ndarray, axis: int | None) -> float:
    tp, _, n_pred = _counts(Y, Yhat, axis)
    return float(np.mean(_ratio(tp, n_pred)))


def _recall(Y: np.ndarray, Yhat: np.ndarray, axis: int | None) -> float:
    tp, n_true, _ = _counts(Y, Yhat, axis)
    return float(np.mean(_ratio(tp, n_true)))


def _f1(Y: np.ndarray, Yhat: np.ndarray, axis: int | None) -> float:
    tp, n_true, n_pred = _counts(Y, Yhat, axis)  # n_true + n_pred = 2TP + FP + FN
    return float(np.mean(_ratio(2 * tp, n_true + n_pred)))


def _tie_start(s: np.ndarray) -> np.ndarray:
    """The first position of each entry's run of equal values, in rows sorted in ascending order.

    Args:
        s: (m, k) array, each row sorted in ascending order.

    Returns:
        (m, k) int array ``start``: s[r, start[r, p]] == s[r, p], and the entry before it (if any)
        is smaller.
    """
    first = np.ones(s.shape, dtype=bool)
    first[:, 1:] = s[:, 1:] != s[:, :-1]
    return np.maximum.accumulate(np.where(first, np.arange(s.shape[1]), 0), axis=1)


def _take_rows(a: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """a[r, idx[r, p]] for every (r, p), like ``np.take_along_axis(a, idx, axis=1)`` but faster."""
    return a.reshape(-1)[idx + a.shape[1] * np.arange(idx.shape[0])[:, None]]


def _sorted_ranks(Y: np.ndarray, S: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pessimistic ranks: for every entry, how many entries of its row score at least as high.

    The entries of each row come back sorted by score: the ranking metrics only sum or take
    maxima over the relevant entries of a row, which does not depend on the order.

    Args:
        Y: (m, k) bool relevance.
        S: (m, k) scores.

    Returns:
        (relevant, rank, rank_relevant): (m, k) arrays, each row in ascending score order.
        ``relevant`` is Y permuted. For an entry of row i with score s,
        rank = |{j': S[i, j'] >= s}|, its 1-based rank when the row is sorted by decreasing score
        and ties take the worst rank (scipy's ``rankdata(-S[i], "max")``); ``rank_relevant``
        counts only the relevant j'.
    """
    order = np.argsort(S, axis=1)  # (m, k); the order inside a tie does not matter
    s = _take_rows(S, order)
    relevant = _take_rows(Y, order)
    start = _tie_start(s)
    rank = S.shape[1] - start  # the entries from the start of the tie onwards score >= s
    # relevant_from[:, p]: relevant entries at positions >= p
    relevant_from = np.cumsum(relevant[:, ::-1], axis=1)[:, ::-1]
    return relevant, rank, _take_rows(relevant_from, start)


# --- Set-based metrics (Y, Yhat) -----------------------------------------------------------------


def hamming_loss(Y: object, Yhat: object) -> float:
    """Share of wrong (example, label) pairs: (1 / nL) sum_i |Y_i xor Yhat_i|. Lower is better.

    1 - hamming_loss is the element-wise accuracy, which is not reported: on sparse labels true
    negatives inflate it (an all-zero predictor looks good).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``hamming_loss``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _hamming_loss(Y, Yhat)


def subset_accuracy(Y: object, Yhat: object) -> float:
    """Exact-match ratio: (1 / n) sum_i [Yhat_i == Y_i], every label right. Higher is better.

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``accuracy_score`` on multi-label input.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _subset_accuracy(Y, Yhat)


def accuracy(Y: object, Yhat: object) -> float:
    """Example-based accuracy (Jaccard): (1 / n) sum_i |Y_i and Yhat_i| / |Y_i or Yhat_i|.

    Higher is better. An example with no true and no predicted label scores 1 (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``jaccard_score(average="samples", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _jaccard(Y, Yhat)


def example_precision(Y: object, Yhat: object) -> float:
    """Example-based precision: (1 / n) sum_i |Y_i and Yhat_i| / |Yhat_i|. Higher is better.

    An example with no predicted label scores 1 (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``precision_score(average="samples", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _precision(Y, Yhat, axis=1)


def example_recall(Y: object, Yhat: object) -> float:
    """Example-based recall: (1 / n) sum_i |Y_i and Yhat_i| / |Y_i|. Higher is better.

    An example with no true label scores 1 (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``recall_score(average="samples", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _recall(Y, Yhat, axis=1)


def example_f1(Y: object, Yhat: object) -> float:
    """Example-based F1: (1 / n) sum_i 2 |Y_i and Yhat_i| / (|Y_i| + |Yhat_i|). Higher is better.

    Computed from counts, 2TP / (2TP + FP + FN) per example, not from the averaged precision and
    recall. An example with no true and no predicted label scores 1; an example with labels on one
    side only scores 0.

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``f1_score(average="samples", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _f1(Y, Yhat, axis=1)


def micro_precision(Y: object, Yhat: object) -> float:
    """Micro-averaged precision: TP / (TP + FP), counts pooled over everything. Higher is better.

    1 when nothing is predicted (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``precision_score(average="micro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _precision(Y, Yhat, axis=None)


def micro_recall(Y: object, Yhat: object) -> float:
    """Micro-averaged recall: TP / (TP + FN), counts pooled over everything. Higher is better.

    1 when no label is true anywhere (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``recall_score(average="micro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _recall(Y, Yhat, axis=None)


def micro_f1(Y: object, Yhat: object) -> float:
    """Micro-averaged F1: 2TP / (2TP + FP + FN), counts pooled over everything. Higher is better.

    1 when no label is true or predicted anywhere (0/0 counts as 1); 0 for an all-zero predictor
    as soon as one label is true.

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``f1_score(average="micro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _f1(Y, Yhat, axis=None)


def macro_precision(Y: object, Yhat: object) -> float:
    """Macro-averaged precision: (1 / L) sum_j TP_j / (TP_j + FP_j). Higher is better.

    Averaged over all L labels; a label that is never predicted scores 1 (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``precision_score(average="macro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _precision(Y, Yhat, axis=0)


def macro_recall(Y: object, Yhat: object) -> float:
    """Macro-averaged recall: (1 / L) sum_j TP_j / (TP_j + FN_j). Higher is better.

    Averaged over all L labels; a label with no true example scores 1 (0/0 counts as 1).

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``recall_score(average="macro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _recall(Y, Yhat, axis=0)


def macro_f1(Y: object, Yhat: object) -> float:
    """Macro-averaged F1: (1 / L) sum_j 2TP_j / (2TP_j + FP_j + FN_j). Higher is better.

    Averaged over all L labels; each label's F1 comes from its counts, and the mean of those is not
    the harmonic mean of macro precision and macro recall. A label neither true nor predicted
    anywhere scores 1 (0/0 counts as 1); a label predicted but never true scores 0.

    Args:
        Y: (n, L) true labels in {0, 1}.
        Yhat: (n, L) predicted labels in {0, 1}.

    Returns:
        A float in [0, 1]; scikit-learn's ``f1_score(average="macro", zero_division=1.0)``.
    """
    Y, Yhat, _ = check_inputs(Y, Yhat=Yhat)
    return _f1(Y, Yhat, axis=0)


# --- Label-ranking metrics (Y, S): each example ranks its labels by decreasing score -------------


def _one_error(Y: np.ndarray, S: np.ndarray) -> float:
    top = np.equal(S, S.max(axis=1, keepdims=True))  # (n, L), the labels tied for the top score
    wrong = (top & ~Y).any(axis=1)
    return _mean_where(wrong.astype(np.float64), Y.any(axis=1))


def _coverage(relevant: np.ndarray, rank: np.ndarray) -> float:
    deepest = np.where(relevant, rank, 0).max(axis=1)  # (n,), the worst rank of a relevant label
    return _mean_where(deepest - 1.0, relevant.any(axis=1))


def _ranking_loss(relevant: np.ndarray, rank: np.ndarray, rank_relevant: np.ndarray) -> float:
    n_rel = relevant.sum(axis=1)
    n_irr = relevant.shape[1] - n_rel
    # rank - rank_relevant irrelevant labels score at least as high as a relevant one: wrong pairs.
    misordered = np.where(relevant, rank - rank_relevant, 0).sum(axis=1)
    defined = (n_rel > 0) & (n_irr > 0)
    return _mean_where(misordered / np.maximum(n_rel * n_irr, 1), defined)


def _average_precision(
    relevant: np.ndarray, rank: np.ndarray, rank_relevant: np.ndarray
) -> np.ndarray:
    """Per-row label-ranking average precision, (m,); 0 for a row without a relevant entry."""
    n_rel = relevant.sum(axis=1)
    return np.where(relevant, rank_relevant / rank, 0.0).sum(axis=1) / np.maximum(n_rel, 1)


def one_error(Y: object, S: object) -> float:
    """Share of examples whose top-scored label is not relevant. Lower is better.

    one_error = (1 / |E|) sum_{i in E} [argmax_j S_ij not in Y_i], where E holds the examples with
    at least one relevant label (the others are skipped). Ties for the top score count
    pessimistically: the example is an error when any label tied for the top is irrelevant. This
    is the worst-rank rule of the other ranking metrics; it does not depend on the column order,
    and a constant scorer gets 1 instead of looking lucky.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in [0, 1], or nan when no example has a relevant label. scikit-learn has no
        equivalent.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _one_error(Y, S)


def coverage(Y: object, S: object) -> float:
    """How many steps down the ranking, on average, cover every relevant label. Lower is better.

    coverage = (1 / |E|) sum_{i in E} max_{j in Y_i} rank_i(j) - 1, where E holds the examples with
    at least one relevant label (the others are skipped) and rank_i(j) = |{j': S_ij' >= S_ij}|
    (ties take the worst rank). This is the papers' convention (Tsoumakas et al.; Zhang & Zhou),
    which starts at 0: scikit-learn's ``coverage_error`` minus 1, on the examples in E.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in [0, L - 1], or nan when no example has a relevant label.
    """
    Y, _, S = check_inputs(Y, S=S)
    relevant, rank, _ = _sorted_ranks(Y, S)
    return _coverage(relevant, rank)


def ranking_loss(Y: object, S: object) -> float:
    """Share of (relevant, irrelevant) label pairs ordered wrongly, per example. Lower is better.

    ranking_loss = (1 / |E|) sum_{i in E} |{(j, k) in Y_i x ~Y_i : S_ij <= S_ik}| / (|Y_i| |~Y_i|),
    where E holds the examples with at least one relevant and one irrelevant label (the others are
    skipped). A tied pair counts as wrong, as in Zhang & Zhou's definition and scikit-learn's
    ``label_ranking_loss``, which this equals on E.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in [0, 1], or nan when no example has both a relevant and an irrelevant label.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _ranking_loss(*_sorted_ranks(Y, S))


def average_precision(Y: object, S: object) -> float:
    """Label-ranking average precision. Higher is better.

    For each relevant label, the share of relevant labels among those ranked at or above it:
    AP = (1 / |E|) sum_{i in E} (1 / |Y_i|) sum_{j in Y_i} |{j' in Y_i: S_ij' >= S_ij}| / rank_i(j),
    where E holds the examples with at least one relevant label (the others are skipped) and
    rank_i(j) = |{j': S_ij' >= S_ij}| (ties take the worst rank). This equals scikit-learn's
    ``label_ranking_average_precision_score`` on E; scikit-learn scores the skipped examples 1.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in (0, 1], or nan when no example has a relevant label.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _mean_where(_average_precision(*_sorted_ranks(Y, S)), Y.any(axis=1))


# --- Per-label score-based metrics (Y, S): each label ranks the examples by decreasing score -----


def _macro_auc(Y: np.ndarray, S: np.ndarray) -> float:
    St = np.ascontiguousarray(S.T)  # (L, n): one row per label
    order = np.argsort(St, axis=1)
    s = _take_rows(St, order)  # (L, n), ascending
    positive = _take_rows(np.ascontiguousarray(Y.T), order)
    start = _tie_start(s)
    end = s.shape[1] - 1 - _tie_start(-s[:, ::-1])[:, ::-1]  # the last position of each run
    mid_rank = (start + end) / 2 + 1  # 1-based ascending ranks, ties averaged
    n_pos = positive.sum(axis=1)
    n_neg = positive.shape[1] - n_pos
    # Mann-Whitney U: the (positive, negative) pairs ordered rightly, a tie counting one half.
    u = np.where(positive, mid_rank, 0.0).sum(axis=1) - n_pos * (n_pos + 1) / 2
    return _mean_where(u / np.maximum(n_pos * n_neg, 1), (n_pos > 0) & (n_neg > 0))


def _mean_average_precision(Y: np.ndarray, S: np.ndarray) -> float:
    # Per-label AP is label-ranking AP with examples and labels swapped.
    ranked = _sorted_ranks(np.ascontiguousarray(Y.T), np.ascontiguousarray(S.T))  # (L, n) each
    return _mean_where(_average_precision(*ranked), Y.any(axis=0))


def macro_auc(Y: object, S: object) -> float:
    """Mean over labels of the area under the ROC curve. Higher is better.

    For label j, AUC_j = P(S_ij > S_kj) + P(S_ij = S_kj) / 2 over positive examples i and negative
    examples k: the Mann-Whitney statistic with average ranks for ties, equal to scikit-learn's
    ``roc_auc_score`` on column j. Labels without both a positive and a negative are skipped.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in [0, 1], or nan when no label has both a positive and a negative example.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _macro_auc(Y, S)


def mean_average_precision(Y: object, S: object) -> float:
    """Mean over labels of the average precision of the examples ranked by score. Higher is better.

    For label j with positive examples P_j, AP_j = (1 / |P_j|) sum_{i in P_j} precision_j(S_ij),
    where precision_j(t) is the share of positives among the examples scoring >= t. This is the
    step-wise (not interpolated) sum over thresholds of (R_t - R_t-1) P_t, scikit-learn's
    ``average_precision_score`` on column j. Labels without a positive example are skipped.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) scores; higher means more relevant.

    Returns:
        A float in (0, 1], or nan when no label has a positive example.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _mean_average_precision(Y, S)


# --- Calibration (Y, S): do the probabilities mean what they say? ---------------------------------

ECE_BINS = 10
"""Equal-width probability bins of the expected calibration error: [0, 0.1), ..., [0.9, 1]."""


def _ece_per_label(Y: np.ndarray, S: np.ndarray) -> np.ndarray:
    """(L,) ECE of each column: sum over bins of |positives - summed probability| / n."""
    n, L = S.shape
    bins = np.clip((S * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1)  # (n, L)
    cell = bins + ECE_BINS * np.arange(L)  # (n, L): one bin id per (label, bin)
    gap = np.bincount(cell.ravel(), weights=(Y - S).ravel(), minlength=L * ECE_BINS)
    return np.abs(gap).reshape(L, ECE_BINS).sum(axis=1) / n


def _ece_micro(Y: np.ndarray, S: np.ndarray) -> float:
    bins = np.clip((S * ECE_BINS).astype(np.int64), 0, ECE_BINS - 1).ravel()
    gap = np.bincount(bins, weights=(Y - S).ravel(), minlength=ECE_BINS)
    return float(np.abs(gap).sum() / S.size)


def ece_micro(Y: object, S: object) -> float:
    """Expected calibration error over every (example, label) cell pooled. Lower is better.

    The cells are put in ``ECE_BINS`` equal-width bins of their probability (a score outside [0, 1] goes to the
    end bin); ECE = sum over bins b of (n_b / N) |mean of Y in b - mean of S in b|, N = n L cells.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) probabilities.

    Returns:
        A float in [0, 1]; 0 when, in every bin, the share of positives equals the mean probability.
    """
    Y, _, S = check_inputs(Y, S=S)
    return _ece_micro(Y.astype(np.float64), S)


def ece_macro(Y: object, S: object) -> float:
    """Mean over labels of each label's expected calibration error (``ece_micro`` on one column). Lower is
    better; defined for every label (a label without positives is calibrated when its probabilities are 0).

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) probabilities.

    Returns:
        A float in [0, 1].
    """
    Y, _, S = check_inputs(Y, S=S)
    return float(_ece_per_label(Y.astype(np.float64), S).mean())


# --- Everything at once --------------------------------------------------------------------------


def evaluate(Y: object, S: object, Yhat: object) -> dict[str, float | int]:
    """Every metric of METRIC_KEYS, with the inputs validated and ranked once.

    Args:
        Y: (n, L) true labels in {0, 1}.
        S: (n, L) finite scores; higher means more relevant.
        Yhat: (n, L) predicted labels in {0, 1}, for instance S thresholded.

    Returns:
        A dict with exactly the keys of METRIC_KEYS, in that order, as Python floats (nan where a
        metric is undefined for the whole input), then "n_samples" (n) and "n_labels" (L) as
        Python ints. JSON-serialisable.
    """
    Y, Yhat, S = check_inputs(Y, Yhat=Yhat, S=S)
    relevant, rank, rank_relevant = _sorted_ranks(Y, S)
    values = {
        "hamming_loss": _hamming_loss(Y, Yhat),
        "subset_accuracy": _subset_accuracy(Y, Yhat),
        "accuracy": _jaccard(Y, Yhat),
        "example_f1": _f1(Y, Yhat, axis=1),
        "micro_f1": _f1(Y, Yhat, axis=None),
        "macro_f1": _f1(Y, Yhat, axis=0),
        "one_error": _one_error(Y, S),
        "coverage": _coverage(relevant, rank),
        "ranking_loss": _ranking_loss(relevant, rank, rank_relevant),
        "average_precision": _mean_where(
            _average_precision(relevant, rank, rank_relevant), Y.any(axis=1)
        ),
        "macro_auc": _macro_auc(Y, S),
        "mean_average_precision": _mean_average_precision(Y, S),
        "ece_micro": _ece_micro(Y.astype(np.float64), S),
        "ece_macro": float(_ece_per_label(Y.astype(np.float64), S).mean()),
    }
    assert tuple(values) == METRIC_KEYS
    return {**values, "n_samples": int(Y.shape[0]), "n_labels": int(Y.shape[1])}


@dataclass(frozen=True)
class Monitor:
    """A validation quantity early stopping can watch: ``fn(Y, P)`` of (n, L) labels and probabilities, or the
    validation loss (``fn`` None); ``mode`` "max" or "min"."""

    name: str
    mode: str
    fn: Callable[[np.ndarray, np.ndarray], float] | None = None

    @property
    def key(self) -> str:
        """The key of the per-epoch logs: "val_<name>"."""
        return f"val_{self.name}"


# what early stopping may watch; the CLI's --monitor choices come from here
MONITORS: Registry[Monitor] = Registry("monitor")
for _monitor in (
    Monitor("loss", "min"),
    Monitor("average_precision", "max", average_precision),
    Monitor("micro_f1", "max", lambda Y, P: micro_f1(Y, (P >= 0.5).astype(np.uint8))),
    Monitor("macro_f1", "max", lambda Y, P: macro_f1(Y, (P >= 0.5).astype(np.uint8))),
    Monitor("macro_auc", "max", macro_auc),
    Monitor("mean_average_precision", "max", mean_average_precision),
):
    MONITORS.register(_monitor.name)(_monitor)
