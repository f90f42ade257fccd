"""Per-label decision thresholds for multi-label probabilities, tuned on validation data for an objective.

A multi-label model outputs independent probabilities ``P`` (n, L). Predicting ``P >= 0.5`` is rarely best:
rare labels want lower thresholds, and F1 trades precision for recall differently from accuracy. After
training, ``tune_thresholds`` picks one threshold per label on the validation split; the result is saved
with the model and ``apply_thresholds`` uses it in ``predict``.

How tuning works. Lowering a threshold switches entries on one at a time in order of decreasing
probability, so every objective becomes a running sum over that order: each entry adds the change it makes
to its group's score (the whole matrix for micro-F1, its label for macro-F1 and Hamming loss, its row for
samples-F1). One sort and one cumulative sum therefore score every candidate threshold exactly; the
candidates are the gaps between consecutive distinct probabilities inside [T_MIN, T_MAX].

1. ``global_threshold``: the same sweep over all n*L entries gives the exact best single threshold.
2. Objectives that are a sum over labels (macro_f1, hamming) are optimised label by label, exactly.
   micro_f1 and samples_f1 couple the labels: coordinate ascent starts from the global threshold and
   re-tunes one label at a time with the others fixed, for at most three sweeps or until a sweep improves
   nothing. No step lowers the objective.
3. Small-sample protection, see ``tune_thresholds``.

Ties. Every threshold inside one gap makes the same predictions, and neighbouring gaps may score the same
(within 1e-10). Contiguous optimal gaps are merged into one interval and the threshold is its midpoint, the
point farthest from flipping a validation decision, so the tuned value is the centre of the plateau rather
than an edge that happens to touch a validation probability. Among several optimal intervals the one whose
midpoint is closest to 0.5 (the untuned default) wins; an exact tie goes to the higher threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from brainnet.core.errors import UserInputError
from brainnet.core.registry import Registry

T_MIN = 0.01  # tuned thresholds lie in [T_MIN, T_MAX]: never "always on" or "never on" by accident
T_MAX = 0.99
_TIE_TOL = 1e-10  # objective values this close count as equal
_MAX_SWEEPS = 3  # coordinate-ascent sweeps for objectives that couple the labels

Group = Literal["all", "label", "sample"]


def _f1(tp: np.ndarray, pred: np.ndarray, true: np.ndarray, size: int) -> np.ndarray:
    """F1 = 2 TP / (predicted + true) per group; 1 where nothing is true or predicted (zero_division=1)."""
    denom = pred + true
    return np.where(denom > 0, 2.0 * tp / np.maximum(denom, 1), 1.0)


def _hamming(tp: np.ndarray, pred: np.ndarray, true: np.ndarray, size: int) -> np.ndarray:
    """Fraction of wrong entries per group: (FP + FN) / size, where FP + FN = pred + true - 2 TP."""
    return (pred + true - 2.0 * tp) / size


@dataclass(frozen=True)
class Objective:
    """A multi-label metric: the mean over groups of a score computed from each group's counts.

    Args:
        name: the registered name.
        group: whose counts are pooled: "all" (micro averaging: one pool), "label" (one score per
            label, averaged; such objectives decompose by label), "sample" (one score per row, averaged).
        per_group: ``f(tp, pred, true, size) -> scores`` on (G,) float arrays of per-group counts: true
            positives, predicted entries, truly positive entries; ``size`` is the entries in one group.
        higher_is_better: the metric's direction. ``score`` values are the metric itself (Hamming loss
            stays a loss); tuning maximises F1 and minimises Hamming loss.
    """

    name: str
    group: Group
    per_group: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]
    higher_is_better: bool

    @property
    def decomposable(self) -> bool:
        """True when the metric is a mean over labels, so each label can be tuned on its own."""
        return self.group == "label"

    def metric(self, Y: np.ndarray, Yhat: np.ndarray) -> float:
        """The metric of bool (n, L) predictions ``Yhat`` against bool (n, L) truth ``Y``."""
        tp, pred, true, size = _group_counts(self.group, Y, Yhat)
        return float(np.mean(self.per_group(tp, pred, true, size)))


OBJECTIVES: Registry[Objective] = Registry("threshold objective")
for _objective in (
    Objective("micro_f1", "all", _f1, higher_is_better=True),
    Objective("macro_f1", "label", _f1, higher_is_better=True),
    Objective("samples_f1", "sample", _f1, higher_is_better=True),
    Objective("hamming", "label", _hamming, higher_is_better=False),
):
    OBJECTIVES.register(_objective.name)(_objective)

_RESULT_KEYS = (
    "thresholds",
    "objective",
    "global_threshold",
    "fallback_labels",
    "score",
    "score_at_half",
)


@dataclass(frozen=True, eq=False)
class ThresholdResult:
    """Tuned thresholds and how they were found; saved with the model.

    Attributes:
        thresholds: (L,) float64 in (0, 1), read-only; label j is predicted when ``P[:, j] >= thresholds[j]``.
        objective: the registered objective tuned for.
        global_threshold: the best single threshold for all labels; fallback labels use it.
        fallback_labels: labels with fewer than ``min_positives`` positives, given ``global_threshold``.
        score: the objective on the tuning data with ``thresholds`` (Hamming loss: lower is better).
        score_at_half: the objective with every threshold at 0.5, for comparison.
    """

    thresholds: np.ndarray
    objective: str
    global_threshold: float
    fallback_labels: list[int]
    score: float
    score_at_half: float

    def __post_init__(self) -> None:
        thresholds = np.array(self.thresholds, dtype=np.float64)  # a private, read-only copy
        thresholds.flags.writeable = False
        object.__setattr__(self, "thresholds", thresholds)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; ``from_dict`` reads it back exactly."""
        return {
            "thresholds": self.thresholds.tolist(),
            "objective": self.objective,
            "global_threshold": float(self.global_threshold),
            "fallback_labels": [int(j) for j in self.fallback_labels],
            "score": float(self.score),
            "score_at_half": float(self.score_at_half),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ThresholdResult:
        missing = [k for k in _RESULT_KEYS if k not in d]
        if missing:
            raise UserInputError(
                f"threshold record is missing {', '.join(missing)}; expected keys: {', '.join(_RESULT_KEYS)}."
            )
        if np.ndim(d["thresholds"]) != 1:
            raise UserInputError(
                f"threshold record: 'thresholds' must be a list; received {d['thresholds']!r}."
            )
        return cls(
            thresholds=_check_thresholds(d["thresholds"], len(d["thresholds"])),
            objective=str(d["objective"]),
            global_threshold=float(d["global_threshold"]),
            fallback_labels=[int(j) for j in d["fallback_labels"]],
            score=float(d["score"]),
            score_at_half=float(d["score_at_half"]),
        )


def tune_thresholds(
    Y: np.ndarray,
    P: np.ndarray,
    objective: str = "micro_f1",
    *,
    min_positives: int = 5,
    shrinkage: float = 10.0,
    at_least_one: bool = False,
) -> ThresholdResult:
    """Per-label thresholds that optimise ``objective`` on (Y, P), usually the validation split.

    A label's best threshold is decided by its positives; with few of them the optimum jumps from one
    validation example to the next and does not carry over to new data. So labels with fewer than
    ``min_positives`` positives take the global threshold (``fallback_labels``), and the others are shrunk
    toward it: ``t = w * t_label + (1 - w) * t_global`` with ``w = n_pos / (n_pos + shrinkage)``, a label
    with ``shrinkage`` positives meeting the global threshold halfway. ``score`` is computed with these
    final thresholds.

    Args:
        Y: (n, L) multi-hot truth, 0/1 or bool.
        P: (n, L) probabilities in [0, 1].
        objective: a name in ``OBJECTIVES``: "micro_f1" (default), "macro_f1", "samples_f1", "hamming".
        min_positives: labels with fewer positives use the global threshold; 0 tunes every label.
        shrinkage: pseudo-count of the pull toward the global threshold; 0 disables it.
        at_least_one: the thresholds will be used with ``apply_thresholds(..., at_least_one=True)``; the
            tuned labels are then refined by coordinate ascent on a grid with that rule in the loop (the rule
            rescues empty rows, so the best thresholds sit higher), and ``score`` includes the rule.

    Returns:
        ThresholdResult with (L,) thresholds in [T_MIN, T_MAX].
    """
    obj = OBJECTIVES.get(objective)
    P = _check_probabilities(P)
    Y = _check_binary(Y, "Y", P.shape)
    _check_tuning_options(min_positives, shrinkage)
    n_pos = Y.sum(axis=0)  # (L,)
    fallback = np.flatnonzero(n_pos < min_positives)
    t_global = _global_threshold(obj, Y, P)
    tuned = np.flatnonzero(n_pos >= min_positives)
    t = _tune_labels(obj, Y, P, t_global, tuned)
    if at_least_one:
        t = _refine_with_top1(obj, Y, P, t, tuned)
    w = n_pos / (n_pos + shrinkage) if shrinkage > 0 else np.ones(len(t))
    t = w * t + (1.0 - w) * t_global
    t[fallback] = t_global  # exactly, not up to rounding
    return ThresholdResult(
        thresholds=t,
        objective=obj.name,
        global_threshold=t_global,
        fallback_labels=fallback.tolist(),
        score=obj.metric(Y, apply_thresholds(P, t, at_least_one=at_least_one)),
        score_at_half=obj.metric(Y, apply_thresholds(P, 0.5, at_least_one=at_least_one)),
    )


def _refine_with_top1(
    obj: Objective,
    Y: np.ndarray,
    P: np.ndarray,
    t: np.ndarray,
    labels: np.ndarray,
    n_grid: int = 48,
) -> np.ndarray:
    """Coordinate ascent over per-label grids (midpoints of P's quantiles), scoring with the top-1 rule.

    The rule couples all labels (which label rescues an empty row depends on every threshold), so the exact
    sorted-sweep of ``_tune_labels`` does not apply; a grid of ``n_grid`` candidates per label does.
    """
    sign = 1.0 if obj.higher_is_better else -1.0
    t = t.copy()
    best = sign * obj.metric(Y, apply_thresholds(P, t, at_least_one=True))
    for _ in range(_MAX_SWEEPS):
        improved = False
        for j in labels:
            q = np.unique(np.quantile(P[:, j], np.linspace(0, 1, n_grid)))
            for c in np.clip((q[1:] + q[:-1]) / 2, T_MIN, T_MAX):
                old, t[j] = t[j], c
                value = sign * obj.metric(Y, apply_thresholds(P, t, at_least_one=True))
                if value > best + _TIE_TOL:
                    best, improved = value, True
                else:
                    t[j] = old
        if not improved:
            break
    return t


def apply_thresholds(
    P: np.ndarray, thresholds: np.ndarray | float, *, at_least_one: bool = False
) -> np.ndarray:
    """Label sets from probabilities: label j is on where ``P[:, j] >= thresholds[j]``.

    With ``at_least_one``, a row where no label passes gets the one label with the largest logit margin
    ``logit(P) - logit(t)``. A threshold is a bias shift in logit space (``P >= t`` exactly when
    ``logit(P) - logit(t) >= 0``), so this margin is the score the tuned model ranks labels by, and it is
    the label that comes closest to passing on the model's own scale. The raw margin ``P - t`` would
    favour labels near 0.5, and the argmax of ``P`` would ignore the tuned thresholds. Rows that already
    have a label are left unchanged.

    Args:
        P: (n, L) probabilities in [0, 1].
        thresholds: (L,) thresholds in (0, 1), or one number for every label.
        at_least_one: give every row at least one label (default False).

    Returns:
        (n, L) uint8 multi-hot predictions.
    """
    P = _check_probabilities(P)
    t = _check_thresholds(thresholds, P.shape[1])
    Yhat = _on(P, t).astype(np.uint8)
    if at_least_one:
        empty = np.flatnonzero(~Yhat.any(axis=1))
        if empty.size:
            margin = _logit(P[empty]) - _logit(t)  # (n_empty, L)
            Yhat[empty, np.argmax(margin, axis=1)] = 1
    return Yhat


def objective_score(Y: np.ndarray, Yhat: np.ndarray, objective: str) -> float:
    """The objective's metric of 0/1 predictions; ``OBJECTIVES.get(objective).higher_is_better`` is its direction.

    Args:
        Y, Yhat: (n, L) multi-hot truth and predictions, 0/1 or bool.
        objective: a name in ``OBJECTIVES``.

    Returns:
        The metric itself: F1 in [0, 1] (higher is better), Hamming loss in [0, 1] (lower is better).
    """
    obj = OBJECTIVES.get(objective)
    Yhat = _check_binary(Yhat, "Yhat")
    Y = _check_binary(Y, "Y", Yhat.shape, other="Yhat")
    return obj.metric(Y, Yhat)


# ---------------------------------------------------------------------- the sweep
def _group_counts(group: Group, Y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, ...]:
    """(G,) float counts of true positives, predicted and true entries per group, and the group size."""
    n, L = Y.shape
    axis, size = {"all": (None, n * L), "label": (0, n), "sample": (1, L)}[group]
    tp, pred, true = (np.atleast_1d(np.sum(A, axis=axis, dtype=np.float64)) for A in (Y & Z, Z, Y))
    return tp, pred, true, size


def _group_ids(group: Group, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The group of each entry (rows[k], cols[k])."""
    return {"all": np.zeros_like(rows), "label": cols, "sample": rows}[group]


def _running_counts(g: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For a sequence of entries: how many earlier entries, and earlier positives, share each one's group."""
    # groups become contiguous blocks, the sequence order kept inside each
    by = np.argsort(g, kind="stable")
    start = np.searchsorted(g[by], g[by])  # (m,) where each entry's block starts
    ys = y[by].astype(np.float64)
    before = np.cumsum(ys) - ys  # positives earlier in the block order
    on, tp = np.empty(len(g)), np.empty(len(g))
    on[by] = np.arange(len(g)) - start
    tp[by] = before - before[start]
    return tp, on


def _sweep(
    obj: Objective, p: np.ndarray, y: np.ndarray, gid: np.ndarray, fixed: tuple
) -> tuple[np.ndarray, np.ndarray]:
    """Score every candidate threshold for the entries (p, y), the other predictions held fixed.

    Args:
        p, y, gid: (m,) probabilities, bool truth and group of the swept entries.
        fixed: (tp, pred, true, size) per group, counting the fixed entries only (true counts all).

    Returns:
        edges: (C + 1,) decreasing from T_MAX to T_MIN; candidate c is the gap (edges[c + 1], edges[c]).
        values: (C,) the objective at each candidate, signed so that higher is better.
    """
    tp0, pred0, true, size = fixed
    always = np.flatnonzero(p >= T_MAX)
    inside = np.flatnonzero((p > T_MIN) & (p < T_MAX))
    inside = inside[np.argsort(-p[inside], kind="stable")]
    seq = np.concatenate([always, inside])  # (m',) the order in which entries turn on
    g, ys = gid[seq], y[seq]
    tp_before, on_before = _running_counts(g, ys)
    tp_b, pred_b = tp0[g] + tp_before, pred0[g] + on_before
    after = obj.per_group(tp_b + ys, pred_b + 1, true[g], size)
    gain = after - obj.per_group(
        tp_b, pred_b, true[g], size
    )  # (m',) change of the entry's group score
    base = np.mean(obj.per_group(tp0, pred0, true, size))  # every swept entry off
    running = np.concatenate([[base], base + np.cumsum(gain) / len(tp0)])  # (m' + 1,)
    ps = p[inside]
    ends = np.flatnonzero(np.diff(ps, append=-np.inf)) + 1  # entries on after each distinct value
    values = running[len(always) + np.concatenate([[0], ends])]
    edges = np.concatenate([[T_MAX], ps[ends - 1], [T_MIN]])
    return edges, values if obj.higher_is_better else -values


def _pick(edges: np.ndarray, values: np.ndarray) -> tuple[float, float]:
    """The midpoint of the optimal interval closest to 0.5, and its value (see the module docstring)."""
    ok = np.concatenate([[False], values >= values.max() - _TIE_TOL, [False]])
    first = np.flatnonzero(ok[1:] & ~ok[:-1])  # candidates that start a run of optimal ones
    last = np.flatnonzero(ok[:-1] & ~ok[1:]) - 1  # ... and end it (inclusive)
    mids = (edges[first] + edges[last + 1]) / 2.0
    k = int(np.argmin(np.abs(mids - 0.5)))
    return float(mids[k]), float(values[first[k]])


def _global_threshold(obj: Objective, Y: np.ndarray, P: np.ndarray) -> float:
    """The exact best single threshold for all labels: one sweep over all n*L entries."""
    n, L = P.shape
    rows, cols = np.divmod(np.arange(n * L), L)  # row-major, like P.ravel()
    fixed = _group_counts(obj.group, Y, np.zeros_like(Y))
    edges, values = _sweep(obj, P.ravel(), Y.ravel(), _group_ids(obj.group, rows, cols), fixed)
    return _pick(edges, values)[0]


def _tune_labels(
    obj: Objective, Y: np.ndarray, P: np.ndarray, t_global: float, labels: np.ndarray
) -> np.ndarray:
    """(L,) thresholds: ``labels`` tuned by coordinate ascent from ``t_global``, the others at ``t_global``."""
    n, L = P.shape
    t = np.full(L, t_global)
    Z = _on(P, t_global)  # (n, L) current predictions
    tp, pred, true, size = _group_counts(obj.group, Y, Z)
    rows = np.arange(n)
    value = -np.inf
    for _ in range(1 if obj.decomposable else _MAX_SWEEPS):
        previous = value
        for j in labels:
            gid = _group_ids(obj.group, rows, np.full(n, j))
            tp -= np.bincount(gid, Y[:, j] & Z[:, j], minlength=len(tp))
            pred -= np.bincount(gid, Z[:, j], minlength=len(tp))
            t[j], value = _pick(*_sweep(obj, P[:, j], Y[:, j], gid, (tp, pred, true, size)))
            Z[:, j] = _on(P[:, j], t[j])
            tp += np.bincount(gid, Y[:, j] & Z[:, j], minlength=len(tp))
            pred += np.bincount(gid, Z[:, j], minlength=len(tp))
        if value <= previous + _TIE_TOL:
            break
    return t


# ---------------------------------------------------------------------- validation
def _check_probabilities(P: Any) -> np.ndarray:
    try:
        P = np.asarray(P, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserInputError(
            "P must be a numeric (n_samples, n_labels) matrix of probabilities."
        ) from None
    if P.ndim != 2 or 0 in P.shape:
        raise UserInputError(
            f"P must be a 2-D (n_samples, n_labels) matrix with at least one row and one label; "
            f"received shape {P.shape}."
        )
    bad = ~np.isfinite(P)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise UserInputError(
            f"P contains {int(bad.sum())} NaN or infinite value(s), the first at row {i}, column {j}. "
            f"Check the model's outputs for NaN."
        )
    if P.min() < 0 or P.max() > 1:
        raise UserInputError(
            f"P must hold probabilities in [0, 1]; received values from {P.min():g} to {P.max():g}. "
            f"Pass sigmoid probabilities (predict_proba), not logits."
        )
    return P


def _check_binary(A: Any, name: str, shape: tuple | None = None, other: str = "P") -> np.ndarray:
    A = np.asarray(A)
    if A.ndim != 2 or 0 in A.shape:
        raise UserInputError(
            f"{name} must be a 2-D (n_samples, n_labels) 0/1 matrix with at least one row and one label; "
            f"received shape {A.shape}."
        )
    if shape is not None and A.shape != shape:
        raise UserInputError(
            f"{name} and {other} must have the same shape (n_samples, n_labels); "
            f"received {name} {A.shape} and {other} {shape}."
        )
    if A.dtype == bool:
        return A
    if not (np.issubdtype(A.dtype, np.number)):
        raise UserInputError(
            f"{name} must hold only 0 and 1 (multi-hot); received dtype {A.dtype}."
        )
    bad = (A != 0) & (A != 1)
    if bad.any():
        i, j = np.argwhere(bad)[0]
        raise UserInputError(
            f"{name} must hold only 0 and 1 (multi-hot); found {A[i, j]!r} at row {i}, column {j}."
        )
    return A.astype(bool)


def _check_tuning_options(min_positives: Any, shrinkage: Any) -> None:
    if (
        isinstance(min_positives, bool)
        or not isinstance(min_positives, int | np.integer)
        or min_positives < 0
    ):
        raise UserInputError(
            f"min_positives must be an integer >= 0; received {min_positives!r}. Use 0 to tune every label."
        )
    if (
        isinstance(shrinkage, bool)
        or not isinstance(shrinkage, int | float | np.number)
        or not (np.isfinite(shrinkage) and shrinkage >= 0)
    ):
        raise UserInputError(
            f"shrinkage must be a finite number >= 0; received {shrinkage!r}. Use 0 to disable shrinkage."
        )


def _check_thresholds(thresholds: Any, n_labels: int) -> np.ndarray:
    try:
        t = np.asarray(thresholds, dtype=np.float64)
    except (TypeError, ValueError):
        raise UserInputError(
            f"thresholds must be numbers in (0, 1); received {thresholds!r}."
        ) from None
    if t.ndim == 0:
        t = np.full(n_labels, float(t))
    if t.shape != (n_labels,):
        raise UserInputError(
            f"expected one threshold per label, shape ({n_labels},); received shape {t.shape}."
        )
    if not np.all((t > 0) & (t < 1)):  # NaN fails too
        j = int(np.flatnonzero(~((t > 0) & (t < 1)))[0])
        raise UserInputError(
            f"thresholds must be in (0, 1); received {t[j]:g} for label {j}. "
            f"Pass a probability such as 0.5 (0 or 1 would fix the label on or off)."
        )
    return t


def _on(P: np.ndarray, t: np.ndarray | float) -> np.ndarray:
    """The decision rule, bool: a label is on where its probability reaches its threshold, P >= t."""
    return np.greater_equal(P, t)


def _logit(x: np.ndarray) -> np.ndarray:
    x = np.clip(x, 1e-12, 1 - 1e-12)
    return np.log(x) - np.log1p(-x)
