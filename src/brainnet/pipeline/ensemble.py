"""The cross-fitted table ensemble trained as one network (``BatchedMLP``): K members, one loop.

Each member keeps everything a member trained alone has: its own initial weights (``torch.manual_seed(seed_k)``
then ``build_mlp``, as ``TorchEngine.fit_one``), its own training rows in its own order (a
``torch.Generator`` seeded ``seed_k``, ``randperm`` per epoch, batches of ``batch_size``, a last batch of one row
dropped), its own BatchNorm statistics, dropout masks from its own stream, its own AdamW moments and step count
(``BatchedAdamW``), its own validation rows, ``TrainState`` and ``EarlyStopping`` (the core callback, unchanged,
on a per-member view ``MemberLoop``). A member whose early stopping fires gets its best weights back at once and
leaves the batches: its weights never change again. Each epoch the members still training are copied into a
stack of their own (``BatchedMLP.subset``) and written back at its end; members whose t-th batch has the same size
step together (one ``bmm`` per layer), the others (a smaller last batch, one batch fewer) in a group of their
own, so no row is padded.

The ensemble is one ``core.training`` loop for everything that concerns the whole run: ``run_loop`` fires its
events (progress bar, the estimator's ``EnsembleCheckpoint``, ``tune``'s pruning callback see one loop whose logs
are the mean over the members that trained that epoch); ``resume_state`` holds every member's state at the epoch
boundary for an exact resume.

Numbers: with dropout off, members equal the sequential ``Trainer``'s to float tolerance (``bmm`` against ``mm``;
the same batches and initial weights); dropout masks come from a per-member NumPy stream (not torch's global
generator), so with dropout the members differ from the sequential path's but not from one another's: member k
is the same, to float tolerance, whether trained with the others or alone (``tests/pipeline/test_ensemble.py``).
Same seed, same machine: the same numbers.

Sparse tables (``sparse_first_layer``; "auto", the default, turns it on for sparse features): the first layer is
computed from each batch's non-zeros (``models/sparse_input.py``: x_u W - c W with x_u the rows scaled and not
centred, c = mu / sigma), which is x_std W to float rounding, so the members, their BatchNorm statistics,
validation (dense x_std rows) and what is saved are those of the dense path; with input dropout off the members
equal the dense path's to float tolerance. Input dropout differs: it drops non-zero entries of x_u (a dropped
entry becomes a raw 0), not entries of x_std.
"""

from __future__ import annotations

import contextlib
import math
import os
from typing import Any

import numpy as np
import torch

from brainnet.core.data.sparse import SparseRows, batch_rows
from brainnet.core.errors import UserInputError
from brainnet.core.training import (
    Callback,
    EarlyStopping,
    StopTraining,
    TrainState,
    emit,
    run_loop,
    validation_logs,
)
from brainnet.pipeline.models.batched_mlp import BatchedMLP, dropout_masks, stacked_bce
from brainnet.pipeline.models.sparse_input import SparseBatch, drop_values
from brainnet.pipeline.threads import one_torch_thread


