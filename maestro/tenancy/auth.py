"""Every request's principal, decided once, before the handler runs.

``require_principal`` is an application-wide dependency: it finds the route's least role in
``maestro.tenancy.roles``, resolves the principal from the ``Authorization`` header
(or local mode) and stores it on ``request.state.principal``; handlers take it with
``CurrentPrincipal``. Open routes (probes, docs) get no principal.

Local mode (``MAESTRO_AUTH=auto``): while no token has ever been created, a request
from a loopback peer without proxy headers acts as the admin of tenant ``default``.
"Any token exists" is one ``SELECT ... LIMIT 1`` on a driver connection while the
answer is no, and remembered for good once it is yes (token rows are never
deleted), so a deployment with tokens pays nothing for it.
"""

from __future__ import annotations

import ipaddress
import logging
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.exc import DBAPIError

from maestro.db.engine import Database
from maestro.errors import Forbidden, Unauthorized
from maestro.platform.threads import run_sync
from maestro.platform.uow import STATE_KEY, UnitOfWork
from maestro.tenancy import repository, tokens
from maestro.tenancy.principal import Principal
from maestro.tenancy.roles import UnknownRoute, is_open, required_role
from maestro.tenancy.tokens import Verified

log = logging.getLogger("maestro.auth")

QUERY_TOKEN_NAMES = ("token", "access_token", "api_key")
PROXY_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")
BOOTSTRAP_HINT = (
    "No API token exists yet, and this request did not come straight from loopback: run "
    "`maestro tokens bootstrap` on the server and send the token as Authorization: Bearer <token>"
)
# Peer names taken as loopback besides loopback addresses. Empty in production; the test
# suite adds Starlette's TestClient peer ("testclient") in tests/maestro/conftest.py.
EXTRA_LOOPBACK_PEERS: frozenset[str] = frozenset()


class TokenPresence:
    """Whether any token was ever created: asked while the answer is no, then remembered."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._seen = False

    def any(self, uow: UnitOfWork | None = None) -> bool:
        """Asked on the unit of work's connection when one is given, else on a pooled one."""
        if not self._seen:
            if uow is not None:
                self._seen = repository.any_token_on(uow.auth_connection())
            else:
                with self._db.raw() as conn:
                    self._seen = repository.any_token(conn)
        return self._seen


def is_loopback(host: str | None) -> bool:
    """127.0.0.0/8, ::1 and IPv4-mapped loopback; no address (a Unix socket) is not."""
    if host is None:
        return False
    if host in EXTRA_LOOPBACK_PEERS:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return bool(address.is_loopback or (mapped is not None and mapped.is_loopback))


def bearer_value(request: Request) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None when the header is absent."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthorized("The Authorization header must be 'Bearer <token>'")
    return value.strip()


def _refuse_query_tokens(request: Request) -> None:
    for name in QUERY_TOKEN_NAMES:
        if name in request.query_params:
            raise Unauthorized(
                f"A token in the URL (?{name}=) is refused: URLs end up in logs. "
                "Send it as Authorization: Bearer <token>"
            )


def _local_principal(request: Request) -> Principal:
    """Local mode's admin, for a loopback peer without proxy headers; else the 401 that
    says how to leave local mode. Any Authorization header is not looked at: while no
    token exists, none can be valid, and the peer is what grants local mode."""
    client = request.client.host if request.client else None
    proxied = any(name in request.headers for name in PROXY_HEADERS)
    if proxied or not is_loopback(client):
        raise Unauthorized(BOOTSTRAP_HINT)
    return Principal.local_admin()


def _identify(
    request: Request,
    db: Database,
    presence: TokenPresence,
    mode: str,
    now: datetime,
    uow: UnitOfWork | None = None,
) -> Verified:
    """Who sent this request (its token's principal, or local mode's admin), and whether
    the token's ``last_used_at`` is due. With ``uow``, asked in its transaction."""
    _refuse_query_tokens(request)
    if mode == "auto" and not presence.any(uow):
        return Verified(_local_principal(request), touch_due=False)
    value = bearer_value(request)
    if value is None:
        raise Unauthorized("An API token is required: send Authorization: Bearer <token>")
    digest = tokens.bearer_digest(value)  # before any connection is taken
    if uow is not None:
        return tokens.lookup(uow.auth_connection(), digest, now)
    with db.probe() as conn:
        return tokens.lookup(conn, digest, now)


