"""Grad-CAM on a network whose answer is known: label 0 fires on red pixels, label 1 on green ones, so each
label's map must sit on its own square of a synthetic image. (A trained estimator's maps:
tests/reporting/test_build.py.)"""

import numpy as np
import pytest
import torch
from torch import nn

from brainnet.pipeline.gradcam import grad_cam, last_conv
from brainnet.pipeline.models.image_classifier import ImageClassifier

RED, GREEN = (slice(4, 12), slice(4, 12)), (slice(20, 28), slice(18, 26))


def colour_detector() -> ImageClassifier:
    """conv (channel 0: R - G - B, channel 1: G - R - B at the centre pixel) -> ReLU -> global average pool
    -> identity head: logit 0 is the mean redness, logit 1 the mean greenness."""
    conv = nn.Conv2d(3, 2, 3, padding=1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, :, 1, 1] = torch.tensor([1.0, -1.0, -1.0])
        conv.weight[1, :, 1, 1] = torch.tensor([-1.0, 1.0, -1.0])
    backbone = nn.Sequential(conv, nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = ImageClassifier("colours", backbone, 2, 2)
    with torch.no_grad():
        model.head.weight.copy_(torch.eye(2))
        model.head.bias.zero_()
    return model


def two_squares() -> torch.Tensor:
    x = torch.zeros(1, 3, 32, 32)  # black background
    x[0, 0, RED[0], RED[1]] = 1.0
    x[0, 1, GREEN[0], GREEN[1]] = 1.0
    return x


def _share_inside(cam: np.ndarray, box) -> float:
    return float(cam[box].sum() / cam.sum())


@pytest.mark.parametrize("label,own,other", [(0, RED, GREEN), (1, GREEN, RED)])
def test_each_labels_map_sits_on_its_own_object(label, own, other):
    model = colour_detector().train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    cam = grad_cam(model, two_squares(), label)[0]  # (32, 32)
    assert cam.shape == (32, 32) and cam.max() == pytest.approx(1.0) and cam.min() >= 0
    assert _share_inside(cam, own) > 0.9 and _share_inside(cam, other) < 0.02
    peak = np.unravel_index(cam.argmax(), cam.shape)
    assert own[0].start <= peak[0] < own[0].stop and own[1].start <= peak[1] < own[1].stop
    assert model.training  # the mode is put back, the weights untouched, no gradient left behind
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())


def test_the_map_follows_the_object_when_it_moves():
    x = torch.zeros(1, 3, 32, 32)
    x[0, 0, 24:30, 2:8] = 1.0  # the red square, bottom left
    cam = grad_cam(colour_detector(), x, 0)[0]
    assert _share_inside(cam, (slice(24, 30), slice(2, 8))) > 0.9


def test_a_frozen_backbone_still_gets_a_map():
    model = colour_detector().freeze_backbone()
    cam = grad_cam(model, two_squares(), 0)[0]
    assert _share_inside(cam, RED) > 0.9


def test_a_network_without_a_convolution_is_refused():
    with pytest.raises(ValueError, match="no Conv2d"):
        last_conv(nn.Sequential(nn.Flatten(), nn.Linear(3, 2)))


def test_the_last_convolution_is_hooked():
    model = colour_detector()
    assert last_conv(model) is model.backbone[0]
