"""The MULAN suite: brainnet's defaults beside five scikit-learn baselines on nine data sets, within a time budget.

Run it from the repository root (``make bench-suite``):

    .venv/bin/python benchmarks/suite.py [--sets yeast,scene] [--seeds 3] [--methods brainnet,rf,et]
        [--budget-minutes 90] [--data-dir ../shared/data] [--out benchmarks/results/suite]

Every data set is read from its MULAN ARFF files and label XML with brainnet's public reader
(``brainnet.core.data.table.read_table``, what ``brainnet train FILE.arff --xml FILE.xml`` uses); a set that cannot
be read is reported with the reader's message and skipped. Each method trains on the train file and is scored on
the test file, for seeds 0..N-1, with one scorer (``brainnet.core.decision.metrics.evaluate``):

- brainnet: ``MultiLabelMLP(seed=s)`` with every default, exactly what ``brainnet train`` fits.
- mlp, logistic, rf, et, hgb: ``brainnet.core.baselines.BaselineClassifier(name)`` with brainnet's default config:
  the same 10 stratified folds, the same recipe (median fill + standardisation), the same decision layer on the
  out-of-fold probabilities (calibration, per-label thresholds for micro-F1), K members averaged.
  ``--baseline-folds K`` gives the baselines K folds instead (for delicious, where 10 do not fit the budget); the
  tables then say "(K folds)" beside the method.

**Isolation and memory.** The parent process reads a set once, then forks one child per method, which runs its
seeds and sends each result back through a pipe. Peak memory is the child's ``ru_maxrss`` (peak resident set,
``resource.getrusage``), which includes what the child shares with the parent at the fork (Python, NumPy and the
data: the "base" printed with each set) and everything the method imports (torch for brainnet) and allocates.

**Time budget.** The run never takes much longer than ``--budget-minutes`` (default 90, the issue's limit for all
nine sets on 2 cores). Each (set, method) pair gets a share of the time left when it starts, in proportion to its
weight (brainnet 3, a baseline 1), so time a small set does not use passes to the next ones (sets run from the
cheapest to the dearest). A pair whose measured estimate for one seed exceeds its share is skipped with that
estimate (gradient boosting times one label's fit, the forests four trees, logistic regression one label); a pair
that would pass its share stops after the seeds it finished; a pair still running at its share is stopped. Every
skip and cut is written under its set's table and in the JSON.

``--into EARLIER`` re-runs a part of an earlier run: the earlier ``EARLIER.json`` is read, the pairs run now replace
its pairs of the same set and method, and the outputs cover both (their headers are both written, the earlier one
under "kept from"), so a change to one method does not cost the whole suite again.

Outputs: the tables on stdout (a table per set beside the reference levels of the issue, Bogatinovski et al. 2022,
measured on re-drawn splits; a summary of mean rank and wins per metric), and ``OUT.json`` (header, every per-seed
result, every skip), ``OUT.csv`` (one row per set, method and seed) and ``OUT.md`` (the tables as markdown).
Timings are wall seconds on whatever else the machine runs: compare within one run. This file is a script;
nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import multiprocessing as mp
import os
import resource
import statistics
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from _tables import (
    MULAN_SETS,
    TableSpec,
    comma_list,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)  # benchmarks/_tables.py
from rich.console import Console

import brainnet
from brainnet.core.baselines import BASELINES, TREES, BaselineClassifier, default_jobs
from brainnet.core.config import TrainConfig
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.table import read_table
from brainnet.core.files import atomic_write_text

ROOT = Path(__file__).resolve().parents[1]
SETS = MULAN_SETS  # the order (tables)
RUN_ORDER = (
    "flags",
    "medical",
    "genbase",
    "enron",
    "scene",
    "yeast",
    "bibtex",
    "tmc2007_500",
    "delicious",
)  # cheapest first, so unused time flows to the dear sets
METHODS = ("brainnet", "mlp", "logistic", "rf", "et", "hgb")
TITLES = {"brainnet": "brainnet", **{n: f"{n} ({BASELINES.get(n).title})" for n in BASELINES}}
WEIGHT = {"brainnet": 3.0}  # share of the budget; baselines 1
KEYS = ("hamming_loss", "micro_f1", "macro_f1", "average_precision", "one_error")
LOWER = {"hamming_loss", "one_error"}
SHORT = {
    "hamming_loss": "Hamming ↓",
    "micro_f1": "micro-F1 ↑",
    "macro_f1": "macro-F1 ↑",
    "average_precision": "AP ↑",
    "one_error": "one-error ↓",
}
# The reference levels: the strongest of 26 published methods per set and metric (Bogatinovski et al.
# 2022, authors' repository), measured on re-drawn splits: levels to reach, not targets on these files.
REFERENCE = {
    "yeast": (0.193, 0.682, 0.483, 0.766, 0.221),
    "scene": (0.077, 0.792, 0.800, 0.889, 0.174),
    "enron": (0.049, 0.610, 0.229, 0.686, 0.232),
    "medical": (0.011, 0.813, 0.400, 0.874, 0.143),
    "genbase": (0.001, 0.986, 0.738, 0.987, 0.000),
    "flags": (0.216, 0.777, 0.690, 0.872, 0.127),
    "tmc2007_500": (0.041, 0.792, 0.710, 0.882, 0.136),
    "bibtex": (0.012, 0.457, 0.340, 0.559, 0.381),
    "delicious": (0.018, 0.369, 0.179, 0.368, 0.346),
}


@dataclass
class Run:
    """One method fitted on one set with one seed, scored on the test file."""

    dataset: str
    method: str
    seed: int
    fit_seconds: float
    peak_mb: float
    metrics: dict[str, float]


@dataclass
class Pair:
    """What happened to one (set, method): its share of the budget, its runs, and why seeds are missing."""

    dataset: str
    method: str
    share_s: float = 0.0
    wall_s: float = 0.0
    estimate_s: float | None = None
    runs: list[Run] = field(default_factory=list)
    note: str = ""
    folds: int = 0  # a baseline's members when --baseline-folds set them; 0: the config's n_models


# ---------------------------------------------------------------------- arguments
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="brainnet's defaults beside five scikit-learn baselines on the MULAN suite."
    )
    parser.add_argument(
        "--sets",
        type=comma_list(SETS, "set"),
        default=list(SETS),
        help=f"comma list of: {', '.join(SETS)} (default: all)",
    )
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0..N-1 (default: 3)")
    parser.add_argument(
        "--methods",
        type=comma_list(METHODS, "method"),
        default=list(METHODS),
        help=f"comma list of: {', '.join(METHODS)} (default: all)",
    )
    parser.add_argument(
        "--budget-minutes",
        type=float,
        default=90.0,
        help="wall-clock budget of the whole run; pairs that would not fit are skipped or cut (default 90)",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=ROOT.parent / "shared" / "data",
        help="the folder holding one sub-folder per set with NAME-train.arff, NAME-test.arff and the XML "
        "(default: ../shared/data)",
    )
    parser.add_argument(
        "--jobs",
        type=int,
        default=default_jobs(),
        help="threads of the forests and of boosting's labels (default: the cores this process may use)",
    )
    parser.add_argument(
        "--baseline-folds",
        type=int,
        default=0,
        metavar="K",
        help="the baselines cross-fit K folds (K members) instead of brainnet's n_models (10), for sets where "
        "10 do not fit the budget (delicious); written beside the method in the tables (default: 10)",
    )
    parser.add_argument(
        "--into",
        default=None,
        metavar="EARLIER",
        help="start from an earlier run's EARLIER.json: the (set, method) pairs run now replace its own, the "
        "rest are kept, and the tables cover both (e.g. brainnet re-run after a change of its defaults)",
    )
    parser.add_argument(
        "--out",
        default=str(ROOT / "benchmarks" / "results" / "suite"),
        help="write OUT.json, OUT.csv and OUT.md (default: benchmarks/results/suite)",
    )
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error(f"--seeds must be >= 1; received {args.seeds}.")
    if args.baseline_folds == 1 or args.baseline_folds < 0:
        parser.error(
            f"--baseline-folds must be >= 2 (or 0: brainnet's); received {args.baseline_folds}."
        )
    if not args.budget_minutes > 0:
        parser.error(f"--budget-minutes must be > 0; received {args.budget_minutes}.")
    if args.jobs < 1:
        parser.error(f"--jobs must be >= 1; received {args.jobs}.")
    return args


# ---------------------------------------------------------------------- data
def read_set(data_dir: Path, name: str):
    """(train, test) Datasets of one MULAN set through brainnet's reader, as ``brainnet train`` reads them."""
    folder = data_dir / name
    train_files = sorted(folder.glob("*-train.arff"))
    test_files = sorted(folder.glob("*-test.arff"))
    xml = sorted(folder.glob("*.xml"))
    if not (train_files and test_files and xml):
        raise FileNotFoundError(
            f"{folder} needs NAME-train.arff, NAME-test.arff and NAME.xml; found "
            f"{sorted(p.name for p in folder.iterdir()) if folder.is_dir() else 'no such folder'}"
        )
    spec = LabelSpec(xml=str(xml[0]))
    train = read_table(train_files[0], spec)
    test = read_table(
        test_files[0],
        spec,
        known_features=train.feature_names,
        known_labels=train.label_names,
    )
    return train, test


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


