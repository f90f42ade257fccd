"""2-D convolution on channels-last images: y[b, i, j, f] = f(sum_{u, v, c} x[b, s*i+u, s*j+v, c] W[u, v, c, f] + b_f).

Forward pads, views every patch (im2col: one copy into (N, kh*kw*C) columns) and does one matrix product;
backward gets dW from one product with the cached columns and dx by scattering the column gradients back
(col2im), looping over kernel offsets only.
"""

from __future__ import annotations

import numpy as np

from brainnet.scratch.init import INITIALIZERS
from brainnet.scratch.layers.activations import get_activation
from brainnet.scratch.layers.im2col import (
    check_padding,
    col2im,
    pad,
    pad_amounts,
    pair,
    unpad,
    windows,
)
from brainnet.scratch.module import LAYERS, Module, Parameter


@LAYERS.register("conv2d")
class Conv2D(Module):
    """Convolution of x (B, H, W, C_in) with a kernel W (kh, kw, C_in, filters) and bias b (filters,).

    Args:
        filters: number of output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw) (default 1).
        padding: "valid" (default, none), "same" (as Keras/TF: output ceil(H / s) x ceil(W / s); an odd total
            pad puts the extra row/column at the bottom/right) or an int p (p zeros on every side).
        activation: optional activation name applied after the convolution; None (default) is linear.
        kernel_init: initializer name for W (default "glorot_uniform", as Keras; fan_in = kh*kw*C_in,
            fan_out = kh*kw*filters); b starts at 0.
        use_bias: add b (default True).
        dtype: dtype of the parameters and the computation (default float32; pass np.float64 for checks).
        rng: seed or ``numpy.random.Generator`` for the initial weights (None: fresh entropy).

    Returns (forward): (B, Ho, Wo, filters) with Ho = (H + pad_h - kh) // sh + 1, likewise Wo.
    W is created on the first forward from x.shape[-1].
    """

    def __init__(
        self,
        filters: int,
        kernel_size: int | tuple[int, int],
        *,
        strides: int | tuple[int, int] = 1,
        padding: str | int = "valid",
        activation: str | None = None,
        kernel_init: str = "glorot_uniform",
        use_bias: bool = True,
        dtype: type | np.dtype = np.float32,
        rng: int | np.random.Generator | None = None,
    ) -> None:
        if int(filters) != filters or filters < 1:
            raise ValueError(
                f"Conv2D filters must be a positive integer; received filters={filters!r}."
            )
        self.filters = int(filters)
        self.kernel_size = pair(kernel_size, "kernel_size", "Conv2D")
        self.strides = pair(strides, "strides", "Conv2D")
        self.padding = check_padding(padding, "Conv2D")
        self.activation = activation
        self.act = get_activation(activation) if activation is not None else None
        self.init = INITIALIZERS.get(kernel_init)
        self.use_bias = use_bias
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(rng)
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None

    def build(self, in_channels: int) -> None:
        """Create W (kh, kw, in_channels, filters) and b (filters,)."""
        kh, kw = self.kernel_size
        shape = (kh, kw, in_channels, self.filters)
        w = self.init(shape, kh * kw * in_channels, kh * kw * self.filters, self.rng)
        self.weight = Parameter(w.astype(self.dtype), "weight")
        if self.use_bias:
            self.bias = Parameter(np.zeros(self.filters, dtype=self.dtype), "bias")

    def _check(self, x: np.ndarray) -> None:
        channels = "channels" if self.weight is None else self.weight.value.shape[2]
        if x.ndim != 4 or (self.weight is not None and x.shape[-1] != channels):
            raise ValueError(
                f"{self!r} expected input of shape (batch, height, width, {channels}); received {x.shape}."
            )
        self.pads = tuple(
            pad_amounts(n, k, s, self.padding)
            for n, k, s in zip(x.shape[1:3], self.kernel_size, self.strides, strict=True)
        )
        padded = [n + sum(p) for n, p in zip(x.shape[1:3], self.pads, strict=True)]
        if any(n < k for n, k in zip(padded, self.kernel_size, strict=True)):
            raise ValueError(
                f"{self!r} kernel {self.kernel_size} is larger than the padded input {tuple(padded)}; "
                f"received {x.shape}. Use a smaller kernel or padding='same'."
            )

    def forward(self, x: np.ndarray) -> np.ndarray:
        self._check(x)
        if self.weight is None:
            self.build(x.shape[-1])
        w = self.weight.value  # (kh, kw, C, F)
        xp = pad(x.astype(w.dtype, copy=False), self.pads)  # (B, Hp, Wp, C)
        self.padded_shape = xp.shape
        win = windows(xp, self.kernel_size, self.strides)  # (B, Ho, Wo, kh, kw, C)
        self.out_shape = win.shape[:3]
        self.cols = win.reshape(np.prod(self.out_shape), -1)  # (N, kh*kw*C): the one im2col copy
        z = (self.cols @ w.reshape(-1, self.filters)).reshape(*self.out_shape, self.filters)
        if self.bias is not None:
            z += self.bias.value  # in place: z is our own fresh array
        return z if self.act is None else self.act.forward(z)  # (B, Ho, Wo, F)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out if self.act is None else self.act.backward(grad_out)  # dL/dz (B, Ho, Wo, F)
        g = g.reshape(-1, self.filters)  # (N, F)
        w = self.weight.value.reshape(-1, self.filters)  # (kh*kw*C, F)
        # (g.T @ cols).T, not cols.T @ g: same numbers, but OpenBLAS is ~250x slower on the tall-skinny transpose
        self.weight.grad += (g.T @ self.cols).T.reshape(self.weight.value.shape)  # (kh, kw, C, F)
        if self.bias is not None:
            # column sums as a matmul with ones: ~3x faster than g.sum(axis=0) on a tall (N, F)
            self.bias.grad += np.ones(len(g), g.dtype) @ g  # (F,)
        # dcols.T = W @ g.T comes out channels-first, the layout col2im sums fastest
        dcols = (w @ g.T).reshape(*self.kernel_size, -1, *self.out_shape)  # (kh, kw, C, B, Ho, Wo)
        dxp = col2im(dcols, self.padded_shape, self.strides)  # (B, Hp, Wp, C), a transposed view
        return np.ascontiguousarray(unpad(dxp, self.pads))  # (B, H, W, C)

    def __repr__(self) -> str:
        extra = "" if self.strides == (1, 1) else f", strides={self.strides}"
        extra += "" if self.padding == "valid" else f", padding={self.padding!r}"
        extra += f", activation={self.activation!r}" if self.activation else ""
        return f"Conv2D({self.filters}, {self.kernel_size}{extra})"
