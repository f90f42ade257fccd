"""Multi-process training (pipeline/distributed.py): the shares of an epoch, the checks, and 2 processes
against 1 on a tiny image set and a tiny table (real torchrun subprocesses, gloo on the CPU)."""

import contextlib
import csv
import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import brainnet
from brainnet.cli.main import main
from brainnet.core.data.builtin_images import make_shapes
from brainnet.core.data.builtin_tables import load_builtin
from brainnet.core.data.images import read_images
from brainnet.core.errors import UserInputError
from brainnet.pipeline import distributed
from brainnet.pipeline.distributed import (
    DistributedSeededSampler,
    check_backend,
    process_device,
)
from brainnet.pipeline.image_data import SeededSampler
from brainnet.pipeline.models import seed_cnn
from brainnet.pipeline.trainer import Trainer

SRC = Path(__file__).resolve().parents[2] / "src"
TORCHRUN_ENV = {"WORLD_SIZE": "2", "RANK": "0", "LOCAL_WORLD_SIZE": "2"}


@pytest.mark.parametrize("n,world", [(10, 2), (11, 2), (11, 3)])
def test_the_shares_of_an_epoch_make_the_one_process_epoch(n, world):
    one = SeededSampler(n, shuffle=True, generator=torch.Generator().manual_seed(5))
    epochs = [list(one) for _ in range(3)]  # (row, augmentation seed) pairs, epochs 0, 1, 2
    samplers = [
        DistributedSeededSampler(n, shuffle=True, seed=5, num_replicas=world, rank=r)
        for r in range(world)
    ]
    for epoch in (0, 2, 1):  # set_epoch may also go back
        shares = []
        for sampler in samplers:
            sampler.set_epoch(epoch)
            shares.append(list(sampler))
        assert {len(s) for s in shares} == {len(samplers[0])}  # equal steps on every process
        # process r holds items r, r + N, ...: the b-th local batches together are the b-th global batch
        interleaved = [pair for group in zip(*shares, strict=True) for pair in group]
        assert interleaved[:n] == epochs[epoch]


