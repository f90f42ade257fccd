"""The CLI end to end on small generated files: happy paths, and every user mistake exits 2 without a traceback."""

import csv
import json
import subprocess
import sys

import numpy as np
import pytest

from brainnet.cli.main import main
from brainnet.core.decision.metrics import METRIC_KEYS

FAST = [
    "--n-models",
    "1",
    "--hidden-sizes",
    "32",
    "--epochs",
    "12",
    "--patience",
    "4",
    "--batch-size",
    "32",
    "--lr",
    "0.003",
    "--quiet",
]
LABELS = ["sea", "sun", "hill"]


def _write_csv(path, X, Y, features=None, labels=LABELS):
    features = features or [f"x{j}" for j in range(X.shape[1])]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(features + labels)
        for x, y in zip(X, Y, strict=True):
            w.writerow([f"{v:.5f}" for v in x] + [int(v) for v in y])
    return path


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=260, n_features=8, n_classes=3, random_state=1)
    d = tmp_path_factory.mktemp("data")
    train = _write_csv(d / "train.csv", X[:200], Y[:200])
    test = _write_csv(d / "test.csv", X[200:], Y[200:])
    model = d / "model"
    assert (
        main(
            [
                "train",
                str(train),
                "--test",
                str(test),
                "--out",
                str(model),
                "--label-columns",
                "3",
                *FAST,
            ]
        )
        == 0
    )
    return {"dir": d, "train": train, "test": test, "model": model, "X": X, "Y": Y}


def test_train_writes_a_model_and_reports(files, capsys):
    assert (files["model"] / "weights.safetensors").exists()
    meta = json.loads((files["model"] / "brainnet.json").read_text())
    assert meta["label_names"] == LABELS and meta["feature_names"][0] == "x0"
    assert not (files["dir"] / "model.checkpoint").exists()


