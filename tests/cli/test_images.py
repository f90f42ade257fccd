"""The CLI on images end to end: manifests and class folders in, a model out, evaluate and predict per file."""

import csv
import json

import numpy as np
import pytest
from PIL import Image

from brainnet.cli.main import main
from brainnet.core.decision.metrics import METRIC_KEYS

FAST = ["--image-size", "24", "--epochs", "2", "--batch-size", "16", "--quiet"]


def _image(rng, red: bool, blue: bool) -> np.ndarray:
    a = rng.integers(90, 140, size=(28, 28, 3)).astype(np.uint8)
    if red:
        a[4:12, 2:12] = (230, 20, 20)
    if blue:
        a[4:12, 16:26] = (20, 20, 230)
    return a


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A manifest (delimited labels, split column) and a class-folder tree of small PNGs."""
    d = tmp_path_factory.mktemp("images")
    rng = np.random.default_rng(0)
    (d / "img").mkdir()
    rows = []
    for i in range(60):
        red, blue = bool(i % 2), bool(i % 3 == 0) or not i % 2
        Image.fromarray(_image(rng, red, blue)).save(d / "img" / f"{i}.png")
        tags = ";".join(n for n, on in (("red", red), ("blue", blue)) if on)
        rows.append([f"img/{i}.png", tags, "train" if i < 40 else ("val" if i < 50 else "test")])
    with open(d / "manifest.csv", "w", newline="") as f:
        csv.writer(f).writerows([["path", "tags", "split"], *rows])
    for name, red in (("reds", True), ("blues", False)):
        (d / "folder" / name).mkdir(parents=True)
        for i in range(12):
            Image.fromarray(_image(rng, red, not red)).save(d / "folder" / name / f"{i}.png")
    (d / "bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    model = d / "model"
    assert main(["train", str(d / "manifest.csv"), "--out", str(model), *FAST]) == 0
    return d


def test_train_on_a_manifest_writes_an_image_model(files, capsys):
    meta = json.loads((files / "model" / "brainnet.json").read_text())
    assert meta["kind"] == "multilabel_image" and sorted(meta["label_names"]) == ["blue", "red"]
    assert meta["n_train"] == 40 and meta["n_val"] == 10  # the manifest's own split column
    assert meta["source"]["kind"] == "manifest"
    assert not (files / "model.checkpoint").exists()


def test_evaluate_json_has_the_tabular_keys(files, capsys):
    assert main(["evaluate", str(files / "model"), str(files / "manifest.csv"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*METRIC_KEYS, "n_samples", "n_labels"]
    assert result["n_samples"] == 10  # the manifest's test rows, not its 40 training rows


@pytest.mark.parametrize("split,n", [("all", 60), ("train", 40), ("val", 10), ("test", 10)])
def test_evaluate_split_picks_the_manifests_rows_and_says_which(files, capsys, split, n):
    args = ["evaluate", str(files / "model"), str(files / "manifest.csv"), "--split", split]
    assert main([*args, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_samples"] == n
    assert main(args) == 0
    assert f"{n} {split} rows" in capsys.readouterr().err or split == "all"


def test_evaluate_a_second_manifest_without_the_split_column(files, capsys):
    """The model remembers split_column='split'; a manifest without one is read without it, all rows."""
    with open(files / "manifest.csv") as f:
        rows = list(csv.reader(f))
    with open(files / "other.csv", "w", newline="") as f:
        csv.writer(f).writerows([["tags", "path"], *[[r[1], r[0]] for r in rows[41:]]])
    assert main(["evaluate", str(files / "model"), str(files / "other.csv"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_samples"] == 20
    assert (
        main(["evaluate", str(files / "model"), str(files / "other.csv"), "--split", "test"]) == 2
    )
    assert "no split column" in capsys.readouterr().err


def test_predict_files_folders_and_bad_files(files, capsys):
    model = str(files / "model")
    argv = [
        "predict",
        model,
        str(files / "img" / "0.png"),
        str(files / "folder" / "reds"),
        str(files / "bad.jpg"),
    ]
    assert main([*argv, "--format", "json", "--top-k", "1"]) == 0
    captured = capsys.readouterr()
    records = json.loads(captured.out)
    assert len(records) == 1 + 12 + 1
    assert set(records[0]["probabilities"]) == {"red", "blue"} and len(records[0]["top"]) == 1
    assert "error" in records[-1] and records[-1]["labels"] == []
    assert "skipped" in captured.err and "bad.jpg" in captured.err

    out = files / "predictions.csv"
    assert main(["predict", model, str(files / "img" / "1.png"), "--out", str(out)]) == 0
    header = next(csv.reader(out.open()))
    assert header[0] == "image" and "labels" in header
    assert (
        main(["predict", model, str(files / "img" / "1.png"), "--out", str(out)]) == 2
    )  # no --force
    assert "--force" in capsys.readouterr().err

    assert main(["predict", model, str(files / "img" / "2.png")]) == 0  # a table on the terminal
    assert "predictions" in capsys.readouterr().out


def test_a_class_folder_trains_single_label_data(files, tmp_path):
    assert main(["train", str(files / "folder"), "--out", str(tmp_path / "m"), *FAST]) == 0
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["label_names"] == ["blues", "reds"]


@pytest.mark.parametrize(
    "extra,message",
    [
        (["--hidden-sizes", "8"], "--hidden-sizes apply to tables only, and this data is images"),
        (
            ["--engine", "scratch"],
            "--engine scratch does not train images; engines for images: torch",
        ),
        (["--model", "resnt18"], "unknown model 'resnt18'; available: "),
        (["--label-columns", "2"], "--label-columns applies to tables"),
    ],
)
def test_user_mistakes_exit_2(files, tmp_path, extra, message, capsys):
    argv = ["train", str(files / "manifest.csv"), "--out", str(tmp_path / "x"), *FAST, *extra]
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_missing_files_are_listed_before_training(files, tmp_path, capsys):
    manifest = tmp_path / "m.csv"
    manifest.write_text("path,tags\n" + "".join(f"nowhere/{i}.png,red\n" for i in range(7)))
    assert main(["train", str(manifest), "--out", str(tmp_path / "x"), *FAST]) == 2
    err = capsys.readouterr().err
    assert "7 of 7 image files are missing" in err and "nowhere/0.png" in err


def test_predict_with_only_bad_images_exits_2(files, capsys):
    assert main(["predict", str(files / "model"), str(files / "bad.jpg")]) == 2
    assert "none of the 1 inputs could be read" in capsys.readouterr().err


def test_a_builtin_preset_is_overridden_by_yaml_then_by_options(tmp_path):
    from brainnet.cli.main import build_parser
    from brainnet.cli.options import config_from_args

    preset = {"image_size": 32, "rotation": 0.0, "epochs": 60}
    yaml = tmp_path / "p.yaml"
    yaml.write_text("epochs: 7\nlr: 0.01\n")
    args = build_parser().parse_args(
        ["train", "shapes", "--out", "m", "--config", str(yaml), "--lr", "0.5"]
    )
    cfg = config_from_args(args, "images", preset)
    assert (cfg.image_size, cfg.rotation, cfg.epochs, cfg.lr) == (32, 0.0, 7, 0.5)
    assert cfg.shift == 0.2  # untouched: the default


def test_resnet18_from_a_local_pretrained_file_with_a_frozen_backbone(files, tmp_path):
    """--model resnet18 --pretrained FILE --freeze-backbone: the file is read locally and reported."""
    from safetensors.torch import save_file

    from brainnet.core.config import ImageTrainConfig
    from brainnet.pipeline.models import MODELS

    cfg = ImageTrainConfig(model="resnet18")
    source = MODELS.get("resnet18").build((3, 32, 32), 7, cfg)  # another head size: it is replaced
    weights = tmp_path / "resnet18.safetensors"
    save_file({k: v.contiguous() for k, v in source.state_dict().items()}, str(weights))
    argv = ["train", str(files / "manifest.csv"), "--out", str(tmp_path / "m"), *FAST]
    argv += ["--image-size", "32", "--model", "resnet18", "--pretrained", str(weights)]
    assert main([*argv, "--freeze-backbone", "--epochs", "1"]) == 0
    meta = json.loads((tmp_path / "m" / "brainnet.json").read_text())
    assert meta["config"]["model"] == "resnet18" and meta["config"]["freeze_backbone"] is True
    assert any("head skipped" in note for note in meta["notes"])
    assert (
        main(["predict", str(tmp_path / "m"), str(files / "img" / "3.png"), "--format", "csv"]) == 0
    )


def test_pretrained_file_that_is_missing_exits_2(files, tmp_path, capsys):
    argv = ["train", str(files / "manifest.csv"), "--out", str(tmp_path / "m"), *FAST]
    assert main([*argv, "--pretrained", str(tmp_path / "nope.pt")]) == 2
    assert "nope.pt" in capsys.readouterr().err


def test_tune_on_images_searches_the_image_space_and_saves_a_model(files, tmp_path, capsys):
    out = tmp_path / "tuned"
    argv = [
        "tune",
        str(files / "manifest.csv"),
        "--trials",
        "2",
        "--out",
        str(out),
        "--json",
        *FAST,
    ]
    assert main(argv) == 0
    summary = json.loads(capsys.readouterr().out)
    assert set(summary["best_params"]) == {"model", "image_size", "lr", "augment"}
    assert summary["trials_done"] == 2 and summary["storage"].endswith("tuned.study.db")
    assert set(summary["metrics"]) == {
        "validation",
        "test",
    }  # the manifest's test rows, for the report only
    meta = json.loads((out / "brainnet.json").read_text())
    assert (
        meta["kind"] == "multilabel_image" and meta["tune"]["best_trial"] == summary["best_trial"]
    )
    assert meta["config"]["model"] == summary["best_params"]["model"]


def test_preset_seed_is_the_tutorial_recipe_and_options_still_override_it():
    from brainnet.cli.main import build_parser
    from brainnet.cli.options import config_from_args
    from brainnet.core.errors import UserInputError

    parse = build_parser().parse_args
    default = config_from_args(parse(["train", "photos.csv", "--out", "m"]), "images")
    assert (default.model, default.schedule, default.augmentation, default.tta) == (
        "cnn_small",
        "onecycle",
        "photo",
        True,
    )
    seed = config_from_args(
        parse(["train", "photos.csv", "--out", "m", "--preset", "seed"]), "images"
    )
    assert (seed.model, seed.image_size, seed.batch_size, seed.lr, seed.weight_decay) == (
        "seed_cnn",
        150,
        32,
        1e-3,
        0.0,
    )
    assert (seed.rotation, seed.shift, seed.hflip, seed.augmentation) == (20.0, 0.2, True, "seed")
    assert (seed.schedule, seed.ema, seed.tta, seed.patience) == ("constant", 0.0, False, 5)
    args = parse(["train", "photos.csv", "--out", "m", "--preset", "seed", "--image-size", "128"])
    assert config_from_args(args, "images").image_size == 128
    with pytest.raises(UserInputError, match="--preset seed is a set of image options"):
        config_from_args(parse(["train", "t.csv", "--out", "m", "--preset", "seed"]), "tables")


def test_builtin_demos_keep_the_seed_recipe_they_were_tuned_with():
    """shapes and digits_mosaic: the tutorial recipe at their own sizes, no augmentation, no EMA, no TTA (their
    presets were chosen on their validation splits with it; crops and mirrors would cut shapes and digits)."""
    from brainnet.cli.main import _builtin_extras, build_parser
    from brainnet.cli.options import config_from_args

    for name, size in (("shapes", 48), ("digits_mosaic", 32)):
        args = build_parser().parse_args(["train", name, "--out", "m"])
        cfg = config_from_args(args, "images", _builtin_extras(name, "images", args)[0])
        assert (cfg.model, cfg.image_size, cfg.lr, cfg.weight_decay) == (
            "seed_cnn",
            size,
            1e-3,
            0.0,
        )
        assert (cfg.schedule, cfg.ema, cfg.tta, cfg.augmentation) == (
            "constant",
            0.0,
            False,
            "seed",
        )
        assert (cfg.rotation, cfg.shift, cfg.hflip) == (0.0, 0.0, False)
