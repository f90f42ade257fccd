"""The shape every image model shares: a backbone of features and a linear head of logits, freezable as one."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from brainnet.core.errors import UserInputError
from brainnet.pipeline.models.pretrained import load_pretrained

IMAGENET = "imagenet"  # --pretrained imagenet: torchvision's weights for the architecture


class ImageClassifier(nn.Module):
    """images (B, 3, S, S) -> backbone -> features (B, C) -> head Linear(C, L) -> logits (B, L).

    Every image entry of ``MODELS`` builds one of these, so the trainer, freezing and ``--pretrained``
    treat all architectures alike: the parameters under ``backbone.`` are the backbone, the ones under
    ``head.`` the head. No sigmoid inside: it lives in the loss and in ``predict_proba``.

    Args:
        arch: the registered name ("resnet18"), used in messages.
        backbone: maps (B, 3, S, S) images to (B, C) features.
        n_features: C, the width of the backbone's output.
        n_labels: L, one logit per label.
        source_head: where the classifier lives in the source library's own checkpoints ("fc" for
            torchvision's ResNets), so their files load with the head recognised; None for brainnet's own.
    """

    def __init__(
        self,
        arch: str,
        backbone: nn.Module,
        n_features: int,
        n_labels: int,
        *,
        source_head: str | None = None,
    ) -> None:
        super().__init__()
        self.arch = arch
        self.backbone = backbone
        self.head = nn.Linear(n_features, n_labels)
        self.source_head = source_head
        self.backbone_frozen = False
        self.pretrained_report = None  # a PretrainedReport after --pretrained, else None
        self.flip_tta = False  # in eval mode: average the probabilities of the image and its mirror
        self.bf16_on_cuda = True  # bfloat16 autocast when the input is on a CUDA device
        # on the CPU, hand the backbone its input in channels-last memory order (the weights stay as they are,
        # so saved tensors do not change); set by builders where it measured faster (cnn_small)
        self.channels_last_on_cpu = False

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)  # (B, C)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        return self.head(features)  # (B, L)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        """One pass, no test-time augmentation: (B, 3, S, S) -> (B, L) float32 logits."""
        if x.is_cuda and self.bf16_on_cuda:
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return self.forward_head(self.forward_features(x)).float()
        if self.channels_last_on_cpu and x.device.type == "cpu" and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.forward_head(self.forward_features(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training or not self.flip_tta:
            return self.logits(x)
        return flip_tta_logits(self.logits, x)

    def freeze_backbone(self, frozen: bool = True) -> ImageClassifier:
        """Stop (or resume) training the backbone: only the head learns while it is frozen.

        Frozen means ``requires_grad=False`` on every backbone parameter and, from then on, the backbone's
        BatchNorm layers stay in eval mode whenever ``train()`` is called (their running statistics are
        used and never updated), so a training step leaves the backbone's state exactly as it was.
        Dropout in the backbone still follows ``train()``/``eval()``. Returns self.
        """
        self.backbone_frozen = frozen
        for p in self.backbone.parameters():
            p.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode: bool = True) -> ImageClassifier:
        super().train(mode)
        if mode and self.backbone_frozen:
            for m in self.backbone.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


TTA_EPS = (
    1e-6  # averaged probabilities are clipped to [eps, 1 - eps] before turning back into logits
)


def flip_tta_logits(logits: Any, x: torch.Tensor) -> torch.Tensor:
    """Flip test-time augmentation: p = (sigmoid(f(x)) + sigmoid(f(mirror x))) / 2, returned as the logit of
    p, so everything downstream (sigmoid, calibration, export) reads it like any model's logits.

    Args:
        logits: f, (B, 3, S, S) -> (B, L) logits.
        x: (B, 3, S, S) images; mirrored left-right (the last axis).
    """
    p = (torch.sigmoid(logits(x)) + torch.sigmoid(logits(torch.flip(x, dims=[3])))) / 2
    p = p.clamp(TTA_EPS, 1 - TTA_EPS)
    return torch.log(p) - torch.log(1 - p)  # (B, L)


def finish(model: ImageClassifier, cfg: Any) -> ImageClassifier:
    """What every builder does last: load ``cfg.pretrained`` weights (a file, or "imagenet": torchvision's
    cache), then freeze the backbone if ``cfg.freeze_backbone``."""
    if cfg.pretrained == IMAGENET:
        from brainnet.pipeline.models.imagenet import load_imagenet

        model.pretrained_report = load_imagenet(
            model, download=getattr(cfg, "download_weights", False)
        )
    elif cfg.pretrained is not None:
        model.pretrained_report = load_pretrained(model, cfg.pretrained)
    if cfg.freeze_backbone:
        model.freeze_backbone()
    return model


def image_side(arch: str, input_shape: tuple[int, ...]) -> int:
    """S of an input_shape (3, S, S); UserInputError for any other shape."""
    if len(input_shape) != 3 or input_shape[0] != 3 or input_shape[1] != input_shape[2]:
        raise UserInputError(
            f"{arch} reads square RGB images, input_shape (3, S, S); received {tuple(input_shape)}."
        )
    return input_shape[1]


def check_image_size(arch: str, image_size: int, minimum: int) -> None:
    """Refuse sizes the architecture cannot shrink to at least one pixel (or one stride) per map."""
    if not isinstance(image_size, int) or isinstance(image_size, bool) or image_size < minimum:
        raise UserInputError(
            f"{arch} needs image_size >= {minimum}; received {image_size!r}. "
            f"Resize the images to at least {minimum} pixels a side (the default is 150)."
        )
