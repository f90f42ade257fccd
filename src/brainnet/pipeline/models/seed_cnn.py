"""The tutorial convnet to start from: two conv blocks, one hidden dense layer, a linear head of logits."""

from __future__ import annotations

from typing import Any

from torch import nn

from brainnet.pipeline.models.image_classifier import (
    ImageClassifier,
    check_image_size,
    finish,
    image_side,
)

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


def build_seed_cnn(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> ImageClassifier:
    """The registered "seed_cnn": about 5.3M parameters at 150 px, almost all in the dense layer.

    Args:
        input_shape: (3, S, S); S at least 10.
        n_labels: L, one logit per label.
        cfg: reads ``pretrained`` (a local weights file, see ``pretrained.load_pretrained``, or None for random
            init) and ``freeze_backbone`` (train only the head, see ``ImageClassifier.freeze_backbone``).

    Returns:
        An ``ImageClassifier`` mapping (B, 3, S, S) images to (B, L) logits.
    """
    image_size = image_side("seed_cnn", input_shape)
    model = ImageClassifier("seed_cnn", seed_cnn_backbone(image_size), 64, n_labels)
    return finish(model, cfg)
