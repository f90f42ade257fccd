"""MultiLabelImageClassifier: the tabular contract on images (fit, thresholds, metrics, files), bad files survived."""

import json

import numpy as np
import pytest
from PIL import Image
from sklearn.base import clone

import brainnet
from brainnet.core.data.images import ImageSet
from brainnet.core.decision.metrics import average_precision
from brainnet.core.errors import BadImageError, UserInputError
from brainnet.pipeline.image_estimator import MultiLabelImageClassifier

FAST = {"image_size": 24, "epochs": 3, "patience": 3, "batch_size": 16, "lr": 3e-3}


def colour_images(n: int, seed: int = 0, size: int = 24) -> ImageSet:
    """Labels "red" and "blue": a red square in the left half, a blue one in the right half (learnable)."""
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, size=(n, 2)).astype(np.uint8)
    Y[Y.sum(axis=1) == 0, 0] = 1
    arrays = rng.integers(90, 140, size=(n, size, size, 3)).astype(np.uint8)
    half = size // 2
    for i, (red, blue) in enumerate(Y):
        if red:
            arrays[i, 4 : half - 2, 2 : half - 2] = (230, 20, 20)
        if blue:
            arrays[i, 4 : half - 2, half + 2 : size - 2] = (20, 20, 230)
    return ImageSet("colours", ["red", "blue"], Y=Y, arrays=arrays, source={"kind": "generated"})


@pytest.fixture(scope="module")
def fitted():
    return MultiLabelImageClassifier(**{**FAST, "epochs": 8, "patience": 8}).fit(colour_images(160))


def test_learns_and_honours_the_contract(fitted):
    test = colour_images(60, seed=1)
    P = fitted.predict_proba(test)
    assert P.shape == (60, 2) and ((P > 0) & (P < 1)).all()
    assert average_precision(test.Y, P) > 0.9
    assert fitted.thresholds_.thresholds.shape == (2,)
    assert fitted.predict(test).shape == (60, 2)
    result = fitted.evaluate(test)
    assert result["n_samples"] == 60 and result["micro_f1"] > 0.8
    assert (
        fitted.training_[0]["best_epoch"] >= 1
        and len(fitted.history_[0]) == fitted.training_[0]["epochs_run"]
    )
    assert len(fitted.mean_) == 3 and len(fitted.std_) == 3


def test_save_load_round_trip_through_brainnet_load(fitted, tmp_path):
    test = colour_images(20, seed=2)
    fitted.save(tmp_path / "m")
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["kind"] == "multilabel_image" and meta["config"]["model"] == "cnn_small"
    assert meta["normalization"]["mean"] == list(fitted.mean_)
    loaded = brainnet.load(tmp_path / "m")
    assert isinstance(loaded, MultiLabelImageClassifier)
    np.testing.assert_allclose(loaded.predict_proba(test), fitted.predict_proba(test), atol=1e-6)
    assert np.array_equal(loaded.thresholds_.thresholds, fitted.thresholds_.thresholds)


def test_same_seed_same_numbers():
    data, test = colour_images(48), colour_images(10, seed=5)
    a = MultiLabelImageClassifier(**FAST, seed=4).fit(data).predict_proba(test)
    b = MultiLabelImageClassifier(**FAST, seed=4).fit(data).predict_proba(test)
    assert np.array_equal(a, b)


def test_the_datas_own_val_split_is_used_and_test_rows_are_left_out():
    data = colour_images(60)
    data.split = np.array(["train"] * 40 + ["val"] * 12 + ["test"] * 8)
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 1}).fit(data)
    assert est.n_train_ == 40 and est.n_val_ == 12 and "own val split" in est.validation_


def _files(tmp_path, n=24):
    data = colour_images(n)
    paths = []
    for i, a in enumerate(data.arrays):
        path = tmp_path / f"img{i}.png"
        Image.fromarray(a).save(path)
        paths.append(path)
    good = tmp_path / "good.jpg"
    Image.fromarray(data.arrays[0]).save(good, quality=95)
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    text = tmp_path / "notes.png"
    text.write_text("not an image")
    return data, paths, truncated, text


