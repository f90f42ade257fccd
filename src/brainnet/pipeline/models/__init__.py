"""Models by registered name. Tabular models (``MODELS``) map (B, d) features to (B, L) logits; image
models (``IMAGE_MODELS``) map (B, 3, S, S) images to (B, L) logits. Every model is backbone + head."""

from brainnet.pipeline.models import seed_cnn, torchvision_models  # noqa: F401  (they register)
from brainnet.pipeline.models.image_classifier import (
    ImageClassifier,
    backbone_parameters,
    head_parameters,
)
from brainnet.pipeline.models.mlp import MLP
from brainnet.pipeline.models.pretrained import PretrainedReport, load_pretrained
from brainnet.pipeline.models.registry import IMAGE_MODELS, MODELS

__all__ = [
    "IMAGE_MODELS",
    "MLP",
    "MODELS",
    "ImageClassifier",
    "PretrainedReport",
    "backbone_parameters",
    "head_parameters",
    "load_pretrained",
]
