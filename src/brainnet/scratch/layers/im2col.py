"""Shared helpers of the image layers (channels-last, (B, H, W, C)): padding, window views and col2im.

``windows`` turns a padded image into a strided view of every kernel-sized patch (im2col without copies);
``col2im`` is its adjoint: it adds each patch gradient back where the patch came from.
"""

from __future__ import annotations

import math

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
    """Pad the two spatial axes of (B, H, W, C) with ``fill``: (B, H + top + bottom, W + left + right, C)."""
    return np.pad(x, ((0, 0), pads[0], pads[1], (0, 0)), constant_values=fill)


def windows(xp: np.ndarray, kernel: tuple[int, int], strides: tuple[int, int]) -> np.ndarray:
    """Read-only view of every patch: (B, Hp, Wp, C) -> (B, Ho, Wo, C, kh, kw), no copy."""
    view = sliding_window_view(xp, kernel, axis=(1, 2))  # (B, Hp-kh+1, Wp-kw+1, C, kh, kw)
    return view[:, :: strides[0], :: strides[1]]


def col2im(dwin: np.ndarray, padded_shape: tuple[int, ...], strides: tuple[int, int]) -> np.ndarray:
    """Adjoint of ``windows``: (B, Ho, Wo, C, kh, kw) patch gradients -> (B, Hp, Wp, C), overlaps summed.

    Loops over the kh * kw kernel offsets only; each adds one strided slice.
    """
    _, ho, wo, _, kh, kw = dwin.shape
    sh, sw = strides
    dxp = np.zeros(padded_shape, dtype=dwin.dtype)
    for i in range(kh):
        for j in range(kw):
            dxp[:, i : i + sh * ho : sh, j : j + sw * wo : sw, :] += dwin[..., i, j]
    return dxp


def unpad(dxp: np.ndarray, pads: tuple[tuple[int, int], tuple[int, int]]) -> np.ndarray:
    """Cut the padding off a (B, Hp, Wp, C) gradient: (B, H, W, C)."""
    (top, bottom), (left, right) = pads
    return dxp[:, top : dxp.shape[1] - bottom, left : dxp.shape[2] - right, :]
