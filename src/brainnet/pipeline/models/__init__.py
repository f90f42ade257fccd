"""Models by registered name, in one registry: ``MODELS`` (a ``ModelSpec`` each; tables map (B, d) features and
images (B, 3, S, S) pixels to (B, L) logits; every model is backbone + head). Importing this package does not
import torch: the model classes load on first use of their names."""

from importlib import import_module
from typing import Any

from brainnet.pipeline.models.activations import ACTIVATIONS
from brainnet.pipeline.models.registry import MODELS, ModelSpec, model_for

# public name -> module that defines it (and imports torch), loaded on first access (PEP 562)
_LAZY = {
    "MLP": "brainnet.pipeline.models.mlp",
    "ImageClassifier": "brainnet.pipeline.models.image_classifier",
    "PretrainedReport": "brainnet.pipeline.models.pretrained",
    "load_pretrained": "brainnet.pipeline.models.pretrained",
}

__all__ = ["ACTIVATIONS", "MODELS", "ModelSpec", "model_for", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'brainnet.pipeline.models' has no attribute {name!r}")
