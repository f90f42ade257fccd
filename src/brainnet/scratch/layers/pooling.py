"""2-D max and average pooling on channels-last images (B, H, W, C) -> (B, Ho, Wo, C); no parameters.

MaxPool2D routes each window's gradient to its maximum. Ties: the *first* maximum in row-major window order
(top row first, then left to right) takes the whole gradient, as torch's CPU ``max_pool2d`` does; overlapping
windows (strides < pool_size) add up. AvgPool2D spreads it evenly over the window's real (unpadded) entries.
"""

from __future__ import annotations

import numpy as np

from brainnet.scratch.layers.im2col import (
    check_padding,
    col2im,
    pad,
    pad_amounts,
    pair,
    unpad,
    windows,
)
from brainnet.scratch.module import LAYERS, Module


class _Pool2D(Module):
    """Shared window logic; a subclass writes ``_reduce(win)`` and ``_spread(grad_out)``.

    Args:
        pool_size: int or (ph, pw) (default 2).
        strides: int or (sh, sw); None (default) uses pool_size.
        padding: "valid" (default) or "same" (as Keras/TF; padded entries never win a max and are not
            counted in an average).
    """

    fill = 0.0

    def __init__(
        self,
        pool_size: int | tuple[int, int] = 2,
        strides: int | tuple[int, int] | None = None,
        padding: str = "valid",
    ) -> None:
        name = type(self).__name__
        self.pool_size = pair(pool_size, "pool_size", name)
        self.strides = self.pool_size if strides is None else pair(strides, "strides", name)
        self.padding = check_padding(padding, name, allow_int=False)

    def forward(self, x: np.ndarray) -> np.ndarray:
        if x.ndim != 4 or any(n < k for n, k in zip(x.shape[1:3], self.pool_size, strict=True)):
            ph, pw = self.pool_size
            raise ValueError(
                f"{self!r} expected input of shape (batch, height >= {ph}, width >= {pw}, channels); "
                f"received {x.shape}."
            )
        self.pads = tuple(
            pad_amounts(n, k, s, self.padding)
            for n, k, s in zip(x.shape[1:3], self.pool_size, self.strides, strict=True)
        )
        self.in_size = x.shape[1:3]
        xp = pad(x, self.pads, self.fill)  # (B, Hp, Wp, C)
        self.padded_shape = xp.shape
        return self._reduce(windows(xp, self.pool_size, self.strides))  # (B, Ho, Wo, C)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        dwin = self._spread(grad_out)  # (B, Ho, Wo, C, ph, pw)
        return unpad(col2im(dwin, self.padded_shape, self.strides), self.pads)  # (B, H, W, C)

    def __repr__(self) -> str:
        strides = "" if self.strides == self.pool_size else f", strides={self.strides}"
        padding = "" if self.padding == "valid" else f", padding={self.padding!r}"
        return f"{type(self).__name__}({self.pool_size}{strides}{padding})"


@LAYERS.register("max_pool2d")
class MaxPool2D(_Pool2D):
    """y = max over each window; dL/dx gets grad_out at the window's first maximum, 0 elsewhere."""

    fill = -np.inf

    def _reduce(self, win: np.ndarray) -> np.ndarray:
        flat = win.reshape(*win.shape[:4], -1)  # (B, Ho, Wo, C, ph*pw), row-major in the window
        self.argmax = flat.argmax(axis=-1)[..., None]  # first maximum wins ties
        return np.take_along_axis(flat, self.argmax, axis=-1)[..., 0]

    def _spread(self, grad_out: np.ndarray) -> np.ndarray:
        dflat = np.zeros((*grad_out.shape, self.pool_size[0] * self.pool_size[1]), grad_out.dtype)
        np.put_along_axis(dflat, self.argmax, grad_out[..., None], axis=-1)
        return dflat.reshape(*grad_out.shape, *self.pool_size)


@LAYERS.register("avg_pool2d")
class AvgPool2D(_Pool2D):
    """y = mean over each window's real entries; dL/dx = grad_out / count on each of them."""

    def _reduce(self, win: np.ndarray) -> np.ndarray:
        ones = pad(np.ones((1, *self.in_size, 1)), self.pads)  # (1, Hp, Wp, 1)
        self.count = windows(ones, self.pool_size, self.strides).sum(
            axis=(-2, -1)
        )  # (1, Ho, Wo, 1)
        return win.sum(axis=(-2, -1)) / self.count

    def _spread(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out / self.count  # (B, Ho, Wo, C)
        return np.broadcast_to(g[..., None, None], (*g.shape, *self.pool_size))
