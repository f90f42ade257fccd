"""Built-in image data: deterministic generators, disjoint digit pools, the registry."""

from __future__ import annotations

import numpy as np
import pytest

from brainnet.core.data.builtin_images import (
    DIGIT_LABELS,
    IMAGE_DATASETS,
    SHAPE_KINDS,
    _digit_pools,
    image_dataset_names,
    load_image_dataset,
    make_digits_mosaic,
    make_shapes,
)
from brainnet.core.errors import UserInputError


def test_shapes_are_deterministic_multi_label_colour_images():
    data = make_shapes(40, size=64, seed=3)
    assert data.arrays.shape == (40, 64, 64, 3) and data.arrays.dtype == np.uint8
    assert data.Y.shape == (40, len(SHAPE_KINDS)) and data.Y.dtype == np.uint8
    assert data.label_names == list(SHAPE_KINDS) and data.paths is None
    assert data.Y.sum(axis=1).min() >= 1  # never an image without a shape
    assert 1 < data.Y.sum(axis=1).mean() < 4  # each kind present about half the time
    assert not np.array_equal(data.arrays[..., 0], data.arrays[..., 1])  # colour
    again = make_shapes(40, size=64, seed=3)
    np.testing.assert_array_equal(again.arrays, data.arrays)
    np.testing.assert_array_equal(again.Y, data.Y)
    other = make_shapes(40, size=64, seed=4)
    assert not np.array_equal(other.arrays, data.arrays)


def test_a_shape_stands_out_from_its_background():
    data = make_shapes(60, size=64, seed=0)
    single = np.flatnonzero(data.Y.sum(axis=1) == 1)
    assert single.size
    for i in single:
        image = data.arrays[i].astype(np.float64)
        corners = np.concatenate([image[:3, :3].reshape(-1, 3), image[-3:, -3:].reshape(-1, 3)])
        distance = np.abs(image - np.median(corners, axis=0)).sum(axis=2)  # (H, W)
        share = (distance > 120).mean()
        assert 0.01 < share < 0.5, (i, share)  # a shape of 15-40% of the side, not the whole image


def test_shapes_input_errors():
    with pytest.raises(UserInputError, match="n must be a positive number"):
        make_shapes(0)
    with pytest.raises(UserInputError, match="size must be an integer >= 32"):
        make_shapes(2, size=16)


def test_digit_mosaics():
    data = make_digits_mosaic(50, seed=2)
    assert data.arrays.shape == (50, 16, 16, 3) and data.label_names == list(DIGIT_LABELS)
    np.testing.assert_array_equal(data.arrays[..., 0], data.arrays[..., 2])  # gray as RGB
    assert data.arrays.max() == 255
    assert set(data.Y.sum(axis=1)) <= {1, 2, 3, 4} and data.Y.sum(axis=1).mean() > 2
    np.testing.assert_array_equal(make_digits_mosaic(50, seed=2).arrays, data.arrays)
    big = make_digits_mosaic(3, seed=2, cell=16)
    assert big.arrays.shape == (3, 32, 32, 3)
    np.testing.assert_array_equal(big.arrays[:, ::2, ::2], data.arrays[:3])
    with pytest.raises(UserInputError, match="multiple of 8"):
        make_digits_mosaic(3, cell=12)
    with pytest.raises(UserInputError, match="pool must be"):
        make_digits_mosaic(3, pool="val")


def test_test_mosaics_never_reuse_a_training_digit_image():
    images, target, pools = _digit_pools()
    assert not np.intersect1d(pools["train"], pools["test"]).size
    assert pools["train"].size + pools["test"].size == len(target)
    assert set(target[pools["test"]]) == set(range(10))
    mosaics = make_digits_mosaic(30, seed=1, pool="test").arrays[..., 0]  # (n, 16, 16)
    cells = mosaics.reshape(30, 2, 8, 2, 8).transpose(0, 1, 3, 2, 4).reshape(-1, 64)  # (4n, 64)
    flat = images.reshape(len(images), 64)
    for cell in cells:
        rows = np.flatnonzero((flat == cell).all(axis=1))
        assert np.isin(rows, pools["test"]).any() and not np.isin(rows, pools["train"]).all()


def test_registry_and_loading():
    assert image_dataset_names() == ["digits_mosaic", "shapes"]
    info = IMAGE_DATASETS.get("digits_mosaic")
    test = load_image_dataset("digits_mosaic", "test")
    train = load_image_dataset("digits_mosaic", "train")
    assert (len(train), len(test)) == (info.n_train, info.n_test)
    assert test.name == "digits_mosaic (test)"
    assert test.source == {"kind": "builtin", "name": "digits_mosaic", "split": "test"}
    assert test.arrays.shape[1:3] == info.image_size and test.label_names == list(info.labels)
    cardinality = (train.Y.sum() + test.Y.sum()) / (len(train) + len(test))
    assert cardinality == pytest.approx(info.cardinality, abs=0.01)
    with pytest.raises(UserInputError, match="unknown split 'val'"):
        load_image_dataset("shapes", "val")
    with pytest.raises(UserInputError, match="available: digits_mosaic, shapes"):
        load_image_dataset("shape", "train")


def test_shapes_info_matches_the_generator():
    info = IMAGE_DATASETS.get("shapes")
    sample = make_shapes(3, seed=1)
    assert sample.arrays.shape[1:3] == info.image_size
    assert info.labels == SHAPE_KINDS and info.n_labels == len(SHAPE_KINDS)
    assert info.published == {} and info.n_train > info.n_test
