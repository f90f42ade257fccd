"""The torch engine's activations by name, listed without importing torch: name -> ``torch.nn`` class name.

``activation("gelu")`` resolves the class when a network is built; ``ACTIVATIONS.get`` names what exists on a
miss. (The NumPy engine has its own: ``brainnet.scratch.layers.activations.ACTIVATIONS``.)
"""

from __future__ import annotations

from typing import Any

from brainnet.core.registry import Registry

ACTIVATIONS: Registry[str] = Registry("activation")
for _name, _class in (
    ("relu", "ReLU"),
    ("gelu", "GELU"),
    ("silu", "SiLU"),
    ("tanh", "Tanh"),
    ("leaky_relu", "LeakyReLU"),
    ("elu", "ELU"),
):
    ACTIVATIONS.register(_name)(_class)


def activation(name: str) -> Any:
    """A fresh ``torch.nn`` activation module; UserInputError listing the names on a miss."""
    from torch import nn

    return getattr(nn, ACTIVATIONS.get(name))()
