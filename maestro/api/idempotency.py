"""The Idempotency-Key header on POSTs (creates, JSON or multipart), as pure ASGI middleware.

It sits inside the request-context middleware, so body limits apply first. The
request's digest (path, query, body) is computed as the body streams through to
the app, or, for a repeat, as it is drained - never by buffering it.

It reaches the database before the routes do, so outside their error mapping: a
database that is down is mapped here to the same 503 the routes give, and once the
response has gone out, failing to record it is logged, not turned into a 500.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.api.errors import database_error_body
from maestro.db.engine import Database
from maestro.errors import MaestroError, ValidationFailed
from maestro.services import idempotency as service

log = logging.getLogger("maestro.errors")

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("content-type", "location", "etag")
# Never recorded: the answer carries a token's secret, which is shown once and stored nowhere.
_UNRECORDED_PATHS = frozenset({"/maestro/tokens"})


def _request_scope(scope: Scope) -> str:
    """``POST <path>``, plus a digest of the Authorization header when there is one: a key's
    recorded answer is replayed only to the same credential (replay happens before
    authorization, so otherwise anyone who learnt a key could read the answer)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return f"POST {scope['path']} {hashlib.sha256(bytes(value)).hexdigest()[:32]}"
    return f"POST {scope['path']}"


def _key(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            return bytes(value).decode("latin-1")
    return None


class RequestDigest:
    """SHA-256 over path, query string and body, each length-prefixed (body streamed)."""

    def __init__(self, path: str, query: bytes) -> None:
        self._hash = hashlib.sha256()
        for part in (path.encode(), query):
            self._hash.update(len(part).to_bytes(8, "big") + part)
        self._body = hashlib.sha256()

    def update(self, chunk: bytes) -> None:
        self._body.update(chunk)

    def hexdigest(self) -> str:
        final = self._hash.copy()
        final.update(self._body.digest())
        return final.hexdigest()


async def _send_error(send: Send, status: int, payload: dict[str, Any]) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status in (409, 503):
        headers.append((b"retry-after", b"1"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        recorded = scope["type"] == "http" and scope["method"] == "POST"
        key = _key(scope) if recorded and scope["path"] not in _UNRECORDED_PATHS else None
        if key is None:
            await self.app(scope, receive, send)
            return
        try:
            await self._handle(scope, receive, send, key)
        except MaestroError as error:
            await _send_error(send, error.status_code, error.to_body())
        except DBAPIError as error:
            body = database_error_body(error)
            if body is None:
                raise
            await _send_error(send, 503, body)

    async def _handle(self, scope: Scope, receive: Receive, send: Send, key: str) -> None:
        if not _KEY.fullmatch(key):
            raise ValidationFailed.for_field("Idempotency-Key", "must be 1-255 printable ASCII characters")
        db = scope["app"].state.db
        request_scope = _request_scope(scope)
        digest = RequestDigest(scope["path"], scope.get("query_string", b""))
        replay = await run_in_threadpool(service.begin, db, request_scope, key)
        if replay is not None:
            await _drain(receive, digest)
            replay.check(digest.hexdigest())
            await _send_replay(send, replay)
            return
        captured: dict[str, Any] = {"status": 500, "headers": {}, "body": []}

        async def hashing_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                digest.update(message.get("body", b""))
            return message

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
            await self.app(scope, hashing_receive, capture)
            await _drain(receive, digest)  # a handler that stopped reading early still hashes it all
        except BaseException:
            await _after_response(service.abandon, db, request_scope, key)
            raise
        await _after_response(
            service.finish,
            db,
            request_scope,
            key,
            digest.hexdigest(),
            captured["status"],
            b"".join(captured["body"]),
            captured["headers"],
        )


async def _after_response(
    step: Callable[..., None], db: Database, request_scope: str, key: str, *args: Any
) -> None:
    """Record (or forget) the outcome. The database may be gone by now; the client has
    its answer (or the original error goes on), and the marker left behind only makes
    a retry wait until it counts as abandoned (``service.ABANDONED``)."""
    try:
        await run_in_threadpool(step, db, request_scope, key, *args)
    except DBAPIError as exc:
        log.error(
            "Idempotency-Key outcome not recorded: database unavailable",
            extra={"step": step.__name__, "cause": type(exc.orig).__name__},
        )
    except MaestroError as exc:  # the database refused the write (disk full, file replaced)
        log.error("Idempotency-Key outcome not recorded", extra={"step": step.__name__, "cause": exc.detail})


async def _drain(receive: Receive, digest: RequestDigest) -> None:
    """Read (and hash) whatever body is left, without keeping it."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        digest.update(message.get("body", b""))
        if not message.get("more_body", False):
            return


async def _send_replay(send: Send, replay: service.Replay) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers.items()]
    headers += [(b"content-length", str(len(replay.body)).encode()), (b"idempotent-replayed", b"true")]
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})
