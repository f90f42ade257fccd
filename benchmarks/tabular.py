"""brainnet's MultiLabelMLP against scikit-learn baselines on the built-in tabular datasets.

Run it from the repository root (or ``make bench``):

    .venv/bin/python benchmarks/tabular.py [--seeds 5] [--markdown out.md]

Other options: ``--datasets yeast,scene``, ``--methods brainnet,brainnet-hamming,sklearn-mlp,
sklearn-ovr`` and ``--json runs.json`` (every per-seed result). Each dataset trains on the standard
MULAN train split and is scored on the test split, for seeds 0..N-1, by one scorer for every method:
``brainnet.core.decision.metrics.evaluate``.

Methods:
    brainnet: ``MultiLabelMLP(seed=s)`` with all defaults, exactly what ``brainnet train DATA`` fits
        (thresholds tuned for micro-F1 on a validation split of the training rows).
    brainnet (hamming): the same with ``threshold_objective="hamming"``.
    sklearn MLP: StandardScaler + ``MLPClassifier((100,), max_iter=500, early_stopping=True,
        random_state=s)``, multi-label natively, labels at probability >= 0.5.
    sklearn OvR logistic: StandardScaler + one-vs-rest ``LogisticRegression(max_iter=2000, C=1)``,
        labels at probability >= 0.5. It is deterministic but still runs once per seed: its fit time
        in the same seed is the reference of the "time / OvR-logistic" ratio, and its metrics' sd is 0.

Fit time is the wall time of ``fit`` (for brainnet: training plus threshold tuning). Machines are
noisy, so compare the ratios, measured side by side in one run. sklearn's ConvergenceWarnings are
silenced and counted. This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import sklearn
import torch
from _tables import (  # benchmarks/_tables.py
    TableSpec,
    comma_list,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)
from rich.console import Console
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.multiclass import OneVsRestClassifier
from sklearn.neural_network import MLPClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import brainnet
from brainnet.cli.report import _LABELS, data_summary
from brainnet.core.data.builtin_tables import DATASETS, load_builtin
from brainnet.core.data.dataset import Dataset
from brainnet.core.decision import metrics
from brainnet.core.decision.thresholds import apply_thresholds
from brainnet.core.files import atomic_write_text

METHODS = {
    "brainnet": "brainnet",
    "brainnet-hamming": "brainnet (hamming)",
    "sklearn-mlp": "sklearn MLP",
    "sklearn-ovr": "sklearn OvR logistic",
}
REFERENCE = "sklearn-ovr"  # the fit time every ratio divides by
EXTRA_ROWS = {"fit_seconds": "fit time (s)", "time_ratio": "time / OvR-logistic"}


@dataclass
class Run:
    """One method fitted on one dataset with one seed, scored on the test split."""

    dataset: str
    method: str
    seed: int
    fit_seconds: float
    convergence_warnings: int
    metrics: dict[str, float]
    time_ratio: float = math.nan  # fit_seconds / the reference's fit_seconds in the same seed

    def value(self, key: str) -> float:
        if key in EXTRA_ROWS:
            return getattr(self, key)
        return self.metrics[key]


@dataclass(frozen=True)
class Check:
    """An acceptance target on the mean over seeds of one method's value."""

    dataset: str
    method: str
    key: str
    op: str
    target: float


CHECKS = (
    Check("yeast", "brainnet", "average_precision", ">=", 0.760),
    Check("yeast", "brainnet", "micro_f1", ">=", 0.660),
    Check("yeast", "brainnet-hamming", "hamming_loss", "<=", 0.200),
    Check("yeast", "brainnet", "fit_seconds", "<", 60.0),
    Check("scene", "brainnet", "micro_f1", ">=", 0.760),
    Check("scene", "brainnet", "average_precision", ">=", 0.870),
    Check("scene", "brainnet-hamming", "hamming_loss", "<=", 0.090),
)
OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
}


