"""Images per second of `brainnet train` on 1 process against N processes (torchrun, DDP) on this machine.

    python benchmarks/distributed.py                      # 512 built-in shapes images, 32 px, 2 epochs, N = 2
    python benchmarks/distributed.py --images 2048 --nproc 4 --size 48 --epochs 3

Each row is one `python -m brainnet train MANIFEST ...` subprocess on the same generated images (the built-in
shapes generator, written as PNG files with a train/val split column), early stopping off. "images/s" is
training images x epochs / the model's own `fit_seconds` (training, validation each epoch, out-of-fold
probabilities, thresholds; process start-up and data reading excluded); "wall s" is the whole command, start-up
of torch in every process included. The ratio is against one process using every core. The load average
before and after is printed: on a shared machine the numbers move with it, so compare rows of one run.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def write_images(folder: Path, n: int) -> int:
    """n shapes images as PNG files and a manifest (90 % train, 10 % val); returns the training count."""
    from PIL import Image

    from brainnet.core.data.builtin_images import make_shapes

    shapes = make_shapes(n, seed=0)
    n_train = int(n * 0.9)
    rows = []
    for i in range(n):
        Image.fromarray(shapes.arrays[i]).save(folder / f"{i}.png")
        tags = ";".join(
            name for name, on in zip(shapes.label_names, shapes.Y[i], strict=True) if on
        )
        rows.append([f"{i}.png", tags, "train" if i < n_train else "val"])
    with open(folder / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "tags", "split"], *rows])
    return n_train


def run(folder: Path, args: argparse.Namespace, nproc: int, threads: int) -> tuple[float, float]:
    """(fit seconds, wall seconds) of one training command."""
    out = folder / f"model-{nproc}-{threads}"
    cmd = [
        sys.executable,
        "-m",
        "brainnet",
        "train",
        str(folder / "manifest.csv"),
        "--out",
        str(out),
    ]
    cmd += ["--force", "--quiet", "--image-size", str(args.size), "--epochs", str(args.epochs)]
    cmd += ["--patience", str(args.epochs), "--batch-size", str(args.batch_size), "--device", "cpu"]
    cmd += ["--model", args.model] + (["--nproc", str(nproc)] if nproc > 1 else [])
    path = os.pathsep.join(p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-3000:]}")
    meta = json.loads((out / "brainnet.json").read_text())
    assert meta["training"][0]["epochs_run"] == args.epochs
    return float(meta["fit_seconds"]), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=512, help="generated images (90 %% train)")
    parser.add_argument("--size", type=int, default=32, help="--image-size")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32, help="the global batch")
    parser.add_argument("--model", default="seed_cnn")
    parser.add_argument("--nproc", type=int, default=2, help="processes of the multi-process rows")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    rows = [
        ("1 process, 1 thread", 1, 1),
        (f"1 process, {cores} threads", 1, cores),
        (f"{args.nproc} processes, {max(1, cores // args.nproc)} thread(s) each", args.nproc, None),
    ]
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        n_train = write_images(folder, args.images)
        results = []
        for label, nproc, threads in rows:
            fit, wall = run(folder, args, nproc, threads or max(1, cores // nproc))
            results.append((label, n_train * args.epochs / fit, wall))
    load_after = os.getloadavg()
    base = results[1][1]
    print(
        f"`python benchmarks/distributed.py --images {args.images} --size {args.size} --epochs "
        f"{args.epochs} --batch-size {args.batch_size} --model {args.model} --nproc {args.nproc}`: "
        f"{n_train} training images, {cores} CPU cores, load average {load_before[0]:.1f} before, "
        f"{load_after[0]:.1f} after\n"
    )
    print("| training | images/s | ratio | wall s (start-up included) |")
    print("| :--- | ---: | ---: | ---: |")
    for label, rate, wall in results:
        print(f"| {label} | {rate:.0f} | {rate / base:.2f} | {wall:.1f} |")


if __name__ == "__main__":
    main()
