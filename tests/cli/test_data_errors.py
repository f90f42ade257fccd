"""Mistakes in the data files themselves reach the user as exit code 2 and a message naming the cell."""

import numpy as np
import pytest

from brainnet.cli.main import main

FEATURES = ["x0", "x1", "x2"]


def _write(path, X, Y=None):
    header = FEATURES + (["a", "b"] if Y is not None else [])
    lines = [",".join(header)]
    for i, x in enumerate(X):
        cells = [f"{v:.4f}" for v in x] + ([str(int(v)) for v in Y[i]] if Y is not None else [])
        lines.append(",".join(cells))
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    Y = np.stack([X[:, 0] > 0, X[:, 1] > 0], axis=1).astype(int)  # (40, 2)
    d = tmp_path_factory.mktemp("data")
    train = _write(d / "train.csv", X, Y)
    out = d / "model"
    argv = ["train", str(train), "--out", str(out), "--labels", "a,b", "--epochs", "2"]
    assert main([*argv, "--n-models", "1", "--quiet"]) == 0
    return out


@pytest.mark.parametrize("cell", ["inf", "-Infinity"])
def test_predict_on_an_infinite_feature_names_column_and_row(model, tmp_path, capsys, cell):
    path = tmp_path / "new.csv"
    path.write_text(f"x0,x1,x2\n0,0,0\n0,{cell},0\n0,0,0\n")
    assert main(["predict", str(model), str(path)]) == 2
    err = capsys.readouterr().err
    assert "feature column 'x1'" in err and "data row 2 (line 3)" in err
    assert "empty or NaN" in err and "outputs" not in err


def test_evaluate_and_train_on_an_infinite_feature_exit_2(model, tmp_path, capsys):
    X, Y = np.zeros((4, 3)), np.array([[0, 1], [1, 0], [1, 1], [0, 0]])
    path = _write(tmp_path / "test.csv", X, Y)
    lines = path.read_text().splitlines()
    lines[4] = lines[4].replace("0.0000", "inf", 1)  # data row 4, column x0
    path.write_text("\n".join(lines) + "\n")
    assert main(["evaluate", str(model), str(path)]) == 2
    assert "feature column 'x0'" in (err := capsys.readouterr().err) and "data row 4" in err
    argv = ["train", str(path), "--out", str(tmp_path / "m"), "--labels", "a,b", "--quiet"]
    assert main(argv) == 2
    assert "feature column 'x0'" in capsys.readouterr().err
