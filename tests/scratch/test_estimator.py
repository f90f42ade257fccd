"""The NumPy engine under the multi-label estimator contract: same API, thresholds, metrics and files as torch."""

import json

import numpy as np
import pytest
from sklearn.base import clone

import brainnet
from brainnet.core.decision.metrics import average_precision
from brainnet.core.errors import UserInputError
from brainnet.scratch import Sequential
from brainnet.scratch.estimator import ScratchMultiLabelMLP, build_network
from tests.conftest import FAST


@pytest.fixture(scope="module")
def fitted(toy_data):
    X, Y = toy_data
    return ScratchMultiLabelMLP(**FAST, seed=1).fit(X[:250], Y[:250])


def test_contract_shapes_thresholds_and_quality(fitted, toy_data):
    X, Y = toy_data
    P = fitted.predict_proba(X[250:])
    assert P.shape == (50, 4) and P.dtype == np.float64 and ((P > 0) & (P < 1)).all()
    assert fitted.thresholds_.thresholds.shape == (4,)
    expected = (P >= fitted.thresholds_.thresholds).astype(np.uint8)
    empty = expected.sum(axis=1) == 0  # at_least_one gives those rows their top label
    assert (fitted.predict(X[250:])[~empty] == expected[~empty]).all()
    assert average_precision(Y[250:], P) > 0.85  # it learned (a constant scorer gets ~0.5)
    assert isinstance(fitted.models_[0], Sequential)


def test_matches_the_torch_engine_on_the_same_problem(toy_data):
    X, Y = toy_data
    settings = {**FAST, "epochs": 40, "patience": 10, "seed": 0}
    scratch = ScratchMultiLabelMLP(**settings).fit(X[:250], Y[:250]).evaluate(X[250:], Y[250:])
    torch = brainnet.MultiLabelMLP(**settings).fit(X[:250], Y[:250]).evaluate(X[250:], Y[250:])
    assert abs(scratch["average_precision"] - torch["average_precision"]) < 0.05
    assert abs(scratch["micro_f1"] - torch["micro_f1"]) < 0.08


def test_ends_on_the_best_epoch_with_its_batchnorm_statistics(toy_data):
    """The restored network scores exactly what the best epoch scored on the validation rows (without
    calibration, which moves the ranking across labels that average precision reads)."""
    X, Y = toy_data
    fitted = ScratchMultiLabelMLP(**FAST, seed=1, calibration="none").fit(X[:250], Y[:250])
    best = fitted.training_[0]
    assert best["best_epoch"] <= best["epochs_run"]
    assert fitted.val_metrics_["average_precision"] == pytest.approx(
        best["best_val_average_precision"], abs=1e-6
    )


def test_same_seed_same_numbers(toy_data):
    X, Y = toy_data
    a = ScratchMultiLabelMLP(**FAST, seed=3).fit(X[:200], Y[:200]).predict_proba(X[200:])
    b = ScratchMultiLabelMLP(**FAST, seed=3).fit(X[:200], Y[:200]).predict_proba(X[200:])
    assert np.array_equal(a, b)


def test_save_load_through_brainnet_load(fitted, toy_data, tmp_path):
    X, _ = toy_data
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["kind"] == "scratch_multilabel_mlp" and meta["engine"] == "scratch"
    loaded = brainnet.load(tmp_path / "m")
    assert type(loaded) is ScratchMultiLabelMLP
    assert np.array_equal(loaded.predict_proba(X[250:]), fitted.predict_proba(X[250:]))
    assert np.array_equal(loaded.thresholds_.thresholds, fitted.thresholds_.thresholds)


def test_cross_fitting_and_checkpoint(toy_data, tmp_path):
    X, Y = toy_data
    est = ScratchMultiLabelMLP(**{**FAST, "n_models": 3, "epochs": 5}).fit(
        X, Y, checkpoint=tmp_path / "ckpt"
    )
    assert len(est.models_) == 3 and est.n_val_ == len(X)  # out-of-fold: every row once
    ckpt = brainnet.load(tmp_path / "ckpt")  # the last checkpoint is a loadable model
    assert ckpt.status_ == "checkpoint" and ckpt.predict_proba(X[:5]).shape == (5, 4)


def test_sklearn_clone_and_params():
    est = ScratchMultiLabelMLP(hidden_sizes=(8,), lr=0.01)
    assert clone(est).get_params() == est.get_params()
    assert est.get_params()["hidden_sizes"] == (8,)


@pytest.mark.parametrize(
    "params,message",
    [
        (
            {"activation": "gelu"},
            r"no activation 'gelu'; available: leaky_relu, relu, sigmoid, tanh",
        ),
        ({"device": "cuda"}, r"runs on the CPU with NumPy; received device='cuda'"),
        ({"dropout": 1.5}, r"dropout must be a probability"),
        ({"model": "resnet18"}, r"trains the 'mlp' model on tables; received model 'resnet18'"),
    ],
)
def test_settings_the_engine_cannot_honour_are_clear_errors(toy_data, params, message):
    with pytest.raises(UserInputError, match=message):
        ScratchMultiLabelMLP(**FAST, **params).fit(*toy_data)


def test_network_mirrors_the_torch_mlp_layout():
    from brainnet.core.config import TrainConfig

    cfg = TrainConfig(hidden_sizes=(16, 8), input_dropout=0.1)
    net = build_network(5, 3, cfg, np.random.default_rng(0))
    names = [type(layer).__name__ for layer in net.layers]
    assert names == ["Dropout"] + ["Dense", "BatchNorm", "ReLU", "Dropout"] * 2 + ["Dense"]
    assert net.predict(np.zeros((2, 5), np.float32)).shape == (2, 3)


def test_fit_network_checkpoints_the_best_epoch_with_its_info(toy_data):
    from brainnet.core.config import TrainConfig
    from brainnet.scratch.estimator import fit_network

    X, Y = toy_data
    Z = ((X - X.mean(0)) / X.std(0)).astype(np.float32)
    cfg = TrainConfig(**{**FAST, "epochs": 30, "patience": 3})
    saved = []
    result = fit_network(
        cfg,
        0,
        Z[:200],
        Y[:200],
        Z[200:],
        Y[200:],
        verbose=False,
        save=lambda m, i: saved.append(i),
        desc="training",
    )
    best = result.history[result.best_epoch - 1]
    assert result.stop_reason == "no improvement of val_average_precision for 3 epochs"
    assert result.epochs_run == len(result.history) == result.best_epoch + 3
    info = saved[-1]  # the first save is immediate; a later one too soon is saved at fit end
    assert info["epoch"] == result.best_epoch and info["monitor"] == "val_average_precision"
    assert info["value"] == best["val_average_precision"] and info["time"].endswith("+00:00")
    P = 1 / (1 + np.exp(-result.model.predict(Z[200:]).astype(np.float64)))
    assert average_precision(Y[200:], P) == pytest.approx(best["val_average_precision"], abs=1e-12)
