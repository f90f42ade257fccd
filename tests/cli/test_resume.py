"""Exact resume with real processes and real signals: a run killed with SIGKILL and continued with --resume ends
with the same weights, bit for bit, as a run never killed; SIGTERM writes a checkpoint and exits 143.

A run that gets a signal is a subprocess running ``DRIVER``: the CLI with a checkpoint after every epoch
(``CHECKPOINT_INTERVAL_S = 0``; the default writes at most every 2 s) and a pause after each epoch so the signal
lands in the middle of training; neither changes a number. The runs that get no signal (the reference and the
resumed one) run in this process, on one torch thread as the subprocess does (``OMP_NUM_THREADS=1``), which
saves starting torch twice per test.
"""

import contextlib
import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import brainnet
from brainnet.cli.main import main

SRC = Path(__file__).resolve().parents[2] / "src"
DRIVER = """
import sys, time
import brainnet.core.resume as resume
from brainnet.core import training
resume.CHECKPOINT_INTERVAL_S = 0.0
pause = float(sys.argv[1])
emit = training.emit
def paced(loop, event, *args):
    emit(loop, event, *args)
    if event == "on_epoch_end" and pause:
        time.sleep(pause)
training.emit = paced
from brainnet.cli.main import main
sys.exit(main(sys.argv[2:]))
"""
TABLE = ["--label-columns", "3", "--n-models", "2", "--hidden-sizes", "16", "--epochs", "6"]
TABLE += ["--patience", "6", "--batch-size", "32", "--lr", "0.003", "--monitor", "loss", "--quiet"]
IMAGES = ["--model", "seed_cnn", "--image-size", "16", "--epochs", "4", "--patience", "4"]
IMAGES += ["--batch-size", "8", "--monitor", "loss", "--rotation", "10", "--quiet"]


def _command(pause: float, *args) -> list[str]:
    return [sys.executable, "-c", DRIVER, str(pause), "train", *map(str, args), "--device", "cpu"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(SRC), "OMP_NUM_THREADS": "1"}


@contextlib.contextmanager
def _one_thread():
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _run(*args) -> None:
    """A run in this process, on one thread like the subprocesses."""
    with _one_thread():
        assert main(["train", *map(str, args), "--device", "cpu"]) == 0


def _sha(model: Path) -> str:
    return hashlib.sha256((model / "weights.safetensors").read_bytes()).hexdigest()


def _progress(checkpoint: Path) -> tuple[int, int] | None:
    """(member in progress, its last saved epoch) of a checkpoint, or None before the first one."""
    try:
        saved = json.loads((checkpoint / "brainnet.json").read_text())["resume"]
    except (OSError, ValueError, KeyError):  # not written yet, or being replaced
        return None
    return saved["member"], (saved["loop"] or {"epoch": 0})["epoch"]


