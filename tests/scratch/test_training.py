import numpy as np
import pytest

from brainnet.scratch import BatchNorm, Callback, Dense, ReLU, Sequential
from brainnet.scratch.callbacks import EarlyStopping
from brainnet.scratch.optimizers import SGD, Adam


def _data(n=64, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, X @ np.array([1.0, -2.0, 0.5]) + 0.3


def _model(seed=0):
    return Sequential(
        [Dense(8, "relu", rng=seed, dtype=np.float64), Dense(1, rng=seed + 1, dtype=np.float64)]
    )


def test_fit_lowers_loss_and_records_history():
    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(X, y, epochs=60, batch_size=4, validation_split=0.25, seed=0)
    assert set(history.history) == {"loss", "mae", "val_loss", "val_mae"}
    assert history.epoch == list(range(60))
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]
    result = model.evaluate(X, y)
    assert set(result) == {"loss", "mae"}
    assert model.predict(X).shape == (64, 1)


def test_validation_split_takes_the_last_rows():
    X, y = _data()
    model = _model()
    model.compile(optimizer=SGD(_built(model), lr=1e-9), loss="mse")
    history = model.fit(X, y, epochs=1, validation_split=0.25, shuffle=False)
    expected = model.evaluate(X[48:], y[48:])["loss"]
    assert history.history["val_loss"][0] == pytest.approx(expected, rel=1e-6)


def _built(model):
    model.forward(np.zeros((1, 3)))
    return model.parameters()


def test_accuracy_and_micro_f1_threshold_logits():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = (X[:, :1] + X[:, 1:] > 0).astype(float)  # (80, 1)
    model = _model()
    model.layers[0].build(2)
    model.compile(optimizer="adam", loss="bce_with_logits", metrics=["accuracy", "micro_f1"])
    model.fit(X, y, epochs=60, batch_size=16, seed=0)
    result = model.evaluate(X, y)
    assert result["accuracy"] > 0.9 and result["micro_f1"] > 0.9


def test_early_stopping_restores_weights_of_best_val_epoch():
    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True, min_delta=10.0)
    history = model.fit(X, y, epochs=20, validation_split=0.25, callbacks=[stop], seed=0)
    assert history.epoch == [0, 1, 2, 3]  # no drop of 10 after epoch 0
    assert stop.best_epoch == 1 and history.state.best_epoch == 1  # the loop counts epochs from 1
    assert history.state.stop_reason == "no improvement of val_loss for 3 epochs"
    assert model.evaluate(X[48:], y[48:])["loss"] == pytest.approx(history.history["val_loss"][0])


def test_early_stopping_names_missing_key():
    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="val_loss.*available: loss"):
        model.fit(X, y, epochs=2, callbacks=[EarlyStopping()])


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_nan_loss_names_epoch_and_batch():
    X, y = _data()
    X = X * 1e3
    model = _model()
    model.compile(optimizer=SGD(_built(model), lr=1e6), loss="mse")
    with pytest.raises(FloatingPointError, match=r"epoch \d+/50, batch \d+/2.*learning rate"):
        model.fit(X, y, epochs=50, batch_size=32)


def test_errors_before_compile_and_on_row_mismatch():
    X, y = _data()
    model = _model()
    with pytest.raises(ValueError, match="compile"):
        model.fit(X, y)
    model.compile(optimizer="adam", loss="mse")
    with pytest.raises(ValueError, match="same number of rows"):
        model.fit(X, y[:10])
    with pytest.raises(ValueError, match="validation_split"):
        model.fit(X, y, validation_split=1.0)
    with pytest.raises(ValueError, match="available"):
        model.compile(optimizer="adam", loss="mse", metrics=["acc_typo"])


def test_same_seed_gives_identical_history():
    X, y = _data()
    runs = []
    for _ in range(2):
        model = _model()
        model.compile(optimizer="adam", loss="mse", metrics=["mae"])
        runs.append(model.fit(X, y, epochs=5, batch_size=8, validation_split=0.2, seed=3).history)
    assert runs[0] == runs[1]


def test_verbose_shows_the_core_progress_bar_on_stderr(capsys):
    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="mse", metrics=["mae"])
    history = model.fit(X, y, epochs=2, verbose=1)
    out = capsys.readouterr()
    assert out.out == ""  # not a terminal: no per-epoch spam, one final line on stderr
    lines = out.err.strip().splitlines()
    assert len(lines) == 1 and "2/2" in lines[0]
    assert f"loss {history.history['loss'][-1]:.4f}" in lines[0]


def _bn_model():
    return Sequential(
        [Dense(16, use_bias=False, rng=0), BatchNorm(0.9, 1e-5), ReLU(), Dense(1, rng=1)]
    )


class _Outputs(Callback):
    """What the network predicts on X and its moving mean at the end of every epoch."""

    def __init__(self, X):
        self.X, self.outputs, self.means = X, {}, {}

    def on_epoch_end(self, loop, logs):
        self.outputs[loop.state.epoch] = loop.model.predict(self.X)
        self.means[loop.state.epoch] = loop.model.layers[1].moving_mean.copy()


def test_keras_early_stopping_restores_batchnorm_statistics_too():
    X, y = _data(n=200)
    y = y + np.random.default_rng(5).normal(scale=3.0, size=y.shape)  # noisy: it overfits
    model = _bn_model()
    model.compile(optimizer=Adam(_built(model), lr=0.05), loss="mse")
    seen = _Outputs(X[150:])
    stop = EarlyStopping(monitor="val_loss", patience=3, restore_best_weights=True)
    history = model.fit(X, y, epochs=100, validation_split=0.25, callbacks=[seen, stop], seed=0)
    best, last = stop.best_epoch, history.state.epoch
    assert last == best + 3 < 100
    assert not np.array_equal(seen.means[best], seen.means[last])
    np.testing.assert_array_equal(model.layers[1].moving_mean, seen.means[best])
    np.testing.assert_array_equal(model.predict(X[150:]), seen.outputs[best])


def test_ctrl_c_returns_the_history_so_far():
    class Interrupt(Callback):
        def on_batch_end(self, loop, loss):
            if loop.state.epoch == 3:
                raise KeyboardInterrupt

    X, y = _data()
    model = _model()
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(X, y, epochs=10, callbacks=[Interrupt()], seed=0)
    assert history.state.interrupted and history.epoch == [0, 1]