# ---------------------------------------------------------------------- estimates
def estimate_seconds(method: str, train, jobs: int, folds: int) -> float | None:
    """A measured estimate of one seed's fit time, for the methods that can blow the budget (None: not
    estimated). Times a small part of the work on a member's share of the rows ((folds - 1) / folds) and scales
    it."""
    from threadpoolctl import threadpool_limits

    if method not in ("hgb", "rf", "et", "logistic"):
        return None
    X, Y = np.nan_to_num(train.dense_X()), np.asarray(train.Y)  # the baselines densify too
    rows = np.random.default_rng(0).permutation(len(X))[: len(X) * (folds - 1) // folds]
    X, Y = X[rows], Y[rows]
    varying = np.flatnonzero(Y.min(axis=0) != Y.max(axis=0))
    if not len(varying):
        return None
    j = varying[np.argmax(Y[:, varying].sum(axis=0))]  # the commonest label
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        HistGradientBoostingClassifier,
        RandomForestClassifier,
    )
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    if method == "hgb":
        model, y, scale = HistGradientBoostingClassifier(random_state=0), Y[:, j], len(varying)
        scale *= folds / jobs
    elif method == "logistic":
        X = StandardScaler().fit_transform(X)
        model, y, scale = LogisticRegression(max_iter=2000), Y[:, j], len(varying) * folds
    else:
        forest = RandomForestClassifier if method == "rf" else ExtraTreesClassifier
        model, y, scale = forest(n_estimators=4, random_state=0), Y[:, varying], TREES / 4 / jobs
    with threadpool_limits(1):
        start = time.perf_counter()
        model.fit(X, y)
    return (time.perf_counter() - start) * scale


