"""brainnet's image path on the CPU: training throughput, data loading, inference and (optionally) quality.

Run it from the repository root (or ``make bench-images``):

    .venv/bin/python benchmarks/images.py [--quick] [--quality] [--threads N] [--markdown out.md] [--json out.json]

Everything uses the seed CNN (``MODELS.get("seed_cnn")``, 5 labels) at 150 x 150 pixels, float32, on the
CPU, with images from ``make_shapes``. One initial state_dict is copied into every model, so all start alike.

1. Training throughput (images/s), batch 32, BCE-with-logits, ``torch.optim.Adam(lr=1e-3)``, model in train mode
   (dropout on). The same n steps in each of:
   (a) plain PyTorch: ``zero_grad(set_to_none=True)``, forward, loss, backward, ``step`` over slices of in-memory
       float tensors (256 images, 64 with --quick, through the evaluation transform once, before timing);
   (b) ``Trainer.run`` over the same slices, as ``MultiLabelImageClassifier`` builds it: ``epochs=1`` (one epoch
       is the n timed steps), ``monitor="loss"``, callbacks ``[EarlyStopping("val_loss", "min", 5)]``. The
       validation callable returns fixed (2, L) zero logits and labels (no forward pass), so (b) does the work
       of (a) plus exactly the Trainer's own costs: per step ``float(loss)`` and the callback events; per epoch
       the validation BCE and EarlyStopping's best-weights deep copy and its restore at the end of ``run``.
       An epoch of n steps is shorter than a real one (50 steps on ``shapes``), so the per-epoch share is
       overstated here: the ratio is a lower bound. That fixed per-epoch cost is also timed alone (a run of
       0 steps) and printed as a share of a 50-step epoch;
   (c) the full data path: ``ImageDataset`` over in-memory uint8 (150, 150, 3) arrays with the training
       transform (random affine + flip, scale, normalise), ``cache=True`` and the cache filled before timing
       (the steady state of epochs 2+; at 150 px the resize is a no-op anyway), ``make_loader(shuffle=True,
       num_workers=0, drop_last=True)`` cycled over epochs until n batches, then ``Trainer.run`` as in (b).
   Each contender keeps its own model and optimizer; warm-up steps first, then k repeats interleaved
   a, b, c / b, c, a / c, a, b ... so machine noise hits all three alike. images/s = 32 n / median repeat time.
   Target: (b)/(a) >= 0.95. (c)/(a) is printed without a target.
2. Data loading alone (images/s): ``make_loader`` (training transform, cache on, batch 32) iterated with no model,
   over (i) 256 (--quick: 64) JPEG files of 400 x 300 (``make_shapes`` at 400 px, resized, quality 90, written once to a
   temporary folder) and (ii) the same images decoded into in-memory arrays; with 0 and 2 workers; epoch 1
   (decode + resize + augment; with workers, ``make_loader`` fills the cache in the main process first, and
   the worker start is included) and epoch 2 (cached: augment + collate). A fresh dataset each repeat, median
   of k repeats. "loader / model" divides by the training images/s of 1(a); it must exceed 1 (the model, not
   the loader, should be the bottleneck).
3. Inference, model in eval mode under ``torch.inference_mode()``: latency of one forward pass at batch 1
   (median of r runs, ms); ``MultiLabelImageClassifier.predict_images([one JPEG])`` end to end (decode, resize,
   normalise, loader, forward, sigmoid), with the decode of that file alone beside it; forward throughput at
   batches 32 and 128 (images/s). The classifier is fitted quickly (epochs=1 on 64 ``make_shapes`` images at
   150 px, device cpu): its quality is irrelevant here.
4. Quality (``--quality``, minutes): ``brainnet train shapes`` and ``brainnet train digits_mosaic`` with the
   default config (``--out TMP --force --json --quiet``; ``--quiet`` only hides the progress bar) as
   subprocesses; wall time of the whole command, and from the saved ``brainnet.json`` the fit time and epochs;
   the test metrics from the JSON line. Targets: shapes micro-F1 >= 0.95 in < 300 s wall; digits_mosaic
   micro-F1 >= 0.95. The subprocesses pick their device as the CLI does (a GPU when present).

``--quick`` shrinks every count (a smoke run of about a minute). Threads: torch's default unless ``--threads N``
(``torch.set_num_threads``; passed to the quality subprocesses as OMP_NUM_THREADS). Machines are noisy: compare
ratios measured side by side in one run. This file is a script: nothing in the package or the tests imports it.
"""

