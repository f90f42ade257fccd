"""The depth trial (``TrainConfig.try_deeper``, ``MultiLabelEstimator._try_deeper``): after the batched ensemble,
its first members again with one more hidden layer; the deeper ensemble replaces it only when their out-of-fold
AP is higher, and is then the same model as one trained with those layers from the start."""

import itertools

import numpy as np
import pytest
from torch import nn

import brainnet
from brainnet import MultiLabelMLP
from brainnet.core.config import TrainConfig
from brainnet.core.decision import metrics
from brainnet.core.errors import UserInputError
from brainnet.pipeline.engine import TorchEngine

SMALL = dict(hidden_sizes=(16,), batch_size=32, epochs=5, patience=10, n_models=3, seed=0)

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=150, d=6, L=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :L] * X[:, L : 2 * L] + 0.3 * rng.normal(size=(n, L)) > 0).astype(np.int64)
    return X, Y


def _favour(monkeypatch, deeper: bool) -> None:
    """The trial's two AP calls (the current members', then the deeper ones') rigged so that ``deeper`` wins
    or loses whatever the networks learnt."""
    real, calls = metrics.average_precision, itertools.count()

    def rigged(Y, P):
        bonus = 1.0 if (next(calls) % 2 == 1) == deeper else 0.0
        return real(Y, P) + bonus

    monkeypatch.setattr(metrics, "average_precision", rigged)


def _hidden_layers(model) -> int:
    return sum(isinstance(m, nn.Linear) for m in model.backbone)


@pytest.fixture(scope="module")
def data():
    return _data()


@pytest.fixture(scope="module")
def plain(data):
    """The ensemble without the trial, and the same with two hidden layers from the start."""
    X, Y = data
    return (
        MultiLabelMLP(**SMALL, try_deeper=0).fit(X, Y),
        MultiLabelMLP(**{**SMALL, "hidden_sizes": (16, 16)}, try_deeper=0).fit(X, Y),
    )


def test_a_deeper_win_gives_the_model_trained_deeper_from_the_start(
    data, plain, monkeypatch, tmp_path
):
    X, Y = data
    _, deep = plain
    _favour(monkeypatch, deeper=True)
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    assert est.depth_trial_["chosen"] == "deeper" and est.depth_trial_["members"] == 2
    assert est.depth_trial_["current"] == [16] and est.depth_trial_["deeper"] == [16, 16]
    assert len(est.models_) == 3 and all(_hidden_layers(m) == 2 for m in est.models_)
    assert any("chose hidden layers [16, 16]" in n for n in est.notes_)
    # members 1-2 from the trial, member 3 trained after it: each the deeper fit's own member
    np.testing.assert_allclose(est.predict_proba(X), deep.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(est.thresholds_.thresholds, deep.thresholds_.thresholds)
    assert [t["epochs_run"] for t in est.training_] == [t["epochs_run"] for t in deep.training_]
    # saved with the layers it chose: loading builds two hidden layers from brainnet.json's record
    est.save(tmp_path / "m")
    back = brainnet.load(tmp_path / "m")
    assert back.depth_trial_ == est.depth_trial_ and back.hidden_sizes == (16,)
    assert all(_hidden_layers(m) == 2 for m in back.models_)
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def test_a_deeper_loss_keeps_the_ensemble_bit_for_bit(data, plain, monkeypatch):
    X, Y = data
    shallow, _ = plain
    _favour(monkeypatch, deeper=False)
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    trial = est.depth_trial_
    assert trial["chosen"] == "current" and set(trial["out_of_fold_ap"]) == {"current", "deeper"}
    assert all(_hidden_layers(m) == 1 for m in est.models_)
    assert any("kept hidden layers [16]" in n for n in est.notes_)
    np.testing.assert_array_equal(est.predict_proba(X), shallow.predict_proba(X))


def test_the_unrigged_choice_follows_the_out_of_fold_ap(data):
    X, Y = data
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    ap = est.depth_trial_["out_of_fold_ap"]
    assert est.depth_trial_["chosen"] == ("deeper" if ap["deeper"] > ap["current"] else "current")


def test_ctrl_c_in_the_trial_keeps_the_ensemble_trained_first(data, plain, monkeypatch):
    X, Y = data
    shallow, _ = plain
    real, calls = TorchEngine.fit_members, itertools.count()

    def interrupted_trial(self, cfg, *args, **kwargs):
        results = real(self, cfg, *args, **kwargs)
        if next(calls) == 1:  # the trial's first call: as if Ctrl-C had ended it
            for r in results:
                r.interrupted = True
        return results

    monkeypatch.setattr(TorchEngine, "fit_members", interrupted_trial)
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    assert est.interrupted_ and est.depth_trial_ is None
    assert any("interrupted while trying 2 hidden layers" in n for n in est.notes_)
    np.testing.assert_array_equal(est.predict_proba(X), shallow.predict_proba(X))


@pytest.mark.parametrize(
    "params",
    [
        {"n_models": 1},  # no out-of-fold probabilities to compare
        {"hidden_sizes": ()},  # no last width to repeat
        {"batched_ensemble": False},  # members trained one after another
    ],
)
def test_no_trial_where_it_does_not_apply(params):
    X, Y = _data(n=80)
    est = MultiLabelMLP(**{**SMALL, "epochs": 2, **params}, try_deeper=2).fit(X, Y)
    assert est.depth_trial_ is None


def test_the_trial_uses_at_most_all_but_one_member(monkeypatch):
    X, Y = _data(n=80)
    _favour(monkeypatch, deeper=False)
    est = MultiLabelMLP(**{**SMALL, "n_models": 2, "epochs": 2}, try_deeper=5).fit(X, Y)
    assert est.depth_trial_["members"] == 1


def test_bad_try_deeper_is_refused():
    with pytest.raises(UserInputError, match="try_deeper"):
        TrainConfig(try_deeper=-1)
