"""The limits the server enforces itself: inference slots and their queue (503 + Retry-After, never a hang),
/health answering while a prediction runs, stalled bodies (408), and the limits' own checks."""

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from brainnet.core.errors import UserInputError
from brainnet.serve.limits import BodyLimit, Limits
from tests.serve.conftest import a_row, make_client


@pytest.fixture
def blocked(table_served, monkeypatch):
    """Predictions wait until ``release.set()``; ``started`` is set when one begins."""
    release, started = threading.Event(), threading.Event()
    real = table_served.model.predict_with_errors

    def slow(X):
        started.set()
        assert release.wait(30), "the test never released the prediction"
        return real(X)

    monkeypatch.setattr(table_served.model, "predict_with_errors", slow)
    yield release, started
    release.set()


def _wait_for(condition, timeout=10.0):
    end = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < end, "timed out"
        time.sleep(0.01)


def test_a_full_server_answers_503_at_once_and_health_still_answers(table_served, blocked):
    release, started = blocked
    limits = Limits(max_concurrency=1, max_queue=0)
    body = {"rows": [a_row(table_served)]}
    with make_client(table_served, limits) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, "/predict", json=body)
        assert started.wait(10)
        health = client.get("/health")
        assert health.status_code == 200
        assert health.json()["inferences_running"] == 1  # answered while the prediction runs
        busy = client.post("/predict", json=body)
        assert busy.status_code == 503 and int(busy.headers["retry-after"]) >= 1
        assert (
            busy.json()["error"] == "server busy" and "--max-concurrency" in busy.json()["detail"]
        )
        release.set()
        assert first.result(timeout=30).status_code == 200
        assert client.post("/predict", json=body).status_code == 200  # the slot came back


def test_a_queued_request_waits_its_turn_then_gives_up_with_503(table_served, blocked):
    release, started = blocked
    limits = Limits(max_concurrency=1, max_queue=1, queue_timeout=0.3)
    body = {"rows": [a_row(table_served)]}
    gate = None
    with make_client(table_served, limits) as client, ThreadPoolExecutor(2) as pool:
        gate = client.app.state.gate
        first = pool.submit(client.post, "/predict", json=body)
        assert started.wait(10)
        waited = client.post("/predict", json=body)  # queued, then timed out
        assert waited.status_code == 503 and "within 0.3 s" in waited.json()["detail"]
        queued = pool.submit(client.post, "/predict", json=body)
        _wait_for(lambda: gate.waiting == 1)
        release.set()  # the running one finishes and the queued one gets the slot
        assert first.result(timeout=30).status_code == 200
        assert queued.result(timeout=30).status_code == 200
    assert gate.running == 0 and gate.waiting == 0


def _asgi_call(app, chunks, *, headers=()):
    """Run one POST through an ASGI app; ``chunks`` are body pieces, None = the client stalls."""
    sent = []

    async def receive():
        if not chunks:
            return {"type": "http.request", "body": b"", "more_body": False}
        chunk = chunks.pop(0)
        if chunk is None:
            await anyio.sleep(60)
        return {"type": "http.request", "body": chunk, "more_body": bool(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": list(headers)}
    anyio.run(app, scope, receive, send)
    status = sent[0]["status"]
    return status, json.loads(sent[1]["body"])


async def _reader(scope, receive, send):  # an app that reads the whole body, then answers 200
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


def test_body_limit_counts_streamed_bytes_and_refuses_stalled_bodies():
    app = BodyLimit(_reader, max_bytes=10, timeout=0.2)
    assert _asgi_call(app, [b"12345", b"12345"])[0] == 200
    status, body = _asgi_call(app, [b"12345", b"123456", b"never read"])
    assert status == 413 and "more than 11 bytes so far" in body["detail"]
    status, body = _asgi_call(app, [b"123", None])
    assert status == 408 and "0.2 s after 3 bytes" in body["detail"]
    status, body = _asgi_call(app, [b"1"], headers=[(b"content-length", b"11")])
    assert status == 413 and "Content-Length 11 bytes" in body["detail"]


@pytest.mark.parametrize(
    "bad",
    [
        {"max_body_bytes": 0},
        {"max_rows": -1},
        {"queue_timeout": float("nan")},
        {"max_pixels": float("inf")},
        {"max_queue": -1},
    ],
)
def test_limits_must_be_positive(bad):
    with pytest.raises(UserInputError, match=next(iter(bad))):
        Limits(**bad)
