"""Layers of the scratch engine; importing this package registers each one in ``LAYERS``."""

from brainnet.scratch.layers.activations import (
    ACTIVATIONS,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from brainnet.scratch.layers.dense import Dense
from brainnet.scratch.layers.dropout import Dropout
from brainnet.scratch.layers.flatten import Flatten

__all__ = [
    "ACTIVATIONS",
    "Dense",
    "Dropout",
    "Flatten",
    "LeakyReLU",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]
