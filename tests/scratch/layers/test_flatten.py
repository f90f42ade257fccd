import numpy as np

from brainnet.scratch.layers import Flatten


def test_flatten_forward_and_backward_shapes():
    x = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    layer = Flatten()
    y = layer(x)
    assert y.shape == (2, 12)
    np.testing.assert_array_equal(y[1], x[1].ravel())
    g = np.random.default_rng(0).normal(size=(2, 12))
    dx = layer.backward(g)
    assert dx.shape == (2, 3, 4)
    np.testing.assert_array_equal(dx.reshape(2, -1), g)
