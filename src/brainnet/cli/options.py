"""Command-line options generated from the configs, so the dataclasses stay the single source of truth.

Each option's help is its field's ``metadata["help"]``; the names an option accepts (models, activations,
monitors, threshold objectives) come from the registries that own them, which are read without importing torch.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from typing import Any

from brainnet.brain.registry import (
    ENCODERS,
    HEBBIAN_SPIKING_OPTIONS,
    NEURONS,
    PLASTIC_RULES,
    SPIKING_MODELS,
    SURROGATES,
)
from brainnet.core.config import IMAGE_PRESETS, POS_WEIGHTS, ImageTrainConfig, TrainConfig
from brainnet.core.data.labels import LabelSpec
from brainnet.core.decision.calibration import CALIBRATIONS
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.decision.thresholds import OBJECTIVES
from brainnet.core.errors import UserInputError
from brainnet.pipeline.models.activations import ACTIVATIONS as TORCH_ACTIVATIONS
from brainnet.pipeline.models.registry import MODELS, model_for
from brainnet.scratch.layers.activations import ACTIVATIONS as SCRATCH_ACTIVATIONS

CONFIGS = {"tables": TrainConfig, "images": ImageTrainConfig}
DATA = {"tables": "table", "images": "images"}  # config kind -> ModelSpec.data
# options whose value is one of a fixed set, shown as {a,b,c}; each list comes from its owner
CHOICES = {
    "monitor": MONITORS.names,
    "threshold_objective": OBJECTIVES.names,
    "pos_weight": lambda: list(POS_WEIGHTS),
    "calibration": lambda: list(CALIBRATIONS),
    "neuron": NEURONS.names,
    "surrogate": SURROGATES.names,
    "encoder": ENCODERS.names,
    "plastic_rule": PLASTIC_RULES.names,
}
# the options only spiking models read (brainnet.brain), and the ones they do not read
SPIKING_OPTIONS = ("time_steps", "neuron", "surrogate", "encoder", "beta", "threshold")
NOT_FOR_SPIKING = ("activation",)


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 256,128; received {text!r}"
        ) from None


def _shown(value: Any, hint: Any = None) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    if value is None:
        return "auto" if hint == bool | None else "none"
    return str(value)


def _scratch_activations() -> list[str]:
    # softmax normalises across the units: the scratch engine refuses it as a hidden activation
    return [n for n in SCRATCH_ACTIVATIONS.names() if n != "softmax"]


def _names_help(name: str) -> str:
    """What a registry-owned option accepts, per kind or engine ("" for other options)."""
    if name == "model":
        kinds = {k: [n for n in MODELS if MODELS.get(n).data == d] for k, d in DATA.items()}
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in kinds.items())
    if name == "activation":
        torch, scratch = ", ".join(TORCH_ACTIVATIONS.names()), ", ".join(_scratch_activations())
        return f"--engine torch: {torch}; --engine scratch: {scratch}"
    return ""


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--config YAML plus one --option per field of TrainConfig and ImageTrainConfig (default: not given).

    An option only one kind of data uses says so in its help ("tables:" or "images:"); ``config_from_args``
    rejects it for the other kind.
    """
    group = parser.add_argument_group("training options (override --config and the defaults)")
    group.add_argument(
        "--config", metavar="YAML", help="a YAML file of training options (a preset)"
    )
    group.add_argument(
        "--preset",
        choices=sorted(IMAGE_PRESETS),
        help="images: a named set of options under --config and the options given: seed (the tutorial's "
        "seed_cnn recipe, exactly) or finetune (resnet18 from ImageNet weights, head first)",
    )
    declared: dict[str, dataclasses.Field] = {}
    kinds_of: dict[str, list[str]] = {}
    for kind, config in CONFIGS.items():
        for f in dataclasses.fields(config):
            declared.setdefault(f.name, f)
            kinds_of.setdefault(f.name, []).append(kind)
    hints = {kind: typing.get_type_hints(config) for kind, config in CONFIGS.items()}
    instances = {
        kind: config() for kind, config in CONFIGS.items()
    }  # one each: defaults are checked
    for name, kinds in kinds_of.items():
        hint = hints[kinds[0]][name]
        defaults = {k: _shown(getattr(instances[k], name), hint) for k in kinds}
        if len(set(defaults.values())) == 1:
            shown = f"default: {defaults[kinds[0]]}"
        else:
            shown = "default: " + ", ".join(f"{v} for {k}" for k, v in defaults.items())
        prefix = "" if len(kinds) == len(CONFIGS) else f"{kinds[0]}: "
        names = _names_help(name)
        text = declared[name].metadata["help"] + (f" ({names})" if names else "")
        kwargs: dict[str, Any] = {
            "dest": f"cfg_{name}",
            "default": argparse.SUPPRESS,
            "help": f"{prefix}{text} ({shown})",
        }
        flag = "--" + name.replace("_", "-")
        if hint in (bool, bool | None):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif typing.get_origin(hint) is tuple:
            group.add_argument(flag, type=_int_list, metavar="N,N", **kwargs)
        elif name in CHOICES:
            group.add_argument(flag, metavar="{" + ",".join(CHOICES[name]()) + "}", **kwargs)
        elif hint == str | None:
            group.add_argument(flag, type=str, metavar=name.upper(), **kwargs)
        else:
            group.add_argument(flag, type=hint, metavar=name.upper(), **kwargs)


