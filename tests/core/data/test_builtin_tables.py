"""The built-in datasets: shipped files, counts from meta.json/PROVENANCE, published numbers."""

from __future__ import annotations

import gzip
import json
from functools import cache

import numpy as np
import pytest

from brainnet.core.data.builtin_tables import DATASETS, builtin_names, data_path, load_builtin
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.table import read_table
from brainnet.core.errors import UserInputError

METRICS = {
    "hamming_loss",
    "accuracy",
    "micro_f1",
    "macro_f1",
    "subset_accuracy",
    "one_error",
    "ranking_loss",
    "average_precision",
}
# From each dataset's PROVENANCE.md "Verified counts" table: rows, features, labels, cardinality.
PROVENANCE = {
    ("yeast", "train"): (1500, 103, 14, 4.228),
    ("yeast", "test"): (917, 103, 14, 4.252),
    ("scene", "train"): (1211, 294, 6, 1.062),
    ("scene", "test"): (1196, 294, 6, 1.086),
}


@cache
def split(name: str, which: str):
    return load_builtin(name, which)


def meta(name: str) -> dict:
    return json.loads((data_path(name) / "meta.json").read_text())


def test_names_and_a_helpful_miss():
    assert builtin_names() == ["scene", "yeast"]
    with pytest.raises(UserInputError, match="available: scene, yeast.*'yeast'"):
        load_builtin("yeasst", "train")
    with pytest.raises(UserInputError, match="expected one of: train, test"):
        load_builtin("yeast", "valid")


@pytest.mark.parametrize(("name", "which"), sorted(PROVENANCE))
def test_splits_match_provenance_and_meta(name, which):
    data = split(name, which)
    n, d, n_labels, cardinality = PROVENANCE[name, which]
    info, m = DATASETS.get(name), meta(name)
    assert data.name == f"{name} ({which})"
    assert data.X.shape == (n, d) and data.Y.shape == (n, n_labels)
    assert n == getattr(info, f"n_{which}") == m[f"n_{which}"]
    assert (d, n_labels) == (info.n_features, info.n_labels)
    assert data.feature_names == m["feature_columns"]
    assert data.label_names == m["label_columns"]
    assert data.Y.sum(axis=1).mean() == pytest.approx(cardinality, abs=5e-4)
    assert data.Y.sum(axis=1).mean() == pytest.approx(m["label_cardinality"][which], abs=5e-5)
    assert not np.isnan(data.X).any() and data.notes == []


@pytest.mark.parametrize("name", ["yeast", "scene"])
def test_registry_entry(name):
    info = DATASETS.get(name)
    both = np.vstack([split(name, "train").Y, split(name, "test").Y])
    assert info.cardinality == pytest.approx(both.sum(axis=1).mean(), abs=5e-4)
    assert set(info.published) == METRICS
    assert all(0 < value < 1 for value in info.published.values())
    assert "Madjarov" in info.published_source and info.reference and info.description
    assert {"train.csv.gz", "test.csv.gz", "meta.json", "PROVENANCE.md"} <= {
        p.name for p in data_path(name).iterdir()
    }


def test_published_numbers():
    assert DATASETS.get("yeast").published["hamming_loss"] == 0.193
    assert DATASETS.get("scene").published["average_precision"] == 0.889


def test_parity_with_loadtxt():
    path = data_path("yeast") / "test.csv.gz"
    with gzip.open(path, "rt") as f:
        expected = np.loadtxt(f, delimiter=",", skiprows=1)  # (917, 117)
    data = read_table(path, LabelSpec(label_columns=14))
    np.testing.assert_array_equal(data.X, expected[:, :103])
    np.testing.assert_array_equal(data.Y, expected[:, 103:])
    np.testing.assert_array_equal(split("yeast", "test").X, expected[:, :103])


def test_read_table_resolves_builtin_names():
    data = read_table("yeast", split="test")
    assert data.name == "yeast (test)"
    np.testing.assert_array_equal(data.X, split("yeast", "test").X)


def test_builtin_with_model_columns_and_options():
    labels = meta("scene")["label_columns"][::-1]
    data = read_table("scene", split="test", known_labels=labels)
    assert data.label_names == labels
    np.testing.assert_array_equal(data.Y, split("scene", "test").Y[:, ::-1])
    with pytest.raises(UserInputError, match="comes with its labels"):
        read_table("yeast", LabelSpec(label_columns=14))


def test_arff_round_trip(tmp_path):
    """A small MULAN-style ARFF written from the built-in yeast reads back to the same arrays."""
    data = split("yeast", "train")
    X, Y = data.X[:30], data.Y[:30]
    lines = ["@relation 'yeast: -C -14'"]
    lines += [f"@attribute {name} numeric" for name in data.feature_names]
    lines += [f"@attribute {name} {{0,1}}" for name in data.label_names]
    lines += ["@data"] + [
        ",".join([repr(float(v)) for v in x] + [str(int(v)) for v in y])
        for x, y in zip(X, Y, strict=True)
    ]
    path = tmp_path / "yeast.arff"
    path.write_text("\n".join(lines) + "\n")
    back = read_table(path)
    np.testing.assert_array_equal(back.X, X)
    np.testing.assert_array_equal(back.Y, Y)
    assert back.label_names == data.label_names and back.feature_names == data.feature_names
