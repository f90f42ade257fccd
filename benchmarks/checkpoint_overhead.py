"""The cost of resumable checkpoints: size and time of one checkpoint with the resume state vs the checkpoint
brainnet wrote before (the loadable model only), side by side in one process.

Run it from the repository root:

    .venv/bin/python benchmarks/checkpoint_overhead.py [--epochs N] [--case TEXT]

Cases: yeast on the torch MLP and on the NumPy MLP (the default config, one member), and the shapes images
(200 generated, 48 px) on seed_cnn and on resnet18 (64 px), one member. Each fit writes a checkpoint after every
epoch (``CHECKPOINT_INTERVAL_S = 0``); after each of those writes the benchmark also writes, to another
directory, what the old ``Checkpoint`` wrote (the same model directory without ``resume.*`` tensors and the
``"resume"`` JSON). Per checkpoint: capture (copying the loop's state at the end of the epoch: weights,
optimizer, RNGs, early stopping's best weights), write, and the files' size. "epoch" is the median time of an epoch
(training and validation, without the checkpoint), so the last column says what a checkpoint after every epoch costs; by default
brainnet writes at most one every 2 s. Times are medians over the epochs; machines are noisy, compare the ratios.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

import brainnet.core.resume as resume
from brainnet.core import training
from brainnet.core.model_dir import save_model_dir


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.iterdir())


def measure(make, fit_args: tuple, epochs: int) -> dict[str, float]:
    """Fit once with a checkpoint after every epoch, timing the new and the old checkpoint side by side."""
    tmp = Path(tempfile.mkdtemp())
    captures, new, old, sizes_new, sizes_old = [], [], [], [], []
    capture, write = resume.capture, resume.RunCheckpoints.write

    def timed_capture(loop):
        start = time.perf_counter()
        state = capture(loop)
        captures.append(time.perf_counter() - start)
        return state

    def both_writes(self, best, record, loop_state):
        start = time.perf_counter()
        write(self, best, record, loop_state)
        if loop_state is None:  # the write after a member, not an epoch's
            return
        new.append(time.perf_counter() - start)
        sizes_new.append(_size(self.path))
        k = len(self.finished)
        tensors = dict(self._tensors) | {f"model{k}.{n}": a for n, a in (best or {}).items()}
        meta = resume.checkpoint_meta(self.est, k + 1, {**record, "model": k + 1})
        start = time.perf_counter()
        save_model_dir(tmp / "old", meta, tensors, force=True)  # what Checkpoint wrote before
        old.append(time.perf_counter() - start)
        sizes_old.append(_size(tmp / "old"))

    emit, started, epoch_s = training.emit, [0.0], []

    def timed_emit(loop, event, *args):  # an epoch: from its start to its end, before the callbacks
        if event == "on_epoch_start":
            started[0] = time.perf_counter()
        elif event == "on_epoch_end":
            epoch_s.append(time.perf_counter() - started[0])
        emit(loop, event, *args)

    resume.capture, resume.RunCheckpoints.write = timed_capture, both_writes
    training.emit, resume.CHECKPOINT_INTERVAL_S = timed_emit, 0.0
    try:
        make(epochs=epochs, patience=epochs).fit(*fit_args, checkpoint=tmp / "ckpt")
    finally:
        resume.capture, resume.RunCheckpoints.write, training.emit = capture, write, emit
        shutil.rmtree(tmp, ignore_errors=True)
    med = statistics.median
    return {
        "epoch_s": med(epoch_s),
        "old_mb": med(sizes_old) / 1e6,
        "new_mb": med(sizes_new) / 1e6,
        "old_s": med(old),
        "capture_s": med(captures),
        "new_s": med(new) + med(captures),
    }


def cases(epochs: int):
    from brainnet.core.data.builtin_images import make_shapes
    from brainnet.core.data.builtin_tables import load_builtin

    yeast = load_builtin("yeast", "train")
    shapes = make_shapes(200, seed=0)

    def table(cls):
        return lambda **kw: cls(n_models=1, device="cpu", **kw)

    def images(model, size):
        from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

        return lambda **kw: MultiLabelImageClassifier(
            model=model, image_size=size, batch_size=32, device="cpu", **kw
        )

    from brainnet.pipeline.estimator import MultiLabelMLP
    from brainnet.scratch.estimator import ScratchMultiLabelMLP

    yield "yeast mlp (torch)", table(MultiLabelMLP), (yeast,)
    yield "yeast mlp (scratch)", table(ScratchMultiLabelMLP), (yeast,)
    yield "shapes seed_cnn 48px", images("seed_cnn", 48), (shapes,)
    yield "shapes resnet18 64px", images("resnet18", 64), (shapes,)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--case", default="", help="only the cases whose name contains this text")
    args = parser.parse_args()
    header = "| case | epoch s | old MB | new MB | size x | old write s | capture s | new s | time x | new s / epoch |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, make, fit_args in cases(args.epochs):
        if args.case not in name:
            continue
        r = measure(make, fit_args, args.epochs)
        print(
            f"| {name} | {r['epoch_s']:.3f} | {r['old_mb']:.2f} | {r['new_mb']:.2f} | "
            f"{r['new_mb'] / r['old_mb']:.2f} | {r['old_s']:.4f} | {r['capture_s']:.4f} | "
            f"{r['new_s']:.4f} | {r['new_s'] / r['old_s']:.2f} | {r['new_s'] / r['epoch_s']:.1%} |",
            flush=True,
        )


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
