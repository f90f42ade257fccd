"""2-D max and average pooling on channels-last images (B, H, W, C) -> (B, Ho, Wo, C); no parameters.

MaxPool2D routes each window's gradient to its maximum. Ties: the *first* maximum in row-major window order
(top row first, then left to right) takes the whole gradient, as torch's CPU ``max_pool2d`` does; overlapping
windows (strides < pool_size) add up. AvgPool2D spreads it evenly over the window's real (unpadded) entries.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from brainnet.scratch.layers.im2col import (
    check_padding,
    offsets,
    pad,
    pad_amounts,
    pair,
    unpad,
    windows,
)
from brainnet.scratch.module import LAYERS, Module


class _Pool2D(Module):
    """Shared window logic; a subclass writes ``_reduce(xp)`` (padded input -> (B, Ho, Wo, C)) and
    ``_spread(grad_out)`` (-> padded input gradient (B, Hp, Wp, C)), both looping over ``_offsets()``.

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
        self.out_size = tuple(
            (n - k) // s + 1
            for n, k, s in zip(xp.shape[1:3], self.pool_size, self.strides, strict=True)
        )
        return self._reduce(xp)  # (B, Ho, Wo, C)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        return unpad(self._spread(grad_out), self.pads)  # (B, H, W, C)

    def _offsets(self) -> Iterator[tuple[int, int, tuple[slice, ...]]]:
        """The window offsets of the last forward (see ``im2col.offsets``)."""
        return offsets(self.pool_size, self.strides, self.out_size)

    def __repr__(self) -> str:
        strides = "" if self.strides == self.pool_size else f", strides={self.strides}"
        padding = "" if self.padding == "valid" else f", padding={self.padding!r}"
        return f"{type(self).__name__}({self.pool_size}{strides}{padding})"


@LAYERS.register("max_pool2d")
class MaxPool2D(_Pool2D):
    """y = max over each window; dL/dx gets grad_out at the window's first maximum, 0 elsewhere."""

    fill = -np.inf

    def _reduce(self, xp: np.ndarray) -> np.ndarray:
        # entry (i, j) of every window, one strided view (B, Ho, Wo, C) per offset
        entries = [xp[index] for _, _, index in self._offsets()]
        best = entries[0].copy()
        for entry in entries[1:]:
            np.maximum(best, entry, out=best)
        # The winner of a window is its first entry (row-major) equal to the max, kept as one boolean mask per
        # offset; & and bool products are ~5x faster than argmax on a strided axis, np.where or fancy indexing.
        # (A NaN max equals no entry, so a NaN window passes on no gradient: NaN training is lost anyway.)
        free = np.ones(best.shape, bool)  # windows whose winner is still to be found
        self.won = []
        for entry in entries:
            self.won.append((entry == best) & free)
            free &= ~self.won[-1]
        return best

    def _spread(self, grad_out: np.ndarray) -> np.ndarray:
        dxp = np.zeros(self.padded_shape, grad_out.dtype)  # (B, Hp, Wp, C)
        for won, (_, _, index) in zip(self.won, self._offsets(), strict=True):
            dxp[index] += grad_out * won  # grad_out where this offset won, else 0; overlaps add up
        return dxp


@LAYERS.register("avg_pool2d")
class AvgPool2D(_Pool2D):
    """y = mean over each window's real entries; dL/dx = grad_out / count on each of them."""

    def _reduce(self, xp: np.ndarray) -> np.ndarray:
        ones = pad(np.ones((1, *self.in_size, 1), xp.dtype), self.pads)  # (1, Hp, Wp, 1)
        self.count = windows(ones, self.pool_size, self.strides).sum(axis=(3, 4))  # (1, Ho, Wo, 1)
        return windows(xp, self.pool_size, self.strides).sum(axis=(3, 4)) / self.count

    def _spread(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out / self.count  # (B, Ho, Wo, C)
        dxp = np.zeros(self.padded_shape, g.dtype)  # (B, Hp, Wp, C)
        for _, _, index in self._offsets():
            dxp[index] += g  # every entry of a window gets its share
        return dxp