def _start_and_wait(args: list, checkpoint: Path, until: tuple[int, int]) -> subprocess.Popen:
    """Start a paced run and return once its checkpoint reaches (member, epoch) ``until``."""
    proc = subprocess.Popen(
        _command(0.2, *args), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while (_progress(checkpoint) or (-1, -1)) < until:
        assert proc.poll() is None, f"the run ended before the signal: {proc.communicate()[1]}"
        assert time.monotonic() < deadline, "no checkpoint after 120 s"
        time.sleep(0.02)
    return proc


def _write_table(path: Path) -> Path:
    rng = np.random.default_rng(3)
    X = rng.normal(size=(240, 8))
    Y = (X[:, :3] + 0.6 * rng.normal(size=(240, 3)) > 0).astype(int)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow([f"x{j}" for j in range(8)] + ["sea", "sun", "hill"])
        w.writerows([[f"{v:.5f}" for v in x] + list(y) for x, y in zip(X, Y, strict=True)])
    return path


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """A small CSV and the weights of a run on it that nobody killed."""
    d = tmp_path_factory.mktemp("resume")
    data = _write_table(d / "train.csv")
    _run(data, "--out", d / "straight", *TABLE)
    return data, _sha(d / "straight")


def test_sigkill_in_the_second_member_then_resume_gives_identical_weights(table, tmp_path):
    """Members trained one after another (--no-batched-ensemble; spiking models and torchrun always are)."""
    data, _ = table
    sequential = [*TABLE, "--no-batched-ensemble"]
    _run(data, "--out", tmp_path / "straight", *sequential)
    straight = _sha(tmp_path / "straight")
    out, checkpoint = tmp_path / "m", tmp_path / "m.checkpoint"
    proc = _start_and_wait([data, "--out", out, *sequential], checkpoint, until=(1, 3))
    proc.send_signal(signal.SIGKILL)  # kill -9: no handler runs, nothing is flushed
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    member, epoch = _progress(checkpoint)
    assert member == 1 and 3 <= epoch < 6  # killed in the middle of the second member

    _run(data, "--out", out, *sequential, "--resume")
    assert _sha(out) == straight
    assert not checkpoint.exists()  # the finished run removes it, as a run never killed does
    assert not list(tmp_path.glob(".m.checkpoint.*"))  # and what a kill mid-write may have left
    notes = json.loads((out / "brainnet.json").read_text())["notes"]
    assert any(f"after model 2/2, epoch {epoch}" in n for n in notes)


def test_sigkill_a_batched_ensemble_then_resume_gives_identical_weights(table, tmp_path):
    """The default: the depth trial trains member 1 with one and with two hidden layers (no checkpoint), the
    winner is the checkpoint's finished member, and member 2 trains in the batched ensemble, whose checkpoint
    holds it at an epoch boundary."""
    data, straight = table
    out, checkpoint = tmp_path / "m", tmp_path / "m.checkpoint"
    proc = _start_and_wait([data, "--out", out, *TABLE], checkpoint, until=(1, 3))
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    member, epoch = _progress(checkpoint)
    assert member == 1 and 3 <= epoch < 6  # the trial's winner finished, member 2 in progress
    assert "depth_trial" in json.loads((checkpoint / "brainnet.json").read_text())
    assert brainnet.load(checkpoint).predict_proba(np.zeros((2, 8))).shape == (
        2,
        3,
    )  # both at their best
    assert len(brainnet.load(checkpoint).models_) == 2

    _run(data, "--out", out, *TABLE, "--resume")
    assert _sha(out) == straight
    notes = json.loads((out / "brainnet.json").read_text())["notes"]
    assert any(
        f"after epoch {epoch} of member 2 trained together, after the depth trial" in n
        for n in notes
    )


def test_sigterm_writes_a_usable_checkpoint_and_exits_143(table, tmp_path):
    data, straight = table
    out, checkpoint = tmp_path / "m", tmp_path / "m.checkpoint"
    proc = _start_and_wait([data, "--out", out, *TABLE], checkpoint, until=(0, 2))
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate()
    assert proc.returncode == 143, stderr
    assert "terminated (SIGTERM)" in stderr and "--resume" in stderr and not out.exists()
    member, epoch = _progress(checkpoint)
    assert (member, epoch) >= (0, 2)
    ckpt = brainnet.load(checkpoint)  # a usable model, of the best epoch so far
    assert ckpt.status_ == "checkpoint" and ckpt.predict_proba(np.zeros((2, 8))).shape == (2, 3)
    _run(data, "--out", out, *TABLE, "--resume")  # and the run continues exactly
    assert _sha(out) == straight


def test_sigkill_an_image_run_then_resume_gives_identical_weights(tmp_path):
    from PIL import Image

    from brainnet.core.data.builtin_images import make_shapes

    shapes = make_shapes(40, size=32, seed=1)
    rows = [["path", "shapes", "split"]]
    for i in range(len(shapes)):
        Image.fromarray(shapes.arrays[i]).save(tmp_path / f"{i}.png")
        names = ";".join(n for n, on in zip(shapes.label_names, shapes.Y[i], strict=True) if on)
        rows.append([f"{i}.png", names, "train" if i < 32 else "val"])
    with open(tmp_path / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows(rows)
    data = tmp_path / "manifest.csv"
    _run(data, "--out", tmp_path / "straight", *IMAGES)

    out, checkpoint = tmp_path / "m", tmp_path / "m.checkpoint"
    proc = _start_and_wait([data, "--out", out, *IMAGES], checkpoint, until=(0, 2))
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert proc.returncode == -signal.SIGKILL and not out.exists()
    assert _progress(checkpoint)[1] < 4
    _run(data, "--out", out, *IMAGES, "--resume")
    assert _sha(out) == _sha(tmp_path / "straight")


def test_resume_errors_name_what_differs(table, tmp_path, monkeypatch, capsys):
    """In this process on the NumPy engine: a finished run whose checkpoint is kept, then --resume with
    other options, data or labels; and the two ways to get --resume wrong."""
    import brainnet.cli.main as cli

    data, _ = table
    out = tmp_path / "m"
    args = ["train", str(data), "--out", str(out), "--engine", "scratch", *TABLE]
    assert main([*args[:4], "--resume", *args[4:]]) == 2
    assert "nothing to resume" in capsys.readouterr().err
    monkeypatch.setattr(cli, "_remove_checkpoint", lambda path: None)
    assert main(args) == 0
    finished = _sha(out)
    shutil.rmtree(out)
    assert main(args) == 2  # a checkpoint is left: continue it or --force
    assert "Pass --resume to continue it, or --force" in capsys.readouterr().err

    rows = list(csv.reader(data.read_text().splitlines()))
    other = tmp_path / "other.csv"
    flipped = [r[:-1] + [str(1 - int(r[-1]))] for r in rows[1:]]
    with open(other, "w", newline="") as f:
        csv.writer(f).writerows([rows[0], *flipped])
    renamed = tmp_path / "renamed.csv"
    with open(renamed, "w", newline="") as f:
        csv.writer(f).writerows([["z0", *rows[0][1:]], *rows[1:]])
    cases = [
        (["--lr", "0.01"], data, "option lr (--lr) changed (config.lr: 0.01 now, 0.003"),
        (["--hidden-sizes", "8"], data, "option hidden_sizes (--hidden-sizes) changed"),
        ([], other, "the labels of the training data changed"),
        ([], renamed, "the feature names of the training data changed"),
    ]
    for extra, source, message in cases:
        argv = ["train", str(source), *args[2:], *extra, "--resume"]
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err, err
    assert main([*args, "--resume"]) == 0  # every member had finished: straight to the thresholds
    assert _sha(out) == finished


def test_a_finished_run_removes_what_a_kill_mid_replace_left(tmp_path):
    """A kill inside ``atomic_directory`` may leave ``.NAME.*.old`` empty (after mkdtemp, before the rename; CI
    once hit it) or with ``replaced`` half removed; the finished run removes both and nothing else."""
    from brainnet.cli.main import _remove_checkpoint

    checkpoint = tmp_path / "m.checkpoint"
    empty = tmp_path / ".m.checkpoint.aaaa.old"
    empty.mkdir()
    half = tmp_path / ".m.checkpoint.bbbb.old" / "replaced"
    half.mkdir(parents=True)
    (half / "model.safetensors").write_bytes(b"\0")  # brainnet.json already gone
    theirs = tmp_path / ".m.checkpoint.cccc.old"
    theirs.mkdir()
    (theirs / "notes.txt").write_text("not ours")
    _remove_checkpoint(checkpoint)
    assert sorted(p.name for p in tmp_path.iterdir()) == [theirs.name]
