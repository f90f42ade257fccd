"""The built-in datasets (MULAN standard splits shipped as gzipped CSV) and their published results."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from pathlib import Path

from brainnet.core.data.dataset import Dataset
from brainnet.core.data.labels import LabelSpec
from brainnet.core.data.table import read_table
from brainnet.core.errors import UserInputError
from brainnet.core.registry import Registry

SPLITS = ("train", "test")
MADJAROV_2012 = (
    "best result per metric over the methods compared in Madjarov et al., 'An extensive "
    "experimental comparison of methods for multi-label learning', Pattern Recognition 45(9), "
    "2012 (standard MULAN splits)"
)


@dataclass(frozen=True)
class BuiltinDataset:
    """What a built-in dataset is and the best results published on its test split.

    Attributes:
        name: registry name ("yeast").
        description: one line on what the data is.
        reference: citation of the original dataset paper.
        n_train, n_test: rows in the train and test splits.
        n_features, n_labels: d and L.
        cardinality: mean number of labels per row over train + test.
        published: metric name -> best published value on the test split (lower is better for
            hamming_loss, one_error and ranking_loss).
        published_source: where ``published`` comes from.
    """

    name: str
    description: str
    reference: str
    n_train: int
    n_test: int
    n_features: int
    n_labels: int
    cardinality: float
    published: dict[str, float]
    published_source: str


DATASETS: Registry[BuiltinDataset] = Registry("built-in dataset")

DATASETS.register("yeast")(
    BuiltinDataset(
        name="yeast",
        description="gene functional classes of S. cerevisiae (103 expression/phylogenetic "
        "features, 14 classes); MULAN standard train/test split",
        reference="A. Elisseeff and J. Weston, 'A kernel method for multi-labelled "
        "classification', NIPS 14 (2001), pp. 681-687",
        n_train=1500,
        n_test=917,
        n_features=103,
        n_labels=14,
        cardinality=4.237,
        published={
            "hamming_loss": 0.193,
            "accuracy": 0.560,
            "micro_f1": 0.682,
            "macro_f1": 0.483,
            "subset_accuracy": 0.239,
            "one_error": 0.221,
            "ranking_loss": 0.161,
            "average_precision": 0.766,
        },
        published_source=MADJAROV_2012,
    )
)

DATASETS.register("scene")(
    BuiltinDataset(
        name="scene",
        description="semantic scene classification of images (294 features = spatial colour "
        "moments, CIE L*U*V*, 7x7 grid x mean/variance x 3 bands; 6 scene classes); MULAN "
        "standard train/test split",
        reference="M.R. Boutell, J. Luo, X. Shen and C.M. Brown, 'Learning multi-label scene "
        "classification', Pattern Recognition 37(9):1757-1771, 2004",
        n_train=1211,
        n_test=1196,
        n_features=294,
        n_labels=6,
        cardinality=1.074,
        published={
            "hamming_loss": 0.077,
            "accuracy": 0.778,
            "micro_f1": 0.792,
            "macro_f1": 0.800,
            "subset_accuracy": 0.732,
            "one_error": 0.174,
            "ranking_loss": 0.062,
            "average_precision": 0.889,
        },
        published_source=MADJAROV_2012,
    )
)


def builtin_names() -> list[str]:
    """Names of the built-in datasets, sorted."""
    return DATASETS.names()


def data_path(name: str) -> Path:
    """Directory of the shipped files of built-in dataset ``name`` (works from an installed wheel)."""
    DATASETS.get(name)  # a miss lists the built-ins
    return Path(str(resources.files("brainnet.core.data").joinpath("shipped", name)))


@cache
def _meta(name: str) -> dict:
    return json.loads((data_path(name) / "meta.json").read_text(encoding="utf-8"))


def load_builtin(
    name: str,
    split: str,
    *,
    known_features: list[str] | None = None,
    known_labels: list[str] | None = None,
) -> Dataset:
    """Read one split of a built-in dataset with ``read_table``'s CSV reader.

    Args:
        name: a registered name (``builtin_names()``).
        split: "train" or "test" (the standard MULAN split).
        known_features, known_labels: as in ``read_table`` (a saved model's columns); default: the
            columns listed in the dataset's meta.json.

    Returns:
        Dataset named "<name> (<split>)", X (n, d) float64, Y (n, L) uint8.
    """
    DATASETS.get(name)
    if split not in SPLITS:
        raise UserInputError(
            f"unknown split {split!r} of the built-in dataset {name!r}; expected one of: "
            f"{', '.join(SPLITS)}."
        )
    meta = _meta(name)
    data = read_table(
        data_path(name) / f"{split}.csv.gz",
        LabelSpec(labels=tuple(meta["label_columns"])),
        known_features=known_features if known_features is not None else meta["feature_columns"],
        known_labels=known_labels,
    )
    return replace(data, name=f"{name} ({split})")
