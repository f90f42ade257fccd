"""Every registered layer through one contract: backward agrees with finite differences."""

import numpy as np
import pytest

from brainnet.scratch import (
    LAYERS,
    AvgPool2D,
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    MaxPool2D,
    Sequential,
    Tanh,
    gradcheck,
)
from brainnet.scratch.module import Module, Parameter


def _distinct(shape):
    """A random permutation of well-separated values: no ties, so max pooling is differentiable there."""
    return np.random.default_rng(2).permutation(np.prod(shape)).reshape(shape) * 0.1


# name -> (factory, input shape[, input maker]); a newly registered layer must be added here.
CASES = {
    "avg_pool2d": (lambda: AvgPool2D(3, 2, "same"), (2, 5, 4, 2)),
    "batch_norm": (lambda: BatchNorm(dtype=np.float64), (2, 3, 3, 2)),
    "conv2d": (lambda: Conv2D(3, 3, strides=2, padding="same", rng=0), (2, 5, 4, 2)),
    "max_pool2d": (lambda: MaxPool2D(3, 2, "same"), (2, 5, 4, 2), _distinct),
    "dense": (lambda: Dense(3, rng=0), (4, 5)),
    "dropout": (lambda: Dropout(0.5, rng=0).eval(), (3, 4)),
    "flatten": (lambda: Sequential([LAYERS.get("flatten")(), Dense(2, rng=0)]), (2, 3, 2)),
    "leaky_relu": (lambda: LAYERS.get("leaky_relu")(), (3, 4)),
    # the spike's step has no useful derivative: smooth=True makes forward the surrogate's smooth step, so
    # finite differences check BPTT against the surrogate-gradient definition (tests/scratch/layers/test_lif.py)
    "lif": (lambda: LAYERS.get("lif")(3, 6, beta=0.8, threshold=0.3, smooth=True, rng=0), (2, 4)),
    "relu": (lambda: LAYERS.get("relu")(), (3, 4)),
    "sigmoid": (lambda: LAYERS.get("sigmoid")(), (3, 4)),
    "softmax": (lambda: LAYERS.get("softmax")(), (3, 4)),
    "tanh": (lambda: LAYERS.get("tanh")(), (3, 4)),
}


@pytest.mark.parametrize("name", LAYERS.names())
def test_every_registered_layer_passes_gradcheck(name):
    if name not in CASES:
        pytest.fail(f"layer {name!r} has no gradcheck case; add it to CASES in {__file__}")
    factory, shape, *maker = CASES[name]
    x = maker[0](shape) if maker else np.random.default_rng(1).normal(size=shape)
    result = gradcheck(factory(), x)
    assert result.ok and result.max_error < 1e-6, result


def test_dense_with_activation_and_a_stack():
    model = Sequential([Dense(4, "sigmoid", rng=0), Tanh(), Dense(3, "softmax", rng=1)])
    result = gradcheck(model, np.random.default_rng(0).normal(size=(2, 3)))
    assert result.ok, result
    assert len(result.param_errors) == 4
    assert all(p.value.dtype == np.float64 for p in model.parameters())


class BuggyScale(Module):
    """y = w * x, with a backward that forgets a factor."""

    def __init__(self) -> None:
        self.w = Parameter(np.full(3, 2.0), "w")

    def forward(self, x):
        self.x = x
        return self.w.value * x

    def backward(self, grad_out):
        self.w.grad += (grad_out * self.x).sum(axis=0)
        return grad_out  # bug: should be grad_out * w


def test_catches_a_wrong_input_gradient():
    result = gradcheck(BuggyScale(), np.random.default_rng(0).normal(size=(2, 3)))
    assert not result.ok
    assert result.input_error > 0.1
    assert result.param_errors["0:w"] < 1e-6


def test_catches_a_wrong_parameter_gradient():
    class BuggyBias(Dense):
        def backward(self, grad_out):
            dx = super().backward(grad_out)
            self.bias.grad *= 2
            return dx

    result = gradcheck(BuggyBias(2, rng=0), np.ones((3, 2)))
    assert not result.ok and result.param_errors["1:bias"] > 0.1
