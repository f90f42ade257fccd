import json

import numpy as np
import pytest

from brainnet.core.errors import ModelFormatError
from brainnet.core.model_dir import FORMAT_VERSION, load_model_dir, save_model_dir


@pytest.fixture
def model(tmp_path):
    path = tmp_path / "m"
    save_model_dir(
        path,
        {"kind": "test", "labels": ["a", "b"]},
        {"w": np.arange(6, dtype=np.float32).reshape(2, 3)},
    )
    return path


def test_round_trip(model):
    meta, tensors = load_model_dir(model)
    assert meta["format_version"] == 1 and meta["labels"] == [
        "a",
        "b",
    ]  # nothing a 0.2 reader lacks
    np.testing.assert_array_equal(tensors["w"], np.arange(6, dtype=np.float32).reshape(2, 3))


def test_a_model_with_categorical_encoding_is_written_as_version_2(tmp_path):
    """A version-1 reader would ignore "encoding" and fail on the width; version 2 makes it say "upgrade"."""
    meta = {"kind": "test", "labels": ["a"], "encoding": {"columns": []}}
    save_model_dir(tmp_path / "m", meta, {"w": np.zeros(2, np.float32)})
    loaded, _ = load_model_dir(tmp_path / "m")
    assert loaded["format_version"] == 2 and loaded["encoding"] == {"columns": []}


@pytest.mark.parametrize(
    ("method", "a", "version"),
    [("none", [1.0, 0.0], 3), ("platt", [0.8, 0.0], 1), ("none", [1.0, 1.0], 1)],
)
def test_constant_labels_under_no_calibration_are_written_as_version_3(
    tmp_path, method, a, version
):
    """A version-2 reader applies no calibration for "none", so it would silently drop the constant of a label
    that never varied in training; version 3 makes it say "upgrade". Temperature and Platt scaling apply the
    slope 0 in any version."""
    meta = {"kind": "test", "calibration": {"method": method, "a": a, "b": [0.0, -4.6]}}
    save_model_dir(tmp_path / "m", meta, {"w": np.zeros(2, np.float32)})
    loaded, _ = load_model_dir(tmp_path / "m")
    assert loaded["format_version"] == version <= FORMAT_VERSION == 3


def test_existing_model_needs_force(model):
    from brainnet.core.errors import UserInputError

    with pytest.raises(UserInputError, match="--force"):
        save_model_dir(model, {}, {"w": np.zeros(1)})
    save_model_dir(model, {"kind": "new"}, {"w": np.zeros(1)}, force=True)
    assert load_model_dir(model)[0]["kind"] == "new"


def test_truncated_weights(model):
    weights = model / "weights.safetensors"
    weights.write_bytes(weights.read_bytes()[:-7])
    with pytest.raises(ModelFormatError, match="corrupt, truncated"):
        load_model_dir(model)


def test_corrupt_json(model):
    (model / "brainnet.json").write_text('{"format": "brainnet-mo')
    with pytest.raises(ModelFormatError, match="not valid JSON"):
        load_model_dir(model)


def test_foreign_directory(tmp_path):
    (tmp_path / "brainnet.json").write_text(json.dumps({"hello": "world"}))
    with pytest.raises(ModelFormatError, match="not a brainnet model file"):
        load_model_dir(tmp_path)
    with pytest.raises(ModelFormatError, match="brainnet.json is missing"):
        load_model_dir(tmp_path / ".." / tmp_path.name / "..")


def test_newer_version_asks_for_an_upgrade(model):
    meta = json.loads((model / "brainnet.json").read_text())
    meta["format_version"] = FORMAT_VERSION + 1
    (model / "brainnet.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="Upgrade brainnet"):
        load_model_dir(model)


def test_weights_that_pass_the_checksum_but_are_not_safetensors(model):
    import hashlib

    blob = b"\x80\x04\x95 a pickle, not safetensors"
    (model / "weights.safetensors").write_bytes(blob)
    meta = json.loads((model / "brainnet.json").read_text())
    meta["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    (model / "brainnet.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match="not a valid safetensors file"):
        load_model_dir(model)


def test_missing_paths(tmp_path):
    with pytest.raises(ModelFormatError, match="model directory not found"):
        load_model_dir(tmp_path / "nope")
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ModelFormatError, match="is a file"):
        load_model_dir(f)


def test_a_0d_array_keeps_its_shape(tmp_path):
    """np.ascontiguousarray makes 0-d arrays 1-d; BatchNorm's num_batches_tracked is 0-d."""
    save_model_dir(tmp_path / "m", {"kind": "x"}, {"n": np.array(7, dtype=np.int64)})
    assert load_model_dir(tmp_path / "m")[1]["n"].shape == ()
