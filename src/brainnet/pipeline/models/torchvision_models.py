"""torchvision architectures as brainnet image models: randomly initialised, their classifier a fresh head.

Built with ``weights=None``: nothing is ever downloaded. ImageNet weights come only from a local file the
user names (``pretrained=``); torchvision's own checkpoints load as they are, their 1000-class head skipped.
The backbone is the torchvision model with its last Linear replaced by ``nn.Identity``, so everything
before it (for MobileNetV3 the 1024-wide hidden Linear, for EfficientNet the dropout) stays in the backbone.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from brainnet.pipeline.models.image_classifier import (
    ImageClassifier,
    check_image_size,
    finish,
    image_side,
)

MIN_IMAGE_SIZE = 32  # the overall stride: below it the last stage sees only padding

# registered name -> where torchvision keeps the final Linear (attribute path, "classifier.3" = index 3)
HEADS = {
    "resnet18": "fc",
    "resnet50": "fc",
    "mobilenet_v3_small": "classifier.3",
    "efficientnet_b0": "classifier.1",
}


def torchvision_backbone(arch: str) -> tuple[nn.Module, int]:
    """torchvision's ``arch`` with ``weights=None`` and its final Linear cut off.

    Returns:
        (backbone mapping (B, 3, S, S) to (B, C), C).
    """
    import torchvision.models

    net = getattr(torchvision.models, arch)(weights=None)
    *path, last = HEADS[arch].split(".")
    parent = net
    for part in path:
        parent = getattr(parent, part)
    linear = parent[int(last)] if last.isdigit() else getattr(parent, last)
    assert isinstance(linear, nn.Linear), f"{arch}: {HEADS[arch]} is not the classifier"
    if last.isdigit():
        parent[int(last)] = nn.Identity()
    else:
        setattr(parent, last, nn.Identity())
    return net, linear.in_features


def build_torchvision(
    arch: str, input_shape: tuple[int, ...], n_labels: int, cfg: Any
) -> ImageClassifier:
    """A torchvision architecture as an ``ImageClassifier`` (the registered torchvision names).

    Args:
        arch: a key of ``HEADS`` (the torchvision constructor's name).
        input_shape: (3, S, S); S at least 32. The networks pool adaptively, so the size does not change the
            weights, only the cost.
        n_labels: L, one logit per label.
        cfg: reads ``pretrained`` (a local weights file, see ``pretrained.load_pretrained``, e.g. torchvision's
            own ``resnet18-f37072fd.pth`` downloaded by you; None for random init) and ``freeze_backbone``
            (train only the head, see ``ImageClassifier.freeze_backbone``).

    Returns:
        An ``ImageClassifier`` mapping (B, 3, S, S) images to (B, L) logits.
    """
    check_image_size(arch, image_side(arch, input_shape), MIN_IMAGE_SIZE)
    backbone, width = torchvision_backbone(arch)
    model = ImageClassifier(arch, backbone, width, n_labels, source_head=HEADS[arch])
    return finish(model, cfg)
