"""scikit-learn baselines fitted and decided exactly as brainnet is, so a user sees whether a network is the right tool.

Five baselines, by name (``BASELINES``): ``mlp`` (``MLPClassifier``), ``logistic`` (one-vs-rest
``LogisticRegression``), ``rf`` (``RandomForestClassifier``) and ``et`` (``ExtraTreesClassifier``), each one
multi-output forest for all labels, and ``hgb``
(``HistGradientBoostingClassifier`` per label through ``MultiOutputClassifier``). Each goes through brainnet's own
protocol, so only the model differs:

1. **The same rows.** ``fit_plan`` of the one estimator with the same config: by default the same K = ``n_models``
   stratified multi-label folds brainnet cross-fits on (same seed, same folds), member k trained on the other
   folds with seed ``seed + k``; a given validation set or a hold-out (``n_models=1``) likewise.
2. **The same preprocessing.** brainnet's table recipe (``TableRecipe``): training medians fill missing values,
   then standardisation, fitted on the training rows; every baseline gets that matrix. Trees do not need the
   scaling and are invariant to it (a per-feature increasing map moves the split points, not the splits).
3. **The same decision rule.** The out-of-fold probabilities of every training row go through
   ``DecisionLayer.fit`` (calibration, per-label thresholds for ``threshold_objective``, shrinkage, fallback and
   the top-1 rule): the code brainnet's estimator runs. Prediction averages the K members' probabilities.
4. **The same metric suite** (``brainnet.core.decision.metrics.evaluate``).

A label constant in a member's training rows (a rare label absent from a fold) is not given to the scikit-learn
model (``LogisticRegression`` and ``HistGradientBoostingClassifier`` refuse a single class); that member predicts
the constant (probability 0 or 1) for it. A label constant in every member's rows then gets its smoothed training
rate from the decision layer, as brainnet's networks do (``core/decision/calibration.py``).

Sizes: the MLP is scikit-learn's default ((100,), 200 epochs of Adam; ConvergenceWarnings are silenced);
logistic regression has C = 1; the forests grow 500 trees in all, ``ceil(500 / K)`` in each of the K members (the
average of the members is a forest of about 500 trees, for the cost of one); gradient boosting keeps scikit-learn's
defaults (100 iterations). Threads: the forests use ``n_jobs`` threads; boosting fits ``n_jobs`` labels at once,
each on one OpenMP thread (several OpenMP threads per fit were up to 20x slower on a busy 2-core machine).

Seeds are fixed (member k: ``seed + k``), so the same data, config and machine give the same numbers.
"""

from __future__ import annotations

import functools
import math
import os
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from brainnet.core.config import TrainConfig
from brainnet.core.decision import metrics
from brainnet.core.decision.layer import DecisionLayer
from brainnet.core.errors import UserInputError
from brainnet.core.recipe import TableRecipe
from brainnet.core.registry import Registry

TREES = 500  # trees of a forest in all, shared by the cross-fitted members


@dataclass(frozen=True)
class Baseline:
    """A scikit-learn model as a baseline.

    Attributes:
        name: the registered name (``--baselines rf,et``).
        title: shown in tables ("random forest").
        build: ``(seed, n_jobs, n_members) -> estimator``: one unfitted member; it takes (n, d) features and
            (n, k) 0/1 labels (k >= 1, none constant) and its ``predict_proba`` is read by ``_positive_proba``.
        help: its settings in words.
        per_label: the model takes 2-D targets even for one label (``MultiOutputClassifier``).
    """

    name: str
    title: str
    build: Callable[[int, int, int], Any]
    help: str
    per_label: bool = False


BASELINES: Registry[Baseline] = Registry("baseline")


def _register(name: str, title: str, help: str, per_label: bool = False) -> Callable:
    def add(build: Callable[[int, int, int], Any]) -> Callable:
        BASELINES.register(name)(Baseline(name, title, build, help, per_label))
        return build

    return add


@_register("mlp", "sklearn MLP", "MLPClassifier((100,)), scikit-learn's defaults (200 epochs)")
def _mlp(seed: int, n_jobs: int, n_members: int) -> Any:
    from sklearn.neural_network import MLPClassifier

    # no early_stopping: it scores exact-match accuracy on 10 % of the rows, which stays near 0 on sets with
    # many labels and stops training after ~10 epochs (medical: out-of-fold AP 0.16 with it, 0.57 without)
    return MLPClassifier(hidden_layer_sizes=(100,), random_state=seed)


