"""Sequential.save / brainnet.scratch.load: a model directory that predicts exactly as the saved model."""

import json

import numpy as np
import pytest

from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.scratch import (
    BatchNorm,
    Conv2D,
    Dense,
    Dropout,
    Flatten,
    LeakyReLU,
    MaxPool2D,
    Sequential,
    load,
)


def _mlp():
    return Sequential(
        [
            Dense(8, "relu", rng=0),
            Dropout(0.3, rng=1),
            Dense(8, rng=2, kernel_init="he_normal"),
            LeakyReLU(alpha=0.2),
            Dense(1, rng=3),
        ]
    )


def _cnn():
    return Sequential(
        [
            Conv2D(4, (3, 3), padding="same", activation="relu", rng=0),
            BatchNorm(momentum=0.5),
            MaxPool2D(2),
            Flatten(),
            Dense(3, rng=1, dtype=np.float64),
        ]
    )


def _round_trip(model, X, tmp_path):
    before = model.predict(X)
    model.save(tmp_path / "model")
    loaded = load(tmp_path / "model")
    assert not loaded.training
    np.testing.assert_array_equal(loaded.predict(X), before)
    return loaded


def test_mlp_round_trip_after_fit(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 5)), rng.integers(0, 2, size=40)
    model = _mlp()
    model.compile("adam", "bce_with_logits", ["accuracy"])
    model.fit(X, y, epochs=3, batch_size=8, seed=0)
    loaded = _round_trip(model, X, tmp_path)
    assert loaded.loss.name == "bce_with_logits" and loaded.metrics == ["accuracy"]
    assert [type(a) for a in loaded.layers] == [type(a) for a in model.layers]
    assert loaded.layers[3].alpha == 0.2 and loaded.layers[1].rate == 0.3
    loaded.fit(X, y, epochs=1, batch_size=8, seed=0)  # compiled again, so it can go on training


def test_cnn_round_trip_keeps_batchnorm_moving_statistics(tmp_path):
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(24, 6, 6, 2)), rng.integers(0, 3, size=24)
    model = _cnn()
    model.compile("adam", "softmax_cross_entropy")
    model.fit(X, y, epochs=2, batch_size=8, seed=0)
    bn = model.layers[1]
    assert not np.allclose(bn.moving_mean, 0)
    loaded = _round_trip(model, X, tmp_path)
    np.testing.assert_array_equal(loaded.layers[1].moving_mean, bn.moving_mean)
    np.testing.assert_array_equal(loaded.layers[1].moving_var, bn.moving_var)
    assert loaded.layers[4].weight.value.dtype == np.float64
    meta = json.loads((tmp_path / "model" / "brainnet.json").read_text())
    assert meta["kind"] == "scratch_sequential" and meta["input_shape"] == [6, 6, 2]
    assert meta["layers"][0] == {
        "name": "conv2d",
        "config": {"filters": 4, "kernel_size": [3, 3], "padding": "same", "activation": "relu"},
    }
    assert meta["layers"][4]["config"] == {"units": 3, "dtype": "float64"}


def test_saving_an_unbuilt_model_asks_for_data(tmp_path):
    with pytest.raises(ValueError, match="call it on data first"):
        _mlp().save(tmp_path / "model")
    assert not (tmp_path / "model").exists()


def test_existing_directory_needs_force(tmp_path):
    model = _mlp()
    model(np.zeros((1, 5)))
    model.save(tmp_path / "model")
    with pytest.raises(UserInputError):
        model.save(tmp_path / "model")
    model.save(tmp_path / "model", force=True)
    load(tmp_path / "model")


def test_tampered_weights_are_refused(tmp_path):
    model = _mlp()
    model(np.zeros((1, 5)))
    model.save(tmp_path / "model")
    weights = tmp_path / "model" / "weights.safetensors"
    blob = bytearray(weights.read_bytes())
    blob[-1] ^= 0xFF
    weights.write_bytes(bytes(blob))
    with pytest.raises(ModelFormatError, match="checksum"):
        load(tmp_path / "model")


def test_another_kind_of_model_is_refused(tmp_path):
    model = _mlp()
    model(np.zeros((1, 5)))
    model.save(tmp_path / "model")
    meta_path = tmp_path / "model" / "brainnet.json"
    meta = json.loads(meta_path.read_text())
    meta["kind"] = "mlp"
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="scratch_sequential"):
        load(tmp_path / "model")


def test_weights_that_do_not_fit_the_layers_are_refused(tmp_path):
    model = _mlp()
    model(np.zeros((1, 5)))
    model.save(tmp_path / "model")
    meta_path = tmp_path / "model" / "brainnet.json"
    meta = json.loads(meta_path.read_text())
    meta["layers"][0]["config"]["units"] = 9
    meta_path.write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="weight '0.weight'"):
        load(tmp_path / "model")


def test_config_records_the_outermost_call_without_rng():
    assert Dense(4, "relu", rng=0, dtype=np.float64).config() == {
        "units": 4,
        "activation": "relu",
        "dtype": "float64",
    }
    assert MaxPool2D(2).config() == {"pool_size": 2}
    assert MaxPool2D(2).registered_name() == "max_pool2d"
