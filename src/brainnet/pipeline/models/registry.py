"""The model registries.

``MODELS.get("mlp")(n_features, n_labels, config)`` builds a tabular model;
``IMAGE_MODELS.get("resnet18")(n_labels, image_size=150, pretrained=None, freeze_backbone=False)`` builds an
image model mapping (B, 3, S, S) float images to (B, L) logits.
"""

from brainnet.core.registry import Registry

MODELS = Registry("model")
IMAGE_MODELS = Registry("image model")