@_register("logistic", "OvR logistic", "one-vs-rest LogisticRegression(C=1, max_iter=2000)")
def _logistic(seed: int, n_jobs: int, n_members: int) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier

    # n_jobs=1: lbfgs takes well under a second per label; joblib's worker processes take longer to start
    return OneVsRestClassifier(LogisticRegression(C=1.0, max_iter=2000, random_state=seed))


@_register("rf", "random forest", f"RandomForestClassifier({TREES} trees in all)")
def _rf(seed: int, n_jobs: int, n_members: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier

    trees = math.ceil(TREES / n_members)
    return RandomForestClassifier(n_estimators=trees, n_jobs=n_jobs, random_state=seed)


@_register("et", "extra trees", f"ExtraTreesClassifier({TREES} trees in all)")
def _et(seed: int, n_jobs: int, n_members: int) -> Any:
    from sklearn.ensemble import ExtraTreesClassifier

    trees = math.ceil(TREES / n_members)
    return ExtraTreesClassifier(n_estimators=trees, n_jobs=n_jobs, random_state=seed)


@_register(
    "hgb",
    "gradient boosting",
    "HistGradientBoostingClassifier (defaults) per label, MultiOutputClassifier",
    per_label=True,
)
def _hgb(seed: int, n_jobs: int, n_members: int) -> Any:
    return _ThreadedMultiOutput(_one_thread_hgb()(random_state=seed), n_jobs=n_jobs)


@functools.cache
def _one_thread_hgb() -> type:
    """HistGradientBoostingClassifier fitting and predicting on one OpenMP thread (labels run in parallel)."""
    from sklearn.ensemble import HistGradientBoostingClassifier
    from threadpoolctl import threadpool_limits

    class OneThreadHGB(HistGradientBoostingClassifier):
        def fit(self, X, y, *args, **kwargs):
            with threadpool_limits(1, user_api="openmp"):
                return super().fit(X, y, *args, **kwargs)

        def predict_proba(self, X):
            with threadpool_limits(1, user_api="openmp"):
                return super().predict_proba(X)

    return OneThreadHGB


class _ThreadedMultiOutput:
    """``MultiOutputClassifier`` run on joblib's threading backend (no worker processes to start or to count)."""

    def __init__(self, estimator: Any, n_jobs: int) -> None:
        from sklearn.multioutput import MultiOutputClassifier

        self.model = MultiOutputClassifier(estimator, n_jobs=n_jobs)

    def fit(self, X: np.ndarray, Y: np.ndarray) -> _ThreadedMultiOutput:
        from joblib import parallel_backend

        with parallel_backend("threading"):
            self.model.fit(X, Y)
        return self

    def predict_proba(self, X: np.ndarray) -> list[np.ndarray]:
        from joblib import parallel_backend

        with parallel_backend("threading"):
            return self.model.predict_proba(X)


def baseline_names(text: str | list[str] | None) -> list[str]:
    """``"rf,et"``, a list of names, ``"all"`` or None (all) -> registered names, in the order given."""
    if text is None or text == "all" or text == ["all"]:
        return BASELINES.names()
    items = text.split(",") if isinstance(text, str) else list(text)
    names = [item.strip() for item in items if item.strip()]
    if not names:
        raise UserInputError(
            f"expected baseline names separated by commas; received {text!r}. Available: "
            f"{', '.join(BASELINES.names())} (or all)."
        )
    for name in names:
        BASELINES.get(name)  # an unknown name lists the known ones
    return list(dict.fromkeys(names))


def default_jobs() -> int:
    """The cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# ---------------------------------------------------------------------- one member
def _dense(X: Any) -> np.ndarray:
    """Features as a dense float array (a sparse matrix is densified: every baseline here accepts dense)."""
    return np.asarray(X.toarray() if hasattr(X, "toarray") else X)


def _positive_proba(P: Any, k: int) -> np.ndarray:
    """A scikit-learn ``predict_proba`` for k 0/1 labels -> (n, k) probabilities of the positive class.

    Forests and ``MultiOutputClassifier`` give a list of k (n, 2) arrays; the MLP and one-vs-rest give (n, k) for
    several labels; every model given one label as a 1-D target gives (n, 2).
    """
    if isinstance(P, list):
        return np.column_stack([p[:, 1] for p in P])
    P = np.asarray(P)
    return P[:, 1:] if k == 1 else P


@dataclass
class _Member:
    """One fitted member: the scikit-learn model on the labels that vary in its training rows."""

    model: Any
    varying: np.ndarray  # (k,) label indices the model predicts
    constant: (
        np.ndarray
    )  # (L,) the value of every label constant in the training rows (others: unused)

    @classmethod
    def fit(cls, spec: Baseline, Z: np.ndarray, Y: np.ndarray, seed: int, n_jobs: int, k: int):
        from sklearn.exceptions import ConvergenceWarning

        varying = np.flatnonzero(Y.min(axis=0) != Y.max(axis=0))
        constant = Y[0].astype(np.float64)
        model = None
        if len(varying):
            y = Y[:, varying]
            model = spec.build(seed, n_jobs, k)
            with warnings.catch_warnings():  # the MLP's 200 epochs end before its tolerance is met
                warnings.simplefilter("ignore", ConvergenceWarning)
                model.fit(Z, y[:, 0] if len(varying) == 1 and not spec.per_label else y)
        return cls(model, varying, constant)

    def predict_proba(self, Z: np.ndarray) -> np.ndarray:
        P = np.tile(self.constant, (len(Z), 1))  # (n, L)
        if self.model is not None:
            P[:, self.varying] = _positive_proba(self.model.predict_proba(Z), len(self.varying))
        return P


# ---------------------------------------------------------------------- the classifier
class BaselineClassifier:
    """A scikit-learn baseline trained, thresholded and scored the way brainnet's estimator is.

    Args:
        baseline: a name in ``BASELINES``: "mlp", "logistic", "rf", "et", "hgb".
        config: the brainnet ``TrainConfig`` whose fit plan (``n_models`` folds or ``val_fraction`` hold-out,
            ``seed``), imputation and decision layer (``threshold_objective``, ``calibration``,
            ``min_positives``, ``threshold_shrinkage``, ``at_least_one``) the baseline follows. Default:
            brainnet's defaults.
        n_jobs: threads for the forests and for boosting's labels (default: the cores this process may use).

    Fitted attributes:
        members_: the K fitted members (their probabilities are averaged).
        decision_: the ``DecisionLayer`` (calibration, thresholds, top-1 rule) fitted on ``oof_proba_``.
        oof_proba_: (n_val, L) uncalibrated out-of-fold (or validation) probabilities the layer was fitted on.
        val_metrics_: the metric suite on those rows with the tuned decisions.
        validation_: which rows, in words (the estimator's own description).
        label_names_, fit_seconds_ (members and decision layer), n_val_, notes_.
    """

    def __init__(
        self, baseline: str = "rf", *, config: Any = None, n_jobs: int | None = None
    ) -> None:
        self.baseline = baseline
        self.config = config
        self.n_jobs = n_jobs

    def fit(
        self, X: Any, Y: Any = None, *, validation: Any = None, **reading: Any
    ) -> BaselineClassifier:
        """Fit every member on its training rows and the decision layer on the out-of-fold probabilities.

        Args:
            X, Y, validation, reading: as ``MultiLabelEstimator.fit`` for tables.

        Returns:
            self.
        """
        # the estimator's own plan and recipe
        from brainnet.core.estimator import prepare_fit, trained_rows

        spec = BASELINES.get(self.baseline)
        cfg = self.config if self.config is not None else TrainConfig()
        n_jobs = self.n_jobs or default_jobs()
        if not isinstance(n_jobs, int) or n_jobs < 1:
            raise UserInputError(f"n_jobs must be an integer >= 1; received {self.n_jobs!r}.")
        start = time.perf_counter()
        recipe = TableRecipe()
        data = recipe.training_data(X, Y, **reading)
        if validation is not None:
            validation = recipe.validation_data(validation, data)
        self.label_names_ = recipe.label_names(data)
        Y_train = recipe.labels(data)
        pool, plan, self.validation_, notes = prepare_fit(recipe, data, validation, cfg)
        Z = _dense(pool.X)  # (n, d) the matrix brainnet's networks see
        Y_pool = recipe.labels(pool)
        P_sum, n_pred = np.zeros(Y_pool.shape), np.zeros(len(Y_pool))
        self.members_ = []
        for k, (tr, va) in enumerate(plan):
            member = _Member.fit(spec, Z[tr], Y_pool[tr], cfg.seed + k, n_jobs, len(plan))
            self.members_.append(member)
            P_sum[va] += member.predict_proba(Z[va])
            n_pred[va] += 1
        scored = n_pred > 0
        Y_val, self.oof_proba_ = Y_pool[scored], P_sum[scored] / n_pred[scored, None]
        self.decision_ = DecisionLayer.fit(
            cfg, Y_train, Y_val, self.oof_proba_, Y_pool[trained_rows(plan)]
        )
        P_val = self.decision_.calibration.apply(self.oof_proba_)
        self.val_metrics_ = metrics.evaluate(Y_val, P_val, self.decision_.decide(P_val))
        self.recipe_, self.n_val_, self.notes_ = recipe, int(scored.sum()), notes
        self.fit_seconds_ = time.perf_counter() - start
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "members_"):
            raise UserInputError(
                f"this BaselineClassifier({self.baseline!r}) is not fitted yet; call 'fit' first."
            )

    def predict_proba(self, X: Any) -> np.ndarray:
        """(n, d) features or a Dataset -> (n, L) calibrated probabilities, the mean over the members."""
        self._check_fitted()
        data = self.recipe_.inputs(X, self.label_names_)
        return self._proba(data)

    def _proba(self, data: Any) -> np.ndarray:
        Z = _dense(self.recipe_.encode(data).X)
        P = np.mean([m.predict_proba(Z) for m in self.members_], axis=0)
        return self.decision_.calibration.apply(P)

    def predict(self, X: Any) -> np.ndarray:
        """(n, L) uint8 label sets: the tuned thresholds and the top-1 rule."""
        return self.decision_.decide(self.predict_proba(X))

    def evaluate(self, X: Any, Y: Any = None) -> dict[str, float]:
        """The metric suite on labelled data (a Dataset, or features and Y)."""
        self._check_fitted()
        data = self.recipe_.inputs(X, self.label_names_)
        labels = data.Y if Y is None else np.asarray(Y)
        if labels is None:
            raise UserInputError("evaluate needs labels; the data has none.")
        P = self._proba(data)
        return metrics.evaluate(labels, P, self.decision_.decide(P))


# ---------------------------------------------------------------------- comparison
def compare(
    X: Any,
    Y: Any = None,
    *,
    baselines: str | list[str] | None = None,
    estimator: Any = None,
    validation: Any = None,
    test: Any = None,
    n_jobs: int | None = None,
    progress: Callable[[str, dict[str, Any]], None] | None = None,
    **reading: Any,
) -> dict[str, Any]:
    """A brainnet estimator beside the baselines on the same data, folds and decision rule.

    Args:
        X, Y: training data (a Dataset, or features and 0/1 labels).
        baselines: names (``"rf,et"`` or a list); default: all five.
        estimator: a brainnet table estimator (``brainnet.MultiLabelMLP(...)``), fitted on this data or not (it
            is then fitted); its config sets the baselines' folds, seed and decision layer. None: only the
            baselines, with brainnet's default config.
        validation: explicit validation data, as for ``fit``.
        test: held-out data (a Dataset, or (X_test, Y_test)) scored by every method.
        n_jobs: threads (default: the cores this process may use).
        progress: called with (name, record) after each method.

    Returns:
        The record ``brainnet train --baselines`` saves as "baselines" in ``brainnet.json``: ``validation``
        (which rows, in words), ``n_val``, ``threshold_objective`` and ``methods``: name -> {"title",
        "fit_seconds", "validation_metrics", and "test_metrics" with ``test``}, brainnet first.
    """
    names = baseline_names(baselines)
    cfg = estimator.config if estimator is not None else TrainConfig()
    test_x, test_y = test if isinstance(test, tuple) else (test, None)
    methods: dict[str, dict[str, Any]] = {}
    if estimator is not None:
        if not hasattr(estimator, "models_"):
            estimator.fit(X, Y, validation=validation, **reading)
        methods["brainnet"] = _record(
            "brainnet", estimator.fit_seconds_, estimator.val_metrics_, estimator, test_x, test_y
        )
    validation_text, n_val = (
        (estimator.validation_, estimator.n_val_) if estimator is not None else ("", 0)
    )
    for name in names:
        model = BaselineClassifier(name, config=cfg, n_jobs=n_jobs)
        model.fit(X, Y, validation=validation, **reading)
        validation_text, n_val = model.validation_, model.n_val_
        methods[name] = _record(
            BASELINES.get(name).title,
            model.fit_seconds_,
            model.val_metrics_,
            model,
            test_x,
            test_y,
        )
        if progress is not None:
            progress(name, methods[name])
    return {
        "validation": validation_text,
        "n_val": n_val,
        "threshold_objective": cfg.threshold_objective,
        "methods": methods,
    }


def _record(title: str, seconds: float, val: dict, model: Any, test_x: Any, test_y: Any) -> dict:
    record = {"title": title, "fit_seconds": round(float(seconds), 3), "validation_metrics": val}
    if test_x is not None:
        record["test_metrics"] = model.evaluate(test_x, test_y)
    return record
