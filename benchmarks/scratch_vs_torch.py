"""brainnet.scratch against plain PyTorch (CPU): the same training step, timed side by side in one run.

Run it from the repository root:

    .venv/bin/python benchmarks/scratch_vs_torch.py [--quick] [--case TEXT] [--threads N] [--markdown out.md]

Cases (float32, random data, one training step each):
    mlp-2-10-10-1: the seed MLP (relu, relu, linear), batch 32, MSE loss, one Adam step.
    mlp-103-256-14: multi-label MLP (relu hidden, BCE-with-logits), batch 64, one Adam step.
    cnn-150x150x3: the seed CNN (Conv 32 3x3 relu - MaxPool 2 - Conv 64 3x3 relu - MaxPool 2 -
        Flatten - Dense 64 relu - Dense 5, BCE-with-logits), batch 32.
``--case TEXT`` keeps only the cases whose name contains TEXT (e.g. ``--case cnn``).
A step is always the full training step: zero_grad, forward, loss, backward and the Adam step
(torch defaults: ``torch.optim.Adam``, ``zero_grad`` sets grads to None). Scratch takes channels-last
(B, H, W, C) images and torch NCHW ones.

Timing: a few warm-up steps, then the median over k repeats of the mean time of n steps
(``time.perf_counter``). The ratio is torch time / scratch time, so > 1 means scratch is faster.
FLOPs per step: 2 x multiply-accumulates of the matmuls and convolutions in the forward pass, times 3
for forward + backward (the backward pass costs about twice the forward: dL/dx and dL/dW);
activations, pooling, loss and optimizer are not counted. The NumPy peak is the median GFLOP/s of a
float32 2048 x 2048 @ 2048 x 2048 product measured in the same run.

Threads: by default both engines keep their defaults; ``--threads N`` sets ``torch.set_num_threads(N)``
and limits NumPy's BLAS to N threads (threadpoolctl). Both counts are printed. Machines are noisy:
compare the ratios, measured side by side. Nothing in the package or the tests imports this script.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import threadpoolctl
import torch
from _tables import (  # benchmarks/_tables.py
    TableSpec,
    header_lines,
    run_header,
    to_markdown,
    to_rich,
)
from rich.console import Console
from torch import nn

import brainnet
from brainnet.core.files import atomic_write_text
from brainnet.scratch import Conv2D, Dense, Flatten, MaxPool2D, Sequential
from brainnet.scratch.losses import get_loss
from brainnet.scratch.optimizers import Adam

Step = Callable[[], None]


@dataclass(frozen=True)
class Case:
    """One benchmark case: how to build both steps, its FLOPs, timing plan and target ratio."""

    name: str
    build: Callable[[], tuple[Step, Step]]  # () -> (scratch step, torch step)
    flops: float  # per training step (forward + backward)
    plan: tuple[int, int, int]  # (warm-up steps, n steps per repeat, k repeats)
    quick_plan: tuple[int, int, int]
    target: float  # torch / scratch must be >= this
    target_text: str


# ---------------------------------------------------------------------- FLOPs
def dense_flops(batch: int, sizes: list[int]) -> float:
    """2 x MACs of the forward matmuls of an MLP with layer sizes ``sizes``, times 3 (fwd + bwd)."""
    macs = sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=True))
    return 3.0 * 2.0 * batch * macs


def cnn_flops(batch: int, side: int, channels: int, n_labels: int) -> float:
    """2 x MACs of the seed CNN's convolutions and dense layers (valid 3x3, pool 2), times 3."""
    macs, c = 0, channels
    for filters in (32, 64):
        side -= 2  # valid 3x3
        macs += side * side * filters * 9 * c
        side, c = side // 2, filters
    features = side * side * c
    macs += features * 64 + 64 * n_labels
    return 3.0 * 2.0 * batch * macs


# ---------------------------------------------------------------------- steps
def scratch_step(model: Sequential, loss_name: str, x: np.ndarray, y: np.ndarray) -> Step:
    """zero_grad, forward, loss, backward, Adam step, on the scratch engine."""
    model.forward(x)  # builds the lazy layers, so that parameters() is complete
    optimizer, loss = Adam(model.parameters()), get_loss(loss_name)

    def step() -> None:
        optimizer.zero_grad()
        loss(model.forward(x), y)
        model.backward(loss.backward())
        optimizer.step()

    return step


