"""The cross-fitted ensemble trained one member after another against the same members trained together as one
batched network (``batched_ensemble``), on the MULAN yeast split, in one process, side by side.

    .venv/bin/python benchmarks/ensemble.py [--data DIR] [--seeds 1] [--threads 1] [--epochs N] [--repeats 1]
        [--predict-rows 10000] [--markdown out.md]

``--data``: a directory holding ``train.csv`` and ``test.csv`` with the labels in the last ``--labels`` columns
(default: ``../shared/data/yeast`` when it exists, else the built-in yeast, which is the same split). Each seed
fits ``MultiLabelMLP(seed=s)`` with every default but ``batched_ensemble``, sequential then batched (``--repeats``
alternates them again, so a change of load on a shared machine hits both), and scores the test split. The last
table times ``predict_proba`` on ``--predict-rows`` rows (the test rows repeated) for the batched model against
scikit-learn's ``MLPClassifier((100,))`` (``predict_proba``, after ``fit``), in the same process: median of 5. Before the timings both paths fit once
with one epoch (imports and first calls). "training loops only" is ``fit_seconds_`` (the members' training, without
the fit plan, out-of-fold probabilities, calibration and thresholds, which both paths share).

``--epochs N`` caps every member at N epochs (a quick per-epoch speed ratio; AP is then not the default's).
Machines are noisy: compare the ratios. This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

import brainnet
from brainnet.core.data.dataset import Dataset

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import print_and_write  # noqa: E402

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "yeast"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=SHARED if SHARED.is_dir() else None)
    p.add_argument("--labels", type=int, default=14, help="label columns at the end (yeast: 14)")
    p.add_argument("--seeds", type=int, default=1)
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument("--epochs", type=int, default=None, help="cap epochs (speed only)")
    p.add_argument("--repeats", type=int, default=1, help="sequential/batched pairs per seed")
    p.add_argument("--predict-rows", type=int, default=10_000)
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    if args.seeds < 1 or args.repeats < 1 or args.threads < 1:
        p.error("--seeds, --repeats and --threads must be >= 1")
    return args


def load(args: argparse.Namespace) -> tuple[Dataset, Dataset, str]:
    from brainnet.core.data.labels import LabelSpec
    from brainnet.core.data.table import read_table

    if args.data is None:
        return read_table("yeast"), read_table("yeast", split="test"), "built-in yeast"
    spec = LabelSpec(label_columns=args.labels)
    train = read_table(args.data / "train.csv", spec)
    test = read_table(args.data / "test.csv", spec)
    return train, test, str(args.data)


def fit(train: Dataset, test: Dataset, seed: int, batched: bool, epochs: int | None) -> dict:
    extra = {"epochs": epochs} if epochs else {}
    model = brainnet.MultiLabelMLP(seed=seed, batched_ensemble=batched, **extra)
    start = time.perf_counter()
    model.fit(train)
    seconds = time.perf_counter() - start
    scores = model.evaluate(test)
    return {
        "seconds": seconds,
        "loop": model.fit_seconds_,
        "ap": scores["average_precision"],
        "micro_f1": scores["micro_f1"],
        "member_epochs": sum(t["epochs_run"] for t in model.training_),
        "max_epochs": max(t["epochs_run"] for t in model.training_),
        "model": model,
    }


def predict_race(model: brainnet.MultiLabelMLP, train: Dataset, test: Dataset, rows: int) -> dict:
    """Median seconds of 5 ``predict_proba`` calls on ``rows`` rows: brainnet, the same members one by one,
    and scikit-learn's MLPClassifier."""
    import warnings

    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X = np.tile(test.X, (rows // len(test.X) + 1, 1))[:rows]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sk = make_pipeline(StandardScaler(), MLPClassifier((100,), max_iter=500, random_state=0))
        sk.fit(train.X, train.Y)

    def median(f) -> float:
        f()
        times = []
        for _ in range(5):
            start = time.perf_counter()
            f()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    engine = model._engine()
    cfg, recipe = model.config, model.recipe_
    data = recipe.encode(recipe.inputs(X, model.label_names_))
    one_by_one = lambda: [engine.predict(m, cfg, recipe, data) for m in model.models_]  # noqa: E731
    return {
        "brainnet": median(lambda: model.predict_proba(X)),
        "members one by one (engine only)": median(one_by_one),
        "sklearn MLPClassifier(100)": median(lambda: sk.predict_proba(X)),
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    train, test, where = load(args)
    print(f"# {' '.join(sys.argv)}")
    print(
        f"data: {where} ({len(train)} train, {len(test)} test rows); torch {torch.__version__}, "
        f"{args.threads} thread(s); brainnet {brainnet.__version__}"
    )
    for batched in (False, True):  # imports and first-call costs out of the timings
        fit(train, test, 0, batched, 1)
    rows = []
    for seed in range(args.seeds):
        for _ in range(args.repeats):
            seq = fit(train, test, seed, False, args.epochs)
            bat = fit(train, test, seed, True, args.epochs)
            rows.append((seed, seq, bat))
            print(
                f"seed {seed}: loops {seq['loop']:.2f} / {bat['loop']:.2f} s | "
                f"sequential {seq['seconds']:.2f} s AP {seq['ap']:.4f} "
                f"({seq['member_epochs']} member-epochs) | batched {bat['seconds']:.2f} s AP {bat['ap']:.4f} "
                f"({bat['member_epochs']} member-epochs, {bat['max_epochs']} epochs) | ratio "
                f"{bat['seconds'] / seq['seconds']:.3f}",
                flush=True,
            )
    lines = [
        "| seed | sequential s | batched s | batched / sequential | training loops only: ratio | seq. member-epochs | batched member-epochs | "
        "seq. test AP | batched test AP | seq. micro-F1 | batched micro-F1 |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for seed, s, b in rows:
        lines.append(
            f"| {seed} | {s['seconds']:.2f} | {b['seconds']:.2f} | {b['seconds'] / s['seconds']:.3f} | "
            f"{b['loop'] / s['loop']:.3f} | "
            f"{s['member_epochs']} | {b['member_epochs']} | {s['ap']:.4f} | {b['ap']:.4f} | "
            f"{s['micro_f1']:.4f} | {b['micro_f1']:.4f} |"
        )
    ratios = [b["seconds"] / s["seconds"] for _, s, b in rows]
    lines.append(f"\nmedian time ratio batched / sequential: {statistics.median(ratios):.3f}")
    race = predict_race(rows[-1][2]["model"], train, test, args.predict_rows)
    ref = race["sklearn MLPClassifier(100)"]
    lines += [
        "",
        f"| predict_proba on {args.predict_rows} rows | median s | / sklearn |",
        "|---|---|---|",
    ]
    lines += [f"| {name} | {sec:.4f} | {sec / ref:.2f} |" for name, sec in race.items()]
    text = "\n".join(lines)
    print_and_write(text, args.markdown)


if __name__ == "__main__":
    main()
