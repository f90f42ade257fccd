"""Losses (value and gradient side by side) and weight penalties, in NumPy; each matches torch's default.

A ``Loss`` subclass writes ``value`` (one loss term per element or per sample) and ``grad`` (the derivative
of each term with respect to ``pred``); the base class checks shapes, caches, and applies the reduction.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from brainnet.core.registry import Registry
from brainnet.scratch.module import Parameter

LOSSES: Registry = Registry("loss")


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + exp(x)) without overflow: max(x, 0) + log1p(exp(-|x|))."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """1 / (1 + exp(-x)) = exp(-softplus(-x)), without overflow for large |x|."""
    return np.exp(-_softplus(-x))


class Loss:
    """Template: ``__call__(pred, target) -> float`` then ``backward() -> dL/dpred`` (shape of ``pred``).

    Args:
        reduction: "mean" (default, torch's: the terms returned by ``value`` are averaged, so elementwise
            losses average over all elements and cross-entropy over the batch) or "sum".
    """

    name = "loss"

    def __init__(self, reduction: str = "mean") -> None:
        if reduction not in ("mean", "sum"):
            raise ValueError(f"reduction must be 'mean' or 'sum'; received {reduction!r}.")
        self.reduction = reduction
        self._cache: tuple[np.ndarray, np.ndarray, int] | None = None

    def value(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Unreduced loss terms: shape of ``pred`` for elementwise losses, (B,) for per-sample ones."""
        raise NotImplementedError

    def grad(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """d(sum of the terms)/dpred, shape of ``pred``."""
        raise NotImplementedError

    def check(self, pred: np.ndarray, target: np.ndarray) -> None:
        """Raise ValueError unless ``target`` fits ``pred`` (default: the same shape)."""
        if pred.shape != target.shape:
            raise ValueError(
                f"{self.name}: pred and target must have the same shape; received pred {pred.shape} "
                f"and target {target.shape}."
            )

    def __call__(self, pred: np.ndarray, target: np.ndarray) -> float:
        pred, target = np.asarray(pred), np.asarray(target)
        self.check(pred, target)
        terms = self.value(pred, target)
        self._cache = (pred, target, terms.size)
        total = float(terms.sum())
        return total / max(terms.size, 1) if self.reduction == "mean" else total

    def backward(self) -> np.ndarray:
        """dL/dpred for the last call, shape of ``pred``."""
        if self._cache is None:
            raise RuntimeError(f"{self.name}: call the loss on (pred, target) before backward().")
        pred, target, n = self._cache
        g = self.grad(pred, target)
        return g / max(n, 1) if self.reduction == "mean" else g


@LOSSES.register("mse")
class MSE(Loss):
    """Mean squared error: terms (p - y)^2, grad 2 (p - y); any shape, mean over all elements."""

    name = "mse"

    def value(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return (pred - target) ** 2

    def grad(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return 2 * (pred - target)


@LOSSES.register("mae")
class MAE(Loss):
    """Mean absolute error: terms |p - y|, grad sign(p - y) (0 where p == y, as torch's L1Loss)."""

    name = "mae"

    def value(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.abs(pred - target)

    def grad(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        return np.sign(pred - target)


@LOSSES.register("bce_with_logits")
class BCEWithLogits(Loss):
    """Binary cross-entropy on logits z (B, L) with targets y in [0, 1] (B, L); mean over all elements.

    terms = w y softplus(-z) + (1 - y) softplus(z)   (= -[w y log s(z) + (1 - y) log(1 - s(z))])
    grad  = s(z) (w y + 1 - y) - w y                 (= s(z) - y when w = 1)

    Args:
        pos_weight: w, weight of the positive term, a scalar or one per label (L,), broadcast over the
            last axis like torch's ``BCEWithLogitsLoss(pos_weight=...)``. Default None (w = 1).
        reduction: "mean" or "sum".
    """

    name = "bce_with_logits"

    def __init__(
        self, pos_weight: np.ndarray | float | None = None, reduction: str = "mean"
    ) -> None:
        super().__init__(reduction)
        self.pos_weight = None if pos_weight is None else np.asarray(pos_weight, dtype=np.float64)

    def value(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        w = 1.0 if self.pos_weight is None else self.pos_weight
        return w * target * _softplus(-pred) + (1 - target) * _softplus(pred)

    def grad(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        w = 1.0 if self.pos_weight is None else self.pos_weight
        return _sigmoid(pred) * (w * target + 1 - target) - w * target


@LOSSES.register("softmax_cross_entropy")
class SoftmaxCrossEntropy(Loss):
    """Cross-entropy of softmax(z) for logits z (B, C); mean over the batch, like torch's CrossEntropyLoss.

    Targets are class indices (B,) or class probabilities / one-hot rows t (B, C).
    terms (B,) = -sum_c t_c log_softmax(z)_c,  grad (B, C) = softmax(z) sum_c t_c - t.
    """

    name = "softmax_cross_entropy"

    def check(self, pred: np.ndarray, target: np.ndarray) -> None:
        if pred.ndim != 2 or target.shape not in (pred.shape[:1], pred.shape):
            raise ValueError(
                f"{self.name}: expected logits (B, C) and target (B,) of class indices or (B, C); "
                f"received pred {pred.shape} and target {target.shape}."
            )
        if target.ndim == 1 and target.size and (target.min() < 0 or target.max() >= pred.shape[1]):
            raise ValueError(
                f"{self.name}: class indices must be in [0, {pred.shape[1]}); "
                f"received values from {target.min()} to {target.max()}."
            )

    @staticmethod
    def _dense(pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Targets as (B, C) rows: indices become one-hot rows."""
        if target.ndim == 2:
            return target
        return np.eye(pred.shape[1], dtype=pred.dtype)[target.astype(np.int64)]  # (B, C)

    def value(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        shifted = pred - pred.max(axis=1, keepdims=True)  # (B, C)
        log_sm = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # (B, C)
        return -(self._dense(pred, target) * log_sm).sum(axis=1)  # (B,)

    def grad(self, pred: np.ndarray, target: np.ndarray) -> np.ndarray:
        e = np.exp(pred - pred.max(axis=1, keepdims=True))  # (B, C)
        t = self._dense(pred, target)
        return e / e.sum(axis=1, keepdims=True) * t.sum(axis=1, keepdims=True) - t


def get_loss(name: str, **kwargs: object) -> Loss:
    """Build a registered loss by name: ``get_loss("bce_with_logits", pos_weight=w)``."""
    return LOSSES.get(name)(**kwargs)


def l1_penalty(params: Iterable[Parameter], lam: float) -> float:
    """lam * sum |w| over ``params``; adds lam * sign(w) into each ``Parameter.grad``.

    Call after the loss's backward pass (grads filled) and before ``optimizer.step()``; add the returned
    value to the loss you report.
    """
    params = list(params)
    for p in params:
        p.grad += lam * np.sign(p.value)
    return lam * sum(float(np.abs(p.value).sum()) for p in params)


def l2_penalty(params: Iterable[Parameter], lam: float) -> float:
    """(lam / 2) * sum w^2 over ``params``; adds lam * w into each ``Parameter.grad``.

    The /2 form makes ``l2_penalty(params, lam)`` equal to SGD's ``weight_decay=lam``. Call after the
    loss's backward pass and before ``optimizer.step()``; add the returned value to the reported loss.
    """
    params = list(params)
    for p in params:
        p.grad += lam * p.value
    return 0.5 * lam * sum(float((p.value**2).sum()) for p in params)
