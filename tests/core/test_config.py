import dataclasses
import json
from pathlib import Path

import pytest

from brainnet.core import config as config_module
from brainnet.core.config import CommonConfig, ImageTrainConfig, TrainConfig
from brainnet.core.decision.metrics import MONITORS
from brainnet.core.decision.thresholds import OBJECTIVES
from brainnet.core.errors import UserInputError

FIXTURES = Path(__file__).parents[1] / "fixtures" / "models_v0_1_0"
# every default, pinned: saved models and published numbers depend on them
TABLE_DEFAULTS = {
    "model": "mlp",
    "n_models": 10,
    "epochs": 300,
    "batch_size": 128,
    "weight_decay": 1e-2,
    "patience": 10,
    "lr": 2e-3,
    "pos_weight": "none",
    "val_fraction": 0.2,
    "monitor": "average_precision",
    "threshold_objective": "micro_f1",
    "min_positives": 5,
    "threshold_shrinkage": 10.0,
    "at_least_one": None,
    "calibration": "auto",
    "seed": 0,
    "device": "auto",
    "time_steps": 8,
    "neuron": "lif",
    "surrogate": "fast_sigmoid",
    "encoder": "direct",
    "beta": 0.9,
    "threshold": 1.0,
    "hidden_sizes": [256],
    "dropout": 0.5,
    "input_dropout": 0.1,
    "batch_norm": True,
    "activation": "relu",
    "batched_ensemble": True,
    "sparse_first_layer": "auto",
    "try_deeper": 3,
    "deeper_width": 0,
    "distill": 0,
    "impute": True,
    "scale_binary": False,
    "keep_id_columns": False,
    "winners": 80,
    "plastic_epochs": 5,
    "plastic_lr": 0.5,
    "plastic_rule": "hebbian",
}
IMAGE_DEFAULTS = {
    **{k: TABLE_DEFAULTS[k] for k in (f.name for f in dataclasses.fields(CommonConfig))},
    "model": "cnn_small",
    "n_models": 1,
    "epochs": 40,
    "batch_size": 32,
    "weight_decay": 0.05,
    "patience": 15,
    "time_steps": 6,
    "lr": 3e-3,
    "image_size": 64,
    "pretrained": None,
    "download_weights": False,
    "backbone_lr_mult": 1.0,
    "fine_tune_epochs": 0,
    "schedule": "onecycle",
    "ema": 0.99,
    "tta": True,
    "augmentation": "photo",
    "freeze_backbone": False,
    "rotation": 20.0,
    "shift": 0.2,
    "hflip": True,
    "workers": 0,
    "cache": True,
    "strict": False,
}


@pytest.mark.parametrize(
    "config,expected", [(TrainConfig, TABLE_DEFAULTS), (ImageTrainConfig, IMAGE_DEFAULTS)]
)
def test_defaults_are_the_tested_ones(config, expected):
    assert config().to_dict() == expected
    assert all(type(v) is type(expected[k]) for k, v in config().to_dict().items())


def test_shared_fields_are_declared_once_with_one_help():
    shared = [f.name for f in dataclasses.fields(CommonConfig)]
    assert {"model", "n_models", "calibration"} <= set(shared) and len(shared) == len(set(shared))
    table = {f.name: f for f in dataclasses.fields(TrainConfig)}
    image = {f.name: f for f in dataclasses.fields(ImageTrainConfig)}
    assert set(table) & set(image) == set(shared)
    source = Path(config_module.__file__).read_text("utf-8")
    for f in dataclasses.fields(CommonConfig):
        # the subclasses re-use the base declaration: same type, same help, written once in config.py
        assert table[f.name].metadata == f.metadata == image[f.name].metadata, f.name
        assert table[f.name].type == f.type == image[f.name].type
        assert source.count(f.metadata["help"][:40]) == 1, f.name
    assert set(TrainConfig.kind_defaults) == set(ImageTrainConfig.kind_defaults) <= set(shared)


