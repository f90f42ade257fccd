"""Optimizers in NumPy, each matching its torch.optim namesake step for step (defaults included).

``Optimizer.step()`` loops over the parameters and a state dict per parameter; a subclass writes only
``_update(value, grad, state)``, which changes ``value`` in place. p parameter, g gradient, t step (from 1).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np

from brainnet.core.registry import Registry
from brainnet.scratch.module import Parameter

OPTIMIZERS: Registry = Registry("optimizer")


def _check(name: str, value: float, low: float, high: float = np.inf, strict: bool = False) -> None:
    """Raise ValueError unless low <= value < high (low < value when ``strict``)."""
    ok = (value > low if strict else value >= low) and value < high
    if not ok:
        interval = f"{'(' if strict else '['}{low}, {high})"
        raise ValueError(f"{name} must be in {interval}; received {name}={value}.")


class Optimizer:
    """Template: ``step()`` applies ``_update`` to every parameter; ``zero_grad()`` clears the grads.

    Args:
        params: the Parameters to update (e.g. ``model.parameters()``); must not be empty.
        lr: learning rate, > 0.
    """

    def __init__(self, params: Iterable[Parameter], lr: float) -> None:
        self.params = list(params)
        if not self.params:
            raise ValueError("optimizer got an empty parameter list; pass model.parameters().")
        _check("lr", lr, 0.0, strict=True)
        self.lr = lr
        self.state: list[dict[str, Any]] = [{} for _ in self.params]

    def step(self) -> None:
        """Update every parameter in place from its current ``grad``."""
        for p, state in zip(self.params, self.state, strict=True):
            self._update(p.value, p.grad, state)

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad[...] = 0

    def _update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        """Change ``value`` in place; ``state`` is this parameter's own dict, kept between steps."""
        raise NotImplementedError


@OPTIMIZERS.register("sgd")
class SGD(Optimizer):
    """Stochastic gradient descent with momentum, as torch.optim.SGD.

    d = g + wd p;  b = d on the first step, else b = mu b + (1 - dampening) d;
    d = d + mu b (nesterov) or d = b;  p = p - lr d.

    Args:
        lr: learning rate (required, > 0). momentum: mu >= 0, default 0. dampening: default 0.
        nesterov: default False; needs momentum > 0 and dampening 0. weight_decay: wd >= 0, default 0.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        nesterov: bool = False,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check("momentum", momentum, 0.0)
        _check("weight_decay", weight_decay, 0.0)
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError(
                f"nesterov momentum requires momentum > 0 and dampening = 0; received "
                f"momentum={momentum}, dampening={dampening}."
            )
        self.momentum, self.dampening = momentum, dampening
        self.nesterov, self.weight_decay = nesterov, weight_decay

    def _update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        d = grad + self.weight_decay * value if self.weight_decay else grad
        if self.momentum:
            buf = state.get("buf")
            buf = d.copy() if buf is None else self.momentum * buf + (1 - self.dampening) * d
            state["buf"] = buf
            d = d + self.momentum * buf if self.nesterov else buf
        value -= self.lr * d


@OPTIMIZERS.register("rmsprop")
class RMSprop(Optimizer):
    """RMSprop, as torch.optim.RMSprop (not centered).

    g = g + wd p;  v = alpha v + (1 - alpha) g^2;  a = sqrt(v) + eps;
    b = mu b + g / a and p = p - lr b (momentum), else p = p - lr g / a.

    Args:
        lr: default 0.01. alpha: in [0, 1), default 0.99. eps: > 0, default 1e-8.
        momentum: mu >= 0, default 0. weight_decay: wd >= 0, default 0.
    """

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 0.01,
        alpha: float = 0.99,
        eps: float = 1e-8,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check("alpha", alpha, 0.0, 1.0)
        _check("eps", eps, 0.0, strict=True)
        _check("momentum", momentum, 0.0)
        _check("weight_decay", weight_decay, 0.0)
        self.alpha, self.eps, self.momentum, self.weight_decay = alpha, eps, momentum, weight_decay

    def _update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        g = grad + self.weight_decay * value if self.weight_decay else grad
        v = state.get("square_avg", np.zeros_like(value))
        state["square_avg"] = v = self.alpha * v + (1 - self.alpha) * g * g
        step = g / (np.sqrt(v) + self.eps)
        if self.momentum > 0:
            state["buf"] = step = self.momentum * state.get("buf", np.zeros_like(value)) + step
        value -= self.lr * step


@OPTIMIZERS.register("adam")
class Adam(Optimizer):
    """Adam with coupled L2 weight decay, as torch.optim.Adam.

    g = g + wd p;  m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
    p = p - (lr / (1 - b1^t)) m / (sqrt(v) / sqrt(1 - b2^t) + eps).

    Args:
        lr: default 1e-3. betas: (b1, b2), each in [0, 1), default (0.9, 0.999). eps: > 0, default 1e-8.
        weight_decay: wd >= 0, default 0.
    """

    decoupled = False

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(params, lr)
        _check("betas[0]", betas[0], 0.0, 1.0)
        _check("betas[1]", betas[1], 0.0, 1.0)
        _check("eps", eps, 0.0, strict=True)
        _check("weight_decay", weight_decay, 0.0)
        self.betas, self.eps, self.weight_decay = betas, eps, weight_decay

    def _update(self, value: np.ndarray, grad: np.ndarray, state: dict[str, Any]) -> None:
        b1, b2 = self.betas
        coupled = self.weight_decay and not self.decoupled
        g = grad + self.weight_decay * value if coupled else grad
        if self.decoupled:
            value *= 1 - self.lr * self.weight_decay
        t = state["step"] = state.get("step", 0) + 1
        # In place, op for op the formulas above, but without a fresh parameter-sized array per operation
        # (a dense layer can hold millions of weights) and without float64 scalars promoting float32 arrays.
        if t == 1:
            state["exp_avg"], state["exp_avg_sq"] = np.zeros_like(value), np.zeros_like(value)
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * g * g
        denom = np.sqrt(v)
        denom /= math.sqrt(1 - b2**t)  # a Python float, so float32 stays float32
        denom += self.eps
        step = (self.lr / (1 - b1**t)) * m
        step /= denom
        value -= step


@OPTIMIZERS.register("adamw")
class AdamW(Adam):
    """Adam with decoupled weight decay, as torch.optim.AdamW: p = p (1 - lr wd), then the Adam step on g.
    Args as ``Adam``, but weight_decay defaults to 1e-2."""

    decoupled = True

    def __init__(
        self,
        params: Iterable[Parameter],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float = 1e-2,
    ) -> None:
        super().__init__(params, lr, betas, eps, weight_decay)


def get_optimizer(name: str, params: Iterable[Parameter], **kwargs: Any) -> Optimizer:
    """Build a registered optimizer by name: ``get_optimizer("adam", model.parameters(), lr=1e-3)``."""
    return OPTIMIZERS.get(name)(params, **kwargs)
