"""Sequential: a stack of layers; forward runs them in order, backward in reverse (the chain rule)."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from brainnet.scratch import training
from brainnet.scratch.callbacks import History
from brainnet.scratch.module import Module


class Sequential(Module):
    """y = layer_n(... layer_2(layer_1(x))).

    Args:
        layers: the modules, first to last. Shapes: whatever the first layer takes -> what the last gives.
    """

    def __init__(self, layers: Iterable[Module]) -> None:
        self.layers = list(layers)
        self.output_shapes: list[tuple[int, ...] | None] = [None] * len(self.layers)
        self.input_shape: tuple[int, ...] | None = None

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.input_shape is None:
            self.input_shape = tuple(x.shape[1:])  # per sample, for save
        for i, layer in enumerate(self.layers):
            x = layer.forward(x)
            self.output_shapes[i] = x.shape
        return x

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        for layer in reversed(self.layers):
            grad_out = layer.backward(grad_out)
        return grad_out

    def summary(self) -> str:
        """A table of layer, output shape (after a first forward; "?" before) and parameter count."""
        rows = [("Layer", "Output shape", "Params")]
        for layer, shape in zip(self.layers, self.output_shapes, strict=True):
            count = sum(p.value.size for p in layer.parameters())
            rows.append((repr(layer), "?" if shape is None else str(shape), str(count)))
        total = sum(p.value.size for p in self.parameters())
        widths = [max(len(row[c]) for row in rows) for c in range(3)]
        lines = [
            "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
        ]
        lines.insert(1, "-" * len(lines[0]))
        return "\n".join([*lines, f"Total params: {total}"])

    def compile(self, optimizer: object = "adam", loss: object = "mse", metrics: Any = ()) -> None:
        """Choose optimizer (name or Optimizer), loss (name or Loss) and metric names; see training.py."""
        training.compile_model(self, optimizer, loss, metrics)

    def fit(self, X: np.ndarray, y: np.ndarray, **kwargs: Any) -> History:
        """Mini-batch training; keyword arguments as ``training.fit``. Returns the History."""
        return training.fit(self, X, y, **kwargs)

    def evaluate(self, X: np.ndarray, y: np.ndarray, batch_size: int = 32) -> dict[str, float]:
        """{"loss": ..., each metric: ...} on (X, y) in eval mode."""
        return training.evaluate(self, X, y, batch_size)

    def predict(self, X: np.ndarray, batch_size: int = 32) -> np.ndarray:
        """Outputs for every row of X in eval mode."""
        return training.predict(self, X, batch_size)

    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write a model directory (weights.safetensors + brainnet.json); ``brainnet.scratch.load`` reads it."""
        from brainnet.scratch.serialization import save

        return save(self, path, force=force)

    def __repr__(self) -> str:
        return f"Sequential({len(self.layers)} layers)"
