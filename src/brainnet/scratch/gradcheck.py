"""Finite-difference gradient check: does ``backward`` agree with nudging the inputs and parameters?

The check uses a random projection loss L = sum(r * module(x)) with a fixed random r, so one backward with
grad_out = r gives the whole vector-Jacobian product, and central differences
dL/dv ~ (L(v + eps) - L(v - eps)) / (2 eps) estimate the same numbers one entry at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from brainnet.scratch.module import Module


@dataclass
class GradcheckResult:
    """Relative errors between backward's gradients and finite differences.

    Attributes:
        input_error: error of dL/dx.
        param_errors: error per parameter, keyed "index:name" in ``module.parameters()`` order.
        rtol: the tolerance used; ``ok`` is True when every error is at most rtol.
    """

    input_error: float
    param_errors: dict[str, float] = field(default_factory=dict)
    rtol: float = 1e-6

    @property
    def max_error(self) -> float:
        return max([self.input_error, *self.param_errors.values()])

    @property
    def ok(self) -> bool:
        return self.max_error <= self.rtol


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / max(1e-8, ||a|| + ||n||), with Euclidean norms over the whole array.

    Norm-based rather than element-wise, so tiny entries (where rounding dominates) do not raise false alarms.
    """
    diff = np.linalg.norm(analytic - numeric)
    return float(diff / max(1e-8, np.linalg.norm(analytic) + np.linalg.norm(numeric)))


def _numeric_grad(loss: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Central differences of ``loss()`` with respect to every entry of ``array`` (changed in place, restored)."""
    grad = np.zeros_like(array)
    for idx in np.ndindex(array.shape):
        old = array[idx]
        array[idx] = old + eps
        up = loss()
        array[idx] = old - eps
        down = loss()
        array[idx] = old
        grad[idx] = (up - down) / (2 * eps)
    return grad


def gradcheck(
    module: Module, x: np.ndarray, *, eps: float = 1e-6, rtol: float = 1e-6, seed: int = 0
) -> GradcheckResult:
    """Compare ``module.backward`` with central finite differences, in float64.

    Side effects: runs one forward first (so lazily built layers create their parameters), then casts every
    parameter of ``module`` to float64 *in place* and zeroes the gradients. ``forward`` is called twice per
    input and parameter entry, so a module with randomness (Dropout in training mode) must be checked in eval
    mode or with a fixed mask; keep x and the layers small.

    Args:
        module: the module to check.
        x: an input batch; cast to float64.
        eps: finite-difference step. rtol: largest accepted relative error (see ``relative_error``).
        seed: seed of the random projection r.

    Returns:
        A ``GradcheckResult`` with the error for x and for each parameter, and ``ok``.
    """
    x = np.array(x, dtype=np.float64)
    module.forward(x)
    for p in module.parameters():
        p.value = p.value.astype(np.float64)
        p.grad = np.zeros_like(p.value)
    r = np.random.default_rng(seed).standard_normal(module.forward(x).shape)

    def loss() -> float:
        return float(np.sum(r * module.forward(x)))

    module.zero_grad()
    loss()
    dx = module.backward(r)
    result = GradcheckResult(relative_error(dx, _numeric_grad(loss, x, eps)), rtol=rtol)
    for i, p in enumerate(module.parameters()):
        numeric = _numeric_grad(loss, p.value, eps)
        result.param_errors[f"{i}:{p.name}"] = relative_error(p.grad, numeric)
    return result
