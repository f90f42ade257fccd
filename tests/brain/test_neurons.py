"""Every registered neuron: its docstring's equations step by step, gradients through the surrogate only, the
learnable decay and threshold."""

import pytest
import torch

from brainnet.brain.neurons import ALIF, LIF, ALIFState, LIFState, neuron
from brainnet.brain.registry import NEURONS
from brainnet.core.errors import UserInputError


def _currents(T=12, B=3, N=4, seed=0):
    return 1.2 * torch.rand(
        T, B, N, dtype=torch.float64, generator=torch.Generator().manual_seed(seed)
    )


def _reference(cur, beta, theta, reset, rho=None, beta_a=None):
    """The equations of the LIF / ALIF docstrings, written out with plain tensors."""
    U, S, b = torch.zeros_like(cur[0]), torch.zeros_like(cur[0]), torch.zeros_like(cur[0])
    out = []
    for t in range(len(cur)):
        th_prev = theta + b
        if rho is not None:
            b = rho * b + (1 - rho) * S * beta_a
        U = beta * U + cur[t] - th_prev * S if reset == "subtract" else beta * U * (1 - S) + cur[t]
        S = (U - (theta + b) >= 0).double()
        out.append(S)
    return torch.stack(out), U


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_lif_follows_its_equations(reset):
    cur = _currents()
    spikes = LIF(beta=0.8, threshold=1.0, reset=reset)(cur)
    expected, _ = _reference(cur, 0.8, 1.0, reset)
    assert torch.equal(spikes, expected) and 0 < spikes.mean() < 1


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_alif_follows_its_equations_and_adapts(reset):
    cur = _currents()
    alif = ALIF(beta=0.8, threshold=1.0, reset=reset, rho=0.9, beta_a=1.8)
    expected, _ = _reference(cur, 0.8, 1.0, reset, rho=0.9, beta_a=1.8)
    assert torch.equal(alif(cur), expected)
    assert (
        alif(cur).sum() < LIF(beta=0.8, threshold=1.0, reset=reset)(cur).sum()
    )  # adaptation fires less


def test_lif_first_spike_time_for_a_step_input():
    # U[t] = I (1 - beta^t) / (1 - beta) first reaches theta at t* = ceil(log(1 - theta (1-beta)/I) / log beta)
    beta, cur = 0.9, 0.25
    spikes = LIF(beta=beta, threshold=1.0)(torch.full((30, 1, 1), cur))
    t_star = torch.ceil(
        torch.log(torch.tensor(1 - 1.0 * (1 - beta) / cur)) / torch.log(torch.tensor(beta))
    )
    assert int(spikes[:, 0, 0].argmax()) + 1 == int(t_star)


@pytest.mark.parametrize("name", NEURONS.names())
def test_step_returns_spikes_and_an_explicit_state(name):
    cls = neuron(name)
    layer = cls()
    x = torch.randn(5, 7)
    spk, state = layer.step(x)  # from rest
    assert spk.shape == x.shape and isinstance(state, LIFState)
    assert torch.equal(state.spk, spk) and torch.equal(state.mem, x)  # U[1] = cur[1] from rest
    spk2, state2 = layer.step(x, state)
    assert state2 is not state and state2.mem.shape == x.shape
    if name == "alif":
        assert isinstance(state2, ALIFState)


@pytest.mark.parametrize("name", NEURONS.names())
def test_gradient_flows_through_the_surrogate_and_not_the_reset(name):
    layer = neuron(name)(beta=0.5, threshold=1.0, surrogate="triangular")
    cur = torch.tensor([[1.5]], dtype=torch.float64, requires_grad=True)  # spikes at t = 1
    spk1, state = layer.step(cur)
    _, state2 = layer.step(torch.zeros_like(cur), state)
    (grad,) = torch.autograd.grad(state2.mem.sum(), cur)
    # U[2] = beta U[1] - theta(.) S[1] with S[1] detached in the reset: dU[2]/dI = beta for LIF; for ALIF
    # the reset subtracts theta[1] = theta0 + b[1] with b[1] = 0, so the same
    assert grad.item() == pytest.approx(0.5)
    (g_spike,) = torch.autograd.grad(layer.step(cur)[0].sum(), cur)
    assert g_spike.item() == pytest.approx(
        1 - 0.5
    )  # triangular: 1 - |U - theta| at U - theta = 0.5


@pytest.mark.parametrize("name", NEURONS.names())
def test_learnable_beta_stays_in_the_unit_interval_and_learns(name):
    layer = neuron(name)(beta=0.9, learn_beta=True, learn_threshold=True, size=4)
    assert layer.beta.shape == (4,) and torch.allclose(layer.beta, torch.full((4,), 0.9))
    opt = torch.optim.SGD(layer.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        layer(_currents().float()).sum().backward()
        opt.step()
    assert ((layer.beta > 0) & (layer.beta < 1)).all() and not torch.allclose(
        layer.beta, torch.full((4,), 0.9)
    )
    assert not torch.allclose(layer.threshold, torch.ones(4))
    assert (layer.threshold >= 0.01).all()
    assert {n for n, _ in layer.named_parameters()} == {"beta_logit", "threshold_param"}


def test_fixed_parameters_are_not_parameters():
    assert list(LIF().parameters()) == []


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"beta": 1.0}, "beta must be a decay in"),
        ({"threshold": 0}, "threshold must be a positive"),
        ({"reset": "none"}, "reset must be 'subtract' or 'zero'"),
        ({"surrogate": "sigmoid"}, "unknown surrogate 'sigmoid'"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(UserInputError, match=match):
        LIF(**kwargs)


def test_an_unknown_neuron_names_the_known_ones():
    with pytest.raises(UserInputError, match="unknown neuron 'lfi'; available: alif, lif"):
        neuron("lfi")