class BatchedAdamW:
    """``torch.optim.AdamW`` (no amsgrad) over stacked (K, ...) parameters, with a step count per member:
    ``step(idx)`` updates members ``idx`` (None: all) with torch's fused AdamW kernel, given each member's slice
    of each tensor and its own step (so members whose batch counts differ keep their own bias corrections)."""

    def __init__(self, params: list[torch.Tensor], k: int, lr: float, weight_decay: float) -> None:
        self.params, self.lr, self.weight_decay = params, lr, weight_decay
        self.betas, self.eps = (0.9, 0.999), 1e-8
        self.exp_avg = [torch.zeros_like(p) for p in params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in params]
        self.steps = torch.zeros(k, dtype=torch.float64)

    @torch.no_grad()
    def step(self, idx: torch.Tensor | None) -> None:
        members = list(range(len(self.steps))) if idx is None else idx.tolist()
        if idx is None:
            self.steps += 1
        else:
            self.steps[idx.cpu()] += 1
        # params, grads, moments, squares, steps
        views: list[list[torch.Tensor]] = [[] for _ in range(5)]
        # members next to one another with the same step count go as one slice of each stacked tensor (all K
        # at once in the usual case): fewer, larger pieces for the fused kernel, the same arithmetic element by
        # element as one member at a time
        for a, b in _runs(members, self.steps.tolist()):
            step = torch.tensor(float(self.steps[a]))
            for p, m, v in zip(self.params, self.exp_avg, self.exp_avg_sq, strict=True):
                for part, t in zip(views, (p[a:b], p.grad[a:b], m[a:b], v[a:b], step), strict=True):
                    part.append(t)
        torch._fused_adamw_(
            *views[:4], [], views[4], lr=self.lr, beta1=self.betas[0], beta2=self.betas[1],
            weight_decay=self.weight_decay, eps=self.eps, amsgrad=False, maximize=False,
        )  # fmt: skip

    def subset(self, ks: list[int], params: list[torch.Tensor]) -> BatchedAdamW:
        """The state of members ``ks`` (copies) for ``params``, the parameters of ``BatchedMLP.subset(ks)``."""
        idx = torch.tensor(ks, device=params[0].device)
        out = BatchedAdamW(params, len(ks), self.lr, self.weight_decay)
        out.exp_avg = [a.index_select(0, idx) for a in self.exp_avg]
        out.exp_avg_sq = [a.index_select(0, idx) for a in self.exp_avg_sq]
        out.steps = self.steps[torch.tensor(ks)].clone()
        return out

    def scatter(self, part: BatchedAdamW, ks: list[int]) -> None:
        """Put a ``subset``'s state back into the slots ``ks``."""
        idx = torch.tensor(ks, device=self.exp_avg[0].device)
        pairs = zip(self.exp_avg + self.exp_avg_sq, part.exp_avg + part.exp_avg_sq, strict=True)
        for mine, theirs in pairs:
            mine.index_copy_(0, idx, theirs)
        self.steps[torch.tensor(ks)] = part.steps

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def state(self) -> dict[str, Any]:
        return {
            "exp_avg": [a.detach().cpu().numpy().copy() for a in self.exp_avg],
            "exp_avg_sq": [a.detach().cpu().numpy().copy() for a in self.exp_avg_sq],
            "steps": self.steps.numpy().copy(),
        }

    def load(self, state: dict[str, Any]) -> None:
        for mine, saved in zip(self.exp_avg, state["exp_avg"], strict=True):
            mine.copy_(torch.from_numpy(np.asarray(saved)))
        for mine, saved in zip(self.exp_avg_sq, state["exp_avg_sq"], strict=True):
            mine.copy_(torch.from_numpy(np.asarray(saved)))
        self.steps.copy_(torch.from_numpy(np.asarray(state["steps"], np.float64)))


def _runs(members: list[int], steps: list[float]) -> list[tuple[int, int]]:
    """``members`` (increasing slots) as [a, b) ranges of consecutive slots with equal ``steps``."""
    out: list[tuple[int, int]] = []
    for k in members:
        if out and out[-1][1] == k and steps[k] == steps[out[-1][0]]:
            out[-1] = (out[-1][0], k + 1)
        else:
            out.append((k, k + 1))
    return out


class MemberLoop:
    """Member k seen as a ``core.training.Loop`` by its callbacks (early stopping): its state, and snapshots of
    its slice of the stack in ``MLP`` state_dict form (what ``Engine.tensors_of`` gives for a member)."""

    def __init__(self, ensemble: EnsembleTrainer, k: int, callbacks: list[Callback]) -> None:
        self.ensemble, self.k = ensemble, k
        self.state = TrainState()
        self.callbacks = callbacks
        self.epochs = ensemble.epochs
        self.ended = False  # its on_fit_end has run (early stopping restored its best weights)

    @property
    def model(self) -> BatchedMLP:
        return self.ensemble.model

    def snapshot(self) -> dict[str, torch.Tensor]:
        return self.ensemble.model.member(self.k)

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, dict)
        self.ensemble.model.load_member(self.k, snapshot)

    def snapshot_arrays(self, snapshot: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in snapshot.items()}

    def snapshot_from_arrays(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}

    def resume_state(self) -> dict[str, Any]:
        return {}  # the stacked weights and optimizer are saved once, by the ensemble

    def load_resume_state(self, state: dict[str, Any]) -> None:
        pass

    def end(self, reason: str = "", interrupted: bool = False) -> None:
        """The member is done: its callbacks' ``on_fit_end`` (early stopping restores its best weights)."""
        if self.ended:
            return
        if reason and not self.state.stop_reason:
            self.state.stop_reason = reason
        self.state.interrupted = self.state.interrupted or interrupted
        self.ended = True
        emit(self, "on_fit_end")