def test_one_process_changes_nothing(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    ctx = distributed.setup("cpu")
    assert (ctx.rank, ctx.world_size, ctx.device) == (0, 1, torch.device("cpu"))
    assert ctx.trainer_class is Trainer and ctx.sampler(10, 0) is None
    assert ctx.local_batch(32) == 32 and list(ctx.rows(3)) == [0, 1, 2]
    values, index = torch.ones(3, 2), np.arange(3)
    assert ctx.gather(values, index) == (values, index) and ctx.notes("rows", 32) == []


def test_devices_that_cannot_train_on_several_processes(monkeypatch):
    assert process_device("cpu", 1, 2) == torch.device("cpu")
    with pytest.raises(UserInputError, match="--device mps cannot train on several processes"):
        process_device("mps", 0, 2)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert process_device("auto", 0, 1) == torch.device("cuda", 0)
    with pytest.raises(UserInputError, match="2 processes on this machine but 1 GPU"):
        process_device("cuda", 1, 2)
    with pytest.raises(UserInputError, match="names one GPU.*--device cuda"):
        process_device("cuda:1", 0, 1)


def test_a_pytorch_build_without_the_backend(monkeypatch):
    monkeypatch.setattr(torch.distributed, "is_gloo_available", lambda: False)
    monkeypatch.setattr(torch.distributed, "is_nccl_available", lambda: False)
    with pytest.raises(UserInputError, match="gloo backend, which this PyTorch build"):
        check_backend(torch.device("cpu"))
    with pytest.raises(UserInputError, match="nccl backend.*--device cpu"):
        check_backend(torch.device("cuda", 0))


@pytest.mark.parametrize(
    "extra,env,message",
    [
        (["--nproc", "0"], {}, "--nproc must be a number of processes >= 1; received 0"),
        (["--nproc", "2", "--engine", "scratch"], {}, "--engine scratch trains in one process"),
        (["--engine", "scratch"], TORCHRUN_ENV, "needs --engine torch"),
        (["--nproc", "3"], TORCHRUN_ENV, "drop --nproc when you launch with torchrun"),
        (["--nproc", "2", "--device", "mps"], {}, "--device mps cannot train on several"),
    ],
)
def test_mistakes_exit_2_before_training(extra, env, message, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["train", "yeast", "--out", str(tmp_path / "m"), *extra]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m").exists()


def test_other_processes_leave_the_message_to_rank_0(monkeypatch, tmp_path, capsys):
    for name, value in {**TORCHRUN_ENV, "RANK": "1"}.items():
        monkeypatch.setenv(name, value)
    assert main(["train", "yeast", "--out", str(tmp_path / "m"), "--engine", "scratch"]) == 2
    assert capsys.readouterr().err == ""


def test_launch_runs_torchrun_with_the_command_and_returns_its_exit_code(monkeypatch):
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError, ProcessFailure

    seen = []

    def failed_run(args):
        seen.append(args)
        failure = ProcessFailure(local_rank=0, pid=1, exitcode=2, error_file="")
        raise ChildFailedError("brainnet", {0: failure})

    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # a setting of the user's is kept
    monkeypatch.setattr("torch.distributed.run.run", failed_run)
    argv = ["train", "yeast", "--monitor", "loss", "--nproc", "2", "--out", "m"]
    assert distributed.launch(2, argv) == 2
    args = seen[0]
    assert (args.nproc_per_node, args.module, args.standalone) == ("2", True, True)
    # brainnet's --monitor and --nproc are not read as torchrun's --monitor-interval / --nproc-per-node
    assert (args.training_script, args.training_script_args) == ("brainnet", argv)
    assert os.environ["OMP_NUM_THREADS"] == "3"

    def stopped(args):
        raise SignalException("got signal: 2", sigval=2)

    monkeypatch.setattr("torch.distributed.run.run", stopped)
    assert distributed.launch(2, argv) == 130


# ---------------------------------------------------------------- 2 processes against 1
# What may differ (pipeline/distributed.py): dropout masks (drawn per process), BatchNorm statistics (per
# process) and rounding. These runs turn dropout and BatchNorm off, so 2 processes take the same steps as one up
# to float32 rounding (gradients summed in another order), which AdamW amplifies a little on near-zero
# gradients: measured max |dP| 5e-7 for the images (3 epochs), 1e-3 for the table (3 epochs, 2 models).
IMAGE_P_TOLERANCE, TABLE_P_TOLERANCE = 1e-4, 5e-3
# one decision flipped by rounding among 16 x 4 image labels moves micro-F1 by about 0.03
METRIC_TOLERANCE = 0.05

# One torchrun session (the 2 cores of CI pay ~12 s of CPU to start one) trains the table, then the images;
# the entry point runs brainnet's CLI twice in the same processes, with the seed CNN's dropout off.
TWO_COMMANDS_CLI = """import functools, sys
from brainnet.cli.main import main
from brainnet.pipeline.models import seed_cnn
seed_cnn.seed_cnn_backbone = functools.partial(seed_cnn.seed_cnn_backbone, dropout=0.0)
args = sys.argv[1:]
cut = args.index("+")
sys.exit(main(args[:cut]) or main(args[cut + 1 :]))
"""
TABLE = ["train", "yeast", "--n-models", "2", "--epochs", "3", "--hidden-sizes", "32"]
TABLE += ["--no-batch-norm", "--dropout", "0", "--input-dropout", "0", "--quiet", "--json"]
# the seed recipe, its augmentation on: every image's seed must follow it to its process. (Its network has no
# BatchNorm: a BatchNorm network such as the default cnn_small normalises each process's half batch on its own,
# so N processes match one only approximately, as in any DDP run without SyncBatchNorm)
IMAGES = [
    "--preset",
    "seed",
    "--image-size",
    "16",
    "--epochs",
    "3",
    "--batch-size",
    "16",
    "--quiet",
    "--json",
]


@pytest.fixture(scope="module")
def two(tmp_path_factory):
    """The table and the images trained on 2 processes: (folder, the torchrun run)."""
    d = tmp_path_factory.mktemp("two_processes")
    shapes = make_shapes(96, size=32, seed=0)
    rows = []
    for i in range(len(shapes)):
        Image.fromarray(shapes.arrays[i]).save(d / f"{i}.png")
        tags = ";".join(n for n, on in zip(shapes.label_names, shapes.Y[i], strict=True) if on)
        rows.append([f"{i}.png", tags, "train" if i < 64 else ("val" if i < 80 else "test")])
    with open(d / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "tags", "split"], *rows])
    (d / "two_commands.py").write_text(TWO_COMMANDS_CLI)
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONPATH": path, "OMP_NUM_THREADS": "1"}
    env.pop("WORLD_SIZE", None)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"]
    cmd += [str(d / "two_commands.py"), *TABLE, "--out", str(d / "table2"), "+"]
    cmd += ["train", str(d / "manifest.csv"), *IMAGES, "--out", str(d / "images2")]
    run = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    return d, run


