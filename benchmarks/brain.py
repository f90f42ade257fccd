"""Spiking against ordinary networks on the same data, estimator, decision layer and metrics.

Run it from the repository root (or ``make bench-brain``):

    .venv/bin/python benchmarks/brain.py [--datasets yeast,scene,digits_mosaic,load_digits] [--n-models N]
        [--epochs N] [--threads N] [--time-steps T] [--markdown out.md] [--json out.json]
    .venv/bin/python benchmarks/brain.py --sweep yeast     # how the spiking defaults were chosen

For each dataset, each contender is fitted by the one estimator (``MultiLabelMLP`` for tables,
``MultiLabelImageClassifier`` for images) with the dataset's built-in preset and the defaults, ``n_models``
networks (default 1 for every contender, so the comparison is like for like; the CLI's tables default is 10),
then scored on the test split. Contenders: ``mlp`` vs ``snn_mlp`` on tables, ``seed_cnn`` vs ``snn_cnn`` on
images (``CONTENDERS``; other brain models add rows there). ``load_digits`` (scikit-learn, 8x8 digits as 64
features) is single-label multi-class through the same multi-label head: 10 one-hot labels, accuracy of the
argmax of the probabilities, on a stratified 25% test split (seed 0).

Columns: average precision, micro-F1, macro-F1 (accuracy for load_digits), fit seconds, epochs run, seconds
per epoch and its ratio to the ordinary network's (measured in one process, one after the other, so machine
noise hits both), the spiking options (T, encoder, neuron), firing rate of each spiking layer, and SOPs per
example against the ordinary network's MACs (``brainnet.brain.activity``), on the test inputs.
Targets (issue 13): snn_mlp within 0.02 AP of mlp on yeast and scene; snn_cnn micro-F1 >= 0.93 on
digits_mosaic; snn_mlp accuracy >= 0.96 on load_digits; SOPs < MLP MACs on yeast; <= 10x slower per epoch.
``--sweep DATA`` fits snn_mlp with the defaults and with one change at a time (``SWEEP``) and prints the
validation AP of each (the estimator's own hold-out of the training rows; no test row is read): how the
spiking defaults were chosen.

This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import TableSpec, header_lines, run_header, to_markdown, to_rich  # noqa: E402

TABLES, IMAGES, MULTICLASS = (
    ("yeast", "scene"),
    ("digits_mosaic", "natural_scenes"),
    ("load_digits",),
)
# data kind -> [(row label, model, extra options)]; the first is the ordinary reference
CONTENDERS: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
    "table": [("mlp", "mlp", {}), ("snn_mlp", "snn_mlp", {})],
    "images": [("seed_cnn", "seed_cnn", {}), ("snn_cnn", "snn_cnn", {})],
}


def load(name: str) -> tuple[str, Any, Any, dict[str, Any]]:
    """(kind, train, test, preset) of a dataset; load_digits as one-hot (n, 10) labels."""
    if name in TABLES:
        from brainnet.core.data.builtin_tables import DATASETS
        from brainnet.core.data.table import read_table

        preset = getattr(DATASETS.get(name), "preset", {}) or {}
        return "table", read_table(name, split="train"), read_table(name, split="test"), preset
    if name in MULTICLASS:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        Y = np.eye(10, dtype=np.uint8)[y]
        Xtr, Xte, Ytr, Yte = train_test_split(X, Y, test_size=0.25, stratify=y, random_state=0)
        return "table", (Xtr, Ytr), (Xte, Yte), {}
    from brainnet.core.data.builtin_images import IMAGE_DATASETS, load_image_dataset

    info = IMAGE_DATASETS.get(name)
    return (
        "images",
        load_image_dataset(name, "train"),
        load_image_dataset(name, "test"),
        info.preset,
    )


def fit_one(
    kind: str, model: str, options: dict[str, Any], train: Any, test: Any
) -> dict[str, Any]:
    """Fit, then score the test split; the spiking models' activity on the test inputs too."""
    from brainnet.brain.activity import evaluate_with_activity
    from brainnet.brain.registry import SPIKING_MODELS

    if kind == "table":
        from brainnet.pipeline.estimator import MultiLabelMLP as Estimator
    else:
        from brainnet.pipeline.image_estimator import MultiLabelImageClassifier as Estimator
    est = Estimator(model=model, **options)
    est.fit(*train) if isinstance(train, tuple) else est.fit(train)
    seconds = est.fit_seconds_  # the training loops (not the recipe, not the thresholds)
    epochs = sum(r["epochs_run"] for r in est.training_)
    spiking = model in SPIKING_MODELS
    test_args = test if isinstance(test, tuple) else (test,)
    result = evaluate_with_activity(est, *test_args) if spiking else est.evaluate(*test_args)
    if isinstance(test, tuple):  # multi-class: the argmax of the probabilities
        result["accuracy_argmax"] = float(
            (est.predict_proba(test[0]).argmax(1) == test[1].argmax(1)).mean()
        )
    cfg = est.config
    return {
        "model": model,
        "metrics": result,
        "val_average_precision": est.val_metrics_.get("average_precision"),
        "fit_seconds": seconds,
        "epochs": epochs,
        "seconds_per_epoch": seconds / max(epochs, 1),
        "spiking": {"time_steps": cfg.time_steps, "encoder": cfg.encoder, "neuron": cfg.neuron}
        if spiking
        else None,
    }


