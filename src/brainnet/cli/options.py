"""Command-line options generated from TrainConfig, so the dataclass stays the single source of truth."""

from __future__ import annotations

import argparse
import inspect
import re
import typing
from typing import Any

from brainnet.core.config import CHOICES, TrainConfig
from brainnet.core.dataset import LabelSpec
from brainnet.core.errors import UserInputError


def _field_comments() -> dict[str, str]:
    """The trailing ``# comment`` of each TrainConfig field, used as its --help text."""
    src = inspect.getsource(TrainConfig)
    return dict(re.findall(r"^\s+(\w+): [^=]+=.*?#\s*(.+)$", src, flags=re.MULTILINE))


def _int_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated integers such as 256,128; received {text!r}"
        ) from None


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """--config YAML plus one --option per TrainConfig field (default: not given)."""
    group = parser.add_argument_group("training options (override --config and the defaults)")
    group.add_argument(
        "--config", metavar="YAML", help="a YAML file of training options (a preset)"
    )
    comments = _field_comments()
    hints = typing.get_type_hints(TrainConfig)
    defaults = TrainConfig()
    for name in TrainConfig.field_names():
        flag = "--" + name.replace("_", "-")
        default = getattr(defaults, name)
        shown = ",".join(map(str, default)) if isinstance(default, tuple) else default
        shown = "auto" if default is None else shown
        help_text = f"{comments.get(name, '')} (default: {shown})"
        hint = hints[name]
        kwargs: dict[str, Any] = {
            "dest": f"cfg_{name}",
            "default": argparse.SUPPRESS,
            "help": help_text,
        }
        if hint in (bool, bool | None):
            group.add_argument(flag, action=argparse.BooleanOptionalAction, **kwargs)
        elif typing.get_origin(hint) is tuple:
            group.add_argument(flag, type=_int_list, metavar="N,N", **kwargs)
        elif name in CHOICES:
            group.add_argument(flag, metavar="{" + ",".join(CHOICES[name]) + "}", **kwargs)
        else:
            group.add_argument(flag, type=hint, metavar=name.upper(), **kwargs)


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    base = TrainConfig.from_yaml(args.config) if getattr(args, "config", None) else TrainConfig()
    overrides = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_")}
    return base.replace(**overrides) if overrides else base


def add_data_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("reading options (for every DATA argument)")
    group.add_argument("--labels", metavar="A,B,C", help="names of the label columns")
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
