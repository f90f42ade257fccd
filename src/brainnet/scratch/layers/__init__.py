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
from brainnet.scratch.layers.batchnorm import BatchNorm
from brainnet.scratch.layers.conv2d import Conv2D
from brainnet.scratch.layers.dense import Dense
from brainnet.scratch.layers.dropout import Dropout
from brainnet.scratch.layers.flatten import Flatten
from brainnet.scratch.layers.lif import LIF
from brainnet.scratch.layers.pooling import AvgPool2D, MaxPool2D

__all__ = [
    "ACTIVATIONS",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "LIF",
    "LeakyReLU",
    "MaxPool2D",
    "ReLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
]
