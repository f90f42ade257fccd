"""Training options generated from the configs: help from field metadata, names from the registries."""

import argparse
import dataclasses
import re
import subprocess
import sys

import pytest

from brainnet.cli.main import build_parser, main
from brainnet.cli.options import add_config_options, config_from_args
from brainnet.core.config import CommonConfig, ImageTrainConfig, TrainConfig
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.decision.thresholds import OBJECTIVES
from brainnet.core.errors import UserInputError
from brainnet.pipeline.models import ACTIVATIONS, MODELS


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", default="torch")
    add_config_options(parser)
    return parser


def _helps() -> dict[str, str]:
    """--flag -> its help text, as the train parser builds it."""
    return {a.option_strings[0]: a.help for a in _parser()._actions if a.dest.startswith("cfg_")}


def test_building_the_cli_parser_does_not_import_torch():
    code = (
        "import sys; from brainnet.cli.main import build_parser; build_parser(); "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_one_option_per_field_with_the_fields_help_and_its_kind():
    helps = _helps()
    table = {f.name: f for f in dataclasses.fields(TrainConfig)}
    image = {f.name: f for f in dataclasses.fields(ImageTrainConfig)}
    assert len(helps) == len(table.keys() | image.keys())
    for name in table.keys() | image.keys():
        text = helps["--" + name.replace("_", "-")]
        field = table.get(name) or image[name]
        prefix = (
            "" if name in table and name in image else ("tables: " if name in table else "images: ")
        )
        assert text.startswith(prefix + field.metadata["help"]), name
    assert helps["--hidden-sizes"].startswith("tables: ")
    assert helps["--image-size"].startswith("images: ")
    assert not helps["--n-models"].startswith(("tables", "images"))  # shared now


def test_defaults_are_shown_per_kind_when_they_differ():
    helps = _helps()
    assert helps["--epochs"].endswith("(default: 300 for tables, 40 for images)")
    assert helps["--n-models"].endswith("(default: 10 for tables, 1 for images)")
    assert helps["--model"].endswith("(default: mlp for tables, cnn_small for images)")
    assert helps["--lr"].endswith("(default: 0.002 for tables, 0.003 for images)")
    assert helps["--at-least-one"].endswith("(default: auto)")


def test_help_lists_the_names_the_registries_own():
    helps = _helps()
    tables = ", ".join(n for n in MODELS if MODELS.get(n).data == "table")
    images = ", ".join(n for n in MODELS if MODELS.get(n).data == "images")
    assert "(tables: " + tables + "; images: " + images + ")" in helps["--model"]
    assert "--engine torch: " + ", ".join(ACTIVATIONS.names()) in helps["--activation"]
    assert "--engine scratch: leaky_relu, relu, sigmoid, tanh)" in helps["--activation"]
    usage = _parser().format_help()
    assert "--monitor {" + ",".join(MONITORS.names()) + "}" in usage
    assert "--threshold-objective {" + ",".join(OBJECTIVES.names()) + "}" in usage


def test_options_build_the_config_of_each_kind():
    parser = _parser()
    cfg = config_from_args(
        parser.parse_args(["--hidden-sizes", "64,32", "--no-at-least-one", "--lr", "0.01"])
    )
    assert cfg.hidden_sizes == (64, 32) and cfg.at_least_one is False and cfg.lr == 0.01
    assert config_from_args(parser.parse_args([])) == TrainConfig()
    assert config_from_args(parser.parse_args([]), "images") == ImageTrainConfig()
    images = config_from_args(parser.parse_args(["--model", "resnet18", "--epochs", "2"]), "images")
    assert images.model == "resnet18" and images.epochs == 2 and images.batch_size == 32
    spiking = config_from_args(parser.parse_args(["--model", "snn_mlp", "--patience", "7"]))
    assert spiking.hidden_sizes == (512,) and spiking.batch_size == 64 and spiking.patience == 7
    with pytest.raises(SystemExit):
        parser.parse_args(["--hidden-sizes", "a,b"])
    with pytest.raises(UserInputError, match="--image-size apply to images only"):
        config_from_args(parser.parse_args(["--image-size", "64"]))


@pytest.mark.parametrize(
    "argv,kind,message",
    [
        (
            ["--model", "resnt18"],
            "images",
            r"unknown model 'resnt18'; available: .*Did you mean 'resnet18'",
        ),
        (
            ["--model", "seed_cnn"],
            "tables",
            r"model 'seed_cnn' reads images, and this data is table",
        ),
        (["--model", "mlp"], "images", r"model 'mlp' reads table, and this data is images"),
        (["--activation", "rleu"], "tables", r"unknown activation 'rleu'; available: elu, gelu"),
        (["--activation", "sigmoid"], "tables", r"unknown activation 'sigmoid'"),
        (
            ["--engine", "scratch", "--activation", "gelu"],
            "tables",
            r"unknown activation 'gelu'; available: leaky_relu",
        ),
    ],
)
def test_names_are_checked_against_the_engines_registries(argv, kind, message):
    with pytest.raises(UserInputError, match=message):
        config_from_args(_parser().parse_args(argv), kind)


def test_each_engine_accepts_its_own_activations():
    parser = _parser()
    assert config_from_args(parser.parse_args(["--activation", "gelu"])).activation == "gelu"
    argv = ["--engine", "scratch", "--activation", "sigmoid"]
    assert config_from_args(parser.parse_args(argv)).activation == "sigmoid"


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--model", "resnt18"], "error: unknown model 'resnt18'; available: "),
        (["--activation", "rleu"], "error: unknown activation 'rleu'; available: "),
    ],
)
def test_the_cli_rejects_unknown_names_before_reading_data(tmp_path, extra, message, capsys):
    argv = ["train", str(tmp_path / "missing.csv"), "--out", str(tmp_path / "m"), *extra]
    assert main(argv) == 2  # the data file does not exist: the name is checked first
    assert message in capsys.readouterr().err


def test_every_shared_option_appears_once_in_train_help():
    train = next(
        a for a in build_parser()._subparsers._group_actions[0].choices.items() if a[0] == "train"
    )[1]
    text = train.format_help()
    for f in dataclasses.fields(CommonConfig):
        flag = "--" + f.name.replace("_", "-")
        assert len(re.findall(rf"^  {flag}[ ,\n]", text, flags=re.MULTILINE)) == 1, f.name
