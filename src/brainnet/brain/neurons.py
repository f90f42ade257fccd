"""Spiking neurons as explicit state machines: ``step(input_t, state) -> (spikes, state)``.

Discrete time, one step per call, the convention of snnTorch's ``Leaky`` (and of the NumPy LIF layer in
``brainnet.scratch.layers.lif``, which matches it). A neuron is an ``nn.Module`` only to hold its optional
learnable decay and threshold; its state is a small dataclass passed in and returned, never kept inside.
``forward`` runs a whole (T, B, ...) sequence of input currents. Names live in ``registry.NEURONS``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from brainnet.brain.registry import NEURONS
from brainnet.brain.surrogates import surrogate as surrogate_function
from brainnet.core.errors import UserInputError

RESETS = ("subtract", "zero")


@dataclass
class LIFState:
    """The state of a layer of LIF neurons after step t.

    Attributes:
        mem: U[t], membrane potentials, the shape of the input.
        spk: S[t], the spikes just emitted (0/1 floats), the same shape.
    """

    mem: torch.Tensor
    spk: torch.Tensor


@dataclass
class ALIFState(LIFState):
    """An ALIF layer's state: LIF's plus ``adapt``, b[t] (the threshold's adaptive part)."""

    adapt: torch.Tensor


def _check(name: str, ok: bool, value: object, expected: str) -> None:
    if not ok:
        raise UserInputError(f"{name} must be {expected}; received {value!r}.")


class LIF(nn.Module):
    """A layer of leaky integrate-and-fire neurons.

    Equations, for step t = 1..T (U[0] = 0, S[0] = 0)::

        U[t] = beta * U[t-1] + I[t] - theta * S[t-1]         reset="subtract" (default)
        U[t] = beta * U[t-1] * (1 - S[t-1]) + I[t]          reset="zero"
        S[t] = H(U[t] - theta)

    S[t-1] in the reset is detached from the graph (the reset carries no gradient); H is the Heaviside step
    forward and the surrogate's derivative backward (``surrogates.py``).

    Glossary:
        U[t]: membrane potential after step t.
        I[t]: input current at step t (the synaptic input, e.g. W x[t]).
        S[t]: spike (1) or not (0) at step t.
        beta: membrane decay per step in (0, 1); exp(-dt / tau_mem).
        theta: firing threshold (> 0).

    Args:
        beta: decay in (0, 1), default 0.9.
        threshold: theta > 0, default 1.0.
        surrogate: a name in ``registry.SURROGATES`` (default "fast_sigmoid").
        reset: "subtract" or "zero".
        learn_beta: learn beta, kept in (0, 1) as sigmoid(a) of a parameter a (one per neuron when ``size``).
        learn_threshold: learn theta (one per neuron when ``size``), kept >= 0.01.
        size: the number of neurons (the last input dimension) for per-neuron learnable parameters; None
            shares one value across the layer.
    """

    def __init__(
        self,
        beta: float = 0.9,
        threshold: float = 1.0,
        surrogate: str = "fast_sigmoid",
        reset: str = "subtract",
        *,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        size: int | None = None,
    ) -> None:
        super().__init__()
        _check("beta", 0 < beta < 1, beta, "a decay in (0, 1) such as 0.9")
        _check("threshold", threshold > 0, threshold, "a positive firing threshold such as 1.0")
        _check("reset", reset in RESETS, reset, "'subtract' or 'zero'")
        self.spike_fn = surrogate_function(surrogate)
        self.surrogate, self.reset = surrogate, reset
        shape = (size,) if size else ()
        self._beta, self._threshold = beta, threshold
        if learn_beta:
            logit = torch.full(shape, float(torch.logit(torch.tensor(beta))))
            self.beta_logit = nn.Parameter(logit)
        if learn_threshold:
            self.threshold_param = nn.Parameter(torch.full(shape, float(threshold)))

    @property
    def beta(self) -> torch.Tensor | float:
        """beta, a float or (size,) tensor in (0, 1)."""
        return torch.sigmoid(self.beta_logit) if hasattr(self, "beta_logit") else self._beta

    @property
    def threshold(self) -> torch.Tensor | float:
        """theta, a float or a (size,) tensor >= 0.01."""
        if hasattr(self, "threshold_param"):
            return self.threshold_param.clamp(min=0.01)
        return self._threshold

    def init_state(self, input_t: torch.Tensor) -> LIFState:
        """U[0] = S[0] = 0, shaped like one step of input."""
        zeros = torch.zeros_like(input_t)
        return LIFState(mem=zeros, spk=zeros)

    def _integrate(self, input_t: torch.Tensor, state: LIFState, theta) -> torch.Tensor:
        """U[t] from U[t-1], S[t-1] (detached), I[t] and the threshold ``theta`` of the reset."""
        fired = state.spk.detach()
        if self.reset == "subtract":
            return self.beta * state.mem + input_t - theta * fired
        return self.beta * state.mem * (1 - fired) + input_t

    def step(
        self, input_t: torch.Tensor, state: LIFState | None = None
    ) -> tuple[torch.Tensor, LIFState]:
        """One step: I[t] (B, ...) and the state after t-1 (None: at rest) -> (S[t], state after t)."""
        state = self.init_state(input_t) if state is None else state
        theta = self.threshold
        mem = self._integrate(input_t, state, theta)
        spk = self.spike_fn.apply(mem - theta)
        return spk, LIFState(mem=mem, spk=spk)

    def forward(self, currents: torch.Tensor) -> torch.Tensor:
        """(T, B, ...) input currents -> (T, B, ...) spikes, from rest.

        With a fixed decay and threshold (the default) the whole sequence runs as one autograd node,
        ``LIFSequence`` (the same numbers, a fraction of the bookkeeping); learnable ones use ``step``.
        """
        if torch.jit.is_tracing() or torch.onnx.is_in_onnx_export():
            return self._traceable(currents)
        if type(self) is LIF and not any(p.requires_grad for p in self.parameters()):
            derivative_ = self.spike_fn.derivative_
            return LIFSequence.apply(currents, self.beta, self.threshold, self.reset, derivative_)
        return self.run_steps(currents)

    def _traceable(self, currents: torch.Tensor) -> torch.Tensor:
        """``forward`` in plain tensor operations (no autograd.Function), for the ONNX exporter: the same
        equations, unrolled over the fixed T, with the Heaviside step as a comparison."""
        state, out = self.init_state(currents[0]), []
        for t in range(currents.shape[0]):
            theta = self.threshold
            mem = self._integrate(currents[t], state, theta)
            spk = (mem - theta >= 0).to(currents.dtype)
            state = LIFState(mem=mem, spk=spk)
            out.append(spk)
        return torch.stack(out)

    def run_steps(self, currents: torch.Tensor) -> torch.Tensor:
        """``forward`` by ``step``, one autograd node per operation and step."""
        state, out = None, []
        for input_t in currents:
            spk, state = self.step(input_t, state)
            out.append(spk)
        return torch.stack(out)


class LIFSequence(torch.autograd.Function):
    """A LIF layer with fixed beta and theta over a whole (T, ...) sequence, backpropagated through time by
    hand: the equations of ``LIF`` forward, and backward (S[t-1] detached in the reset, sg the surrogate)::

        dL/dU[t] = dL/dS[t] * sg(U[t] - theta) + dL/dU[t+1] * d                 d = beta, or beta (1 - S[t])
        dL/dI[t] = dL/dU[t]

    the algorithm of ``brainnet.scratch.layers.lif.LIF.backward``. Tested equal to ``LIF.run_steps``.
    """

    @staticmethod
    def forward(ctx, currents, beta, theta, reset, derivative_):  # type: ignore[override]
        """``derivative_``: the surrogate's in-place derivative (``Surrogate.derivative_``). Every step writes
        into the preallocated (T, ...) outputs: no temporaries per step."""
        mems = torch.empty(currents.shape, dtype=currents.dtype, device=currents.device)
        spikes = torch.empty_like(mems)
        fired = torch.empty(mems.shape[1:], dtype=torch.bool, device=mems.device)
        for t in range(len(currents)):
            mem = mems[t]
            if t == 0:  # U[0] = S[0] = 0
                mem.copy_(currents[0])
            elif reset == "subtract":  # I[t] + beta U[t-1] - theta S[t-1]
                torch.add(currents[t], mems[t - 1], alpha=beta, out=mem).sub_(
                    spikes[t - 1], alpha=theta
                )
            else:  # U[t-1] (1 - S[t-1]) beta + I[t]
                torch.mul(mems[t - 1], 1 - spikes[t - 1], out=mem).mul_(beta).add_(currents[t])
            torch.ge(mem, theta, out=fired)
            spikes[t].copy_(fired)
        ctx.save_for_backward(mems, spikes)
        ctx.beta, ctx.theta, ctx.reset, ctx.derivative_ = beta, theta, reset, derivative_
        return spikes

    @staticmethod
    def backward(ctx, grad_spikes):  # type: ignore[override]
        mems, spikes = ctx.saved_tensors
        grad = ctx.derivative_(mems - ctx.theta).mul_(
            grad_spikes
        )  # (T, ...): dL/dS[t] sg(U[t] - theta)
        for t in reversed(range(len(grad) - 1)):  # dL/dU[t] += dL/dU[t+1] * d
            if ctx.reset == "subtract":
                grad[t].add_(grad[t + 1], alpha=ctx.beta)
            else:
                grad[t].addcmul_(grad[t + 1], 1 - spikes[t], value=ctx.beta)
        return grad, None, None, None, None


class ALIF(LIF):
    """A layer of adaptive leaky integrate-and-fire neurons (Bellec et al. 2018, "Long short-term memory and
    learning-to-learn in networks of spiking neurons"): each spike raises the neuron's own threshold, which
    relaxes back with a slower time constant.

    Equations, for step t = 1..T (U[0] = 0, S[0] = 0, b[0] = 0)::

        b[t]     = rho * b[t-1] + (1 - rho) * S[t-1] * beta_a
        theta[t] = theta0 + b[t]
        U[t]     = beta * U[t-1] + I[t] - theta[t-1] * S[t-1]   reset="subtract" (by the threshold crossed)
        U[t]     = beta * U[t-1] * (1 - S[t-1]) + I[t]          reset="zero"
        S[t]     = H(U[t] - theta[t])

    S[t-1] is detached in the reset only; the adaptation b carries gradient through the surrogate.

    Glossary:
        U, I, S, beta: as in ``LIF``.
        theta0: the baseline threshold (``threshold``).
        b[t]: the adaptive part of the threshold, >= 0.
        theta[t]: the threshold at step t.
        rho: decay of b per step in (0, 1); exp(-dt / tau_adapt), slower than beta.
        beta_a: how much one spike raises the threshold (scaled by 1 - rho).

    Args:
        rho: default 0.95 (tau_adapt ~ 20 steps, the length of a short spike train).
        beta_a: default 1.8 (Bellec et al.'s value).
        the others: as in ``LIF``.
    """

    def __init__(
        self,
        beta: float = 0.9,
        threshold: float = 1.0,
        surrogate: str = "fast_sigmoid",
        reset: str = "subtract",
        *,
        rho: float = 0.95,
        beta_a: float = 1.8,
        learn_beta: bool = False,
        learn_threshold: bool = False,
        size: int | None = None,
    ) -> None:
        super().__init__(
            beta,
            threshold,
            surrogate,
            reset,
            learn_beta=learn_beta,
            learn_threshold=learn_threshold,
            size=size,
        )
        _check("rho", 0 < rho < 1, rho, "a decay in (0, 1) such as 0.95")
        _check("beta_a", beta_a >= 0, beta_a, "a number >= 0")
        self.rho, self.beta_a = rho, beta_a

    def init_state(self, input_t: torch.Tensor) -> ALIFState:
        zeros = torch.zeros_like(input_t)
        return ALIFState(mem=zeros, spk=zeros, adapt=zeros)

    def step(
        self, input_t: torch.Tensor, state: ALIFState | None = None
    ) -> tuple[torch.Tensor, ALIFState]:
        """One step: I[t] and the state after t-1 (None: at rest) -> (S[t], state after t)."""
        state = self.init_state(input_t) if state is None else state
        theta0 = self.threshold
        mem = self._integrate(input_t, state, theta0 + state.adapt)  # reset by theta[t-1]
        adapt = self.rho * state.adapt + (1 - self.rho) * state.spk * self.beta_a
        spk = self.spike_fn.apply(mem - (theta0 + adapt))
        return spk, ALIFState(mem=mem, spk=spk, adapt=adapt)


def neuron(name: str) -> type[LIF]:
    """The registered neuron class ``name``; UserInputError naming the others."""
    return NEURONS.get(name).load()
