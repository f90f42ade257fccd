"""Every optimizer configuration against torch.optim, step for step, on the same gradients."""

import numpy as np
import pytest
import torch

from brainnet.core.errors import UserInputError
from brainnet.scratch.module import Parameter
from brainnet.scratch.optimizers import OPTIMIZERS, Optimizer, get_optimizer

TORCH = {"sgd": "SGD", "rmsprop": "RMSprop", "adam": "Adam", "adamw": "AdamW"}
CONFIGS = [
    ("sgd", {"lr": 0.1}),
    ("sgd", {"lr": 0.1, "momentum": 0.9}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"lr": 0.1, "momentum": 0.9, "nesterov": True}),
    ("sgd", {"lr": 0.1, "weight_decay": 0.05}),
    ("sgd", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.05}),
    ("rmsprop", {}),
    ("rmsprop", {"lr": 0.01, "momentum": 0.9, "weight_decay": 0.1}),
    ("adam", {}),
    ("adam", {"lr": 0.01, "betas": (0.8, 0.99), "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"lr": 0.01, "weight_decay": 0.1}),
]
SHAPES = [(3, 4), (5,), (2, 1, 3)]


@pytest.mark.parametrize("name,kwargs", CONFIGS, ids=[f"{n}-{k}" for n, k in CONFIGS])
def test_optimizer_matches_torch(name, kwargs):
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s) for s in SHAPES]
    ours = [Parameter(w.copy()) for w in init]
    theirs = [torch.tensor(w, requires_grad=True) for w in init]
    opt = get_optimizer(name, ours, **kwargs)
    t_opt = getattr(torch.optim, TORCH[name])(theirs, **kwargs)
    for _ in range(20):
        noise = [rng.normal(size=s) for s in SHAPES]
        opt.zero_grad()
        t_opt.zero_grad()
        for p, t, n in zip(ours, theirs, noise, strict=True):
            p.grad += p.value**3 + n  # gradient of sum(w^4)/4 plus noise: depends on the trajectory
            t.grad = t.detach() ** 3 + torch.tensor(n)
        opt.step()
        t_opt.step()
    for p, t in zip(ours, theirs, strict=True):
        assert np.max(np.abs(p.value - t.detach().numpy())) < 1e-10


@pytest.mark.parametrize("name", ["adam", "adamw"])
def test_float32_stays_float32_and_tracks_torch(name):
    rng = np.random.default_rng(0)
    init = rng.normal(size=(50, 4)).astype(np.float32)
    ours, theirs = Parameter(init.copy()), torch.tensor(init, requires_grad=True)
    opt, t_opt = get_optimizer(name, [ours]), getattr(torch.optim, TORCH[name])([theirs])
    for _ in range(5):
        grad = rng.normal(size=init.shape).astype(np.float32)
        opt.zero_grad()
        ours.grad += grad
        theirs.grad = torch.tensor(grad)
        opt.step()
        t_opt.step()
    assert ours.value.dtype == np.float32
    assert all(v.dtype == np.float32 for v in opt.state[0].values() if isinstance(v, np.ndarray))
    assert np.max(np.abs(ours.value - theirs.detach().numpy())) < 1e-6


def test_subclass_writes_only_update():
    class SignDescent(Optimizer):
        def _update(self, value, grad, state):
            state["n"] = state.get("n", 0) + 1
            value -= self.lr * np.sign(grad)

    params = [Parameter(np.zeros(3)), Parameter(np.ones((2, 2)))]
    params[0].grad[:] = [1.0, -2.0, 0.0]
    params[1].grad[:] = 3.0
    opt = SignDescent(params, lr=0.5)
    opt.step()
    opt.step()
    np.testing.assert_array_equal(params[0].value, [-1.0, 1.0, 0.0])
    np.testing.assert_array_equal(params[1].value, np.zeros((2, 2)))
    assert [s["n"] for s in opt.state] == [2, 2]
    opt.zero_grad()
    assert all(not p.grad.any() for p in params)


BAD = [
    ("sgd", {"lr": 0.0}, r"lr must be in \(0.0, inf\); received lr=0.0"),
    ("sgd", {"lr": 0.1, "momentum": -0.1}, "momentum must be"),
    ("sgd", {"lr": 0.1, "nesterov": True}, "nesterov momentum requires momentum > 0"),
    ("sgd", {"lr": 0.1, "weight_decay": -1.0}, "weight_decay must be"),
    ("rmsprop", {"alpha": 1.0}, r"alpha must be in \[0.0, 1.0\)"),
    ("rmsprop", {"eps": 0.0}, "eps must be"),
    ("adam", {"lr": -1e-3}, "lr must be"),
    (
        "adam",
        {"betas": (1.0, 0.999)},
        r"betas\[0\] must be in \[0.0, 1.0\); received betas\[0\]=1.0",
    ),
    ("adamw", {"betas": (0.9, -0.1)}, r"betas\[1\] must be"),
    ("adamw", {"eps": -1e-8}, "eps must be"),
]


@pytest.mark.parametrize("name,kwargs,message", BAD)
def test_bad_hyperparameters_raise(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_optimizer(name, [Parameter(np.zeros(2))], **kwargs)


def test_empty_params_and_registry_miss():
    with pytest.raises(ValueError, match="empty parameter list"):
        get_optimizer("adam", [])
    with pytest.raises(
        UserInputError, match="available: adam, adamw, rmsprop, sgd. Did you mean 'adam'"
    ):
        get_optimizer("adamm", [Parameter(np.zeros(2))])
    assert OPTIMIZERS.names() == sorted(TORCH)
