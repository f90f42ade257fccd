"""The typed training configs: the single source of truth for defaults, help text, presets and CLI overrides.

``CommonConfig`` declares, once, every option that tables and images share; ``TrainConfig`` (tables) and
``ImageTrainConfig`` (images) extend it with their own options and set the per-kind defaults of the shared ones
in ``kind_defaults`` (epochs, batch size, weight decay, patience, n_models and the model name differ by kind).
YAML presets set a config (``--config preset.yaml``), ``--key value`` options override it, unknown keys and wrong
types are errors, and the resolved config is saved inside every model directory.

Each field carries its ``--help`` text in ``dataclasses.field(metadata={"help": ...})``. Why metadata and not a
typed-CLI library such as tyro: the dataclass is more than a CLI schema (it is the YAML preset schema, the
estimators' keyword arguments and the config saved with every model), the CLI needs what such libraries make
awkward (one parser for two configs, "tables:"/"images:" prefixes, defaults shown per kind, argparse subcommands
as they are), and metadata is the standard library: no new dependency, readable by any tool through
``dataclasses.fields``.

Names that registries own are never listed here. ``monitor`` and ``threshold_objective`` are checked against the
core registries (``MONITORS``, ``OBJECTIVES``); ``model`` and ``activation`` belong to the engines' registries
(torch in ``brainnet.pipeline``, NumPy in ``brainnet.scratch``), which core cannot import, so a config checks
only that they are non-empty and the engine's ``Registry.get`` names what exists when it builds the network
(the CLI asks the engines' registries before training starts).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import types
import typing
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, ClassVar

from brainnet.core.decision.calibration import CALIBRATIONS
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.decision.thresholds import OBJECTIVES
from brainnet.core.errors import UserInputError

POS_WEIGHTS = ("none", "auto")
SPARSE_FIRST_LAYER = ("on", "auto", "off")


def _option(help: str, default: Any = dataclasses.MISSING) -> Any:
    """A config field: its default (none: each kind sets it in ``kind_defaults``) and its --help text."""
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class CommonConfig:
    """The options tables and images share, declared once; a kind sets the first seven in ``kind_defaults``.

    Not for direct use: ``TrainConfig`` and ``ImageTrainConfig`` are the configs.
    """

    # the per-kind defaults of the fields below that have none; applied when a subclass is created
    kind_defaults: ClassVar[dict[str, Any]] = {}

    # --- set per kind
    model: str = _option("the network, by registered name")
    n_models: int = _option(
        "models trained and averaged (seeds seed, seed+1, ...); >1: cross-fitting on n_models stratified "
        "folds, each model early-stops on its own fold and thresholds come from out-of-fold probabilities"
    )
    epochs: int = _option("upper bound; early stopping usually ends sooner")
    batch_size: int = _option("training examples per optimisation step")
    weight_decay: float = _option("AdamW's decoupled weight decay (0: plain Adam)")
    patience: int = _option("epochs without improvement before stopping; best weights are restored")
    time_steps: int = _option("spiking models (snn_mlp, snn_cnn): simulation steps per input (T)")
    # --- optimisation: AdamW on BCEWithLogits
    lr: float = _option("AdamW's learning rate", 1e-3)
    pos_weight: str = _option(
        '"auto": weight positives by (negatives / positives) per label, capped', "none"
    )
    # --- early stopping on the validation split (the data's own, else multi-label stratified)
    val_fraction: float = _option(
        "hold-out share when n_models is 1 and the data has no val split, in (0, 0.5]", 0.2
    )
    monitor: str = _option("validation quantity that early stopping watches", "average_precision")
    # --- decision layer: per-label thresholds tuned on the validation split
    threshold_objective: str = _option("what the per-label thresholds maximise", "micro_f1")
    min_positives: int = _option(
        "labels with fewer validation positives use the global threshold", 5
    )
    threshold_shrinkage: float = _option(
        "pull per-label thresholds toward the global one (0 = off)", 10.0
    )
    at_least_one: bool | None = _option(
        "give a row with no label over its threshold its top label; unset: on when every training row "
        "has a label",
        None,
    )
    calibration: str = _option(
        "per-label probability calibration fitted on the validation probabilities before the thresholds: "
        "temperature, platt, none, or auto (the one of those with the lowest out-of-fold validation "
        "log-loss, so it is on only when it helps)",
        "auto",
    )
    # --- run
    seed: int = _option("random seed of initialisation, splits and shuffling", 0)
    device: str = _option('"auto" (CUDA if present), "cpu", "cuda", "cuda:1", "mps"', "auto")
    # --- spiking models (snn_mlp, snn_cnn in brainnet.brain); other models do not read these, and the CLI
    # refuses them there. Names are checked against brainnet.brain's registries (core cannot import them)
    neuron: str = _option(
        "spiking models: which neuron, leaky integrate-and-fire or adaptive", "lif"
    )
    surrogate: str = _option("spiking models: the surrogate gradient of a spike", "fast_sigmoid")
    encoder: str = _option(
        "spiking models: how inputs become spikes or currents over T steps", "direct"
    )
    beta: float = _option("spiking models: membrane decay per step, in (0, 1)", 0.9)
    threshold: float = _option(
        "spiking models: the neurons' firing threshold, > 0 (not a decision threshold)", 1.0
    )

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Give the shared fields named in the subclass's ``kind_defaults`` its defaults: the same field (type,
        help) with another default, so nothing is declared twice."""
        super().__init_subclass__(**kwargs)
        shared = {f.name: f for f in fields(CommonConfig)}
        annotations = dict(cls.__dict__.get("__annotations__", {}))
        for name, default in cls.__dict__.get("kind_defaults", {}).items():
            base = shared[name]  # a KeyError here is a typo in kind_defaults
            annotations[name] = base.type
            setattr(cls, name, field(default=default, metadata=base.metadata))
        cls.__annotations__ = annotations

    def __post_init__(self) -> None:
        _check_types(self)
        self.validate()

    def validate(self) -> None:
        """Check value ranges; raises UserInputError naming the option and the allowed values."""
        _check(bool(self.model.strip()), "model", self.model, "a registered model name")
        _check(self.n_models >= 1, "n_models", self.n_models, "an integer >= 1")
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
        _check_name(self.monitor, "monitor", MONITORS.names())
        _check(self.patience >= 1, "patience", self.patience, "an integer >= 1")
        _check_name(self.threshold_objective, "threshold_objective", OBJECTIVES.names())
        _check_name(self.calibration, "calibration", list(CALIBRATIONS))
        _check(self.min_positives >= 0, "min_positives", self.min_positives, "an integer >= 0")
        _check(
            self.threshold_shrinkage >= 0,
            "threshold_shrinkage",
            self.threshold_shrinkage,
            "a number >= 0",
        )
        _check(
            self.device == "auto"
            or self.device in ("cpu", "mps")
            or self.device.startswith("cuda"),
            "device",
            self.device,
            "auto, cpu, cuda, cuda:N or mps",
        )
        _check(
            isinstance(self.time_steps, int) and self.time_steps >= 1,
            "time_steps",
            self.time_steps,
            "an integer >= 1 (spiking models; 25 is plenty for tables)",
        )
        for name in ("neuron", "surrogate", "encoder"):
            _check(bool(getattr(self, name).strip()), name, getattr(self, name), f"a {name} name")
        _check(0 < self.beta < 1, "beta", self.beta, "a membrane decay in (0, 1) such as 0.9")
        _check(
            self.threshold > 0,
            "threshold",
            self.threshold,
            "a positive firing threshold such as 1.0",
        )

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
        hints = type_hints(cls)
        values = {**cls.defaults_for_model(values.get("model")), **values}
        coerced = {k: _coerce(k, v, hints[k], source) for k, v in values.items()}
        return cls(**coerced)

    @classmethod
    def defaults_for_model(cls, model: Any) -> dict[str, Any]:
        """The defaults that differ for ``model`` from its kind's (``MODEL_DEFAULTS``); values the user gives
        win over them. {} for any other model (or a value that is not a name: ``validate`` reports it)."""
        return dict(MODEL_DEFAULTS.get(cls, {}).get(model, {})) if isinstance(model, str) else {}

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
class TrainConfig(CommonConfig):
    """Everything that decides how a multi-label model is trained on tables. Defaults are the tested ones."""

    kind_defaults = {
        "model": "mlp",
        "n_models": 10,
        "epochs": 300,
        # batch_size, patience, lr and the width below: chosen by inner validation of the training files of
        # yeast, scene, enron, flags and medical for speed at no loss of AP (benchmarks/fit_speed.py --select;
        # README "Fit speed"); before: batch 64, patience 20, lr 1e-3, 512 units
        "batch_size": 128,
        "weight_decay": 1e-2,
        "patience": 10,
        # chosen by inner validation on yeast, scene and enron (benchmarks/brain.py --select; README)
        "time_steps": 8,
        "lr": 2e-3,
    }

    # --- model: an MLP from features to one logit per label
    hidden_sizes: tuple[int, ...] = _option(
        "widths of the hidden layers; () is logistic regression (snn_mlp and hebbian_net: 512 by default, "
        "with batch 64, lr 1e-3 and patience 20)",
        (256,),
    )
    dropout: float = _option("dropout after each hidden layer, in [0, 1)", 0.5)
    input_dropout: float = _option("dropout on the standardised inputs, in [0, 1)", 0.1)
    batch_norm: bool = _option("BatchNorm1d after each hidden linear layer", True)
    activation: str = _option("non-linearity of the hidden layers", "relu")
    # --- how the torch engine trains the n_models members of the table mlp
    batched_ensemble: bool = _option(
        "torch engine, model mlp, n_models > 1: train the members together as one batched network "
        "(stacked weights; each keeps its own rows, batches, early stopping and best weights); false "
        "trains them one after another (spiking and plastic models and torchrun always do)",
        True,
    )
    sparse_first_layer: str = _option(
        "torch engine, model mlp, batched ensemble (n_models > 1), sparse tables: compute the first layer "
        "from each batch's non-zeros (the rows scaled, not centred, then the centring subtracted once: the "
        "same numbers as the dense product) instead of from dense standardised rows; input dropout then drops "
        "non-zero inputs only. on: required (refused where it cannot apply); auto: on where it applies (chosen "
        "by inner validation on medical, enron, tmc2007_500 and bibtex: README 'Fit speed'); off: every batch "
        "is made dense",
        "auto",
    )
    try_deeper: int = _option(
        "torch engine, model mlp, batched ensemble, up to 10,000 training rows: the ensemble's first N "
        "members are trained with hidden_sizes and with one more layer of its last width, and the layers "
        "with the higher out-of-fold average precision on those N folds train the other members. N is at "
        "most n_models - 1; 0: hidden_sizes, no trial (3 chosen by inner validation on eight MULAN "
        "training files: README 'Fit speed')",
        3,
    )
    deeper_width: int = _option(
        "try_deeper: the width of the added hidden layer; 0: the last width of hidden_sizes",
        0,
    )
    distill: int = _option(
        "torch engine, model mlp, n_models > 1: the width of one student MLP (one hidden layer) trained "
        "after the ensemble to mimic its mean probability, on the training rows and noisy copies of them, "
        "and kept instead of it, with the ensemble's calibration and thresholds: prediction costs one "
        "network (256 units: a tenth of the default 10 x 256), fitting about 5x more; 0: keep the ensemble "
        "(README 'Prediction speed')",
        0,
    )
    # --- data
    impute: bool = _option("fill missing features with training medians; False rejects them", True)
    scale_binary: bool = _option(
        "divide 0/1 columns (indicators, one-hot categories, word-presence features) by their standard "
        "deviation like the other features; false (the default, chosen by inner validation on eight MULAN "
        "training files: README 'Fit speed'): they are only centred, so a rare indicator does not become a "
        "large input",
        False,
    )
    keep_id_columns: bool = _option(
        "keep a text column with a different value on (nearly) every row (an identifier; dropped by "
        "default, with a note)",
        False,
    )
    # --- hebbian_net (brainnet.brain): its unsupervised feature layer; other models do not read these
    winners: int = _option(
        "hebbian_net: units active per input (k-winners-take-all), fewer than the layer's width", 80
    )
    plastic_epochs: int = _option(
        "hebbian_net: passes of the label-free Hebbian rule over the training inputs", 5
    )
    plastic_lr: float = _option("hebbian_net: the plastic rule's learning rate, annealed to 0", 0.5)
    plastic_rule: str = _option(
        "hebbian_net: the label-free rule of its feature layer (competitive Hebbian, Oja, or pair STDP "
        "on spike trains)",
        "hebbian",
    )

    def validate(self) -> None:
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
        _check(bool(self.activation.strip()), "activation", self.activation, "an activation name")
        _check(
            self.sparse_first_layer in SPARSE_FIRST_LAYER,
            "sparse_first_layer",
            self.sparse_first_layer,
            "on, auto or off",
        )
        if self.sparse_first_layer == "on" and (self.n_models < 2 or not self.batched_ensemble):
            raise UserInputError(
                "sparse_first_layer works in the batched ensemble only (n_models > 1 and batched_ensemble "
                f"true); received n_models={self.n_models}, batched_ensemble={self.batched_ensemble}. Use "
                "n_models of 2 or more with the batched ensemble, or --sparse-first-layer auto or off."
            )
        _check(
            isinstance(self.try_deeper, int) and self.try_deeper >= 0,
            "try_deeper",
            self.try_deeper,
            "a number of members >= 1 such as 3, or 0 to keep hidden_sizes",
        )
        _check(
            isinstance(self.deeper_width, int) and self.deeper_width >= 0,
            "deeper_width",
            self.deeper_width,
            "a layer width >= 1 such as 128, or 0 for the last width of hidden_sizes",
        )
        _check(
            isinstance(self.distill, int) and self.distill >= 0,
            "distill",
            self.distill,
            "a student width >= 1 such as 128, or 0 to keep the ensemble",
        )
        if self.distill > 0 and self.n_models < 2:
            raise UserInputError(
                "distill trains one student network to mimic an ensemble, and n_models is 1; received "
                f"n_models={self.n_models}, distill={self.distill}. Use n_models of 2 or more (the default "
                "is 10), or --distill 0."
            )
        _check(self.winners >= 1, "winners", self.winners, "an integer >= 1")
        _check(self.plastic_epochs >= 1, "plastic_epochs", self.plastic_epochs, "an integer >= 1")
        _check(self.plastic_lr > 0, "plastic_lr", self.plastic_lr, "a positive rate such as 0.5")
        _check(bool(self.plastic_rule.strip()), "plastic_rule", self.plastic_rule, "a rule name")
        super().validate()


