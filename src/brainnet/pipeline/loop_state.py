"""The torch ``Trainer``'s full state as NumPy arrays and JSON values, for an exact resume
(``brainnet.core.resume``): model (parameters and buffers), optimizer, LR scheduler (when the trainer has one) and
RNG states (``rng.py``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from brainnet.pipeline.rng import rng_state, set_rng_state


def _arrays(tree: Any) -> Any:
    """A state_dict-like tree with tensors as NumPy copies and tuples as lists."""
    if isinstance(tree, torch.Tensor):
        return tree.detach().to("cpu", copy=True).numpy()
    if isinstance(tree, dict):
        return {k: _arrays(v) for k, v in tree.items()}
    if isinstance(tree, list | tuple):
        return [_arrays(v) for v in tree]
    return tree


def _tensors(tree: Any) -> Any:
    if isinstance(tree, np.ndarray):
        return torch.from_numpy(tree)
    if isinstance(tree, dict):
        return {k: _tensors(v) for k, v in tree.items()}
    if isinstance(tree, list):
        return [_tensors(v) for v in tree]
    return tree


def trainer_state(trainer: Any) -> dict[str, Any]:
    """Everything the next epoch of ``trainer`` depends on (copies)."""
    scheduler = getattr(trainer, "scheduler", None)
    return {
        "model": _arrays(trainer.model.state_dict()),
        "optimizer": _arrays(trainer.optimizer.state_dict()),
        "scheduler": None if scheduler is None else _arrays(scheduler.state_dict()),
        "rng": rng_state(trainer.generators),
    }


def load_trainer_state(trainer: Any, state: dict[str, Any]) -> None:
    """Put a ``trainer_state`` back into a trainer built with the same settings."""
    trainer.model.load_state_dict(_tensors(state["model"]))
    saved = state["optimizer"]
    groups = []
    for now, group in zip(trainer.optimizer.param_groups, saved["param_groups"], strict=True):
        # JSON has no tuples: give back the type the optimizer uses (betas)
        groups.append(
            {k: tuple(v) if isinstance(now.get(k), tuple) else v for k, v in group.items()}
        )
    per_param = {int(i): _tensors(s) for i, s in saved["state"].items()}
    trainer.optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    scheduler = getattr(trainer, "scheduler", None)
    if scheduler is not None and state["scheduler"] is not None:
        scheduler.load_state_dict(_tensors(state["scheduler"]))
    set_rng_state(state["rng"], trainer.generators)
