"""One typed training config: the single source of truth for defaults, presets and CLI overrides.

YAML presets set it (``--config preset.yaml``), ``--key value`` options override it, unknown keys and wrong types
are errors, and the resolved config is saved inside every model directory.
"""

from __future__ import annotations

import dataclasses
import difflib
import types
import typing
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from brainnet.core.errors import UserInputError

ACTIVATIONS = ("relu", "gelu", "silu", "tanh", "leaky_relu", "elu")
MONITORS = (
    "loss",
    "average_precision",
    "micro_f1",
    "macro_f1",
    "macro_auc",
    "mean_average_precision",
)
THRESHOLD_OBJECTIVES = ("micro_f1", "macro_f1", "samples_f1", "hamming")
POS_WEIGHTS = ("none", "auto")
# the registered image models (brainnet.pipeline.models.IMAGE_MODELS; a test keeps the two equal)
IMAGE_MODELS = ("seed_cnn", "resnet18", "resnet50", "mobilenet_v3_small", "efficientnet_b0")
# options whose value is one of a fixed set (the CLI shows these in --help)
CHOICES = {
    "activation": ACTIVATIONS,
    "monitor": MONITORS,
    "threshold_objective": THRESHOLD_OBJECTIVES,
    "pos_weight": POS_WEIGHTS,
    "model": IMAGE_MODELS,
}


class _Config:
    """What every typed config shares: building from YAML/JSON mappings, overrides, saving."""

    def __post_init__(self) -> None:
        _check_types(self)
        self.validate()

    def validate(self) -> None:
        """Check value ranges; raises UserInputError naming the option and the allowed values."""

    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> Any:
        """Build from a mapping (YAML preset, saved model); unknown keys are errors."""
        if not isinstance(values, dict):
            raise UserInputError(
                f"{source} must be a mapping of option: value; received {type(values).__name__}."
            )
        names = cls.field_names()
        unknown = [k for k in values if k not in names]
        if unknown:
            hints = [
                f"{k!r} (did you mean {m[0]!r}?)"
                if (m := difflib.get_close_matches(k, names, 1))
                else repr(k)
                for k in unknown
            ]
            raise UserInputError(
                f"unknown option(s) in {source}: {', '.join(hints)}. Valid options: {', '.join(names)}."
            )
        hints = typing.get_type_hints(cls)
        coerced = {k: _coerce(k, v, hints[k], source) for k, v in values.items()}
        return cls(**coerced)

    @classmethod
    def from_yaml(cls, path: str | Path) -> Any:
        return cls.from_dict(cls.yaml_values(path), source=str(path))

    @classmethod
    def yaml_values(cls, path: str | Path) -> dict[str, Any]:
        """The options a YAML preset sets (only those; checked: unknown keys and wrong types are errors)."""
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except FileNotFoundError:
            raise UserInputError(f"config file not found: {str(path)!r}.") from None
        except yaml.YAMLError as e:
            raise UserInputError(f"config file {str(path)!r} is not valid YAML: {e}") from None
        data = data or {}
        cls.from_dict(data, source=str(path))  # the checks
        return data

    def replace(self, **overrides: Any) -> Any:
        return self.from_dict({**self.to_dict(), **overrides})

    def to_dict(self) -> dict[str, Any]:
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }


