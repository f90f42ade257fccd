import numpy as np
import pytest
import torch
import torch.nn.functional as F

from brainnet.scratch.layers import AvgPool2D, MaxPool2D


def _torch_pool(kind, x, layer, g):
    """The same pooling in torch (NCHW) with explicit padding; returns y and dx in channels-last."""
    tx = torch.tensor(x, requires_grad=True)
    (top, bottom), (left, right) = layer.pads
    fill = -np.inf if kind == "max" else 0.0
    xp = F.pad(tx.permute(0, 3, 1, 2), (left, right, top, bottom), value=fill)
    if kind == "max":
        ty = F.max_pool2d(xp, layer.pool_size, layer.strides)
    else:
        ones = F.pad(torch.ones(1, 1, *x.shape[1:3], dtype=tx.dtype), (left, right, top, bottom))
        ty = F.avg_pool2d(xp, layer.pool_size, layer.strides) / F.avg_pool2d(
            ones, layer.pool_size, layer.strides
        )
    ty = ty.permute(0, 2, 3, 1)
    ty.backward(torch.tensor(g))
    return ty.detach().numpy(), tx.grad.numpy()


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize(
    "pool_size,strides,padding",
    [(2, None, "valid"), (3, 2, "valid"), (3, 2, "same"), ((2, 3), 1, "same")],
)
def test_matches_torch_forward_and_backward(kind, pool_size, strides, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 3))
    layer = (MaxPool2D if kind == "max" else AvgPool2D)(pool_size, strides, padding)
    y = layer(x)
    g = rng.normal(size=y.shape)
    dx = layer.backward(g)
    ty, tdx = _torch_pool(kind, x, layer, g)
    assert y.shape == ty.shape and dx.shape == x.shape
    assert np.max(np.abs(y - ty)) < 1e-8 and np.max(np.abs(dx - tdx)) < 1e-8


def test_same_padding_shapes_like_keras():
    x = np.zeros((1, 7, 8, 2))
    assert MaxPool2D()(x).shape == (1, 3, 4, 2)
    assert MaxPool2D(padding="same")(x).shape == (1, 4, 4, 2)
    assert AvgPool2D(3, 1, "same")(x).shape == (1, 7, 8, 2)


def test_ties_route_to_the_first_maximum_like_torch():
    x = np.array([[1.0, 3.0, 3.0, 0.0], [3.0, 2.0, 5.0, 5.0]])[None, :, :, None]  # (1, 2, 4, 1)
    layer = MaxPool2D(2)
    assert layer(x).ravel().tolist() == [3.0, 5.0]
    g = np.array([10.0, 20.0]).reshape(1, 1, 2, 1)
    dx = layer.backward(g)[0, :, :, 0]
    np.testing.assert_array_equal(dx, [[0, 10, 0, 0], [0, 0, 20, 0]])  # first in row-major order
    _, tdx = _torch_pool("max", x, layer, g)
    np.testing.assert_array_equal(dx, tdx[0, :, :, 0])


def test_ties_keep_the_gradient_sum_per_window():
    x = np.round(np.random.default_rng(0).normal(size=(2, 6, 6, 3)))  # many ties
    layer = MaxPool2D(2)
    g = np.random.default_rng(1).normal(size=layer(x).shape)
    dx = layer.backward(g)
    window_sums = dx.reshape(2, 3, 2, 3, 2, 3).sum(axis=(2, 4))  # (B, Ho, Wo, C)
    np.testing.assert_allclose(window_sums, g)
    assert np.count_nonzero(dx) == g.size


def test_dtype_is_kept():
    assert MaxPool2D()(np.ones((1, 2, 2, 1), np.float32)).dtype == np.float32
    assert AvgPool2D()(np.ones((1, 2, 2, 1))).dtype == np.float64
    for layer in (MaxPool2D(), AvgPool2D(padding="same")):
        x = np.ones((1, 3, 3, 1), np.float32)
        assert layer(x).dtype == np.float32
        assert layer.backward(np.ones(layer(x).shape, np.float32)).dtype == np.float32


def test_shape_mismatch_and_bad_arguments():
    with pytest.raises(
        ValueError,
        match=r"MaxPool2D\(\(3, 3\)\) expected input of shape \(batch, height >= 3, width >= 3, channels\); "
        r"received \(1, 2, 5, 1\)\.",
    ):
        MaxPool2D(3)(np.ones((1, 2, 5, 1)))
    with pytest.raises(ValueError, match=r"received \(4, 4\)"):
        AvgPool2D()(np.ones((4, 4)))
    with pytest.raises(ValueError, match="padding=1"):
        MaxPool2D(padding=1)
    with pytest.raises(ValueError, match="strides=0"):
        AvgPool2D(2, 0)
