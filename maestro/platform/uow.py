"""One unit of work per request (or CLI admin command).

A ``UnitOfWork`` carries what a service needs to act for one request: the
database session, the principal, the clock and the request id. Its transaction
begins on first use of ``session`` - so an upload can spool and store its bytes
before it, and a request that never touches the database never opens one - and
ends exactly once: ``commit()`` when the response is a success, ``rollback()``
otherwise. Routers, services and repositories never commit; the unit of work's
owner (``maestro.api.unit_of_work`` for HTTP, ``unit_of_work`` for the
CLI) does.

A request that only reads (GET, HEAD) gets a read transaction; any other method
a write transaction, which on SQLite is ``BEGIN IMMEDIATE`` under the process's
writer lock (``Database.write``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator, MutableMapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from pydantic import BaseModel
from sqlalchemy import Connection
from sqlalchemy.orm import Session

from maestro.audit import recorder, sequencer
from maestro.audit.event import Actor, EventDraft, ObjectRef
from maestro.db.engine import Database
from maestro.db.tables import DEFAULT_TENANT  # local mode's, and the owner of data from before tenancy
from maestro.tenancy.principal import Principal

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
STATE_KEY = "uow"  # where an HTTP request's unit of work is kept in its ASGI scope state


@dataclass(frozen=True, slots=True)
class DetachedScope:
    """A session of its own in the unit of work's tenant (``UnitOfWork.outside``)."""

    session: Session
    tenant_id: str


class _RolledBack(Exception):
    """Thrown into the transaction's context so that it rolls back."""


def state_digest(state: Any) -> str:
    """Hex SHA-256 of an object's state as JSON with sorted keys. Not RFC 8785 (the event
    itself is): a state may hold 64-bit integers, which RFC 8785's float domain refuses."""
    if isinstance(state, BaseModel):
        state = state.model_dump(mode="json")
    return hashlib.sha256(orjson.dumps(state, option=orjson.OPT_SORT_KEYS)).hexdigest()


def record_denial(db: Database, uow: UnitOfWork, status: int) -> None:
    """A refused request (401, 403) changes nothing but is logged: its one event goes to the
    tenant of the principal it had, if any (else ``default``), in a transaction of its own."""
    draft = EventDraft(
        action="auth.denied", actor=uow.actor(), request_id=uow.request_id or None, status=status
    )
    with db.write() as session:
        recorder.enqueue(session, tenant_id=uow.tenant_id, events=[draft], now=uow.clock())
    uow.notify()


def utc_now() -> datetime:
    return datetime.now(UTC)


