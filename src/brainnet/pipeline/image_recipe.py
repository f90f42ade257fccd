"""The image recipe: an ``ImageSet`` in, per-channel statistics of the training images, the transforms.

Images are decoded by ``brainnet.core.data.images`` (Pillow), resized, augmented when training (torchvision v2,
``augment.py``) and normalised with the statistics this recipe learns on the training images and stores with
the model. An unreadable image never stops training: the loader skips and counts it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from brainnet.core.data.images import ImageSet
from brainnet.core.errors import UserInputError
from brainnet.core.recipe import Recipe


class ImageRecipe(Recipe):
    """Images: decode -> resize to ``image_size`` -> (augment) -> normalise with the training statistics.

    Fitted attributes: ``image_size``, ``mean``/``std`` (three floats each, [0, 1] units), ``source`` (how the
    training images were read, so ``evaluate`` reads new manifests alike).
    """

    kind = "images"

    def __init__(self) -> None:
        self.image_size = 0
        self.mean: tuple[float, ...] = ()
        self.std: tuple[float, ...] = ()
        self.source: dict[str, Any] = {}
        self.tta = False  # flip test-time augmentation at prediction (models saved before it: off)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return (3, self.image_size, self.image_size)

    def training_data(self, images: Any, Y: Any = None) -> ImageSet:
        if not isinstance(images, ImageSet):
            raise UserInputError(
                "image training needs an ImageSet (brainnet.core.data.images.read_images or a built-in); "
                f"received {type(images).__name__}."
            )
        if Y is not None:
            raise UserInputError("an ImageSet carries its own labels; pass Y=None.")
        if images.Y is None:
            raise UserInputError(f"{images.name} has no labels; training needs labelled images.")
        if len(images) < 4:
            raise UserInputError(
                f"training needs at least 4 images; {images.name} has {len(images)}."
            )
        self.source = dict(images.source)
        return images

    def validation_data(self, validation: Any, like: ImageSet) -> ImageSet:
        if not isinstance(validation, ImageSet) or validation.Y is None:
            raise UserInputError(
                "validation images must be a labelled ImageSet; received "
                f"{type(validation).__name__}{' without labels' if isinstance(validation, ImageSet) else ''}."
            )
        return validation

    def labels(self, data: ImageSet) -> np.ndarray | None:
        return data.Y

    def label_names(self, data: ImageSet) -> list[str]:
        return list(data.label_names)

    def split(self, data: ImageSet) -> np.ndarray | None:
        return data.split

    def subset(self, data: ImageSet, idx: np.ndarray) -> ImageSet:
        return data.subset(idx)

    def digest(self, data: ImageSet) -> dict[str, Any]:
        """Files by their paths (not their bytes: hashing every image would cost a pass over the data)."""
        import hashlib

        from brainnet.core.resume import sha256_of

        if data.arrays is not None:
            return {"inputs": sha256_of(data.arrays)}
        paths = "\n".join(str(p) for p in data.paths or [])
        return {"inputs": hashlib.sha256(paths.encode()).hexdigest()}

    def concat(self, a: ImageSet, b: ImageSet) -> ImageSet:
        if (a.paths is None) != (b.paths is None):
            raise UserInputError(
                "training and validation images must both be files or both be arrays; received one of each."
            )
        return ImageSet(
            name=a.name,
            label_names=list(a.label_names),
            Y=np.vstack([a.Y, b.Y]),
            paths=[*a.paths, *b.paths] if a.paths is not None else None,
            arrays=np.concatenate([a.arrays, b.arrays]) if a.arrays is not None else None,
            source=dict(a.source),
        )

    def fit(self, data: ImageSet, cfg: Any) -> list[str]:
        from brainnet.pipeline.augment import image_stats

        self.image_size = cfg.image_size
        self.tta = bool(getattr(cfg, "tta", False))
        if (
            getattr(cfg, "pretrained", None) == "imagenet"
        ):  # the weights' own statistics, not the data's
            from brainnet.pipeline.models.imagenet import imagenet_stats

            self.mean, self.std = imagenet_stats(cfg.model)
            return [f"normalisation: {cfg.model}'s ImageNet mean and std (the weights' own)"]
        self.mean, self.std = image_stats(data, cfg.image_size, seed=cfg.seed)
        return []

    def inputs(self, X: Any, label_names: list[str]) -> ImageSet:
        if isinstance(X, ImageSet):
            return X
        if isinstance(X, str | Path):
            X = [X]
        try:
            paths = [Path(p) for p in X]
        except TypeError:
            raise UserInputError(
                f"expected an ImageSet or a list of image paths; received {type(X).__name__}."
            ) from None
        return ImageSet("images", list(label_names), paths=paths)

    def dataset(self, data: ImageSet, cfg: Any, *, train: bool, fitting: bool) -> Any:
        """A torch ``ImageDataset`` of ``data``, augmented when ``train``; while ``fitting`` it caches resized
        images (``cfg.cache``) and honours ``cfg.strict``; for prediction it skips bad files and caches nothing."""
        from brainnet.pipeline.augment import build_transform
        from brainnet.pipeline.image_data import ImageDataset

        augment = {}
        if train:
            augment = {
                "rotation": cfg.rotation,
                "shift": cfg.shift,
                "hflip": cfg.hflip,
                "augment": getattr(cfg, "augmentation", "seed"),
            }
        transform = build_transform(
            train=train, image_size=self.image_size, mean=self.mean, std=self.std, **augment
        )
        return ImageDataset(
            data, transform, cache=fitting and cfg.cache, strict=fitting and cfg.strict
        )

    def to_meta(self) -> dict[str, Any]:
        return {
            "normalization": {"mean": list(self.mean), "std": list(self.std)},
            "source": dict(self.source),
            "tta": self.tta,
        }

    def fitted_attributes(self) -> dict[str, Any]:
        return {"mean_": self.mean, "std_": self.std, "source_": self.source}

    @classmethod
    def from_meta(cls, meta: dict[str, Any], cfg: Any) -> ImageRecipe:
        recipe = cls()
        recipe.image_size = cfg.image_size
        recipe.mean = tuple(float(v) for v in meta["normalization"]["mean"])
        recipe.std = tuple(float(v) for v in meta["normalization"]["std"])
        recipe.source = dict(meta["source"])
        recipe.tta = bool(meta.get("tta", False))  # absent before flip TTA existed
        return recipe
