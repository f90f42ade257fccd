"""Knowledge distillation of the default table ensemble into one small MLP (a prototype), judged on inner
validation splits of the training files, and the student's prediction speed against scikit-learn.

    .venv/bin/python benchmarks/distill.py [--sets yeast,scene,enron,flags,medical] [--seeds 2]
        [--widths 256,128] [--variants plain;noise;mixup;mixup+noise] [--speed-runs 20] [--markdown out.md]

Never reads a test file: each training file is split (multi-label stratified, 80/20, seed s) as
``fit_speed.py --select`` does. Per set and seed, on the 80 %: the default ``MultiLabelMLP`` (the ensemble of
10 cross-fitted members) and ``n_models=1`` (one default member, a reference) are fitted; then a student, one
hidden layer of ``width`` units with BatchNorm, learns the ensemble's mean probability (before calibration) on
the 80 %'s rows with a soft-target BCE. 15 % of those rows (``FIDELITY``) never train the student: its early
stopping watches the fidelity there (the mean KL divergence of its Bernoulli outputs from the ensemble's). Each
batch holds real rows and as many augmented ones, labelled by the ensemble on the fly (``VARIANTS``): mixup of
two training rows, Gaussian noise in the standardised space, both, or none. The student's probabilities go
through the ensemble's calibration (fitted on out-of-fold ensemble probabilities) and are scored, like the
others, by average precision on the 20 %; "val micro-F1" applies the ensemble's thresholds to them.

CPU seconds: this process's user + system time of each fit; the student's includes the ensemble's forward
passes that label its batches. Speed: the student of each width (yeast, seed 0) saved as an ordinary
``n_models=1`` model directory, loaded with ``brainnet.load`` and timed by ``predict.py``'s ``versus_sklearn``
(10,000 yeast rows, alternated with ``MLPClassifier((100,)).predict_proba`` in every run, medians).

This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _tables import MULAN_SETS, TableSpec, comma_list, print_and_write, to_markdown  # noqa: E402
from fit_speed import DATA, SELECT_SETS, clock, inner_split  # noqa: E402

FIDELITY = 0.15  # share of the training rows that only watch the student's fidelity
# augmented rows per batch: (mixup, Gaussian noise sigma in standardised units); "mixup, noise" adds a mixed
# copy and a noisy copy of the batch, "mixup+noise" one mixed copy with noise on it
VARIANTS: dict[str, tuple[bool, float]] = {
    "plain": (False, 0.0),
    "noise": (False, 0.3),
    "mixup": (True, 0.0),
    "mixup+noise": (True, 0.1),
    "mixup, noise": (True, 0.3),
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--sets", type=comma_list(MULAN_SETS, "set"), default=SELECT_SETS)
    p.add_argument("--seeds", type=int, default=2, help="seeds 0 .. N-1, each its own inner split")
    p.add_argument("--widths", default="256,128")
    p.add_argument("--variants", default="mixup+noise", help="VARIANTS names separated by ;")
    p.add_argument("--speed-runs", type=int, default=20, help="0: no speed table")
    p.add_argument("--markdown", type=Path, default=None)
    args = p.parse_args(argv)
    args.widths = [int(w) for w in args.widths.split(",")]
    args.variants = [v.strip() for v in args.variants.split(";")]
    unknown = [v for v in args.variants if v not in VARIANTS]
    if unknown:
        p.error(f"unknown --variants {unknown}; choose from: {'; '.join(VARIANTS)}")
    return args


def read_train(data: Path, name: str) -> Any:
    """The training file of one MULAN set (its test file is not opened)."""
    from brainnet.core.data.labels import LabelSpec
    from brainnet.core.data.table import read_table

    folder = data / name
    spec = LabelSpec(xml=str(sorted(folder.glob("*.xml"))[0]))
    return read_table(sorted(folder.glob("*-train.arff"))[0], spec)


def encoded(model: Any, data: Any) -> np.ndarray:
    """(n, d) float32: the standardised rows the model's networks see."""
    from brainnet.core.data.sparse import batch_rows

    recipe = model.recipe_
    return batch_rows(recipe.encode(recipe.inputs(data, model.label_names_)).X, slice(None))


def teacher(members: list[Any]) -> Any:
    """x (c, d) float32 tensor -> (c, L) float32: the members' mean sigmoid (the package's teacher)."""
    from brainnet.pipeline.distill import ensemble_probabilities

    return ensemble_probabilities(members)