@dataclass(frozen=True)
class ImageTrainConfig(CommonConfig):
    """Everything that decides how a multi-label image model is trained. Defaults are the tested ones."""

    # the photo recipe (cnn_small, one-cycle AdamW, EMA, flip TTA), chosen on natural_scenes training folds;
    # IMAGE_PRESETS["seed"] gives back the tutorial's recipe exactly
    kind_defaults = {
        "model": "cnn_small",
        "n_models": 1,
        "epochs": 40,  # a fixed one-cycle schedule: the patience below only ends a run that has diverged
        "batch_size": 32,
        "weight_decay": 0.05,
        "patience": 15,
        # chosen by inner validation on digits_mosaic among T = 4, 6 (T = 8 is over the 10x speed budget); README
        "time_steps": 6,
        "lr": 3e-3,  # the one-cycle peak
    }

    # --- model: a registered image network from pixels to one logit per label
    # 64 px: chosen for cnn_small on natural_scenes' inner split among 64 / 80 / 96 / 128 px and two widths,
    # within the CPU budget (benchmarks/results/photos_select/)
    image_size: int = _option("images are resized to image_size x image_size pixels", 64)
    pretrained: str | None = _option(
        "a local weights file (.safetensors, .pt) to start from, or 'imagenet': torchvision's ImageNet "
        "weights for --model from torchvision's cache (downloaded only with --download-weights)",
        None,
    )
    download_weights: bool = _option(
        "let --pretrained imagenet download torchvision's weights into its cache when they are not there",
        False,
    )
    backbone_lr_mult: float = _option(
        "the backbone's learning rate is lr x this (discriminative learning rates; the head gets lr)",
        1.0,
    )
    fine_tune_epochs: int = _option(
        "train only the head for this many epochs, then every layer (fastai's fine_tune); 0: all from the start",
        0,
    )
    # --- the recipe around the network
    schedule: str = _option(
        "learning-rate schedule per step: onecycle (warm up to lr, anneal), cosine, or constant",
        "onecycle",
    )
    ema: float = _option(
        "decay of the exponential moving average of the weights, evaluated and saved instead of the "
        "last weights; 0 turns it off",
        0.99,
    )
    tta: bool = _option(
        "predict with test-time augmentation: the mean of the probabilities of the image and its mirror",
        True,
    )
    augmentation: str = _option(
        "training augmentation: photo (random resized crop, flip, colour jitter), seed (--rotation, "
        "--shift, --hflip) or none",
        "photo",
    )
    freeze_backbone: bool = _option(
        "train only the head (transfer learning from --pretrained)", False
    )
    # --- augmentation of the training images (never at evaluation)
    rotation: float = _option("random rotation up to +- this many degrees; 0 turns it off", 20.0)
    shift: float = _option(
        "random width and height shift, a fraction of the size; 0 turns it off", 0.2
    )
    hflip: bool = _option("random horizontal flip", True)
    # --- data loading
    workers: int = _option("DataLoader worker processes (0: decode in the training process)", 0)
    cache: bool = _option(
        "keep decoded, resized images in memory so later epochs skip decoding", True
    )
    strict: bool = _option(
        "stop at the first unreadable image instead of skipping and counting it", False
    )

    def validate(self) -> None:
        _check(self.image_size >= 16, "image_size", self.image_size, "an integer >= 16")
        _check(0 <= self.rotation <= 180, "rotation", self.rotation, "degrees in [0, 180]")
        _check(0 <= self.shift < 1, "shift", self.shift, "a fraction in [0, 1)")
        _check(self.workers >= 0, "workers", self.workers, "an integer >= 0")
        _check(
            self.schedule in SCHEDULES, "schedule", self.schedule, f"one of {', '.join(SCHEDULES)}"
        )
        _check(
            self.augmentation in AUGMENTS,
            "augmentation",
            self.augmentation,
            f"one of {', '.join(AUGMENTS)}",
        )
        _check(
            0 <= self.ema < 1, "ema", self.ema, "a decay in [0, 1) such as 0.99 (0 turns EMA off)"
        )
        _check(
            self.backbone_lr_mult > 0,
            "backbone_lr_mult",
            self.backbone_lr_mult,
            "a number > 0 such as 0.1",
        )
        _check(
            0 <= self.fine_tune_epochs < self.epochs,
            "fine_tune_epochs",
            self.fine_tune_epochs,
            f"an integer in [0, epochs = {self.epochs})",
        )
        if self.fine_tune_epochs and self.freeze_backbone:
            raise UserInputError(
                "fine_tune_epochs trains the head first and then every layer, and freeze_backbone keeps the "
                "backbone frozen throughout; pass one of them, not both."
            )
        _check(
            self.pretrained is None or bool(self.pretrained.strip()),
            "pretrained",
            self.pretrained,
            "a weights file or 'imagenet'",
        )
        super().validate()