def config_from_args(
    args: argparse.Namespace, kind: str = "tables", preset: dict[str, Any] | None = None
) -> Any:
    """The config of ``kind`` ("tables" or "images"): defaults, then a built-in dataset's ``preset``, then
    --config YAML, then the options given on the command line.

    The model and the activation are checked against the registries of the engine that will build them
    (``--engine``, torch by default), so a misspelt name stops the run before any data is read.
    """
    config = CONFIGS[kind]
    values = dict(preset or {})
    if getattr(args, "preset", None):
        if kind != "images":
            raise UserInputError(
                f"--preset {args.preset} is a set of image options, and this data is {kind}. Drop it."
            )
        values.update(IMAGE_PRESETS[args.preset])
    if getattr(args, "config", None):
        values.update(config.yaml_values(args.config))
    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_")}
    foreign = [k for k in overrides if k not in config.field_names()]
    if foreign:
        flags = ", ".join("--" + k.replace("_", "-") for k in foreign)
        other = next(k for k in CONFIGS if k != kind)
        raise UserInputError(
            f"{flags} apply to {other} only, and this data is {kind}. Drop them (see `brainnet train "
            "--help`: each option says which data it applies to)."
        )
    cfg = config.from_dict({**values, **overrides}, source="the training options")
    model_for(cfg.model, DATA[kind])
    _check_spiking_options(cfg, overrides)
    _check_hebbian_options(cfg, overrides)
    if kind == "tables":
        engine = getattr(args, "engine", "torch")
        (SCRATCH_ACTIVATIONS if engine == "scratch" else TORCH_ACTIVATIONS).get(cfg.activation)
    return cfg


def _check_spiking_options(cfg: Any, given: dict[str, Any]) -> None:
    """Options a model would ignore are refused, not dropped: the spiking options for ordinary models,
    --activation for spiking ones; the spiking names are checked against brainnet.brain's registries."""
    spiking = cfg.model in SPIKING_MODELS
    read = HEBBIAN_SPIKING_OPTIONS if cfg.model == "hebbian_net" else ()
    ignored = [k for k in (NOT_FOR_SPIKING if spiking else SPIKING_OPTIONS) if k in given]
    ignored = [k for k in ignored if k not in read]
    if ignored and read:
        flags = ", ".join("--" + k.replace("_", "-") for k in ignored)
        raise UserInputError(
            f"{flags} do not apply to hebbian_net: its units are LIF neurons under constant current, "
            "read with --time-steps, --beta and --threshold. Drop them, or use --model snn_mlp."
        )
    if ignored:
        flags = ", ".join("--" + k.replace("_", "-") for k in ignored)
        if spiking:
            raise UserInputError(
                f"{flags} do not apply to the spiking model {cfg.model}: its neurons are the "
                "non-linearity. Drop them (and see --neuron, --beta, --threshold)."
            )
        raise UserInputError(
            f"{flags} apply to the spiking models ({', '.join(SPIKING_MODELS)}), and --model is "
            f"{cfg.model}. Add --model {SPIKING_MODELS[0]} (tables) or {SPIKING_MODELS[1]} (images), or "
            "drop them."
        )
    if spiking:
        NEURONS.get(cfg.neuron), SURROGATES.get(cfg.surrogate), ENCODERS.get(cfg.encoder)


