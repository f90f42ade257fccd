"""Every registered loss against torch (value and gradient) and against central finite differences."""

import numpy as np
import pytest
import torch

from brainnet.core.errors import UserInputError
from brainnet.scratch.losses import LOSSES, get_loss, l1_penalty, l2_penalty
from brainnet.scratch.module import Parameter

B, L = 6, 4


def _case(name: str, rng: np.random.Generator, extreme: bool = False, onehot: bool = False):
    """(kwargs, pred, target, torch loss) for one loss; ``extreme`` puts logits at +-50."""
    pred = rng.normal(size=(B, L)) * (50 if extreme else 2)
    if extreme:
        pred = np.sign(pred) * 50.0
    if name == "mse":
        return {}, pred, rng.normal(size=(B, L)), torch.nn.MSELoss()
    if name == "mae":
        return {}, pred, rng.normal(size=(B, L)), torch.nn.L1Loss()
    if name == "bce_with_logits":
        w = rng.uniform(0.5, 3.0, size=L)
        target = rng.integers(0, 2, size=(B, L)).astype(np.float64)
        return (
            {"pos_weight": w},
            pred,
            target,
            torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(w)),
        )
    if name == "softmax_cross_entropy":
        target = rng.integers(0, L, size=B)
        if onehot:
            target = np.eye(L)[target]
        return {}, pred, target, torch.nn.CrossEntropyLoss()
    raise AssertionError(f"no test case for loss {name!r}; add one here")


def _torch_value_grad(loss_fn, pred, target):
    z = torch.tensor(pred, requires_grad=True)
    t = torch.tensor(target)
    out = loss_fn(z, t)
    out.backward()
    return out.item(), z.grad.numpy()


def _numeric_grad(f, x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar f at x."""
    g = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + eps
        up = f(x)
        x[i] = old - eps
        down = f(x)
        x[i] = old
        g[i] = (up - down) / (2 * eps)
    return g


CASES = [(n, e, False) for n in LOSSES.names() for e in (False, True)]
CASES += [("softmax_cross_entropy", e, True) for e in (False, True)]


@pytest.mark.parametrize("name,extreme,onehot", CASES)
def test_loss_matches_torch(name, extreme, onehot):
    rng = np.random.default_rng(len(name) + 2 * extreme + onehot)
    kwargs, pred, target, torch_loss = _case(name, rng, extreme, onehot)
    loss = get_loss(name, **kwargs)
    value = loss(pred, target)
    grad = loss.backward()
    t_value, t_grad = _torch_value_grad(torch_loss, pred, target)
    assert grad.shape == pred.shape
    assert np.isfinite(value) and np.isfinite(grad).all()
    assert abs(value - t_value) < 1e-8
    assert np.max(np.abs(grad - t_grad)) < 1e-8


@pytest.mark.parametrize("name", LOSSES.names())
def test_loss_grad_matches_finite_differences(name):
    rng = np.random.default_rng(0)
    kwargs, pred, target, _ = _case(name, rng)
    if name == "mae":  # keep |p - y| away from the kink at 0
        pred = target + np.where(rng.random(pred.shape) < 0.5, -1, 1) * rng.uniform(
            0.1, 1, pred.shape
        )
    loss = get_loss(name, **kwargs)
    loss(pred, target)
    analytic = loss.backward()
    numeric = _numeric_grad(lambda x: loss(x, target), pred.copy())
    rel = np.max(np.abs(analytic - numeric)) / max(np.max(np.abs(numeric)), 1e-12)
    assert rel < 1e-6


def test_mae_subgradient_is_zero_at_kink():
    loss = get_loss("mae")
    loss(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    np.testing.assert_array_equal(loss.backward(), [0.0, 0.5])


def test_sum_reduction():
    pred, target = np.array([[1.0, 2.0]]), np.array([[0.0, 0.0]])
    loss = get_loss("mse", reduction="sum")
    assert loss(pred, target) == 5.0
    np.testing.assert_array_equal(loss.backward(), [[2.0, 4.0]])


@pytest.mark.parametrize("penalty", [l1_penalty, l2_penalty])
def test_penalty_grad_matches_finite_differences(penalty):
    rng = np.random.default_rng(1)
    params = [Parameter(rng.normal(size=(3, 2))), Parameter(rng.normal(size=4))]
    before = [p.grad.copy() + 1.0 for p in params]
    for p in params:
        p.grad += 1.0  # the penalty must add, not overwrite
    value = penalty(params, 0.3)
    for p, g0 in zip(params, before, strict=True):
        numeric = _numeric_grad(lambda x, p=p: penalty([Parameter(x)], 0.3), p.value.copy())
        np.testing.assert_allclose(p.grad - g0, numeric, rtol=1e-6, atol=1e-9)
    expected = {l1_penalty: 0.3 * sum(np.abs(p.value).sum() for p in params)}
    expected[l2_penalty] = 0.15 * sum((p.value**2).sum() for p in params)
    assert value == pytest.approx(expected[penalty])


def test_shape_mismatch_names_loss_and_shapes():
    with pytest.raises(ValueError, match=r"mse.*\(2, 3\).*\(3, 2\)"):
        get_loss("mse")(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match=r"softmax_cross_entropy.*\(2, 3\).*\(5,\)"):
        get_loss("softmax_cross_entropy")(np.zeros((2, 3)), np.zeros(5, dtype=int))
    with pytest.raises(ValueError, match=r"class indices must be in \[0, 3\)"):
        get_loss("softmax_cross_entropy")(np.zeros((2, 3)), np.array([0, 3]))


def test_backward_before_call_and_registry_miss():
    with pytest.raises(RuntimeError, match="before backward"):
        get_loss("mse").backward()
    with pytest.raises(UserInputError, match="available: bce_with_logits, mae, mse"):
        get_loss("mse_loss")