# Defaults that depend on the model, per config class. The spiking and plastic table models keep the recipe
# their defaults and README numbers were chosen and measured with (benchmarks/brain.py, benchmarks/hebbian.py):
# the torch mlp's before the fit-speed selection, which compared candidates on the mlp only.
_TABLE_RECIPE_BEFORE_FIT_SPEED: dict[str, Any] = {
    "hidden_sizes": (512,),
    "batch_size": 64,
    "lr": 1e-3,
    "patience": 20,
    "scale_binary": True,
}
MODEL_DEFAULTS: dict[type, dict[str, dict[str, Any]]] = {
    TrainConfig: {
        "snn_mlp": _TABLE_RECIPE_BEFORE_FIT_SPEED,
        "hebbian_net": _TABLE_RECIPE_BEFORE_FIT_SPEED,
    },
}

SCHEDULES = ("onecycle", "cosine", "constant")
AUGMENTS = ("photo", "seed", "none")

# named sets of image options (``--preset NAME``; ``MultiLabelImageClassifier(**IMAGE_PRESETS[NAME])``)
IMAGE_PRESETS: dict[str, dict[str, Any]] = {
    # the tutorial, exactly: Conv32-Pool-Conv64-Pool-Dense64 at 150 px, batch 32, Adam 1e-3 (no weight
    # decay, no schedule), rotation 20 / shift 0.2 / flip, early stopping with patience 5, no EMA, no TTA
    "seed": {
        "model": "seed_cnn",
        "image_size": 150,
        "epochs": 30,
        "batch_size": 32,
        "lr": 1e-3,
        "weight_decay": 0.0,
        "patience": 5,
        "schedule": "constant",
        "ema": 0.0,
        "tta": False,
        "augmentation": "seed",
        "rotation": 20.0,
        "shift": 0.2,
        "hflip": True,
    },
    # ImageNet weights, fastai's fine_tune: the new head alone for 2 epochs, then every layer with the
    # backbone at a tenth of the head's learning rate
    "finetune": {
        "model": "resnet18",
        "pretrained": "imagenet",
        "image_size": 160,
        "epochs": 12,
        "lr": 1e-3,
        "fine_tune_epochs": 2,
        "backbone_lr_mult": 0.1,
    },
}


def _check_name(value: str, name: str, names: list[str]) -> None:
    """``value`` is one of a registry's ``names`` (the registry owns the list)."""
    _check(value in names, name, value, f"one of {', '.join(names)}")


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


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """``typing.get_type_hints`` of a config class, resolved once (every config checks its types)."""
    return typing.get_type_hints(cls)


def _check_types(cfg: CommonConfig) -> None:
    hints = type_hints(type(cfg))
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