from __future__ import annotations

import argparse
import json
import math
import operator
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import photos  # benchmarks/photos.py
import PIL
import torch
import torchvision
from _tables import (  # benchmarks/_tables.py
    TableSpec,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)
from PIL import Image
from rich.console import Console
from torch import nn

import brainnet
from brainnet.core.config import ImageTrainConfig
from brainnet.core.data.builtin_images import SHAPE_KINDS, make_shapes
from brainnet.core.data.images import ImageSet, decode_image
from brainnet.core.files import atomic_write_text
from brainnet.core.training import EarlyStopping
from brainnet.pipeline.augment import build_transform, image_stats
from brainnet.pipeline.image_data import ImageDataset, LoaderReport, make_loader
from brainnet.pipeline.image_estimator import MultiLabelImageClassifier
from brainnet.pipeline.models import MODELS
from brainnet.pipeline.trainer import Trainer

SIDE, BATCH, LR = 150, 32, 1e-3
N_LABELS = len(SHAPE_KINDS)
JPEG_SIZE = (400, 300)  # (width, height) of the files of part 2
TRAIN_TARGET = 0.95  # (b) / (a)
SHAPES_STEPS = (
    1600 // BATCH
)  # steps per epoch of `brainnet train shapes` (2000 images, 20% held out)
QUALITY_TARGETS = {"shapes": (0.95, 300.0), "digits_mosaic": (0.95, math.inf)}  # micro-F1, wall s

Run = Callable[[int], None]  # run(steps): that many training steps


@dataclass(frozen=True)
class Plan:
    """How much of everything to time."""

    warmup: int  # training steps per contender before timing
    steps: int  # n: training steps per repeat
    repeats: int  # k: repeats of every timing
    train_images: int  # in-memory 150 px images of part 1 (and the inference inputs)
    loader_images: int  # JPEG files of part 2
    latency_runs: int  # r: runs of the batch-1 and predict_images latencies
    batch_runs: int  # runs of the batch-32 and batch-128 forward passes
    fit_images: int  # images of the tiny fit behind predict_images


PLANS = {
    "default": Plan(3, 10, 5, 256, 256, 50, 5, 64),
    "quick": Plan(1, 2, 2, 64, 64, 10, 2, 64),
}


# ---------------------------------------------------------------------- helpers
def median_seconds(fn: Callable[[], object], runs: int) -> float:
    """Median wall seconds of ``fn()`` over ``runs`` calls (after one untimed call)."""
    fn()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def new_model(init: dict[str, torch.Tensor]) -> nn.Module:
    """A seed CNN (5 labels, 150 px) holding a copy of ``init``."""
    model = MODELS.get("seed_cnn").build((3, SIDE, SIDE), N_LABELS, ImageTrainConfig())
    model.load_state_dict(init)
    return model


def tensor_batches(
    X: torch.Tensor, Y: torch.Tensor, steps: int
) -> Iterator[tuple[torch.Tensor, ...]]:
    """``steps`` consecutive (32, 3, S, S) / (32, L) slices of X and Y, wrapping around."""
    n_batches = X.shape[0] // BATCH
    for step in range(steps):
        j = (step % n_batches) * BATCH
        yield X[j : j + BATCH], Y[j : j + BATCH]


