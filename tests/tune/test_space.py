"""Search spaces: defaults per kind, YAML overrides, and every malformed or impossible space as a clear error."""

import pytest

from brainnet.core.config import ImageTrainConfig, TrainConfig
from brainnet.core.errors import UserInputError
from brainnet.tune.space import config_values, default_space, read_space


def test_default_spaces_cover_the_issue_lists():
    table = default_space("table", TrainConfig())
    assert set(table) == {
        "width",
        "depth",
        "dropout",
        "lr",
        "weight_decay",
        "batch_size",
        "pos_weight",
    }
    images = default_space("images", ImageTrainConfig(image_size=64))
    assert set(images) == {"model", "image_size", "lr", "augment"}
    assert images["model"].choices[0] == "cnn_small" and images["image_size"].choices == (48, 64)
    assert default_space("images", ImageTrainConfig(image_size=24))["image_size"].choices == (32,)


def test_shorthands_expand_to_config_fields():
    base = TrainConfig()
    assert config_values({"width": 256, "depth": 3, "lr": 0.01}, base) == {
        "lr": 0.01,
        "hidden_sizes": (256, 128, 64),
        "try_deeper": 0,  # the study chose the layers: no depth trial on top of them
    }
    assert config_values({"depth": 2}, base)["hidden_sizes"] == (256, 128)
    assert (
        config_values({"depth": 2, "try_deeper": 2}, base)["try_deeper"] == 2
    )  # fixed in the space
    assert config_values({"augment": 0.5}, ImageTrainConfig()) == {"rotation": 15.0, "shift": 0.1}


def test_yaml_overrides_ranges_choices_and_fixed_values(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(
        "lr: {low: 0.001, high: 0.1, log: true}\n"
        "batch_size: {choices: [16, 32]}\n"
        "depth: 1\n"
        "epochs: 7\n"
        "input_dropout: {low: 0, high: 0.3}\n"
    )
    params, fixed = read_space(path, "table", TrainConfig())
    assert params["lr"].to_dict() == {"low": 0.001, "high": 0.1, "log": True}
    assert params["batch_size"].choices == (16, 32) and params["input_dropout"].kind == "float"
    assert fixed == {"depth": 1, "epochs": 7} and "depth" not in params and "width" in params


@pytest.mark.parametrize(
    "text,message",
    [
        ("lerning_rate: {low: 1, high: 2}", "unknown name 'lerning_rate'"),
        ("lr_: 0.1", r"unknown name 'lr_' in .*\(did you mean 'lr'\?\)"),
        ("augment: {low: 0, high: 1}", "unknown name 'augment'.*A table space may search"),
        ("lr: {low: 0.1, high: 0.01}", "low must be below high; received low=0.1, high=0.01"),
        ("lr: {low: 0, high: 0.1, log: true}", "a log range needs low > 0"),
        ("lr: {low: a, high: 0.1}", "needs numeric low and high"),
        ("lr: {min: 0.1, max: 1}", r"unknown key\(s\) \['max', 'min'\]"),
        ("batch_size: {choices: []}", "non-empty list of choices"),
        ("hidden_sizes: {choices: [[64], [32, 16]]}", "search width and depth instead"),
        ("epochs: {low: 1.5, high: 3}", "is an integer option"),
        ("activation: {low: 1, high: 2}", "only numeric options take a range"),
        ("dropout: {low: 0.2, high: 1.5}", r"impossible search space .*dropout=1.5 is not a valid"),
        ("batch_size: {choices: [1, 32]}", r"impossible search space .*batch_size=1"),
        ("- lr\n- dropout", "must be a mapping of name: range; received list"),
        ("lr: [", "is not valid YAML"),
        (
            "width: 64\ndepth: 1\ndropout: 0.1\nlr: 0.01\nweight_decay: 0.0\nbatch_size: 32\npos_weight: none",
            "leaves nothing to search",
        ),
    ],
)
def test_bad_spaces_are_clear_errors(tmp_path, text, message):
    path = tmp_path / "space.yaml"
    path.write_text(text)
    with pytest.raises(UserInputError, match=message):
        read_space(path, "table", TrainConfig())


def test_a_missing_space_file_is_named(tmp_path):
    with pytest.raises(UserInputError, match="search space file not found"):
        read_space(tmp_path / "nope.yaml", "table", TrainConfig())
