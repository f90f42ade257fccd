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


class ServerProcess:
    """``brainnet serve MODEL --port 0`` in a subprocess; ``url`` once it listens."""

    def __init__(self, model_dir, *options):
        import os
        import subprocess
        import sys

        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "brainnet.cli.main", "serve", str(model_dir), "--port", "0"]
            + ["--no-access-log", *options],
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.log = []
        for (
            line
        ) in self.proc.stderr:  # the first line names the address; the socket already listens
            self.log.append(line)
            if "serving" in line:
                self.url = line.split(" on ")[1].split()[0].rstrip("/")
                break
        else:
            raise AssertionError(f"the server did not start: {''.join(self.log)}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except Exception:
            self.proc.kill()
            self.proc.wait()
        self.log += self.proc.stderr.readlines()
        self.proc.stderr.close()


@pytest.fixture(scope="module")
def table_server(table_model_dir):
    server = ServerProcess(table_model_dir, "--max-concurrency", "2")
    yield server
    server.stop()


class LiveServer:
    """uvicorn serving ``served`` in a thread of this process (the model is already loaded here)."""

    def __init__(self, served, limits=LIMITS):
        import threading

        import uvicorn

        from brainnet.serve.app import create_app
        from brainnet.serve.server import bind

        self.sock = bind("127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        config = uvicorn.Config(create_app(served, limits), log_level="warning", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
