"""hebbian_net: a feature layer that learns without labels through the core loop, then the ordinary estimator."""

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainnet.brain.hebbian_net import (  # noqa: E402
    STDP,
    CompetitiveHebbian,
    CompetitiveSTDP,
    NormaliseRows,
    PlasticLoop,
    build_hebbian_net,
    on_off,
)
from brainnet.brain.plasticity import stdp_window  # noqa: E402
from brainnet.cli.main import main  # noqa: E402
from brainnet.core.config import TrainConfig  # noqa: E402
from brainnet.core.errors import UserInputError  # noqa: E402
from brainnet.core.training import Callback  # noqa: E402


def _digits(n=400):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X - X.mean(0)) / np.where(X.std(0) > 0, X.std(0), 1.0)
    return X[:n].astype(np.float32), y[:n]


def _net(n_features=64, n_labels=10, seed=0, **options):
    torch.manual_seed(seed)
    cfg = TrainConfig(model="hebbian_net", hidden_sizes=(64,), winners=8, **options)
    return build_hebbian_net((n_features,), n_labels, cfg)


@pytest.mark.parametrize("rule", ["hebbian", "oja", "stdp"])
def test_the_unsupervised_phase_covers_the_inputs_better_and_keeps_unit_rows(rule):
    X, _ = _digits(200)
    net = _net(plastic_epochs=3, plastic_rule=rule)
    start = net.features.weight.clone()
    notes = net.fit_unsupervised(X, seed=0)
    r = on_off(torch.from_numpy(X))
    # the quantisation error 1 - max_j cos(r, W_j): how far each input is from its best unit
    errors = [float((1 - (r @ W.T).max(1).values).mean()) for W in (start, net.features.weight)]
    assert errors[1] < 0.9 * errors[0]
    torch.testing.assert_close(net.features.weight.norm(dim=1), torch.ones(64))
    assert f"3 unsupervised epoch(s) of the {rule} rule on 200 rows without labels" in notes[0]


def test_the_rules_are_callbacks_of_the_core_loop():
    X, _ = _digits(96)
    net = _net()
    seen = []

    class Count(Callback):
        def on_batch_end(self, loop, loss):
            seen.append((loop.pre.shape, loop.drive.shape, loop.progress))

    rules = [CompetitiveHebbian(0.5, 7, 0.4), NormaliseRows(), Count()]
    state = PlasticLoop(net.features, 2, rules, seed=0).fit(torch.from_numpy(X))
    assert state.epoch == 2 and len(state.history) == 2
    assert len(seen) == 6 and seen[0][:2] == ((32, 128), (32, 64))  # 96 rows / 32, twice
    assert [p for *_, p in seen] == sorted(p for *_, p in seen) and seen[-1][2] < 1


def test_the_plastic_weights_are_buffers_and_only_the_head_trains():
    net = _net()
    assert [n for n, _ in net.named_parameters()] == ["head.weight", "head.bias"]
    assert "features.weight" in net.state_dict()
    x = torch.randn(5, 64)
    counts = net.forward_features(x)
    assert counts.shape == (5, 64) and not counts.requires_grad
    assert int((counts > 0).sum(1).max()) <= 8  # k-WTA: at most k units spike per input
    assert float(counts.min()) >= 0 and float(counts.max()) <= 1


def test_same_seed_same_weights():
    X, _ = _digits(128)
    a, b = _net(), _net()
    a.fit_unsupervised(X, seed=3)
    b.fit_unsupervised(X, seed=3)
    assert torch.equal(a.features.weight, b.features.weight)


@pytest.mark.parametrize(
    "options, message",
    [
        ({"hidden_sizes": (64, 32)}, "hidden_sizes must be one width"),
        ({"hidden_sizes": (8,), "winners": 8}, r"winners must be in \[1, 7\]"),
    ],
)
def test_shapes_it_cannot_build_are_user_errors(options, message):
    cfg = TrainConfig(model="hebbian_net", **{"winners": 4, **options})
    with pytest.raises(UserInputError, match=message):
        build_hebbian_net((10,), 2, cfg)


@pytest.mark.parametrize(
    "field, value", [("winners", 0), ("plastic_epochs", 0), ("plastic_lr", 0.0)]
)
def test_config_ranges(field, value):
    with pytest.raises(UserInputError, match=field):
        TrainConfig(**{field: value})


