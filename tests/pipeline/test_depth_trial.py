"""The depth trial (``TrainConfig.try_deeper``, ``MultiLabelEstimator._depth_trial``): the batched ensemble's first
members with ``hidden_sizes`` and with one more hidden layer; the layers with the higher out-of-fold AP train the
other members, so the ensemble is the one those layers give from the start."""

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


def test_a_deeper_loss_gives_the_ensemble_without_the_trial(data, plain, monkeypatch):
    X, Y = data
    shallow, _ = plain
    _favour(monkeypatch, deeper=False)
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    trial = est.depth_trial_
    assert trial["chosen"] == "current" and set(trial["out_of_fold_ap"]) == {"current", "deeper"}
    assert all(_hidden_layers(m) == 1 for m in est.models_)
    assert any("kept hidden layers [16]" in n for n in est.notes_)
    np.testing.assert_allclose(est.predict_proba(X), shallow.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(est.thresholds_.thresholds, shallow.thresholds_.thresholds)


def test_the_unrigged_choice_follows_the_out_of_fold_ap(data):
    X, Y = data
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    ap = est.depth_trial_["out_of_fold_ap"]
    assert est.depth_trial_["chosen"] == ("deeper" if ap["deeper"] > ap["current"] else "current")


def test_ctrl_c_in_the_trial_keeps_the_members_with_the_current_layers(data, plain, monkeypatch):
    X, Y = data
    shallow, _ = plain
    real, calls = TorchEngine.fit_members, itertools.count()

    def interrupted_trial(self, cfg, *args, **kwargs):
        results = real(self, cfg, *args, **kwargs)
        if next(calls) == 1:  # the deeper members of the trial: as if Ctrl-C had ended them
            for r in results:
                r.interrupted = True
        return results

    monkeypatch.setattr(TorchEngine, "fit_members", interrupted_trial)
    est = MultiLabelMLP(**SMALL, try_deeper=2).fit(X, Y)
    assert est.interrupted_ and est.depth_trial_ is None
    assert any("interrupted in the depth trial" in n for n in est.notes_)
    assert len(est.models_) == 2 and all(_hidden_layers(m) == 1 for m in est.models_)
    for mine, theirs in zip(est.models_, shallow.models_[:2], strict=True):
        for a, b in zip(mine.state_dict().values(), theirs.state_dict().values(), strict=True):
            np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-6)


def test_ctrl_c_before_the_trials_first_epoch_keeps_nothing(data, monkeypatch):
    X, Y = data
    real = TorchEngine.fit_members

    def before_one_epoch(self, cfg, *args, **kwargs):
        results = real(self, cfg, *args, **kwargs)
        for r in results:  # as if Ctrl-C had come before any epoch finished
            r.interrupted, r.best_epoch = True, None
        return results

    monkeypatch.setattr(TorchEngine, "fit_members", before_one_epoch)
    with pytest.raises(KeyboardInterrupt):
        MultiLabelMLP(**{**SMALL, "epochs": 2}, try_deeper=2).fit(X, Y)


def test_no_trial_over_the_row_limit(monkeypatch):
    from brainnet.core import estimator

    monkeypatch.setattr(estimator, "DEPTH_TRIAL_MAX_ROWS", 50)
    X, Y = _data(n=80)
    est = MultiLabelMLP(**{**SMALL, "epochs": 2}, try_deeper=2).fit(X, Y)
    assert est.depth_trial_ is None and any("no depth trial" in n for n in est.notes_)


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


@pytest.mark.parametrize("deeper", [True, False])
def test_a_run_killed_after_the_trial_resumes_to_the_same_model(
    data, tmp_path, monkeypatch, sigterm_at, deeper
):
    import brainnet.core.resume as resume
    from brainnet.core.model_dir import read_model_meta

    X, Y = data
    params = dict(SMALL, try_deeper=2, epochs=5, patience=10)
    _favour(monkeypatch, deeper=deeper)  # every trial below: its calls come in pairs
    straight = MultiLabelMLP(**params).fit(X, Y)
    sigterm_at(13)  # the 3rd epoch after the trial's 2 x 5
    with pytest.raises(resume.Terminated):
        MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt")
    meta = read_model_meta(tmp_path / "ckpt")
    assert meta["resume"]["member"] == 2 and len(meta["resume"]["finished"]) == 2
    assert meta["depth_trial"]["chosen"] == ("deeper" if deeper else "current")
    assert meta["n_models"] == 3  # the trial's two winners and the third member at its best epoch
    # the checkpoint is a loadable model with the layers the trial chose
    layers = 2 if deeper else 1
    assert all(_hidden_layers(m) == layers for m in brainnet.load(tmp_path / "ckpt").models_)
    sigterm_at(None)
    resumed = MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt", resume=True)
    assert resumed.depth_trial_ == straight.depth_trial_
    np.testing.assert_array_equal(resumed.predict_proba(X), straight.predict_proba(X))


def test_a_killed_batched_ensemble_resumes_from_a_best_epoch_read_back(data, tmp_path, sigterm_at):
    """Without the trial. Its members' best epochs come before the kill and are read back from the checkpoint
    (BatchNorm's 0-d num_batches_tracked among them: it was written 1-d, and restoring it failed)."""
    import brainnet.core.resume as resume

    X, Y = data
    params = dict(SMALL, try_deeper=0, epochs=5, patience=10)
    straight = MultiLabelMLP(**params).fit(X, Y)
    sigterm_at(3)
    with pytest.raises(resume.Terminated):
        MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt")
    sigterm_at(None)
    resumed = MultiLabelMLP(**params).fit(X, Y, checkpoint=tmp_path / "ckpt", resume=True)
    np.testing.assert_array_equal(resumed.predict_proba(X), straight.predict_proba(X))


def test_the_added_layer_may_be_narrower(monkeypatch):
    X, Y = _data(n=80)
    _favour(monkeypatch, deeper=True)
    est = MultiLabelMLP(**{**SMALL, "epochs": 2}, try_deeper=1, deeper_width=8).fit(X, Y)
    assert est.depth_trial_["deeper"] == [16, 8] and est.depth_trial_["chosen"] == "deeper"
    assert [m.head.in_features for m in est.models_] == [8, 8, 8]


def test_bad_deeper_width_is_refused():
    with pytest.raises(UserInputError, match="deeper_width"):
        TrainConfig(deeper_width=-3)
