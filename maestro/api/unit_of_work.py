"""Each HTTP request's unit of work, and the Idempotency-Key record written inside it.

A request that changes something has its response held back (write responses are
small JSON bodies) until its unit of work has committed, so a client is never told
"created" about a write the database then refused: a commit that fails turns the
answer into the 503/507 that explains why. A success commits; any 4xx or 5xx rolls
back everything the request wrote.

Idempotency-Key (POST only) is optimistic. A key already recorded replays the first
response (``Idempotent-Replayed: true``) once the repeat's own digest - path, query
and body, hashed as they stream - matches; otherwise it is a 422. A new key runs
the request and records its response in the same transaction as the changes it
describes; when a concurrent request with the same key committed first, the
unique index refuses the record, this request's changes are rolled back, and the
winner's response is replayed. A replay goes only to a credential that still works
(a token revoked since gets its 401). 5xx responses are not recorded, so a retry runs
again.

Reads (GET, HEAD) get a read transaction that ends when the response has been
sent, so a streamed answer (``sbom-diff``) may read as it goes.

A denied request (401, 403) - read or write - changes nothing and records one
``auth.denied`` audit event, in a transaction of its own, before its answer goes out.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from maestro.api.errors import database_error_body
from maestro.db.engine import is_disk_full
from maestro.errors import Conflict, MaestroError, Unauthorized, ValidationFailed
from maestro.platform.threads import run_sync
from maestro.platform.uow import READ_METHODS, STATE_KEY, UnitOfWork, record_denial
from maestro.services import idempotency
from maestro.tenancy import auth

log = logging.getLogger("maestro.errors")

_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_REPLAYED_HEADERS = ("content-type", "location", "etag")
# Never recorded: the answer carries a token's secret, which is shown once and stored nowhere.
_UNRECORDED_PATHS = frozenset({"/maestro/tokens"})
DENIALS = (401, 403)  # answers that change nothing but are recorded in the audit log


@dataclass
class HeldResponse:
    """A response kept back until its unit of work has committed."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: list[bytes] = field(default_factory=list)

    @classmethod
    def error(cls, status: int, payload: dict[str, Any]) -> HeldResponse:
        body = orjson.dumps(payload)
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if status in (409, 503):
            headers.append((b"retry-after", b"1"))
        return cls(status, headers, [body])

    @classmethod
    def replay(cls, replay: idempotency.Replay) -> HeldResponse:
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers.items()]
        headers += [(b"content-length", str(len(replay.body)).encode()), (b"idempotent-replayed", b"true")]
        return cls(replay.status, headers, [replay.body])

    def replayable_headers(self) -> dict[str, str]:
        return {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in self.headers
            if k.decode("latin-1").lower() in _REPLAYED_HEADERS
        }

    async def send(self, send: Send) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        await send({"type": "http.response.body", "body": b"".join(self.body)})


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


@dataclass
class _Key:
    """An Idempotency-Key and what it is recorded under."""

    value: str
    scope: str
    digest: RequestDigest