@dataclass(frozen=True)
class TrainConfig(_Config):
    """Everything that decides how a multi-label model is trained on tables. Defaults are the tested ones."""

    # --- model: an MLP from features to one logit per label
    hidden_sizes: tuple[int, ...] = (512,)  # widths of the hidden layers; () is logistic regression
    dropout: float = 0.5  # dropout after each hidden layer, in [0, 1)
    input_dropout: float = 0.1  # dropout on the standardised inputs, in [0, 1)
    batch_norm: bool = True  # BatchNorm1d after each hidden linear layer
    activation: str = "relu"  # non-linearity of the hidden layers
    # --- optimisation: AdamW on BCEWithLogits
    epochs: int = 300  # upper bound; early stopping usually ends sooner
    batch_size: int = 64
    lr: float = 1e-3
    weight_decay: float = 1e-2  # AdamW's decoupled weight decay
    pos_weight: str = (
        "none"  # "auto": weight positives by (negatives / positives) per label, capped
    )
    # --- early stopping on the validation split (multi-label stratified, taken from training data)
    val_fraction: float = 0.2  # hold-out share when n_models is 1, in (0, 0.5]
    monitor: str = "average_precision"  # validation quantity that early stopping watches
    patience: int = 20  # epochs without improvement before stopping; best weights are restored
    # --- decision layer: per-label thresholds tuned on the validation split
    threshold_objective: str = "micro_f1"  # what the per-label thresholds maximise
    min_positives: int = 5  # labels with fewer validation positives use the global threshold
    threshold_shrinkage: float = 10.0  # pull per-label thresholds toward the global one (0 = off)
    at_least_one: bool | None = (
        None  # give a row with no label over its threshold its top label; unset: on when every training row has a label
    )
    # --- ensemble: average the probabilities of n_models models (seeds seed, seed+1, ...)
    n_models: int = 10  # >1: cross-fitting on n_models stratified folds, thresholds from out-of-fold probabilities
    # --- data
    impute: bool = True  # fill missing features with training medians; False rejects them
    # --- run
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA if present), "cpu", "cuda", "cuda:1", "mps"

    def validate(self) -> None:
        """Check value ranges; raises UserInputError naming the option and the allowed values."""
        _check(
            all(h >= 1 for h in self.hidden_sizes),
            "hidden_sizes",
            self.hidden_sizes,
            "positive layer widths such as 256,128 (or an empty list for no hidden layer)",
        )
        _check(0 <= self.dropout < 1, "dropout", self.dropout, "a probability in [0, 1)")
        _check(
            0 <= self.input_dropout < 1,
            "input_dropout",
            self.input_dropout,
            "a probability in [0, 1)",
        )
        _check(
            self.activation in ACTIVATIONS,
            "activation",
            self.activation,
            f"one of {', '.join(ACTIVATIONS)}",
        )
        _check(self.n_models >= 1, "n_models", self.n_models, "an integer >= 1")
        _check_common(self)


@dataclass(frozen=True)
class ImageTrainConfig(_Config):
    """Everything that decides how a multi-label image model is trained. Defaults are the tested ones."""

    # --- model: a registered image network from pixels to one logit per label
    model: str = "seed_cnn"  # the network: the tutorial CNN or a torchvision family
    image_size: int = 150  # images are resized to image_size x image_size pixels
    pretrained: str | None = (
        None  # a local weights file (.safetensors, .pt) to start from; never downloaded
    )
    freeze_backbone: bool = False  # train only the head (transfer learning from --pretrained)
    # --- augmentation of the training images (never at evaluation)
    rotation: float = 20.0  # random rotation up to +- this many degrees; 0 turns it off
    shift: float = 0.2  # random width and height shift, a fraction of the size; 0 turns it off
    hflip: bool = True  # random horizontal flip
    # --- optimisation: AdamW on BCEWithLogits
    epochs: int = 30  # upper bound; early stopping usually ends sooner
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 0.0  # AdamW's decoupled weight decay (0: plain Adam)
    pos_weight: str = (
        "none"  # "auto": weight positives by (negatives / positives) per label, capped
    )
    # --- early stopping on the validation split (the data's own, else multi-label stratified)
    val_fraction: float = 0.2  # hold-out share when the data has no val split, in (0, 0.5]
    monitor: str = "average_precision"  # validation quantity that early stopping watches
    patience: int = 5  # epochs without improvement before stopping; best weights are restored
    # --- decision layer: per-label thresholds tuned on the validation split
    threshold_objective: str = "micro_f1"  # what the per-label thresholds maximise
    min_positives: int = 5  # labels with fewer validation positives use the global threshold
    threshold_shrinkage: float = 10.0  # pull per-label thresholds toward the global one (0 = off)
    at_least_one: bool | None = (
        None  # give a row with no label over its threshold its top label; unset: on when every training row has a label
    )
    n_models: int = 1  # >1: cross-fitting on n_models stratified folds
    # --- data loading
    workers: int = 0  # DataLoader worker processes (0: decode in the training process)
    cache: bool = True  # keep decoded, resized images in memory so later epochs skip decoding
    strict: bool = False  # stop at the first unreadable image instead of skipping and counting it
    # --- run
    seed: int = 0
    device: str = "auto"  # "auto" (CUDA if present), "cpu", "cuda", "cuda:1", "mps"

    def validate(self) -> None:
        _check(self.model in IMAGE_MODELS, "model", self.model, f"one of {', '.join(IMAGE_MODELS)}")
        _check(self.image_size >= 16, "image_size", self.image_size, "an integer >= 16")
        _check(0 <= self.rotation <= 180, "rotation", self.rotation, "degrees in [0, 180]")
        _check(0 <= self.shift < 1, "shift", self.shift, "a fraction in [0, 1)")
        _check(self.workers >= 0, "workers", self.workers, "an integer >= 0")
        _check_common(self)


