import json

import numpy as np
import pytest
from sklearn.base import clone

from brainnet.core.decision.metrics import METRIC_KEYS
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.pipeline.estimator import MultiLabelMLP, load
from tests.conftest import FAST


@pytest.fixture(scope="module")
def fitted(toy_data):
    X, Y = toy_data
    return MultiLabelMLP(**FAST, seed=1).fit(X[:250], Y[:250])


def test_sklearn_contract_params_and_clone():
    est = MultiLabelMLP(hidden_sizes=(8,), lr=0.01)
    params = est.get_params()
    assert (
        params["hidden_sizes"] == (8,)
        and params["lr"] == 0.01
        and params["threshold_objective"] == "micro_f1"
    )
    twin = clone(est)
    assert twin is not est and twin.get_params() == params
    assert est.set_params(dropout=0.1) is est and est.dropout == 0.1
    with pytest.raises(TypeError, match="unexpected keyword"):
        MultiLabelMLP(dropuot=0.1)
    assert "hidden_sizes=(8,)" in repr(est)


def test_validation_happens_in_fit_not_init(toy_data):
    est = MultiLabelMLP(dropout=2.0)  # stored as given
    with pytest.raises(UserInputError, match=r"dropout must be a probability in \[0, 1\)"):
        est.fit(*toy_data)


def test_fit_predict_shapes_and_learned_state(fitted, toy_data):
    X, Y = toy_data
    P = fitted.predict_proba(X[250:])
    assert P.shape == (50, 4) and P.dtype == np.float64 and np.all((P >= 0) & (P <= 1))
    Yhat = fitted.predict(X[250:])
    assert Yhat.shape == (50, 4) and set(np.unique(Yhat)) <= {0, 1}
    np.testing.assert_array_equal(Yhat, (P >= fitted.thresholds_.thresholds).astype(np.uint8))
    assert fitted.label_names_ == ["l0", "l1", "l2", "l3"] and fitted.n_features_in_ == 12
    assert fitted.n_train_ + fitted.n_val_ == 250
    result = fitted.evaluate(X[250:], Y[250:])
    assert list(result)[: len(METRIC_KEYS)] == list(METRIC_KEYS)
    assert result["micro_f1"] > 0.6  # a learnable problem is learned


def test_same_seed_same_numbers(toy_data, fitted):
    X, Y = toy_data
    again = MultiLabelMLP(**FAST, seed=1).fit(X[:250], Y[:250])
    np.testing.assert_array_equal(again.predict_proba(X[250:]), fitted.predict_proba(X[250:]))
    np.testing.assert_array_equal(again.thresholds_.thresholds, fitted.thresholds_.thresholds)


def test_save_load_round_trip_without_pickle(fitted, toy_data, tmp_path):
    X, _ = toy_data
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    for key in (
        "format_version",
        "brainnet_version",
        "config",
        "feature_names",
        "label_names",
        "thresholds",
        "validation_metrics",
        "seed",
        "preprocessing",
        "training",
    ):
        assert key in meta
    assert meta["thresholds"]["objective"] == "micro_f1"
    assert len(meta["preprocessing"]["medians"]) == 12 and meta["training"][0]["best_epoch"] >= 1
    loaded = load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict_proba(X), fitted.predict_proba(X))
    np.testing.assert_array_equal(loaded.predict(X), fitted.predict(X))
    assert loaded.get_params() == fitted.get_params()
    with pytest.raises(UserInputError, match="--force"):
        fitted.save(tmp_path / "m")


def test_load_rejects_a_damaged_model(fitted, tmp_path):
    fitted.save(tmp_path / "m")
    meta_path = tmp_path / "m" / "brainnet.json"
    meta = json.loads(meta_path.read_text())
    del meta["label_names"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="damaged brainnet model"):
        load(tmp_path / "m")


def test_ensemble_averages_models(toy_data):
    X, Y = toy_data
    ens = MultiLabelMLP(**{**FAST, "n_models": 2}, seed=1).fit(X[:250], Y[:250])
    assert len(ens.models_) == 2 and "2-fold stratified cross-fitting" in ens.validation_
    assert ens.n_val_ == 250  # every row has an out-of-fold probability for threshold tuning
    import torch

    from brainnet.pipeline.trainer import predict_logits

    Z = ens.scaler_.transform(X[250:], ens.feature_names_)
    manual = np.mean(
        [torch.sigmoid(predict_logits(m, Z, "cpu")).numpy() for m in ens.models_], axis=0
    )
    # the members' mean, then the one calibration fitted on the out-of-fold probabilities
    np.testing.assert_allclose(
        ens.predict_proba(X[250:]), ens.calibration_.apply(manual), rtol=1e-6
    )
    first = MultiLabelMLP(**FAST, seed=1).fit(X[:250], Y[:250])
    assert not np.allclose(first.predict_proba(X[250:]), ens.predict_proba(X[250:]))


def test_pos_weight_auto_and_at_least_one(toy_data):
    X, Y = toy_data
    est = MultiLabelMLP(**FAST, pos_weight="auto", at_least_one=True).fit(X[:250], Y[:250])
    assert est.predict(X[250:]).sum(axis=1).min() >= 1


