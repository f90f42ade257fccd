"""Image transforms: resize to a square, random augmentation when training, scale to [0, 1] and normalise.

A transform works in two steps so that a cache can sit between them: ``resize`` (deterministic, uint8 in and out,
worth caching) and ``finish`` (random augmentation, then float32 and normalisation; runs every epoch).
The random steps draw from torch's global RNG; ``image_data.ImageDataset`` seeds it per item so that the same
loader seed gives the same augmented batches with or without worker processes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from brainnet.core.data.images import resize_image
from brainnet.core.errors import BadImageError, UserInputError

if TYPE_CHECKING:
    from brainnet.core.data.images import ImageSet

Stats = tuple[float, float, float]


class ImageTransform:
    """uint8 (H, W, 3) image -> float32 (3, S, S) tensor: ``finish(resize(image))``.

    Args:
        image_size: S, the side of the square output (the aspect ratio is not kept).
        random_steps: torchvision v2 transforms applied to the resized uint8 image, in order (empty when evaluating).
        mean, std: per-channel statistics in [0, 1] units, subtracted and divided after scaling.
    """

    def __init__(
        self, image_size: int, random_steps: Sequence[object], mean: Stats, std: Stats
    ) -> None:
        from torchvision.transforms import v2

        self.image_size = image_size
        self.random = bool(random_steps)
        self.mean, self.std = tuple(mean), tuple(std)
        self._finish = v2.Compose(
            [
                v2.ToImage(),
                *random_steps,
                v2.ToDtype(torch.float32, scale=True),
                v2.Normalize(list(self.mean), list(self.std)),
            ]
        )

    def resize(self, image: np.ndarray) -> np.ndarray:
        """(H, W, 3) uint8 -> (S, S, 3) uint8 (Pillow, antialiased bilinear: ``core.data.images.resize_image``,
        the same resize as the torch-free ONNX runtime); returned as is when already S x S."""
        return resize_image(image, self.image_size)

    def finish(self, resized: np.ndarray) -> torch.Tensor:
        """(S, S, 3) uint8 -> (3, S, S) float32: augmentation (if any), scaling to [0, 1], normalisation."""
        return self._finish(resized).as_subclass(torch.Tensor)

    def __call__(self, image: np.ndarray) -> torch.Tensor:
        return self.finish(self.resize(image))

    def __repr__(self) -> str:
        return f"ImageTransform(image_size={self.image_size}, steps={self._finish.transforms})"


def build_transform(
    *,
    train: bool,
    image_size: int = 150,
    rotation: float = 20.0,
    shift: float = 0.2,
    hflip: bool = True,
    augment: str = "seed",
    mean: Stats,
    std: Stats,
) -> ImageTransform:
    """The transform for training (augmented) or evaluation (resize and normalise only).

    Args:
        train: add the random steps that are switched on; False gives a deterministic transform.
        image_size: side of the square output, in pixels.
        rotation: maximum rotation in degrees (uniform in [-rotation, rotation]); 0 turns it off.
        shift: maximum translation as a fraction of the side (both axes); 0 turns it off.
        hflip: flip left-right with probability 0.5.
        augment: "seed" (``rotation``, ``shift``, ``hflip`` as given), "photo" (``photo_steps``: random resized
            crop, flip, colour jitter; the three above are ignored) or "none".
        mean, std: per-channel statistics in [0, 1] units (``image_stats``), stored with the model.

    Returns:
        An ``ImageTransform``: uint8 (H, W, 3) numpy image -> float32 (3, image_size, image_size) tensor.
    """
    from torchvision.transforms import v2

    if image_size < 1:
        raise UserInputError(
            f"image_size must be a positive number of pixels; received {image_size}."
        )
    if not (0 <= shift < 1):
        raise UserInputError(
            f"shift must be in [0, 1); received {shift}. Pass a fraction such as 0.2."
        )
    if rotation < 0:
        raise UserInputError(f"rotation must be >= 0 degrees; received {rotation}.")
    if augment not in ("seed", "photo", "none"):
        raise UserInputError(f"augment must be seed, photo or none; received {augment!r}.")
    if augment == "photo":
        return ImageTransform(image_size, photo_steps(image_size) if train else [], mean, std)
    steps: list[object] = []
    if augment == "none":
        return ImageTransform(image_size, [], mean, std)
    if train and (rotation > 0 or shift > 0):
        steps.append(
            v2.RandomAffine(
                degrees=rotation,
                translate=(shift, shift) if shift > 0 else None,
                interpolation=v2.InterpolationMode.BILINEAR,
            )
        )
    if train and hflip:
        steps.append(v2.RandomHorizontalFlip())
    return ImageTransform(image_size, steps, mean, std)


CROP_SCALE = (0.35, 1.0)  # random resized crop: the share of the image's area kept
CROP_RATIO = (3 / 4, 4 / 3)
JITTER = 0.3  # brightness, contrast and saturation factors drawn from [1 - JITTER, 1 + JITTER]


def photo_steps(image_size: int) -> list[object]:
    """The photo augmentation on the resized uint8 image: a random resized crop back to ``image_size``
    (area ``CROP_SCALE``), a left-right flip with probability 0.5, and colour jitter (no hue change: colour
    is what tells a sunset)."""
    from torchvision.transforms import v2

    return [
        v2.RandomResizedCrop(image_size, scale=CROP_SCALE, ratio=CROP_RATIO, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ColorJitter(brightness=JITTER, contrast=JITTER, saturation=JITTER),
    ]


def image_stats(
    imageset: ImageSet, image_size: int, max_images: int = 500, seed: int = 0
) -> tuple[Stats, Stats]:
    """Per-channel mean and standard deviation in [0, 1] units over resized training images.

    Args:
        imageset: the training images.
        image_size: the side they are resized to first, as in training.
        max_images: use a seeded sample of at most this many images; unreadable ones are skipped.
        seed: for the sample.

    Returns:
        (mean, std), each three floats (R, G, B). A channel with std below 1e-3 (e.g. constant images) gets
        std 1.0, so normalising never divides by almost zero.
    """
    n = len(imageset)
    idx = np.arange(n)
    if n > max_images:
        idx = np.sort(np.random.default_rng(seed).choice(n, size=max_images, replace=False))
    resize = ImageTransform(image_size, [], (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)).resize
    total, total_sq, pixels = np.zeros(3), np.zeros(3), 0
    for i in idx:
        try:
            image = resize(imageset.image(int(i)))  # (S, S, 3) uint8
        except BadImageError:
            continue
        x = image.reshape(-1, 3).astype(np.float64) / 255.0  # (S*S, 3)
        total += x.sum(0)
        total_sq += (x * x).sum(0)
        pixels += x.shape[0]
    if pixels == 0:
        raise UserInputError(
            f"cannot compute image statistics: none of the {len(idx)} sampled images of "
            f"'{imageset.name}' could be read. Check the image files."
        )
    mean = total / pixels
    std = np.sqrt(np.maximum(total_sq / pixels - mean * mean, 0.0))
    std = np.where(std < 1e-3, 1.0, std)
    return tuple(float(v) for v in mean), tuple(float(v) for v in std)  # type: ignore[return-value]
