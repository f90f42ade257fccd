"""Models by registered name. Every model maps (B, d) features to (B, L) logits."""

from brainnet.pipeline.models.mlp import MLP
from brainnet.pipeline.models.registry import MODELS

__all__ = ["MLP", "MODELS"]
