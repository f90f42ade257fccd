"""Model directories written by brainnet 0.1.0 (main before the one-estimator redesign) still load and predict
the same: ``tests/fixtures/models_v0_1_0`` holds a torch and a scratch table model and a seed-CNN image model,
with the probabilities they gave when they were saved (``expected.json``; made by ``README_make.py.txt``)."""

import json
from pathlib import Path

import numpy as np
import pytest

import brainnet
from brainnet.core.data.images import ImageSet

FIXTURES = Path(__file__).parent / "fixtures" / "models_v0_1_0"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())


@pytest.mark.parametrize("name", ["table_torch", "table_scratch"])
def test_table_models_of_0_1_0_predict_as_saved(name):
    model = brainnet.load(FIXTURES / name)
    X = np.array(EXPECTED[name]["X"])
    np.testing.assert_allclose(model.predict_proba(X), EXPECTED[name]["proba"], atol=1e-6)
    np.testing.assert_array_equal(model.predict(X), EXPECTED[name]["predict"])
    assert model.label_names_ == ["a", "b", "c"]


def test_image_model_of_0_1_0_predicts_as_saved():
    model = brainnet.load(FIXTURES / "images_seed_cnn")
    rng = np.random.default_rng(0)
    (
        rng.normal(size=(60, 5)),
        rng.normal(size=(5, 3)),
        rng.normal(size=(60, 3)),
        rng.normal(size=(7, 5)),
    )
    arrays = rng.integers(0, 255, size=(24, 16, 16, 3), dtype=np.uint8)[:5]
    images = ImageSet("q", ["p", "q"], arrays=arrays)
    expected = EXPECTED["images_seed_cnn"]
    np.testing.assert_allclose(model.predict_proba(images), expected["proba"], atol=1e-5)
    np.testing.assert_array_equal(model.predict(images), expected["predict"])
