import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from brainnet.core.data.images import ImageSet
from brainnet.core.errors import UserInputError
from brainnet.pipeline.augment import build_transform, image_stats

MEAN, STD = (0.4, 0.5, 0.6), (0.2, 0.25, 0.3)


@pytest.fixture
def image():
    return np.random.default_rng(0).integers(0, 256, size=(40, 60, 3), dtype=np.uint8)


def _transform(train=True, **kwargs):
    return build_transform(train=train, image_size=24, mean=MEAN, std=STD, **kwargs)


@pytest.mark.parametrize("train", [True, False])
def test_shapes_and_dtypes(image, train):
    out = _transform(train)(image)
    assert type(out) is torch.Tensor
    assert out.shape == (3, 24, 24) and out.dtype == torch.float32
    assert torch.isfinite(out).all()


def test_eval_is_a_plain_resize_and_normalise(image):
    t = _transform(train=False)
    # Pillow's antialiased bilinear resize: the same pixels as the torch-free ONNX runtime
    pil = np.array(Image.fromarray(image).resize((24, 24), Image.BILINEAR))
    resized = torch.from_numpy(pil).permute(2, 0, 1)
    expected = (resized.float() / 255 - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[
        :, None, None
    ]
    torch.testing.assert_close(t(image), expected, atol=1e-5, rtol=0)
    torch.testing.assert_close(t(image), t(image), atol=0, rtol=0)
    assert not t.random


def test_resize_keeps_a_square_image_of_the_right_size_as_is():
    t = _transform(train=False)
    square = np.zeros((24, 24, 3), dtype=np.uint8)
    assert t.resize(square) is square
    assert t.resize(np.zeros((10, 70, 3), dtype=np.uint8)).shape == (24, 24, 3)


def test_train_transform_is_random_but_seeded(image):
    t = _transform()
    torch.manual_seed(3)
    first = [t(image) for _ in range(4)]
    torch.manual_seed(3)
    again = [t(image) for _ in range(4)]
    for a, b in zip(first, again, strict=True):
        torch.testing.assert_close(a, b, atol=0, rtol=0)
    assert any(not torch.equal(first[0], other) for other in first[1:])


@pytest.mark.parametrize(
    "kwargs,steps",
    [
        ({}, [v2.RandomAffine, v2.RandomHorizontalFlip]),
        ({"rotation": 0.0}, [v2.RandomAffine, v2.RandomHorizontalFlip]),
        ({"shift": 0.0}, [v2.RandomAffine, v2.RandomHorizontalFlip]),
        ({"rotation": 0.0, "shift": 0.0}, [v2.RandomHorizontalFlip]),
        ({"hflip": False}, [v2.RandomAffine]),
        ({"rotation": 0.0, "shift": 0.0, "hflip": False}, []),
    ],
)
def test_each_augmentation_can_be_switched_off(kwargs, steps):
    t = _transform(**kwargs)
    random_steps = [
        type(s)
        for s in t._finish.transforms
        if type(s) in (v2.RandomAffine, v2.RandomHorizontalFlip)
    ]
    assert random_steps == steps
    assert t.random == bool(steps)
    affine = [s for s in t._finish.transforms if isinstance(s, v2.RandomAffine)]
    if affine:
        assert affine[0].degrees == [-kwargs.get("rotation", 20.0), kwargs.get("rotation", 20.0)]
        translate = affine[0].translate
        assert (None if translate is None else list(translate)) == (
            None if kwargs.get("shift") == 0.0 else [0.2, 0.2]
        )


def test_flip_only_gives_the_image_or_its_mirror(image):
    t, plain = _transform(rotation=0.0, shift=0.0), _transform(train=False)
    expected = plain(image)
    torch.manual_seed(0)
    outs = [t(image) for _ in range(8)]
    assert all(torch.equal(o, expected) or torch.equal(o, expected.flip(-1)) for o in outs)
    assert any(torch.equal(o, expected.flip(-1)) for o in outs)


def test_all_augmentations_off_equals_eval(image):
    off = _transform(rotation=0.0, shift=0.0, hflip=False)
    torch.testing.assert_close(off(image), _transform(train=False)(image), atol=0, rtol=0)


@pytest.mark.parametrize(
    "kwargs", [{"image_size": 0}, {"shift": 1.0}, {"shift": -0.1}, {"rotation": -5.0}]
)
def test_bad_options_are_user_errors(kwargs):
    with pytest.raises(UserInputError):
        build_transform(train=True, mean=MEAN, std=STD, **kwargs)


def _constant_images(colours, size=(10, 14)):
    arrays = np.stack([np.full((*size, 3), c, dtype=np.uint8) for c in colours])  # (n, H, W, 3)
    return ImageSet("const", ["a"], np.ones((len(colours), 1), np.uint8), arrays=arrays)


def test_image_stats_of_constant_images():
    colours = [(0, 255, 10), (255, 255, 30), (51, 255, 50), (102, 255, 70)]
    mean, std = image_stats(_constant_images(colours), image_size=8)
    values = np.array(colours, dtype=np.float64) / 255  # (n, 3)
    np.testing.assert_allclose(mean, values.mean(0), atol=1e-6)
    expected_std = values.std(0)
    expected_std[1] = 1.0  # a constant channel: std floored to 1 so normalising is safe
    np.testing.assert_allclose(std, expected_std, atol=1e-6)
    assert all(isinstance(v, float) for v in mean + std)


def test_image_stats_samples_with_a_seed():
    rng = np.random.default_rng(1)
    images = _constant_images([tuple(rng.integers(0, 256, 3)) for _ in range(30)])
    a = image_stats(images, image_size=8, max_images=5, seed=4)
    assert a == image_stats(images, image_size=8, max_images=5, seed=4)
    assert a != image_stats(images, image_size=8, max_images=5, seed=5)
    assert a != image_stats(images, image_size=8)


def test_image_stats_skips_unreadable_files_and_fails_when_none_is_readable(tmp_path):
    bad = tmp_path / "x.png"
    bad.write_text("not an image")
    images = ImageSet("files", ["a"], np.ones((1, 1), np.uint8), paths=[bad])
    with pytest.raises(UserInputError, match="none of the 1 sampled images"):
        image_stats(images, image_size=8)


def test_photo_augmentation_crops_flips_and_jitters_and_is_off_at_evaluation(image):
    photo = _transform(augment="photo")
    kinds = [type(s) for s in photo._finish.transforms]
    assert (
        v2.RandomResizedCrop in kinds
        and v2.RandomHorizontalFlip in kinds
        and v2.ColorJitter in kinds
    )
    torch.manual_seed(0)
    a = photo(image)
    torch.manual_seed(0)
    assert torch.equal(a, photo(image)) and a.shape == (3, 24, 24)  # seeded, the training size
    assert not torch.equal(a, photo(image))  # random
    assert torch.equal(_transform(False, augment="photo")(image), _transform(False)(image))
    assert torch.equal(_transform(augment="none")(image), _transform(False)(image))
    with pytest.raises(UserInputError, match="augment must be"):
        _transform(augment="strong")
