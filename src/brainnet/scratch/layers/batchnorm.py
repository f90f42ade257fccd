"""Batch normalisation: y = gamma * (x - mean) / sqrt(var + eps) + beta, per feature (the last axis).

Statistics run over every axis but the last, so it serves (B, F) and channels-last images (B, H, W, C) alike.
"""

from __future__ import annotations

import numpy as np

from brainnet.scratch.module import LAYERS, Module, Parameter


@LAYERS.register("batch_norm")
class BatchNorm(Module):
    """Normalise each feature over the batch (and spatial axes), then scale by gamma (F,) and shift by beta (F,).

    Training mode uses the batch's mean and *biased* variance (divide by n) and updates, as Keras does,
    ``moving = momentum * moving + (1 - momentum) * batch``; the moving variance takes the *unbiased* batch
    variance (divide by n - 1), as torch does. Eval mode uses the moving statistics. To match torch's
    ``BatchNorm2d(momentum=m_t, eps=e)``, pass ``momentum=1 - m_t, epsilon=e``.

    Args:
        momentum: weight of the old moving statistics (default 0.99, Keras' convention).
        epsilon: added to the variance before the square root (default 1e-3, Keras' default; torch uses 1e-5).
        dtype: dtype of gamma, beta and the computation (default float32; pass np.float64 for checks).

    Returns (forward): the input's shape, (..., F). gamma (ones), beta (zeros), ``moving_mean`` (zeros) and
    ``moving_var`` (ones) are created on the first forward from x.shape[-1].
    """

    def __init__(
        self,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        *,
        dtype: type | np.dtype = np.float32,
    ) -> None:
        if not 0 <= momentum <= 1:
            raise ValueError(
                f"BatchNorm momentum must be in [0, 1]; received momentum={momentum!r}."
            )
        if not epsilon > 0:
            raise ValueError(f"BatchNorm epsilon must be > 0; received epsilon={epsilon!r}.")
        self.momentum = momentum
        self.epsilon = epsilon
        self.dtype = np.dtype(dtype)
        self.gamma: Parameter | None = None
        self.beta: Parameter | None = None

    def build(self, features: int) -> None:
        """Create gamma, beta (features,) and the moving statistics."""
        self.gamma = Parameter(np.ones(features, dtype=self.dtype), "gamma")
        self.beta = Parameter(np.zeros(features, dtype=self.dtype), "beta")
        self.moving_mean = np.zeros(features, dtype=self.dtype)
        self.moving_var = np.ones(features, dtype=self.dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        features = "features" if self.gamma is None else self.gamma.value.shape[0]
        if x.ndim < 2 or (self.gamma is not None and x.shape[-1] != features):
            raise ValueError(
                f"{self!r} expected input of shape (batch, ..., {features}); received {x.shape}."
            )
        if self.gamma is None:
            self.build(x.shape[-1])
        x = x.astype(self.gamma.value.dtype, copy=False)
        self.axes = tuple(range(x.ndim - 1))
        if self.training:
            mean, var = x.mean(axis=self.axes), x.var(axis=self.axes)  # (F,), biased
            n = x.size // x.shape[-1]
            m = self.momentum
            self.moving_mean = m * self.moving_mean + (1 - m) * mean
            self.moving_var = m * self.moving_var + (1 - m) * var * n / max(n - 1, 1)
        else:
            mean, var = self.moving_mean, self.moving_var
        self.inv_std = 1 / np.sqrt(var + self.epsilon)  # (F,)
        self.xhat = (x - mean) * self.inv_std  # (..., F)
        return self.gamma.value * self.xhat + self.beta.value

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        self.gamma.grad += (grad_out * self.xhat).sum(axis=self.axes)  # (F,)
        self.beta.grad += grad_out.sum(axis=self.axes)  # (F,)
        dxhat = grad_out * self.gamma.value  # (..., F)
        if not self.training:
            return dxhat * self.inv_std
        # mean and var depend on x too: dx = inv_std * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat))
        mean_d = dxhat.mean(axis=self.axes)
        mean_dx = (dxhat * self.xhat).mean(axis=self.axes)
        return self.inv_std * (dxhat - mean_d - self.xhat * mean_dx)

    def state(self) -> dict[str, np.ndarray]:
        """The moving statistics (after the first forward)."""
        if self.gamma is None:
            return {}
        return {"moving_mean": self.moving_mean, "moving_var": self.moving_var}

    def load_state(self, state: dict[str, np.ndarray]) -> None:
        self.moving_mean = state["moving_mean"].astype(self.dtype)
        self.moving_var = state["moving_var"].astype(self.dtype)

    def __repr__(self) -> str:
        return f"BatchNorm(momentum={self.momentum}, epsilon={self.epsilon})"