class _Members(Callback):
    """The ensemble's first callback: starts and ends the members with the run."""

    def on_fit_start(self, loop: Any) -> None:
        for m in loop.members:
            emit(m, "on_fit_start")

    def on_fit_end(self, loop: Any) -> None:
        state = loop.state
        for m in loop.members:
            m.end(state.stop_reason, state.interrupted)


class _AllStopped(Callback):
    """The ensemble's last own callback: the run ends when every member has stopped."""

    def on_epoch_end(self, loop: Any, logs: dict[str, float]) -> None:
        if all(m.ended for m in loop.members):
            raise StopTraining("every member stopped early")


class EnsembleTrainer:
    """Trains the K members of ``model`` together; a ``core.training.Loop`` whose ``members`` are Loops too.

    Args:
        model: the stacked members (``BatchedMLP.from_members``).
        data: per member ((n_k, d) features, (n_k, L) labels, (m_k, d) validation features, (m_k, L) labels).
        seeds: per member, the seed of its batch order and dropout stream.
        epochs, batch_size, lr, weight_decay, monitor, patience: as ``build_trainer``'s (``cfg``).
        pos_weight: (K, L) BCE positive weights, or None.
        callbacks: the run's (checkpoint, progress bar), after the ensemble's own.
        device: where the stack and the batches live.
    """

    def __init__(
        self,
        model: BatchedMLP,
        data: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]],
        seeds: list[int],
        *,
        cfg: Any,
        pos_weight: np.ndarray | None,
        callbacks: list[Callback],
        device: torch.device,
    ) -> None:
        from brainnet.core.decision.metrics import MONITORS

        self.model, self.device = model.to(device), device
        self.epochs, self.batch_size, self.monitor = cfg.epochs, cfg.batch_size, cfg.monitor
        K = model.k
        as_t = lambda a: torch.as_tensor(a, dtype=torch.float32, device=device)  # noqa: E731
        # sparse training rows stay sparse (made dense a batch at a time in ``_batch``); a member's validation
        # rows (1/K of the data) are made dense once
        self.X = [d[0] if isinstance(d[0], SparseRows) else as_t(d[0]) for d in data]
        self.Y = [as_t(d[1]) for d in data]
        self.val = [(d[2], d[3]) for d in data]
        self.val_X = [as_t(batch_rows(d[2], slice(None))) for d in data]
        # dense rows: every member's training rows in one tensor, so a step's (G, B, d) batch is one gather
        self._dense = not any(isinstance(X, SparseRows) for X in self.X)
        sizes = [int(Y.shape[0]) for Y in self.Y]
        self._offset = torch.tensor([0, *np.cumsum(sizes)[:-1].tolist()], device=device)
        self._X_all = torch.cat(self.X) if self._dense else None  # type: ignore[arg-type]
        self._Y_all = torch.cat(self.Y)
        if self._dense:  # the per-member tensors become views of the one copy
            self.X = list(torch.split(self._X_all, sizes))  # type: ignore[arg-type]
        self.Y = list(torch.split(self._Y_all, sizes))
        # sparse_first_layer: all members' training rows uncentred (CSR) and the (d,) shift c that centres them
        self._sparse, self._shift = (
            _uncentred_rows(self.X, device)
            if uses_sparse_first_layer(cfg.sparse_first_layer, self.X)
            else (None, None)
        )
        self.generators = [torch.Generator().manual_seed(s) for s in seeds]  # batch orders
        self.dropout_rngs = [np.random.default_rng([s, 0xD50]) for s in seeds]
        self.pos_weight = None if pos_weight is None else as_t(pos_weight)  # (K, L)
        params = [p for p in model.parameters()]
        self.optimizer = BatchedAdamW(params, K, cfg.lr, cfg.weight_decay)
        key = "val_loss" if cfg.monitor == "loss" else f"val_{cfg.monitor}"
        mode = MONITORS.get(cfg.monitor).mode
        self.members = [
            MemberLoop(self, k, [EarlyStopping(key, mode, cfg.patience, min_delta=1e-6)])
            for k in range(K)
        ]
        self.callbacks = [_Members(), *callbacks, _AllStopped()]
        self.state = TrainState()
        widths = []
        # input dropout: a mask, or with sparse_first_layer on the sparse batch's values (``_step``)
        if model.input_dropout > 0 and self._sparse is None:
            widths.append((model.sizes[0], model.input_dropout))
        widths += [(h, model.dropout) for h in model.sizes[1:]] if model.dropout > 0 else []
        self._widths = widths

    # ------------------------------------------------------------------ the Loop protocol
    @property
    def sparse_first_layer(self) -> bool:
        """Whether the first layer is computed from the sparse batches (``uses_sparse_first_layer``)."""
        return self._shift is not None

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.model.state_dict().items()}

    def restore(self, snapshot: object) -> None:
        assert isinstance(snapshot, dict)
        self.model.load_state_dict(snapshot)

    def snapshot_arrays(self, snapshot: dict[str, torch.Tensor]) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy() for k, v in snapshot.items()}

    def snapshot_from_arrays(self, arrays: dict[str, np.ndarray]) -> dict[str, torch.Tensor]:
        return {k: torch.from_numpy(np.asarray(v)) for k, v in arrays.items()}

    def resume_state(self) -> dict[str, Any]:
        """Every member at this epoch boundary: the stack, the optimizer, every RNG, each member's state."""
        from brainnet.core.resume import capture
        from brainnet.pipeline.rng import rng_state

        return {
            "model": {
                k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()
            },
            "optimizer": self.optimizer.state(),
            "rng": rng_state(self.generators),
            "dropout": [g.bit_generator.state for g in self.dropout_rngs],
            "members": [
                {"loop": capture(m), "stop_reason": m.state.stop_reason, "ended": m.ended}
                for m in self.members
            ],
        }

    def load_resume_state(self, state: dict[str, Any]) -> None:
        from brainnet.core.resume import restore
        from brainnet.pipeline.rng import set_rng_state

        self.model.load_state_dict(
            {k: torch.from_numpy(np.asarray(v)) for k, v in state["model"].items()}
        )
        self.optimizer.load(state["optimizer"])
        set_rng_state(state["rng"], self.generators)
        for g, saved in zip(self.dropout_rngs, state["dropout"], strict=True):
            g.bit_generator.state = saved
        for m, saved in zip(self.members, state["members"], strict=True):
            restore(m, saved["loop"])
            m.state.stop_reason, m.ended = saved["stop_reason"], bool(saved["ended"])

    # ------------------------------------------------------------------ training
    def fit(self) -> TrainState:
        """Train until the epoch limit, every member stopped, or Ctrl-C; then every member holds its best
        weights (``MemberLoop.state`` says what each did)."""
        return run_loop(self, self._epoch)

    def _epoch(self) -> dict[str, float]:
        epoch = self.state.epoch
        active = [m for m in self.members if not m.ended]
        losses = self._train_epoch([m.k for m in active])
        logits = self._validation([m.k for m in active])
        logs_all = []
        for m, z in zip(active, logits, strict=True):
            m.state.epoch = epoch
            logs = {"epoch": float(epoch), "train_loss": losses[m.k]}
            logs |= validation_logs(self.val[m.k][1], z, self.monitor)
            m.state.history.append(logs)
            logs_all.append(logs)
            try:
                emit(m, "on_epoch_end", logs)
            except StopTraining as stop:
                m.end(str(stop))  # frozen from now on, at its best weights
        bests = [m.state.best_value for m in self.members if m.state.best_value is not None]
        self.state.best_value = float(np.mean(bests)) if bests else None
        epochs = [m.state.best_epoch for m in self.members if m.state.best_epoch is not None]
        self.state.best_epoch = max(epochs) if epochs else None
        return {k: float(np.mean([lg[k] for lg in logs_all])) for k in logs_all[0]}

    def _train_epoch(self, ks: list[int]) -> dict[int, float]:
        """One epoch of the members ``ks``; their mean training loss."""
        batches = {}
        for k in ks:
            n = self.X[k].shape[0]
            order = torch.randperm(n, generator=self.generators[k]).to(self.device)
            chunks = [order[s : s + self.batch_size] for s in range(0, n, self.batch_size)]
            if len(chunks) > 1 and chunks[-1].numel() < 2:
                chunks.pop()  # BatchNorm cannot train on one row (as Trainer.fit)
            batches[k] = chunks
        total, seen = dict.fromkeys(ks, 0.0), dict.fromkeys(ks, 0)
        # the members still training, as a stack of their own for this epoch (stops happen between epochs), so
        # that every full step is one product per layer over exactly them
        every = len(ks) == self.model.k
        model = self.model if every else self.model.subset(ks)
        opt = self.optimizer if every else self.optimizer.subset(ks, list(model.parameters()))
        position = {k: i for i, k in enumerate(ks)}
        model.train()
        for t in range(max(len(c) for c in batches.values())):
            by_size: dict[int, list[int]] = {}
            for k in ks:
                if t < len(batches[k]):
                    by_size.setdefault(batches[k][t].numel(), []).append(k)
            for size, group in by_size.items():
                pos = [position[k] for k in group]
                values = self._step(model, opt, group, pos, [batches[k][t] for k in group])
                for k, v in zip(group, values, strict=True):
                    total[k] += v * size
                    seen[k] += size
                emit(self, "on_batch_end", float(np.mean(values)))
        if not every:
            self.model.scatter(model, ks)
            self.optimizer.scatter(opt, ks)
        return {k: total[k] / max(seen[k], 1) for k in ks}

    def _step(
        self, model: BatchedMLP, opt: BatchedAdamW, group: list[int], pos: list[int], rows: list
    ) -> list[float]:
        """One optimisation step of the members ``group`` (at ``pos`` in ``model``) on their rows; their
        losses."""
        every = pos == list(range(model.k))
        idx = None if every else torch.tensor(pos, device=self.device)
        x, y = self._batch(group, rows)
        rngs = [self.dropout_rngs[k] for k in group]
        B = rows[0].numel()
        if self._shift is not None:  # a CSR (G B, d) batch of uncentred rows
            if model.input_dropout > 0:
                drop_values(rngs, x, model.input_dropout)
            x = SparseBatch.from_csr(x, len(group), self._shift)
        masks = dropout_masks(rngs, B, self._widths, self.device) if self._widths else None
        pw = None
        if self.pos_weight is not None:
            pw = self.pos_weight.index_select(0, torch.tensor(group, device=self.device))
            pw = pw.unsqueeze(1)  # (G, 1, L)
        losses = stacked_bce(model(x, idx, masks), y, pw)  # (G,)
        values = losses.detach().cpu().tolist()
        for k, v in zip(group, values, strict=True):
            if not math.isfinite(v):
                raise FloatingPointError(
                    f"the loss of model {k + 1} became {v} at epoch {self.state.epoch}. Lower the "
                    f"learning rate (now {opt.lr:g}) or check the inputs for extreme values."
                )
        opt.zero_grad()
        losses.sum().backward()  # the members share no parameter: each gets its own gradient
        emit(self, "on_after_backward")
        opt.step(idx)
        return values

    def _batch(self, group: list[int], rows: list[torch.Tensor]) -> tuple[Any, torch.Tensor]:
        """The one place a step's inputs are made: member ``group[i]``'s rows ``rows[i]`` of its training
        features and labels, stacked: ((G, B, d) float32, (G, B, L) float32) on ``device``; with
        ``sparse_first_layer`` the features are a scipy CSR (G B, d) of uncentred rows (float64, a copy)."""
        G, B = len(group), rows[0].numel()
        at = torch.cat([r + self._offset[k] for k, r in zip(group, rows, strict=True)])  # (G B,)
        y = self._Y_all.index_select(0, at).view(G, B, -1)  # (G, B, L)
        if self._sparse is not None:
            return self._sparse[at.cpu().numpy()], y
        if self._dense:
            return self._X_all.index_select(0, at).view(G, B, -1), y  # type: ignore[union-attr]
        x = torch.stack([self._rows(k, r) for k, r in zip(group, rows, strict=True)])  # (G, B, d)
        return x, y

    def _rows(self, k: int, r: torch.Tensor) -> torch.Tensor:
        X = self.X[k]
        if isinstance(X, SparseRows):
            return torch.from_numpy(X.rows(r.cpu().numpy())).to(self.device)
        return X[r]

    @torch.no_grad()
    def _validation(self, ks: list[int]) -> list[np.ndarray]:
        """Each member's (m_k, L) float32 logits on its own validation rows (eval mode), in one batched pass
        when their row counts agree."""
        self.model.eval()
        out: dict[int, np.ndarray] = {}
        by_rows: dict[int, list[int]] = {}
        for k in ks:
            by_rows.setdefault(len(self.val[k][0]), []).append(k)
        for group in by_rows.values():
            idx = torch.tensor(group, device=self.device)
            x = torch.stack([self.val_X[k] for k in group])  # (G, n, d)
            z = self.model(x, idx).cpu().numpy()  # (G, n, L)
            out.update({k: z[i] for i, k in enumerate(group)})
        self.model.train()
        return [out[k] for k in ks]


