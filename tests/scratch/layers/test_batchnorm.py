import numpy as np
import pytest
import torch

from brainnet.scratch.layers import BatchNorm


def _pair(shape, momentum=0.9, eps=1e-5):
    """Our layer (Keras momentum) and torch's BatchNorm with the matching settings, same gamma and beta."""
    rng = np.random.default_rng(5)
    ours = BatchNorm(momentum=momentum, epsilon=eps, dtype=np.float64)
    ours(np.zeros(shape))  # build, then reset the moving stats the build forward touched
    ours.build(shape[-1])
    ours.gamma.value[...] = rng.normal(size=shape[-1])
    ours.beta.value[...] = rng.normal(size=shape[-1])
    cls = torch.nn.BatchNorm1d if len(shape) == 2 else torch.nn.BatchNorm2d
    theirs = cls(shape[-1], eps=eps, momentum=1 - momentum, dtype=torch.float64)
    with torch.no_grad():
        theirs.weight[...] = torch.tensor(ours.gamma.value)
        theirs.bias[...] = torch.tensor(ours.beta.value)
    return ours, theirs


def _nchw(a):
    return a if a.ndim == 2 else a.permute(0, 3, 1, 2)


def _nhwc(a):
    return a if a.ndim == 2 else a.permute(0, 2, 3, 1)


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 3)])
def test_train_mode_matches_torch_outputs_and_gradients(shape):
    ours, theirs = _pair(shape)
    rng = np.random.default_rng(0)
    x, g = rng.normal(2.0, 3.0, size=shape), rng.normal(size=shape)
    y = ours(x)
    dx = ours.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = _nhwc(theirs(_nchw(tx)))
    ty.backward(torch.tensor(g))
    pairs = [
        (y, ty),
        (dx, tx.grad),
        (ours.gamma.grad, theirs.weight.grad),
        (ours.beta.grad, theirs.bias.grad),
    ]
    for a, b in pairs:
        assert np.max(np.abs(a - b.detach().numpy())) < 1e-8


@pytest.mark.parametrize("shape", [(6, 3), (2, 3, 4, 3)])
def test_moving_stats_and_eval_mode_match_torch(shape):
    ours, theirs = _pair(shape)
    rng = np.random.default_rng(1)
    for _ in range(3):
        x = rng.normal(1.0, 2.0, size=shape)
        ours(x)
        theirs(_nchw(torch.tensor(x)))
    assert np.max(np.abs(ours.moving_mean - theirs.running_mean.numpy())) < 1e-8
    assert np.max(np.abs(ours.moving_var - theirs.running_var.numpy())) < 1e-8  # unbiased, as torch
    ours.eval()
    theirs.eval()
    x, g = rng.normal(size=shape), rng.normal(size=shape)
    y = ours(x)
    dx = ours.backward(g)
    tx = torch.tensor(x, requires_grad=True)
    ty = _nhwc(theirs(_nchw(tx)))
    ty.backward(torch.tensor(g))
    assert np.max(np.abs(y - ty.detach().numpy())) < 1e-8
    assert np.max(np.abs(dx - tx.grad.numpy())) < 1e-8
    before = ours.moving_mean.copy()
    ours(x + 5)
    np.testing.assert_array_equal(
        ours.moving_mean, before
    )  # eval mode leaves the moving stats alone


def test_keras_defaults_and_dtype():
    layer = BatchNorm()
    assert (layer.momentum, layer.epsilon) == (0.99, 1e-3)
    y = layer(np.arange(8.0).reshape(4, 2))
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-6)
    np.testing.assert_allclose(layer.moving_mean, 0.01 * np.array([3.0, 4.0]), rtol=1e-6)
    assert [p.name for p in layer.parameters()] == ["gamma", "beta"]


def test_shape_mismatch_and_bad_arguments():
    layer = BatchNorm()
    layer(np.ones((2, 4, 4, 3)))
    with pytest.raises(
        ValueError,
        match=r"BatchNorm\(momentum=0\.99, epsilon=0\.001\) expected input of shape \(batch, \.\.\., 3\); "
        r"received \(2, 4\)\.",
    ):
        layer(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"received \(5,\)"):
        BatchNorm()(np.ones(5))
    with pytest.raises(ValueError, match="momentum=1.5"):
        BatchNorm(momentum=1.5)
    with pytest.raises(ValueError, match="epsilon=0"):
        BatchNorm(epsilon=0)