# ---------------------------------------------------------------------- one pair, in a child process
def _child(conn, method: str, train, test, seeds: int, share: float, jobs: int, folds: int) -> None:
    """Estimate one seed (``estimate_seconds``: here, so the parent never starts OpenMP threads before a fork),
    then fit ``method`` for seeds 0..N-1 while the next seed is expected to fit in ``share`` seconds; send
    ("estimate", s), each Run (as a dict), then ("done", note)."""
    try:
        start, last = time.perf_counter(), 0.0
        estimate = estimate_seconds(method, train, jobs, folds)
        conn.send(("estimate", estimate))
        if estimate is not None and estimate > share:
            conn.send(
                (
                    "done",
                    f"skipped: one seed estimated at {estimate:.0f} s, over its share of the budget "
                    f"({share:.0f} s)",
                )
            )
            return
        for seed in range(seeds):
            elapsed = time.perf_counter() - start
            if seed and elapsed + last > share:
                conn.send(("done", f"{seed} of {seeds} seeds: another would pass its share"))
                return
            t0 = time.perf_counter()
            if method == "brainnet":
                model = brainnet.MultiLabelMLP(seed=seed).fit(train)
                seconds = model.fit_seconds_
            else:
                config = TrainConfig(seed=seed, n_models=folds)
                model = BaselineClassifier(method, config=config, n_jobs=jobs)
                seconds = model.fit(train).fit_seconds_
            scores = model.evaluate(test)
            last = time.perf_counter() - t0
            run = Run("", method, seed, float(seconds), _rss_mb(), scores)
            conn.send(("run", asdict(run)))
        conn.send(("done", ""))
    except Exception as e:  # report it as the pair's note; the suite goes on
        conn.send(("done", f"failed: {type(e).__name__}: {e}"))
        traceback.print_exc()


