import numpy as np
import pytest

from brainnet.scratch.gradcheck import gradcheck
from brainnet.scratch.layers import Dropout


def test_eval_is_identity():
    layer = Dropout(0.5, rng=0).eval()
    x = np.random.default_rng(0).normal(size=(4, 5))
    assert layer(x) is x
    g = np.ones_like(x)
    np.testing.assert_array_equal(layer.backward(g), g)


def test_train_drops_about_rate_and_scales_the_rest():
    rate = 0.3
    x = np.ones((200, 100))
    y = Dropout(rate, rng=0)(x)
    dropped = np.mean(y == 0)
    assert abs(dropped - rate) < 0.02
    np.testing.assert_allclose(y[y != 0], 1 / (1 - rate))


def test_backward_uses_the_same_mask():
    layer = Dropout(0.5, rng=1)
    x = np.random.default_rng(0).normal(size=(6, 7)) + 10  # never zero
    y = layer(x)
    dx = layer.backward(np.ones_like(x))
    np.testing.assert_array_equal(dx == 0, y == 0)
    np.testing.assert_allclose(dx[dx != 0], 2.0)


def test_same_seed_same_mask_and_rate_validation():
    x = np.ones((3, 4))
    np.testing.assert_array_equal(Dropout(0.5, rng=3)(x), Dropout(0.5, rng=3)(x))
    with pytest.raises(ValueError, match=r"\[0, 1\); received 1"):
        Dropout(1)


class FixedMaskDropout(Dropout):
    """Draws one mask and reuses it, so the many forwards of gradcheck see the same function."""

    def sample_mask(self, shape, dtype):
        if not hasattr(self, "fixed"):
            self.fixed = super().sample_mask(shape, dtype)
        return self.fixed


def test_gradcheck_in_train_mode_with_a_fixed_mask():
    layer = FixedMaskDropout(0.4, rng=0)
    result = gradcheck(layer, np.random.default_rng(0).normal(size=(3, 4)))
    assert result.ok, result
    assert np.any(layer.fixed == 0)
