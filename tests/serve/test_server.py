"""A real uvicorn process on 127.0.0.1 (``brainnet serve --port 0``): a bounded concurrent load with no errors,
a 200 MB streamed body cut off with 413 while /health keeps answering, and the CLI's start-up errors."""

import asyncio
import socket
import subprocess
import sys
import threading

import httpx
import pytest

from brainnet.cli.main import main
from tests.serve.conftest import a_row


async def _load(url, body, n, concurrency):
    statuses = []
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:

        async def one():
            async with limit:
                try:
                    statuses.append((await client.post("/predict", json=body)).status_code)
                except httpx.HTTPError as e:
                    statuses.append(type(e).__name__)

        await asyncio.gather(*(one() for _ in range(n)))
    return statuses


def test_concurrent_load_has_no_errors(table_server, table_served):
    with httpx.Client(base_url=table_server.url, timeout=60) as client:  # ready
        assert client.get("/health").json()["status"] == "ok"
    body = {"rows": [a_row(table_served, 0.1), a_row(table_served, -0.3)]}
    statuses = asyncio.run(_load(table_server.url, body, n=200, concurrency=16))
    assert statuses == [200] * 200
    with httpx.Client(base_url=table_server.url) as client:
        health = client.get("/health").json()
    assert health["inferences_running"] == 0 and health["requests_waiting"] == 0


def test_a_200_mb_streamed_body_gets_413_while_health_answers(table_server):
    sent = [0]
    health, stop = [], threading.Event()

    def body():  # chunked: no Content-Length for the server to refuse up front
        chunk = b"7" * (1 << 20)
        while sent[0] < 200 << 20:
            sent[0] += len(chunk)
            yield chunk

    def poll():
        with httpx.Client(base_url=table_server.url, timeout=30) as client:
            while not stop.is_set():
                health.append(client.get("/health").status_code)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with httpx.Client(base_url=table_server.url, timeout=60) as client:
            reply = client.post(
                "/predict", content=body(), headers={"content-type": "application/json"}
            )
    finally:
        stop.set()
        poller.join()
    assert reply.status_code == 413 and reply.json()["error"] == "payload too large"
    assert sent[0] < 200 << 20  # cut off early: the rest was never sent
    assert health and set(health) == {200}
    with httpx.Client(base_url=table_server.url) as client:  # and the server is fine afterwards
        declared = client.post(
            "/predict",
            content=b"0" * (17 << 20),
            headers={"content-type": "application/json"},
        )
        assert declared.status_code == 413 and "Content-Length" in declared.json()["detail"]
        assert client.get("/health").status_code == 200


def test_bad_model_path_exits_2_with_a_message(tmp_path, capsys):
    assert main(["serve", str(tmp_path / "nothing")]) == 2
    assert "model directory not found" in capsys.readouterr().err
    (tmp_path / "junk").mkdir()
    assert main(["serve", str(tmp_path / "junk")]) == 2
    assert "brainnet.json is missing" in capsys.readouterr().err


def test_a_taken_port_exits_2_with_a_message(table_model_dir, capsys):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        assert main(["serve", str(table_model_dir), "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert f"cannot listen on 127.0.0.1:{port}" in err and "--port" in err


@pytest.mark.parametrize(
    "option", [["--max-body-mb", "0"], ["--max-megapixels", "nan"], ["--max-rows", "0"]]
)
def test_bad_limits_exit_2(table_model_dir, option, capsys):
    with pytest.raises(SystemExit) as stop:
        code = main(["serve", str(table_model_dir), *option])
        raise SystemExit(code)
    assert stop.value.code == 2
    assert option[0][2:].replace("-", "_") in capsys.readouterr().err.replace("-", "_")


def test_serving_a_numpy_model_never_imports_torch_and_the_cli_not_fastapi(table_model_dir):
    code = (
        "import sys, warnings\n"
        "from brainnet.cli.main import build_parser\n"
        "build_parser()\n"
        "assert 'fastapi' not in sys.modules and 'torch' not in sys.modules\n"
        "warnings.simplefilter('ignore')\n"
        "from fastapi.testclient import TestClient\n"
        "from brainnet.serve.app import create_app\n"
        "from brainnet.serve.model import ServedModel\n"
        f"client = TestClient(create_app(ServedModel({str(table_model_dir)!r})))\n"
        "features = client.get('/model').json()['inputs']['features']\n"
        "reply = client.post('/predict', json={'rows': [dict.fromkeys(features, 0.0)]})\n"
        "print(reply.status_code, 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["200", "False"]