def train_student(
    members: list[Any],
    X: np.ndarray,
    width: int,
    seed: int,
    *,
    mixup: bool,
    noise: float,
    both: bool = False,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-2,
    patience: int = 20,
    max_epochs: int = 300,
    input_dropout: float = 0.1,
    dropout: float = 0.0,
) -> tuple[Any, dict[str, Any]]:
    """One ``MLP`` (d -> width -> L, BatchNorm) that mimics the members' mean probability; (it in eval mode
    with its best fidelity's weights, a summary)."""
    import torch

    from brainnet.pipeline.distill import fit_student
    from brainnet.pipeline.models.mlp import MLP

    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 0xD15])
    teach = teacher(members)
    n, d = X.shape
    order = rng.permutation(n)
    m = max(1, round(FIDELITY * n))
    hold, fit = np.sort(order[:m]), np.sort(order[m:])
    Xt = torch.as_tensor(X)
    X_hold, X_fit = Xt[hold], Xt[fit]
    T_hold = teach(X_hold)
    L = T_hold.shape[1]
    student = MLP(d, L, (width,), dropout=dropout, input_dropout=input_dropout, batch_norm=True)
    opt = torch.optim.AdamW(student.parameters(), lr=lr, weight_decay=weight_decay)
    gen = torch.Generator().manual_seed(seed)

    def augment(x: torch.Tensor) -> torch.Tensor:  # (B, d) -> (B to 3B, d)
        parts = [x]
        if mixup:
            other = X_fit[torch.randint(len(fit), (len(x),), generator=gen)]
            lam = torch.rand(len(x), 1, generator=gen)
            parts.append(lam * x + (1 - lam) * other)
        if noise > 0:
            noisy = x if both or not mixup else parts.pop()
            parts.append(noisy + noise * torch.randn(x.shape, generator=gen))
        return torch.cat(parts)

    best, best_epoch, epoch = fit_student(
        student,
        teach,
        opt,
        X_fit,
        (X_hold, T_hold),
        augment,
        gen=gen,
        batch_size=batch_size,
        epochs=max_epochs,
        patience=patience,
    )
    with torch.no_grad():
        mae = float((torch.sigmoid(student(X_hold)) - T_hold).abs().mean())
    return student.eval(), {"epochs": epoch, "best_epoch": best_epoch, "kl": best, "mae": mae}


def scores(model: Any, P_raw: np.ndarray, Y: np.ndarray) -> tuple[float, float]:
    """(AP, micro-F1) of uncalibrated probabilities through ``model``'s calibration and thresholds."""
    from brainnet.core.decision.metrics import average_precision, micro_f1

    P = model.calibration_.apply(P_raw)
    return average_precision(Y, P), micro_f1(Y, model.decide(P))


def student_probabilities(student: Any, X: np.ndarray) -> np.ndarray:
    import torch

    with torch.no_grad():
        return torch.sigmoid(student(torch.as_tensor(X))).double().numpy()


def single_member(model: Any, student: Any, width: int) -> Any:
    """The fitted ensemble ``model`` with ``student`` as its one member: an ordinary n_models=1 model (the
    ensemble's calibration and thresholds)."""
    out = copy.copy(model)
    out.models_ = [student]
    out.set_params(n_models=1, hidden_sizes=(width,))
    return out