def test_evaluate_json_has_exactly_the_documented_keys(files, capsys):
    assert main(["evaluate", str(files["model"]), str(files["test"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*METRIC_KEYS, "n_samples", "n_labels"]
    assert result["n_samples"] == 60 and result["n_labels"] == 3 and result["micro_f1"] > 0.5


def test_evaluate_table(files, capsys):
    assert main(["evaluate", str(files["model"]), str(files["test"])]) == 0
    out = capsys.readouterr().out
    assert "micro-F1" in out and "Hamming loss" in out


def test_predict_matches_columns_by_name(files, tmp_path, capsys):
    X = files["X"][200:210]
    shuffled = tmp_path / "new.csv"
    names = [f"x{j}" for j in range(8)]
    order = list(reversed(range(8)))
    with open(shuffled, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id"] + [names[j] for j in order])
        for i, x in enumerate(X):
            w.writerow([i] + [f"{x[j]:.5f}" for j in order])
    out = tmp_path / "pred.csv"
    assert main(["predict", str(files["model"]), str(shuffled), "--out", str(out)]) == 0
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert len(rows) == 10 and set(rows[0]) == {"row", "p_sea", "p_sun", "p_hill", "labels"}
    from brainnet import load

    model = load(files["model"])
    P = model.predict_proba(np.round(X, 5))
    np.testing.assert_allclose([float(r["p_sea"]) for r in rows], P[:, 0], atol=1e-5)
    # existing output is not overwritten without --force
    assert main(["predict", str(files["model"]), str(shuffled), "--out", str(out)]) == 2
    assert "--force" in capsys.readouterr().err


def test_predict_names_missing_columns(files, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("x0,x1\n1,2\n")
    assert main(["predict", str(files["model"]), str(bad)]) == 2
    err = capsys.readouterr().err
    assert "x2" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "missing.csv", "--out", "{d}/m2", "--label-columns", "3"], "not found"),
        (["train", "{train}", "--out", "{d}/m2", "--labels", "sea,moon"], "moon"),
        (["train", "{train}", "--out", "{d}/m2"], "--label-columns"),
        (["train", "{train}", "--out", "{model}", "--label-columns", "3"], "--force"),
        (
            ["train", "{train}", "--out", "{d}/m2", "--label-columns", "3", "--dropout", "1.5"],
            "dropout",
        ),
        (
            [
                "train",
                "{train}",
                "--out",
                "{d}/m2",
                "--label-columns",
                "3",
                "--threshold-objective",
                "f2",
            ],
            "micro_f1",
        ),
        (
            ["train", "{train}", "--out", "{d}/m2", "--labels", "sea", "--label-columns", "3"],
            "one way",
        ),
        (["evaluate", "{d}", "{test}"], "not a brainnet model"),
        (["evaluate", "{d}/nothing", "{test}"], "model directory not found"),
        (["evaluate", "{model}", "{d}/missing.csv"], "not found"),
        (["evaluate", "{model}", "{test}", "--labels", "sea,sun"], "hill"),
    ],
)
def test_user_mistakes_exit_2_with_a_message(files, argv, message, capsys):
    argv = [
        a.format(d=files["dir"], train=files["train"], test=files["test"], model=files["model"])
        for a in argv
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


def test_non_numeric_feature_names_column_and_row(files, tmp_path, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b,sea\n1,2,0\n3,oops,1\n5,6,1\n")
    assert main(["train", str(bad), "--out", str(tmp_path / "m"), "--labels", "sea", *FAST]) == 2
    err = capsys.readouterr().err
    assert "'b'" in err and "oops" in err and "row 2" in err


def test_console_script_exits_2_without_traceback(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "brainnet.cli.main", "evaluate", str(tmp_path / "none"), "yeast"],
        capture_output=True,
        text=True,
    )
    assert (
        out.returncode == 2
        and "Traceback" not in out.stderr
        and "model directory not found" in out.stderr
    )


def test_datasets_lists_the_builtins(capsys):
    assert main(["datasets"]) == 0
    out = capsys.readouterr().out
    assert "yeast" in out and "scene" in out and "1500" in out and "1211" in out


def test_arff_and_delimited_label_column_end_to_end(files, tmp_path, capsys):
    X, Y = files["X"][:120], files["Y"][:120]
    arff = tmp_path / "data.arff"
    lines = ["@relation 'toy: -C -3'"] + [f"@attribute x{j} numeric" for j in range(8)]
    lines += [f"@attribute {name} {{0,1}}" for name in LABELS] + ["@data"]
    lines += [
        ",".join([f"{v:.5f}" for v in x] + [str(int(v)) for v in y])
        for x, y in zip(X, Y, strict=True)
    ]
    arff.write_text("\n".join(lines) + "\n")
    assert main(["train", str(arff), "--out", str(tmp_path / "m_arff"), *FAST]) == 0
    assert json.loads((tmp_path / "m_arff" / "brainnet.json").read_text())["label_names"] == LABELS

    tags = tmp_path / "tags.csv"
    rows = ["x0,x1,x2,tags"] + [
        ",".join(
            [f"{v:.5f}" for v in x[:3]]
            + [";".join(n for n, on in zip(LABELS, y, strict=True) if on)]
        )
        for x, y in zip(X, Y, strict=True)
    ]
    tags.write_text("\n".join(rows) + "\n")
    model = tmp_path / "m_tags"
    assert main(["train", str(tags), "--out", str(model), "--label-column", "tags", *FAST]) == 0
    capsys.readouterr()
    # the model remembers how its labels were read, so evaluating the same layout needs no options
    assert main(["evaluate", str(model), str(tags), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["n_labels"] == 3


def test_missing_values_are_imputed_and_reported_or_rejected(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    Y = (X[:, :2] > 0).astype(int)
    path = tmp_path / "holes.csv"
    rows = ["a,b,c,y1,y2"] + [
        ",".join(
            ["?" if (i, j) == (5, 1) else f"{X[i, j]:.4f}" for j in range(3)]
            + [str(v) for v in Y[i]]
        )
        for i in range(60)
    ]
    path.write_text("\n".join(rows) + "\n")
    assert (
        main(["train", str(path), "--out", str(tmp_path / "m"), "--label-columns", "2", *FAST]) == 0
    )
    assert "imputed 1 missing feature value" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                str(path),
                "--out",
                str(tmp_path / "m2"),
                "--label-columns",
                "2",
                "--no-impute",
                *FAST,
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "imputation is off" in err and "'b'" in err
    assert not (tmp_path / "m2").exists()


def test_train_json_prints_the_test_metrics(files, capsys):
    out = files["dir"] / "m_json"
    argv = ["train", str(files["train"]), "--test", str(files["test"]), "--out", str(out)]
    assert main([*argv, "--label-columns", "3", "--json", *FAST]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*METRIC_KEYS, "n_samples", "n_labels"] and result["n_samples"] == 60


def test_scratch_engine_end_to_end(files, tmp_path, capsys):
    """--engine scratch trains the NumPy network; evaluate and predict read it like a torch model."""
    model = tmp_path / "scratch-model"
    argv = ["train", str(files["train"]), "--test", str(files["test"]), "--out", str(model)]
    assert main([*argv, "--label-columns", "3", "--engine", "scratch", *FAST]) == 0
    meta = json.loads((model / "brainnet.json").read_text())
    assert meta["kind"] == "scratch_multilabel_mlp" and meta["engine"] == "scratch"
    capsys.readouterr()
    assert main(["evaluate", str(model), str(files["test"]), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert list(result) == [*METRIC_KEYS, "n_samples", "n_labels"]
    assert result["average_precision"] > 0.7
    assert main(["predict", str(model), str(files["test"])]) == 0
    rows = list(csv.reader(capsys.readouterr().out.splitlines()))
    assert rows[0] == ["row", *(f"p_{name}" for name in LABELS), "labels"] and len(rows) == 61


def test_evaluate_refuses_a_model_that_is_not_a_classifier(files, tmp_path, capsys):
    from brainnet.scratch import Dense, Sequential

    net = Sequential([Dense(2)])
    net.predict(np.zeros((1, 8), np.float32))
    net.save(tmp_path / "seq")
    assert main(["evaluate", str(tmp_path / "seq"), str(files["test"])]) == 2
    assert "holds a Sequential, not a multi-label classifier" in capsys.readouterr().err
    meta = json.loads((tmp_path / "seq" / "brainnet.json").read_text())
    meta["kind"] = "quantum_net"
    (tmp_path / "seq" / "brainnet.json").write_text(json.dumps(meta))
    assert main(["predict", str(tmp_path / "seq"), str(files["test"])]) == 2
    assert "kind 'quantum_net', which this brainnet cannot load" in capsys.readouterr().err


def test_engine_choices_are_listed(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "yeast", "--out", "x", "--engine", "jax"])
    assert exit_.value.code == 2
    assert "invalid choice: 'jax' (choose from 'torch', 'scratch')" in capsys.readouterr().err


def test_predict_json_and_format_rules(files, tmp_path, capsys):
    assert main(["predict", str(files["model"]), str(files["test"]), "--format", "json"]) == 0
    records = json.loads(capsys.readouterr().out)
    assert (
        len(records) == 60
        and records[0]["row"] == "1"
        and set(records[0]["probabilities"]) == set(LABELS)
    )
    out = tmp_path / "p.json"
    assert main(["predict", str(files["model"]), str(files["test"]), "--out", str(out)]) == 0
    assert len(json.loads(out.read_text())) == 60  # a .json --out is written as JSON
    argv = [
        "predict",
        str(files["model"]),
        str(files["test"]),
        "--format",
        "table",
        "--out",
        str(tmp_path / "t"),
    ]
    assert main(argv) == 2 and "--format table prints to the terminal" in capsys.readouterr().err
    assert main(["predict", str(files["model"]), str(files["test"]), str(files["test"])]) == 2
    assert "one CSV at a time" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
@pytest.mark.parametrize("engine", ["torch", "scratch"])
def test_a_diverging_run_exits_2_with_a_hint(files, tmp_path, engine, capsys):
    argv = ["train", str(files["train"]), "--label-columns", "3", "--out", str(tmp_path / "m")]
    assert main([*argv, *FAST, "--engine", engine, "--lr", "1e30"]) == 2
    err = capsys.readouterr().err
    assert "the loss became" in err and "Lower the learning rate" in err and "Traceback" not in err
