"""What ``NumpyLoop`` saves for an exact resume (``brainnet.core.resume``): the model's arrays, the optimizer's
per-parameter state, the shuffling RNG and the dropout RNGs, plus Python's and NumPy's global RNGs."""

from __future__ import annotations

from typing import Any

import numpy as np

from brainnet.core.resume import global_rng_state, set_global_rng_state


def _dropout_rngs(model: Any) -> list[np.random.Generator]:
    """The distinct generators the model's layers draw from (the Dropout layers share one), in layer order."""
    seen: dict[int, np.random.Generator] = {}
    for layer in model.layers:
        rng = getattr(layer, "rng", None)
        if isinstance(rng, np.random.Generator):
            seen.setdefault(id(rng), rng)
    return list(seen.values())


class ResumableLoop:
    """The resume half of ``NumpyLoop`` (which sets ``model`` and, in ``run``, ``rng``)."""

    model: Any
    rng: np.random.Generator | None = None

    def resume_state(self) -> dict[str, Any]:
        from brainnet.scratch.serialization import model_arrays

        optimizer = getattr(self.model, "optimizer", None)
        per_param = [] if optimizer is None else optimizer.state
        return {
            "model": {k: v.copy() for k, v in model_arrays(self.model).items()},
            "optimizer": [
                {k: np.copy(v) if isinstance(v, np.ndarray) else v for k, v in s.items()}
                for s in per_param
            ],
            "shuffle": None if self.rng is None else self.rng.bit_generator.state,
            "dropout": [g.bit_generator.state for g in _dropout_rngs(self.model)],
            **global_rng_state(),
        }

    def load_resume_state(self, state: dict[str, Any]) -> None:
        from brainnet.scratch.serialization import assign_arrays

        assign_arrays(self.model, state["model"], "the checkpoint")
        if state["optimizer"]:
            self.model.optimizer.state = [dict(s) for s in state["optimizer"]]
        if self.rng is not None and state["shuffle"] is not None:
            self.rng.bit_generator.state = state["shuffle"]
        for g, saved in zip(_dropout_rngs(self.model), state["dropout"], strict=True):
            g.bit_generator.state = saved
        set_global_rng_state(state)

    def snapshot_arrays(self, snapshot: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return snapshot  # already arrays, named as model_arrays names them

    def snapshot_from_arrays(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        return arrays