def test_estimator_trains_saves_and_reloads_the_plastic_weights(tmp_path):
    import brainnet

    X, y = _digits(200)
    Y = np.eye(10)[y]
    options = dict(hidden_sizes=(64,), winners=8, epochs=2, lr=0.01, plastic_epochs=1)
    est = brainnet.MultiLabelMLP(model="hebbian_net", n_models=1, device="cpu", **options)
    est.fit(X[:160], Y[:160])
    torch.manual_seed(0)
    fresh = _net().features.weight
    learned = est.models_[0].features.weight
    assert not torch.allclose(learned, fresh)  # the unsupervised phase ran before the readout
    est.save(tmp_path / "m")
    loaded = brainnet.load(tmp_path / "m")
    assert torch.equal(loaded.models_[0].features.weight, learned)
    np.testing.assert_array_equal(loaded.predict_proba(X[160:]), est.predict_proba(X[160:]))
    assert json.loads((tmp_path / "m" / "brainnet.json").read_text())["config"]["winners"] == 8


def test_cli_trains_evaluates_and_refuses_bad_winners(tmp_path, capsys):
    X, y = _digits(160)
    rows = [",".join([f"x{j}" for j in range(64)] + ["a", "b", "c"])]
    rows += [
        ",".join([f"{v:.4f}" for v in x] + [str(int(y_ % k == 0)) for k in (2, 3, 5)])
        for x, y_ in zip(X, y, strict=True)
    ]
    data = tmp_path / "digits.csv"
    data.write_text("\n".join(rows) + "\n")
    argv = ["train", str(data), "--label-columns", "3", "--model", "hebbian_net", "--quiet"]
    fast = ["--n-models", "1", "--hidden-sizes", "32", "--winners", "8", "--epochs", "3"]
    out = ["--out", str(tmp_path / "m"), "--json"]
    assert main([*argv, *fast, *out, "--plastic-epochs", "1"]) == 0
    val_metrics = json.loads(capsys.readouterr().out)
    assert 0 < val_metrics["average_precision"] <= 1
    assert main(["evaluate", str(tmp_path / "m"), str(data), "--json"]) == 0
    assert main([*argv, *fast, *out, "--force", "--winners", "32"]) == 2
    assert "winners must be in [1, 31]" in capsys.readouterr().err
    mlp = ["train", str(data), "--label-columns", "3", "--out", str(tmp_path / "m2"), "--quiet"]
    assert main([*mlp, "--winners", "8"]) == 2
    assert "--winners apply to hebbian_net, and --model is mlp" in capsys.readouterr().err


def _trains(T, B, n, spikes):
    """(T, B, n) zeros with a 1 at each (t, b, i) of ``spikes``."""
    out = torch.zeros(T, B, n)
    for t, b, i in spikes:
        out[t, b, i] = 1.0
    return out


def test_stdp_potentiates_pre_before_post_and_depresses_post_before_pre():
    """Unit 0 fires at step 3; input 0 fired two steps before it, input 1 two steps after, input 2 never:
    the weight change is the pair window's, A_plus exp(-2 / tau) and -A_minus exp(-2 / tau), and 0."""
    net = _net(n_features=2, plastic_rule="stdp")  # 4 ON/OFF inputs, 64 units
    rule = CompetitiveSTDP.make(1.0, net.features, seed=0)
    pre = _trains(8, 1, 4, [(1, 0, 0), (5, 0, 1)])
    post = _trains(8, 1, 64, [(3, 0, 0)])
    dw = rule.weight_change(pre, post)
    assert dw[0, 0] > 0 > dw[0, 1] and dw[0, 2] == 0 and float(dw[1:].abs().sum()) == 0
    assert float(dw[0, 0]) == pytest.approx(stdp_window(2, **STDP))
    assert float(dw[0, 1]) == pytest.approx(stdp_window(-2, **STDP))