def run_pair(pair: Pair, train, test, seeds: int, jobs: int, log: Console) -> None:
    """Fork a child for one (set, method) and collect its runs until it finishes or its share is spent."""
    ctx = mp.get_context("fork")  # the child shares the data read once by this process
    parent, child = ctx.Pipe(duplex=False)
    folds = pair.folds or TrainConfig().n_models
    proc = ctx.Process(
        target=_child,
        args=(child, pair.method, train, test, seeds, pair.share_s, jobs, folds),
    )
    start = time.perf_counter()
    proc.start()
    child.close()
    deadline = (
        start + pair.share_s + 5.0
    )  # the child stops itself between seeds; this is the hard stop
    while True:
        left = deadline - time.perf_counter()
        if left <= 0:
            proc.kill()
            pair.note = (
                f"stopped at its share ({pair.share_s:.0f} s) after {len(pair.runs)} seed(s)"
            )
            break
        if not parent.poll(min(left, 1.0)):
            if not proc.is_alive() and not parent.poll():
                pair.note = pair.note or f"the process died (exit code {proc.exitcode})"
                break
            continue
        try:
            kind, payload = parent.recv()
        except EOFError:
            pair.note = pair.note or f"the process died (exit code {proc.exitcode})"
            break
        if kind == "estimate":
            pair.estimate_s = payload
        elif kind == "run":
            run = Run(**{**payload, "dataset": pair.dataset})
            pair.runs.append(run)
            log.print(
                f"  {pair.dataset} {pair.method} seed {run.seed}: fit {run.fit_seconds:.1f} s, "
                f"AP {run.metrics['average_precision']:.4f}, micro-F1 {run.metrics['micro_f1']:.4f}, "
                f"peak {run.peak_mb:.0f} MB"
            )
        else:
            pair.note = payload
            break
    proc.join(timeout=10)
    parent.close()
    pair.wall_s = time.perf_counter() - start


# ---------------------------------------------------------------------- the run
def run_suite(args: argparse.Namespace, log: Console) -> tuple[list[Pair], dict[str, str]]:
    """Every set and method within the budget. Returns (pairs, {set: base memory or why it was skipped})."""
    budget = args.budget_minutes * 60.0
    start = time.perf_counter()
    order = [s for s in RUN_ORDER if s in args.sets]
    pending = [(s, m) for s in order for m in args.methods]
    pairs: list[Pair] = []
    about: dict[str, str] = {}
    for name in order:
        log.print(f"[bold]{name}[/bold]: reading")
        t0 = time.perf_counter()
        try:
            train, test = read_set(args.data_dir, name)
        except Exception as e:  # the reader's message is the report
            about[name] = f"not read: {type(e).__name__}: {e}"
            log.print(f"  {about[name]}", markup=False)
            pending = [p for p in pending if p[0] != name]
            continue
        about[name] = (
            f"{train.n_samples} train / {test.n_samples} test rows, {train.n_features} features, "
            f"{train.n_labels} labels; read in {time.perf_counter() - t0:.1f} s; base memory at the fork "
            f"{_rss_mb():.0f} MB"
        )
        log.print(f"  {about[name]}")
        for method in args.methods:
            weights = sum(WEIGHT.get(m, 1.0) for _, m in pending)
            left = budget - (time.perf_counter() - start)
            pair = Pair(name, method, share_s=max(left, 0.0) * WEIGHT.get(method, 1.0) / weights)
            if method != "brainnet":
                pair.folds = args.baseline_folds
            pending.remove((name, method))
            pairs.append(pair)
            if pair.share_s < 1.0:
                pair.note = "skipped: the budget is spent"
                continue
            run_pair(pair, train, test, args.seeds, args.jobs, log)
            if pair.note:
                log.print(f"  {name} {method}: {pair.note}")
        del train, test
    return pairs, about


