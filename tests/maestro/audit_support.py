"""Helpers for the test_audit_* modules: synthetic events and exports built like the CLI's."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy.orm import Session

from maestro.audit import recorder, repository
from maestro.audit.event import Actor, EventDraft, ObjectRef
from maestro.audit.signing_key import Signer
from maestro.audit.verify import FORMAT
from maestro.db.engine import Database

ACTIONS = ("run.create", "run.update", "artifact.create", "artifact.upload", "auth.denied")


def draft(n: int, *, token: str | None = "tok_a") -> EventDraft:
    """The n-th synthetic event: every fifth a denial without an object."""
    action = ACTIONS[n % len(ACTIONS)]
    if action == "auth.denied":
        return EventDraft(action, Actor(None, "anonymous"), request_id=f"req-{n}", status=401)
    state = hashlib.sha256(f"state {n}".encode()).hexdigest()
    return EventDraft(
        action, Actor(token, "writer"), ObjectRef(action.split(".")[0], f"obj-{n % 7}"), f"req-{n}", state
    )


def record(db: Database, tenant_id: str, count: int, *, batch: int = 1, start: int = 0) -> None:
    """``count`` events for ``tenant_id``, ``batch`` per transaction."""
    for first in range(start, start + count, batch):
        with db.write() as session:
            drafts = [draft(n) for n in range(first, min(first + batch, start + count))]
            recorder.append(session, tenant_id=tenant_id, events=drafts)


def build_export(session: Session, signer: Signer, tenant_id: str) -> dict[str, Any]:
    """What ``maestro audit export`` writes, read straight from the repository."""
    head = repository.head(session, tenant_id)
    items, after = repository.list_events(session, tenant_id, repository.AuditFilter(), 10**9, None)
    assert after is None
    return {
        "format": FORMAT,
        "tenant_id": tenant_id,
        "checkpoint": signer.sign(tenant_id, head.size, head.root),
        "events": [{"index": i.index, "leaf_hash": i.leaf_hash.hex(), "event": i.event} for i in items],
    }