def test_one_bad_file_never_kills_training(tmp_path):
    data, paths, truncated, text = _files(tmp_path)
    Y = np.vstack([data.Y, [[1, 0], [0, 1]]])
    images = ImageSet("files", ["red", "blue"], Y=Y, paths=[*paths, truncated, text])
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 2}).fit(images)
    assert any("could not be read" in note for note in est.notes_)
    with pytest.raises(BadImageError):
        MultiLabelImageClassifier(**{**FAST, "epochs": 2, "strict": True}).fit(images)

    P, bad = est.predict_images([paths[0], truncated, text, tmp_path / "missing.png"])
    assert sorted(bad) == [1, 2, 3] and np.isfinite(P[0]).all() and np.isnan(P[1:]).all()
    assert "truncated" in bad[1] or "corrupt" in bad[1]
    with pytest.raises(UserInputError, match="3 of 4 inputs could not be read"):
        est.predict_proba([paths[0], truncated, text, tmp_path / "missing.png"])


def test_sklearn_params_and_bad_settings():
    est = MultiLabelImageClassifier(model="resnet18", image_size=64)
    assert clone(est).get_params() == est.get_params() and est.get_params()["model"] == "resnet18"
    with pytest.raises(TypeError, match="unexpected keyword"):
        MultiLabelImageClassifier(hidden_sizes=(8,))
    with pytest.raises(UserInputError, match="unknown model 'resnt18'; available: "):
        MultiLabelImageClassifier(model="resnt18").fit(colour_images(10))
    with pytest.raises(UserInputError, match="has no labels"):
        MultiLabelImageClassifier(**FAST).fit(ImageSet("x", ["a"], arrays=colour_images(8).arrays))


def test_checkpoint_during_training_is_a_loadable_model(tmp_path):
    MultiLabelImageClassifier(**FAST).fit(colour_images(48), checkpoint=tmp_path / "ckpt")
    ckpt = brainnet.load(tmp_path / "ckpt")
    assert ckpt.status_ == "checkpoint" and ckpt.predict_proba(colour_images(4, seed=9)).shape == (
        4,
        2,
    )


def test_ctrl_c_keeps_the_best_epoch_and_before_the_first_epoch_keeps_nothing(monkeypatch):
    from brainnet.pipeline.trainer import Trainer

    original = Trainer._train_epoch

    def interrupt_at_epoch_3(self, batches):
        if self.state.epoch == 3:
            raise KeyboardInterrupt
        return original(self, batches)

    monkeypatch.setattr(Trainer, "_train_epoch", interrupt_at_epoch_3)
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 5}).fit(colour_images(48))
    assert est.interrupted_ and est.training_[0]["epochs_run"] == 3
    assert any("interrupted (Ctrl-C) during epoch 3" in note for note in est.notes_)

    monkeypatch.setattr(
        Trainer, "_train_epoch", lambda self, batches: (_ for _ in ()).throw(KeyboardInterrupt)
    )
    with pytest.raises(KeyboardInterrupt):
        MultiLabelImageClassifier(**FAST).fit(colour_images(48))


def test_images_cross_fit_like_tables():
    """n_models > 1 on images: the same plan as tables (stratified folds, out-of-fold thresholds, mean)."""
    images = colour_images(60)
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 2, "n_models": 3}).fit(images)
    assert len(est.models_) == 3 and len(est.training_) == 3
    assert est.n_val_ == 60 and "3-fold stratified cross-fitting" in est.validation_
    P = est.predict_proba(colour_images(5, seed=3))
    assert P.shape == (5, 2) and np.isfinite(P).all()


def test_checkpoint_records_its_epoch_monitored_value_and_time(tmp_path):
    from brainnet.core.model_dir import read_model_meta

    MultiLabelImageClassifier(**FAST).fit(colour_images(48), checkpoint=tmp_path / "ckpt")
    record = read_model_meta(tmp_path / "ckpt")["checkpoint"]
    assert record["epoch"] >= 1 and record["monitor"] == "val_average_precision"
    assert 0 <= record["value"] <= 1 and record["of_models"] == 1
    assert record["time"].endswith(("Z", "+00:00"))  # ISO 8601, UTC


def test_explicit_validation_images_train_on_all_given_images():
    train, val = colour_images(40), colour_images(16, seed=5)
    est = MultiLabelImageClassifier(**{**FAST, "epochs": 1}).fit(train, val)
    assert (
        est.n_train_ == 40
        and est.n_val_ == 16
        and "given validation set (16 rows)" in est.validation_
    )
    unlabelled = ImageSet("v", ["red", "blue"], arrays=val.arrays)
    with pytest.raises(UserInputError, match="validation images must be a labelled ImageSet"):
        MultiLabelImageClassifier(**FAST).fit(train, unlabelled)
