"""Prediction cost: brainnet against scikit-learn's MLPClassifier in one process; torch against the exported
ONNX graph (cold start, peak memory, steady-state throughput).

Against scikit-learn (the issue's target): ``predict_proba`` and ``predict`` of the yeast table model on
``--rows`` (10,000) yeast rows (the MULAN train + test features repeated), warm, beside
``MLPClassifier((100,)).predict_proba`` on the same rows, the two alternated in every run so they share the
machine's load; the median of ``--runs`` runs and its ratio to scikit-learn. "First call after load" is a fresh
``brainnet.load`` then one ``predict_proba`` (its folding and caches included), the median of ``--loads``
loads after one of each has run in this process; the first of all in the process is shown too. CPU/wall is this
process's CPU seconds over wall seconds: below the thread count, other processes took the cores.
``--threads N`` sets torch's, OpenMP's and BLAS's threads (before numpy is imported).

Cold start: ``brainnet predict MODEL INPUT --runtime R`` in a fresh subprocess, wall time to exit and its peak
RSS (``resource.getrusage(RUSAGE_CHILDREN)`` of a one-child runner process, so every run's peak is its own),
the median of ``--repeats`` runs. Steady state: ``predict_proba`` of both runtimes in this one process on the
same inputs, best of ``--repeats`` (rows/s on the table, images/s on 320x240 arrays resized to the model's
side, so Pillow's resize is counted and decoding is not).

    python benchmarks/predict.py                          # trains tiny models in a temp dir (CI-sized)
    python benchmarks/predict.py --table runs/yeast --images runs/photos   # your own exported models
    nice -n 10 python benchmarks/predict.py --table runs/demo-yeast --sklearn-only --threads 1

The tiny table model has the default layers (10 members of 512 units) trained for one epoch: prediction costs
the same whatever the weights. MLPClassifier is fitted for 20 iterations on the yeast training rows (its
predict costs the same at any iteration). Models without ``model.onnx`` are exported first (into a copy when
they are not in the temp dir).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

if "--threads" in sys.argv:  # before numpy and torch start their thread pools
    _n = sys.argv[sys.argv.index("--threads") + 1]
    for _var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[_var] = _n

import numpy as np  # noqa: E402

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


def versus_sklearn(model: Path, rows: int, runs: int, loads: int) -> list[tuple[str, ...]]:
    """Rows of (measure, median ms, ratio to MLPClassifier, CPU/wall) on ``rows`` yeast rows, in this
    process; see the module docstring."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    import brainnet
    from brainnet.core.data.table import read_table

    train, test = read_table("yeast"), read_table("yeast", split="test")
    X = np.resize(np.vstack([train.X, test.X]), (rows, train.X.shape[1]))  # (rows, 103)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        sk = MLPClassifier((100,), max_iter=20, random_state=0).fit(train.X, train.Y)
    start = time.perf_counter()
    est = brainnet.load(model, runtime="torch")
    load_s = time.perf_counter() - start
    very_first = _timed(est.predict_proba, X)
    calls = {
        "brainnet predict_proba (warm)": est.predict_proba,
        "brainnet predict (warm)": est.predict,
        "MLPClassifier predict_proba": sk.predict_proba,
        "floor: the first layers' matrix product alone": _first_layers(est, X),
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in calls}
    for fn in calls.values():  # warm-up
        fn(X)
    for _ in range(runs):  # alternated, so that both see the same load
        for name, fn in calls.items():
            times[name].append(_wall_and_cpu(fn, X))
    firsts = []
    for _ in range(loads):
        fresh = brainnet.load(model, runtime="torch")
        firsts.append(_wall_and_cpu(fresh.predict_proba, X))
    times["brainnet first call after load"] = firsts
    ref = statistics.median(w for w, _ in times["MLPClassifier predict_proba"])
    out = []
    for name, pairs in times.items():
        wall = statistics.median(w for w, _ in pairs)
        cpu = sum(c for _, c in pairs) / sum(w for w, _ in pairs)
        out.append((name, f"{wall * 1000:.1f}", f"{wall / ref:.1f}x", f"{cpu:.2f}"))
    out.append(
        ("brainnet first call in this process (load took "
         f"{load_s * 1000:.0f} ms)", f"{very_first * 1000:.1f}", f"{very_first / ref:.1f}x", "")
    )  # fmt: skip
    return out


def _first_layers(est, X: np.ndarray):
    """A call doing only the product of the members' first layers, (K h, d) x (d, rows) ``torch.mm`` s over
    chunks of 256 rows per thread (with the default 10 x 512 units, 88 % of the multiply-adds): about the
    least an exact predict costs."""
    import torch

    weights = [
        m.backbone[1].weight for m in est.models_
    ]  # (h, d) each (input dropout, then Linear)
    W = torch.cat(weights).detach().contiguous()  # (K h, d)
    x = torch.as_tensor(est.recipe_.encode(est.recipe_.inputs(X, est.label_names_)).X)
    step = 256 * torch.get_num_threads()

    def product(_: np.ndarray) -> None:
        with torch.inference_mode():
            for start in range(0, len(x), step):
                torch.mm(W, x[start : start + step].T)

    return product


def _wall_and_cpu(fn, arg) -> tuple[float, float]:
    start, cpu = time.perf_counter(), time.process_time()
    fn(arg)
    return time.perf_counter() - start, time.process_time() - cpu


def tiny_table(work: Path) -> Path:
    """The table defaults (10 MLPs of 512 units) on yeast, trained for one epoch."""
    from brainnet.core.data.table import read_table
    from brainnet.pipeline.estimator import MultiLabelMLP

    MultiLabelMLP(epochs=1).fit(read_table("yeast")).save(work / "yeast")
    return work / "yeast"


def tiny_models(work: Path) -> tuple[Path, Path]:
    """A yeast MLP ensemble (the table defaults: 10 members of 512 units) and a seed_cnn at 150 px (the image defaults) on 64
    random images, each trained for one epoch: the cost of prediction does not depend on how well they learned."""
    from brainnet.core.data.images import ImageSet
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

    table, images = tiny_table(work), work / "photo"
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
    parser.add_argument("--sklearn-rows", type=int, default=10_000, help="rows against sklearn")
    parser.add_argument("--runs", type=int, default=20, help="warm runs against sklearn (median)")
    parser.add_argument("--loads", type=int, default=5, help="fresh loads for the first call")
    parser.add_argument("--threads", type=int, help="torch, OpenMP and BLAS threads")
    parser.add_argument(
        "--sklearn-only", action="store_true", help="only the table against MLPClassifier"
    )
    args = parser.parse_args()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        table = args.table or tiny_table(Path(tmp))
        before = os.getloadavg()[0]
        rows = versus_sklearn(table, args.sklearn_rows, args.runs, args.loads)
    print(
        f"{table.name} against MLPClassifier((100,)) on {args.sklearn_rows:,} yeast rows: torch "
        f"{torch.get_num_threads()} thread(s), {os.cpu_count()} CPUs, load average {before:.1f} before and "
        f"{os.getloadavg()[0]:.1f} after; median of {args.runs} runs ({args.loads} loads)"
    )
    print("| measure | ms | / MLPClassifier | CPU/wall |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if args.sklearn_only:
        return
    print()

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
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(
        f"models: {table.name} (table), {images.name} ({side} px images); {os.cpu_count()} CPUs, load {load}"
    )
    print("| measure | torch | onnx | ratio |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
