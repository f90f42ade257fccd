"""Inverted dropout: in training zero each entry with probability ``rate`` and scale the rest by 1 / (1 - rate).

Scaling during training keeps the expected activation unchanged, so evaluation is the identity.
"""

from __future__ import annotations

import numpy as np

from brainnet.scratch.module import LAYERS, Module


@LAYERS.register("dropout")
class Dropout(Module):
    """y = x * m / (1 - rate) with m ~ Bernoulli(1 - rate) in training mode; y = x in eval mode.

    Args:
        rate: probability of dropping an entry, in [0, 1).
        rng: seed or ``numpy.random.Generator`` for the masks (None: fresh entropy).

    Shapes: any (B, ...) -> same shape. The mask is cached so backward drops the same entries.
    """

    def __init__(self, rate: float, rng: int | np.random.Generator | None = None) -> None:
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout rate must be in [0, 1); received {rate}. Pass e.g. 0.5.")
        self.rate = rate
        self.rng = np.random.default_rng(rng)
        self.mask: np.ndarray | None = None

    def sample_mask(self, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """Kept entries hold 1 / (1 - rate), dropped ones 0. Override to fix the mask (tests, gradcheck)."""
        keep = self.rng.random(shape) >= self.rate
        return keep.astype(dtype) / np.asarray(1 - self.rate, dtype=dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if not self.training or self.rate == 0:
            self.mask = None
            return x
        self.mask = self.sample_mask(x.shape, x.dtype)
        return x * self.mask

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out if self.mask is None else grad_out * self.mask

    def __repr__(self) -> str:
        return f"Dropout({self.rate})"