def run(args: argparse.Namespace) -> tuple[TableSpec, dict[int, Any], Any]:
    import brainnet

    columns = ["ensemble", "n_models=1"] + [
        f"student {w} {v}" for w in args.widths for v in args.variants
    ]
    ap: dict[str, dict[str, list[float]]] = {c: {} for c in columns}
    f1: dict[str, dict[str, list[float]]] = {c: {} for c in columns}
    cpu: dict[str, list[float]] = {c: [] for c in columns}
    fid: dict[str, list[float]] = {c: [] for c in columns}
    keep: dict[int, Any] = {}
    keep_model = None
    for name in args.sets:
        train = read_train(args.data, name)
        for seed in range(args.seeds):
            inner, held = inner_split(train, seed)
            found: dict[str, tuple[float, float, float]] = {}
            for col, opts in (("ensemble", {}), ("n_models=1", {"n_models": 1})):
                model = brainnet.MultiLabelMLP(seed=seed, **opts)
                _, c0 = clock()
                model.fit(inner)
                seconds = clock()[1] - c0
                m = model.evaluate(held)
                found[col] = (m["average_precision"], m["micro_f1"], seconds)
                if col == "ensemble":
                    ensemble = model
            X_in, X_val = encoded(ensemble, inner), encoded(ensemble, held)
            for width in args.widths:
                for variant in args.variants:
                    mixup, noise = VARIANTS[variant]
                    _, c0 = clock()
                    student, info = train_student(
                        ensemble.models_,
                        X_in,
                        width,
                        seed,
                        mixup=mixup,
                        noise=noise,
                        both=variant == "mixup, noise",
                    )
                    seconds = clock()[1] - c0
                    a, f = scores(ensemble, student_probabilities(student, X_val), held.Y)
                    col = f"student {width} {variant}"
                    found[col] = (a, f, seconds)
                    fid[col].append(info["kl"])
                    print(
                        f"  {name} seed {seed} {col}: epochs {info['epochs']} (best {info['best_epoch']}), "
                        f"fidelity KL {info['kl']:.4f}, MAE {info['mae']:.4f}",
                        flush=True,
                    )
                    if name == "yeast" and seed == 0 and variant == args.variants[0]:
                        keep[width] = student
                        keep_model = ensemble
            for col, (a, f, seconds) in found.items():
                ap[col].setdefault(name, []).append(a)
                f1[col].setdefault(name, []).append(f)
                cpu[col].append(seconds)
            print(
                f"{name} seed {seed}: "
                + "; ".join(f"{c} AP {a:.4f} CPU {s:.1f}" for c, (a, _, s) in found.items()),
                flush=True,
            )
    seeds = ", ".join(map(str, range(args.seeds)))
    spec = TableSpec(
        f"validation AP (80/20 inner splits of the training files, seeds {seeds}: means)",
        [
            "model",
            *args.sets,
            "mean AP",
            "worst set vs ensemble",
            "mean micro-F1",
            "CPU / ensemble",
        ],
    )
    base = {s: float(np.mean(v)) for s, v in ap["ensemble"].items()}
    base_cpu = float(np.sum(cpu["ensemble"]))
    for col in columns:
        by_set = {s: float(np.mean(v)) for s, v in ap[col].items()}
        worst = min(by_set[s] - base[s] for s in args.sets)
        spec.rows.append(
            [
                col,
                *(f"{by_set[s]:.4f}" for s in args.sets),
                f"{np.mean(list(by_set.values())):.4f}",
                f"{worst:+.4f}",
                f"{np.mean([np.mean(v) for v in f1[col].values()]):.4f}",
                f"{np.sum(cpu[col]) / base_cpu:.2f}",
            ]
        )
    spec.notes.append(
        f"ensemble: the default (10 cross-fitted members of 256 units), {base_cpu:.0f} CPU s over all fits; "
        "student CPU: its own training, the ensemble's labelling passes included (the ensemble's fit not)"
    )
    spec.notes.append(
        "student fidelity (mean KL from the ensemble on the held-out 15 % of the training rows): "
        + "; ".join(f"{c[8:]} {np.mean(fid[c]):.4f}" for c in columns if fid[c])
    )
    return spec, keep, keep_model


def speed(keep: dict[int, Any], model: Any, runs: int) -> TableSpec:
    """Each kept student as a saved n_models=1 model against MLPClassifier (``predict.versus_sklearn``)."""
    from predict import versus_sklearn

    spec = TableSpec(
        "predict on 10,000 yeast rows against MLPClassifier((100,)).predict_proba, 1 thread, one process",
        [
            "model",
            "predict_proba ms",
            "predict ms",
            "MLPClassifier ms",
            "predict_proba / MLPC",
            "predict / MLPC",
        ],
    )
    with tempfile.TemporaryDirectory() as tmp:
        models = {"ensemble (10 x 256)": model}
        models.update({f"student {w}": single_member(model, s, w) for w, s in keep.items()})
        for name, est in models.items():
            path = est.save(Path(tmp) / name.replace(" ", "_").replace("(", "").replace(")", ""))
            rows = {r[0]: r for r in versus_sklearn(path, 10_000, runs, 3)}
            proba, pred = rows["brainnet predict_proba (warm)"], rows["brainnet predict (warm)"]
            ref = rows["MLPClassifier predict_proba"][1]
            ratios = [f"{float(r[1]) / float(ref):.2f}x" for r in (proba, pred)]
            spec.rows.append([name, proba[1], pred[1], ref, *ratios])
            print(" | ".join(spec.rows[-1]), flush=True)
    spec.notes.append(
        f"medians of {runs} warm runs, each alternated with MLPClassifier's in the same run; a student is "
        "saved and loaded as an ordinary n_models=1 model (the ensemble's calibration and thresholds)"
    )
    return spec


def main(argv: list[str] | None = None) -> None:
    import torch

    args = parse_args(argv)
    torch.set_num_threads(1)
    print(f"# {' '.join(sys.argv)}", flush=True)
    load = os.getloadavg()
    spec, keep, model = run(args)
    specs = [spec]
    if args.speed_runs and keep:
        specs.append(speed(keep, model, args.speed_runs))
    specs[-1].notes.append(
        f"load average at start {load[0]:.1f}, at end {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)"
    )
    text = "\n\n".join(to_markdown(s) for s in specs)
    print_and_write(text, args.markdown)


if __name__ == "__main__":
    main()
