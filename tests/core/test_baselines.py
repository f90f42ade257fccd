"""The scikit-learn baselines follow brainnet's protocol: its folds, its recipe, its decision layer, its metrics."""

import numpy as np
import pytest

from brainnet.core.baselines import BASELINES, BaselineClassifier, baseline_names, compare
from brainnet.core.config import TrainConfig
from brainnet.core.data.splits import multilabel_kfold
from brainnet.core.decision.layer import DecisionLayer
from brainnet.core.decision.metrics import METRIC_KEYS
from brainnet.core.decision.thresholds import tune_thresholds
from brainnet.core.errors import UserInputError

CFG = TrainConfig(n_models=3, seed=4)


@pytest.fixture(scope="module")
def small(toy_data):
    X, Y = toy_data
    X = X[:150].copy()
    X[3, 2] = np.nan  # a missing value: the recipe's training median fills it
    return X, Y[:150]


@pytest.fixture(scope="module")
def fitted(small):
    X, Y = small
    return {name: BaselineClassifier(name, config=CFG, n_jobs=2).fit(X, Y) for name in BASELINES}


def test_the_five_baselines_are_registered():
    assert BASELINES.names() == ["et", "hgb", "logistic", "mlp", "rf"]


@pytest.mark.parametrize("name", ["et", "hgb", "logistic", "mlp", "rf"])
def test_probabilities_have_the_right_shape(fitted, small, name):
    X, Y = small
    model = fitted[name]
    P = model.predict_proba(X[:20])
    assert P.shape == (20, Y.shape[1]) and np.all((P >= 0) & (P <= 1))
    assert model.oof_proba_.shape == Y.shape and len(model.members_) == 3
    assert model.predict(X[:20]).shape == (20, Y.shape[1])
    assert list(model.evaluate(X, Y)) == [*METRIC_KEYS, "n_samples", "n_labels"]


@pytest.mark.parametrize("name", ["logistic", "rf"])
def test_thresholds_are_the_shared_rule_on_out_of_fold_probabilities(fitted, small, name):
    X, Y = small
    model = fitted[name]
    same = DecisionLayer.fit(CFG, Y, Y, model.oof_proba_)
    np.testing.assert_array_equal(model.decision_.thresholds.thresholds, same.thresholds.thresholds)
    tuned = tune_thresholds(
        Y,
        model.decision_.calibration.apply(model.oof_proba_),
        CFG.threshold_objective,
        min_positives=CFG.min_positives,
        shrinkage=CFG.threshold_shrinkage,
        at_least_one=model.decision_.at_least_one,
    )
    np.testing.assert_array_equal(model.decision_.thresholds.thresholds, tuned.thresholds)
    assert model.validation_ == "3-fold stratified cross-fitting (out-of-fold thresholds)"


def test_out_of_fold_rows_come_from_brainnets_folds(fitted, small):
    X, Y = small
    model = fitted["logistic"]
    Z = model.recipe_.encode(model.recipe_.inputs(X, model.label_names_)).X
    for k, (_, va) in enumerate(multilabel_kfold(Y, CFG.n_models, CFG.seed)):
        np.testing.assert_allclose(model.members_[k].predict_proba(Z[va]), model.oof_proba_[va])


def test_same_seed_same_numbers_on_any_number_of_threads(fitted, small):
    X, Y = small
    again = BaselineClassifier("rf", config=CFG, n_jobs=1).fit(X, Y)
    np.testing.assert_array_equal(again.predict_proba(X), fitted["rf"].predict_proba(X))


@pytest.mark.parametrize("name", ["logistic", "hgb", "mlp"])
def test_labels_constant_in_a_fold_get_a_constant_probability(toy_data, name):
    X, Y = toy_data
    X, Y = X[:90], Y[:90].copy()
    Y[:, 1] = 0
    Y[7, 1] = 1  # one positive: the member that does not train on row 7 sees a constant label
    Y[:, 2] = 0  # never present
    Y[:, 3] = 1  # always present
    model = BaselineClassifier(name, config=CFG, n_jobs=1).fit(X, Y)
    P = model.members_[0].predict_proba(
        model.recipe_.encode(model.recipe_.inputs(X, model.label_names_)).X
    )
    assert P.shape == Y.shape
    np.testing.assert_array_equal(P[:, 2], 0.0)
    np.testing.assert_array_equal(P[:, 3], 1.0)
    constant_in = [m for m in model.members_ if 1 not in m.varying]
    assert len(constant_in) == 1 and all(m.constant[1] == 0 for m in constant_in)
    assert any("never present" in note for note in model.notes_)
    # after the decision layer, as brainnet's networks: the smoothed training rate
    Q = model.predict_proba(X)
    np.testing.assert_allclose(Q[:, 2], 1 / 92, rtol=1e-12)
    np.testing.assert_allclose(Q[:, 3], 91 / 92, rtol=1e-12)


def test_names_and_bad_names():
    assert baseline_names("rf, et") == ["rf", "et"]
    assert baseline_names(None) == baseline_names("all") == BASELINES.names()
    with pytest.raises(UserInputError, match="unknown baseline 'forest'; available: et, hgb"):
        baseline_names("rf,forest")
    with pytest.raises(UserInputError, match="expected baseline names"):
        baseline_names(" , ")
    with pytest.raises(UserInputError, match="not fitted yet"):
        BaselineClassifier("rf").predict_proba(np.zeros((2, 3)))


def test_compare_without_an_estimator_records_every_baseline_on_test(small):
    X, Y = small
    record = compare(X[:100], Y[:100], baselines="logistic,et", test=(X[100:], Y[100:]), n_jobs=1)
    assert list(record["methods"]) == ["logistic", "et"]
    assert record["validation"].startswith("10-fold stratified cross-fitting")
    assert record["n_val"] == 100 and record["threshold_objective"] == "micro_f1"
    for m in record["methods"].values():
        assert set(m) == {"title", "fit_seconds", "validation_metrics", "test_metrics"}
        assert m["test_metrics"]["n_samples"] == 50
