"""The two building blocks: a Parameter (value + gradient) and a Module (forward beside backward)."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from brainnet.core.registry import Registry

LAYERS: Registry = Registry("layer")


class Parameter:
    """A learnable array and the gradient of the loss with respect to it (same shape, same dtype)."""

    def __init__(self, value: np.ndarray, name: str = "") -> None:
        self.value = value
        self.grad = np.zeros_like(value)
        self.name = name

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.value.shape}, dtype={self.value.dtype})"


class Module:
    """Base of every layer and loss-free network part.

    A subclass writes ``forward(x)``, which caches what the gradient needs, and ``backward(grad_out)``, which
    returns dLoss/dx and *adds* dLoss/dparam into each ``Parameter.grad`` (call ``zero_grad`` between steps).
    Parameters and sub-modules stored as attributes (or in lists) are found by ``parameters()``.
    """

    training: bool = True

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def children(self) -> Iterator[Module]:
        for value in vars(self).values():
            items = value if isinstance(value, list | tuple) else [value]
            yield from (v for v in items if isinstance(v, Module))

    def parameters(self) -> list[Parameter]:
        """Every Parameter of this module and its children, in attribute order, each once."""
        found: list[Parameter] = []
        for value in vars(self).values():
            items = value if isinstance(value, list | tuple) else [value]
            for v in items:
                if isinstance(v, Parameter):
                    found.append(v)
                elif isinstance(v, Module):
                    found.extend(v.parameters())
        unique = {id(p): p for p in found}
        return list(unique.values())

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad[...] = 0

    def train(self, mode: bool = True) -> Module:
        self.training = mode
        for child in self.children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        return self.train(False)
