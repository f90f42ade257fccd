"""brainnet.scratch: a neural-network engine written by hand in NumPy, every gradient checked.

A neuron computes y = f(sum_i w_i x_i + b); a layer does it for many neurons at once; backpropagation applies
the chain rule layer by layer (``backward`` beside ``forward``); gradient descent follows the gradient.
"""

from brainnet.scratch.gradcheck import GradcheckResult, gradcheck
from brainnet.scratch.layers import (
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    ReLU,
    Sigmoid,
    Softmax,
    Tanh,
    get_activation,
)
from brainnet.scratch.module import LAYERS, Module, Parameter
from brainnet.scratch.sequential import Sequential

__all__ = [
    "LAYERS",
    "Dense",
    "Dropout",
    "Flatten",
    "GradcheckResult",
    "LeakyReLU",
    "Module",
    "Parameter",
    "ReLU",
    "Sequential",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "get_activation",
    "gradcheck",
]