def uses_sparse_first_layer(setting: str, X: list[Any]) -> bool:
    """Whether the batched ensemble computes the first layer from sparse batches: ``setting`` "on" (refused
    with a ``UserInputError`` when the members' training features ``X`` are dense), "auto" (when they are all
    sparse ``SparseRows``) or "off"."""
    sparse = all(isinstance(x, SparseRows) and x.uncentred is not None for x in X)
    if setting == "on" and not sparse:
        raise UserInputError(
            "sparse_first_layer computes the first layer from sparse tables (a sparse ARFF file, or a "
            "mostly-zero table kept as a scipy CSR matrix); these training features are dense. Drop "
            "--sparse-first-layer on (use auto or off), or pass the features as a scipy.sparse matrix."
        )
    return setting != "off" and sparse


def _uncentred_rows(X: list[Any], device: torch.device) -> tuple[Any, torch.Tensor]:
    """Every member's training rows, uncentred, as one CSR matrix (the members' rows one after another, as
    ``_Y_all``), and the (d,) float32 shift that centres them (``SparseRows.uncentred_parts``)."""
    from brainnet.core.data.sparse import vstack

    parts = [x.uncentred_parts() for x in X]
    rows = vstack(*(p[0] for p in parts))
    return rows, torch.as_tensor(parts[0][1], dtype=torch.float32, device=device)


