"""Element-wise activations f(z) and softmax; each backward multiplies grad_out by the local derivative.

All keep the input's shape: (B, ...) -> (B, ...). Registered in ``LAYERS`` and in ``ACTIVATIONS``; use
``get_activation(name)`` for a fresh instance.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from brainnet.core.registry import Registry
from brainnet.scratch.module import LAYERS, Module

ACTIVATIONS: Registry[type[Module]] = Registry("activation")


def _activation(name: str) -> Callable[[type[Module]], type[Module]]:
    """Register a class both as a layer and as an activation under ``name``."""

    def add(cls: type[Module]) -> type[Module]:
        return ACTIVATIONS.register(name)(LAYERS.register(name)(cls))

    return add


def get_activation(name: str) -> Module:
    """A fresh activation layer by name ("relu", "leaky_relu", "sigmoid", "tanh", "softmax")."""
    return ACTIVATIONS.get(name)()


@_activation("relu")
class ReLU(Module):
    """f(z) = max(0, z); f'(z) = 1 where z > 0, else 0."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.maximum(x, 0)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (self.x > 0)

    def __repr__(self) -> str:
        return "ReLU()"


@_activation("leaky_relu")
class LeakyReLU(Module):
    """f(z) = z where z > 0, else alpha * z.

    Args:
        alpha: slope for negative inputs (default 0.01).
    """

    def __init__(self, alpha: float = 0.01) -> None:
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return np.where(x > 0, x, self.alpha * x)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return np.where(self.x > 0, grad_out, self.alpha * grad_out)

    def __repr__(self) -> str:
        return f"LeakyReLU(alpha={self.alpha})"


@_activation("sigmoid")
class Sigmoid(Module):
    """f(z) = 1 / (1 + exp(-z)); f'(z) = f(z) (1 - f(z)). Never overflows: exp only sees -|z|."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(-np.abs(x))  # in (0, 1]
        self.out = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        return self.out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * self.out * (1 - self.out)

    def __repr__(self) -> str:
        return "Sigmoid()"


@_activation("tanh")
class Tanh(Module):
    """f(z) = tanh(z); f'(z) = 1 - f(z)^2."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return grad_out * (1 - self.out**2)

    def __repr__(self) -> str:
        return "Tanh()"


@_activation("softmax")
class Softmax(Module):
    """s_i = exp(z_i - max z) / sum_j exp(z_j - max z) along ``axis`` (default -1).

    Backward is the full Jacobian-vector product without building the Jacobian:
    dL/dz = s * (g - sum_j g_j s_j), since ds_i/dz_j = s_i (delta_ij - s_j).
    """

    def __init__(self, axis: int = -1) -> None:
        self.axis = axis

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(axis=self.axis, keepdims=True))
        self.out = e / e.sum(axis=self.axis, keepdims=True)
        return self.out

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dot = (grad_out * self.out).sum(axis=self.axis, keepdims=True)  # (B, 1)
        return self.out * (grad_out - dot)

    def __repr__(self) -> str:
        return f"Softmax(axis={self.axis})"