# ---------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Benchmark brainnet's MultiLabelMLP against scikit-learn on built-in data.",
    )
    parser.add_argument(
        "--datasets",
        type=comma_list(DATASETS.names(), "dataset"),
        default=["yeast", "scene"],
        help="comma list of built-in datasets (default: yeast,scene)",
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default: 5)")
    parser.add_argument(
        "--methods",
        type=comma_list(list(METHODS), "method"),
        default=list(METHODS),
        help=f"comma list of: {', '.join(METHODS)} (default: all)",
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    parser.add_argument("--json", metavar="FILE", help="write every per-seed result as JSON")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1; received {args.seeds}.")
    return args


# ---------------------------------------------------------------------- fitting
def _timed_fit(fit: Callable[[], Any]) -> tuple[float, int]:
    """Call ``fit()``; returns (wall seconds, ConvergenceWarnings raised). Other warnings still show."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        start = time.perf_counter()
        fit()
        seconds = time.perf_counter() - start
    n_convergence = 0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning):
            n_convergence += 1
        else:
            warnings.showwarning(w.message, w.category, w.filename, w.lineno)
    return seconds, n_convergence


def _sklearn_model(method: str, seed: int) -> Any:
    if method == "sklearn-mlp":
        mlp = MLPClassifier(
            hidden_layer_sizes=(100,), max_iter=500, early_stopping=True, random_state=seed
        )
        return make_pipeline(StandardScaler(), mlp)
    ovr = OneVsRestClassifier(LogisticRegression(max_iter=2000, C=1.0))
    return make_pipeline(StandardScaler(), ovr)


def run_method(method: str, train: Dataset, test: Dataset, seed: int, name: str) -> Run:
    """Fit ``method`` on ``train`` with ``seed`` and score it on ``test``."""
    if method.startswith("brainnet"):
        objective = "hamming" if method == "brainnet-hamming" else "micro_f1"
        model = brainnet.MultiLabelMLP(seed=seed, threshold_objective=objective)
        seconds, n_warn = _timed_fit(lambda: model.fit(train))
        scores = model.evaluate(test)
    else:
        model = _sklearn_model(method, seed)
        seconds, n_warn = _timed_fit(lambda: model.fit(train.X, train.Y))
        P = np.asarray(model.predict_proba(test.X), dtype=np.float64)  # (n, L)
        scores = metrics.evaluate(test.Y, P, apply_thresholds(P, 0.5))
    return Run(name, method, seed, seconds, n_warn, scores)


def run_dataset(name: str, methods: list[str], seeds: int, log: Console) -> list[Run]:
    """Every method and seed on one dataset; fills in the per-seed time ratios."""
    train, test = load_builtin(name, "train"), load_builtin(name, "test")
    log.print(data_summary(train))
    log.print(data_summary(test))
    runs: list[Run] = []
    for seed in range(seeds):
        batch = [run_method(method, train, test, seed, name) for method in methods]
        reference = {run.method: run.fit_seconds for run in batch}.get(REFERENCE)
        for run in batch:
            if reference:
                run.time_ratio = run.fit_seconds / reference
            log.print(
                f"  {name} seed {seed} {METHODS[run.method]}: {run.fit_seconds:.2f} s, "
                f"micro-F1 {run.metrics['micro_f1']:.4f}"
            )
        runs += batch
    return runs


# ---------------------------------------------------------------------- tables
def _values(runs: list[Run], dataset: str, method: str, key: str) -> list[float]:
    return [r.value(key) for r in runs if r.dataset == dataset and r.method == method]


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else math.nan


def _fmt(value: float | None) -> str:
    if value is None:
        return ""
    return "n/a" if math.isnan(value) else f"{value:.4f}"


def _mean_sd(values: list[float], digits: int = 4) -> str:
    """'mean ± sample sd' over seeds; the mean alone for a single seed."""
    mean = _mean(values)
    if math.isnan(mean):
        return "n/a"
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def dataset_table(name: str, runs: list[Run], methods: list[str], seeds: int) -> TableSpec:
    """Rows: the metrics, fit time and time ratio; columns: each method and the best published."""
    published = DATASETS.get(name).published
    spec = TableSpec(
        title=f"{name}: test split, mean ± sd over {seeds} seed(s)",
        headers=["metric", "", *(METHODS[m] for m in methods), "best published"],
    )
    for key in (*metrics.METRIC_KEYS, *EXTRA_ROWS):
        label = _LABELS.get(key) or EXTRA_ROWS[key]
        arrow = "↓" if key in metrics.LOWER_IS_BETTER or key in EXTRA_ROWS else "↑"
        digits = 2 if key in EXTRA_ROWS else 4  # timings are noisier than 1e-4
        cells = [_mean_sd(_values(runs, name, m, key), digits) for m in methods]
        spec.rows.append([label, arrow, *cells, _fmt(published.get(key))])
    for method in methods:
        counts = [r.convergence_warnings for r in runs if r.dataset == name and r.method == method]
        if method.startswith("sklearn"):
            spec.notes.append(
                f"{METHODS[method]}: {sum(counts)} ConvergenceWarning(s) over {len(counts)} fit(s)"
            )
    if REFERENCE not in methods:
        spec.notes.append(f"time ratios need {REFERENCE} in --methods")
    return spec


def acceptance_table(runs: list[Run]) -> TableSpec:
    """Each check of CHECKS whose dataset and method ran: measured mean, target, PASS/FAIL."""
    spec = TableSpec(title="acceptance", headers=["check", "measured", "target", "result"])
    for check in CHECKS:
        values = _values(runs, check.dataset, check.method, check.key)
        if not values:
            spec.notes.append(f"skipped (not run): {_check_label(check)}")
            continue
        measured = _mean(values)
        passed = not math.isnan(measured) and OPS[check.op](measured, check.target)
        spec.rows.append(
            [
                _check_label(check),
                f"{measured:.{2 if check.key in EXTRA_ROWS else 4}f}",
                f"{check.op} {check.target:.3f}",
                "PASS" if passed else "FAIL",
            ]
        )
    if not spec.rows:
        spec.notes.insert(0, "no check applies to the datasets and methods run")
    return spec


def _check_label(check: Check) -> str:
    label = _LABELS.get(check.key) or EXTRA_ROWS[check.key]
    return f"{check.dataset}: {METHODS[check.method]} {label}"


# ---------------------------------------------------------------------- main
def header() -> dict[str, Any]:
    """The command line, versions, machine and date, printed at the top and saved with results."""
    versions = {
        "brainnet": brainnet.__version__,
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "numpy": np.__version__,
    }
    device = "cuda" if torch.cuda.is_available() else "cpu"
    return run_header(versions, f"torch {torch.get_num_threads()}; brainnet device: {device}")


def _json_safe(value: Any) -> Any:
    """NaN -> None, recursively, so the JSON is standard."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_safe(v) for v in value]
    return value


def write_outputs(args: argparse.Namespace, info: dict, runs: list[Run], specs: list) -> None:
    if args.markdown:
        blocks = ["\n".join(["```", *header_lines(info), "```"])]
        text = "\n\n".join(blocks + [to_markdown(s) for s in specs]) + "\n"
        atomic_write_text(args.markdown, text, force=True)
    if args.json:
        payload = _json_safe({**info, "runs": [asdict(r) for r in runs]})
        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n", force=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    width = None if sys.stdout.isatty() else 200  # rich wraps piped output at 80 columns
    out, log = Console(highlight=False, width=width), Console(stderr=True, highlight=False)
    info = header()
    for line in header_lines(info):
        out.print(line, markup=False)
    runs: list[Run] = []
    for name in args.datasets:
        runs += run_dataset(name, args.methods, args.seeds, log)
    specs = [dataset_table(n, runs, args.methods, args.seeds) for n in args.datasets]
    specs.append(acceptance_table(runs))
    for spec in specs:
        out.print(to_rich(spec) if spec.rows else f"{spec.title}: nothing to show")
        for note in spec.notes:
            out.print(f"  {note}", markup=False)
    write_outputs(args, info, runs, specs)


if __name__ == "__main__":
    main()