HEBBIAN_OPTIONS = ("winners", "plastic_epochs", "plastic_lr", "plastic_rule")


def _check_hebbian_options(cfg: Any, given: dict[str, Any]) -> None:
    """hebbian_net's options are refused for the models that would ignore them."""
    ignored = [k for k in HEBBIAN_OPTIONS if k in given]
    if ignored and cfg.model != "hebbian_net":
        flags = ", ".join("--" + k.replace("_", "-") for k in ignored)
        raise UserInputError(
            f"{flags} apply to hebbian_net, and --model is {cfg.model}. Add --model hebbian_net or drop them."
        )


def add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading options (for every DATA argument)")
    group.add_argument(
        "--labels", metavar="A,B,C", help="names of the label columns (0/1 columns of a manifest)"
    )
    group.add_argument(
        "--label-columns",
        type=int,
        metavar="N",
        help="the last N columns (or ARFF attributes) are labels",
    )
    group.add_argument(
        "--label-column",
        metavar="NAME",
        help="one column holding delimited label names, e.g. 'sea;sunset'",
    )
    group.add_argument(
        "--delimiter", default=";", help="separator inside --label-column (default: ';')"
    )
    group.add_argument(
        "--xml", metavar="FILE", help="MULAN label XML naming the ARFF label attributes"
    )
    group.add_argument(
        "--path-column",
        metavar="NAME",
        help="images: the manifest column of image paths (default: one named path, image, file...)",
    )
    group.add_argument(
        "--split-column",
        metavar="NAME",
        help="images: the manifest column of train/val/test (default: a column named split)",
    )


def manifest_options_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The ``read_manifest`` keyword arguments the reading options give (tables-only ones are refused)."""
    for option in ("label_columns", "xml"):
        if getattr(args, option, None) is not None:
            raise UserInputError(
                f"--{option.replace('_', '-')} applies to tables; for an image manifest use --labels A,B "
                "(0/1 columns) or --label-column NAME (delimited names)."
            )
    labels = None
    if args.labels is not None:
        labels = [s.strip() for s in args.labels.split(",") if s.strip()]
    options = {
        "path_column": args.path_column,
        "label_column": args.label_column,
        "labels": labels,
        "split_column": args.split_column,
    }
    options = {k: v for k, v in options.items() if v is not None}
    if args.label_column is not None:
        options["delimiter"] = args.delimiter
    return options


def label_spec_from_args(args: argparse.Namespace) -> LabelSpec:
    given = [
        o
        for o in ("labels", "label_columns", "label_column", "xml")
        if getattr(args, o) is not None
    ]
    if len(given) > 1:
        flags = ", ".join("--" + o.replace("_", "-") for o in given)
        raise UserInputError(f"choose one way to name the labels; received {flags}.")
    labels = None
    if args.labels is not None:
        labels = tuple(s.strip() for s in args.labels.split(",") if s.strip())
        if not labels:
            raise UserInputError(
                f"--labels needs at least one column name; received {args.labels!r}."
            )
    return LabelSpec(
        labels=labels,
        label_columns=args.label_columns,
        label_column=args.label_column,
        delimiter=args.delimiter,
        xml=args.xml,
    )
