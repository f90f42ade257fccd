"""The spiking models from the command line: options refused where a model would ignore them, names checked
against the brain's registries, and evaluate --json with the documented activity keys."""

import json

import numpy as np
import pytest

from brainnet.cli.main import main
from brainnet.core.decision.metrics import METRIC_KEYS
from tests.cli.test_main import _write_csv

FAST = ["--n-models", "1", "--hidden-sizes", "16", "--epochs", "3", "--batch-size", "32", "--quiet"]


@pytest.fixture(scope="module")
def csv_files(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0.3, X[:, 2] + X[:, 3] > 0], axis=1).astype(int)
    d = tmp_path_factory.mktemp("snn")
    return _write_csv(d / "train.csv", X[:90], Y[:90]), _write_csv(d / "test.csv", X[90:], Y[90:])


@pytest.mark.parametrize(
    "argv,message",
    [
        (
            ["--neuron", "alif"],
            "--neuron apply to the spiking models (snn_mlp, snn_cnn), and --model is mlp",
        ),
        (["--model", "mlp", "--time-steps", "5"], "--time-steps apply to the spiking models"),
        (
            ["--model", "snn_mlp", "--activation", "tanh"],
            "--activation do not apply to the spiking model",
        ),
        (["--model", "snn_mlp", "--neuron", "lfi"], "unknown neuron 'lfi'; available: alif, lif"),
        (["--model", "snn_mlp", "--encoder", "rte"], "unknown encoder 'rte'; available: direct"),
        (["--model", "snn_mlp", "--beta", "1.5"], "beta must be a membrane decay in (0, 1)"),
        (["--model", "snn_mlp", "--time-steps", "0"], "time_steps must be an integer >= 1"),
        (
            ["--model", "snn_mlp", "--threshold", "0"],
            "threshold must be a positive firing threshold",
        ),
    ],
)
def test_spiking_options_mistakes_exit_2(csv_files, tmp_path, argv, message, capsys):
    train, _ = csv_files
    args = ["train", str(train), "--label-columns", "3", "--out", str(tmp_path / "m"), *FAST, *argv]
    assert main(args) == 2
    assert message in capsys.readouterr().err.replace("\n", " ")


def test_train_and_evaluate_a_spiking_model(csv_files, tmp_path, capsys):
    train, test = csv_files
    out = tmp_path / "snn"
    argv = ["train", str(train), "--label-columns", "3", "--out", str(out), "--model", "snn_mlp"]
    argv += [
        "--time-steps",
        "6",
        "--neuron",
        "alif",
        "--encoder",
        "rate",
        "--surrogate",
        "arctan",
        *FAST,
    ]
    assert main(argv) == 0
    assert "spiking activity (last training epoch)" in capsys.readouterr().err.replace("\n", " ")
    assert main(["evaluate", str(out), str(test), "--label-columns", "3", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*METRIC_KEYS, "n_samples", "n_labels", "activity"]
    activity = result["activity"]
    assert set(activity["firing_rate"]) == {"layer1"} and activity["sops_per_example"] > 0
    assert activity["ann_macs_per_example"] == 5 * 16 + 16 * 3
    saved = json.loads((out / "brainnet.json").read_text())["config"]
    assert (saved["neuron"], saved["encoder"], saved["time_steps"]) == ("alif", "rate", 6)


def test_snn_cnn_trains_on_images_and_evaluates_with_activity(tmp_path, capsys):
    from PIL import Image

    from tests.cli.test_images import _image

    rng = np.random.default_rng(0)
    (tmp_path / "img").mkdir()
    rows = ["path,tags,split"]
    for i in range(30):
        red, blue = bool(i % 2), bool(i % 3 == 0) or not i % 2
        Image.fromarray(_image(rng, red, blue)).save(tmp_path / "img" / f"{i}.png")
        tags = ";".join(n for n, on in (("red", red), ("blue", blue)) if on)
        rows.append(f"img/{i}.png,{tags},{'train' if i < 20 else ('val' if i < 25 else 'test')}")
    (tmp_path / "manifest.csv").write_text("\n".join(rows) + "\n")
    out = tmp_path / "m"
    argv = ["train", str(tmp_path / "manifest.csv"), "--out", str(out), "--model", "snn_cnn"]
    argv += [
        "--image-size",
        "16",
        "--epochs",
        "2",
        "--batch-size",
        "8",
        "--time-steps",
        "3",
        "--quiet",
    ]
    assert main(argv) == 0
    capsys.readouterr()
    assert main(["evaluate", str(out), str(tmp_path / "manifest.csv"), "--json"]) == 0
    activity = json.loads(capsys.readouterr().out)["activity"]
    assert list(activity["firing_rate"]) == ["conv1", "conv2", "dense"]
