"""snn_mlp and snn_cnn beyond the shared model contract: activity accounting, the silent-layer hint, the
fused LIF against the step loop, and saved spiking models predicting identically."""

import numpy as np
import pytest
import torch

from brainnet.brain.activity import backbone_activities, evaluate_with_activity
from brainnet.brain.neurons import LIF
from brainnet.core.config import ImageTrainConfig, TrainConfig
from brainnet.core.errors import UserInputError
from brainnet.pipeline.models import MODELS

SMALL = {"hidden_sizes": (8,), "dropout": 0.0, "input_dropout": 0.0, "time_steps": 5}


def _snn_mlp(n_features=6, n_labels=3, **options):
    torch.manual_seed(0)
    cfg = TrainConfig(model="snn_mlp", **{**SMALL, **options})
    return MODELS.get("snn_mlp").build((n_features,), n_labels, cfg)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_the_fused_lif_equals_the_step_loop_forward_and_backward(reset):
    layer = LIF(beta=0.8, threshold=0.7, reset=reset)
    currents = torch.rand(9, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    a = currents.clone().requires_grad_()
    b = currents.clone().requires_grad_()
    r = torch.randn(9, 4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    fused, steps = layer(a), layer.run_steps(b)
    assert torch.equal(fused, steps) and 0 < fused.mean() < 1
    (fused * r).sum().backward()
    (steps * r).sum().backward()
    torch.testing.assert_close(a.grad, b.grad)


@torch.no_grad()
def test_sops_count_spikes_times_fan_out():
    model = _snn_mlp(encoder="rate").eval()
    x = torch.randn(10, 6)
    model(x)
    summary = backbone_activities(model)[0].summary()
    spikes_in = model.backbone.encode(x).sum()  # evaluation re-seeds: the same input spikes
    hidden = model.backbone.synapses[0](model.backbone.encode(x).flatten(0, 1)).view(5, 10, 8)
    spikes_hidden = model.backbone.neurons[0](hidden).sum()
    expected = (spikes_in * 8 + spikes_hidden * 3) / 10  # input -> 8 hidden, hidden -> 3 labels
    assert summary["sops_per_example"] == pytest.approx(float(expected))
    assert summary["ann_macs_per_example"] == 6 * 8 + 8 * 3
    assert summary["dense_macs_per_example"] == 0
    rate = float(spikes_hidden) / (10 * 5 * 8)
    assert summary["firing_rate"] == {"layer1": pytest.approx(rate)}


def test_direct_current_costs_dense_macs_once_and_population_compares_with_d_features():
    direct = _snn_mlp().eval()
    direct(torch.randn(4, 6))
    s = backbone_activities(direct)[0].summary()
    assert s["dense_macs_per_example"] == 6 * 8 and s["ann_macs_per_example"] == 6 * 8 + 8 * 3
    population = _snn_mlp(encoder="population").eval()
    population(torch.randn(4, 6))
    assert backbone_activities(population)[0].summary()["ann_macs_per_example"] == 6 * 8 + 8 * 3


def test_snn_cnn_records_every_spiking_layer():
    cfg = ImageTrainConfig(model="snn_cnn", time_steps=3)
    model = MODELS.get("snn_cnn").build((3, 16, 16), 2, cfg).eval()
    model(torch.randn(2, 3, 16, 16))
    summary = backbone_activities(model)[0].summary()
    assert list(summary["firing_rate"]) == ["conv1", "conv2", "dense"]
    assert 0 < summary["sops_per_example"] and summary["ann_macs_per_example"] > 0


def _data(n=80, d=6, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = np.stack([X[:, 0] > 0, X[:, 1] + X[:, 2] > 0, X[:, 3] < 0.5], axis=1).astype(np.uint8)
    return X, Y


def _estimator(**options):
    from brainnet.pipeline.estimator import MultiLabelMLP

    return MultiLabelMLP(
        model="snn_mlp", n_models=1, epochs=3, batch_size=16, **{**SMALL, **options}
    )


def test_a_saved_spiking_model_loads_and_predicts_identically(tmp_path):
    import brainnet

    X, Y = _data()
    model = _estimator(encoder="rate").fit(X, Y)
    model.save(tmp_path / "m")
    loaded = brainnet.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))
    np.testing.assert_array_equal(model.predict_proba(X), model.predict_proba(X))  # re-seeded
    assert any(n.startswith("spiking activity (last training epoch)") for n in model.notes_)
    result = evaluate_with_activity(loaded, X, Y)
    assert set(result["activity"]) == {
        "firing_rate",
        "silent_fraction",
        "sops_per_example",
        "dense_macs_per_example",
        "ann_macs_per_example",
        "sops_to_ann_macs",
        "ops_to_ann_macs",
    }
    assert result["micro_f1"] == loaded.evaluate(X, Y)["micro_f1"]


def test_a_silent_last_hidden_layer_is_reported_with_a_hint():
    X, Y = _data()
    model = _estimator(threshold=1e6).fit(X, Y)
    hint = [n for n in model.notes_ if "emitted no spike" in n]
    assert hint and "in 3 epoch(s)" in hint[0] and "lower --threshold" in hint[0]


def test_snn_cnn_refuses_tiny_images():
    with pytest.raises(UserInputError, match="snn_cnn needs image_size >= 8"):
        MODELS.get("snn_cnn").build((3, 4, 4), 2, ImageTrainConfig(model="snn_cnn"))


def _snn_cnn_float64(time_steps=4, **options):
    torch.manual_seed(0)
    cfg = ImageTrainConfig(model="snn_cnn", time_steps=time_steps, **options)
    model = MODELS.get("snn_cnn").build((3, 12, 12), 3, cfg).double()
    for bn in (
        m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d | torch.nn.BatchNorm1d)
    ):
        bn.running_mean.normal_(0, 0.3)  # away from the init so eval-mode BatchNorm does something
        bn.running_var.uniform_(0.5, 2.0)
    return model


