"""Surrogate gradients: the Heaviside step forward, a smooth pseudo-derivative backward.

A spike is ``S = H(U - theta)``, whose derivative is zero almost everywhere; training by backpropagation
replaces dS/dU, and only it, with the derivative of a smooth function (Neftci, Mostafa & Zenke 2019). Each
surrogate is a ``torch.autograd.Function`` applied to ``x = U - theta`` with a static ``derivative(x)``
(the formula, for tests and for the NumPy engine to match). Names live in ``registry.SURROGATES``.
"""

from __future__ import annotations

import math

import torch

from brainnet.brain.registry import SURROGATES


class Surrogate(torch.autograd.Function):
    """Forward: ``(x >= 0)`` as x's dtype (the Heaviside step, H(0) = 1). Backward: ``grad * derivative(x)``.

    A subclass writes ``derivative(x)`` only.
    """

    @staticmethod
    def derivative(x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    @classmethod
    def derivative_(cls, x: torch.Tensor) -> torch.Tensor:
        """``derivative(x)`` written into x (a scratch tensor the caller owns) and returned: the same formula
        without temporaries, for the fused LIF's backward pass over (T, B, ...) tensors."""
        return x.copy_(cls.derivative(x))

    @classmethod
    def forward(cls, ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return (x >= 0).to(x.dtype)

    @classmethod
    def backward(cls, ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * cls.derivative(x)


class ArcTan(Surrogate):
    """dS/dx = (a / 2) / (1 + (pi a x / 2)^2) with a = 2: the derivative of arctan(pi a x / 2) / pi + 1/2
    (Fang et al. 2021; snnTorch's default)."""

    ALPHA = 2.0

    @staticmethod
    def derivative(x: torch.Tensor) -> torch.Tensor:
        a = ArcTan.ALPHA
        return (a / 2) / (1 + (math.pi * a * x / 2) ** 2)

    @classmethod
    def derivative_(cls, x: torch.Tensor) -> torch.Tensor:
        a = cls.ALPHA
        return x.mul_(math.pi * a / 2).square_().add_(1).reciprocal_().mul_(a / 2)


class FastSigmoid(Surrogate):
    """dS/dx = 1 / (1 + k |x|)^2 with slope k = 25: the derivative of x / (1 + k |x|) (SuperSpike, Zenke &
    Ganguli 2018)."""

    SLOPE = 25.0

    @staticmethod
    def derivative(x: torch.Tensor) -> torch.Tensor:
        return 1 / (1 + FastSigmoid.SLOPE * x.abs()) ** 2

    @classmethod
    def derivative_(cls, x: torch.Tensor) -> torch.Tensor:
        return x.abs_().mul_(cls.SLOPE).add_(1).square_().reciprocal_()


class Triangular(Surrogate):
    """dS/dx = max(0, 1 - |x| / w) / w with width w = 1 (Bellec et al. 2018 use a triangle of width 1 in units
    of the threshold)."""

    WIDTH = 1.0

    @staticmethod
    def derivative(x: torch.Tensor) -> torch.Tensor:
        w = Triangular.WIDTH
        return torch.clamp(1 - x.abs() / w, min=0) / w

    @classmethod
    def derivative_(cls, x: torch.Tensor) -> torch.Tensor:
        w = cls.WIDTH
        return x.abs_().div_(w).neg_().add_(1).clamp_(min=0).div_(w)


def surrogate(name: str) -> type[Surrogate]:
    """The registered surrogate ``name``; UserInputError naming the others."""
    return SURROGATES.get(name).load()


def spike(x: torch.Tensor, name: str = "fast_sigmoid") -> torch.Tensor:
    """``H(x)`` forward, the surrogate ``name``'s derivative backward; x = U - theta, any shape."""
    return surrogate(name).apply(x)
