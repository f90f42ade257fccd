import numpy as np
import pytest
import torch
import torch.nn.functional as F

from brainnet.scratch.layers import Conv2D
from brainnet.scratch.layers.im2col import pad_amounts


def _torch_conv(x, layer, g):
    """Run the same convolution in torch (NCHW), padding explicitly as our layer did; return y, dx, dW, db."""
    tx = torch.tensor(x, requires_grad=True)
    tw = torch.tensor(layer.weight.value, requires_grad=True)
    tb = torch.tensor(layer.bias.value, requires_grad=True) if layer.bias is not None else None
    (top, bottom), (left, right) = layer.pads
    xp = F.pad(tx.permute(0, 3, 1, 2), (left, right, top, bottom))  # (B, C, Hp, Wp)
    ty = F.conv2d(xp, tw.permute(3, 2, 0, 1), tb, stride=layer.strides).permute(0, 2, 3, 1)
    ty.backward(torch.tensor(g))
    grads = [tx.grad, tw.grad] + ([tb.grad] if tb is not None else [])
    return [ty.detach()] + grads


@pytest.mark.parametrize("strides", [1, 2, (2, 1)])
@pytest.mark.parametrize("padding", ["valid", "same", 1])
@pytest.mark.parametrize("use_bias", [True, False])
def test_matches_torch_forward_and_backward(strides, padding, use_bias):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 6, 7, 3))
    layer = Conv2D(
        4, (3, 2), strides=strides, padding=padding, use_bias=use_bias, dtype=np.float64, rng=1
    )
    y = layer(x)
    if use_bias:
        layer.bias.value[...] = rng.normal(size=4)
        y = layer(x)
    g = rng.normal(size=y.shape)
    dx = layer.backward(g)
    ours = [y, dx, layer.weight.grad] + ([layer.bias.grad] if use_bias else [])
    for a, b in zip(ours, _torch_conv(x, layer, g), strict=True):
        assert a.shape == tuple(b.shape)
        assert np.max(np.abs(a - b.numpy())) < 1e-8


def test_same_padding_shapes_like_keras():
    x = np.zeros((1, 7, 8, 2))
    assert Conv2D(3, 3, padding="same")(x).shape == (1, 7, 8, 3)
    assert Conv2D(3, 3, strides=2, padding="same")(x).shape == (1, 4, 4, 3)
    assert Conv2D(3, 3, strides=2)(x).shape == (1, 3, 3, 3)
    assert pad_amounts(8, 3, 2, "same") == (0, 1)  # odd total: the extra goes bottom/right
    assert pad_amounts(7, 4, 1, "same") == (1, 2)
    assert pad_amounts(5, 1, 2, "same") == (0, 0)


def test_activation_matches_torch_relu():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 5, 5, 2))
    plain = Conv2D(3, 3, dtype=np.float64, rng=0)
    relu = Conv2D(3, 3, activation="relu", dtype=np.float64, rng=0)
    np.testing.assert_array_equal(relu(x), np.maximum(plain(x), 0))
    g = rng.normal(size=(2, 3, 3, 3))
    np.testing.assert_allclose(relu.backward(g), plain.backward(g * (plain(x) > 0)))


def test_shape_inference_dtype_and_seed():
    layer = Conv2D(5, 3, rng=0)
    assert layer.weight is None
    assert layer(np.ones((2, 4, 4, 3))).dtype == np.float32
    assert layer.weight.value.shape == (3, 3, 3, 5) and layer.bias.value.shape == (5,)
    assert Conv2D(2, 1, dtype=np.float64)(np.ones((1, 2, 2, 1))).dtype == np.float64
    again = Conv2D(5, 3, rng=0)
    again(np.ones((1, 3, 3, 3)))
    np.testing.assert_array_equal(layer.weight.value, again.weight.value)


def test_shape_mismatch_names_layer_expected_and_received():
    layer = Conv2D(4, 3)
    layer(np.ones((1, 5, 5, 3)))
    with pytest.raises(
        ValueError,
        match=r"Conv2D\(4, \(3, 3\)\) expected input of shape \(batch, height, width, 3\); "
        r"received \(1, 5, 5, 2\)\.",
    ):
        layer(np.ones((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"received \(5, 5, 3\)"):
        Conv2D(4, 3)(np.ones((5, 5, 3)))
    with pytest.raises(ValueError, match="larger than the padded input"):
        Conv2D(4, 3)(np.ones((1, 2, 5, 3)))


def test_bad_arguments():
    with pytest.raises(ValueError, match="filters=0"):
        Conv2D(0, 3)
    with pytest.raises(ValueError, match="kernel_size=0"):
        Conv2D(2, 0)
    with pytest.raises(ValueError, match="padding='full'"):
        Conv2D(2, 3, padding="full")
