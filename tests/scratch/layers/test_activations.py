import numpy as np
import pytest
import torch

from brainnet.core.errors import UserInputError
from brainnet.scratch.layers import ACTIVATIONS, LeakyReLU, Sigmoid, Softmax, get_activation

TORCH = {
    "relu": torch.relu,
    "leaky_relu": lambda t: torch.nn.functional.leaky_relu(t, 0.01),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda t: torch.softmax(t, dim=-1),
}


def test_every_activation_has_a_torch_reference():
    assert set(ACTIVATIONS.names()) == set(TORCH)


@pytest.mark.parametrize("name", sorted(TORCH))
def test_matches_torch_forward_and_backward(name):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(4, 6)) * 3, rng.normal(size=(4, 6))
    layer = get_activation(name)
    y = layer(x)
    dx = layer.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = TORCH[name](tx)
    ty.backward(torch.tensor(g))
    assert np.max(np.abs(y - ty.detach().numpy())) < 1e-8
    assert np.max(np.abs(dx - tx.grad.numpy())) < 1e-8


def test_get_activation_gives_fresh_instances_and_helpful_miss():
    assert get_activation("relu") is not get_activation("relu")
    with pytest.raises(UserInputError, match="Did you mean 'sigmoid'"):
        get_activation("sigmod")


def test_sigmoid_and_softmax_are_stable_for_large_inputs():
    with np.errstate(over="raise"):
        y = Sigmoid()(np.array([-1000.0, 0.0, 1000.0]))
        s = Softmax()(np.array([[1000.0, 0.0, -1000.0]]))
    np.testing.assert_allclose(y, [0.0, 0.5, 1.0])
    np.testing.assert_allclose(s, [[1.0, 0.0, 0.0]])


def test_softmax_axis_and_leaky_alpha():
    x = np.random.default_rng(1).normal(size=(3, 4))
    np.testing.assert_allclose(Softmax(axis=0)(x).sum(axis=0), np.ones(4))
    np.testing.assert_allclose(LeakyReLU(alpha=0.2)(np.array([-1.0, 2.0])), [-0.2, 2.0])


@pytest.mark.parametrize("name", sorted(TORCH))
def test_keeps_float32(name):
    assert get_activation(name)(np.ones((2, 3), dtype=np.float32)).dtype == np.float32