def row(name: str, label: str, run: dict[str, Any], reference: dict[str, Any]) -> list[str]:
    m = run["metrics"]
    quality = f"{m['accuracy_argmax']:.4f}" if "accuracy_argmax" in m else f"{m['micro_f1']:.4f}"
    ratio = run["seconds_per_epoch"] / reference["seconds_per_epoch"]
    spiking, activity = run["spiking"], m.get("activity")
    rates = ", ".join(f"{v:.3f}" for v in activity["firing_rate"].values()) if activity else ""
    sops = ""
    if activity:
        sops = f"{activity['sops_per_example']:,.0f} / {activity['ann_macs_per_example']:,.0f}"
        sops += f" = {activity['sops_to_ann_macs']:.3f}"
    return [
        name,
        label,
        f"{m['average_precision']:.4f}",
        quality,
        f"{m['macro_f1']:.4f}",
        f"{run['fit_seconds']:.0f}",
        str(run["epochs"]),
        f"{run['seconds_per_epoch']:.2f} ({ratio:.1f}x)",
        f"T={spiking['time_steps']} {spiking['encoder']} {spiking['neuron']}" if spiking else "",
        rates,
        sops,
    ]


# the spiking defaults against their alternatives, judged on validation data only (--sweep)
SWEEP = [
    {"time_steps": 10},
    {"encoder": "population"},
    {"neuron": "alif"},
    {"encoder": "rate"},
    {"surrogate": "arctan"},
    {},
]


def sweep(args: argparse.Namespace, out: Console) -> TableSpec:
    """snn_mlp with the defaults and one change at a time on ``name``'s training split; the score is the
    validation AP of the estimator's own hold-out (``val_fraction`` of the training rows): no test row is read."""
    from brainnet.pipeline.estimator import MultiLabelMLP

    name, n_models = args.sweep, args.n_models
    kind, train, _, preset = load(name)
    assert kind == "table"
    spec = TableSpec(f"snn_mlp defaults on {name}: validation AP", ["change", "val AP", "s/epoch"])
    for change in SWEEP:
        est = MultiLabelMLP(model="snn_mlp", **{**preset, "n_models": n_models, **change})
        est.fit(*train) if isinstance(train, tuple) else est.fit(train)
        epochs = sum(r["epochs_run"] for r in est.training_)
        label = ", ".join(f"{k}={v}" for k, v in change.items()) or "defaults"
        ap = est.val_metrics_["average_precision"]
        spec.rows.append([label, f"{ap:.4f}", f"{est.fit_seconds_ / epochs:.2f}"])
        out.print(to_rich(TableSpec(spec.title, spec.headers, spec.rows[-1:])))
        write(args, spec, {"sweep": spec.rows})
    return spec


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--datasets", default="yeast,scene,digits_mosaic,load_digits")
    p.add_argument("--n-models", type=int, default=1, help="networks per estimator (default 1)")
    p.add_argument("--epochs", type=int, help="cap every contender's epochs (a smoke run)")
    p.add_argument("--time-steps", type=int, help="T of the spiking models (default: the config's)")
    p.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p.add_argument(
        "--sweep", metavar="DATA", help="only compare snn_mlp settings on DATA's validation split"
    )
    p.add_argument("--markdown", type=Path)
    p.add_argument("--json", type=Path)
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    import torch

    import brainnet.brain.models  # noqa: F401  (imports paid before the first timed fit)
    import brainnet.pipeline.trainer  # noqa: F401

    args = parse_args(argv)
    torch.set_num_threads(args.threads)
    out, log = Console(width=200), Console(stderr=True)
    info = run_header({"torch": torch.__version__}, str(args.threads))
    for line in header_lines(info):
        out.print(line, highlight=False)
    if args.sweep:
        spec = sweep(args, out)
        out.print(to_rich(spec))
        return write(args, spec, {"header": info, "sweep": spec.rows})
    headers = ["data", "model", "AP", "micro-F1 / acc", "macro-F1", "fit s", "epochs", "s/epoch"]
    spec = TableSpec("spiking vs ordinary", [*headers, "spiking", "firing rates", "SOPs / MACs"])
    results: dict[str, Any] = {"header": info, "runs": {}}
    for name in args.datasets.split(","):
        try:
            kind, train, test, preset = load(name)
        except Exception as e:  # a dataset this brainnet does not ship (natural_scenes comes later)
            spec.notes.append(f"{name}: skipped ({type(e).__name__}: {e})")
            continue
        runs = []
        for label, model, extra in CONTENDERS[kind]:
            options = {**preset, "n_models": args.n_models, **extra}
            if args.epochs:
                options["epochs"] = args.epochs
            if args.time_steps and model.startswith("snn"):
                options["time_steps"] = args.time_steps
            log.print(f"{name}: {label} {options}")
            runs.append(fit_one(kind, model, options, train, test))
            spec.rows.append(row(name, label, runs[-1], runs[0]))
            results["runs"].setdefault(name, {})[label] = runs[-1]
            out.print(to_rich(TableSpec(spec.title, spec.headers, spec.rows[-1:])))
            write(args, spec, results)  # after every row: a long run keeps what it measured
    out.print(to_rich(spec))
    write(args, spec, results)


def write(args: argparse.Namespace, spec: TableSpec, results: dict[str, Any]) -> None:
    if args.markdown:
        args.markdown.write_text(to_markdown(spec) + "\n")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1, default=float) + "\n")


if __name__ == "__main__":
    main()
