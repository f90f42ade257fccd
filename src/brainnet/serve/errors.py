"""The one error a request can end in: a status code and a JSON body ``{"error": ..., "detail": ...}``."""

from __future__ import annotations

from typing import Any


class RequestError(Exception):
    """A request brainnet refuses, with what was expected and what came.

    Args:
        status: the HTTP status (4xx for the client's mistakes, 503 when busy).
        error: a short name of the problem ("payload too large").
        detail: what was expected, what was received and how to fix it.
        headers: extra response headers (``Retry-After``).
        extra: more JSON fields for the body (the per-item errors).
    """

    def __init__(
        self,
        status: int,
        error: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{status} {error}: {detail}")
        self.status, self.error, self.detail = status, error, detail
        self.headers = headers or {}
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "detail": self.detail, **self.extra}
