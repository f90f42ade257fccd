"""The HTTP API over one served model (FastAPI).

    GET  /         the web page (``page.html``, self-contained: no CDN, nothing fetched but this server)
    GET  /health   {"status": "ok", ...}; answers while predictions run (they run in worker threads)
    GET  /model    kind, labels, thresholds, validation metrics, versions, the inputs it expects, the limits
    POST /predict  tables: {"rows": [{feature: number, ...}, ...]} as application/json;
                   images: multipart/form-data with one or more image files (or one image as the raw body)

Every refusal is a JSON body ``{"error": ..., "detail": ...}`` with a 4xx status (503 when busy). A request
whose items are partly readable gets 200 with an ``error`` on each unreadable item; when none is readable, 422.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from typing import Any

import anyio
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from brainnet.core.errors import UserInputError
from brainnet.serve.errors import RequestError
from brainnet.serve.inputs import Upload, parse_json, read_rows
from brainnet.serve.limits import BodyLimit, InferenceGate, Limits
from brainnet.serve.model import ServedModel

log = logging.getLogger("brainnet.serve")

ENDPOINTS = "GET /, GET /health, GET /model, POST /predict"
# the page may run its own inline script and style, show the images it is given and talk to this server only
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
    "style-src 'unsafe-inline'; img-src blob: data:; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def create_app(served: ServedModel, limits: Limits | None = None) -> FastAPI:
    """The FastAPI application serving ``served`` under ``limits`` (default ``Limits()``).

    ``app.state.served``, ``app.state.gate`` and ``app.state.limits`` hold the parts.
    """
    limits = limits or Limits()
    gate = InferenceGate(limits)
    app = FastAPI(
        title="brainnet serve",
        version=served.info()["brainnet_version"],
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.served, app.state.gate, app.state.limits = served, gate, limits
    app.add_middleware(BodyLimit, max_bytes=limits.max_body_bytes, timeout=limits.body_timeout)
    _add_error_handlers(app)
    page = files("brainnet.serve").joinpath("page.html").read_text("utf-8")

    @app.get("/", response_class=HTMLResponse)
    async def index() -> HTMLResponse:
        return HTMLResponse(page, headers=PAGE_HEADERS)

    @app.get("/health")
    async def health() -> dict[str, Any]:
        return {
            "status": "ok",
            "kind": served.kind,
            "inferences_running": gate.running,
            "requests_waiting": gate.waiting,
        }

    @app.get("/model")
    async def model_info() -> dict[str, Any]:
        return {**served.info(), "limits": limits.to_dict()}

    @app.post("/predict")
    async def predict(request: Request) -> JSONResponse:
        ctype = _content_type(request)
        if served.kind == "table":
            if ctype != "application/json":
                raise _wrong_type(ctype, 'application/json with {"rows": [...]}')
            body = await _body(request)
            rows, n = await anyio.to_thread.run_sync(_table_rows, served, body, limits)
            work = (served.predict_rows, rows, n)
        else:
            if ctype == "multipart/form-data":
                uploads = await _form_uploads(request, limits)
            elif ctype.startswith("image/") or ctype == "application/octet-stream":
                uploads = [Upload("body", await _body(request))]
                if not uploads[0].data:
                    raise RequestError(400, "empty body", "expected image bytes; received none.")
            else:
                raise _wrong_type(ctype, "multipart/form-data with image files (or image/*)")
            work = (served.predict_uploads, uploads, limits.max_pixels)
        async with gate.slot():
            items = await anyio.to_thread.run_sync(*work)
        return _reply(served, items)

    return app


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _wrong_type(received: str, expected: str) -> RequestError:
    return RequestError(
        415,
        "unsupported media type",
        f"this model takes {expected}; received Content-Type {received or '(none)'!r}.",
    )


async def _body(request: Request) -> bytes:
    try:
        return await request.body()
    except ClientDisconnect:
        raise RequestError(400, "client disconnected", "the body was not sent in full.") from None


def _table_rows(served: ServedModel, body: bytes, limits: Limits):
    return read_rows(
        parse_json(body),
        served.features,
        impute=served.impute,
        max_rows=limits.max_rows,
        levels=served.levels,
    )


async def _form_uploads(request: Request, limits: Limits) -> list[Upload]:
    """The image files of a multipart body; text fields, no files or too many parts are refused."""
    parser = MultiPartParser(
        request.headers,
        request.stream(),
        max_files=limits.max_files,
        max_fields=limits.max_fields,
        max_part_size=64 * 1024,
    )
    try:
        form = await parser.parse()
    except MultiPartException as e:
        if e.message.startswith("Too many"):
            raise RequestError(
                413,
                "too many parts",
                f"{e.message.rstrip('.')}: at most {limits.max_files} files and {limits.max_fields} "
                "other fields per request. Send fewer images per request, or start the server with a "
                "larger --max-files.",
            ) from None
        raise RequestError(
            400,
            "invalid multipart body",
            f"{e.message.rstrip('.')}; expected multipart/form-data "
            "with image files, as a browser or `curl -F file=@a.jpg` sends it.",
        ) from None
    except ClientDisconnect:
        raise RequestError(400, "client disconnected", "the body was not sent in full.") from None
    try:
        uploads, fields = [], []
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append(Upload(value.filename or key, await value.read()))
            else:
                fields.append(key)
    finally:
        await form.close()
    if fields:
        raise RequestError(
            422,
            "unexpected form fields",
            f"expected only image files; received the text field(s) {', '.join(map(repr, fields[:5]))}.",
        )
    if not uploads:
        raise RequestError(
            422,
            "no images",
            "expected one or more image files in the multipart body (e.g. curl -F file=@a.jpg); "
            "received none.",
        )
    return uploads


def _reply(served: ServedModel, items: list[dict[str, Any]]) -> JSONResponse:
    n_errors = sum("error" in item for item in items)
    body = {
        "kind": served.kind,
        "labels": served.labels,
        "thresholds": dict(zip(served.labels, served.thresholds.tolist(), strict=True)),
        "n_items": len(items),
        "n_errors": n_errors,
        "items": items,
    }
    if n_errors == len(items):
        what = "rows" if served.kind == "table" else "images"
        first = items[0]["error"]
        raise RequestError(
            422,
            "no readable input",
            f"none of the {len(items)} {what} could be read (first: {first}); see items.",
            extra={"items": items},
        )
    return JSONResponse(body)


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestError)
    async def request_error(request: Request, err: RequestError) -> JSONResponse:
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(UserInputError)
    async def user_error(request: Request, err: UserInputError) -> JSONResponse:
        return JSONResponse({"error": "invalid input", "detail": str(err)}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> JSONResponse:
        detail = str(err.detail)
        if err.status_code == 404:
            detail = (
                f"no endpoint {request.method} {request.url.path}; the endpoints are {ENDPOINTS}."
            )
        elif err.status_code == 405:
            detail = (
                f"{request.url.path} does not take {request.method}; the endpoints are {ENDPOINTS}."
            )
        error = {404: "not found", 405: "method not allowed"}.get(err.status_code, detail)
        headers = getattr(err, "headers", None)
        return JSONResponse(
            {"error": error, "detail": detail}, status_code=err.status_code, headers=headers
        )

    @app.exception_handler(Exception)
    async def internal_error(request: Request, err: Exception) -> JSONResponse:
        log.exception("internal error on %s %s", request.method, request.url.path)
        return JSONResponse(
            {"error": "internal error", "detail": f"{type(err).__name__} (see the server log)"},
            status_code=500,
        )