def loader_batches(loader: Any) -> Callable[[int], Iterator[tuple[torch.Tensor, ...]]]:
    """batches(steps): the loader's (images, labels) over as many epochs as ``steps`` batches take."""

    def batches(steps: int) -> Iterator[tuple[torch.Tensor, ...]]:
        done = 0
        while done < steps:
            for batch in LoaderReport().track(
                loader
            ):  # as MultiLabelImageClassifier._train reads it
                yield batch.images, batch.labels
                done += 1
                if done == steps:
                    return

    return batches


# ---------------------------------------------------------------------- 1. training
def plain_loop(X: torch.Tensor, Y: torch.Tensor, init: dict) -> Run:
    """(a) the hand-written PyTorch loop over in-memory tensors."""
    model = new_model(init).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.BCEWithLogitsLoss()

    def run(steps: int) -> None:
        for xb, yb in tensor_batches(X, Y, steps):
            optimizer.zero_grad(set_to_none=True)
            loss_fn(model(xb), yb).backward()
            optimizer.step()

    return run


def trainer_loop(batches: Callable[[int], Iterator], init: dict) -> Run:
    """(b), (c): ``Trainer.run``, one epoch of ``steps`` batches, EarlyStopping, a fixed tiny validation."""
    model = new_model(init)
    optimizer = torch.optim.Adam(model.parameters(), lr=LR)
    loss_fn = nn.BCEWithLogitsLoss()
    val_logits = torch.zeros(
        (2, N_LABELS)
    )  # (2, L): no forward pass, the validation costs ~nothing
    val_labels = np.eye(2, N_LABELS, dtype=np.uint8)  # (2, L)

    def run(steps: int) -> None:
        callbacks = [EarlyStopping("val_loss", "min", patience=5)]
        trainer = Trainer(
            model,
            loss_fn,
            optimizer,
            epochs=1,
            batch_size=BATCH,
            monitor="loss",
            callbacks=callbacks,
        )
        trainer.run(lambda: batches(steps), lambda: (val_logits, val_labels))

    return run


def measure_training(
    images: ImageSet,
    X: torch.Tensor,
    Y: torch.Tensor,
    init: dict,
    stats: tuple,
    plan: Plan,
    log: Console,
) -> dict[str, Any]:
    """Parts 1(a), (b), (c), interleaved; returns the per-repeat seconds of each and the images/s."""
    augment = build_transform(train=True, image_size=SIDE, mean=stats[0], std=stats[1])
    data = ImageDataset(images, augment, cache=True)
    data.fill_cache()  # the steady state of epochs 2+
    loader = make_loader(
        data, batch_size=BATCH, shuffle=True, seed=0, num_workers=0, drop_last=True
    )
    runs = {
        "a": plain_loop(X, Y, init),
        "b": trainer_loop(lambda steps: tensor_batches(X, Y, steps), init),
        "c": trainer_loop(loader_batches(loader), init),
    }
    for run in runs.values():
        run(plan.warmup)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for rep in range(plan.repeats):
        for name in names[rep % 3 :] + names[: rep % 3]:
            start = time.perf_counter()
            runs[name](plan.steps)
            times[name].append(time.perf_counter() - start)
        line = ", ".join(f"{n} {times[n][-1] / plan.steps * 1e3:.0f}" for n in names)
        log.print(f"  training repeat {rep + 1}/{plan.repeats}: ms/step {line}")
    rates = {n: plan.steps * BATCH / statistics.median(t) for n, t in times.items()}
    epoch_cost = median_seconds(lambda: runs["b"](0), plan.repeats)  # Trainer.run of 0 steps
    # paired: repeat r of (a) and of x ran back to back, so their ratio cancels slow drifts of the machine
    ratios = {n: statistics.median(map(operator.truediv, times["a"], t)) for n, t in times.items()}
    return {
        "seconds": times,
        "images_per_s": rates,
        "ratio_to_a": ratios,
        "trainer_epoch_fixed_s": epoch_cost,
        "steps": plan.steps,
        "repeats": plan.repeats,
    }