# ---------------------------------------------------------------------- tables
def _mean_sd(values: list[float], digits: int = 4) -> str:
    if not values:
        return ""
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def _means(pairs: list[Pair]) -> dict[tuple[str, str], dict[str, float]]:
    """(set, method) -> metric -> mean over its seeds (pairs with at least one run)."""
    return {
        (p.dataset, p.method): {k: statistics.fmean(r.metrics[k] for r in p.runs) for k in KEYS}
        for p in pairs
        if p.runs
    }


def set_table(name: str, pairs: list[Pair], about: str, seeds: int) -> TableSpec:
    spec = TableSpec(
        title=f"{name}: test split, mean ± sd over up to {seeds} seed(s)",
        headers=["method", *(SHORT[k] for k in KEYS), "fit s", "peak MB", "seeds"],
    )
    for p in (p for p in pairs if p.dataset == name):
        if not p.runs:
            spec.notes.append(f"{TITLES[p.method]}: {p.note}")
            continue
        cells = [_mean_sd([r.metrics[k] for r in p.runs]) for k in KEYS]
        cells += [
            _mean_sd([r.fit_seconds for r in p.runs], 1),
            f"{max(r.peak_mb for r in p.runs):.0f}",
            str(len(p.runs)),
        ]
        title = TITLES[p.method] + (f" ({p.folds} folds)" if p.folds else "")
        spec.rows.append([title, *cells])
        if p.note:
            spec.notes.append(f"{TITLES[p.method]}: {p.note}")
    spec.rows.append(
        ["reference (Bogatinovski et al. 2022)", *(f"{v:.3f}" for v in REFERENCE[name]), "", "", ""]
    )
    spec.notes.insert(0, about)
    return spec


def _ranks(values: dict[str, float], lower: bool) -> dict[str, float]:
    """Rank 1 = best; ties share the mean of their ranks."""
    ordered = sorted(values, key=lambda m: values[m] if lower else -values[m])
    ranks: dict[str, float] = {}
    i = 0
    while i < len(ordered):
        j = i
        while j + 1 < len(ordered) and math.isclose(
            values[ordered[j + 1]], values[ordered[i]], abs_tol=1e-12
        ):
            j += 1
        for m in ordered[i : j + 1]:
            ranks[m] = (i + j) / 2 + 1
        i = j + 1
    return ranks


def summary_table(pairs: list[Pair], methods: list[str], sets: list[str]) -> TableSpec:
    """Per method: mean rank and wins (sets where it is best, ties included) per metric, over the sets it ran;
    and the sets where its mean AP reaches the reference level."""
    means = _means(pairs)
    spec = TableSpec(
        title="summary: mean rank (wins) per metric over the sets each method ran",
        headers=["method", *(SHORT[k] for k in KEYS), "sets", "AP ≥ reference"],
    )
    ranks: dict[tuple[str, str], list[float]] = {}
    for name in sets:
        ran = {m: means[(name, m)] for m in methods if (name, m) in means}
        if len(ran) < 2:
            continue
        for k in KEYS:
            for m, r in _ranks({m: v[k] for m, v in ran.items()}, k in LOWER).items():
                ranks.setdefault((m, k), []).append(r)
    for m in methods:
        ran_sets = [s for s in sets if (s, m) in means]
        if not ran_sets:
            continue
        cells = []
        for k in KEYS:
            r = ranks.get((m, k), [])
            cells.append(f"{statistics.fmean(r):.2f} ({sum(v == 1.0 for v in r)})" if r else "")
        reach = sum(means[(s, m)]["average_precision"] >= REFERENCE[s][3] for s in ran_sets)
        spec.rows.append([TITLES[m], *cells, str(len(ran_sets)), f"{reach} of {len(ran_sets)}"])
    spec.notes.append(
        "rank among the methods that ran on a set (1 = best; ties share their mean rank); wins count rank 1, "
        "ties included; a method skipped on a set is ranked on the others only"
    )
    return spec


# ---------------------------------------------------------------------- main
def header(args: argparse.Namespace) -> dict[str, Any]:
    import sklearn

    versions = {"brainnet": brainnet.__version__, "sklearn": sklearn.__version__}
    versions["numpy"] = np.__version__
    threads = f"baselines n_jobs {args.jobs}; OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    return run_header(versions, threads)


