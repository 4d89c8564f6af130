"""The Idempotency-Key header on JSON POSTs (creates), as pure ASGI middleware.

It sits inside the request-context middleware, so body limits are enforced first
and the body it hashes is at most ``MAESTRO_MAX_REQUEST_BYTES``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.api.middleware import is_upload
from maestro.errors import MaestroError, ValidationFailed
from maestro.services import idempotency as service

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("content-type", "location", "etag")


def _key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            return bytes(value).decode("latin-1")
    return None


async def _send_error(send: Send, error: MaestroError) -> None:
    body = orjson.dumps(error.to_body())
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if error.status_code == 409:
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": error.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        key = _key(scope)
        if key is None:
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send, key)
        except MaestroError as error:
            await _send_error(send, error)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        if not _KEY.fullmatch(key):
            raise ValidationFailed.for_field("Idempotency-Key", "must be 1-255 printable ASCII characters")
        if is_upload(scope):
            raise ValidationFailed.for_field(
                "Idempotency-Key",
                "is not supported on multipart uploads; create the artifact with JSON (idempotent) "
                "and PUT its content (idempotent by digest)",
            )
        body = await _read_body(receive)
        digest = request_digest(scope["path"], scope.get("query_string", b""), body)
        db = scope["app"].state.db
        request_scope = f"POST {scope['path']}"
        replay = await run_in_threadpool(service.begin, db, request_scope, key, digest)
        if replay is not None:
            await _send_replay(send, replay)
            return
        captured: dict[str, Any] = {"status": 500, "headers": {}, "body": []}

        async def capture(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = {
                    k.decode("latin-1"): v.decode("latin-1")
                    for k, v in message.get("headers", [])
                    if k.decode("latin-1").lower() in _REPLAYED_HEADERS
                }
            elif message["type"] == "http.response.body":
                captured["body"].append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, _replay_body(body), capture)
        except BaseException:
            await run_in_threadpool(service.abandon, db, request_scope, key)
            raise
        await run_in_threadpool(
            service.finish,
            db,
            request_scope,
            key,
            captured["status"],
            b"".join(captured["body"]),
            captured["headers"],
        )


def request_digest(path: str, query: bytes, body: bytes) -> str:
    """What "the same request" means: path, query string and body, length-prefixed."""
    digest = hashlib.sha256()
    for part in (path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _replay_body(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _send_replay(send: Send, replay: service.Replay) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers.items()]
    headers += [(b"content-length", str(len(replay.body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})
