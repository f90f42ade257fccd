"""Distillation (``TrainConfig.distill``, ``pipeline/distill.py``): the ensemble becomes one student network
whose probabilities are close to the ensemble's, saved, loaded and exported as an ordinary one-member model
with the ensemble's calibration and thresholds; refused where there is no table MLP ensemble to learn from."""

import copy

import numpy as np
import pytest

import brainnet
from brainnet import MultiLabelMLP
from brainnet.core.config import TrainConfig
from brainnet.core.errors import UserInputError

# try_deeper 0: the student's closeness below was measured against a one-layer ensemble
SMALL = dict(
    hidden_sizes=(32,), batch_size=32, epochs=6, patience=10, n_models=3, seed=0, try_deeper=0
)
# measured with SMALL and distill=16 (6 epochs): mean |P_student - P_ensemble| 0.018 on the training rows (max
# 0.11) and 0.017 on new rows (max 0.14); the ensemble's first member alone is 0.05 from it (max 0.34)
MEAN_CLOSE, MAX_CLOSE = 0.03, 0.2

pytestmark = pytest.mark.usefixtures("one_thread")


def _data(n=200, d=8, L=3, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    Y = (X[:, :L] + X[:, L : 2 * L] ** 2 - 1 + 0.5 * rng.normal(size=(n, L)) > 0).astype(np.int64)
    return X, Y


@pytest.fixture(scope="module")
def fits():
    """(the ensemble, its distilled twin: the same members, then a student of 16 units; X, Y)."""
    X, Y = _data()
    ensemble = MultiLabelMLP(**SMALL).fit(X, Y)
    distilled = MultiLabelMLP(**SMALL, distill=16).fit(X, Y)
    return ensemble, distilled, X, Y


def test_the_distilled_model_is_one_student_close_to_the_ensemble(fits):
    ensemble, distilled, X, _ = fits
    (student,) = distilled.models_
    assert student.head.in_features == 16 and len(ensemble.models_) == 3
    assert distilled.distilled_["width"] == 16 and distilled.distilled_["members"] == 3
    assert "distilled the 3 models into one of 16 units" in " ".join(distilled.notes_)
    # the decision layer is the ensemble's (fitted on its out-of-fold probabilities, before distilling)
    assert distilled.calibration_.to_dict() == ensemble.calibration_.to_dict()
    np.testing.assert_array_equal(distilled.thresholds_.thresholds, ensemble.thresholds_.thresholds)
    member = copy.copy(ensemble)
    member.models_ = ensemble.models_[:1]  # its first member alone, with its calibration
    for rows in (X, _data(seed=5)[0]):  # the training rows, new rows
        P = ensemble.predict_proba(rows)
        gap = np.abs(distilled.predict_proba(rows) - P)
        assert gap.mean() < MEAN_CLOSE and gap.max() < MAX_CLOSE, (gap.mean(), gap.max())
        assert gap.mean() < 0.5 * np.abs(member.predict_proba(rows) - P).mean()


def test_same_seed_same_student():
    X, Y = _data(n=120, seed=1)
    params = dict(SMALL, epochs=3, distill=8)
    a, b = MultiLabelMLP(**params).fit(X, Y), MultiLabelMLP(**params).fit(X, Y)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    assert a.distilled_ == b.distilled_


def test_a_distilled_model_saves_loads_and_exports_as_one_member(fits, tmp_path):
    import json

    from brainnet.pipeline.export import PARITY_TOLERANCE, export_onnx

    _, distilled, X, _ = fits
    distilled.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["n_models"] == 1 and meta["distilled"]["width"] == 16
    # the options as given
    assert meta["config"]["distill"] == 16 and meta["config"]["n_models"] == 3
    loaded = brainnet.load(tmp_path / "m")
    assert len(loaded.models_) == 1 and loaded.distilled_ == distilled.distilled_
    np.testing.assert_allclose(loaded.predict_proba(X), distilled.predict_proba(X), atol=1e-6)
    np.testing.assert_array_equal(loaded.predict(X), distilled.predict(X))
    blob, record = export_onnx(loaded)
    assert record["n_models"] == 1
    import onnxruntime as ort

    twin = brainnet.load(tmp_path / "m")
    twin.runtime_ = "onnx"
    twin.models_ = [ort.InferenceSession(blob, providers=["CPUExecutionProvider"])]
    assert np.abs(twin.predict_proba(X) - distilled.predict_proba(X)).max() <= PARITY_TOLERANCE


def test_distill_is_refused_where_there_is_no_table_mlp_ensemble():
    from brainnet.pipeline.image_estimator import MultiLabelImageClassifier
    from brainnet.scratch.estimator import ScratchMultiLabelMLP

    X, Y = _data(n=60)
    with pytest.raises(UserInputError, match="n_models=1, distill=16.*n_models of 2 or more"):
        TrainConfig(n_models=1, distill=16)
    with pytest.raises(UserInputError, match="distill must be a student width >= 1"):
        TrainConfig(distill=-1)
    with pytest.raises(UserInputError, match="received model 'snn_mlp', distill=16"):
        MultiLabelMLP(**dict(SMALL, epochs=1), model="snn_mlp", time_steps=2, distill=16).fit(X, Y)
    with pytest.raises(UserInputError, match="scratch engine keeps its ensemble.*--engine torch"):
        ScratchMultiLabelMLP(**dict(SMALL, epochs=1), distill=16).fit(X, Y)
    with pytest.raises(TypeError, match="distill"):  # images have no such option
        MultiLabelImageClassifier(distill=16)
