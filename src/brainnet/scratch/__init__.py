"""brainnet.scratch: a neural-network engine written by hand in NumPy, every gradient checked.

A neuron computes y = f(sum_i w_i x_i + b); a layer does it for many neurons at once; backpropagation applies
the chain rule layer by layer (``backward`` beside ``forward``); gradient descent follows the gradient.
"""

from brainnet.scratch.callbacks import Callback, EarlyStopping, History, StopTraining
from brainnet.scratch.gradcheck import GradcheckResult, gradcheck
from brainnet.scratch.layers import (
    LIF,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from brainnet.scratch.module import LAYERS, Module, Parameter
from brainnet.scratch.sequential import Sequential
from brainnet.scratch.serialization import load


def __getattr__(name: str):
    # the estimator pulls in scikit-learn; load it on first use of its name
    if name == "ScratchMultiLabelMLP":
        from brainnet.scratch.estimator import ScratchMultiLabelMLP

        return ScratchMultiLabelMLP
    raise AttributeError(f"module 'brainnet.scratch' has no attribute {name!r}")


__all__ = [
    "Callback",
    "EarlyStopping",
    "History",
    "StopTraining",
    "LAYERS",
    "AvgPool2D",
    "BatchNorm",
    "Conv2D",
    "Dense",
    "Dropout",
    "Flatten",
    "GradcheckResult",
    "LeakyReLU",
    "LIF",
    "MaxPool2D",
    "Module",
    "Parameter",
    "ReLU",
    "ScratchMultiLabelMLP",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
    "gradcheck",
    "load",
]
