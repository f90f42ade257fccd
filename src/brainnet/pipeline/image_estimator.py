"""``MultiLabelImageClassifier``: the one multi-label estimator on images with the PyTorch engine (a preset).

Images in (an ``ImageSet``: a manifest, class folders or a built-in), a registered image model (``seed_cnn``,
torchvision ResNets, MobileNet, EfficientNet) trained with BCE on logits and early stopping, per-label thresholds
tuned on the validation images, the same metric suite and model directory as tables. The data half is
``brainnet.pipeline.image_recipe.ImageRecipe``; the backend ``brainnet.pipeline.engine.TorchEngine``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from brainnet.core.config import ImageTrainConfig
from brainnet.core.data.images import ImageSet
from brainnet.core.estimator import MultiLabelEstimator
from brainnet.pipeline.engine import TorchEngine
from brainnet.pipeline.image_recipe import ImageRecipe

MODEL_KIND = "multilabel_image"


class MultiLabelImageClassifier(MultiLabelEstimator):
    """Multi-label image classifier: resize + normalise -> image model -> sigmoids -> per-label thresholds.

    Keyword arguments are the fields of ``brainnet.core.config.ImageTrainConfig``; fitted attributes are listed
    on ``MultiLabelEstimator``; ``recipe_`` holds the normalisation statistics and how the images were read.
    """

    config_class = ImageTrainConfig
    recipe_class = ImageRecipe
    engine_class = TorchEngine
    model_kind = MODEL_KIND

    def fit(
        self,
        images: ImageSet,
        validation: ImageSet | None = None,
        *,
        verbose: bool = False,
        checkpoint: str | Path | None = None,
        resume: bool = False,
    ) -> MultiLabelImageClassifier:
        """Train on labelled images (see ``MultiLabelEstimator.fit``): the data's own val split when it has
        one ("test" rows are left out), else a stratified hold-out; ``validation`` images when given;
        ``resume`` continues the run saved in ``checkpoint``."""
        return super().fit(
            images, validation=validation, verbose=verbose, checkpoint=checkpoint, resume=resume
        )

    def predict_images(
        self, images: ImageSet | list[str | Path]
    ) -> tuple[np.ndarray, dict[int, str]]:
        """(P, bad): (n, L) probabilities with NaN rows for unreadable images, and {row: reason}."""
        return self.predict_with_errors(images)


def load(path: str | Path, runtime: str = "auto") -> MultiLabelImageClassifier:
    """Load a model directory written by ``MultiLabelImageClassifier.save``; ``runtime`` as in ``MultiLabelEstimator.load``."""
    return MultiLabelImageClassifier.load(path, runtime)