def load_earlier(prefix: str) -> tuple[dict[str, Any], list[Pair], dict[str, str]]:
    """(header, pairs with their runs, {set: about}) of an earlier run's ``PREFIX.json`` (``--into``)."""
    path = Path(f"{prefix}.json")
    try:
        data = json.loads(path.read_text("utf-8"))
        runs: dict[tuple[str, str], list[Run]] = {}
        for r in data["runs"]:
            runs.setdefault((r["dataset"], r["method"]), []).append(Run(**r))
        pairs = [Pair(**p, runs=runs.get((p["dataset"], p["method"]), [])) for p in data["pairs"]]
        info = {k: v for k, v in data.items() if k not in ("sets", "pairs", "runs")}
        return info, pairs, dict(data["sets"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise SystemExit(f"--into {prefix}: cannot read {path} as a suite result: {e}") from None


def write_outputs(out: str, info: dict, pairs: list[Pair], about: dict, specs: list) -> None:
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    payload = {
        **info,
        "sets": about,
        "pairs": [{k: v for k, v in asdict(p).items() if k != "runs"} for p in pairs],
        "runs": [asdict(r) for p in pairs for r in p.runs],
    }
    text = json.dumps(payload, indent=1, default=lambda v: None) + "\n"
    atomic_write_text(f"{out}.json", text.replace("NaN", "null"), force=True)
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    keys = sorted({k for p in pairs for r in p.runs for k in r.metrics})
    writer.writerow(["dataset", "method", "seed", "fit_seconds", "peak_mb", *keys])
    for p in pairs:
        for r in p.runs:
            row = [r.dataset, r.method, r.seed, f"{r.fit_seconds:.3f}", f"{r.peak_mb:.1f}"]
            writer.writerow(row + [r.metrics.get(k, "") for k in keys])
    atomic_write_text(f"{out}.csv", buf.getvalue(), force=True)
    heads = [header_lines(info)] + [
        ["kept from an earlier run (--into):", *header_lines(e)] for e in info.get("earlier", [])
    ]
    blocks = ["\n".join(["```", *lines, "```"]) for lines in heads] + [
        to_markdown(s) for s in specs
    ]
    atomic_write_text(f"{out}.md", "\n\n".join(blocks) + "\n", force=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    width = None if sys.stdout.isatty() else 200
    out = Console(highlight=False, width=width)
    log = Console(stderr=True, highlight=False, width=None if sys.stderr.isatty() else 200)
    info = header(args)
    earlier = load_earlier(args.into) if args.into else None
    for line in header_lines(info):
        out.print(line, markup=False)
    start = time.perf_counter()
    pairs, about = run_suite(args, log)
    info["wall_seconds"] = round(time.perf_counter() - start, 1)
    sets, methods = list(args.sets), list(args.methods)
    if earlier is not None:  # the earlier pairs that were not run again, then the new ones
        old_info, old_pairs, old_about = earlier
        new = {(p.dataset, p.method) for p in pairs}
        pairs = [p for p in old_pairs if (p.dataset, p.method) not in new] + pairs
        about = {**old_about, **about}
        info["earlier"] = [{k: v for k, v in old_info.items() if k != "earlier"}]
        info["earlier"] += old_info.get("earlier", [])
        sets = [s for s in SETS if s in about]
        methods = [m for m in METHODS if any(p.method == m for p in pairs)]
    shown = [s for s in SETS if s in sets]
    seeds = max([args.seeds, *(r.seed + 1 for p in pairs for r in p.runs)])
    specs = [set_table(s, pairs, about[s], seeds) if s in about else None for s in shown]
    specs = [s for s in specs if s is not None]
    specs.append(summary_table(pairs, methods, shown))
    for spec in specs:
        out.print(to_rich(spec) if spec.rows else f"{spec.title}")
        for note in spec.notes:
            out.print(f"  {note}", markup=False)
    out.print(f"wall time: {info['wall_seconds']:.0f} s of a {args.budget_minutes:g} min budget")
    write_outputs(args.out, info, pairs, about, specs)
    out.print(f"wrote {args.out}.json, .csv and .md")


if __name__ == "__main__":
    main()
