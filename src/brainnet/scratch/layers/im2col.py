"""Shared helpers of the image layers (channels-last, (B, H, W, C)): padding, window views and col2im.

``windows`` turns a padded image into a strided view of every kernel-sized patch (im2col without copies);
``col2im`` is its adjoint: it adds each patch gradient back where the patch came from. ``offsets`` yields the
kh * kw strided slices both loop over.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def pair(value: int | tuple[int, int], what: str, layer: str) -> tuple[int, int]:
    """(v, v) for an int, the pair itself for a pair; ``ValueError`` unless both are positive integers."""
    pair_ = (value, value) if isinstance(value, int | np.integer) else tuple(value)
    if len(pair_) != 2 or any(int(v) != v or v < 1 for v in pair_):
        raise ValueError(
            f"{layer} {what} must be a positive int or a pair of them; received {what}={value!r}."
        )
    return int(pair_[0]), int(pair_[1])


def check_padding(padding: str | int, layer: str, allow_int: bool = True) -> str | int:
    """Validate ``padding``: "valid", "same" or (when allowed) a non-negative int."""
    if padding in ("valid", "same"):
        return padding
    if allow_int and isinstance(padding, int | np.integer) and padding >= 0:
        return int(padding)
    allowed = '"valid", "same" or an int >= 0' if allow_int else '"valid" or "same"'
    raise ValueError(f"{layer} padding must be {allowed}; received padding={padding!r}.")


def pad_amounts(size: int, kernel: int, stride: int, padding: str | int) -> tuple[int, int]:
    """(before, after) padding of one spatial axis.

    "valid": none. An int p: p on both sides. "same" (as Keras/TF): the output has ceil(size / stride) entries,
    total = max((ceil(size / stride) - 1) * stride + kernel - size, 0), and the odd one goes after
    (bottom/right).
    """
    if padding == "valid":
        return 0, 0
    if padding == "same":
        total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
        return total // 2, total - total // 2
    return int(padding), int(padding)


def pad(
    x: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]], fill: float = 0.0
) -> np.ndarray:
    """Pad the two spatial axes of (B, H, W, C) with ``fill``: (B, H + top + bottom, W + left + right, C).

    No padding returns x itself: np.pad would copy the whole batch for nothing.
    """
    if not any(pads[0] + pads[1]):
        return x
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)


def windows(xp: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """Read-only view of every patch: (B, Hp, Wp, C) -> (B, Ho, Wo, kh, kw, C), no copy."""
    view = sliding_window_view(xp, kernel, axis=(1, 2))  # (B, Hp-kh+1, Wp-kw+1, C, kh, kw)
    return view[:, :: strides[0], :: strides[1]].transpose(0, 1, 2, 4, 5, 3)


def offsets(
    kernel: tuple[int, int], strides: tuple[int, int], out_size: tuple[int, int]
) -> Iterator[tuple[int, int, tuple[slice, ...]]]:
    """Yield (i, j, index) per kernel offset, row-major: xp[index] is (B, Ho, Wo, C), entry (i, j) of every window.

    Looping over the kh * kw offsets, each a strided slice of whole images, is the fast way to visit windows
    in NumPy: few Python iterations, and each one works on runs of C contiguous channels.
    """
    (kh, kw), (sh, sw), (ho, wo) = kernel, strides, out_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(None), slice(i, i + sh * ho, sh), slice(j, j + sw * wo, sw))


def col2im(
    dcols: np.ndarray, padded_shape: tuple[int, ...], strides: tuple[int, int]
) -> np.ndarray:
    """Adjoint of ``windows``: patch gradients (kh, kw, C, B, Ho, Wo) -> (B, Hp, Wp, C), overlaps summed.

    The input is channels-first, the layout ``W @ g.T`` comes out of the matmul in. Summing channels-first,
    every added slice runs along contiguous rows of Wo numbers; channels-last, the runs would be only C long
    (3 for RGB), about 2-5x slower. Loops over the kh * kw kernel offsets only. Returns a transposed view.
    """
    kh, kw, c, b, ho, wo = dcols.shape
    _, hp, wp, _ = padded_shape
    dxp = np.zeros((c, b, hp, wp), dtype=dcols.dtype)  # (C, B, Hp, Wp)
    for i, j, index in offsets((kh, kw), strides, (ho, wo)):
        dxp[(slice(None), *index)] += dcols[i, j]  # (C, B, Ho, Wo)
    return dxp.transpose(1, 2, 3, 0)  # (B, Hp, Wp, C)


def unpad(dxp: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]]) -> np.ndarray:
    """Cut the padding off a (B, Hp, Wp, C) gradient: (B, H, W, C)."""
    (top, bottom), (left, right) = pads
    return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]
