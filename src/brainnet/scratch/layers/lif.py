"""Spiking from scratch: a dense layer of leaky integrate-and-fire neurons, trained by backpropagation through
time (BPTT) with a surrogate gradient. The same equations as ``brainnet.brain.neurons.LIF`` (snnTorch's
``Leaky``) and, with ``return_sequences=False``, the same readout features as the torch ``snn_mlp``."""

from __future__ import annotations

import numpy as np

from brainnet.scratch.init import INITIALIZERS
from brainnet.scratch.module import LAYERS, Module, Parameter

# surrogate name -> (a smooth step whose derivative is the surrogate, the surrogate dS/dx), x = U - theta
SURROGATES = {
    "fast_sigmoid": (
        lambda x: 0.5 + x / (1 + 25 * np.abs(x)),
        lambda x: 1 / (1 + 25 * np.abs(x)) ** 2,
    ),
    "arctan": (lambda x: 0.5 + np.arctan(np.pi * x) / np.pi, lambda x: 1 / (1 + (np.pi * x) ** 2)),
}


@LAYERS.register("lif")
class LIF(Module):
    """I = x @ W + b, then for t = 1..T (U[0] = S[0] = 0)::

        U[t] = beta * U[t-1] + I[t] - theta * S[t-1]     reset="subtract"
        U[t] = beta * U[t-1] * (1 - S[t-1]) + I[t]      reset="zero"
        S[t] = H(U[t] - theta)

    Backward (BPTT), with S[t-1] in the reset treated as a constant (detached) and dS/dU replaced by the
    surrogate sg(U - theta)::

        dU[t] = dS[t] * sg(U[t] - theta) + dU[t+1] * dU[t+1]/dU[t]     (beta, or beta (1 - S[t]) for zero)

    Glossary: x input (B, in) (a constant current, "direct" encoding) or (B, T, in) (a sequence, e.g. the
    spikes of another LIF); W (in, units), b (units,); U membrane; S spikes; beta decay in (0, 1); theta
    threshold > 0; sg the surrogate ("fast_sigmoid": 1 / (1 + 25|x|)^2, "arctan": 1 / (1 + (pi x)^2)).

    Args:
        units: neurons.
        time_steps: T, used when x is (B, in).
        beta, threshold, reset, surrogate: as above (defaults 0.9, 1.0, "subtract", "fast_sigmoid").
        return_sequences: True: spikes (B, T, units). False: the readout features (B, units) of leaky
            non-spiking readout units, f = sum_s k_s S[s] / T with k_s = (1 - beta^(T-s)) / (1 - beta), the
            mean membrane over T of M[t] = beta M[t-1] + S[t] (a Dense layer on f is the torch readout).
        smooth: replace H by the surrogate's smooth step (and keep the reset in the graph), so that finite
            differences of ``forward`` are the surrogate gradient (for ``gradcheck``).
        dtype, rng, in_features, kernel_init: as in ``Dense``.
    """

    def __init__(
        self,
        units: int,
        time_steps: int = 25,
        *,
        beta: float = 0.9,
        threshold: float = 1.0,
        reset: str = "subtract",
        surrogate: str = "fast_sigmoid",
        return_sequences: bool = False,
        smooth: bool = False,
        kernel_init: str = "glorot_uniform",
        dtype: type | np.dtype = np.float32,
        rng: int | np.random.Generator | None = None,
        in_features: int | None = None,
    ) -> None:
        if not 0 < beta < 1 or threshold <= 0 or reset not in ("subtract", "zero"):
            raise ValueError(
                "LIF needs beta in (0, 1), threshold > 0 and reset 'subtract' or 'zero'; received "
                f"beta={beta!r}, threshold={threshold!r}, reset={reset!r}."
            )
        if surrogate not in SURROGATES or int(time_steps) != time_steps or time_steps < 1:
            raise ValueError(
                f"LIF needs surrogate in {sorted(SURROGATES)} and time_steps >= 1; received "
                f"surrogate={surrogate!r}, time_steps={time_steps!r}."
            )
        self.units, self.time_steps = int(units), int(time_steps)
        self.beta, self.threshold, self.reset = beta, threshold, reset
        self.step_fn, self.surrogate = SURROGATES[surrogate]
        self.return_sequences, self.smooth = return_sequences, smooth
        self.init, self.dtype = INITIALIZERS.get(kernel_init), np.dtype(dtype)
        self.rng = np.random.default_rng(rng)
        self.weight: Parameter | None = None
        if in_features is not None:
            self.build(in_features)

    def build(self, in_features: int) -> None:
        w = self.init((in_features, self.units), in_features, self.units, self.rng)
        self.weight = Parameter(w.astype(self.dtype), "weight")
        self.bias = Parameter(np.zeros(self.units, dtype=self.dtype), "bias")

    def readout_weights(self, T: int) -> np.ndarray:
        """(T,) k_s / T: the weight of S[s] in the mean membrane of the leaky readout."""
        remaining = np.arange(T, 0, -1)
        return (1 - self.beta**remaining) / (1 - self.beta) / T

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.weight is None:
            self.build(x.shape[-1])
        if x.ndim not in (2, 3) or x.shape[-1] != self.weight.value.shape[0]:
            raise ValueError(
                f"{self!r} expected (batch, {self.weight.value.shape[0]}) or (batch, T, "
                f"{self.weight.value.shape[0]}); received {x.shape}."
            )
        self.x = x.astype(self.weight.value.dtype, copy=False)
        current = self.x @ self.weight.value + self.bias.value  # (B, units) or (B, T, units)
        T = self.time_steps if x.ndim == 2 else x.shape[1]
        U = np.zeros((x.shape[0], T, self.units), dtype=current.dtype)  # (B, T, units)
        S = np.zeros_like(U)
        u, s = np.zeros_like(U[:, 0]), np.zeros_like(U[:, 0])
        for t in range(T):
            current_t = current if x.ndim == 2 else current[:, t]
            if self.reset == "subtract":
                u = self.beta * u + current_t - self.threshold * s
            else:
                u = self.beta * u * (1 - s) + current_t
            s = self.step_fn(u - self.threshold) if self.smooth else (u >= self.threshold) * 1.0
            U[:, t], S[:, t] = u, s
        self.U, self.S = U, S.astype(U.dtype)
        if self.return_sequences:
            return self.S
        return np.einsum("btu,t->bu", self.S, self.readout_weights(T))  # (B, units)

    def backward(self, grad_out: np.ndarray) -> np.ndarray:
        T = self.S.shape[1]
        dS = (
            grad_out
            if self.return_sequences
            else grad_out[:, None] * self.readout_weights(T)[:, None]
        )
        dU = np.zeros_like(self.U)  # dL/dU[t] (B, T, units)
        d_next = np.zeros_like(self.U[:, 0])  # dL/dU[t+1]
        for t in reversed(range(T)):
            d_spike = dS[:, t]
            if self.smooth:  # the reset of U[t+1] depends on S[t]; detached (skipped) when training
                reset = -self.threshold if self.reset == "subtract" else -self.beta * self.U[:, t]
                d_spike = d_spike + d_next * reset
            decay = self.beta if self.reset == "subtract" else self.beta * (1 - self.S[:, t])
            dU[:, t] = d_spike * self.surrogate(self.U[:, t] - self.threshold) + d_next * decay
            d_next = dU[:, t]
        dI = dU.sum(axis=1) if self.x.ndim == 2 else dU  # (B, units) or (B, T, units)
        x2, d2 = self.x.reshape(-1, self.x.shape[-1]), dI.reshape(-1, self.units)
        self.weight.grad += x2.T @ d2
        self.bias.grad += d2.sum(axis=0)
        return dI @ self.weight.value.T

    def __repr__(self) -> str:
        return f"LIF({self.units}, time_steps={self.time_steps})"
