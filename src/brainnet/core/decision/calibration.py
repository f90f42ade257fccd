"""Per-label probability calibration: temperature or Platt scaling of each label's logit. NumPy only.

A calibration maps the (n, L) probabilities the networks give to probabilities that mean what they say:
label j's logit z = log(p / (1 - p)) becomes ``a_j z + b_j`` (temperature scaling: ``b_j = 0``, the temperature
is ``1 / a_j``; Platt scaling: both fitted), then the sigmoid. It is fitted on the validation (out-of-fold)
probabilities the estimator already tunes its thresholds on, by Newton's method on the mean log-loss of each
label with a small ridge toward the identity (``a = 1``, ``b = 0``), and applied to every probability before the
thresholds, so any runtime that ends in the NumPy decision layer gets it.

``fit_calibration(Y, P, "auto")`` picks the method (none, temperature or Platt) with the lowest log-loss measured
out of fold on the validation rows (5 stratified-by-row folds, each fitted on the other four), so "auto" turns
calibration on only when it lowers validation log-loss on rows it was not fitted on.

A label with no positive (or no negative) among the rows the models learned from (``trained_on``) carries no
signal a network could have learned: whatever its output is, it is where a few hundred gradient steps on one class
left it (0.39 for a label never present in 240 training rows, under the default recipe). Whatever the method, such
a label gets a constant: its smoothed training rate (positives + 1) / (rows + 2), as ``a = 0`` and ``b`` its logit,
the way scikit-learn's one-vs-rest keeps a constant predictor for a label that never varies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from brainnet.core.errors import UserInputError

CALIBRATIONS = ("auto", "temperature", "platt", "none")
"""Values of the ``calibration`` option: "auto" picks among the three others."""

_METHODS = ("none", "temperature", "platt")
_EPS = 1e-12
_RIDGE = 1e-3  # pull toward the identity, so a separable label keeps a finite scale
_A_RANGE = (1e-2, 1e2)  # a slope outside this is a label the fit cannot be trusted on: identity
_MIN_CLASS = 3  # a label needs this many positives and negatives to be calibrated
_AUTO_FOLDS = 5


def _logit(P: np.ndarray) -> np.ndarray:
    P = np.clip(P, _EPS, 1 - _EPS)
    return np.log(P) - np.log1p(-P)


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # stable for any z


def log_loss(Y: np.ndarray, P: np.ndarray) -> float:
    """Mean binary cross-entropy over every (row, label) cell, probabilities clipped to [1e-12, 1 - 1e-12]."""
    P = np.clip(np.asarray(P, dtype=np.float64), _EPS, 1 - _EPS)
    Y = np.asarray(Y, dtype=np.float64)
    return float(-(Y * np.log(P) + (1 - Y) * np.log1p(-P)).mean())


@dataclass(frozen=True, eq=False)
class Calibration:
    """A fitted per-label calibration; saved in ``brainnet.json`` under "calibration".

    Attributes:
        method: "none", "temperature" or "platt".
        a: (L,) slopes on the logit (1 / temperature).
        b: (L,) intercepts (0 for temperature scaling).
        report: what the fit measured (log-loss and ECE on the validation rows before and after, the
            out-of-fold log-loss of each method when "auto" chose).
    """

    method: str
    a: np.ndarray
    b: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("a", "b"):
            value = np.array(getattr(self, name), dtype=np.float64)
            value.flags.writeable = False
            object.__setattr__(self, name, value)

    @classmethod
    def identity(cls, n_labels: int) -> Calibration:
        return cls("none", np.ones(n_labels), np.zeros(n_labels))

    def apply(self, P: np.ndarray) -> np.ndarray:
        """(n, L) probabilities -> (n, L) calibrated probabilities (float64; NaN rows stay NaN)."""
        P = np.asarray(P, dtype=np.float64)
        constant = self.a == 0  # labels that never varied in training: their smoothed rate
        if self.method == "none" and not constant.any():
            return P
        if P.ndim != 2 or P.shape[1] != len(self.a):
            raise UserInputError(
                f"calibration expects (n, {len(self.a)}) probabilities; received shape {P.shape}."
            )
        if self.method == "none":
            out = P.copy()
            readable = ~np.isnan(P).any(axis=1)
            out[np.ix_(readable, constant)] = _sigmoid(self.b[constant])
            return out
        # _sigmoid(a * _logit(P) + b), the same operations in the same order, in place (bit for bit equal)
        Z = np.clip(P, _EPS, 1 - _EPS)
        tail = np.negative(Z)
        np.log1p(tail, out=tail)
        np.log(Z, out=Z)
        Z -= tail  # the logit
        Z *= self.a
        Z += self.b
        Z *= 0.5
        np.tanh(Z, out=Z)
        Z += 1.0
        Z *= 0.5
        return Z

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "a": self.a.tolist(),
            "b": self.b.tolist(),
            "report": dict(self.report),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], n_labels: int) -> Calibration:
        """Read ``to_dict``'s output back; a missing record (models written before calibration) is the
        identity."""
        if d is None:
            return cls.identity(n_labels)
        method = d.get("method")
        if method not in _METHODS:
            raise ValueError(f"calibration method must be one of {_METHODS}; received {method!r}")
        a, b = np.asarray(d["a"], dtype=np.float64), np.asarray(d["b"], dtype=np.float64)
        if a.shape != (n_labels,) or b.shape != (n_labels,) or not np.isfinite([a, b]).all():
            raise ValueError(f"calibration needs {n_labels} finite slopes and intercepts")
        return cls(method, a, b, dict(d.get("report", {})))


def _fit_label(
    z: np.ndarray, y: np.ndarray, intercept: bool, iters: int = 50
) -> tuple[float, float]:
    """(a, b) minimising mean log-loss of sigmoid(a z + b) + ridge toward (1, 0), by damped Newton steps."""
    X = np.stack([z, np.ones_like(z)], axis=1) if intercept else z[:, None]  # (n, k)
    w = np.array([1.0, 0.0][: X.shape[1]])
    prior = w.copy()
    n = len(y)

    def loss(w: np.ndarray) -> float:
        s = X @ w
        return float(np.mean(np.logaddexp(0, s) - y * s) + 0.5 * _RIDGE * np.sum((w - prior) ** 2))

    current = loss(w)
    for _ in range(iters):
        p = _sigmoid(X @ w)
        grad = X.T @ (p - y) / n + _RIDGE * (w - prior)
        H = (X * (p * (1 - p))[:, None]).T @ X / n + _RIDGE * np.eye(len(w))
        step = np.linalg.solve(H, grad)
        t = 1.0
        while t > 1e-4 and loss(w - t * step) > current:  # backtracking: never go uphill
            t *= 0.5
        w_new = w - t * step
        new = loss(w_new)
        if current - new < 1e-12:
            break
        w, current = w_new, new
    return float(w[0]), (float(w[1]) if intercept else 0.0)


def _fit(Y: np.ndarray, P: np.ndarray, method: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-label (a, b) for ``method``; a label with too few of either class, or an untrustworthy slope,
    keeps the identity."""
    L = P.shape[1]
    a, b = np.ones(L), np.zeros(L)
    if method == "none":
        return a, b
    Z = _logit(P)
    pos = Y.sum(axis=0)
    for j in range(L):
        if min(pos[j], len(Y) - pos[j]) < _MIN_CLASS:
            continue
        aj, bj = _fit_label(Z[:, j], Y[:, j].astype(np.float64), method == "platt")
        if _A_RANGE[0] <= aj <= _A_RANGE[1] and np.isfinite(bj):
            a[j], b[j] = aj, bj
    return a, b


