"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware): request ids, the access
log line, the request-head and body size limits, and the last word on failures.

Nothing escapes it: an unhandled exception becomes Maestro's JSON 500 (with the
request id and ``Connection: close``) logged once with the request id, and a client
that went away mid-request is logged as 499, without a traceback, not as an error.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro import logs
from maestro.errors import PayloadTooLarge
from maestro.limits import HeadLimits

access_log = logging.getLogger("maestro.access")
error_log = logging.getLogger("maestro.errors")
CLIENT_CLOSED = 499  # nginx's code for "the client closed the connection": logged, never sent
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


async def _send_json(send: Send, status: int, body: dict[str, Any], request_id: str) -> None:
    payload = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"x-request-id", request_id.encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Gives each request an id (the client's ``X-Request-ID`` if sane), returns it in
    the response headers, enforces the body limit, and logs one JSON line."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        log_requests: bool = True,
        head_limits: HeadLimits | None = None,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.log_requests = log_requests
        self.head_limits = head_limits or HeadLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = _header(scope, b"x-request-id")
        request_id = (
            given.decode("latin-1")
            if given and _REQUEST_ID.match(given.decode("latin-1"))
            else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        logs.request_id.set(request_id)
        refused = self.head_limits.refusal(scope)
        if refused is not None:
            await _send_json(send, refused[0], refused[1], request_id)
            self._log(scope, refused[0], started, request_id)
            return
        if not _accept_content_type(scope):
            # Refused with 415 by a route dependency, after routing: an undeclared
            # method must still get its 405.
            scope["state"]["unsupported_media_type"] = True
        if scope["method"] == "HEAD":  # routed as GET (see _exchange); logged as HEAD
            send = _without_body(send)
        await self._exchange(scope, receive, send, request_id, started)

    async def _exchange(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, started: float
    ) -> None:
        """Run the app; whatever happens, log one line with the status the client got.
        A client gone before its response was complete is 499, whatever the app then
        answered (FastAPI turns a body cut short into a 400 that nobody reads)."""
        status_holder = [0]
        state = {"complete": False, "gone": False}
        app_scope = {**scope, "method": "GET"} if scope["method"] == "HEAD" else scope
        rid = request_id.encode()

        async def watching_receive() -> Message:
            message = await receive()
            if message["type"] == "http.disconnect" and not state["complete"]:
                state["gone"] = True
            return message

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid)]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                state["complete"] = True
            await send(message)

        try:
            limited = await self._limited_receive(scope, watching_receive, send, request_id, status_holder)
            if limited is not None:
                await self.app(app_scope, limited, send_with_id)
        except ClientDisconnect:
            state["gone"] = True
        except Exception as exc:
            await _fail(send, exc, request_id, started=bool(status_holder[0]))
            status_holder[0] = status_holder[0] or 500
        finally:
            if self.log_requests:
                status = CLIENT_CLOSED if state["gone"] else status_holder[0] or 500
                self._log(scope, status, started, request_id)

    async def _limited_receive(
        self, scope: Scope, receive: Receive, send: Send, request_id: str, status: list[int]
    ) -> Receive | None:
        """Refuse a body over the limit before the app reads any of it (413). Uploads
        stream under their own, larger limit and are counted, never buffered."""
        declared = _header(scope, b"content-length")
        upload = is_upload(scope)
        limit = self.max_upload_bytes if upload else self.max_body_bytes
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                status[0] = 400
                await _send_json(
                    send,
                    400,
                    {"detail": "Content-Length is not a number", "error": "bad_request"},
                    request_id,
                )
                return None
            if length > limit:
                status[0] = 413
                await _send_json(send, 413, _too_large(limit), request_id)
                return None
            return _counting(receive, limit) if upload else receive
        if scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return receive
        if upload:
            return _counting(receive, limit)
        # No Content-Length (chunked): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return receive
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                status[0] = 413
                await _send_json(send, 413, _too_large(limit), request_id)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        return replay

    @staticmethod
    def _log(scope: Scope, status: int, started: float, request_id: str) -> None:
        if not access_log.isEnabledFor(logging.INFO):
            return
        client = scope.get("client")
        access_log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "client": client[0] if client else None,
            },
        )


_UPLOAD_PATH = re.compile(r"^/maestro/artifacts/[^/]+/content$")


def is_upload(scope: Scope) -> bool:
    """Requests that carry artifact content rather than a JSON document."""
    method, path = scope["method"], scope["path"]
    if method == "PUT" and _UPLOAD_PATH.match(path):
        return True
    if method == "POST" and path == "/maestro/artifacts":
        content_type = _header(scope, b"content-type") or b""
        return content_type.lower().startswith(b"multipart/form-data")
    return False


def _counting(receive: Receive, limit: int) -> Receive:
    """Pass the body through, raising PayloadTooLarge once more than ``limit`` bytes came."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise PayloadTooLarge(f"Content is larger than the {limit}-byte limit; nothing was kept")
        return message

    return counted


def _without_body(send: Send) -> Send:
    """HEAD is answered wherever GET is (RFC 9110): the GET response's status and
    headers, Content-Length included, without its body."""

    async def head_send(message: Message) -> None:
        if message["type"] == "http.response.body":
            if message.get("more_body", False):
                return
            message = {"type": "http.response.body", "body": b"", "more_body": False}
        await send(message)

    return head_send


_FORM = b"application/x-www-form-urlencoded"


def _accept_content_type(scope: Scope) -> bool:
    """JSON bodies only. ``curl -d '{...}'`` labels JSON as a form; Maestro accepts no
    forms, so such a body is relabelled and read as the JSON it is. Anything else that
    is not JSON (or multipart, for uploads) is refused with 415."""
    if scope["method"] not in ("POST", "PATCH", "PUT"):
        return True
    headers = scope["headers"]
    for index, (key, value) in enumerate(headers):
        if key != b"content-type":
            continue
        if is_upload(scope):
            return True  # content uploads take any media type
        media = bytes(value).split(b";", 1)[0].strip().lower()
        if media == _FORM:
            headers = list(headers)
            headers[index] = (b"content-type", b"application/json")
            scope["headers"] = headers
            return True
        return media == b"application/json" or media.endswith(b"+json") or media.startswith(b"multipart/")
    return True


async def _fail(send: Send, exc: Exception, request_id: str, *, started: bool) -> None:
    """A bug: logged once, with the request id (a traceback without database values).
    Before the response started, the client gets the JSON 500 and the connection is
    closed cleanly; after, returning without finishing makes the server drop it."""
    error_log.error("unhandled error", exc_info=exc)
    if not started:
        await _send_json(send, 500, _INTERNAL, request_id)


_INTERNAL = {"detail": "Internal server error", "error": "internal_error"}


def _too_large(limit: int) -> dict[str, Any]:
    return {"detail": f"Request body is larger than the {limit}-byte limit", "error": "payload_too_large"}
