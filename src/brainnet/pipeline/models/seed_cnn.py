"""The tutorial convnet to start from: two conv blocks, one hidden dense layer, a linear head of logits."""

from __future__ import annotations

from pathlib import Path

from torch import nn

from brainnet.pipeline.models.image_classifier import (
    ImageClassifier,
    check_image_size,
    finish,
)
from brainnet.pipeline.models.registry import IMAGE_MODELS

MIN_IMAGE_SIZE = (
    10  # 10 -> conv 8 -> pool 4 -> conv 2 -> pool 1: the smallest size that keeps a pixel
)
DROPOUT = (
    0.5  # the tutorial's value: the dense layer holds ~98% of the weights at 150 px, so it needs it
)


def seed_cnn_backbone(image_size: int, dropout: float = DROPOUT) -> nn.Sequential:
    """(B, 3, S, S) -> Conv 3x3 (32) ReLU MaxPool 2 -> Conv 3x3 (64) ReLU MaxPool 2 -> Flatten
    -> Linear(64 * s * s, 64) ReLU Dropout -> (B, 64), with s = ((S - 2) // 2 - 2) // 2.

    Args:
        image_size: S, the side of the square input images (>= ``MIN_IMAGE_SIZE``).
        dropout: dropout probability before the head (0.5 by default, as in the tutorial).
    """
    check_image_size("seed_cnn", image_size, MIN_IMAGE_SIZE)
    side = ((image_size - 2) // 2 - 2) // 2  # spatial side after the two conv + pool blocks
    return nn.Sequential(
        nn.Conv2d(3, 32, 3),  # (B, 32, S-2, S-2)
        nn.ReLU(),
        nn.MaxPool2d(2),  # (B, 32, (S-2)//2, ...)
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),  # (B, 64, side, side)
        nn.Flatten(),  # (B, 64 * side * side)
        nn.Linear(64 * side * side, 64),
        nn.ReLU(),
        nn.Dropout(dropout),  # (B, 64)
    )


@IMAGE_MODELS.register("seed_cnn")
def build_seed_cnn(
    n_labels: int,
    *,
    image_size: int = 150,
    pretrained: str | Path | None = None,
    freeze_backbone: bool = False,
) -> ImageClassifier:
    """The seed CNN: about 5.3M parameters at 150 px, almost all in the dense layer.

    Args:
        n_labels: L, one logit per label.
        image_size: side of the square input images; at least 10.
        pretrained: a local weights file (see ``pretrained.load_pretrained``), or None for random init.
        freeze_backbone: train only the head (see ``ImageClassifier.freeze_backbone``).

    Returns:
        An ``ImageClassifier`` mapping (B, 3, S, S) images to (B, L) logits.
    """
    model = ImageClassifier("seed_cnn", seed_cnn_backbone(image_size), 64, n_labels)
    return finish(model, pretrained, freeze_backbone)
