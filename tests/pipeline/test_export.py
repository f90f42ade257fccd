"""ONNX export: the checker passes and onnxruntime gives the probabilities torch gives (1e-5), for the table MLP
ensemble and every registered image model; the model directory records and checks model.onnx; unexportable
layers are named."""

import copy
import hashlib
import json

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import brainnet
from brainnet.core.config import ImageTrainConfig
from brainnet.core.decision.calibration import Calibration
from brainnet.core.errors import ModelFormatError, UserInputError
from brainnet.core.model_dir import ONNX_FILE, add_onnx
from brainnet.core.onnx_engine import choose_runtime
from brainnet.pipeline.engine import build_network
from brainnet.pipeline.estimator import MultiLabelMLP
from brainnet.pipeline.export import PARITY_TOLERANCE, export_onnx
from brainnet.pipeline.image_estimator import MultiLabelImageClassifier
from brainnet.pipeline.image_recipe import ImageRecipe
from brainnet.pipeline.models import MODELS
from tests.pipeline.test_image_estimator import colour_images

N_INPUTS = 100
SIZE = 32  # the smallest size every torchvision architecture takes
IMAGE_MODELS = [name for name in MODELS.names() if MODELS.get(name).data == "images"]


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny inputs gain nothing from intra-op threads on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def table_model():
    """A 3-member MLP ensemble (cross-fitted) on 20 features, one with missing values (imputed)."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 20)) * rng.uniform(0.5, 30, size=20) + rng.normal(0, 50, size=20)
    Y = (X[:, :4] > np.median(X[:, :4], axis=0)).astype(np.uint8)
    X[rng.random(X.shape) < 0.05] = np.nan
    est = MultiLabelMLP(n_models=3, hidden_sizes=(16, 8), epochs=1, batch_size=32)
    return est.fit(X, Y), X


def random_image_model(name: str) -> MultiLabelImageClassifier:
    """A registered image model with random weights (seeded), without training, at SIZE pixels."""
    torch.manual_seed(0)
    est = MultiLabelImageClassifier(model=name, image_size=SIZE)
    recipe = ImageRecipe()
    recipe.image_size, recipe.mean, recipe.std = SIZE, (0.45, 0.5, 0.4), (0.22, 0.25, 0.3)
    est.recipe_, est.label_names_ = recipe, ["a", "b", "c"]
    est.calibration_ = Calibration.identity(3)
    est.models_ = [build_network(ImageTrainConfig(model=name, image_size=SIZE), recipe, 3)]
    return est


def onnx_twin(est, blob: bytes):
    """The same estimator predicting with the exported graph on onnxruntime (what load(runtime="onnx") holds)."""
    twin = copy.copy(est)
    twin.runtime_ = "onnx"
    twin.models_ = [ort.InferenceSession(blob, providers=["CPUExecutionProvider"])]
    return twin


def test_table_ensemble_parity_and_checker(table_model):
    est, X = table_model
    blob, record = export_onnx(est)
    onnx.checker.check_model(onnx.load_from_string(blob), full_check=True)
    assert record["n_models"] == 3 and record["input_shape"] == ["batch", 20]
    rows = np.random.default_rng(1).choice(len(X), N_INPUTS, replace=False)
    inputs = X[rows]  # (100, 20) raw, with missing values the graph fills with training medians
    assert np.isnan(inputs).any()
    want = est.predict_proba(inputs)  # torch: the mean of three members' sigmoids
    got = onnx_twin(est, blob).predict_proba(inputs)
    assert got.shape == (N_INPUTS, 4) and got.dtype == np.float64
    assert np.max(np.abs(got - want)) <= PARITY_TOLERANCE
    one = onnx_twin(est, blob).predict_proba(inputs[:1])  # the batch dimension is dynamic
    np.testing.assert_allclose(one, want[:1], atol=PARITY_TOLERANCE, rtol=0)


@pytest.mark.parametrize("name", IMAGE_MODELS)
def test_every_registered_image_model_exports_with_parity(name):
    est = random_image_model(name)
    blob, record = export_onnx(
        est
    )  # runs onnx.checker.check_model(full_check=True), raising on failure
    assert record["input_shape"] == ["batch", SIZE, SIZE, 3] and record["input_dtype"] == "uint8"
    images = colour_images(N_INPUTS, seed=2, size=SIZE)
    want = est.predict_proba(images)
    got = onnx_twin(est, blob).predict_proba(images)
    assert got.shape == (N_INPUTS, 3)
    assert np.max(np.abs(got - want)) <= PARITY_TOLERANCE


class DataDependent(torch.nn.Module):
    """Python control flow on a tensor's value: a trace would silently keep one branch."""

    def forward(self, x):
        return x if x.sum() > 0 else -x


def test_an_unexportable_layer_is_named(table_model):
    est, _ = table_model
    broken = copy.copy(est)
    broken.models_ = [torch.nn.Sequential(est.models_[0], DataDependent())]
    with pytest.raises(UserInputError, match=r"layer 'members\.0\.1' \(DataDependent\)"):
        export_onnx(broken)


def test_the_model_directory_records_and_checks_model_onnx(table_model, tmp_path):
    est, X = table_model
    path = est.save(tmp_path / "m")
    blob, record = export_onnx(est)
    add_onnx(path, blob, record)
    meta = json.loads((path / "brainnet.json").read_text())
    assert meta["onnx"]["file"] == ONNX_FILE
    assert meta["onnx"]["sha256"] == hashlib.sha256((path / ONNX_FILE).read_bytes()).hexdigest()
    with pytest.raises(UserInputError, match="--force"):
        add_onnx(path, blob, record)
    loaded = brainnet.load(path)  # auto: the ONNX graph
    assert loaded.runtime_ == "onnx" and brainnet.load(path, runtime="torch").runtime_ == "torch"
    np.testing.assert_allclose(loaded.predict_proba(X[:20]), est.predict_proba(X[:20]), atol=1e-5)
    assert loaded.evaluate(X[:50], est.predict(X[:50]))["micro_f1"] > 0.9  # its own thresholds
    with pytest.raises(UserInputError, match="runtime='torch'"):
        loaded.save(tmp_path / "again")

    (path / ONNX_FILE).write_bytes(blob[:-10])  # truncated
    with pytest.raises(ModelFormatError, match="does not match its checksum.*brainnet export"):
        brainnet.load(path)
    assert brainnet.load(path, runtime="torch").runtime_ == "torch"  # the weights still load
    (path / ONNX_FILE).unlink()
    with pytest.raises(ModelFormatError, match="model.onnx but the file is missing"):
        brainnet.load(path, runtime="onnx")
    meta["onnx"]["file"] = "../elsewhere.onnx"
    (path / "brainnet.json").write_text(json.dumps(meta))
    with pytest.raises(ModelFormatError, match='damaged "onnx" record'):
        brainnet.load(path)


def test_runtime_choice_errors(table_model, tmp_path, monkeypatch):
    est, _ = table_model
    path = est.save(tmp_path / "m")
    with pytest.raises(UserInputError, match="run `brainnet export"):
        brainnet.load(path, runtime="onnx")
    with pytest.raises(UserInputError, match="runtime must be one of auto, torch, onnx"):
        brainnet.load(path, runtime="tensorrt")
    with pytest.raises(UserInputError, match="scratch.*Use --runtime auto"):
        choose_runtime(path, {"engine": "scratch"}, "torch", "scratch")
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(UserInputError, match=r"pip install brainnet\[train\]"):
        brainnet.load(path, runtime="torch")