def _out_of_fold_scores(
    Y: np.ndarray, P: np.ndarray, method: str, seed: int
) -> tuple[float, float]:
    """(log-loss, micro ECE) of ``method`` on rows it was not fitted on (``_AUTO_FOLDS`` seeded row folds)."""
    from brainnet.core.decision.metrics import ece_micro

    if method == "none":
        return log_loss(Y, P), ece_micro(Y, P)
    folds = np.random.default_rng(seed).permutation(len(Y)) % _AUTO_FOLDS
    Q = np.empty_like(P)
    for k in range(_AUTO_FOLDS):
        fit, held = folds != k, folds == k
        a, b = _fit(Y[fit], P[fit], method)
        Q[held] = _sigmoid(a * _logit(P[held]) + b)
    return log_loss(Y, Q), ece_micro(Y, Q)


def constant_rates(trained_on: Any) -> np.ndarray:
    """(m, L) labels the models learned from -> (L,) the smoothed rate (positives + 1) / (m + 2) of every label
    with no positive or no negative among them, NaN for the others."""
    Y = np.asarray(trained_on, dtype=np.float64)
    pos, m = Y.sum(axis=0), Y.shape[0]
    return np.where((pos == 0) | (pos == m), (pos + 1.0) / (m + 2.0), np.nan)


