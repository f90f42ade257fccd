"""The training recipe around an image network: parameter groups (discriminative learning rates), the learning-rate
schedule per step, EMA weight averaging, and fastai-style fine-tuning (head first, then every layer).

Each piece is a ``brainnet.core.training.Callback`` (or a plain function), added to a ``Trainer`` by
``add_recipe_callbacks``; the loop itself does not change. The EMA weights are what is validated, checkpointed,
restored as the best epoch, saved and exported: ``EMA.swap_in`` puts them into the model just before each
validation, and the next epoch starts from the training weights again.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from brainnet.core.training import Callback, Loop

WARMUP_PCT = 0.25  # one-cycle: share of the steps spent warming up to the peak learning rate


def param_groups(model: nn.Module, cfg: Any) -> list[Any]:
    """The trainable parameters for AdamW: one list, or with ``cfg.backbone_lr_mult != 1`` two groups,
    ``{"name": "backbone", "lr": lr * mult}`` and ``{"name": "head", "lr": lr}`` (the head and anything else)."""
    trainable = [p for p in model.parameters() if p.requires_grad]
    mult = float(getattr(cfg, "backbone_lr_mult", 1.0))
    backbone = getattr(model, "backbone", None)
    if mult == 1.0 or not isinstance(backbone, nn.Module):
        return trainable
    ids = {id(p) for p in backbone.parameters()}
    groups = [
        {"name": "backbone", "lr": cfg.lr * mult, "params": [p for p in trainable if id(p) in ids]},
        {"name": "head", "lr": cfg.lr, "params": [p for p in trainable if id(p) not in ids]},
    ]
    return [g for g in groups if g["params"]]


def make_scheduler(optimizer: torch.optim.Optimizer, name: str, total_steps: int) -> Any:
    """A per-step LR scheduler: "onecycle" (each group warms up to its own lr, then anneals; a run of under
    8 steps anneals only), "cosine" (from lr to 0), or None for "constant"."""
    from torch.optim import lr_scheduler

    if name == "constant" or total_steps < 2:
        return None
    if (
        name == "onecycle" and total_steps * WARMUP_PCT >= 2
    ):  # shorter: no room to warm up, cosine instead
        peaks = [g["lr"] for g in optimizer.param_groups]
        return lr_scheduler.OneCycleLR(
            optimizer, max_lr=peaks, total_steps=total_steps, pct_start=WARMUP_PCT
        )
    return lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


class StepSchedule(Callback):
    """Steps ``loop.scheduler`` after every batch (its state is saved with the loop for a resume)."""

    def __init__(self, total_steps: int) -> None:
        self.total_steps = total_steps

    def on_batch_end(self, loop: Loop, loss: float) -> None:
        scheduler = loop.scheduler  # type: ignore[attr-defined]
        if (
            scheduler.last_epoch < self.total_steps
        ):  # fewer batches than planned is fine, more is not
            scheduler.step()


class EMA(Callback):
    """An exponential moving average of the model's parameters and buffers, updated after every step.

    decay_t = min(decay, (1 + t) / (10 + t)) at update t, so the average does not remember the random
    initialisation for long in short runs. Only parameters are averaged: buffers (BatchNorm's running statistics,
    themselves a moving average) are the model's own at the moment the average is swapped in, so on several
    processes they are the statistics ``DistributedTrainer`` has already averaged.

    Args:
        model: the network being trained (its tensors are updated in place, so the pairs are made once).
        decay: e.g. 0.99 (a memory of about 100 steps).
    """

    def __init__(self, model: nn.Module, decay: float) -> None:
        self.model, self.decay = model, decay
        self.shadow: dict[str, torch.Tensor] = {}
        self.stash: dict[str, torch.Tensor] | None = (
            None  # the training weights while the EMA is in
        )
        self.updates = 0

    def on_fit_start(self, loop: Loop) -> None:
        self._live = self.model.state_dict()  # detached views of the model's own tensors
        self.shadow = {k: v.detach().clone() for k, v in self._live.items()}
        self._averaged = [k for k, _ in self.model.named_parameters()]
        self.stash, self.updates = None, 0

    def on_batch_end(self, loop: Loop, loss: float) -> None:
        self.updates += 1
        d = min(self.decay, (1 + self.updates) / (10 + self.updates))
        with torch.no_grad():
            torch._foreach_lerp_(
                [self.shadow[k] for k in self._averaged],
                [self._live[k] for k in self._averaged],
                1 - d,
            )

    def swap_in(self) -> None:
        """Put the averaged parameters into the model (for validation) beside its own buffers; the training
        parameters wait in ``stash``."""
        if self.stash is not None:
            return
        with torch.no_grad():
            self.stash = {k: v.clone() for k, v in self._live.items()}
            averaged = set(self._averaged)
            for k, v in self._live.items():
                if k in averaged:
                    v.copy_(self.shadow[k])
                else:
                    self.shadow[k].copy_(v)  # buffers: the live ones

    def on_epoch_start(self, loop: Loop) -> None:
        if self.stash is None:
            return
        with torch.no_grad():
            for k, v in self._live.items():
                v.copy_(self.stash[k])
        self.stash = None

    def state_dict(self) -> dict[str, Any]:
        return {"shadow": self.shadow, "stash": self.stash, "updates": self.updates}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        def on_device(tree: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
            return {k: v.to(self._live[k].device, copy=True) for k, v in tree.items()}

        self.shadow = on_device(state["shadow"])
        self.stash = None if state["stash"] is None else on_device(state["stash"])
        self.updates = int(state["updates"])


class FineTune(Callback):
    """fastai's ``fine_tune``: only the head trains for the first ``epochs`` epochs (backbone frozen, its
    BatchNorm statistics kept), then every layer. The optimizer must hold every parameter from the start."""

    def __init__(self, model: Any, epochs: int) -> None:
        self.model, self.epochs = model, epochs

    def on_epoch_start(self, loop: Loop) -> None:
        frozen = loop.state.epoch <= self.epochs
        if self.model.backbone_frozen != frozen:
            self.model.freeze_backbone(frozen)

    def on_fit_end(self, loop: Loop) -> None:
        if self.model.backbone_frozen:
            self.model.freeze_backbone(False)


def add_recipe_callbacks(trainer: Any, cfg: Any, steps_per_epoch: int) -> EMA | None:
    """Add the schedule, fine-tuning and EMA of ``cfg`` (an ``ImageTrainConfig``) to ``trainer``; returns the
    EMA callback (call ``swap_in()`` before each validation) or None when ``cfg.ema`` is 0."""
    model = trainer.model
    total = cfg.epochs * steps_per_epoch
    trainer.scheduler = make_scheduler(trainer.optimizer, cfg.schedule, total)
    added: list[Callback] = []
    if trainer.scheduler is not None:
        added.append(StepSchedule(total))
    if cfg.fine_tune_epochs > 0:
        added.append(FineTune(model, cfg.fine_tune_epochs))
    ema = EMA(model, cfg.ema) if cfg.ema > 0 else None
    if ema is not None:
        added.append(ema)
    trainer.callbacks[:0] = added  # before early stopping and checkpoints
    return ema