def _recorded_under(scope: Scope) -> str:
    """``POST <path>``, plus a digest of the Authorization header when there is one: a key's
    recorded answer is replayed only to the same credential (replay happens before
    authorization, so otherwise anyone who learnt a key could read the answer)."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            return f"POST {scope['path']} {hashlib.sha256(bytes(value)).hexdigest()[:32]}"
    return f"POST {scope['path']}"


def _idempotency_key(scope: Scope) -> _Key | None:
    if scope["method"] != "POST" or scope["path"] in _UNRECORDED_PATHS:
        return None
    for name, value in scope["headers"]:
        if name == b"idempotency-key":
            key = bytes(value).decode("latin-1")
            if not _KEY.fullmatch(key):
                raise ValidationFailed.for_field(
                    "Idempotency-Key", "must be 1-255 printable ASCII characters"
                )
            digest = RequestDigest(scope["path"], scope.get("query_string", b""))
            return _Key(key, _recorded_under(scope), digest)
    return None


class UnitOfWorkMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        uow = UnitOfWork(
            scope["app"].state.db,
            writes=scope["method"] not in READ_METHODS,
            request_id=state.get("request_id", ""),
            state=state,
            on_events=scope["app"].state.audit_sequencer.wake_for,
            clock=scope["app"].state.clock,
        )
        state[STATE_KEY] = uow
        try:
            if uow.writes:
                answer = await self._write(scope, receive, uow)
            else:
                answer = await self._read(scope, receive, send, uow)
        except MaestroError as error:
            answer = HeldResponse.error(error.status_code, error.to_body())
        except DBAPIError as error:
            body = database_error_body(error)
            if body is None:
                raise
            answer = HeldResponse.error(503, body)
        if answer is not None:
            await answer.send(send)

    async def _read(self, scope: Scope, receive: Receive, send: Send, uow: UnitOfWork) -> HeldResponse | None:
        """Pass a read's response through as it is made (it may stream); hold back only a
        denial, which is sent once its audit event is recorded."""
        denial: HeldResponse | None = None

        async def watch(message: Message) -> None:
            nonlocal denial
            if message["type"] == "http.response.start" and message["status"] in DENIALS:
                denial = HeldResponse(message["status"], list(message.get("headers", [])))
            elif denial is not None and message["type"] == "http.response.body":
                denial.body.append(message.get("body", b""))
            else:
                await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            await _end_read(uow)
        if denial is not None:
            await run_sync(record_denial, uow.db, uow, denial.status)
        return denial

    async def _write(self, scope: Scope, receive: Receive, uow: UnitOfWork) -> HeldResponse | None:
        key = _idempotency_key(scope)
        if key is not None:
            replay = await run_sync(idempotency.lookup, uow.db, key.scope, key.value, uow.now)
            if replay is not None:
                refused = await _refuse_stale_credential(scope, uow)
                if refused is not None:
                    return refused
                await _drain(receive, key.digest)
                replay.check(key.digest.hexdigest())
                return HeldResponse.replay(replay)
        held = HeldResponse()
        body_read = False

        async def hashing_receive() -> Message:
            nonlocal body_read
            message = await receive()
            if message["type"] == "http.request":
                body_read = not message.get("more_body", False)
                if key is not None:
                    key.digest.update(message.get("body", b""))
            return message

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                held.status, held.headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                held.body.append(message.get("body", b""))

        try:
            await self.app(scope, hashing_receive, hold)
            if key is not None and not body_read:
                await _drain(receive, key.digest)  # a handler that stopped reading early still hashes it all
        except BaseException:
            await run_sync(uow.rollback)
            raise
        return await run_sync(_finish, uow, held, key)


async def _refuse_stale_credential(scope: Scope, uow: UnitOfWork) -> HeldResponse | None:
    """A replay is an answer too: only to a credential that still works. The key's record
    is scoped to the Authorization header it was made with, so the role then was enough;
    a token revoked or expired since gets its 401 (audited) instead of the old answer."""
    try:
        await auth.current_credential(Request(scope))
    except Unauthorized as error:
        await run_sync(record_denial, uow.db, uow, error.status_code)
        held = HeldResponse.error(error.status_code, error.to_body())
        extra = error.response_headers() or {}
        held.headers += [(k.lower().encode(), v.encode()) for k, v in extra.items()]
        return held
    return None


def _finish(uow: UnitOfWork, held: HeldResponse, key: _Key | None) -> HeldResponse:
    """Commit a success (with its Idempotency-Key record), roll back anything else."""
    try:
        if held.status >= 400:
            uow.rollback()
        if held.status in DENIALS:
            record_denial(uow.db, uow, held.status)
            return held
        if key is not None and held.status < 500:
            winner = _record(uow, held, key)
            if winner is not None:
                return winner
        if held.status < 400 or uow.active:
            uow.commit()
    except OperationalError as exc:  # a statement here (not the commit) found the disk full
        uow.rollback()
        if is_disk_full(exc):
            raise uow.db.disk_full(exc) from exc
        raise
    except BaseException:
        uow.rollback()
        raise
    return held


def _record(uow: UnitOfWork, held: HeldResponse, key: _Key) -> HeldResponse | None:
    """Record the response under its key; when a concurrent request with the same key
    committed first, roll back and answer with that one's response instead."""
    body = b"".join(held.body)
    try:
        idempotency.record(
            uow.session, uow.tenant_id, key.scope, key.value, key.digest.hexdigest(), held.status, body,
            held.replayable_headers(), uow.now,
        )  # fmt: skip
    except IntegrityError:
        uow.rollback()
        replay = idempotency.lookup(uow.db, key.scope, key.value, uow.clock())
        if replay is None:
            raise Conflict("A request with this Idempotency-Key is in progress; retry shortly") from None
        replay.check(key.digest.hexdigest())
        return HeldResponse.replay(replay)
    return None


async def _end_read(uow: UnitOfWork) -> None:
    """End a read; the client has its answer, so a database gone by now is only logged.
    A request that never touched the database (probes, refusals) has nothing to end."""
    if not uow.active:
        return
    try:
        if uow.db.dialect == "sqlite":
            uow.commit()  # ending a read of a local file never waits: no worker thread for it
        else:
            await run_sync(uow.commit)  # a network round trip, which may stall
    except DBAPIError as exc:
        log.warning("read transaction did not end cleanly", extra={"cause": type(exc.orig).__name__})


async def _drain(receive: Receive, digest: RequestDigest) -> None:
    """Read (and hash) whatever body is left, without keeping it."""
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return
        digest.update(message.get("body", b""))
        if not message.get("more_body", False):
            return
