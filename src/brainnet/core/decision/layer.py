"""The decision layer fitted on validation probabilities: calibration, then per-label thresholds and the top-1 rule.

One function, used by the one estimator (``MultiLabelEstimator``) and by the scikit-learn baselines
(``brainnet.core.baselines``), so that every model compared is turned into label sets by the same rule: the same
calibration choice, the same threshold objective, shrinkage and fallback, the same ``at_least_one`` default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from brainnet.core.decision.calibration import Calibration, fit_calibration
from brainnet.core.decision.thresholds import ThresholdResult, apply_thresholds, tune_thresholds


@dataclass(frozen=True, eq=False)
class DecisionLayer:
    """A fitted decision layer.

    Attributes:
        calibration: per-label calibration applied to every probability before the thresholds.
        thresholds: the tuned per-label thresholds (on calibrated probabilities).
        at_least_one: whether a row with no label over its threshold gets its top label.
    """

    calibration: Calibration
    thresholds: ThresholdResult
    at_least_one: bool

    @classmethod
    def fit(
        cls,
        cfg: Any,
        Y_train: np.ndarray,
        Y_val: np.ndarray,
        P_val: np.ndarray,
        trained_on: np.ndarray | None = None,
    ) -> DecisionLayer:
        """Fit on (n_val, L) validation (out-of-fold) probabilities ``P_val`` and their labels ``Y_val``.

        Reads ``cfg.calibration``, ``cfg.threshold_objective``, ``cfg.min_positives``,
        ``cfg.threshold_shrinkage``, ``cfg.at_least_one`` and ``cfg.seed``. ``at_least_one`` unset: on when
        every training example (``Y_train``, (n, L)) has a label (an empty prediction is then never right).
        ``trained_on``: the labels of the rows the models learned from (None: ``Y_train``); a label constant
        there gets a constant probability, its smoothed rate (``calibration.py``).
        """
        at_least_one = cfg.at_least_one
        if at_least_one is None:
            at_least_one = bool(Y_train.sum(axis=1).min() > 0)
        calibration = fit_calibration(
            Y_val,
            P_val,
            cfg.calibration,
            seed=cfg.seed,
            trained_on=Y_train if trained_on is None else trained_on,
        )
        thresholds = tune_thresholds(
            Y_val,
            calibration.apply(P_val),
            cfg.threshold_objective,
            min_positives=cfg.min_positives,
            shrinkage=cfg.threshold_shrinkage,
            at_least_one=bool(at_least_one),
        )
        return cls(calibration, thresholds, bool(at_least_one))

    def decide(self, P: np.ndarray) -> np.ndarray:
        """(n, L) calibrated probabilities -> (n, L) uint8 label sets."""
        return apply_thresholds(P, self.thresholds.thresholds, at_least_one=self.at_least_one)