@pytest.mark.parametrize("config", [TrainConfig, ImageTrainConfig])
def test_every_field_has_help_text(config):
    for f in dataclasses.fields(config):
        assert isinstance(f.metadata.get("help"), str) and len(f.metadata["help"]) > 10, f.name


def test_per_kind_defaults_go_through_kind_defaults_only():
    class Short(ImageTrainConfig):
        kind_defaults = {**ImageTrainConfig.kind_defaults, "epochs": 3}

    Short = dataclasses.dataclass(frozen=True)(Short)
    assert Short().epochs == 3 and ImageTrainConfig().epochs == 40
    with pytest.raises(KeyError):

        class Typo(TrainConfig):
            kind_defaults = {"epohcs": 3}


@pytest.mark.parametrize("model", ["snn_mlp", "hebbian_net"])
def test_spiking_and_plastic_table_models_keep_the_recipe_they_were_measured_with(model):
    from brainnet import MultiLabelMLP

    before = {
        "hidden_sizes": (512,),
        "batch_size": 64,
        "lr": 1e-3,
        "patience": 20,
        "scale_binary": True,
    }
    cfg = TrainConfig.from_dict({"model": model})
    assert {k: getattr(cfg, k) for k in before} == before
    est = MultiLabelMLP(model=model)
    assert {k: getattr(est, k) for k in before} == before and est.config == cfg
    # what the user gives wins; other models and images are untouched
    assert TrainConfig.from_dict({"model": model, "hidden_sizes": [32]}).hidden_sizes == (32,)
    assert MultiLabelMLP(model=model, lr=0.01).lr == 0.01
    assert TrainConfig.from_dict({"model": "mlp"}) == TrainConfig() == MultiLabelMLP().config
    assert ImageTrainConfig.defaults_for_model(model) == {}


def test_a_saved_config_from_before_model_and_n_models_still_loads():
    table = json.loads((FIXTURES / "table_torch" / "brainnet.json").read_text())["config"]
    image = json.loads((FIXTURES / "images_seed_cnn" / "brainnet.json").read_text())["config"]
    assert "model" not in table and "n_models" not in image
    cfg = TrainConfig.from_dict(table, source="brainnet.json")
    assert cfg.model == "mlp" and cfg.n_models == 2 and cfg.hidden_sizes == (8,)
    icfg = ImageTrainConfig.from_dict(image, source="brainnet.json")
    assert icfg.n_models == 1 and icfg.model == "seed_cnn" and icfg.image_size == 16


@pytest.mark.parametrize("config", [TrainConfig, ImageTrainConfig])
def test_monitor_and_objective_are_checked_against_their_registries(config):
    for name in MONITORS:
        assert config(monitor=name).monitor == name
    for name in OBJECTIVES:
        assert config(threshold_objective=name).threshold_objective == name
    listed = ", ".join(MONITORS.names())
    with pytest.raises(UserInputError, match=f"monitor must be one of {listed}; received 'loos'"):
        config(monitor="loos")


def test_engine_owned_names_need_only_be_non_empty():
    # the engines' registries judge model and activation names when they build the network
    assert TrainConfig(model="anything", activation="swish").model == "anything"
    with pytest.raises(UserInputError, match="model must be a registered model name; received ''"):
        TrainConfig(model="")
    with pytest.raises(UserInputError, match="activation must be an activation name"):
        TrainConfig(activation=" ")
    with pytest.raises(UserInputError, match="model in config must be of type str; received 3"):
        ImageTrainConfig.from_dict({"model": 3})


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
        (
            {"threshold_objective": "f2"},
            "threshold_objective must be one of hamming, macro_f1, micro_f1, samples_f1; received 'f2'",
        ),
        ({"n_models": 0}, "n_models must be an integer >= 1; received 0"),
        (
            {"calibration": "isotonic"},
            "calibration must be one of auto, temperature, platt, none; received 'isotonic'",
        ),
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
