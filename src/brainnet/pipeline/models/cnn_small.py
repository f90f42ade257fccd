"""``cnn_small``: the compact from-scratch network of the photo recipe, four BatchNorm conv blocks and global
average pooling.

Unlike ``seed_cnn``'s flatten head, global average pooling makes the features translation-invariant and keeps the
parameter count independent of the image size (about 0.4M at any size), which is what small photo sets need.
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

WIDTHS = (32, 64, 128, 256)  # channels of the four blocks; each block halves the side
MIN_IMAGE_SIZE = 16  # four 2x poolings keep at least one pixel
DROPOUT = 0.2  # before the head


def conv_block(c_in: int, c_out: int) -> nn.Sequential:
    """(B, c_in, s, s) -> Conv 3x3 (no bias) -> BatchNorm -> ReLU -> MaxPool 2 -> (B, c_out, s // 2, s // 2)."""
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


def cnn_small_backbone(widths: tuple[int, ...], dropout: float = DROPOUT) -> nn.Sequential:
    """(B, 3, S, S) -> four ``conv_block``s -> global average pool -> Dropout -> (B, widths[-1])."""
    blocks, c_in = [], 3
    for c_out in widths:
        blocks.append(conv_block(c_in, c_out))
        c_in = c_out
    return nn.Sequential(
        *blocks,
        nn.AdaptiveAvgPool2d(1),  # (B, C, 1, 1)
        nn.Flatten(),  # (B, C)
        nn.Dropout(dropout),
    )


def build_cnn_small(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> ImageClassifier:
    """The registered "cnn_small" (the default image model).

    Args:
        input_shape: (3, S, S); S at least 16 (64 by default).
        n_labels: L, one logit per label.
        cfg: reads ``pretrained`` (a local weights file; there are no ImageNet weights for it) and
            ``freeze_backbone``.

    Returns:
        An ``ImageClassifier`` mapping (B, 3, S, S) images to (B, L) logits.
    """
    check_image_size("cnn_small", image_side("cnn_small", input_shape), MIN_IMAGE_SIZE)
    model = ImageClassifier("cnn_small", cnn_small_backbone(WIDTHS), WIDTHS[-1], n_labels)
    model.channels_last_on_cpu = (
        True  # its convolutions train faster on channels-last input (README)
    )
    return finish(model, cfg)
