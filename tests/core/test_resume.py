"""Exact resume in one process (the NumPy engine, fast): what a checkpoint holds, SIGTERM and Ctrl-C with a
checkpoint, the fingerprint that refuses another run's checkpoint. Real kills of real processes on the torch
engine are in tests/cli/test_resume.py."""

import hashlib
import json
import os
import shutil
import signal

import numpy as np
import pytest

import brainnet.core.resume as resume
from brainnet.core import training
from brainnet.core.errors import UserInputError
from brainnet.core.model_dir import read_model_meta
from brainnet.scratch.estimator import ScratchMultiLabelMLP

EMIT = training.emit  # the unpatched event dispatch

# monitor "loss" improves to the last epoch here, so the final weights come from after the resume point
PARAMS = dict(n_models=2, epochs=6, patience=6, hidden_sizes=(16,), batch_size=32, lr=3e-3)
PARAMS |= dict(monitor="loss", device="cpu")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 6))
    Y = (X[:, :3] + 0.5 * rng.normal(size=(200, 3)) > 0).astype(np.uint8)
    return X, Y


@pytest.fixture(scope="module")
def straight(data, tmp_path_factory):
    """The weights of a run nobody stopped."""
    path = tmp_path_factory.mktemp("straight") / "m"
    ScratchMultiLabelMLP(**PARAMS).fit(*data).save(path)
    return _sha(path)


def _sha(model) -> str:
    return hashlib.sha256((model / "weights.safetensors").read_bytes()).hexdigest()


def _signal_at(monkeypatch, n: int, sig: int) -> None:
    """Send ``sig`` to this process at the start of the n-th epoch of the fit (counting across members)."""
    count = [0]

    def signalling(loop, event, *args):
        if event == "on_epoch_start":
            count[0] += 1
            if count[0] == n:
                os.kill(os.getpid(), sig)
        return EMIT(loop, event, *args)

    monkeypatch.setattr(training, "emit", signalling)


def test_sigterm_writes_the_last_finished_epoch_and_resume_continues_exactly(
    data, straight, tmp_path, monkeypatch
):
    monkeypatch.setattr(resume, "CHECKPOINT_INTERVAL_S", 3600.0)  # only the first epoch of a member
    _signal_at(monkeypatch, 10, signal.SIGTERM)  # member 2, epoch 4
    with pytest.raises(resume.Terminated) as stop:
        ScratchMultiLabelMLP(**PARAMS).fit(*data, checkpoint=tmp_path / "ckpt")
    assert stop.value.code == 143
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # fit put the default back
    saved = read_model_meta(tmp_path / "ckpt")["resume"]
    assert saved["member"] == 1 and saved["loop"]["epoch"] == 3  # written on the way out
    assert len(saved["finished"]) == 1 and len(saved["loop"]["history"]) == 3
    stopper = saved["loop"]["callbacks"][0]
    assert stopper["class"] == "EarlyStopping" and set(stopper["state"]) == {
        "best",
        "best_epoch",
        "wait",
        "best_snapshot",
    }
    best = stopper["state"]["best_snapshot"]["__snapshot__"]
    assert {ref["__array__"].split(".")[0] for ref in best.values()} == {"model1"}  # stored once
    monkeypatch.setattr(training, "emit", EMIT)
    est = ScratchMultiLabelMLP(**PARAMS).fit(*data, checkpoint=tmp_path / "ckpt", resume=True)
    est.save(tmp_path / "m")
    assert _sha(tmp_path / "m") == straight
    assert "after model 2/2, epoch 3" in est.notes_[-1]


def test_without_the_rng_states_the_resumed_run_would_differ(data, straight, tmp_path, monkeypatch):
    """The test above is not vacuous: dropping the RNG states from the checkpoint changes the weights."""
    monkeypatch.setattr(resume, "CHECKPOINT_INTERVAL_S", 0.0)
    _signal_at(monkeypatch, 10, signal.SIGTERM)
    with pytest.raises(resume.Terminated):
        ScratchMultiLabelMLP(**PARAMS).fit(*data, checkpoint=tmp_path / "ckpt")
    monkeypatch.setattr(training, "emit", EMIT)
    from brainnet.scratch import resume as scratch_resume

    original = scratch_resume.ResumableLoop.load_resume_state
    monkeypatch.setattr(scratch_resume, "_dropout_rngs", lambda model: [])  # no dropout RNG saved

    def without_rngs(self, state):
        """Everything but the shuffling and dropout RNGs."""
        rng, self.rng = self.rng, None
        original(self, {**state, "dropout": []})
        self.rng = rng

    monkeypatch.setattr(scratch_resume.ResumableLoop, "load_resume_state", without_rngs)
    est = ScratchMultiLabelMLP(**PARAMS).fit(*data, checkpoint=tmp_path / "ckpt", resume=True)
    est.save(tmp_path / "m")
    assert _sha(tmp_path / "m") != straight


