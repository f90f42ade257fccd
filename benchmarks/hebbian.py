"""hebbian_net (unsupervised Hebbian spiking features + a linear readout) against the default MLP.

Run it from the repository root:

    .venv/bin/python benchmarks/hebbian.py [--datasets yeast,scene,digits_mosaic,load_digits] [--seeds 1]
        [--threads N] [--markdown out.md] [--json out.json]

Every method is ``MultiLabelMLP`` (the one estimator: scaling, fit plan, thresholds tuned for micro-F1 on
a held-out 20% of the training rows, the metric suite) with ``n_models=1`` and ``device="cpu"``, fitted on the
training split and scored on the test split by ``brainnet.core.decision.metrics.evaluate``:

    mlp: ``model="mlp"`` with all other defaults (what ``brainnet train DATA --n-models 1`` fits).
    hebbian_net: ``model="hebbian_net"`` with all other defaults (512 units, 80 winners, the tables' default T,
        5 label-free epochs of the Hebbian rule, then the linear head).
    hebbian_net, STDP / Oja: the same with ``plastic_rule="stdp"`` (trace-based pair STDP on spike trains) or
        ``"oja"`` instead of the default competitive Hebbian rule.
    hebbian_net, no plasticity: the same with the unsupervised phase skipped (random unit-norm weights): what
        the Hebbian rule adds.

Data: ``yeast`` and ``scene`` (the built-in MULAN splits); ``digits_mosaic`` (the built-in 2x2 mosaics of 8x8
digits, 16x16 gray pixels flattened to 256 features: a table, since hebbian_net reads tables); ``load_digits``
(scikit-learn's 8x8 digits, one label of 10 per row, a stratified 75/25 split with random_state 0; the 10
labels are one-hot for the multi-label head, and "accuracy" is the argmax of the probabilities). The
defaults of hebbian_net were chosen on a validation split of load_digits' training part, never its test part.

Fit time is the wall time of ``fit`` (training, both phases, and threshold tuning); "time / mlp" divides by the
MLP's in the same seed. This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any

import numpy as np
import torch
from _tables import (
    TableSpec,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)  # benchmarks/_tables.py
from rich.console import Console

import brainnet
from brainnet.core.data.builtin_tables import load_builtin
from brainnet.core.decision import metrics
from brainnet.core.files import atomic_write_text

DATASETS = ("yeast", "scene", "digits_mosaic", "load_digits")
METHODS = ("mlp", "hebbian_net", "hebbian_net_stdp", "hebbian_net_oja", "hebbian_net_random")
TITLES = {
    "mlp": "mlp",
    "hebbian_net": "hebbian_net",
    "hebbian_net_stdp": "hebbian_net, STDP",
    "hebbian_net_oja": "hebbian_net, Oja",
    "hebbian_net_random": "hebbian_net, no plasticity",
}
RULES = {
    "hebbian_net_stdp": "stdp",
    "hebbian_net_oja": "oja",
}  # method -> plastic_rule (else the default)
ROWS = (
    "average_precision",
    "micro_f1",
    "macro_f1",
    "hamming_loss",
    "accuracy",
    "fit_seconds",
    "time_ratio",
)


def load(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(X_train, Y_train, X_test, Y_test) as float features and 0/1 label matrices."""
    if name in ("yeast", "scene"):
        train, test = load_builtin(name, "train"), load_builtin(name, "test")
        return train.X, train.Y, test.X, test.Y
    if name == "digits_mosaic":
        from brainnet.core.data.builtin_images import load_image_dataset

        parts = [load_image_dataset(name, split) for split in ("train", "test")]
        flat = [p.arrays[..., 0].reshape(len(p.arrays), -1).astype(np.float64) for p in parts]
        return flat[0], parts[0].Y, flat[1], parts[1].Y
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    X, y = load_digits(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    return X_tr, np.eye(10)[y_tr], X_te, np.eye(10)[y_te]


def run(dataset: str, method: str, seed: int, data: tuple[np.ndarray, ...]) -> dict[str, Any]:
    X_tr, Y_tr, X_te, Y_te = data
    model = "mlp" if method == "mlp" else "hebbian_net"
    rule = {"plastic_rule": RULES[method]} if method in RULES else {}
    est = brainnet.MultiLabelMLP(model=model, n_models=1, device="cpu", seed=seed, **rule)
    start = time.perf_counter()
    if method == "hebbian_net_random":
        from brainnet.brain.hebbian_net import HebbianNet

        keep = HebbianNet.fit_unsupervised
        HebbianNet.fit_unsupervised = lambda self, X, **_: ["no plasticity: random weights"]
        try:
            est.fit(X_tr, Y_tr)
        finally:
            HebbianNet.fit_unsupervised = keep
    else:
        est.fit(X_tr, Y_tr)
    seconds = time.perf_counter() - start
    P = est.predict_proba(X_te)
    result = metrics.evaluate(Y_te, P, est.decide(P))
    result["accuracy"] = (
        float(np.mean(P.argmax(1) == Y_te.argmax(1))) if dataset == "load_digits" else np.nan
    )
    return {
        "dataset": dataset,
        "method": method,
        "seed": seed,
        "fit_seconds": seconds,
        "epochs": [len(h) for h in est.history_],
        "notes": [n for n in est.notes_ if "hebbian" in n],
        **{k: float(v) for k, v in result.items() if isinstance(v, int | float)},
    }


def table(dataset: str, runs: list[dict[str, Any]]) -> TableSpec:
    spec = TableSpec(f"{dataset}: test split, mean over seeds", ["", *(TITLES[m] for m in METHODS)])
    for key in ROWS:
        if key == "accuracy" and dataset != "load_digits":
            continue
        row = [key.replace("_", " ")]
        for method in METHODS:
            values = [r[key] for r in runs if r["method"] == method]
            row.append(f"{statistics.mean(values):.4f}" if values else "-")
        spec.rows.append(row)
    return spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default=",".join(DATASETS))
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--markdown", default=None)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    datasets = [d for d in args.datasets.split(",") if d]
    methods = [m for m in args.methods.split(",") if m]
    unknown = [d for d in datasets if d not in DATASETS] + [m for m in methods if m not in METHODS]
    if unknown:
        parser.error(
            f"unknown {unknown}; datasets: {', '.join(DATASETS)}; methods: {', '.join(METHODS)}"
        )
    console = Console()
    info = run_header(
        {"brainnet": brainnet.__version__, "torch": torch.__version__}, str(torch.get_num_threads())
    )
    for line in header_lines(info):
        console.print(line)
    runs, specs = [], []
    for dataset in datasets:
        data = load(dataset)
        for seed in range(args.seeds):
            mlp_seconds = None
            for method in methods:
                r = run(dataset, method, seed, data)
                if method == "mlp":
                    mlp_seconds = r["fit_seconds"]
                r["time_ratio"] = r["fit_seconds"] / mlp_seconds if mlp_seconds else np.nan
                runs.append(r)
                console.print(
                    f"{dataset} {method} seed {seed}: AP {r['average_precision']:.4f} micro-F1 "
                    f"{r['micro_f1']:.4f} {r['fit_seconds']:.1f} s {r['notes']}"
                )
        spec = table(dataset, [r for r in runs if r["dataset"] == dataset])
        specs.append(spec)
        console.print(to_rich(spec, status_column=0))
    if args.markdown:
        atomic_write_text(
            args.markdown,
            "\n\n".join([*header_lines(info), *map(to_markdown, specs)]) + "\n",
            force=True,
        )
    if args.json:
        atomic_write_text(
            args.json, json.dumps({"run": info, "runs": runs}, indent=1, default=str), force=True
        )


if __name__ == "__main__":
    main()