def training_table(result: dict[str, Any], plan: Plan) -> TableSpec:
    spec = TableSpec(
        title=f"1. training throughput: seed CNN, {SIDE}x{SIDE}, batch {BATCH}, BCE-with-logits, Adam(1e-3)",
        headers=["path", "ms/step", "images/s", "ratio to (a)", "target", "result"],
    )
    labels = {
        "a": "(a) plain PyTorch loop, in-memory tensors",
        "b": "(b) Trainer.run, same in-memory tensors",
        "c": "(c) ImageDataset + make_loader (0 workers) + Trainer.run",
    }
    rates = result["images_per_s"]
    for name, label in labels.items():
        ratio = result["ratio_to_a"][name]
        target, status = "", ""
        if name == "b":
            target = f">= {TRAIN_TARGET}"
            status = "PASS" if ratio >= TRAIN_TARGET else "FAIL"
        ms = BATCH / rates[name] * 1e3
        spec.rows.append([label, f"{ms:.1f}", f"{rates[name]:.1f}", f"{ratio:.3f}", target, status])
    spec.notes.append(
        f"median of k={plan.repeats} interleaved repeats of n={plan.steps} steps after {plan.warmup} warm-up "
        "steps each; ratio: median over repeats of (a)'s time / the path's time in the same "
        "repeat; one model init for all; (c) augments (random affine + flip) from a filled cache"
    )
    fixed = result["trainer_epoch_fixed_s"]
    spec.notes.append(
        f"Trainer.run's fixed cost per epoch (a run of 0 steps: 2-row validation, EarlyStopping's "
        f"state_dict deep copy and restore): {fixed * 1e3:.0f} ms, in (b) and (c) spread over n="
        f"{plan.steps} steps; in `brainnet train shapes` an epoch is {SHAPES_STEPS} steps: "
        f"{100 * fixed / (fixed + SHAPES_STEPS * BATCH / result['images_per_s']['a']):.2f}% of it"
    )
    return spec


# ---------------------------------------------------------------------- 2. data loading
def write_jpegs(n: int, folder: Path) -> ImageSet:
    """``n`` make_shapes images at 400 px, resized to 400 x 300, written as JPEG (quality 90)."""
    shapes = make_shapes(n, size=JPEG_SIZE[0], seed=2)
    paths = []
    for i in range(n):
        path = folder / f"{i:04d}.jpg"
        image = Image.fromarray(shapes.arrays[i]).resize(JPEG_SIZE, Image.Resampling.BILINEAR)
        image.save(path, quality=90)
        paths.append(path)
    return ImageSet("jpeg files", list(shapes.label_names), Y=shapes.Y, paths=paths)


def time_epochs(imageset: ImageSet, transform: Any, workers: int) -> tuple[float, float]:
    """Seconds of epoch 1 (make_loader included: it fills the cache when workers > 0) and epoch 2."""
    data = ImageDataset(imageset, transform, cache=True)
    start = time.perf_counter()
    loader = make_loader(data, batch_size=BATCH, shuffle=True, seed=0, num_workers=workers)
    for _ in loader:
        pass
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in loader:
        pass
    second = time.perf_counter() - start
    del loader  # shuts the persistent workers down
    return first, second


def measure_loading(folder: Path, stats: tuple, plan: Plan, log: Console) -> dict[str, Any]:
    """Part 2: images/s of epochs 1 and 2 for JPEG files and in-memory arrays, 0 and 2 workers."""
    files = write_jpegs(plan.loader_images, folder)
    arrays = np.stack([decode_image(p) for p in files.paths])  # (n, 300, 400, 3)
    in_memory = ImageSet("arrays", files.label_names, Y=files.Y, arrays=arrays)
    augment = build_transform(train=True, image_size=SIDE, mean=stats[0], std=stats[1])
    configs = [(source, w) for source in ("jpeg", "arrays") for w in (0, 2)]
    times: dict[str, list[tuple[float, float]]] = {f"{s} w{w}": [] for s, w in configs}
    for rep in range(plan.repeats):
        for source, workers in configs:
            sets = {"jpeg": files, "arrays": in_memory}
            times[f"{source} w{workers}"].append(time_epochs(sets[source], augment, workers))
        log.print(f"  loading repeat {rep + 1}/{plan.repeats} done")
    n = plan.loader_images
    rates = {
        key: [n / statistics.median(t[0] for t in ts), n / statistics.median(t[1] for t in ts)]
        for key, ts in times.items()
    }
    return {"images": n, "repeats": plan.repeats, "images_per_s": rates}


