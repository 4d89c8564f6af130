"""The limits on a request's head (request line and headers), shared by the server's
protocol (``maestro.serving``, which refuses while the head arrives) and the request
middleware (which gives the same answers under any server, once it has read it)."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope


class HeadLimits:
    """What a request head may carry; ``refusal`` is the status and body past a limit."""

    __slots__ = ("max_header_bytes", "max_headers", "max_url_bytes")

    def __init__(self, max_header_bytes: int = 64 * 1024, max_headers: int = 100, max_url_bytes: int = 8192):
        self.max_header_bytes = max_header_bytes
        self.max_headers = max_headers
        self.max_url_bytes = max_url_bytes

    def refusal(self, scope: Scope) -> tuple[int, dict[str, Any]] | None:
        headers = scope["headers"]
        if len(scope.get("raw_path") or b"") + len(scope.get("query_string", b"")) > self.max_url_bytes:
            return 414, url_too_long(self.max_url_bytes)
        if len(headers) > self.max_headers:
            return 431, headers_too_large(f"more than {self.max_headers} header fields")
        size = sum(len(name) + len(value) for name, value in headers)
        if size > self.max_header_bytes:
            return 431, headers_too_large(f"more than {self.max_header_bytes} bytes")
        return None


def url_too_long(limit: int) -> dict[str, Any]:
    return {"detail": f"Request URL is longer than the {limit}-byte limit", "error": "uri_too_long"}


def headers_too_large(what: str) -> dict[str, Any]:
    return {"detail": f"Request header block too large: {what}", "error": "request_header_fields_too_large"}
