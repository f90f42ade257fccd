"""Dense (fully connected) layer: every output neuron computes y_j = f(sum_i x_i W_ij + b_j)."""

from __future__ import annotations

import numpy as np

from brainnet.scratch.init import INITIALIZERS
from brainnet.scratch.layers.activations import get_activation
from brainnet.scratch.module import LAYERS, Module, Parameter


@LAYERS.register("dense")
class Dense(Module):
    """y = f(x @ W + b), with x (B, in), W (in, units), b (units,), y (B, units).

    Args:
        units: number of output neurons.
        activation: optional activation name ("relu", "sigmoid", ...) applied after the affine map
            by reusing that activation layer; None (default) leaves the output linear.
        kernel_init: initializer name for W ("glorot_uniform" (default), "he_normal", "zeros"); b starts at 0.
        use_bias: add b (default True).
        dtype: dtype of the parameters and the computation (default float32; pass np.float64 for checks).
        rng: seed or ``numpy.random.Generator`` for the initial weights (None: fresh entropy).
        in_features: input size; when given, W is created now, otherwise on the first forward from x.shape[-1].
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        *,
        kernel_init: str = "glorot_uniform",
        use_bias: bool = True,
        dtype: type | np.dtype = np.float32,
        rng: int | np.random.Generator | None = None,
        in_features: int | None = None,
    ) -> None:
        if int(units) != units or units < 1:
            raise ValueError(f"Dense units must be a positive integer; received units={units!r}.")
        self.units = int(units)
        self.activation = activation
        self.act = get_activation(activation) if activation is not None else None
        self.init = INITIALIZERS.get(kernel_init)
        self.use_bias = use_bias
        self.dtype = np.dtype(dtype)
        self.rng = np.random.default_rng(rng)
        self.weight: Parameter | None = None
        self.bias: Parameter | None = None
        if in_features is not None:
            self.build(in_features)

    def build(self, in_features: int) -> None:
        """Create W (in_features, units) and b (units,)."""
        w = self.init((in_features, self.units), in_features, self.units, self.rng)
        self.weight = Parameter(w.astype(self.dtype), "weight")
        if self.use_bias:
            self.bias = Parameter(np.zeros(self.units, dtype=self.dtype), "bias")

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.weight is None and x.ndim == 2:
            self.build(x.shape[-1])
        expected = "features" if self.weight is None else self.weight.value.shape[0]
        if x.ndim != 2 or x.shape[-1] != expected:
            raise ValueError(
                f"{self!r} expected input of shape (batch, {expected}); received {x.shape}."
            )
        self.x = x.astype(self.weight.value.dtype, copy=False)  # (B, in)
        z = self.x @ self.weight.value  # (B, units)
        if self.bias is not None:
            z = z + self.bias.value
        return z if self.act is None else self.act.forward(z)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        g = grad_out if self.act is None else self.act.backward(grad_out)  # dL/dz (B, units)
        self.weight.grad += self.x.T @ g  # (in, units)
        if self.bias is not None:
            self.bias.grad += g.sum(axis=0)  # (units,)
        return g @ self.weight.value.T  # (B, in)

    def __repr__(self) -> str:
        act = f", activation={self.activation!r}" if self.activation else ""
        return f"Dense({self.units}{act})"
