import numpy as np
import pytest
import torch

from brainnet.core.errors import UserInputError
from brainnet.scratch.layers import Dense


def test_shape_inference_on_first_call():
    layer = Dense(10, rng=0)
    assert layer.weight is None
    y = layer(np.ones((4, 3), dtype=np.float32))
    assert y.shape == (4, 10)
    assert layer.weight.value.shape == (3, 10) and layer.bias.value.shape == (10,)


def test_in_features_builds_immediately():
    layer = Dense(5, in_features=2)
    assert layer.weight.value.shape == (2, 5)
    assert len(layer.parameters()) == 2
    assert len(Dense(5, in_features=2, use_bias=False).parameters()) == 1


def test_shape_mismatch_names_layer_expected_and_received():
    layer = Dense(10, rng=0)
    layer(np.ones((4, 3)))
    with pytest.raises(
        ValueError, match=r"Dense\(10\) expected input of shape \(batch, 3\); received \(4, 5\)\."
    ):
        layer(np.ones((4, 5)))
    with pytest.raises(ValueError, match=r"received \(3,\)"):
        Dense(2)(np.ones(3))


def test_float32_default_and_float64_on_request():
    x = np.ones((2, 3))
    assert Dense(4)(x).dtype == np.float32
    layer = Dense(4, dtype=np.float64)
    assert layer(x).dtype == np.float64 and layer.weight.value.dtype == np.float64


def test_same_seed_same_weights():
    a, b, c = (
        Dense(4, in_features=3, rng=7),
        Dense(4, in_features=3, rng=7),
        Dense(4, in_features=3, rng=8),
    )
    np.testing.assert_array_equal(a.weight.value, b.weight.value)
    assert not np.array_equal(a.weight.value, c.weight.value)


def test_kernel_init_and_bad_names():
    assert np.all(Dense(3, in_features=2, kernel_init="zeros").weight.value == 0)
    assert Dense(3, in_features=2, kernel_init="he_normal", rng=0).weight.value.std() > 0
    with pytest.raises(UserInputError, match="available"):
        Dense(3, kernel_init="glorot")
    with pytest.raises(UserInputError, match="relu"):
        Dense(3, activation="rleu")
    with pytest.raises(ValueError, match="units=0"):
        Dense(0)


@pytest.mark.parametrize("activation", [None, "relu", "sigmoid", "tanh", "softmax"])
def test_matches_torch_forward_and_backward(activation):
    rng = np.random.default_rng(0)
    x, g = rng.normal(size=(4, 3)), rng.normal(size=(4, 5))
    layer = Dense(5, activation, dtype=np.float64, rng=1, in_features=3)
    layer.bias.value[...] = rng.normal(size=5)
    y = layer(x)
    dx = layer.backward(g)

    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.weight.value, requires_grad=True)
    tb = torch.tensor(layer.bias.value, requires_grad=True)
    ty = torch.nn.functional.linear(tx, tw.T, tb)
    ty = {None: ty, "relu": ty.relu(), "sigmoid": ty.sigmoid(), "tanh": ty.tanh()}.get(
        activation, ty.softmax(-1)
    )
    ty.backward(torch.tensor(g))
    for ours, theirs in [
        (y, ty),
        (dx, tx.grad),
        (layer.weight.grad, tw.grad),
        (layer.bias.grad, tb.grad),
    ]:
        assert np.max(np.abs(ours - theirs.detach().numpy())) < 1e-8


def test_backward_accumulates_parameter_gradients():
    layer = Dense(2, dtype=np.float64, in_features=3, rng=0)
    x, g = np.ones((1, 3)), np.ones((1, 2))
    layer(x)
    layer.backward(g)
    first = layer.weight.grad.copy()
    layer(x)
    layer.backward(g)
    np.testing.assert_allclose(layer.weight.grad, 2 * first)