@pytest.fixture
def default_sigint():
    """SIGINT raising KeyboardInterrupt, as in a terminal. Python installs that handler only when its parent
    left SIGINT at the default; a shell's background job (`make test &`, nohup) inherits it ignored, and then
    the signal the test sends would never arrive."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_keeps_todays_behaviour_with_a_checkpoint(
    data, tmp_path, monkeypatch, default_sigint
):
    """SIGINT: training ends cleanly with the members so far (no exception, no exit); the checkpoint
    holds the last finished epoch, so the run could still be resumed."""
    monkeypatch.setattr(resume, "CHECKPOINT_INTERVAL_S", 3600.0)
    _signal_at(monkeypatch, 9, signal.SIGINT)  # member 2, epoch 3
    est = ScratchMultiLabelMLP(**PARAMS).fit(*data, checkpoint=tmp_path / "ckpt")
    assert est.interrupted_ and len(est.models_) == 2
    assert any("interrupted (Ctrl-C) during epoch 3" in n for n in est.notes_)
    saved = read_model_meta(tmp_path / "ckpt")["resume"]
    assert saved["member"] == 1 and saved["loop"]["epoch"] == 2


def test_a_checkpoint_is_refused_for_another_run(data, tmp_path):
    X, Y = data
    ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "ckpt")
    cases = [
        ({**PARAMS, "lr": 0.01}, X, Y, "option lr (--lr) changed (config.lr: 0.01 now, 0.003"),
        ({**PARAMS, "hidden_sizes": (8,)}, X, Y, "option hidden_sizes (--hidden-sizes) changed"),
        (PARAMS, X, 1 - Y, "the labels of the training data changed (data.labels: sha256 "),
        (PARAMS, X + 1, Y, "the inputs of the training data changed"),
        (PARAMS, X[:150], Y[:150], "the number of rows of the training data changed"),
    ]
    for params, X2, Y2, message in cases:
        with pytest.raises(UserInputError, match=message.replace("(", r"\(").replace(")", r"\)")):
            ScratchMultiLabelMLP(**params).fit(X2, Y2, checkpoint=tmp_path / "ckpt", resume=True)
    # where the numbers are computed may change: device is not part of the fingerprint
    ScratchMultiLabelMLP(**{**PARAMS, "device": "auto"}).fit(
        X, Y, checkpoint=tmp_path / "ckpt", resume=True
    )


def test_nothing_to_resume_is_a_clear_error(data, tmp_path):
    X, Y = data
    with pytest.raises(UserInputError, match="needs the checkpoint directory"):
        ScratchMultiLabelMLP(**PARAMS).fit(X, Y, resume=True)
    with pytest.raises(UserInputError, match="nothing to resume: no checkpoint at"):
        ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "none", resume=True)
    ScratchMultiLabelMLP(**PARAMS).fit(X, Y).save(tmp_path / "model")  # a finished model
    with pytest.raises(UserInputError, match="holds no resume state"):
        ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "model", resume=True)
    ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "ckpt")
    meta_path = tmp_path / "ckpt" / "brainnet.json"
    meta = json.loads(meta_path.read_text())
    del meta["resume"]["finished"]
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(UserInputError, match="is a damaged checkpoint .KeyError: 'finished'"):
        ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "ckpt", resume=True)


def test_a_kill_between_the_two_renames_leaves_the_previous_checkpoint_findable(data, tmp_path):
    X, Y = data
    ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "ckpt")
    old = tmp_path / ".ckpt.x1y2.old"
    old.mkdir()
    shutil.move(tmp_path / "ckpt", old / "replaced")  # what atomic_directory does first
    assert resume.find_checkpoint(tmp_path / "ckpt") == old / "replaced"
    ScratchMultiLabelMLP(**PARAMS).fit(X, Y, checkpoint=tmp_path / "ckpt", resume=True)


def test_arrays_and_json_round_trip():
    tree = {"a": np.arange(3.0), "b": [1, {"c": np.eye(2, dtype=np.float32)}, None], 0: np.int64(4)}
    shallow, arrays = resume.split_arrays(tree, "resume.")
    assert sorted(arrays) == ["resume.a", "resume.b.1.c"] and shallow["0"] == 4
    back = resume.join_arrays(json.loads(json.dumps(shallow)), arrays)
    np.testing.assert_array_equal(back["b"][1]["c"], np.eye(2))
    assert back["b"][1]["c"].dtype == np.float32 and back["b"][1]["c"] is not arrays["resume.b.1.c"]


def test_global_rng_states_round_trip():
    import random

    state = json.loads(json.dumps(resume.global_rng_state()))
    expected = (random.random(), np.random.random())  # noqa: NPY002
    resume.set_global_rng_state(state)
    assert (random.random(), np.random.random()) == expected  # noqa: NPY002
