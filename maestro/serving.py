"""How Maestro is served, and the limits on what one client may send.

uvicorn with the uvloop loop and the httptools parser: with the asyncio loop,
several workers leave Nagle's algorithm on keep-alive sockets (uvicorn #3149,
~40 ms a request); uvloop sets TCP_NODELAY, and 2 workers measure 1.5-2x faster
than 1 (bench/README.md).

On their own, uvicorn and httptools let one client take a worker down:
- a request head has no size limit, and httptools re-concatenates a long header
  value at every read: one 64 MiB header stalled the event loop for 7 s;
- no timer runs on a connection until its first response, and the keep-alive
  timer is cancelled by the first byte of the next request, so a client that sends
  nothing, or one header byte at a time (slowloris), holds its connection forever;
- 1,100 idle connections against a 1,024-descriptor limit locked every other
  client out (accept fails; libuv then drops the queued connections).

``HttpProtocol`` is uvicorn's httptools protocol plus, per connection: the bytes of
a request head are counted as they arrive (431 past ``max_header_bytes`` or
``max_headers`` fields, 414 past ``max_url_bytes``, refused before the rest is
read); a head must be complete ``header_timeout`` seconds after the connection
opened or the head began (408); a body may pause at most ``body_timeout`` seconds
while Maestro waits for it; and a worker keeps at most ``max_connections``, below
its file-descriptor limit, by closing the connection idle the longest when a new
one arrives (nginx reuses idle keep-alive connections the same way).
"""

from __future__ import annotations

import asyncio
import logging
import resource
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import httptools
import orjson
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from maestro.config import Settings, get_settings
from maestro.limits import headers_too_large, url_too_long

log = logging.getLogger("maestro.access")
PROTOCOL = "maestro.serving:HttpProtocol"
LINGER_SECONDS = 2.0  # after a refusal, keep reading (and dropping) so the client sees the answer
_FD_RESERVE = 64  # descriptors besides connections: listener, epoll, log, spool and blob files


def _fd_limit() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    return 1 << 20 if soft == resource.RLIM_INFINITY else soft


