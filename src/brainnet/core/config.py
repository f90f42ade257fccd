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
# options whose value is one of a fixed set (the CLI shows these in --help)
CHOICES = {
    "activation": ACTIVATIONS,
    "monitor": MONITORS,
    "threshold_objective": THRESHOLD_OBJECTIVES,
    "pos_weight": POS_WEIGHTS,
}


@dataclass(frozen=True)
class TrainConfig:
    """Everything that decides how a multi-label model is trained. Defaults are the tested ones."""

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

    def __post_init__(self) -> None:
        _check_types(self)
        self.validate()

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
        _check(self.epochs >= 1, "epochs", self.epochs, "an integer >= 1")
        _check(self.batch_size >= 2, "batch_size", self.batch_size, "an integer >= 2")
        _check(self.lr > 0, "lr", self.lr, "a positive learning rate such as 0.001")
        _check(self.weight_decay >= 0, "weight_decay", self.weight_decay, "a number >= 0")
        _check(self.pos_weight in POS_WEIGHTS, "pos_weight", self.pos_weight, "'none' or 'auto'")
        _check(
            0 < self.val_fraction <= 0.5,
            "val_fraction",
            self.val_fraction,
            "a fraction in (0, 0.5]",
        )
        _check(self.monitor in MONITORS, "monitor", self.monitor, f"one of {', '.join(MONITORS)}")
        _check(self.patience >= 1, "patience", self.patience, "an integer >= 1")
        _check(
            self.threshold_objective in THRESHOLD_OBJECTIVES,
            "threshold_objective",
            self.threshold_objective,
            f"one of {', '.join(THRESHOLD_OBJECTIVES)}",
        )
        _check(self.min_positives >= 0, "min_positives", self.min_positives, "an integer >= 0")
        _check(
            self.threshold_shrinkage >= 0,
            "threshold_shrinkage",
            self.threshold_shrinkage,
            "a number >= 0",
        )
        _check(self.n_models >= 1, "n_models", self.n_models, "an integer >= 1")
        _check(
            self.device == "auto"
            or self.device in ("cpu", "mps")
            or self.device.startswith("cuda"),
            "device",
            self.device,
            "auto, cpu, cuda, cuda:N or mps",
        )

    # --- building and saving
    @classmethod
    def field_names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @classmethod
    def from_dict(cls, values: dict[str, Any], *, source: str = "config") -> TrainConfig:
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
        coerced = {k: _coerce(k, v, _hints()[k], source) for k, v in values.items()}
        return cls(**coerced)

    @classmethod
    def from_yaml(cls, path: str | Path) -> TrainConfig:
        import yaml

        path = Path(path)
        try:
            data = yaml.safe_load(path.read_text("utf-8"))
        except FileNotFoundError:
            raise UserInputError(f"config file not found: {str(path)!r}.") from None
        except yaml.YAMLError as e:
            raise UserInputError(f"config file {str(path)!r} is not valid YAML: {e}") from None
        return cls.from_dict(data or {}, source=str(path))

    def replace(self, **overrides: Any) -> TrainConfig:
        return self.from_dict({**self.to_dict(), **overrides})

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d


def _hints() -> dict[str, Any]:
    return typing.get_type_hints(TrainConfig)


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


def _check_types(cfg: TrainConfig) -> None:
    for f in fields(cfg):
        value = getattr(cfg, f.name)
        hint = _hints()[f.name]
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