def fit_calibration(
    Y: Any, P: Any, method: str = "auto", *, seed: int = 0, trained_on: Any = None
) -> Calibration:
    """Fit a per-label calibration on validation labels and probabilities.

    Args:
        Y: (n, L) 0/1 labels.
        P: (n, L) probabilities (the out-of-fold ones the thresholds are tuned on).
        method: "temperature", "platt", "none", or "auto" (default): among the calibrations that lower both
            the log-loss and the micro ECE out of fold on these rows, the one with the lowest log-loss; "none"
            when neither does (a log-loss gain that makes the probabilities less calibrated is noise).
        seed: the row folds of "auto".
        trained_on: (m, L) labels of the rows the models learned from (None: no label is made constant). A
            label with no positive or no negative among them gets its smoothed rate (``constant_rates``).

    Returns:
        A ``Calibration`` whose ``report`` holds log-loss and ECE (micro, macro) before and after on these rows.
    """
    from brainnet.core.decision.metrics import ece_macro, ece_micro

    if method not in CALIBRATIONS:
        raise UserInputError(
            f"calibration must be one of {', '.join(CALIBRATIONS)}; received {method!r}."
        )
    Y, P = np.asarray(Y, dtype=np.float64), np.asarray(P, dtype=np.float64)
    report: dict[str, Any] = {"requested": method, "n_rows": int(len(Y))}
    rates = np.full(P.shape[1], np.nan) if trained_on is None else constant_rates(trained_on)
    constant = np.isfinite(rates)
    raw = P
    if constant.any():  # the methods are chosen and fitted on what the other labels need
        P = P.copy()
        P[:, constant] = rates[constant]
    if method == "auto":
        small = len(Y) < 2 * _AUTO_FOLDS
        scores = {
            m: _out_of_fold_scores(Y, P, m, seed) for m in (_METHODS[:1] if small else _METHODS)
        }
        base = scores["none"]
        better = [m for m, (loss, ece) in scores.items() if loss < base[0] and ece < base[1]]
        method = min(better or ["none"], key=lambda m: (scores[m][0], _METHODS.index(m)))
        report["out_of_fold_log_loss"] = {m: round(v[0], 6) for m, v in scores.items()}
        report["out_of_fold_ece_micro"] = {m: round(v[1], 6) for m, v in scores.items()}
    a, b = _fit(Y, P, method)
    a[constant], b[constant] = 0.0, _logit(rates[constant])
    if constant.any():
        report["constant_labels"] = {
            str(j): round(float(rates[j]), 6) for j in np.flatnonzero(constant)
        }
    calibration = Calibration(method, a, b)
    Q = calibration.apply(raw)
    report.update(
        log_loss_before=round(log_loss(Y, raw), 6),
        log_loss_after=round(log_loss(Y, Q), 6),
        ece_micro_before=round(ece_micro(Y, raw), 6),
        ece_micro_after=round(ece_micro(Y, Q), 6),
        ece_macro_before=round(ece_macro(Y, raw), 6),
        ece_macro_after=round(ece_macro(Y, Q), 6),
    )
    return Calibration(method, a, b, report)