def test_the_stdp_callback_moves_the_winner_by_the_spike_timing(monkeypatch):
    """Through the plastic loop: the callback adds eta dW / (B T) to the layer's weights, so the synapse whose
    input led the winner's spikes grows and the one that followed them shrinks."""
    X = np.zeros((4, 2), dtype=np.float32)
    X[:, 0] = 1.0
    net = _net(n_features=2, plastic_rule="stdp")
    T = net.features.time_steps
    pre = _trains(T, 4, 4, [(t, b, i) for b in range(4) for t, i in ((1, 0), (4, 1))])
    post = _trains(T, 4, 64, [(2, b, 5) for b in range(4)])
    rule = CompetitiveSTDP.make(0.5, net.features, seed=0)
    monkeypatch.setattr(rule, "spike_trains", lambda r, a, w: (pre, post))
    before = net.features.weight.clone()
    PlasticLoop(net.features, 1, [rule], seed=0).fit(torch.from_numpy(X))
    change = net.features.weight - before
    expected = 0.5 * rule.weight_change(pre, post) / (4 * T)  # one batch, progress 0: eta = lr
    torch.testing.assert_close(change, expected)
    assert change[5, 0] > 0 > change[5, 1]


def test_stdp_drives_only_the_winner_with_its_input_spikes():
    net = _net(plastic_rule="stdp")
    X, _ = _digits(16)
    r, a = net.features.drive(torch.from_numpy(X))
    rule = CompetitiveSTDP.make(0.5, net.features, seed=0)
    pre, post = rule.spike_trains(r, a, net.features.weight)
    assert pre.shape == (net.features.time_steps, 16, 128) and post.shape[2] == 64
    fired = post.sum(0) > 0  # (B, H)
    assert fired.any(1).all() and (fired.sum(1) <= 1).all()  # every row: its winner, and only it
    assert torch.equal(fired.float().argmax(1), a.argmax(1))


def _csv(tmp_path):
    X, y = _digits(60)
    rows = [",".join([f"x{j}" for j in range(64)] + ["a", "b"])]
    rows += [
        ",".join([f"{v:.4f}" for v in x] + [str(int(y_ % 2 == 0)), str(int(y_ < 5))])
        for x, y_ in zip(X, y, strict=True)
    ]
    data = tmp_path / "digits.csv"
    data.write_text("\n".join(rows) + "\n")
    return ["train", str(data), "--label-columns", "2", "--quiet", "--out", str(tmp_path / "m")]


@pytest.mark.parametrize(
    "options, message",
    [
        (
            ["--model", "hebbian_net", "--plastic-rule", "stdpp"],
            "unknown plastic rule 'stdpp'; available: hebbian, oja, stdp",
        ),
        (["--plastic-rule", "stdp"], "--plastic-rule apply to hebbian_net, and --model is mlp"),
        (["--model", "hebbian_net", "--neuron", "alif"], "--neuron do not apply to hebbian_net"),
        (["--model", "hebbian_net", "--time-steps", "0"], "time_steps must be"),
        (["--model", "hebbian_net", "--beta", "1.5"], "beta must be"),
    ],
)
def test_cli_refuses_bad_plastic_and_spiking_options(tmp_path, capsys, options, message):
    assert main([*_csv(tmp_path), *options]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_cli_and_python_api_take_the_rule_and_the_lif_options(tmp_path, capsys):
    import brainnet

    fast = ["--n-models", "1", "--hidden-sizes", "32", "--winners", "4", "--epochs", "2"]
    lif = ["--time-steps", "6", "--beta", "0.8", "--threshold", "0.5", "--plastic-epochs", "1"]
    argv = [*_csv(tmp_path), "--model", "hebbian_net", *fast, *lif, "--plastic-rule", "stdp"]
    assert main(argv) == 0
    config = json.loads((tmp_path / "m" / "brainnet.json").read_text())["config"]
    assert (config["plastic_rule"], config["time_steps"], config["beta"]) == ("stdp", 6, 0.8)
    loaded = brainnet.load(tmp_path / "m").models_[0]
    assert loaded.plastic_rule == "stdp" and loaded.features.time_steps == 6
    assert loaded.features.neuron.beta == 0.8 and loaded.features.neuron.threshold == 0.5
    X, y = _digits(40)
    est = brainnet.MultiLabelMLP(model="hebbian_net", n_models=1, plastic_rule="hebbbian")
    with pytest.raises(UserInputError, match="unknown plastic rule 'hebbbian'.*hebbian, oja, stdp"):
        est.fit(X, np.eye(10)[y])
    with pytest.raises(UserInputError, match="plastic_rule"):
        TrainConfig(plastic_rule=" ")
