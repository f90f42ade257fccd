"""Training on several processes (torchrun): DistributedDataParallel, this process's share, one decision.

How a run is spread. ``torchrun --nproc-per-node N -m brainnet train ...`` (or ``brainnet train --nproc N``,
which calls ``launch``) starts N copies of the command. Each reads the data, makes the same fit plan and learns
the same input statistics (all seeded), so only the training of each network is shared: ``TorchEngine.fit_one``
asks ``setup`` for this process's ``Context`` and trains through a ``DistributedTrainer``:

- one global batch of ``batch_size`` examples per step, drawn exactly as one process would draw it (the same
  order, the same augmentation seed per image); process r takes every N-th of them from r
  (``DistributedSeededSampler`` for images, ``DistributedTrainer.fit`` for tables) and DDP averages the
  gradients, so a network without dropout or BatchNorm takes the steps one process would take, up to rounding;
- the processes' BatchNorm running statistics are averaged after each epoch, the validation rows are split
  between them and gathered, so every process computes the same validation logs and takes the same
  early-stopping decision (``gather_rows``);
- only rank 0 shows progress, writes checkpoints and saves the model; the others finish training and exit.

What differs from one process: dropout masks are drawn per process (seeded by the seed and the rank), BatchNorm
normalises each process's share of the batch (per-process statistics, as with plain DDP), and sums are taken in
another order. Same seed and same N on the same machine give the same numbers; on CPU (gloo) N processes and one
agree to rounding for a network without dropout and BatchNorm (``tests/pipeline/test_distributed.py``).
"""

from __future__ import annotations

import atexit
import functools
import math
import os
import signal
import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DistributedSampler

from brainnet.core.data.sparse import take_rows
from brainnet.core.errors import UserInputError
from brainnet.pipeline.image_data import SeededSampler
from brainnet.pipeline.trainer import Trainer, TrainState, feature_rows, predict_logits

_CONTEXT: Context | None = None  # set once per process by setup()


def world_size() -> int:
    """How many processes torchrun started in all (its ``WORLD_SIZE``; 1 without torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def launched() -> bool:
    """Whether this process is one of several started by torchrun (or another launcher setting WORLD_SIZE)."""
    return world_size() > 1


def rank() -> int:
    """This process's rank among them (0 without torchrun)."""
    return int(os.environ.get("RANK", "0"))


@dataclass(frozen=True)
class Context:
    """This process's place among the training processes; one process is rank 0 of 1 and changes nothing.

    Attributes:
        rank: 0 .. world_size - 1; rank 0 logs, checkpoints and saves.
        world_size: N, the number of processes.
        backend: "gloo" (CPU) or "nccl" (CUDA); "" for one process.
        device: where this process trains (CUDA: the GPU of its local rank).
    """

    rank: int
    world_size: int
    backend: str
    device: torch.device

    @property
    def is_rank0(self) -> bool:
        return self.rank == 0

    @property
    def trainer_class(self) -> Any:
        """What ``build_trainer`` builds: a plain ``Trainer`` for one process, else a ``DistributedTrainer``."""
        if self.world_size == 1:
            return Trainer
        return functools.partial(DistributedTrainer, context=self)

    def seed_dropout(self, seed: int) -> None:
        """After the network is built (the same initial weights everywhere): give each process its own
        dropout stream, seeded by (seed, rank), so the processes' masks are not copies of each other."""
        if self.world_size > 1:
            torch.manual_seed(int(np.random.SeedSequence([seed, self.rank]).generate_state(1)[0]))

    def sampler(self, n: int, seed: int) -> DistributedSeededSampler | None:
        """This process's share of each epoch of n training images (None: ``make_loader``'s own sampler)."""
        if self.world_size == 1:
            return None
        return DistributedSeededSampler(
            n, shuffle=True, seed=seed, num_replicas=self.world_size, rank=self.rank
        )

    def local_batch(self, batch_size: int) -> int:
        """Images per step on this process: the global batch split evenly (at least one each)."""
        return max(1, batch_size // self.world_size)

    def rows(self, n: int) -> range:
        """This process's share of n validation rows: every N-th from its rank."""
        return range(self.rank, n, self.world_size)

    def gather(self, values: torch.Tensor, index: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
        """Every process's (values, row index) pairs, on every process, in row order; see ``gather_rows``."""
        if self.world_size == 1:
            return values, index
        return gather_rows(values, index, self)

    def notes(self, what: str, batch_size: int) -> list[str]:
        """What the user should know about a multi-process run (saved with the model)."""
        if self.world_size == 1:
            return []
        return [
            f"trained on {self.world_size} processes (DistributedDataParallel, {self.backend}): "
            f"{batch_size} {what} per step, about {batch_size // self.world_size} per process"
        ]


def setup(device_name: str) -> Context:
    """This process's ``Context``; under torchrun the first call joins the process group (``env://``).

    Args:
        device_name: the config's ``device`` ("auto", "cpu", "cuda", ...); under torchrun each process takes
            the GPU of its local rank.

    Raises:
        UserInputError: a device or backend that cannot train on several processes (see ``process_device``).
    """
    global _CONTEXT
    if not launched():
        from brainnet.pipeline.engine import resolve_device

        return Context(0, 1, "", resolve_device(device_name))
    if _CONTEXT is not None:
        return _CONTEXT
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world_size())))
    device = process_device(device_name, local_rank, local_world)
    if not dist.is_initialized():
        backend = check_backend(device)
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, device_id=device if device.type == "cuda" else None)
        atexit.register(teardown)
    _CONTEXT = Context(dist.get_rank(), dist.get_world_size(), dist.get_backend(), device)
    return _CONTEXT


