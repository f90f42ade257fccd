"""``brainnet tune``: search an estimator's settings with Optuna (imported only when a study runs).

``tune(estimator, X, Y, trials=30, out="runs/m")`` runs a resumable study (``study.py``) over a search space
per kind of data (``space.py``) and returns the best settings retrained as an ordinary model.
"""

from brainnet.tune.study import PRUNERS, TuneResult, tune

__all__ = ["PRUNERS", "TuneResult", "tune"]