def loading_table(result: dict[str, Any], model_rate: float) -> TableSpec:
    spec = TableSpec(
        title=f"2. data loading alone: make_loader, training transform, {SIDE} px, batch {BATCH}, cache on",
        headers=["source", "workers", "epoch", "images/s", "loader / model", "target", "result"],
    )
    sources = {"jpeg": f"JPEG files {JPEG_SIZE[0]}x{JPEG_SIZE[1]}", "arrays": "in-memory arrays"}
    for key, (first, second) in result["images_per_s"].items():
        source, workers = key.split(" w")
        for epoch, rate in (
            (f"1 ({'decode' if source == 'jpeg' else 'resize'})", first),
            ("2 (cached)", second),
        ):
            ratio = rate / model_rate
            spec.rows.append(
                [
                    sources[source],
                    workers,
                    epoch,
                    f"{rate:.0f}",
                    f"{ratio:.1f}",
                    "> 1",
                    "PASS" if ratio > 1 else "FAIL",
                ]
            )
    spec.notes.append(
        f"{result['images']} images, median of k={result['repeats']} repeats, a fresh dataset each; model = "
        f"training images/s of 1(a) ({model_rate:.1f}); epoch 1 with workers includes make_loader's cache fill "
        "(a thread pool in the main process) and the worker start"
    )
    return spec


# ---------------------------------------------------------------------- 3. inference
def measure_inference(
    X: torch.Tensor, init: dict, jpeg: Path, plan: Plan, log: Console
) -> dict[str, Any]:
    """Part 3: batch-1 latency, predict_images on one file, decode alone, batch 32 / 128 throughput."""
    model = new_model(init).eval()
    index = torch.arange(128) % X.shape[0]
    inputs = {1: X[:1], 32: X[index[:32]], 128: X[index]}
    with torch.inference_mode():
        latency = median_seconds(lambda: model(inputs[1]), plan.latency_runs)
        rates = {
            b: b / median_seconds(lambda b=b: model(inputs[b]), plan.batch_runs) for b in (32, 128)
        }
    start = time.perf_counter()
    train = make_shapes(plan.fit_images, size=SIDE, seed=3)
    clf = MultiLabelImageClassifier(epochs=1, image_size=SIDE, device="cpu", seed=0).fit(train)
    fit_s = time.perf_counter() - start
    log.print(f"  tiny fit for predict_images: {fit_s:.1f} s")
    predict = median_seconds(lambda: clf.predict_images([jpeg]), plan.latency_runs)
    decode = median_seconds(lambda: decode_image(jpeg), plan.latency_runs)
    return {
        "forward_batch1_ms": latency * 1e3,
        "predict_images_1_file_ms": predict * 1e3,
        "decode_1_file_ms": decode * 1e3,
        "forward_images_per_s": rates,
        "latency_runs": plan.latency_runs,
        "batch_runs": plan.batch_runs,
        "tiny_fit_s": fit_s,
    }


