"""Cross-validation of image recipes on natural_scenes (real photographs), and images/s of every image model.

Run from the repository root (``benchmarks/images.py --photos`` calls this):

    .venv/bin/python benchmarks/images.py --photos [--folds N] [--recipes default,seed,resnet18]
        [--data ../shared/data/natural_scenes/manifest.csv] [--inner] [--set key=value ...] [--cnn-widths ...]
    .venv/bin/python benchmarks/images.py --throughput

Cross-validation: the 1,500 photos in k = 5 multi-label stratified folds (``core.data.splits.multilabel_kfold``,
seed 0); ``--folds N`` runs the first N of them. For each fold the recipe is fitted as ``brainnet train`` fits it
(``MultiLabelImageClassifier(**recipe).fit(train folds)``: its own stratified 20 % hold-out for early stopping,
calibration and thresholds), then scored on the held-out fold: average precision; micro-F1 with the thresholds
tuned for micro_f1; Hamming loss with thresholds tuned for hamming on the same validation probabilities (the
estimator's decision layer retuned, no second fit); exact match (subset accuracy) with the micro_f1 thresholds;
wall time of the fit. Mean and sample sd over the folds run.

``--inner`` chooses settings without touching any fold's test part: fold 0's training part (1,200 photos) split
again 80/20 (multi-label stratified, seed 1); fit on the 960, score on the 240.

Recipes: ``default`` (ImageTrainConfig's defaults: the photo recipe), ``seed`` (IMAGE_PRESETS["seed"], the
tutorial), ``resnet18`` (the photo recipe with --model resnet18, random weights); ``--set key=value`` overrides
an option for every recipe (e.g. image_size=128, epochs=20: the short runs that decide settings);
``--cnn-widths 16,32,64,128`` builds cnn_small with other block widths (a selection knob, not a user option). The
default's 64 px was chosen this way: ``benchmarks/results/photos_select/``.

Throughput (``--throughput``): training images/s (forward, backward, AdamW step on random (32, 3, S, S) batches in
train mode) and prediction images/s (eval mode, inference_mode, with flip TTA (two passes) where a default fit
has it: every model but the seed preset's seed_cnn) of each registered image model at its default size
(seed_cnn: the seed preset's 150 px; the others: ``ImageTrainConfig().image_size``), on the CPU; also cnn_small's
training images/s with contiguous input and with bf16 autocast, as ratios to cnn_small as built (channels-last
input on the CPU, float32).
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from brainnet.core.config import IMAGE_PRESETS, ImageTrainConfig
from brainnet.core.data.images import read_images
from brainnet.core.data.splits import multilabel_kfold, multilabel_split
from brainnet.core.decision import metrics
from brainnet.core.decision.thresholds import tune_thresholds

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "natural_scenes" / "manifest.csv"
RECIPES: dict[str, dict[str, Any]] = {
    "seed": dict(IMAGE_PRESETS["seed"]),
    "default": {},
    "resnet18": {"model": "resnet18"},
}
# the plain-PyTorch figures on the fixed 1500/500 split (not cross-validated): AP, micro-F1, Hamming,
# exact match, minutes on 2 cores
REFERENCE = {
    "plain seed CNN, 128 px, 25 epochs": (0.863, 0.729, None, None, 6.0),
    "plain compact CNN, 96 px, 40 epochs, TTA": (0.899, 0.765, 0.109, 0.598, 5.0),
}


def fit_and_score(recipe: dict[str, Any], train: Any, test: Any, seed: int = 0) -> dict[str, float]:
    """Fit ``recipe`` on ``train`` and score it on ``test`` (see the module docstring)."""
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

    est = MultiLabelImageClassifier(**{**recipe, "seed": seed})
    kept: dict[str, Any] = {}
    decision_layer = est._decision_layer

    def keep(cfg: Any, Y_train: np.ndarray, Y_val: np.ndarray, P_val: np.ndarray) -> None:
        kept["Y"], kept["P"] = Y_val, P_val
        decision_layer(cfg, Y_train, Y_val, P_val)

    est._decision_layer = keep  # the validation probabilities, for the hamming thresholds
    start = time.perf_counter()
    est.fit(train)
    wall = time.perf_counter() - start
    P = est.predict_proba(test)
    f1_decisions = est.decide(P)
    cfg = est.config
    micro_f1_thresholds = est.thresholds_
    est.thresholds_ = tune_thresholds(
        kept["Y"],
        est.calibration_.apply(kept["P"]),
        "hamming",
        min_positives=cfg.min_positives,
        shrinkage=cfg.threshold_shrinkage,
        at_least_one=est.at_least_one_,
    )
    hamming_decisions = est.decide(P)
    est.thresholds_ = micro_f1_thresholds
    scores = metrics.evaluate(test.Y, P, f1_decisions)
    return {
        "average_precision": scores["average_precision"],
        "micro_f1": scores["micro_f1"],
        "hamming_loss": metrics.evaluate(test.Y, P, hamming_decisions)["hamming_loss"],
        "subset_accuracy": scores["subset_accuracy"],
        "wall_s": wall,
        "epochs": float(len(est.history_[0])) if getattr(est, "history_", None) else float("nan"),
    }


def splits(Y: np.ndarray, folds: int, inner: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    all_folds = multilabel_kfold(Y, 5, seed=0)
    if inner:
        train = all_folds[0][0]
        tr, va = multilabel_split(Y[train], 0.2, seed=1)
        return [(train[tr], train[va])]
    return all_folds[:folds]


def cross_validate(args: argparse.Namespace, out: Any) -> dict[str, Any]:
    data = read_images(args.data)
    overrides = dict(kv.split("=", 1) for kv in args.set or [])
    hints = {k: type(getattr(ImageTrainConfig(), k)) for k in overrides}
    overrides = {
        k: (v in ("1", "true", "True") if hints[k] is bool else hints[k](v))
        for k, v in overrides.items()
    }
    if args.cnn_widths:  # a selection knob, not an option: the widths cnn_small is built with
        from brainnet.pipeline.models import cnn_small

        cnn_small.WIDTHS = tuple(int(w) for w in args.cnn_widths.split(","))
    results: dict[str, Any] = {}
    for name in args.recipes.split(","):
        recipe = {**RECIPES[name], **overrides}
        rows = []
        for f, (tr, te) in enumerate(splits(data.Y, args.folds, args.inner)):
            r = fit_and_score(recipe, data.subset(tr), data.subset(te))
            rows.append(r)
            out.print(
                f"{name} fold {f}: AP {r['average_precision']:.4f} micro-F1 {r['micro_f1']:.4f} "
                f"Hamming {r['hamming_loss']:.4f} exact {r['subset_accuracy']:.4f} "
                f"{r['wall_s']:.0f} s {r['epochs']:.0f} epochs",
                markup=False,
            )
        results[name] = {"recipe": recipe, "folds": rows}
    out.print(cv_table(results, args), markup=False)
    return results


def cv_table(results: dict[str, Any], args: argparse.Namespace) -> str:
    what = "inner split of fold 0 (960 / 240)" if args.inner else f"{args.folds} of 5 folds"
    lines = [
        f"natural_scenes, {what}: mean ± sd",
        "| recipe | AP | micro-F1 | Hamming | exact match | wall s / fold |",
        "|---|---|---|---|---|---|",
    ]
    keys = ("average_precision", "micro_f1", "hamming_loss", "subset_accuracy", "wall_s")
    for name, r in results.items():
        cells = []
        for k in keys:
            v = [row[k] for row in r["folds"]]
            digits = 0 if k == "wall_s" else 3
            cell = f"{statistics.mean(v):.{digits}f}"
            if len(v) > 1:  # one fold has no spread to show
                cell += f" ± {statistics.stdev(v):.{digits}f}"
            cells.append(cell)
        lines.append(f"| {name} | {' | '.join(cells)} |")
    for name, (ap, f1, ham, exact, minutes) in REFERENCE.items():
        show = [f"{v:.3f}" if v is not None else "-" for v in (ap, f1, ham, exact)]
        lines.append(
            f"| {name} (issue, fixed 1500/500 split) | {' | '.join(show)} | {minutes * 60:.0f} |"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------------- throughput
def images_per_s(
    model: torch.nn.Module,
    size: int,
    train: bool,
    steps: int,
    batch: int = 32,
    bf16: bool = False,
) -> float:
    """Median images/s of ``steps`` timed steps (after one warm-up) on random (batch, 3, size, size) inputs:
    forward + BCE + backward + AdamW step in train mode, or a forward pass in eval mode under inference_mode
    (with the model's own flip TTA setting)."""
    x = torch.randn(batch, 3, size, size)
    y = torch.randint(0, 2, (batch, model.head.out_features)).float()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.BCEWithLogitsLoss()

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            if train:
                model.train()
                loss = loss_fn(model(x).float(), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            else:
                model.eval()
                with torch.inference_mode():
                    model(x)

    step()  # warm-up
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return batch / statistics.median(times)


def default_size(name: str) -> int:
    """The side a model trains at by default: the seed preset's for seed_cnn, else ImageTrainConfig's."""
    return (
        IMAGE_PRESETS["seed"]["image_size"] if name == "seed_cnn" else ImageTrainConfig().image_size
    )


def throughput(args: argparse.Namespace, out: Any) -> dict[str, Any]:
    """Training and prediction images/s of every registered image model at its default size (random weights,
    5 labels, batch 32, the CPU); then cnn_small with contiguous input and with bf16 autocast, as ratios to it as built."""
    from brainnet.pipeline.models import MODELS

    cfg = ImageTrainConfig()
    rows, results = [], {}
    for name in MODELS.names():
        if MODELS.get(name).data != "images":
            continue
        size = default_size(name)
        torch.manual_seed(0)
        model = MODELS.get(name).build((3, size, size), 5, cfg.replace(model=name))
        tr = images_per_s(model, size, True, args.steps)
        # flip TTA as `brainnet predict` runs it after a default fit (the seed preset has none)
        tta = hasattr(model, "flip_tta") and (False if name == "seed_cnn" else cfg.tta)
        if hasattr(model, "flip_tta"):
            model.flip_tta = tta
        ev = images_per_s(model, size, False, args.steps)
        results[name] = {"size": size, "train": tr, "predict": ev, "flip_tta": tta}
        note = " (flip TTA: 2 passes)" if tta else ""
        rows.append(f"| {name} | {size} | {tr:.1f} | {ev:.1f}{note} |")
    size = default_size("cnn_small")
    ratios = {}
    for key, (
        option,
        value,
    ) in {  # the variant against cnn_small as built (channels-last input, float32)
        "contiguous_input": ("channels_last_on_cpu", False),
        "bf16_autocast": ("bf16", True),
    }.items():
        pair = []
        for variant in (False, True):
            torch.manual_seed(0)
            model = MODELS.get("cnn_small").build((3, size, size), 5, cfg)
            if variant and option == "channels_last_on_cpu":
                model.channels_last_on_cpu = value
            bf16 = variant and option == "bf16"
            pair.append(images_per_s(model, size, True, args.steps, bf16=bf16))
        ratios[key] = pair[1] / pair[0]
    results["cnn_small_training_ratios"] = ratios
    out.print(
        "\n".join(
            [
                f"images/s on the CPU, random weights, 5 labels, batch 32, torch threads "
                f"{torch.get_num_threads()}, median of {args.steps} steps after one warm-up",
                "| model | px | train images/s | predict images/s |",
                "|---|---|---|---|",
                *rows,
                f"cnn_small at {size} px, training images/s ratio to the model as built (channels-last "
                f"input, float32): contiguous input {ratios['contiguous_input']:.2f}, bf16 autocast "
                f"{ratios['bf16_autocast']:.2f}",
            ]
        ),
        markup=False,
    )
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--photos", action="store_true", help="cross-validate recipes on natural_scenes"
    )
    parser.add_argument(
        "--folds", type=int, default=5, help="--photos: run the first N of the 5 folds"
    )
    parser.add_argument(
        "--recipes",
        default="default,seed",
        help="--photos: comma-separated of " + ", ".join(RECIPES),
    )
    parser.add_argument("--data", default=str(DATA), help="--photos: the natural_scenes manifest")
    parser.add_argument(
        "--inner", action="store_true", help="--photos: fold 0's training part split 80/20 instead"
    )
    parser.add_argument(
        "--set",
        action="append",
        metavar="KEY=VALUE",
        help="--photos: override an option for every recipe",
    )
    parser.add_argument(
        "--cnn-widths",
        metavar="W1,W2,W3,W4",
        help="--photos: build cnn_small with these four block widths (to choose them on --inner)",
    )
    parser.add_argument(
        "--throughput", action="store_true", help="images/s of every registered image model"
    )
    parser.add_argument("--steps", type=int, default=5, help="--throughput: timed steps per model")


def check_arguments(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if not 1 <= args.folds <= 5:
        parser.error(f"--folds must be in 1..5; received {args.folds}.")
    unknown = [r for r in args.recipes.split(",") if r not in RECIPES]
    if unknown:
        parser.error(f"unknown recipe(s) {', '.join(unknown)}; choose from {', '.join(RECIPES)}.")
    if args.cnn_widths is not None:
        widths = args.cnn_widths.split(",")
        if len(widths) != 4 or not all(w.isdigit() and int(w) > 0 for w in widths):
            parser.error(
                f"--cnn-widths takes four positive integers such as 16,32,64,128; received {args.cnn_widths!r}."
            )
    for kv in args.set or []:
        key = kv.split("=", 1)[0]
        if "=" not in kv or key not in ImageTrainConfig.field_names():
            parser.error(f"--set takes KEY=VALUE with an image option as KEY; received {kv!r}.")
