import numpy as np
import pytest
import torch

from brainnet.core.training import Callback, EarlyStopping
from brainnet.pipeline.trainer import Trainer, predict_logits


def _setup(toy_data, monitor="loss", epochs=30, callbacks=()):
    X, Y = toy_data
    X = (X - X.mean(0)) / X.std(0)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    trainer = Trainer(
        model,
        torch.nn.BCEWithLogitsLoss(),
        torch.optim.Adam(model.parameters(), lr=1e-2),
        epochs=epochs,
        batch_size=32,
        monitor=monitor,
        callbacks=list(callbacks),
        generator=torch.Generator().manual_seed(0),
    )
    return trainer, (X[:240], Y[:240], X[240:], Y[240:])


class Recorder(Callback):
    def __init__(self):
        self.events = []

    def on_fit_start(self, trainer):
        self.events.append("fit_start")

    def on_epoch_start(self, trainer):
        self.events.append("epoch_start")

    def on_after_backward(self, trainer):
        if self.events[-1] != "after_backward":
            self.events.append("after_backward")

    def on_epoch_end(self, trainer, logs):
        self.events.append("epoch_end")

    def on_fit_end(self, trainer):
        self.events.append("fit_end")


def test_events_in_order_and_history(toy_data):
    rec = Recorder()
    trainer, data = _setup(toy_data, epochs=2, callbacks=[rec])
    state = trainer.fit(*data)
    assert rec.events == ["fit_start"] + ["epoch_start", "after_backward", "epoch_end"] * 2 + [
        "fit_end"
    ]
    assert len(state.history) == 2 and {"train_loss", "val_loss"} <= set(state.history[0])
    assert state.stop_reason == "reached the epoch limit (2)"


def test_early_stopping_stops_and_restores_the_best_weights(toy_data):
    stopper = EarlyStopping("val_loss", "min", patience=3, min_delta=1e-6)
    trainer, data = _setup(toy_data, epochs=200, callbacks=[stopper])
    state = trainer.fit(*data)
    assert state.epoch < 200 and "no improvement of val_loss for 3 epochs" in state.stop_reason
    assert state.epoch == state.best_epoch + 3
    best = min(h["val_loss"] for h in state.history)
    assert stopper.best == pytest.approx(best)
    logits = predict_logits(trainer.model, data[2], "cpu")
    restored = trainer._validate(logits, data[3])["val_loss"]
    assert restored == pytest.approx(best, rel=1e-5)


def test_monitor_metric_is_logged(toy_data):
    trainer, data = _setup(toy_data, monitor="average_precision", epochs=2)
    state = trainer.fit(*data)
    assert 0 < state.history[-1]["val_average_precision"] <= 1


class InterruptAt(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_start(self, trainer):
        if trainer.state.epoch == self.epoch:
            raise KeyboardInterrupt


def test_ctrl_c_stops_cleanly_and_keeps_the_best_model(toy_data):
    stopper = EarlyStopping("val_loss", "min", patience=50, min_delta=1e-6)
    trainer, data = _setup(toy_data, epochs=100, callbacks=[stopper, InterruptAt(6)])
    state = trainer.fit(*data)
    assert state.interrupted and "interrupted (Ctrl-C) during epoch 6" in state.stop_reason
    assert len(state.history) == 5 and state.best_epoch is not None
    logits = predict_logits(trainer.model, data[2], "cpu")
    restored = trainer._validate(logits, data[3])["val_loss"]
    assert restored == pytest.approx(min(h["val_loss"] for h in state.history), rel=1e-5)


def test_same_seed_same_numbers(toy_data):
    runs = []
    for _ in range(2):
        trainer, data = _setup(toy_data, epochs=3)
        runs.append([h["val_loss"] for h in trainer.fit(*data).history])
    np.testing.assert_array_equal(runs[0], runs[1])