def _per_step_snn_cnn(model, x):
    """snn_cnn's meaning written the slow way: every layer applied at each of the T steps on its own, the
    neurons advanced by ``step``, the leaky readout M[t] = beta M[t-1] + S[t] run as a recurrence."""
    b = model.backbone
    states, mem, means = [None, None, None], 0.0, 0.0
    for _ in range(b.time_steps):
        h = x  # direct current: the same input at every step
        for i, conv in enumerate((b.conv1, b.conv2)):
            spikes, states[i] = b.neurons[i].step(conv(h), states[i])
            h = b.pool(spikes)
        spikes, states[2] = b.neurons[2].step(b.fc(h.flatten(1)), states[2])
        mem = b.beta * mem + spikes
        means = means + mem / b.time_steps
    return model.head(means)


@pytest.mark.parametrize("surrogate", ["fast_sigmoid", "arctan", "triangular"])
def test_snn_cnn_equals_its_per_step_meaning_forward_and_gradients(surrogate):
    """The fast path (the first conv once for the T steps of direct current, time folded into the batch, the
    fused in-place LIF) against every layer run step by step, on the same weights, in eval mode (BatchNorm
    on running statistics, so per-step batches normalise alike)."""
    model = _snn_cnn_float64(surrogate=surrogate).eval()
    x = torch.randn(5, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    r = torch.randn(5, 3, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    fast = model(x)
    fast_grads = torch.autograd.grad((fast * r).sum(), list(model.parameters()))
    slow = _per_step_snn_cnn(model, x)
    slow_grads = torch.autograd.grad((slow * r).sum(), list(model.parameters()))
    spikes = model.backbone.activity.summary()["firing_rate"]
    assert all(0 < rate < 1 for rate in spikes.values())  # the comparison crosses real spikes
    torch.testing.assert_close(fast, slow, rtol=1e-6, atol=1e-6)
    assert any(float(g.abs().max()) > 0 for g in fast_grads)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("reset", ["subtract", "zero"])
def test_snn_cnn_training_step_equals_the_step_loop_neurons(monkeypatch, reset):
    """In training mode (BatchNorm over time and batch) the fused LIF gives the model the same logits and
    gradients as ``LIF.run_steps``, one autograd node per operation and step."""
    x = torch.randn(4, 3, 12, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(4))

    def run(model):
        out = model(x)
        return out, torch.autograd.grad(out.square().sum(), list(model.parameters()))

    fused = _snn_cnn_float64(time_steps=5).train()
    for n in fused.backbone.neurons:
        n.reset = reset
    fast, fast_grads = run(fused)
    monkeypatch.setattr(LIF, "forward", LIF.run_steps)
    stepped = _snn_cnn_float64(time_steps=5).train()
    for n in stepped.backbone.neurons:
        n.reset = reset
    slow, slow_grads = run(stepped)
    torch.testing.assert_close(fast, slow, rtol=1e-6, atol=1e-6)
    for a, b in zip(fast_grads, slow_grads, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-6)
