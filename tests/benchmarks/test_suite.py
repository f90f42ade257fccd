"""benchmarks/suite.py end to end on a generated MULAN set (ARFF + XML), run as a script: the tables, the files it
writes, a set it cannot read, and bad arguments."""

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LABELS = ["sea", "sun", "hill"]


def _write_set(folder: Path, X, Y) -> None:
    folder.mkdir(parents=True)
    for part, rows in (("train", slice(0, 90)), ("test", slice(90, 130))):
        lines = ["@relation toy"] + [f"@attribute x{j} numeric" for j in range(X.shape[1])]
        lines += [f"@attribute {name} {{0,1}}" for name in LABELS] + ["@data"]
        lines += [
            ",".join([f"{v:.5f}" for v in x] + [str(int(v)) for v in y])
            for x, y in zip(X[rows], Y[rows], strict=True)
        ]
        (folder / f"toy-{part}.arff").write_text("\n".join(lines) + "\n")
    labels = "".join(f'<label name="{name}"></label>\n' for name in LABELS)
    (folder / "toy.xml").write_text(
        f'<?xml version="1.0"?>\n<labels xmlns="http://mulan.sourceforge.net/labels">\n{labels}</labels>\n'
    )


def _suite(*argv: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "suite.py"), *argv],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def test_a_tiny_suite_runs_and_writes_its_tables(tmp_path):
    from sklearn.datasets import make_multilabel_classification

    X, Y = make_multilabel_classification(n_samples=130, n_features=5, n_classes=3, random_state=3)
    _write_set(tmp_path / "data" / "flags", X, Y)
    (tmp_path / "data" / "yeast").mkdir()  # no files: reported, not fatal
    out = tmp_path / "res" / "suite"
    argv = ["--data-dir", str(tmp_path / "data"), "--sets", "flags,yeast", "--methods", "logistic"]
    argv += [
        "--baseline-folds",
        "3",
    ]  # the baselines' members: 3 instead of brainnet's 10, said in the table
    done = _suite(*argv, "--seeds", "1", "--budget-minutes", "5", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "flags: test split" in done.stdout and "logistic (OvR logistic) (3 folds)" in done.stdout
    assert "reference (Bogatinovski et al. 2022)" in done.stdout
    assert "yeast" in done.stdout and "not read: FileNotFoundError" in done.stdout
    assert "summary: mean rank (wins) per metric" in done.stdout
    payload = json.loads(out.with_suffix(".json").read_text())
    assert [(r["dataset"], r["method"], r["seed"]) for r in payload["runs"]] == [
        ("flags", "logistic", 0)
    ]
    assert payload["runs"][0]["metrics"]["n_samples"] == 40 and payload["runs"][0]["peak_mb"] > 0
    assert payload["sets"]["yeast"].startswith("not read")
    assert [p["folds"] for p in payload["pairs"]] == [3]
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert len(rows) == 1 and rows[0]["method"] == "logistic"
    assert "### flags: test split" in out.with_suffix(".md").read_text()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--sets", "yeast,emotions"], "unknown set ['emotions']; choose from: yeast, scene"),
        (["--methods", "forest"], "unknown method ['forest']; choose from: brainnet, mlp"),
        (["--seeds", "0"], "--seeds must be >= 1; received 0."),
        (
            ["--baseline-folds", "1"],
            "--baseline-folds must be >= 2 (or 0: brainnet's); received 1.",
        ),
    ],
)
def test_bad_arguments_exit_2(argv, message):
    done = _suite(*argv)
    assert done.returncode == 2 and message in done.stderr
