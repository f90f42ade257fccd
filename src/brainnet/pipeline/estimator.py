"""``MultiLabelMLP``: the one multi-label estimator on tables with the PyTorch engine (a preset).

Everything else (fit plan, scaling, thresholds, metrics, the model directory) lives in
``brainnet.core.estimator.MultiLabelEstimator``; the data half is ``brainnet.core.recipe.TableRecipe`` and the
backend ``brainnet.pipeline.engine.TorchEngine``.
"""

from __future__ import annotations

from typing import Any

from brainnet.core.config import TrainConfig
from brainnet.core.estimator import MultiLabelEstimator
from brainnet.core.recipe import TableRecipe
from brainnet.pipeline.engine import TorchEngine, resolve_device

MODEL_KIND = "multilabel_mlp"

__all__ = ["MultiLabelMLP", "load", "resolve_device"]


class MultiLabelMLP(MultiLabelEstimator):
    """Multi-label classifier for tables: standardise -> PyTorch MLP -> sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.TrainConfig``; fitted attributes are listed on
    ``MultiLabelEstimator``. ``models_`` holds torch modules (on the CPU, in eval mode).
    """

    config_class = TrainConfig
    recipe_class = TableRecipe
    engine_class = TorchEngine
    model_kind = MODEL_KIND


def load(path: Any, runtime: str = "auto") -> MultiLabelMLP:
    """Load a model directory written by ``MultiLabelMLP.save`` (no pickle; checked for corruption); ``runtime`` as in ``MultiLabelEstimator.load``."""
    return MultiLabelMLP.load(path, runtime)