def test_checkpoint_is_a_loadable_model(toy_data, tmp_path):
    X, Y = toy_data
    est = MultiLabelMLP(**FAST).fit(X[:250], Y[:250], checkpoint=tmp_path / "ckpt")
    ckpt = load(tmp_path / "ckpt")
    assert ckpt.status_ == "checkpoint" and ckpt.predict_proba(X[:5]).shape == (5, 4)
    assert est.thresholds_.objective == "micro_f1"


@pytest.mark.parametrize(
    "X,Y,message",
    [
        (np.ones((5, 2)), np.ones(5), "Y must be 2-D multi-hot"),
        (np.ones((5, 2)), np.full((5, 2), 2), "labels must be 0 or 1; found 2"),
        (np.ones((5, 2)), np.ones((4, 2)), "same number of rows"),
        (np.ones((1, 2)), np.ones((1, 2)), "at least 2 rows"),
        (np.ones(5), np.ones((5, 2)), "X must be 2-D"),
        (
            np.full((5, 2), np.inf),
            np.ones((5, 2)),
            "column .f0. holds the infinite value .inf. at row 1 of X passed to fit",
        ),
        (np.ones((5, 2)), np.ones((5, 0)), "at least one label column"),
    ],
)
def test_bad_training_input(X, Y, message):
    with pytest.raises(UserInputError, match=message):
        MultiLabelMLP(**FAST).fit(X, Y)


def test_predict_before_fit_and_wrong_width(fitted):
    with pytest.raises(UserInputError, match="not fitted yet"):
        MultiLabelMLP().predict(np.ones((2, 12)))
    with pytest.raises(UserInputError, match=r"expected features of shape \(n, 12\)"):
        fitted.predict(np.ones((2, 11)))


@pytest.mark.parametrize(
    "n_models", [1, 3]
)  # a hold-out (80 training rows), cross-fitting (all 100)
def test_constant_labels_are_reported_and_get_their_smoothed_rate(toy_data, tmp_path, n_models):
    """A label the networks never saw positive has no signal to learn: its probability is its smoothed training
    rate on every row (not what the training steps left on its output), and it is never predicted; a label
    present in every row likewise, and always predicted. Saved and loaded alike."""
    X, Y = toy_data
    Y = Y[:100].copy()
    Y[:, 0], Y[:, 1] = 0, 1
    est = MultiLabelMLP(**{**FAST, "n_models": n_models}).fit(X[:100], Y)
    assert any("never present in training" in n and "l0" in n for n in est.notes_)
    assert any("present in every training row" in n and "l1" in n for n in est.notes_)
    P, n = est.predict_proba(X), est.n_train_
    assert n == (80 if n_models == 1 else 100)  # the rows the networks learned from
    np.testing.assert_allclose(P[:, 0], 1 / (n + 2), rtol=1e-12)
    np.testing.assert_allclose(P[:, 1], (n + 1) / (n + 2), rtol=1e-12)
    pred = est.predict(X)
    assert (pred[:, 0] == 0).all() and (pred[:, 1] == 1).all()
    assert P[:, 2:].std(axis=0).min() > 0  # the other labels are the networks'
    est.save(tmp_path / "m")
    np.testing.assert_array_equal(load(tmp_path / "m").predict_proba(X), P)


def test_ctrl_c_keeps_the_best_model_so_far(toy_data, monkeypatch, tmp_path):
    from brainnet.pipeline.trainer import Trainer

    original = Trainer._train_epoch

    def interrupt_at_epoch_4(self, batches):
        if self.state.epoch == 4:
            raise KeyboardInterrupt
        return original(self, batches)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupt_at_epoch_4)
    X, Y = toy_data
    est = MultiLabelMLP(**FAST).fit(X[:250], Y[:250])
    assert est.interrupted_ and any("interrupted (Ctrl-C) during epoch 4" in n for n in est.notes_)
    assert est.training_[0]["epochs_run"] == 4 and est.training_[0]["best_epoch"] <= 3
    est.save(tmp_path / "m")
    assert load(tmp_path / "m").interrupted_


def test_ctrl_c_before_the_first_epoch_keeps_nothing(toy_data, monkeypatch):
    from brainnet.pipeline.trainer import Trainer

    def interrupt(self, batches):
        raise KeyboardInterrupt

    monkeypatch.setattr(Trainer, "_train_epoch", interrupt)
    with pytest.raises(KeyboardInterrupt):
        MultiLabelMLP(**FAST).fit(*toy_data)


def test_at_least_one_defaults_to_on_when_every_training_row_has_a_label(toy_data):
    X, Y = toy_data
    assert Y.sum(axis=1).min() > 0
    auto = MultiLabelMLP(**FAST).fit(X[:250], Y[:250])
    assert auto.at_least_one is None and auto.at_least_one_ is True
    assert auto.predict(X[250:]).sum(axis=1).min() >= 1
    Y_empty = Y.copy()
    Y_empty[:20] = 0
    assert MultiLabelMLP(**FAST).fit(X[:250], Y_empty[:250]).at_least_one_ is False
    assert MultiLabelMLP(**FAST, at_least_one=False).fit(X[:250], Y[:250]).at_least_one_ is False
