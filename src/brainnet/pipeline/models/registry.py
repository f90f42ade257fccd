"""The one model registry: every network by name, listed without importing torch.

Each entry is a ``ModelSpec``; ``MODELS.get("resnet18").build((3, 150, 150), n_labels, cfg)`` builds the
network. Builders import their torch modules when called, so ``brainnet train --help`` lists the models (and
``ACTIVATIONS`` the torch activations) without loading torch.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from brainnet.core.errors import UserInputError
from brainnet.core.registry import Registry


@dataclass(frozen=True)
class ModelSpec:
    """A registered network.

    Attributes:
        name: the registered name (``--model NAME``).
        data: what it reads: "table" (features (B, d)) or "images" ((B, 3, S, S) floats).
        build: ``build(input_shape, n_labels, cfg) -> torch.nn.Module`` mapping inputs to (B, L) logits;
            ``input_shape`` is ``(d,)`` for tables and ``(3, S, S)`` for images. Table builders read the MLP
            options of a ``TrainConfig``; image builders read ``pretrained`` and ``freeze_backbone`` and return
            an ``ImageClassifier`` (with its ``pretrained_report``).
        help: one line for ``--help``.
    """

    name: str
    data: Literal["table", "images"]
    build: Callable[[tuple[int, ...], int, Any], Any]
    help: str


MODELS: Registry[ModelSpec] = Registry("model")


def model_for(name: str, data: str) -> ModelSpec:
    """The spec of ``name``, checked to read ``data``; UserInputError naming the models that do."""
    spec = MODELS.get(name)
    if spec.data != data:
        valid = ", ".join(n for n in MODELS if MODELS.get(n).data == data)
        raise UserInputError(
            f"model {name!r} reads {spec.data}, and this data is {data}; choose one of {valid}."
        )
    return spec


def _mlp(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.pipeline.models.mlp import build_mlp

    return build_mlp(input_shape, n_labels, cfg)


def _seed_cnn(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.pipeline.models.seed_cnn import build_seed_cnn

    return build_seed_cnn(input_shape, n_labels, cfg)


def _cnn_small(input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.pipeline.models.cnn_small import build_cnn_small

    return build_cnn_small(input_shape, n_labels, cfg)


def _torchvision(arch: str, input_shape: tuple[int, ...], n_labels: int, cfg: Any) -> Any:
    from brainnet.pipeline.models.torchvision_models import build_torchvision

    return build_torchvision(arch, input_shape, n_labels, cfg)


for _spec in (
    ModelSpec(
        "mlp", "table", _mlp, "an MLP: hidden blocks of Linear, BatchNorm, activation, Dropout"
    ),
    ModelSpec(
        "cnn_small",
        "images",
        _cnn_small,
        "the default: four BatchNorm conv blocks, global average pooling, a linear head",
    ),
    ModelSpec(
        "seed_cnn", "images", _seed_cnn, "the tutorial CNN: two conv blocks and a dense layer"
    ),
    *(
        ModelSpec(arch, "images", functools.partial(_torchvision, arch), f"torchvision's {arch}")
        for arch in ("resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0")
    ),
):
    MODELS.register(_spec.name)(_spec)
