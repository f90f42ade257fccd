"""brainnet train --baselines: the comparison table, its record in brainnet.json, and bad input (exit 2)."""

import json

import pytest

from brainnet.cli.main import main
from tests.cli.test_main import FAST, _write_csv


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=160, n_features=6, n_classes=3, random_state=2)
    d = tmp_path_factory.mktemp("baselines")
    return {
        "train": _write_csv(d / "train.csv", X[:120], Y[:120]),
        "test": _write_csv(d / "test.csv", X[120:], Y[120:]),
    }


def test_train_with_baselines_prints_and_saves_the_comparison(data, tmp_path, capsys):
    out = tmp_path / "m"
    argv = ["train", str(data["train"]), "--test", str(data["test"]), "--out", str(out)]
    argv += ["--label-columns", "3", "--baselines", "logistic,et", *FAST, "--n-models", "2"]
    assert main(argv) == 0
    printed = capsys.readouterr()
    assert "brainnet and baselines, validation (2-fold stratified cross-fitting" in printed.out
    assert "brainnet and baselines, test" in printed.out
    assert "logistic: OvR logistic; et: extra trees" in printed.out
    assert "baseline et (extra trees):" in printed.err
    record = json.loads((out / "brainnet.json").read_text())["baselines"]
    assert list(record["methods"]) == ["brainnet", "logistic", "et"]
    assert record["n_val"] == 120 and record["threshold_objective"] == "micro_f1"
    for method in record["methods"].values():
        assert method["validation_metrics"]["n_samples"] == 120
        assert method["test_metrics"]["n_samples"] == 40
    meta = json.loads((out / "brainnet.json").read_text())
    brainnet = record["methods"]["brainnet"]
    assert brainnet["validation_metrics"] == meta["validation_metrics"]
    import brainnet as bn

    model = bn.load(out)
    assert model.baselines_ == record  # loads back, and brainnet report shows it
    from brainnet.core.data.labels import LabelSpec
    from brainnet.core.data.table import read_table
    from brainnet.reporting.build import build_report

    html = build_report(model, read_table(data["test"], LabelSpec(label_columns=3)))
    assert '<section id="baselines"><h2>Baselines</h2>' in html and "extra trees" in html


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--baselines", "rf,forest"],
            "unknown baseline 'forest'; available: et, hgb, logistic, mlp, rf",
        ),
        (["--baselines", ","], "expected baseline names separated by commas"),
    ],
)
def test_bad_baseline_names_exit_2_before_training(data, tmp_path, capsys, extra, message):
    argv = ["train", str(data["train"]), "--out", str(tmp_path / "m"), "--label-columns", "3"]
    assert main([*argv, *extra, *FAST]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "m").exists()


def test_baselines_are_for_tables(tmp_path, capsys):
    assert main(["train", "shapes", "--out", str(tmp_path / "m"), "--baselines"]) == 2
    assert "--baselines compares scikit-learn models on tables" in capsys.readouterr().err


def test_help_lists_the_baseline_names(capsys):
    with pytest.raises(SystemExit):
        main(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert (
        "mlp (MLPClassifier), logistic" in text and "hgb (HistGradientBoosting per label)" in text
    )