def inference_table(result: dict[str, Any]) -> TableSpec:
    spec = TableSpec(
        title="3. inference: seed CNN, eval mode, torch.inference_mode()",
        headers=["measurement", "value", "unit"],
    )
    w, h = JPEG_SIZE
    spec.rows += [
        ["forward pass, batch 1 (latency)", f"{result['forward_batch1_ms']:.2f}", "ms"],
        [
            f"predict_images on one {w}x{h} JPEG file, end to end",
            f"{result['predict_images_1_file_ms']:.2f}",
            "ms",
        ],
        ["  of which: decode_image of that file, once", f"{result['decode_1_file_ms']:.2f}", "ms"],
    ]
    for b, rate in result["forward_images_per_s"].items():
        spec.rows.append([f"forward pass, batch {b} (throughput)", f"{rate:.1f}", "images/s"])
    spec.notes.append(
        f"medians: latencies of r={result['latency_runs']} runs, batches of {result['batch_runs']} runs; "
        "predict_images runs under torch.no_grad (the library's choice), the forward rows under inference_mode"
    )
    return spec


# ---------------------------------------------------------------------- 4. quality
def train_cli(name: str, root: Path, threads: int | None, log: Console) -> dict[str, Any]:
    """``brainnet train NAME --out ROOT/NAME --force --json --quiet``: wall time, test metrics, fit summary."""
    script = Path(sys.executable).with_name("brainnet")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "brainnet.cli.main"]
    out = root / name
    command += ["train", name, "--out", str(out), "--force", "--json", "--quiet"]
    env = dict(os.environ, **({"OMP_NUM_THREADS": str(threads)} if threads else {}))
    log.print(f"  running: {shlex.join(command)}")
    start = time.perf_counter()
    proc = subprocess.run(command, stdout=subprocess.PIPE, text=True, env=env, check=False)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        return {"wall_s": wall, "error": f"exit code {proc.returncode}"}
    test = json.loads(proc.stdout.strip().splitlines()[-1])
    meta = json.loads((out / "brainnet.json").read_text("utf-8"))
    training = meta.get("training", {})
    return {
        "wall_s": wall,
        "fit_s": meta.get("fit_seconds"),
        "epochs_run": training.get("epochs_run"),
        "best_epoch": training.get("best_epoch"),
        "test": test,
    }


def quality_table(results: dict[str, dict[str, Any]]) -> TableSpec:
    spec = TableSpec(
        title="4. quality: brainnet train DATA (default config), test split",
        headers=["data", "micro-F1", "average precision", "subset accuracy", "wall s", "fit s", "epochs (best)",
                 "target", "result"],
    )  # fmt: skip
    for name, r in results.items():
        f1_target, time_target = QUALITY_TARGETS[name]
        target = f"micro-F1 >= {f1_target}" + (
            f", wall < {time_target:.0f} s" if math.isfinite(time_target) else ""
        )
        if "error" in r:
            spec.rows.append([name, "", "", "", f"{r['wall_s']:.1f}", "", "", target, "FAIL"])
            spec.notes.append(f"{name}: the command failed ({r['error']})")
            continue
        t = r["test"]
        passed = t["micro_f1"] >= f1_target and r["wall_s"] < time_target
        spec.rows.append(
            [
                name,
                f"{t['micro_f1']:.4f}",
                f"{t['average_precision']:.4f}",
                f"{t['subset_accuracy']:.4f}",
                f"{r['wall_s']:.1f}",
                f"{r['fit_s']:.1f}",
                f"{r['epochs_run']} ({r['best_epoch']})",
                target,
                "PASS" if passed else "FAIL",
            ]
        )
    spec.notes.append(
        "wall: the whole command (start, data generation, fit, evaluation, save); fit: fit_seconds"
    )
    return spec