def _check_common(cfg: Any) -> None:
    """The checks of the options both configs have."""
    _check(cfg.epochs >= 1, "epochs", cfg.epochs, "an integer >= 1")
    _check(cfg.batch_size >= 2, "batch_size", cfg.batch_size, "an integer >= 2")
    _check(cfg.lr > 0, "lr", cfg.lr, "a positive learning rate such as 0.001")
    _check(cfg.weight_decay >= 0, "weight_decay", cfg.weight_decay, "a number >= 0")
    _check(cfg.pos_weight in POS_WEIGHTS, "pos_weight", cfg.pos_weight, "'none' or 'auto'")
    _check(0 < cfg.val_fraction <= 0.5, "val_fraction", cfg.val_fraction, "a fraction in (0, 0.5]")
    _check(cfg.monitor in MONITORS, "monitor", cfg.monitor, f"one of {', '.join(MONITORS)}")
    _check(cfg.patience >= 1, "patience", cfg.patience, "an integer >= 1")
    _check(
        cfg.threshold_objective in THRESHOLD_OBJECTIVES,
        "threshold_objective",
        cfg.threshold_objective,
        f"one of {', '.join(THRESHOLD_OBJECTIVES)}",
    )
    _check(cfg.min_positives >= 0, "min_positives", cfg.min_positives, "an integer >= 0")
    _check(
        cfg.threshold_shrinkage >= 0,
        "threshold_shrinkage",
        cfg.threshold_shrinkage,
        "a number >= 0",
    )
    _check(
        cfg.device == "auto" or cfg.device in ("cpu", "mps") or cfg.device.startswith("cuda"),
        "device",
        cfg.device,
        "auto, cpu, cuda, cuda:N or mps",
    )


def _check(ok: bool, name: str, value: Any, expected: str) -> None:
    if not ok:
        raise UserInputError(f"{name} must be {expected}; received {value!r}.")


def _coerce(name: str, value: Any, hint: Any, source: str) -> Any:
    """Accept what YAML/JSON give (lists for tuples, ints for floats); reject anything else."""
    origin = typing.get_origin(hint)
    if origin is tuple:
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = [value]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, int) and not isinstance(v, bool) for v in value
        ):
            raise UserInputError(
                f"{name} in {source} must be a list of integers; received {value!r}."
            )
        return tuple(value)
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if hint is bool and not isinstance(value, bool):
        raise UserInputError(f"{name} in {source} must be true or false; received {value!r}.")
    if (
        isinstance(hint, type)
        and not isinstance(value, hint)
        or (hint is int and isinstance(value, bool))
    ):
        raise UserInputError(
            f"{name} in {source} must be of type {hint.__name__}; received {value!r}."
        )
    return value


def _check_types(cfg: _Config) -> None:
    hints = typing.get_type_hints(type(cfg))
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        hint = hints[f.name]
        if typing.get_origin(hint) is tuple:
            ok = isinstance(value, tuple)
        elif isinstance(hint, types.GenericAlias):
            ok = True
        elif hint is float:
            ok = isinstance(value, int | float) and not isinstance(value, bool)
        elif hint is int:
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = isinstance(value, hint)
        if not ok:
            raise UserInputError(
                f"{f.name} must be of type {getattr(hint, '__name__', hint)}; received {value!r}."
            )
