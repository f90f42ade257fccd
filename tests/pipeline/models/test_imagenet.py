"""``--pretrained imagenet`` without a network: the file is found in torchvision's cache (a temporary TORCH_HOME
holding a small random-weight state dict under the weights API's own file name), its absence is a clear error
naming that path, nothing is downloaded unless asked, and the normalisation switches to the weights' statistics."""

import pytest
import torch
import torchvision

from brainnet.core.config import ImageTrainConfig
from brainnet.core.errors import UserInputError
from brainnet.pipeline.image_recipe import ImageRecipe
from brainnet.pipeline.models import MODELS
from brainnet.pipeline.models.imagenet import imagenet_file
from tests.pipeline.test_image_estimator import colour_images

ARCH, SIZE, L = (
    "mobilenet_v3_small",
    32,
    3,
)  # the smallest torchvision family: a file of about 10 MB


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(*args, **kwargs):
        raise AssertionError("a test tried to download")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    return tmp_path


def test_the_file_is_torchvisions_own_name_under_torch_home(torch_home):
    path, url = imagenet_file("resnet18")
    assert path == torch_home / "hub" / "checkpoints" / "resnet18-f37072fd.pth"
    assert url == torchvision.models.ResNet18_Weights.IMAGENET1K_V1.url


def test_weights_in_the_cache_are_loaded_and_the_head_is_fresh(torch_home):
    torch.manual_seed(1)
    source = torchvision.models.mobilenet_v3_small(weights=None)
    path, _ = imagenet_file(ARCH)
    path.parent.mkdir(parents=True)
    torch.save(source.state_dict(), path)
    cfg = ImageTrainConfig(model=ARCH, image_size=SIZE, pretrained="imagenet")
    torch.manual_seed(2)
    model = MODELS.get(ARCH).build((3, SIZE, SIZE), L, cfg)
    assert model.pretrained_report.head_skipped and model.pretrained_report.path == path
    torch.testing.assert_close(model.backbone.features[0][0].weight, source.features[0][0].weight)
    torch.testing.assert_close(model.backbone.classifier[0].weight, source.classifier[0].weight)
    assert model.head.out_features == L


def test_a_missing_file_names_the_path_and_nothing_downloads(torch_home):
    cfg = ImageTrainConfig(model=ARCH, image_size=SIZE, pretrained="imagenet")
    path, url = imagenet_file(ARCH)
    with pytest.raises(UserInputError) as err:
        MODELS.get(ARCH).build((3, SIZE, SIZE), L, cfg)
    assert (
        str(path) in str(err.value)
        and url in str(err.value)
        and "--download-weights" in str(err.value)
    )
    with pytest.raises(AssertionError, match="tried to download"):  # only when asked
        MODELS.get(ARCH).build((3, SIZE, SIZE), L, cfg.replace(download_weights=True))


def test_brainnets_own_models_have_no_imagenet_weights(torch_home):
    cfg = ImageTrainConfig(image_size=SIZE, pretrained="imagenet")
    with pytest.raises(UserInputError, match="no ImageNet weights for 'cnn_small'"):
        MODELS.get("cnn_small").build((3, SIZE, SIZE), L, cfg)


def test_normalisation_switches_to_the_weights_statistics():
    images = colour_images(20)
    recipe = ImageRecipe()
    notes = recipe.fit(images, ImageTrainConfig(model=ARCH, image_size=SIZE, pretrained="imagenet"))
    assert recipe.mean == pytest.approx((0.485, 0.456, 0.406)) and recipe.std == pytest.approx(
        (0.229, 0.224, 0.225)
    )
    assert "ImageNet" in notes[0]
    own = ImageRecipe()
    own.fit(images, ImageTrainConfig(model=ARCH, image_size=SIZE))
    assert own.mean != pytest.approx((0.485, 0.456, 0.406))  # the data's own statistics otherwise
