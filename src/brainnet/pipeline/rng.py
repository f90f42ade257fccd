"""Random-number-generator states as arrays and JSON, for an exact resume (``brainnet.core.resume``).

torch's global CPU generator (dropout, initialisation), every CUDA device's generator when CUDA is in use, any
``torch.Generator`` the loop owns (the batch order of tables; for images the sampler's order and augmentation
seeds, and the DataLoader's worker seeds) as uint8 arrays; Python's ``random`` and NumPy's global RNG as JSON.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from brainnet.core.resume import global_rng_state, set_global_rng_state


def rng_state(generators: list[torch.Generator]) -> dict[str, Any]:
    """The state of every RNG a torch loop draws from (copies)."""
    state: dict[str, Any] = {
        "torch": torch.get_rng_state().numpy().copy(),  # (5056,) uint8
        "generators": [g.get_state().numpy().copy() for g in generators],
        **global_rng_state(),
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = [s.numpy().copy() for s in torch.cuda.get_rng_state_all()]
    return state


def set_rng_state(state: dict[str, Any], generators: list[torch.Generator]) -> None:
    """Put an ``rng_state`` back (CUDA states only onto as many devices as they came from)."""
    torch.set_rng_state(torch.from_numpy(np.asarray(state["torch"], np.uint8)))
    for g, s in zip(generators, state["generators"], strict=True):
        g.set_state(torch.from_numpy(np.asarray(s, np.uint8)))
    cuda = state.get("cuda")
    if cuda and torch.cuda.is_available() and torch.cuda.device_count() == len(cuda):
        torch.cuda.set_rng_state_all([torch.from_numpy(np.asarray(s, np.uint8)) for s in cuda])
    set_global_rng_state(state)
