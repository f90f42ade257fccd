import pytest

from brainnet.core.config import TrainConfig
from brainnet.core.errors import UserInputError


def test_defaults_are_valid_and_round_trip():
    cfg = TrainConfig()
    assert TrainConfig.from_dict(cfg.to_dict()) == cfg


def test_unknown_key_names_the_closest_option():
    with pytest.raises(UserInputError, match=r"'dropuot' \(did you mean 'dropout'\?\)"):
        TrainConfig.from_dict({"dropuot": 0.1})


@pytest.mark.parametrize(
    "values,message",
    [
        ({"dropout": "high"}, "dropout in config must be of type float; received 'high'"),
        ({"batch_norm": "yes"}, "batch_norm in config must be true or false"),
        ({"hidden_sizes": ["a"]}, "hidden_sizes in config must be a list of integers"),
        ({"epochs": 2.5}, "epochs in config must be of type int"),
        ({"epochs": True}, "epochs in config must be of type int"),
        ({"dropout": 1.0}, r"dropout must be a probability in \[0, 1\); received 1.0"),
        ({"threshold_objective": "f2"}, "threshold_objective must be one of micro_f1, macro_f1"),
        ({"val_fraction": 0.9}, r"val_fraction must be a fraction in \(0, 0.5\]"),
        ({"device": "tpu"}, "device must be auto, cpu, cuda, cuda:N or mps"),
        ({"hidden_sizes": [0]}, "hidden_sizes must be positive layer widths"),
    ],
)
def test_bad_values_are_clear_errors(values, message):
    with pytest.raises(UserInputError, match=message):
        TrainConfig.from_dict(values)


def test_yaml_ints_become_floats_and_lists_become_tuples(tmp_path):
    path = tmp_path / "preset.yaml"
    path.write_text("hidden_sizes: [64, 32]\nlr: 1\nbatch_norm: false\n")
    cfg = TrainConfig.from_yaml(path)
    assert (
        cfg.hidden_sizes == (64, 32)
        and cfg.lr == 1.0
        and isinstance(cfg.lr, float)
        and not cfg.batch_norm
    )


def test_yaml_errors(tmp_path):
    with pytest.raises(UserInputError, match="config file not found"):
        TrainConfig.from_yaml(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("lr: [1\n")
    with pytest.raises(UserInputError, match="not valid YAML"):
        TrainConfig.from_yaml(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("3\n")
    with pytest.raises(UserInputError, match="must be a mapping"):
        TrainConfig.from_yaml(scalar)


def test_replace_validates():
    assert TrainConfig().replace(lr=0.01).lr == 0.01
    with pytest.raises(UserInputError, match="lr must be a positive"):
        TrainConfig().replace(lr=-1.0)


def test_optional_bool_accepts_unset_and_rejects_strings():
    assert TrainConfig.from_dict({"at_least_one": None}).at_least_one is None
    assert TrainConfig.from_dict({"at_least_one": False}).at_least_one is False
    with pytest.raises(UserInputError, match="at_least_one must be of type bool | None"):
        TrainConfig.from_dict({"at_least_one": "yes"})


def test_cli_options_are_generated_from_the_config():
    import argparse

    from brainnet.cli.options import add_config_options, config_from_args

    parser = argparse.ArgumentParser()
    add_config_options(parser)
    cfg = config_from_args(
        parser.parse_args(["--hidden-sizes", "64,32", "--no-at-least-one", "--lr", "0.01"])
    )
    assert cfg.hidden_sizes == (64, 32) and cfg.at_least_one is False and cfg.lr == 0.01
    assert config_from_args(parser.parse_args([])) == TrainConfig()
    with pytest.raises(SystemExit):
        parser.parse_args(["--hidden-sizes", "a,b"])
