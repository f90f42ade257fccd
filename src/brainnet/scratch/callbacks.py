"""Callbacks for ``Sequential.fit``: the one protocol of ``brainnet.core.training``, plus Keras-named presets.

``fit`` drives the core events (``on_fit_start``, ``on_epoch_start``, ``on_after_backward``, ``on_batch_end``,
``on_epoch_end``, ``on_fit_end``), each receiving the loop (``loop.model``, ``loop.state``); ``logs`` maps "loss",
each metric, "val_loss" and "val_<metric>" to floats. A callback ends training by raising ``StopTraining`` from
``on_epoch_end``; ``fit`` catches it, still runs ``on_fit_end``, and returns the History.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from brainnet.core.training import Callback, Loop, StopTraining, TrainState
from brainnet.core.training import EarlyStopping as _CoreEarlyStopping

__all__ = ["Callback", "EarlyStopping", "History", "StopTraining"]


@dataclass
class History(Callback):
    """What ``fit`` returns: ``history[name]`` is one float per epoch; ``epoch`` the epoch numbers (from 0, as
    Keras); ``state`` the loop's ``TrainState`` (stop reason, best epoch counted from 1, interrupted)."""

    history: dict[str, list[float]] = field(default_factory=dict)
    epoch: list[int] = field(default_factory=list)
    state: TrainState | None = None

    def on_fit_start(self, loop: Loop) -> None:
        self.state = loop.state

    def on_epoch_end(self, loop: Loop, logs: dict[str, float]) -> None:
        self.epoch.append(loop.state.epoch - 1)
        for name, value in logs.items():
            self.history.setdefault(name, []).append(value)


class EarlyStopping(_CoreEarlyStopping):
    """Stop when ``monitor`` has not improved for ``patience`` epochs: Keras's arguments over the core callback.

    Args:
        monitor: a key of the epoch logs, default "val_loss".
        patience: epochs without improvement before stopping, default 0.
        min_delta: smallest change that counts as an improvement, default 0.
        mode: "min", "max" or "auto" (default: "max" when the name holds "acc" or "f1", else "min").
        restore_best_weights: at the end of training put back the best epoch: every parameter and the
            BatchNorm moving statistics (default False).

    ``best`` is the best value, ``best_epoch`` its epoch counted from 1 (``History.epoch`` counts from 0).
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
    ) -> None:
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'; received mode={mode!r}.")
        if mode == "auto":
            mode = "max" if ("acc" in monitor or "f1" in monitor) else "min"
        super().__init__(monitor, mode, patience, min_delta, restore_best=restore_best_weights)
        self.restore_best_weights = restore_best_weights

    def __repr__(self) -> str:
        return f"EarlyStopping(monitor={self.monitor!r}, patience={self.patience})"
