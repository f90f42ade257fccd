"""Tiny trained models for the server tests (seconds to train) and clients over them.

The table model is trained on the NumPy engine (no torch in its server process); the image model is the
PyTorch seed CNN on a few built-in shapes."""

import io
import warnings

import numpy as np
import pytest
from PIL import Image

from brainnet.serve.limits import Limits

LIMITS = Limits(max_body_bytes=256 * 1024, max_rows=50, max_files=4, max_pixels=100_000)


@pytest.fixture(scope="session")
def table_model_dir(tmp_path_factory):
    from brainnet import ScratchMultiLabelMLP
    from brainnet.core.data.builtin_tables import load_builtin
    from brainnet.core.data.dataset import Dataset

    data = load_builtin("yeast", "train")
    small = Dataset(data.X[:300], data.Y[:300], data.feature_names, data.label_names)
    est = ScratchMultiLabelMLP(n_models=1, hidden_sizes=(16,), epochs=3, patience=3, seed=0)
    return est.fit(small).save(tmp_path_factory.mktemp("serve") / "yeast")


@pytest.fixture(scope="session")
def image_model_dir(tmp_path_factory):
    from brainnet import MultiLabelImageClassifier
    from brainnet.core.data.builtin_images import make_shapes

    est = MultiLabelImageClassifier(
        n_models=1, image_size=24, epochs=1, patience=1, batch_size=16, seed=0
    )
    return est.fit(make_shapes(48, size=48, seed=0)).save(
        tmp_path_factory.mktemp("serve") / "shapes"
    )


@pytest.fixture(scope="session")
def table_served(table_model_dir):
    from brainnet.serve.model import ServedModel

    return ServedModel(table_model_dir)


@pytest.fixture(scope="session")
def image_served(image_model_dir):
    from brainnet.serve.model import ServedModel

    return ServedModel(image_model_dir)


def make_client(served, limits=LIMITS):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # starlette's deprecation note on httpx, not ours
        from fastapi.testclient import TestClient
    from brainnet.serve.app import create_app

    return TestClient(create_app(served, limits))


@pytest.fixture
def table_client(table_served):
    return make_client(table_served)


@pytest.fixture
def image_client(image_served):
    return make_client(image_served)


def png_bytes(array: np.ndarray, fmt: str = "PNG") -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt)
    return buf.getvalue()


@pytest.fixture(scope="session")
def shape_pngs():
    from brainnet.core.data.builtin_images import make_shapes

    return [png_bytes(a) for a in make_shapes(3, size=48, seed=7).arrays]


def a_row(served, value=0.5):
    return {name: value for name in served.features}
