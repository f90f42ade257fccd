"""Prediction cost, torch against the exported ONNX graph: cold start, peak memory, steady-state throughput.

Cold start: ``brainnet predict MODEL INPUT --runtime R`` in a fresh subprocess, wall time to exit and its peak
RSS (``resource.getrusage(RUSAGE_CHILDREN)`` of a one-child runner process, so every run's peak is its own),
the median of ``--repeats`` runs. Steady state: ``predict_proba`` of both runtimes in this one process on the
same inputs, best of ``--repeats`` (rows/s on the table, images/s on 320x240 arrays resized to the model's
side, so Pillow's resize is counted and decoding is not).

    python benchmarks/predict.py                          # trains tiny models in a temp dir (CI-sized)
    python benchmarks/predict.py --table runs/yeast --images runs/photos   # your own exported models

Models without ``model.onnx`` are exported first (into a copy when they are not in the temp dir).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

RUNNER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
out = subprocess.run(sys.argv[1:], capture_output=True, text=True)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = usage.ru_utime + usage.ru_stime  # less sensitive than wall time to other processes on the machine
print(json.dumps({"rc": out.returncode, "wall": wall, "cpu": cpu, "peak_mb": usage.ru_maxrss / 1024,
                  "err": out.stderr[-500:]}))
"""


def cold_start(
    model: Path, inputs: list[str], runtime: str, repeats: int
) -> tuple[float, float, float]:
    """(median wall seconds, median CPU seconds, median peak RSS in MB) of ``brainnet predict`` in fresh
    processes."""
    cmd = [sys.executable, "-m", "brainnet.cli.main", "predict", str(model), *inputs]
    cmd += ["--runtime", runtime, "--format", "csv"]
    walls, cpus, peaks = [], [], []
    for _ in range(repeats):
        res = json.loads(
            subprocess.run(
                [sys.executable, "-c", RUNNER, *cmd], capture_output=True, text=True
            ).stdout
        )
        if res["rc"] != 0:
            raise SystemExit(f"brainnet predict failed ({runtime}): {res['err']}")
        walls.append(res["wall"])
        cpus.append(res["cpu"])
        peaks.append(res["peak_mb"])
    return statistics.median(walls), statistics.median(cpus), statistics.median(peaks)


def throughput(model: Path, data, n: int, repeats: int) -> dict[str, float]:
    """Inputs per second of ``predict_proba`` on each runtime, best of ``repeats``, in this process."""
    import brainnet

    rates = {}
    for runtime in ("torch", "onnx"):
        est = brainnet.load(model, runtime=runtime)
        est.predict_proba(data)  # warm-up
        best = min(_timed(est.predict_proba, data) for _ in range(repeats))
        rates[runtime] = n / best
    return rates


def _timed(fn, arg) -> float:
    start = time.perf_counter()
    fn(arg)
    return time.perf_counter() - start


def ensure_exported(model: Path, work: Path) -> Path:
    if json.loads((model / "brainnet.json").read_text()).get("onnx"):
        return model
    if not model.is_relative_to(work):
        shutil.copytree(model, work / model.name)
        model = work / model.name
    from brainnet.cli.main import main

    assert main(["export", str(model)]) == 0
    return model


def tiny_models(work: Path) -> tuple[Path, Path]:
    """A yeast MLP ensemble (the table defaults: 5 members) and a seed_cnn at 150 px (the image defaults) on 64
    random images, each trained for one epoch: the cost of prediction does not depend on how well they learned."""
    from brainnet.core.data.images import ImageSet
    from brainnet.core.data.table import read_table
    from brainnet.pipeline.estimator import MultiLabelMLP
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

    table, images = work / "yeast", work / "photo"
    MultiLabelMLP(epochs=1).fit(read_table("yeast")).save(table)
    rng = np.random.default_rng(0)
    Y = rng.integers(0, 2, size=(64, 4)).astype(np.uint8)
    arrays = rng.integers(0, 256, size=(64, 150, 150, 3), dtype=np.uint8)
    photos = ImageSet(
        "random", ["a", "b", "c", "d"], Y=Y, arrays=arrays, source={"kind": "generated"}
    )
    MultiLabelImageClassifier(image_size=150, epochs=1).fit(photos).save(images)
    return table, images


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--table", type=Path, help="a table model directory (default: train yeast)")
    parser.add_argument(
        "--images", type=Path, help="an image model directory (default: train shapes)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--rows", type=int, default=2000, help="table rows for the throughput")
    parser.add_argument("--n-images", type=int, default=200, help="images for the throughput")
    args = parser.parse_args()

    import brainnet
    from brainnet.core.data.images import ImageSet
    from brainnet.core.data.table import read_table

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if args.table is None or args.images is None:
            table, images = tiny_models(work)
            table, images = args.table or table, args.images or images
        else:
            table, images = args.table, args.images
        table, images = ensure_exported(table, work), ensure_exported(images, work)

        est = brainnet.load(table, runtime="torch")
        test = read_table("yeast", split="test")  # the yeast features; another table: random rows
        d = len(est.recipe_.feature_names)
        rng = np.random.default_rng(0)
        X = test.X if test.X.shape[1] == d else rng.normal(size=(1000, d))
        rows_csv = work / "rows.csv"
        header = ",".join(est.recipe_.feature_names)
        np.savetxt(rows_csv, X[:20], delimiter=",", header=header, comments="", fmt="%.6g")

        image_est = brainnet.load(images, runtime="torch")
        side = image_est.recipe_.image_size
        photo = work / "photo.png"
        from PIL import Image

        Image.fromarray(rng.integers(0, 256, size=(480, 640, 3), dtype=np.uint8)).save(photo)
        arrays = rng.integers(0, 256, size=(args.n_images, 240, 320, 3), dtype=np.uint8)
        image_set = ImageSet("bench", list(image_est.label_names_), arrays=arrays)

        rows = []
        for what, model, inputs in (
            ("20 table rows", table, [str(rows_csv)]),
            ("1 image (640x480 PNG)", images, [str(photo)]),
        ):
            (t_wall, t_cpu, t_peak), (o_wall, o_cpu, o_peak) = (
                cold_start(model, inputs, runtime, args.repeats) for runtime in ("torch", "onnx")
            )
            rows.append(
                (
                    f"cold start, {what}",
                    f"{t_wall:.2f} s ({t_cpu:.2f} s CPU), {t_peak:.0f} MB",
                    f"{o_wall:.2f} s ({o_cpu:.2f} s CPU), {o_peak:.0f} MB",
                    f"{t_wall / o_wall:.1f}x faster, {t_peak / o_peak:.1f}x less memory",
                )
            )
        X_rows = np.resize(X, (args.rows, d))
        for what, model, data, n in (
            ("table rows/s", table, X_rows, args.rows),
            ("images/s (320x240 arrays, resized)", images, image_set, args.n_images),
        ):
            rate = throughput(model, data, n, args.repeats)
            rows.append(
                (
                    f"steady state, {what}",
                    f"{rate['torch']:,.0f}",
                    f"{rate['onnx']:,.0f}",
                    f"onnx/torch = {rate['onnx'] / rate['torch']:.2f}",
                )
            )
    import os

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"models: {table.name} (table), {images.name} ({side} px images); {os.cpu_count()} CPUs, load {load}"
    )
    print("| measure | torch | onnx | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