def teardown() -> None:
    """Leave the process group (registered with atexit by ``setup``; safe to call twice)."""
    global _CONTEXT
    _CONTEXT = None
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def process_device(name: str, local_rank: int, local_world: int) -> torch.device:
    """Where the process of ``local_rank`` among ``local_world`` on this machine trains.

    "cpu" (and "auto" without CUDA) trains every process on the CPU; "cuda" and "auto" give each process the GPU
    of its local rank, one process per GPU. A named GPU ("cuda:1") and "mps" are user errors.
    """
    if name == "cpu" or (name == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    if name == "mps" or not name.startswith(("cuda", "auto")):
        raise UserInputError(
            f"--device {name} cannot train on several processes; use --device cpu (gloo) or cuda (NCCL)."
        )
    if not torch.cuda.is_available():
        raise UserInputError(
            f"device {name!r} requested but CUDA is not available; use --device cpu or auto."
        )
    if name not in ("auto", "cuda"):
        raise UserInputError(
            f"--device {name} names one GPU, but each of the {local_world} processes trains on the GPU of "
            "its local rank; pass --device cuda (or auto), or CUDA_VISIBLE_DEVICES to choose the GPUs."
        )
    n_gpus = torch.cuda.device_count()
    if local_world > n_gpus:
        raise UserInputError(
            f"{local_world} processes on this machine but {n_gpus} GPU(s): each process needs a GPU of "
            f"its own. Use --nproc {n_gpus} (torchrun --nproc-per-node {n_gpus}) or --device cpu."
        )
    return torch.device("cuda", local_rank)


def check_backend(device: torch.device) -> str:
    """The backend for ``device`` ("gloo" on CPU, "nccl" on CUDA); a UserInputError when this build of
    PyTorch lacks it."""
    backend = "nccl" if device.type == "cuda" else "gloo"
    available = dist.is_available() and (
        dist.is_nccl_available() if backend == "nccl" else dist.is_gloo_available()
    )
    if not available:
        other = "; or train on the CPU with --device cpu (gloo)" if backend == "nccl" else ""
        raise UserInputError(
            f"training on several processes on {device.type} needs torch.distributed's {backend} backend, "
            f"which this PyTorch build ({torch.__version__}) lacks. Install a build with it{other}, or "
            "train in one process (without --nproc or torchrun)."
        )
    return backend


def check_launch(nproc: int, device_name: str) -> None:
    """Before ``launch``: fail in this process, with one message, on what would fail in every child."""
    check_backend(process_device(device_name, 0, nproc))


def launch(nproc: int, argv: Sequence[str]) -> int:
    """Run ``python -m brainnet ARGV`` on ``nproc`` processes of this machine through torchrun
    (``torch.distributed.run --standalone``) and wait for them.

    Each process gets ``OMP_NUM_THREADS`` = CPU cores / nproc unless it is set. Returns the exit code of the
    failed process (its own message is already on stderr), 128 + the signal when the launcher was stopped
    (Ctrl-C: torchrun passes it on, and rank 0 saves the best model so far as one process does), else 0.
    """
    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    os.environ.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    parser = get_args_parser()
    # without abbreviations: brainnet's --nproc and --monitor are not torchrun's --nproc-per-node and
    # --monitor-interval
    parser.allow_abbrev = False
    args = parser.parse_args(["--standalone", f"--nproc-per-node={nproc}", "-m", "brainnet", *argv])
    try:
        run(args)
    except ChildFailedError as failed:
        codes = [f.exitcode for f in failed.failures.values()]
        return next((c for c in codes if c > 0), 1)
    except SignalException as stop:
        name = signal.Signals(stop.sigval).name
        print(f"stopped by {name}: torchrun passed it on to the {nproc} processes", file=sys.stderr)
        return 128 + int(stop.sigval)
    return 0


class DistributedSeededSampler(DistributedSampler):
    """This process's share of an epoch of ``make_loader``'s ``SeededSampler``: ``(row, seed)`` pairs.

    Every process draws the epoch's order and per-image augmentation seeds exactly as one process would (the
    generator seeded with ``seed``, one draw per epoch; ``set_epoch(e)`` selects the e-th draw), pads the list
    with its first pairs to a multiple of N (as ``DistributedSampler`` does) and keeps every N-th pair from its
    rank. With a per-process batch of ``batch_size / N`` the processes' b-th batches together are the one-process
    b-th batch.

    Args:
        n: rows in the dataset.
        shuffle: a new order every epoch (else rows in order).
        seed: the ``make_loader`` seed of the one-process run.
        num_replicas: N, the number of processes.
        rank: this process's rank.
    """

    def __init__(self, n: int, *, shuffle: bool, seed: int, num_replicas: int, rank: int) -> None:
        super().__init__(range(n), num_replicas=num_replicas, rank=rank, shuffle=shuffle, seed=seed)
        self.n = n
        self._rng: torch.Generator | None = None
        self._drawn = 0  # epochs drawn from _rng so far

    def _epoch_pairs(self) -> list[tuple[int, int]]:
        if self._rng is None or self._drawn > self.epoch:  # start over (set_epoch went back)
            self._rng, self._drawn = torch.Generator().manual_seed(self.seed), 0
        one_process = SeededSampler(self.n, shuffle=self.shuffle, generator=self._rng)
        while True:
            pairs = list(one_process)  # one draw: the order and the seeds of epoch self._drawn
            self._drawn += 1
            if self._drawn > self.epoch:
                return pairs

    def __iter__(self) -> Iterator[tuple[int, int]]:  # type: ignore[override]
        pairs = self._epoch_pairs()
        pad = self.total_size - len(pairs)
        pairs += (pairs * math.ceil(pad / max(len(pairs), 1)))[:pad]
        return iter(pairs[self.rank : self.total_size : self.num_replicas])


class DistributedTrainer(Trainer):
    """A ``Trainer`` whose steps run through DistributedDataParallel on every process (see the module doc).

    ``model`` stays the plain network: callbacks snapshot, checkpoint and restore it as in one process. The
    steps of an epoch go through the DDP wrapper inside ``join()``, so a process whose share ran out of readable
    images early still takes part in the others' gradient all-reduces. After the epoch: BatchNorm running
    statistics are averaged over the processes, and the train loss is the mean over every process's rows. The
    ``validation`` callable of ``run`` must return the same logits on every process (``Context.gather``).

    Args:
        context: this process's ``Context`` (world size > 1).
        *args, **kwargs: as ``Trainer``.
    """

    def __init__(self, *args: Any, context: Context, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.context = context
        self.model.to(self.device)
        ids = [context.device.index] if context.device.type == "cuda" else None
        # forward_sync_buffers=False: each process keeps its own BatchNorm statistics during the epoch; they
        # are averaged after it (one all-reduce an epoch instead of a broadcast every step)
        self.ddp = DistributedDataParallel(self.model, device_ids=ids, forward_sync_buffers=False)

    def _train_epoch(self, batches: Iterable[tuple[torch.Tensor, torch.Tensor]]) -> float:
        rows = [0]

        def counted() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            for xb, yb in batches:
                rows[0] += yb.shape[0]
                yield xb, yb

        plain, self.model = self.model, self.ddp  # the steps (forward and backward) go through DDP
        try:
            with self.ddp.join():
                mean = super()._train_epoch(counted())
        finally:
            self.model = plain
        average_buffers(plain, self.context)
        total, n = all_reduce_sum([mean * rows[0], float(rows[0])], self.context)
        return total / max(n, 1.0)

    def fit(self, X: np.ndarray, Y: np.ndarray, X_val: np.ndarray, Y_val: np.ndarray) -> TrainState:
        """As ``Trainer.fit``: every process orders the rows with the same generator, so each step's global
        batch is the one-process batch; process r trains on its every N-th row, and the last batch is dropped
        when it cannot give each process the two rows BatchNorm needs."""
        ctx = self.context
        rows_of, n = feature_rows(X, self.device), len(X)  # a sparse table stays sparse
        Yt = torch.as_tensor(Y, dtype=torch.float32, device=self.device)  # (n, L)

        def batches() -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
            order = torch.randperm(n, generator=self.generator).to(self.device)
            for start in range(0, n, self.batch_size):
                idx = order[start : start + self.batch_size]  # the global batch
                if idx.numel() < 2 * ctx.world_size and start > 0:
                    return
                mine = idx[ctx.rank :: ctx.world_size]  # (about B / N,)
                yield rows_of(mine), Yt[mine]

        rows = np.asarray(ctx.rows(len(X_val)), dtype=np.int64)

        def validation() -> tuple[torch.Tensor, np.ndarray]:
            if len(rows):
                mine = take_rows(X_val, rows)
                logits = predict_logits(self.model, mine, self.device)  # (m, L) on the CPU
            else:  # fewer validation rows than processes
                logits = torch.zeros((0, Y_val.shape[1]))
            return ctx.gather(logits, rows)[0], Y_val

        return self.run(batches, validation)


def all_reduce_sum(values: list[float], context: Context) -> list[float]:
    """The sums of ``values`` over the processes (float64), on every process."""
    t = torch.tensor(values, dtype=torch.float64, device=context.device)
    dist.all_reduce(t)
    return t.tolist()


@torch.no_grad()
def average_buffers(model: torch.nn.Module, context: Context) -> None:
    """Replace every floating-point buffer (BatchNorm running mean and variance) by its mean over the
    processes, so every process holds the same network."""
    for buf in model.buffers():
        if buf.is_floating_point():
            dist.all_reduce(buf)
            buf.div_(context.world_size)


def gather_rows(
    values: torch.Tensor, index: np.ndarray, context: Context
) -> tuple[torch.Tensor, np.ndarray]:
    """Collect every process's rows on every process.

    Args:
        values: (m, ...) this process's rows (any m, 0 included), on the CPU.
        index: (m,) their row numbers in the whole data.
        context: the process group.

    Returns:
        ((M, ...) values on the CPU, (M,) row numbers), sorted by row number, the same on every process.
    """
    device = context.device
    sizes = [torch.zeros(1, dtype=torch.int64, device=device) for _ in range(context.world_size)]
    dist.all_gather(sizes, torch.tensor([len(index)], dtype=torch.int64, device=device))
    counts = [int(s.item()) for s in sizes]
    longest = max(counts)

    def padded(t: torch.Tensor) -> torch.Tensor:
        out = torch.zeros((longest, *t.shape[1:]), dtype=t.dtype, device=device)
        out[: len(t)] = t
        return out

    parts = {}
    for name, t in (("values", values), ("index", torch.as_tensor(index, dtype=torch.int64))):
        got = [torch.empty_like(padded(t)) for _ in counts]
        dist.all_gather(got, padded(t.to(device)))
        parts[name] = torch.cat([g[:c] for g, c in zip(got, counts, strict=True)]).cpu()
    rows = parts["index"].numpy()
    order = np.argsort(rows, kind="stable")
    return parts["values"][torch.from_numpy(order)], rows[order]
