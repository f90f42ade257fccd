"""The limits the server enforces itself (the framework has none by default).

- ``BodyLimit`` (ASGI, outermost): a declared ``Content-Length`` over the limit is refused before a byte of the
  body is read; a body without one (chunked) is counted while it streams and cut off as soon as it passes the
  limit; a body that stalls longer than ``body_timeout`` seconds between chunks is refused (408).
- ``InferenceGate``: at most ``max_concurrency`` inferences at once, at most ``max_queue`` requests waiting for
  one, each waiting at most ``queue_timeout`` seconds; past that, 503 with ``Retry-After`` at once, so no request
  hangs.
- Rows per request, files and form fields per request and pixels per image are checked where the request is read
  (``inputs.py``).
"""

from __future__ import annotations

import json
import math
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from typing import Any

import anyio

from brainnet.core.errors import UserInputError
from brainnet.serve.errors import RequestError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one request may hold and how many may run; ``brainnet serve --help`` lists the same defaults.

    Attributes:
        max_body_bytes: request body size (413 past it).
        max_rows: table rows in one request (413).
        max_files: image files in one request (413).
        max_fields: multipart parts that are not files (413; none is expected).
        max_pixels: width x height of one image, checked from its header before it is decoded (the training
            decompression-bomb guard, ``core/data/images.py::decode_image``).
        max_concurrency: inferences running at once (each in a worker thread).
        max_queue: requests waiting for an inference slot; one more gets 503 at once.
        queue_timeout: seconds a request waits for a slot before 503.
        body_timeout: seconds the server waits for the next piece of a request body (408).
    """

    max_body_bytes: int = 16 * MB
    max_rows: int = 1000
    max_files: int = 16
    max_fields: int = 8
    max_pixels: int = 25_000_000
    max_concurrency: int = 1
    max_queue: int = 64
    queue_timeout: float = 30.0
    body_timeout: float = 30.0

    def __post_init__(self) -> None:
        positive = {k: v for k, v in asdict(self).items() if k != "max_queue"}
        for name, value in positive.items():
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise UserInputError(
                    f"serve limit {name} must be a positive number; received {value!r}."
                )
        if not (isinstance(self.max_queue, int) and self.max_queue >= 0):
            raise UserInputError(
                f"serve limit max_queue must be 0 or more; received {self.max_queue!r}."
            )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _megabytes(n: int) -> str:
    return f"{n / MB:.4g} MB ({n:,} bytes)"


class BodyLimit:
    """ASGI middleware: refuse request bodies over ``max_bytes`` (413) and bodies that stall (408).

    A ``Content-Length`` over the limit gets 413 before the body is read. Otherwise ``receive`` counts the bytes;
    past the limit it raises ``RequestError(413)``, which the app turns into the JSON reply (or this middleware
    does, when the app did not catch it), and the rest of the body is never read.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, timeout: float) -> None:
        self.app, self.max_bytes, self.timeout = app, max_bytes, timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await send_error(send, self.too_large(f"Content-Length {declared:,} bytes"))
            return
        received = 0
        started = False
        # a body still on its way when the reply starts is never read: the reply closes the connection, so
        # the server neither reads nor parses the rest (uvicorn would otherwise drain it)
        pending = bool(declared) or _header(scope, b"transfer-encoding") is not None

        async def limited_receive() -> Message:
            nonlocal received, pending
            try:
                with anyio.fail_after(self.timeout):
                    message = await receive()
            except TimeoutError:
                raise RequestError(
                    408,
                    "request timeout",
                    f"no part of the request body arrived for {self.timeout:g} s after "
                    f"{received:,} bytes; send the whole body at once.",
                ) from None
            if message["type"] == "http.request":
                pending = message.get("more_body", False)
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise self.too_large(f"more than {received:,} bytes so far (streamed)")
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if pending:
                    message = {**message, "headers": [*message.get("headers", []), _CLOSE]}
            await send(message)

        try:
            await self.app(scope, limited_receive, tracked_send)
        except RequestError as err:
            if started:
                raise
            await send_error(send, err)

    def too_large(self, received: str) -> RequestError:
        return RequestError(
            413,
            "payload too large",
            f"the request body may be at most {_megabytes(self.max_bytes)}; received {received}. Send "
            "fewer or smaller inputs per request, or start the server with a larger --max-body-mb.",
        )


_CLOSE = (b"connection", b"close")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope.get("headers", []):
        if key.lower() == name:
            return value
    return None


def _content_length(scope: Scope) -> int | None:
    value = _header(scope, b"content-length")
    return int(value) if value is not None and value.strip().isdigit() else None


async def send_error(send: Send, err: RequestError) -> None:
    """Send ``err`` as the JSON reply straight through ASGI (outside the app)."""
    body = json.dumps(err.body()).encode("utf-8")
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        _CLOSE,
        *((k.lower().encode(), v.encode()) for k, v in err.headers.items()),
    ]
    await send({"type": "http.response.start", "status": err.status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class InferenceGate:
    """At most ``max_concurrency`` inferences at once and ``max_queue`` waiting; the rest get 503 at once.

    ``running`` and ``waiting`` are read by ``/health``. Create it outside the event loop; the semaphore is made
    on first use inside the loop.
    """

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.running = 0
        self.waiting = 0
        self._slots: anyio.Semaphore | None = None

    @asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        """Hold one inference slot for the body of the ``async with``; raise RequestError(503) when full."""
        if self._slots is None:
            self._slots = anyio.Semaphore(self.limits.max_concurrency)
        slots, limits = self._slots, self.limits
        if self.running >= limits.max_concurrency and self.waiting >= limits.max_queue:
            raise self.busy(
                f"{self.running} inference(s) running and {self.waiting} request(s) waiting, the "
                "most allowed (--max-concurrency, --max-queue)"
            )
        self.waiting += 1
        try:
            with anyio.fail_after(limits.queue_timeout):
                await slots.acquire()
        except TimeoutError:
            raise self.busy(
                f"no inference slot came free within {limits.queue_timeout:g} s (--queue-timeout)"
            ) from None
        finally:
            self.waiting -= 1
        self.running += 1
        try:
            yield
        finally:
            self.running -= 1
            slots.release()

    def busy(self, why: str) -> RequestError:
        retry = max(1, math.ceil(min(self.limits.queue_timeout, 5.0)))
        return RequestError(
            503,
            "server busy",
            f"{why}; retry after {retry} s, or start the server with a larger --max-concurrency or "
            "--max-queue.",
            headers={"Retry-After": str(retry)},
        )
