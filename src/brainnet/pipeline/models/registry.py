"""The model registry: ``MODELS.get("mlp")(n_features, n_labels, config)`` builds a torch module."""

from brainnet.core.registry import Registry

MODELS = Registry("model")
