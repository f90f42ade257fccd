"""Flatten: (B, d1, d2, ...) -> (B, d1 * d2 * ...); backward restores the input shape."""

from __future__ import annotations

import numpy as np

from brainnet.scratch.module import LAYERS, Module


@LAYERS.register("flatten")
class Flatten(Module):
    """Keeps the batch axis and joins all the others. No parameters."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)  # (B, prod(rest))

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out.reshape(self.shape)  # (B, d1, d2, ...)

    def __repr__(self) -> str:
        return "Flatten()"