def torch_step(model: nn.Module, loss_fn: nn.Module, x: np.ndarray, y: np.ndarray) -> Step:
    """zero_grad, forward, loss, backward, Adam step, in plain PyTorch on the CPU."""
    optimizer = torch.optim.Adam(model.parameters())
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def step() -> None:
        optimizer.zero_grad()
        loss_fn(model(xt), yt).backward()
        optimizer.step()

    return step


def _data(shape: tuple[int, ...], labels: int, binary: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    y = rng.random((shape[0], labels)).astype(np.float32)
    return x, (y < 0.3).astype(np.float32) if binary else y


def _torch_mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for a, b in zip(sizes[:-1], sizes[1:], strict=True):
        layers += [nn.Linear(a, b), nn.ReLU()]
    return nn.Sequential(*layers[:-1])  # linear output


def build_mlp(sizes: list[int], batch: int, loss_name: str) -> tuple[Step, Step]:
    """Scratch and torch steps of a relu MLP with a linear output layer."""
    torch.manual_seed(0)
    x, y = _data((batch, sizes[0]), sizes[-1], binary=loss_name != "mse")
    hidden = [Dense(units, "relu", rng=k) for k, units in enumerate(sizes[1:-1])]
    model = Sequential([*hidden, Dense(sizes[-1], rng=len(hidden))])
    loss_fn = nn.MSELoss() if loss_name == "mse" else nn.BCEWithLogitsLoss()
    return scratch_step(model, loss_name, x, y), torch_step(_torch_mlp(sizes), loss_fn, x, y)


def build_cnn(batch: int, side: int, n_labels: int) -> tuple[Step, Step]:
    """Scratch (channels-last) and torch (NCHW) steps of the seed CNN."""
    torch.manual_seed(0)
    x, y = _data((batch, side, side, 3), n_labels, binary=True)
    scratch = Sequential(
        [
            Conv2D(32, 3, activation="relu", rng=0),
            MaxPool2D(2),
            Conv2D(64, 3, activation="relu", rng=1),
            MaxPool2D(2),
            Flatten(),
            Dense(64, "relu", rng=2),
            Dense(n_labels, rng=3),
        ]
    )
    out = ((side - 2) // 2 - 2) // 2
    net = nn.Sequential(
        nn.Conv2d(3, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * out * out, 64), nn.ReLU(), nn.Linear(64, n_labels),
    )  # fmt: skip
    x_nchw = np.ascontiguousarray(x.transpose(0, 3, 1, 2))
    loss_fn = nn.BCEWithLogitsLoss()
    return scratch_step(scratch, "bce_with_logits", x, y), torch_step(net, loss_fn, x_nchw, y)


CASES = (
    Case(
        "mlp 2-10-10-1, batch 32, MSE",
        lambda: build_mlp([2, 10, 10, 1], 32, "mse"),
        dense_flops(32, [2, 10, 10, 1]),
        (200, 500, 9),
        (50, 100, 3),
        2.0,
        ">= 2 (scratch 2x faster)",
    ),
    Case(
        "mlp 103-256-14, batch 64, BCE",
        lambda: build_mlp([103, 256, 14], 64, "bce_with_logits"),
        dense_flops(64, [103, 256, 14]),
        (100, 300, 9),
        (20, 50, 3),
        1.0,
        ">= 1 (no slower)",
    ),
    Case(
        "cnn 150x150x3 → 5, batch 32, BCE",
        lambda: build_cnn(32, 150, 5),
        cnn_flops(32, 150, 3, 5),
        (1, 1, 3),
        (1, 1, 1),
        1 / 1.6,
        ">= 0.625 (within 1.6x)",
    ),
)


# ---------------------------------------------------------------------- timing
def time_step(step: Step, warmup: int, n: int, k: int) -> float:
    """Median over k repeats of the mean seconds per step over n steps, after ``warmup`` steps."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(k):
        start = time.perf_counter()
        for _ in range(n):
            step()
        times.append((time.perf_counter() - start) / n)
    return statistics.median(times)


def numpy_peak(size: int, repeats: int) -> float:
    """Median GFLOP/s of a float32 size x size matrix product."""
    rng = np.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(np.float32) for _ in range(2))
    a @ b  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - start)
    return 2.0 * size**3 / statistics.median(times) / 1e9


def run_case(case: Case, quick: bool, log: Console) -> dict[str, Any]:
    """Time both steps of one case, scratch first then torch, and return the measurements."""
    warmup, n, k = case.quick_plan if quick else case.plan
    scratch, torch_ = case.build()
    s = time_step(scratch, warmup, n, k)
    t = time_step(torch_, warmup, n, k)
    log.print(f"  {case.name}: scratch {s * 1e3:.3f} ms, torch {t * 1e3:.3f} ms (n={n}, k={k})")
    return {"case": case, "scratch": s, "torch": t, "n": n, "k": k}


# ---------------------------------------------------------------------- tables
def result_table(results: list[dict[str, Any]], peak: float) -> TableSpec:
    """One row per case: times, ratio, target, PASS/FAIL, achieved GFLOP/s and % of the NumPy peak."""
    spec = TableSpec(
        title="scratch vs torch: one training step (zero_grad, forward, loss, backward, Adam step)",
        headers=[
            "case", "scratch ms/step", "torch ms/step", "torch/scratch", "target", "result",
            "scratch GFLOP/s", "torch GFLOP/s", "% of NumPy peak (scratch / torch)",
        ],
    )  # fmt: skip
    for r in results:
        case: Case = r["case"]
        ratio = r["torch"] / r["scratch"]
        gs, gt = case.flops / r["scratch"] / 1e9, case.flops / r["torch"] / 1e9
        spec.rows.append(
            [
                case.name,
                f"{r['scratch'] * 1e3:.3f}",
                f"{r['torch'] * 1e3:.3f}",
                f"{ratio:.2f}",
                case.target_text,
                f"{'PASS' if ratio >= case.target else 'FAIL'}",
                f"{gs:.2f}",
                f"{gt:.2f}",
                f"{100 * gs / peak:.1f}% / {100 * gt / peak:.1f}%",
            ]
        )
        spec.notes.append(
            f"{case.name}: {case.flops / 1e6:.3f} MFLOP/step (2·MACs fwd ×3), "
            f"median of k={r['k']} repeats of n={r['n']} steps"
        )
    spec.notes.append(f"NumPy float32 2048×2048 @ 2048×2048 peak: {peak:.1f} GFLOP/s")
    return spec


# ---------------------------------------------------------------------- main
def blas_threads() -> str:
    """NumPy's BLAS libraries and their thread counts, as threadpoolctl reports them."""
    info = threadpoolctl.threadpool_info()
    blas = [f"{i['internal_api']} {i['num_threads']}" for i in info if i["user_api"] == "blas"]
    return ", ".join(blas) or "unknown"


def header() -> list[str]:
    """The command line, date, versions, machine and both engines' thread counts."""
    versions = {
        "brainnet": brainnet.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    threads = f"torch {torch.get_num_threads()}; NumPy BLAS: {blas_threads()}"
    return header_lines(run_header(versions, threads))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Time one training step in brainnet.scratch and in PyTorch (CPU)."
    )
    parser.add_argument("--quick", action="store_true", help="far fewer steps (a smoke run)")
    parser.add_argument(
        "--case", metavar="TEXT", help="only the cases whose name contains TEXT (e.g. cnn)"
    )
    parser.add_argument(
        "--threads", type=int, help="threads for both torch and NumPy's BLAS (default: defaults)"
    )
    parser.add_argument("--markdown", metavar="FILE", help="also write the table as markdown")
    args = parser.parse_args(argv)
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be >= 1; received {args.threads}.")
    if args.case is not None and not any(args.case in case.name for case in CASES):
        names = ", ".join(repr(case.name) for case in CASES)
        parser.error(f"--case {args.case!r} matches no case; the cases are {names}.")
    return args


def run(args: argparse.Namespace, out: Console, log: Console) -> None:
    lines = header()
    for line in lines:
        out.print(line, markup=False)
    peak = numpy_peak(2048, 3 if args.quick else 7)
    cases = [case for case in CASES if args.case is None or args.case in case.name]
    results = [run_case(case, args.quick, log) for case in cases]
    spec = result_table(results, peak)
    out.print(to_rich(spec, status_column=5))
    for note in spec.notes:
        out.print(f"  {note}", markup=False)
    if args.markdown:
        text = "\n".join(["```", *lines, "```", "", to_markdown(spec)]) + "\n"
        atomic_write_text(args.markdown, text, force=True)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    width = None if sys.stdout.isatty() else 220  # rich wraps piped output at 80 columns
    out, log = Console(highlight=False, width=width), Console(stderr=True, highlight=False)
    if args.threads is None:
        run(args, out, log)
        return
    torch.set_num_threads(args.threads)
    with threadpoolctl.threadpool_limits(limits=args.threads, user_api="blas"):
        run(args, out, log)


if __name__ == "__main__":
    main()
