"""The NumPy LIF layer: BPTT against finite differences of the surrogate's smooth step, the spiking forward
against its equations, and forward and gradients against the torch ``snn_mlp`` on the same weights."""

import numpy as np
import pytest
import torch

from brainnet.core.config import TrainConfig
from brainnet.pipeline.models import MODELS
from brainnet.scratch import LIF, Dense, gradcheck


@pytest.mark.parametrize("reset", ["subtract", "zero"])
@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan"])
@pytest.mark.parametrize("sequence", [False, True], ids=["current", "sequence"])
@pytest.mark.parametrize("return_sequences", [False, True])
def test_bptt_passes_gradcheck_against_the_surrogate_definition(
    reset, surrogate, sequence, return_sequences
):
    layer = LIF(
        3,
        5,
        beta=0.7,
        threshold=0.4,
        reset=reset,
        surrogate=surrogate,
        return_sequences=return_sequences,
        smooth=True,
        rng=0,
    )
    x = np.random.default_rng(1).normal(size=(2, 5, 4) if sequence else (2, 4))
    result = gradcheck(layer, x)
    assert result.ok, result


def test_without_the_surrogate_finite_differences_see_no_gradient():
    # why gradcheck needs smooth=True: the spiking forward is piecewise constant in the weights
    layer = LIF(3, 5, threshold=0.4, rng=0)
    x = np.random.default_rng(1).normal(size=(2, 4))
    assert not gradcheck(layer, x).ok


def test_spikes_follow_the_lif_equations():
    layer = LIF(4, 9, beta=0.8, threshold=0.5, return_sequences=True, dtype=np.float64, rng=0)
    x = np.random.default_rng(2).normal(size=(3, 5))
    S = layer.forward(x)
    current = x @ layer.weight.value + layer.bias.value
    u, s = np.zeros((3, 4)), np.zeros((3, 4))
    for t in range(9):
        u = 0.8 * u + current - 0.5 * s
        s = (u >= 0.5).astype(float)
        assert np.array_equal(S[:, t], s)
    assert 0 < S.mean() < 1


def _pair(T=8, hidden=6, n_labels=3, n_features=4, reset="subtract"):
    torch.manual_seed(0)
    cfg = TrainConfig(
        model="snn_mlp",
        hidden_sizes=(hidden,),
        batch_norm=False,
        dropout=0.0,
        input_dropout=0.0,
        time_steps=T,
        beta=0.8,
        threshold=0.5,
    )
    net = MODELS.get("snn_mlp").build((n_features,), n_labels, cfg).double()
    linear = net.backbone.synapses[0][0]
    lif = LIF(
        hidden, T, beta=0.8, threshold=0.5, reset=reset, dtype=np.float64, in_features=n_features
    )
    head = Dense(n_labels, dtype=np.float64, in_features=hidden)
    lif.weight.value = linear.weight.detach().numpy().T.copy()
    lif.bias.value = linear.bias.detach().numpy().copy()
    head.weight.value = net.head.weight.detach().numpy().T.copy()
    head.bias.value = net.head.bias.detach().numpy().copy()
    return net, lif, head


def test_matches_the_torch_snn_mlp_forward_and_gradients():
    net, lif, head = _pair()
    x = np.random.default_rng(3).normal(size=(5, 4)) * 2
    r = np.random.default_rng(4).normal(size=(5, 3))
    xt = torch.tensor(x, requires_grad=True)
    logits_t = net(xt)
    (logits_t * torch.tensor(r)).sum().backward()
    logits = head.forward(lif.forward(x))
    np.testing.assert_allclose(logits, logits_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    assert 0 < lif.S.mean() < 1  # some neurons fire, some do not: the surrogate matters
    dx = lif.backward(head.backward(r))
    linear = net.backbone.synapses[0][0]
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(
        lif.weight.grad, linear.weight.grad.numpy().T, rtol=1e-10, atol=1e-12
    )
    np.testing.assert_allclose(lif.bias.grad, linear.bias.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(head.weight.grad, net.head.weight.grad.numpy().T, rtol=1e-10)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"beta": 1.5}, "beta in \\(0, 1\\)"),
        ({"reset": "none"}, "reset 'subtract' or 'zero'"),
        ({"surrogate": "triangle"}, "surrogate in"),
        ({"time_steps": 0}, "time_steps >= 1"),
    ],
)
def test_bad_settings_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        LIF(3, **kwargs)


def test_a_wrong_input_width_is_named():
    layer = LIF(3, 4, in_features=5)
    with pytest.raises(
        ValueError, match=r"expected \(batch, 5\) or \(batch, T, 5\); received \(2, 4\)"
    ):
        layer.forward(np.zeros((2, 4)))
