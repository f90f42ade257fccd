"""``--pretrained imagenet``: torchvision's ImageNet weights for the chosen architecture, from torchvision's cache.

The weights are named by torchvision's own weights API (``torchvision.models.get_model_weights(arch).DEFAULT``,
e.g. ``ResNet18_Weights.IMAGENET1K_V1``) and live where ``torch.hub`` keeps them:
``torch.hub.get_dir()/checkpoints/<file>`` (``$TORCH_HOME/hub/checkpoints``, by default
``~/.cache/torch/hub/checkpoints``). Nothing is downloaded unless the user asks (``--download-weights``); offline,
the error names the exact path to place the file at and the URL to fetch it from on another machine.
The model's normalisation switches to the weights' own statistics (``imagenet_stats``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from brainnet.core.errors import UserInputError
from brainnet.pipeline.models.pretrained import PretrainedReport, load_pretrained


def imagenet_weights(arch: str) -> Any:
    """torchvision's default ImageNet weights enum member for ``arch``; UserInputError when it has none."""
    import torchvision.models

    try:
        return torchvision.models.get_model_weights(arch).DEFAULT
    except (ValueError, KeyError):
        have = ", ".join(
            n for n in ("resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0")
        )
        raise UserInputError(
            f"--pretrained imagenet: there are no ImageNet weights for {arch!r} (it is brainnet's own); "
            f"choose --model {have}, or pass --pretrained FILE with weights of your own."
        ) from None


def imagenet_file(arch: str) -> tuple[Path, str]:
    """(where torchvision's cache keeps ``arch``'s ImageNet weights, the URL they come from)."""
    import torch

    url = imagenet_weights(arch).url
    return Path(torch.hub.get_dir()) / "checkpoints" / url.rsplit("/", 1)[-1], url


def imagenet_stats(arch: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The per-channel (mean, std) the weights were trained with ([0, 1] units), from their own transforms."""
    preset = imagenet_weights(arch).transforms()
    return tuple(float(v) for v in preset.mean), tuple(float(v) for v in preset.std)


def load_imagenet(model: Any, *, download: bool = False) -> PretrainedReport:
    """Copy ``model.arch``'s ImageNet weights from torchvision's cache into ``model`` (its head stays fresh).

    Args:
        model: an ``ImageClassifier`` of a torchvision architecture.
        download: fetch the file into the cache when absent (torch.hub, hash checked); False (the default):
            a UserInputError naming the path instead.
    """
    path, url = imagenet_file(model.arch)
    if not path.is_file():
        if not download:
            raise UserInputError(
                f"--pretrained imagenet needs torchvision's {model.arch} weights at {path} and the file is "
                f"not there (brainnet downloads nothing unless asked). Either place the file there by hand "
                f"(fetch {url} on a machine with a network; keep its name {path.name}), set TORCH_HOME to "
                f"a folder whose hub/checkpoints/ holds it, or add --download-weights to let torchvision "
                f"download it."
            )
        import torch

        try:
            torch.hub.load_state_dict_from_url(url, progress=True, check_hash=True)
        except OSError as err:
            raise UserInputError(
                f"could not download {url} ({err}); place the file at {path} by hand."
            ) from None
    return load_pretrained(model, path)
