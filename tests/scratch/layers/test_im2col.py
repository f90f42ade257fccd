import numpy as np
import pytest

from brainnet.scratch.layers.im2col import col2im, offsets, pad, windows


@pytest.mark.parametrize("kernel,strides", [((3, 3), (1, 1)), ((3, 2), (2, 1)), ((2, 2), (2, 2))])
def test_col2im_is_the_adjoint_of_windows(kernel, strides):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 7, 6, 3))
    win = windows(x, kernel, strides)  # (B, Ho, Wo, kh, kw, C)
    d = rng.normal(size=win.shape)
    dcols = d.transpose(3, 4, 5, 0, 1, 2)  # (kh, kw, C, B, Ho, Wo), the layout col2im takes
    # <windows(x), d> == <x, col2im(d)> for every x and d: col2im is the transpose of the linear map windows
    np.testing.assert_allclose((win * d).sum(), (x * col2im(dcols, x.shape, strides)).sum())


def test_windows_layout_and_offsets_agree():
    x = np.arange(2 * 5 * 4 * 3, dtype=float).reshape(2, 5, 4, 3)
    win = windows(x, (2, 2), (2, 1))  # (2, 2, 3, 2, 2, 3)
    for i, j, index in offsets((2, 2), (2, 1), win.shape[1:3]):
        np.testing.assert_array_equal(win[:, :, :, i, j, :], x[index])


def test_pad_copies_only_when_it_pads():
    x = np.ones((1, 2, 2, 1), np.float32)
    assert pad(x, ((0, 0), (0, 0))) is x
    padded = pad(x, ((1, 0), (0, 2)), fill=-np.inf)
    assert padded.shape == (1, 3, 4, 1) and padded.dtype == np.float32
    assert np.isneginf(padded[0, 0, 0, 0]) and padded[0, 1, 0, 0] == 1
