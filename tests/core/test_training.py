"""The one training-loop protocol: the same callbacks, events, early stopping and checkpoints on both engines."""

from datetime import UTC, datetime

import numpy as np
import pytest

from brainnet.core.decision.metrics import MONITORS
from brainnet.core.training import (
    Callback,
    Checkpoint,
    EarlyStopping,
    ProgressBar,
    StopTraining,
    TrainState,
    extra_callbacks,
    run_loop,
    validation_logs,
)

# ---------------------------------------------------------------- a scripted loop: the protocol alone


class ScriptedLoop:
    """A Loop whose model is one array and whose epoch logs come from a list of monitored values."""

    def __init__(self, values, callbacks, key="val_loss"):
        self.model = {"w": np.zeros(3)}
        self.state, self.epochs, self.callbacks = TrainState(), len(values), list(callbacks)
        self.values, self.key = values, key

    def snapshot(self):
        return {k: v.copy() for k, v in self.model.items()}

    def restore(self, snapshot):
        self.model = {k: v.copy() for k, v in snapshot.items()}

    def fit(self):
        def epoch():
            self.model["w"][:] = self.state.epoch  # the "weights" say which epoch wrote them
            return {"train_loss": 1.0, self.key: self.values[self.state.epoch - 1]}

        return run_loop(self, epoch)


def test_torch_min_delta_and_nan_never_improves():
    stop = EarlyStopping("val_loss", "min", patience=3, min_delta=1e-6)
    loop = ScriptedLoop([1.0, float("nan"), 1.0 - 5e-7, 0.5, 0.6, 0.7, 0.8, 0.1], [stop])
    state = loop.fit()
    # epoch 2 is NaN and epoch 3 improves by less than min_delta: neither counts
    assert state.best_epoch == 4 and state.best_value == 0.5 and state.epoch == 7
    assert state.stop_reason == "no improvement of val_loss for 3 epochs"
    assert loop.model["w"][0] == 4  # the best snapshot is back


def test_strict_comparison_counts_patience_from_the_best_epoch():
    stop = EarlyStopping("val_average_precision", "max", patience=3, min_delta=0.0)
    values = [0.5, 0.5 + 1e-12, 0.4, 0.4, 0.4, 0.9]
    state = ScriptedLoop(values, [stop], key="val_average_precision").fit()
    assert state.best_epoch == 2  # any increase counts with min_delta 0
    assert state.epoch == 5 and state.epoch - state.best_epoch == 3


def test_extra_callbacks_run_inside_the_block_after_the_loops_own_and_an_error_ends_the_loop():
    class Boom(Exception):
        pass

    seen = []

    class Watch(Callback):
        def on_epoch_end(self, loop, logs):
            seen.append((loop.state.epoch, [type(c).__name__ for c in loop.callbacks]))
            if loop.state.epoch == 2:
                raise Boom  # not StopTraining: it leaves the loop (tune's pruning)

        def on_fit_end(self, loop):
            seen.append("end")

    loop = ScriptedLoop([1.0, 2.0, 3.0], [EarlyStopping(patience=5)])
    with extra_callbacks(Watch()), pytest.raises(Boom):
        loop.fit()
    assert seen == [(1, ["EarlyStopping", "Watch"]), (2, ["EarlyStopping", "Watch"]), "end"]
    assert [type(c).__name__ for c in loop.callbacks] == ["EarlyStopping"]  # removed after the run
    assert loop.model["w"][0] == 1  # EarlyStopping's on_fit_end still ran: the best epoch is back
    seen.clear()
    ScriptedLoop([1.0], []).fit()  # outside the block: not driven
    assert seen == []


def test_restore_best_false_keeps_the_last_weights():
    stop = EarlyStopping(patience=1, restore_best=False)
    loop = ScriptedLoop([1.0, 2.0, 3.0], [stop])
    state = loop.fit()
    assert state.best_epoch == 1 and state.epoch == 2 and loop.model["w"][0] == 2


def test_missing_monitor_and_bad_mode_are_clear_errors():
    with pytest.raises(ValueError, match="'val_auc', which is not in the logs; available: train"):
        ScriptedLoop([1.0], [EarlyStopping("val_auc")]).fit()
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'; received mode='up'"):
        EarlyStopping(mode="up")


class Recorder(Callback):
    """Records every event (the same callback object runs on every engine)."""

    def __init__(self):
        self.events = []

    def on_fit_start(self, loop):
        self.events.append("fit_start")

    def on_epoch_start(self, loop):
        self.events.append(f"epoch_start {loop.state.epoch}")

    def on_after_backward(self, loop):
        self.events.append("after_backward")

    def on_batch_end(self, loop, loss):
        assert isinstance(loss, float) and np.isfinite(loss)
        self.events.append("batch_end")

    def on_epoch_end(self, loop, logs):
        self.events.append(f"epoch_end {loop.state.epoch}")

    def on_fit_end(self, loop):
        self.events.append("fit_end")


class StopAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, loop, logs):
        if loop.state.epoch == self.epoch:
            raise StopTraining("asked to stop")


def test_checkpoint_passes_epoch_monitor_value_and_time():
    saved = []
    check = Checkpoint(lambda model, info: saved.append((model["w"][0], info)), min_interval_s=0)
    stop = EarlyStopping("val_loss", "min", patience=5)
    ScriptedLoop([0.9, 0.8, 0.85, 0.7], [stop, check]).fit()
    assert [w for w, _ in saved] == [
        1,
        2,
        4,
    ]  # only after improving epochs, the model of that epoch
    info = saved[-1][1]
    assert set(info) == {"epoch", "monitor", "value", "time"}
    assert info["epoch"] == 4 and info["monitor"] == "val_loss" and info["value"] == 0.7
    when = datetime.fromisoformat(info["time"])
    assert when.tzinfo is not None and abs((datetime.now(UTC) - when).total_seconds()) < 60


def test_checkpoint_too_soon_is_saved_at_fit_end_with_the_best_epoch():
    saved = []
    check = Checkpoint(lambda model, info: saved.append((model["w"][0], info)), min_interval_s=3600)
    stop = EarlyStopping("val_loss", "min", patience=5)
    ScriptedLoop([0.9, 0.8, 0.85], [stop, check]).fit()
    assert [(w, i["epoch"], i["value"]) for w, i in saved] == [(1, 1, 0.9), (2, 2, 0.8)]


def test_stop_training_ends_the_loop_and_fit_end_runs():
    rec = Recorder()
    state = ScriptedLoop([1.0] * 5, [StopAt(2), rec]).fit()
    assert state.stop_reason == "asked to stop" and state.epoch == 2 and len(state.history) == 2
    assert rec.events[-1] == "fit_end" and "epoch_end 2" not in rec.events  # StopAt came first


# ---------------------------------------------------------------- validation values


def test_validation_logs_match_torch_bce_and_the_monitor():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    Y = (rng.random((50, 6)) < 0.4).astype(np.uint8)
    logits = (rng.normal(size=(50, 6)) * 8).astype(np.float32)  # (50, 6), some far from 0
    logs = validation_logs(Y, logits, "average_precision")
    expected = torch.nn.functional.binary_cross_entropy_with_logits(
        torch.from_numpy(logits), torch.from_numpy(Y.astype(np.float32))
    )
    assert logs["val_loss"] == pytest.approx(float(expected), abs=1e-6)
    P = torch.sigmoid(torch.from_numpy(logits)).numpy().astype(np.float64)
    ap = MONITORS.get("average_precision").fn(Y, P)
    assert logs["val_average_precision"] == pytest.approx(ap, abs=1e-12)
    assert set(validation_logs(Y, logits, "loss")) == {"val_loss"}


def test_validation_loss_is_stable_for_huge_logits():
    Y = np.array([[1, 0]])
    logs = validation_logs(Y, np.array([[1000.0, -1000.0]]), "loss")
    assert logs["val_loss"] == 0.0
    assert validation_logs(Y, np.array([[-1000.0, 1000.0]]), "loss")["val_loss"] == 1000.0


# ---------------------------------------------------------------- both engines, the same callbacks


def _data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 12)).astype(np.float32)
    W = rng.normal(size=(12, 4))
    Y = ((X @ W + rng.normal(scale=2.0, size=(300, 4))) > 0).astype(np.uint8)  # noisy: it overfits
    return X[:240], Y[:240], X[240:], Y[240:]


class TorchEngine:
    """A BatchNorm MLP in the torch Trainer."""

    def __init__(self, callbacks, epochs, lr=1e-2):
        import torch

        from brainnet.pipeline.trainer import Trainer

        torch.manual_seed(0)
        nn = torch.nn
        self.net = nn.Sequential(nn.Linear(12, 64), nn.BatchNorm1d(64), nn.ReLU(), nn.Linear(64, 4))
        self.loop = Trainer(
            self.net,
            nn.BCEWithLogitsLoss(),
            torch.optim.Adam(self.net.parameters(), lr=lr),
            epochs=epochs,
            batch_size=32,
            callbacks=callbacks,
            generator=torch.Generator().manual_seed(0),
        )

    def fit(self, X, Y, X_val, Y_val):
        return self.loop.fit(X, Y, X_val, Y_val)

    def predict(self, X):
        from brainnet.pipeline.trainer import predict_logits

        return predict_logits(self.net, X, "cpu").numpy()

    def bn_mean(self):
        return self.net[1].running_mean.numpy().copy()