def effective_backlog(requested: int) -> int:
    """The listen backlog: every queued connection is accepted in one burst, before
    any can be closed, so it must fit beside the connection cap (a quarter of the limit)."""
    return max(16, min(requested, _fd_limit() // 4))


def connection_cap(settings: Settings, backlog: int) -> int:
    """Connections a worker keeps: what is left of the descriptor limit after a burst
    of ``backlog``, the database pool (twice its size, with overflow) and a reserve."""
    room = _fd_limit() - effective_backlog(backlog) - 2 * settings.db_pool_size - _FD_RESERVE
    room = max(room, 8)
    if settings.max_connections is not None and settings.max_connections <= room:
        return settings.max_connections
    if settings.max_connections is not None:
        log.warning(
            "MAESTRO_MAX_CONNECTIONS is above what the file-descriptor limit leaves; using the lower value",
            extra={"configured": settings.max_connections, "used": room, "fd_limit": _fd_limit()},
        )
    return room


@dataclass(frozen=True, slots=True)
class Limits:
    max_header_bytes: int
    max_headers: int
    max_url_bytes: int
    header_timeout: float
    body_timeout: float
    max_connections: int


@lru_cache
def limits_for(backlog: int) -> Limits:
    """The limits of this worker, from its MAESTRO_* environment (read once)."""
    settings = get_settings()
    return Limits(
        max_header_bytes=settings.max_header_bytes,
        max_headers=settings.max_headers,
        max_url_bytes=settings.max_url_bytes,
        header_timeout=settings.header_timeout,
        body_timeout=settings.body_timeout,
        max_connections=connection_cap(settings, backlog),
    )


class _Refused(Exception):
    """Raised from a parser callback to stop parsing a refused request."""


class HttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with Maestro's limits (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits = limits_for(self.config.backlog)
        self._in_head = True  # between requests or inside a head: what arrives is a head
        self._in_body = False
        self._head_bytes = 0  # received since the current head began (whole reads)
        self._body_seen = 0.0
        self._idle_since = 0
        self._refused = False
        self._timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._idle_since = self.server_state.total_requests
        self._arm(self.limits.header_timeout, self._head_timed_out)
        if len(self.connections) > self.limits.max_connections:
            self._make_room()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return  # lingering after a refusal: read and drop
        self._unset_keepalive_if_required()
        if self._in_head:
            self._head_bytes += len(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return
        except httptools.HttpParserError:
            if not self._refused:  # else one of the callbacks below refused the request
                self._refuse(400, {"detail": "Invalid HTTP request", "error": "bad_request"})
            return
        if self._in_head:
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, headers_too_large(f"more than {self.limits.max_header_bytes} bytes"))
            elif self._timer is None and self._head_bytes:  # a head split across reads: start its clock
                self._arm(self.limits.header_timeout, self._head_timed_out)
        elif self._in_body:
            self._body_seen = self.loop.time()
            if self._timer is None:
                self._arm(self.limits.body_timeout, self._body_timed_out)

    # Parser callbacks

    def on_headers_complete(self) -> None:
        # Checked once the head is parsed (a head that arrives in one read is already
        # bounded by its size); ``data_received`` bounds a head that keeps coming.
        self._cancel_timer()
        self._in_head = False
        self._in_body = True
        refusal = self._head_refusal()
        if refusal is not None:
            self._refuse_parsing(*refusal)
        super().on_headers_complete()

    def _head_refusal(self) -> tuple[int, dict[str, Any]] | None:
        limits = self.limits
        if len(self.url) > limits.max_url_bytes:
            return 414, url_too_long(limits.max_url_bytes)
        if len(self.headers) > limits.max_headers:
            return 431, headers_too_large(f"more than {limits.max_headers} header fields")
        if (
            len(self.url) + sum(len(name) + len(value) for name, value in self.headers)
            > limits.max_header_bytes
        ):
            return 431, headers_too_large(f"more than {limits.max_header_bytes} bytes")
        return None

    def on_message_complete(self) -> None:
        self._cancel_timer()
        self._in_body = False
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._idle_since = self.server_state.total_requests  # an order, cheaper than a clock

    # Limits

    def _waiting(self) -> bool:
        """No request in progress (idle, or still sending its head): safe to close."""
        in_progress = self.cycle is not None and not self.cycle.response_complete
        return not in_progress and not self.pipeline and not self.transport.is_closing()

    def _make_room(self) -> None:
        idle = [c for c in self.connections if c is not self and isinstance(c, HttpProtocol) and c._waiting()]
        if not idle:
            body = {"detail": "Too many open connections; retry shortly", "error": "too_many_connections"}
            self._refuse(503, body, linger=False)
            return
        oldest = min(idle, key=lambda c: c._idle_since)
        self.connections.discard(oldest)  # counted out now: more may arrive before it is gone
        oldest.transport.close()

    def _head_timed_out(self) -> None:
        self._timer = None
        if not self._in_head or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined head: close once the response is out
        elif self._head_bytes == 0:
            self.transport.close()  # never sent anything: an idle connection
        else:
            detail = f"Request head not received within {self.limits.header_timeout:g} s"
            self._refuse(408, {"detail": detail, "error": "request_timeout"}, linger=False)

    def _body_timed_out(self) -> None:
        self._timer = None
        if not self._in_body or self.transport.is_closing():
            return
        now = self.loop.time()
        if self.flow.read_paused:
            self._body_seen = now  # Maestro is not reading: the client is not the one stalling
        quiet = now - self._body_seen
        if quiet < self.limits.body_timeout:
            self._arm(self.limits.body_timeout - quiet, self._body_timed_out)
            return
        if self.cycle is not None and not self.cycle.response_complete:
            log.warning(
                "request body stalled; connection closed",
                extra={
                    "request_id": self.cycle.scope.get("state", {}).get("request_id"),
                    "seconds": self.limits.body_timeout,
                    "client": self.client[0] if self.client else None,
                },
            )
        self.transport.close()

    def _refuse_parsing(self, status: int, body: dict[str, Any]) -> None:
        self._refuse(status, body)
        raise _Refused(body["detail"])

    def _refuse(self, status: int, body: dict[str, Any], *, linger: bool = True) -> None:
        """Answer with Maestro's JSON error (and a request id) and close the connection.
        Lingering (reading and dropping for a while after a half-close) lets a client
        still sending its oversized head read the answer instead of a reset."""
        self._refused = True
        self._cancel_timer()
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.keep_alive = False  # a pipelined request: finish the one in progress, then close
            return
        request_id = uuid.uuid4().hex
        self.transport.write(_response(status, body, request_id, self.server_state.default_headers))
        log.info(
            "request refused",
            extra={
                "request_id": request_id,
                "status": status,
                "detail": body["detail"],
                "client": self.client[0] if self.client else None,
            },
        )
        if linger and self.transport.can_write_eof():
            self.transport.write_eof()
            self.loop.call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()

    def _arm(self, delay: float, callback: Callable[[], None]) -> None:
        self._cancel_timer()
        self._timer = self.loop.call_later(delay, callback)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


def _response(
    status: int, body: dict[str, Any], request_id: str, default: list[tuple[bytes, bytes]]
) -> bytes:
    payload = orjson.dumps(body)
    headers = [
        *default,
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
        (b"x-request-id", request_id.encode()),
        (b"connection", b"close"),
    ]
    if status == 503:
        headers.append((b"retry-after", b"1"))
    lines = [STATUS_LINE[status], *(name + b": " + value + b"\r\n" for name, value in headers)]
    return b"".join([*lines, b"\r\n", payload])


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for Maestro (``maestro server``; see docs/operations.md for the
    same on uvicorn's command line)."""
    return {
        "loop": "uvloop",
        "http": PROTOCOL,
        "access_log": False,
        "timeout_keep_alive": settings.keep_alive_timeout,
        "backlog": effective_backlog(settings.backlog),
    }


def run(app: str, *, host: str, port: int, workers: int = 1, factory: bool = False) -> None:
    """Serve ``app`` (an import string) with Maestro's server options and limits."""
    import uvicorn

    options = uvicorn_options(get_settings())
    uvicorn.run(app, host=host, port=port, workers=workers, factory=factory, **options)