# ---------------------------------------------------------------------- main
def header() -> dict[str, Any]:
    """The command line, versions, machine and threads, printed at the top and saved with results."""
    versions = {
        "brainnet": brainnet.__version__,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "numpy": np.__version__,
        "pillow": PIL.__version__,
    }
    device = "cuda" if torch.cuda.is_available() else "cpu"
    threads = (
        f"torch {torch.get_num_threads()} (inter-op {torch.get_num_interop_threads()}); parts 1-3 on "
        f"the CPU; the quality runs' device: {device}"
    )
    return run_header(versions, threads)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time brainnet's image training, data loading and inference on the CPU (and its quality)."
    )
    parser.add_argument(
        "--quick", action="store_true", help="far fewer steps and repeats (a smoke run, ~1 min)"
    )
    parser.add_argument(
        "--quality",
        action="store_true",
        help="also train shapes and digits_mosaic with the CLI (minutes)",
    )
    parser.add_argument(
        "--threads", type=int, help="torch.set_num_threads(N) (default: torch's default)"
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the tables as markdown")
    parser.add_argument("--json", metavar="FILE", help="also write every measurement as JSON")
    photos.add_arguments(parser)  # --photos, --folds, --throughput: benchmarks/photos.py
    args = parser.parse_args(argv)
    photos.check_arguments(parser, args)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1; received {args.threads}.")
    return args


def _json_safe(value: Any) -> Any:
    """NaN and inf -> None, int keys -> str, recursively, so the JSON is standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


def run(args: argparse.Namespace, out: Console, log: Console) -> None:
    info = header()
    lines = header_lines(info)
    for line in lines:
        out.print(line, markup=False)
    plan = PLANS["quick" if args.quick else "default"]
    torch.manual_seed(0)
    seed_model = MODELS.get("seed_cnn").build((3, SIDE, SIDE), N_LABELS, ImageTrainConfig())
    init = {k: v.clone() for k, v in seed_model.state_dict().items()}  # every model starts here
    images = make_shapes(plan.train_images, size=SIDE, seed=0)
    stats = image_stats(images, SIDE)
    evaluate = build_transform(train=False, image_size=SIDE, mean=stats[0], std=stats[1])
    X = torch.stack([evaluate(images.image(i)) for i in range(len(images))])  # (n, 3, S, S)
    Y = torch.as_tensor(images.Y, dtype=torch.float32)  # (n, L)

    log.print("1. training throughput")
    training = measure_training(images, X, Y, init, stats, plan, log)
    results: dict[str, Any] = {"plan": plan.__dict__, "training": training}
    with tempfile.TemporaryDirectory(prefix="brainnet-bench-images-") as tmp:
        log.print("2. data loading")
        results["loading"] = measure_loading(Path(tmp), stats, plan, log)
        log.print("3. inference")
        results["inference"] = measure_inference(X, init, Path(tmp) / "0000.jpg", plan, log)
        if args.quality:
            log.print("4. quality")
            results["quality"] = {
                name: train_cli(name, Path(tmp), args.threads, log) for name in QUALITY_TARGETS
            }
    specs = [
        training_table(training, plan),
        loading_table(results["loading"], training["images_per_s"]["a"]),
        inference_table(results["inference"]),
    ]
    if "quality" in results:
        specs.append(quality_table(results["quality"]))
    for spec in specs:
        status = spec.headers.index("result") if "result" in spec.headers else -1
        out.print(to_rich(spec, status_column=status))
        for note in spec.notes:
            out.print(f"  {note}", markup=False)
    if args.markdown:
        text = (
            "\n\n".join(["\n".join(["```", *lines, "```"]), *(to_markdown(s) for s in specs)])
            + "\n"
        )
        atomic_write_text(args.markdown, text, force=True)
    if args.json:
        payload = _json_safe({**info, **results})
        atomic_write_text(args.json, json.dumps(payload, indent=2) + "\n", force=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    width = None if sys.stdout.isatty() else 220  # rich wraps piped output at 80 columns
    out, log = Console(highlight=False, width=width), Console(stderr=True, highlight=False)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    if args.photos or args.throughput:
        results = {}
        if args.throughput:
            results["throughput"] = photos.throughput(args, out)
        if args.photos:
            results["photos"] = photos.cross_validate(args, out)
        if args.json:
            atomic_write_text(
                args.json, json.dumps(_json_safe(results), indent=2) + "\n", force=True
            )
        return
    run(args, out, log)


if __name__ == "__main__":
    main()