def fit_together(
    cfg: Any,
    seeds: list[int],
    recipe: Any,
    trains: list[Any],
    vals: list[Any],
    *,
    device: torch.device,
    callbacks: list[Callback],
) -> tuple[list[Any], list[MemberLoop]]:
    """Build the K members as ``fit_one`` would (``torch.manual_seed(seed_k)``, ``build_mlp``), train them
    together; returns (the K trained ``MLP`` s on the CPU in eval mode, their ``MemberLoop`` s)."""
    from brainnet.core.estimator import pos_weights
    from brainnet.pipeline.engine import build_network

    members = []
    n_labels = len(recipe.label_names(trains[0]))
    for seed in seeds:
        torch.manual_seed(seed)
        members.append(build_network(cfg, recipe, n_labels))
    model = BatchedMLP.from_members(members)
    labels = [recipe.labels(t) for t in trains]
    pw = np.stack([pos_weights(Y) for Y in labels]) if cfg.pos_weight == "auto" else None
    data = [(t.X, Y, v.X, recipe.labels(v)) for t, Y, v in zip(trains, labels, vals, strict=True)]
    trainer = EnsembleTrainer(
        model, data, seeds, cfg=cfg, pos_weight=pw, callbacks=callbacks, device=device
    )
    with one_cpu_thread(device):
        trainer.fit()
    return model.cpu().to_members(), trainer.members


def one_cpu_thread(device: torch.device) -> contextlib.AbstractContextManager[None]:
    """Train on one torch thread on the CPU unless ``OMP_NUM_THREADS`` says otherwise: a step is ~50
    operations of 0.1-2 ms (yeast: (10, 128, 103) x (10, 103, 256)), too small for a second thread
    (``threads.one_torch_thread``; ``benchmarks/fit_speed.py --threads-race``)."""
    return one_torch_thread(device.type == "cpu" and "OMP_NUM_THREADS" not in os.environ)


def ensemble_callbacks(cfg: Any, save: Callback | None, verbose: bool, desc: str) -> list[Callback]:
    """The run's callbacks: the estimator's checkpoint, a progress bar when ``verbose``."""
    from brainnet.core.training import ProgressBar

    monitor_key = "val_loss" if cfg.monitor == "loss" else f"val_{cfg.monitor}"
    out: list[Callback] = [save] if save is not None else []
    if verbose:
        out.append(ProgressBar(monitor_key, desc))
    return out