class UnitOfWork:
    """The session, principal, clock and request id of one request; one commit or none."""

    def __init__(
        self,
        db: Database,
        *,
        writes: bool,
        request_id: str = "",
        principal: Principal | None = None,
        state: MutableMapping[str, Any] | None = None,
        clock: Callable[[], datetime] = utc_now,
        on_events: Callable[[str], object] | None = None,
    ) -> None:
        self.db = db
        self.writes = writes
        self.request_id = request_id
        self._principal = principal
        self._state = state
        self.now = clock()
        self._clock = clock
        self._stack: ExitStack | None = None
        self._events: list[EventDraft] = []
        self._session: Session | None = None
        self._auth_only = False  # the transaction has done nothing but authenticate
        self._on_events = on_events

    @property
    def session(self) -> Session:
        """The request's session; its transaction begins here, on first use."""
        self._auth_only = False
        return self._open()

    def _open(self) -> Session:
        if self._session is None:
            stack = ExitStack()
            self._session = stack.enter_context(self.db.write() if self.writes else self.db.read())
            self._stack = stack
        return self._session

    def auth_connection(self) -> Connection:
        """The connection of this unit of work's transaction, for the request's token
        lookup (on PostgreSQL: one connection and one transaction for the request instead
        of two). Until the handler uses ``session``, ``outside`` may still end it."""
        if self._session is None:
            self._auth_only = True
        return self._open().connection()

    @property
    def principal(self) -> Principal | None:
        """Who acts: given, or what authentication put in the request's state."""
        if self._principal is None and self._state is not None:
            self._principal = self._state.get("principal")
        return self._principal

    @property
    def tenant_id(self) -> str:
        """The tenant every query of this unit of work is scoped to."""
        principal = self.principal
        return principal.tenant_id if principal is not None else DEFAULT_TENANT

    @property
    def active(self) -> bool:
        return self._session is not None

    def clock(self) -> datetime:
        """The time now (``now`` is the request's start, for timestamps that must agree)."""
        return self._clock()

    def actor(self) -> Actor:
        principal = self.principal
        if principal is None:
            return Actor(token_id=None, role="none")
        return Actor(token_id=principal.token_id, role=principal.role.value)

    def record(self, action: str, object_type: str, object_id: str, state: Any) -> None:
        """Stage the audit event of a change: it joins the tenant's log in this unit of
        work's transaction, at commit, so the log holds exactly the changes that were kept.
        ``state`` is the object's new state (a model or JSON value; None once deleted),
        hashed canonically."""
        self._events.append(
            EventDraft(
                action=action,
                actor=self.actor(),
                object=ObjectRef(object_type, object_id),
                request_id=self.request_id or None,
                state_sha256=None if state is None else state_digest(state),
            )
        )

    def commit(self) -> None:
        """End the transaction, keeping what it wrote and queueing its audit events with
        it (``recorder.enqueue``: no lock), then tell the sequencer. Database errors
        propagate, mapped by ``Database.write`` (disk full is ``InsufficientStorage``)."""
        events, self._events = self._events, []
        if events:
            recorder.enqueue(self.session, tenant_id=self.tenant_id, events=events, now=self.clock())
        self._close()
        if events:
            self.notify()

    def notify(self) -> None:
        """Events of this unit of work's tenant were committed: hand them on (an HTTP
        request wakes the server's sequencer for the tenant; a CLI command integrates its
        own, since no server may be running)."""
        if self._on_events is not None:
            self._on_events(self.tenant_id)

    @contextmanager
    def outside(self, *, writes: bool = False) -> Iterator[DetachedScope]:
        """A short transaction of its own, committed when the block ends: for the work an
        upload prepares before the unit of work's transaction begins (a snapshot read, the
        blob lease). Not while that transaction is open: on SQLite it would wait for the
        writer lock this request holds."""
        if self.active:
            if not self._auth_only:
                raise RuntimeError("work outside the unit of work must come before its transaction")
            self._close()  # only the token lookup read in it; the handler's begins later
        with self.db.write() if writes else self.db.read() as session:
            yield DetachedScope(session, self.tenant_id)

    def release(self) -> None:
        """End a read early, before a long response streams (a download), so that no
        transaction stays open while bytes go out. Later reads begin a new one."""
        if self.writes:
            raise RuntimeError("a write unit of work ends only when its response is ready")
        self.commit()

    def _detach(self) -> ExitStack | None:
        """Forget the transaction (a later ``session`` begins anew); its stack, to end it."""
        stack, self._stack, self._session = self._stack, None, None
        self._auth_only = False
        return stack

    def _close(self) -> None:
        """End the transaction as it stands (commit of what it wrote, if anything)."""
        stack = self._detach()
        if stack is not None:
            stack.close()

    def rollback(self) -> None:
        """End the transaction, discarding what it wrote and its audit events; a later
        ``session`` begins anew."""
        self._events = []
        stack = self._detach()
        if stack is not None:
            stack.__exit__(_RolledBack, _RolledBack(), None)


@contextmanager
def unit_of_work(
    db: Database, *, writes: bool = True, request_id: str = "cli", principal: Principal | None = None
) -> Iterator[UnitOfWork]:
    """A unit of work for code outside a request (CLI admin commands, maintenance):
    committed (with its audit events) when the block ends, rolled back when it raises."""
    uow = UnitOfWork(
        db,
        writes=writes,
        request_id=request_id,
        principal=principal,
        on_events=lambda tenant_id: sequencer.integrate_now(db, tenant_id),  # no server may be running
    )
    try:
        yield uow
    except BaseException:
        uow.rollback()
        raise
    uow.commit()