def _touch(db: Database, verified: Verified, now: datetime) -> None:
    if verified.touch_due and verified.principal.token_id is not None:
        with db.write() as session:
            tokens.record_use(session, verified.principal.token_id, now)


def resolve_principal(
    request: Request, db: Database, presence: TokenPresence, mode: str, uow: UnitOfWork | None = None
) -> Principal:
    """Who sent this request: its bearer token's principal, or local mode's admin."""
    now = datetime.now(UTC)
    verified = _identify(request, db, presence, mode, now, uow)
    _touch(db, verified, now)
    return verified.principal


async def _resolve(
    request: Request, db: Database, presence: TokenPresence, mode: str, *, in_uow: bool
) -> Principal:
    """``resolve_principal`` at the least cost: on SQLite the lookup (an index read of a
    local file, which never waits in WAL mode) runs on the event loop, cheaper than a
    thread hop; a due ``last_used_at`` write, which may wait for the writer lock, and
    every PostgreSQL round trip (a stalled server must not stall the loop) run in a
    worker thread. On PostgreSQL the lookup is the first read of the request's unit of
    work (``in_uow``): a pooled connection of its own cost a checkout and a rollback
    more on every request."""
    if db.dialect != "sqlite":
        uow = request.scope.get("state", {}).get(STATE_KEY) if in_uow else None
        return await run_sync(resolve_principal, request, db, presence, mode, uow)
    now = datetime.now(UTC)
    verified = _identify(request, db, presence, mode, now)
    if verified.touch_due:
        await run_sync(_touch, db, verified, now)
    return verified.principal


def _route_path(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path is not None else request.url.path


async def require_principal(request: Request) -> Principal | None:
    """The application-wide dependency: 401 without a usable principal, 403 when its role
    is below the route's (the detail names the role needed); None on open routes.
    Asynchronous, so that open routes cost no worker thread."""
    path = _route_path(request)
    if is_open(request.method, path):
        return None
    try:
        needed = required_role(request.method, path, request.app.state.route_roles)
    except UnknownRoute:
        log.error("route missing from the role table", extra={"route": path, "method": request.method})
        raise Forbidden("This route has no access rule; it is refused") from None
    state = request.app.state
    principal = await _resolve(request, state.db, state.token_presence, state.settings.auth, in_uow=True)
    request.state.principal = principal  # a denial below is audited in this principal's tenant
    if not principal.role.allows(needed):
        raise Forbidden(
            f"This request needs role {needed.value} (or higher); the token has role {principal.role.value}"
        )
    request.state.principal = principal
    return principal


async def current_credential(request: Request) -> Principal:
    """The principal of the request's credential as it stands now (401 if it no longer
    works), for answers given before routing (an idempotent replay); no role check. Not
    in the unit of work: a replay ends the request without one."""
    state = request.app.state
    return await _resolve(request, state.db, state.token_presence, state.settings.auth, in_uow=False)


def current_principal(request: Request) -> Principal:
    """The principal ``require_principal`` resolved for this request."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Unauthorized()
    return principal


def warn_if_local(presence: TokenPresence, mode: str) -> None:
    """At start: say loudly that the server accepts loopback requests without a token.
    A schema that is behind (auto-migration off) has no token table yet: requests get
    their 503 from the error handler, and the start is not failed for a warning."""
    if mode != "auto":
        return
    try:
        local = not presence.any()
    except DBAPIError:
        return
    if local:
        log.warning(
            "local mode: no API token exists, so requests from loopback act as the admin of "
            "tenant 'default'; run `maestro tokens bootstrap` to require tokens"
        )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