def test_only_rank_0_prints_and_writes(two):
    d, run = two
    assert len(run.stdout.splitlines()) == 2  # one JSON line per command: rank 1 trains silently
    assert run.stderr.count("trained on 2 processes (DistributedDataParallel, gloo)") == 2
    for out in (d / "table2", d / "images2"):
        assert run.stderr.count(f"saved {out}") == 1  # saved without --force: no second writer
        assert sorted(p.name for p in out.iterdir()) == ["brainnet.json", "weights.safetensors"]
        assert not out.with_name(out.name + ".checkpoint").exists()
        meta = json.loads((out / "brainnet.json").read_text())
        assert any("trained on 2 processes" in note for note in meta["notes"])


@contextlib.contextmanager
def _one_thread():
    """The one-process reference on one thread, like each of the two processes."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)


def _compare(one: Path, two: Path, data, tolerance: float) -> None:
    a, b = brainnet.load(one), brainnet.load(two)  # the saved models load and predict
    for s1, s2 in zip(a.training_, b.training_, strict=True):  # the same early-stopping decisions
        assert (s1["epochs_run"], s1["best_epoch"]) == (s2["epochs_run"], s2["best_epoch"])
        assert s1["best_val_loss"] == pytest.approx(s2["best_val_loss"], abs=1e-4)
    assert np.abs(a.predict_proba(data) - b.predict_proba(data)).max() <= tolerance
    m1, m2 = a.evaluate(data), b.evaluate(data)
    for key in ("micro_f1", "macro_f1", "average_precision", "hamming_loss"):
        assert m1[key] == pytest.approx(m2[key], abs=METRIC_TOLERANCE), key


def test_a_table_on_two_processes_matches_one(two, tmp_path, capsys):
    d, run = two
    with _one_thread():
        assert main([*TABLE, "--out", str(tmp_path / "one")]) == 0
    one_metrics = json.loads(capsys.readouterr().out)
    two_metrics = json.loads(run.stdout.splitlines()[0])
    for key in ("micro_f1", "average_precision", "hamming_loss"):
        assert one_metrics[key] == pytest.approx(two_metrics[key], abs=0.01), key
    _compare(tmp_path / "one", d / "table2", load_builtin("yeast", "test"), TABLE_P_TOLERANCE)


def test_images_on_two_processes_match_one(two, tmp_path, monkeypatch):
    d, _ = two
    no_dropout = functools.partial(seed_cnn.seed_cnn_backbone, dropout=0.0)
    monkeypatch.setattr(seed_cnn, "seed_cnn_backbone", no_dropout)
    with _one_thread():
        assert (
            main(["train", str(d / "manifest.csv"), *IMAGES, "--out", str(tmp_path / "one")]) == 0
        )
    test = read_images(d / "manifest.csv").subset(np.arange(80, 96))
    _compare(tmp_path / "one", d / "images2", test, IMAGE_P_TOLERANCE)


def test_python_m_brainnet_runs_the_command_line():
    path = os.pathsep.join(p for p in (str(SRC), os.environ.get("PYTHONPATH")) if p)
    run = subprocess.run(
        [sys.executable, "-m", "brainnet", "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": path},
    )
    assert run.returncode == 0 and run.stdout.startswith("brainnet ")
