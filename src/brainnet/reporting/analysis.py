"""What the report shows, computed with NumPy from labels, probabilities and decisions (no plotting here).

Per-label precision, recall and F1 follow the metric suite's convention (``docs/METRICS.md``): 0/0 counts as
1.0, so the mean of the per-label F1 values is the suite's macro-F1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from brainnet.core.decision import metrics


@dataclass
class LabelStats:
    """Per-label counts and scores of decisions against labels; every array is (L,).

    ``tp``/``fp``/``fn``/``tn`` count (example, label) pairs; ``support`` is the number of true positives
    plus false negatives (the examples that carry the label); ``ap`` is the label's average precision of
    the probabilities (NaN when no example carries it).
    """

    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    tn: np.ndarray
    precision: np.ndarray
    recall: np.ndarray
    f1: np.ndarray
    ap: np.ndarray

    @property
    def support(self) -> np.ndarray:
        return self.tp + self.fn


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, and 1.0 where den == 0 (the metric suite's ``zero_division=1``)."""
    num, den = np.asarray(num, dtype=np.float64), np.asarray(den, dtype=np.float64)
    return np.divide(num, den, out=np.ones_like(num), where=den != 0)


def label_stats(Y: np.ndarray, P: np.ndarray, Yhat: np.ndarray) -> LabelStats:
    """Per-label confusion counts, precision / recall / F1 of ``Yhat`` and average precision of ``P``.

    Args:
        Y, Yhat: (n, L) 0/1 labels and decisions.
        P: (n, L) probabilities.
    """
    Y, Yhat = Y.astype(bool), Yhat.astype(bool)
    tp = (Y & Yhat).sum(axis=0)
    fp = (~Y & Yhat).sum(axis=0)
    fn = (Y & ~Yhat).sum(axis=0)
    tn = (~Y & ~Yhat).sum(axis=0)
    ap = np.array([metrics.mean_average_precision(Y[:, [j]], P[:, [j]]) for j in range(Y.shape[1])])
    return LabelStats(
        tp,
        fp,
        fn,
        tn,
        _ratio(tp, tp + fp),
        _ratio(tp, tp + fn),
        _ratio(2 * tp, 2 * tp + fp + fn),
        ap,
    )


def top_labels(support: np.ndarray, k: int) -> np.ndarray:
    """Indices of the ``k`` labels with the most support, most first (ties: the earlier label first)."""
    return np.argsort(-np.asarray(support), kind="stable")[:k]


def pr_curve(y: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One label's precision-recall curve: a point per distinct probability, as a threshold ``p >= t``.

    Args:
        y: (n,) 0/1 labels; p: (n,) probabilities.

    Returns:
        (recall, precision, thresholds), each (m,), thresholds decreasing.
    """
    order = np.argsort(-p, kind="stable")
    ps, hits = p[order], y[order].astype(np.float64)
    tp = np.cumsum(hits)
    last = np.r_[ps[1:] != ps[:-1], True]  # the last row of each run of equal probabilities
    k = np.arange(1, len(p) + 1)
    return (tp / max(hits.sum(), 1.0))[last], (tp / k)[last], ps[last]


def operating_point(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[float, float]:
    """(recall, precision) of the decision ``p >= threshold`` on one label (precision 1.0 when none on)."""
    on = p >= threshold
    tp = float((on & (y > 0)).sum())
    return tp / max(float(y.sum()), 1.0), (tp / on.sum() if on.any() else 1.0)


@dataclass
class Reliability:
    """Equal-width probability bins: ``count``, mean probability ``confidence`` and fraction of positives
    ``frequency`` per bin (NaN in an empty bin), and the expected calibration error ``ece``
    (sum over bins of count / N * |frequency - confidence|)."""

    edges: np.ndarray
    count: np.ndarray
    confidence: np.ndarray
    frequency: np.ndarray
    ece: float


def reliability(y: np.ndarray, p: np.ndarray, n_bins: int = 10) -> Reliability:
    """Bin the probabilities ``p`` (any shape) against their 0/1 outcomes ``y`` (same shape)."""
    y, p = np.ravel(y).astype(np.float64), np.ravel(p).astype(np.float64)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.minimum((p * n_bins).astype(np.int64), n_bins - 1)  # p == 1 joins the last bin
    count = np.bincount(bins, minlength=n_bins).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        confidence = np.bincount(bins, weights=p, minlength=n_bins) / count
        frequency = np.bincount(bins, weights=y, minlength=n_bins) / count
    full = count > 0
    gap = np.abs(frequency[full] - confidence[full])
    ece = float((count[full] * gap).sum() / max(count.sum(), 1.0))
    return Reliability(edges, count, confidence, frequency, ece)


def cooccurrence(Y: np.ndarray) -> np.ndarray:
    """(L, L) counts of examples carrying both labels (the diagonal: examples carrying the label)."""
    Z = Y.astype(np.int64)
    return Z.T @ Z


def confident_errors(
    Y: np.ndarray, P: np.ndarray, Yhat: np.ndarray, k: int
) -> list[tuple[int, float]]:
    """The ``k`` rows whose worst wrong decision was the most confident, most confident first.

    A wrong decision's confidence is p for a false positive and 1 - p for a false negative; rows without a
    wrong decision are left out. Returns [(row, confidence)].
    """
    wrong = Y.astype(bool) != Yhat.astype(bool)  # (n, L)
    confidence = np.where(Yhat.astype(bool), P, 1.0 - P)
    worst = np.where(wrong, confidence, -1.0).max(axis=1) if Y.size else np.zeros(len(Y))
    rows = [int(i) for i in np.argsort(-worst, kind="stable") if worst[i] >= 0][:k]
    return [(i, float(worst[i])) for i in rows]


def label_list(names: list[str], row: np.ndarray) -> str:
    """The names of the labels that are on in ``row``, comma-separated ("-" for none)."""
    return ", ".join(n for n, on in zip(names, row, strict=True) if on) or "-"
