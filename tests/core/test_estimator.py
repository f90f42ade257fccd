"""The one estimator with a tiny NumPy engine: fit plans, the decision layer, checkpoints and the model directory
do not depend on the engine or the data kind (the torch and scratch presets are tested in their own folders)."""

import json

import numpy as np
import pytest

from brainnet.core.config import TrainConfig
from brainnet.core.errors import UserInputError
from brainnet.core.estimator import Engine, FitResult, MultiLabelEstimator, Predictions
from brainnet.core.model_dir import read_model_meta
from brainnet.core.recipe import TableRecipe


class RidgeEngine(Engine):
    """Least squares on the standardised features, one "epoch"; checkpoints once with an info record."""

    name = "ridge"
    calls: list = []

    def fit_one(self, cfg, seed, recipe, train, val, *, verbose, save, desc):
        Z = np.hstack([train.X, np.ones((len(train.X), 1))])
        W = np.linalg.solve(Z.T @ Z + np.eye(Z.shape[1]), Z.T @ (2.0 * train.Y - 1.0))
        RidgeEngine.calls.append((len(train.X), len(val.X)))
        if save is not None:
            save(
                W, {"epoch": 1, "monitor": "val_loss", "value": 0.5, "time": "2026-12-01T00:00:00Z"}
            )
        return FitResult(W, [{"epoch": 1.0, "val_loss": 0.5}], 1, 1, "one solve")

    def predict(self, model, cfg, recipe, data):
        Z = np.hstack([data.X, np.ones((len(data.X), 1))])
        return Predictions(1 / (1 + np.exp(-4 * Z @ model)), np.arange(len(Z)))

    def tensors_of(self, model):
        return {"W": model}

    def model_from(self, cfg, recipe, n_labels, tensors):
        return tensors["W"]


class RidgeClassifier(MultiLabelEstimator):
    config_class = TrainConfig
    recipe_class = TableRecipe
    engine_class = RidgeEngine
    model_kind = "test_ridge"


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 6))
    Y = (X[:, :3] + 0.3 * rng.normal(size=(120, 3)) > 0).astype(np.uint8)
    return X, Y


@pytest.mark.parametrize(
    "params,validation,fits,description",
    [
        ({"n_models": 1}, None, [(96, 24)], "stratified hold-out"),
        ({"n_models": 4}, None, [(90, 30)] * 4, "4-fold stratified cross-fitting"),
        ({"n_models": 2}, "given", [(120, 30)] * 2, "given validation set (30 rows)"),
    ],
)
def test_the_fit_plan_is_the_estimators(data, params, validation, fits, description):
    X, Y = data
    RidgeEngine.calls = []
    val = (X[:30], Y[:30]) if validation else None
    est = RidgeClassifier(**params).fit(X, Y, validation=val)
    assert RidgeEngine.calls == fits and description in est.validation_
    assert len(est.models_) == len(fits) and est.n_val_ == (
        30 if validation else 120 if len(fits) > 1 else 24
    )
    P = est.predict_proba(X)
    assert P.shape == (120, 3) and est.evaluate(X, Y)["micro_f1"] > 0.8


def test_checkpoints_record_the_epoch_the_monitored_value_and_the_time(data, tmp_path):
    X, Y = data
    RidgeClassifier(n_models=2).fit(X, Y, checkpoint=tmp_path / "ckpt")
    meta = read_model_meta(tmp_path / "ckpt")
    assert meta["status"] == "checkpoint"
    assert meta["checkpoint"] == {
        "epoch": 1,
        "monitor": "val_loss",
        "value": 0.5,
        "time": "2026-12-01T00:00:00Z",
        "model": 2,
        "of_models": 2,
    }


def test_save_load_round_trip_through_any_engine(data, tmp_path):
    X, Y = data
    est = RidgeClassifier(n_models=1).fit(X, Y, feature_names=[f"x{i}" for i in range(6)])
    est.save(tmp_path / "m")
    again = RidgeClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(X), est.predict_proba(X))
    assert again.feature_names_ == [f"x{i}" for i in range(6)] and again.n_features_in_ == 6
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["engine"] == "ridge" and meta["n_models"] == 1 and "checkpoint" not in meta


def test_non_finite_prediction_inputs_are_named_by_column_and_row(data):
    X, Y = data
    est = RidgeClassifier(n_models=1).fit(X, Y, feature_names=list("abcdef"))
    bad = X[:5].copy()
    bad[3, 2] = -np.inf
    with pytest.raises(
        UserInputError, match=r"column 'c' holds the infinite value '-inf' at row 4"
    ):
        est.predict_proba(bad)


def test_per_epoch_history_is_saved_compactly_and_old_models_load_without_it(data, tmp_path):
    X, Y = data
    est = RidgeClassifier(n_models=2).fit(X, Y)
    est.history_[1] = [{"epoch": 1.0, "train_loss": 0.1234567891, "val_loss": float("nan")}]
    est.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["history"] == [{"val_loss": [0.5]}, {"train_loss": [0.123457], "val_loss": [None]}]
    again = RidgeClassifier.load(tmp_path / "m")
    assert again.history_[0] == [{"epoch": 1.0, "val_loss": 0.5}]
    assert again.history_[1][0]["train_loss"] == 0.123457 and np.isnan(
        again.history_[1][0]["val_loss"]
    )
    del meta["history"]  # a model saved before the history was kept
    from brainnet.core.model_dir import save_model_dir

    tensors = {"model0.W": again.models_[0], "model1.W": again.models_[1]}
    for key in ("format", "format_version", "brainnet_version", "weights_file", "weights_sha256"):
        meta.pop(key)
    save_model_dir(tmp_path / "old", meta, tensors)
    assert RidgeClassifier.load(tmp_path / "old").history_ == []


def test_calibration_is_fitted_on_validation_probabilities_and_saved(data, tmp_path):
    """The ridge engine's sigmoid(4 z) is over-confident: calibration lowers held-out log-loss; 'none' gives the
    engine's own probabilities; the thresholds are tuned on the calibrated ones; a saved model keeps it."""
    from brainnet.core.decision.calibration import log_loss

    rng = np.random.default_rng(1)
    X = rng.normal(size=(600, 6))
    Y = (X[:, :3] + 1.5 * rng.normal(size=(600, 3)) > 0).astype(np.uint8)
    raw = RidgeClassifier(n_models=2, calibration="none").fit(X[:400], Y[:400])
    cal = RidgeClassifier(n_models=2, calibration="temperature").fit(X[:400], Y[:400])
    assert raw.calibration_.method == "none" and cal.calibration_.method == "temperature"
    data = raw.recipe_.encode(raw.recipe_.inputs(X[400:], raw.label_names_))
    engine = RidgeEngine()
    own = np.mean([engine.predict(m, raw.config, raw.recipe_, data).P for m in raw.models_], axis=0)
    np.testing.assert_array_equal(raw.predict_proba(X[400:]), own)  # off: the identity
    P = cal.predict_proba(X[400:])
    assert log_loss(Y[400:], P) < log_loss(Y[400:], own) - 0.01
    report = cal.calibration_.report
    assert report["log_loss_after"] < report["log_loss_before"]
    assert report["ece_macro_after"] < report["ece_macro_before"]
    np.testing.assert_array_equal(cal.predict(X[400:]), cal.decide(P))
    assert 0.2 < cal.thresholds_.global_threshold < 0.8  # tuned on the calibrated scale
    cal.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["calibration"]["method"] == "temperature" and len(meta["calibration"]["a"]) == 3
    again = RidgeClassifier.load(tmp_path / "m")
    np.testing.assert_array_equal(again.predict_proba(X[400:]), P)