class ScratchEngine:
    """The same BatchNorm MLP in the NumPy engine's loop."""

    def __init__(self, callbacks, epochs, lr=1e-2):
        from brainnet.scratch import BatchNorm, Dense, ReLU, Sequential
        from brainnet.scratch.losses import BCEWithLogits
        from brainnet.scratch.optimizers import Adam
        from brainnet.scratch.training import NumpyLoop

        self.net = Sequential(
            [Dense(64, use_bias=False, rng=0), BatchNorm(0.9, 1e-5), ReLU(), Dense(4, rng=1)]
        )
        self.net.forward(np.zeros((2, 12), np.float32))  # builds the weights
        self.net.compile(Adam(self.net.parameters(), lr=lr), BCEWithLogits())
        self.loop = NumpyLoop(self.net, epochs, callbacks)

    def fit(self, X, Y, X_val, Y_val):
        def logs(train):
            logits = self.predict(X_val).astype(np.float64)
            return {"train_loss": train["loss"], **validation_logs(Y_val, logits, "loss")}

        return self.loop.run(X, Y.astype(np.float32), 32, logs, seed=0)

    def predict(self, X):
        return self.net.predict(X, batch_size=4096)

    def bn_mean(self):
        return self.net.layers[1].moving_mean.copy()


ENGINES = [pytest.param(TorchEngine, id="torch"), pytest.param(ScratchEngine, id="scratch")]


@pytest.fixture(params=ENGINES)
def engine(request):
    if request.param is TorchEngine:
        pytest.importorskip("torch")
    return request.param


def test_the_same_callback_sees_the_same_events_on_both_engines(engine):
    rec = Recorder()
    state = engine([rec], epochs=2).fit(*_data())  # 240 rows / 32 = 8 batches an epoch
    batch = ["after_backward", "batch_end"] * 8
    expected = ["fit_start"]
    for epoch in (1, 2):
        expected += [f"epoch_start {epoch}", *batch, f"epoch_end {epoch}"]
    assert rec.events == [*expected, "fit_end"]
    assert state.stop_reason == "reached the epoch limit (2)" and len(state.history) == 2


class Record(Callback):
    """What the network predicts and its BatchNorm moving mean at the end of every epoch."""

    def __init__(self):
        self.outputs, self.means = {}, {}

    def bind(self, engine, X_val):
        self.engine, self.X_val = engine, X_val
        return self

    def on_epoch_end(self, loop, logs):
        self.outputs[loop.state.epoch] = self.engine.predict(self.X_val)
        self.means[loop.state.epoch] = self.engine.bn_mean()


def _run_recorded(engine_class, callbacks, epochs):
    rec = Record()
    eng = engine_class([rec, *callbacks], epochs=epochs, lr=3e-2)
    data = _data()
    rec.bind(eng, data[2])
    return eng, rec, eng.fit(*data)


def test_early_stopping_restores_batchnorm_statistics_on_both_engines(engine):
    stop = EarlyStopping("val_loss", "min", patience=3)
    eng, rec, state = _run_recorded(engine, [stop], epochs=100)
    best, last = state.best_epoch, state.epoch
    assert last == best + 3 and "no improvement of val_loss" in state.stop_reason
    assert not np.array_equal(
        rec.means[best], rec.means[last]
    )  # the statistics moved after the best
    np.testing.assert_array_equal(eng.bn_mean(), rec.means[best])
    np.testing.assert_array_equal(eng.predict(_data()[2]), rec.outputs[best])


def test_stop_training_ends_both_loops_and_fit_end_runs(engine):
    rec = Recorder()
    state = engine([StopAt(3), rec], epochs=10).fit(*_data())
    assert state.epoch == 3 and state.stop_reason == "asked to stop" and not state.interrupted
    assert rec.events[-1] == "fit_end" and rec.events.count("fit_end") == 1


class InterruptAtBatch(Callback):
    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.seen = epoch, batch, 0

    def on_epoch_start(self, loop):
        self.seen = 0

    def on_batch_end(self, loop, loss):
        self.seen += 1
        if loop.state.epoch == self.epoch and self.seen == self.batch:
            raise KeyboardInterrupt


def test_ctrl_c_keeps_the_best_epoch_on_both_engines(engine):
    stop = EarlyStopping("val_loss", "min", patience=50)
    eng, rec, state = _run_recorded(engine, [stop, InterruptAtBatch(12, 3)], epochs=100)
    assert state.interrupted and state.stop_reason == "interrupted (Ctrl-C) during epoch 12"
    assert len(state.history) == 11
    best = state.best_epoch
    assert best == 1 + int(np.argmin([h["val_loss"] for h in state.history])) and best < 11
    np.testing.assert_array_equal(eng.bn_mean(), rec.means[best])
    np.testing.assert_array_equal(eng.predict(_data()[2]), rec.outputs[best])


@pytest.mark.parametrize("per_batch", [None, 8])
def test_progress_bar_ends_complete(engine, per_batch):
    bar = ProgressBar("val_loss", "training", batches_per_epoch=per_batch)
    stop = EarlyStopping("val_loss", "min", patience=2)
    state = engine([stop, bar], epochs=4).fit(*_data())
    task = bar._progress.tasks[0]
    assert task.finished and task.completed == state.epoch * (per_batch or 1)
    assert task.fields["best"].endswith(f"@{state.best_epoch}") and task.fields["loss"] != "-"
