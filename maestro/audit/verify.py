"""Offline verification of an audit export: ``maestro audit verify``.

Pure code (no database, no HTTP): an auditor with the server's public key(s) and
an export checks that the checkpoint is signed, that it names the export's
tenant, that every event hashes to its recorded leaf, sits at its own index
and that the leaves give the signed root; with an older checkpoint it also
proves the log only grew. The first problem found is reported with its index:

- ``edited``     an event's fields no longer hash to its leaf (or do not parse);
- ``deleted``    an index is missing from the middle;
- ``truncated``  the export stops before the checkpoint's size;
- ``swapped``    two events are out of order;
- ``inserted``   an index appears twice, or events lie beyond the checkpoint;
- ``wrong_key``  no given key signed the checkpoint;
- ``wrong_tenant`` the checkpoint (or the older one) is another tenant's log;
- ``rolled_back`` the checkpoint is smaller than the older one: a snapshot restored;
- ``inconsistent`` the older checkpoint is not a prefix of this log;
- ``malformed``  the file is not an export at all;
- ``rewritten``  events and leaf hashes were rewritten together, so only the
  root disagrees; no single index can be blamed from one signed root.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from maestro.audit import checkpoint, merkle
from maestro.audit.event import EventError, parse

FORMAT = "maestro-audit-export/1"


@dataclass(frozen=True, slots=True)
class Problem:
    kind: str
    index: int | None
    message: str


@dataclass(frozen=True, slots=True)
class Report:
    tenant_id: str
    checkpoint: checkpoint.Checkpoint | None
    events: int
    problem: Problem | None

    @property
    def ok(self) -> bool:
        return self.problem is None


class _Tampered(Exception):
    def __init__(self, kind: str, index: int | None, message: str) -> None:
        super().__init__(message)
        self.problem = Problem(kind, index, message)


def tenant_of(origin: str) -> str:
    """The tenant an origin ``<deployment>/audit/<tenant>`` names ('' when it names none)."""
    head, sep, tenant = origin.rpartition("/audit/")
    return tenant if sep and head and "/" not in tenant else ""


def open_checkpoint(note: str, keys: Sequence[Ed25519PublicKey]) -> checkpoint.Checkpoint:
    """The checkpoint if one of ``keys`` signed it under its own origin as key name."""
    origin = note.split("\n", 1)[0]
    for key in keys:
        try:
            return checkpoint.verify(note, origin, key)
        except checkpoint.CheckpointError:
            continue
    raise _Tampered("wrong_key", None, "the checkpoint is not signed by any of the given keys")


def verify(export: Any, keys: Sequence[Ed25519PublicKey], since: str | None = None) -> Report:
    """Check ``export`` (the parsed JSON of ``maestro audit export``) against ``keys``."""
    tenant = export.get("tenant_id", "") if isinstance(export, dict) else ""
    cp: checkpoint.Checkpoint | None = None
    events: list[Any] = []
    try:
        tenant, note, events = _shape(export)
        cp = open_checkpoint(note, keys)
        if tenant_of(cp.origin) != tenant:
            raise _Tampered(
                "wrong_tenant", None, f"the checkpoint is for {cp.origin!r}, not tenant {tenant!r}"
            )
        leaves = _leaves(events, tenant)
        _compare(cp, leaves)
        if since is not None:
            _grew(cp, leaves, open_checkpoint(since, keys))
    except _Tampered as exc:
        return Report(tenant, cp, len(events), exc.problem)
    return Report(tenant, cp, len(events), None)


def _shape(export: Any) -> tuple[str, str, list[Any]]:
    if not isinstance(export, dict) or export.get("format") != FORMAT:
        raise _Tampered("malformed", None, f"not a {FORMAT} export")
    tenant, note, events = export.get("tenant_id"), export.get("checkpoint"), export.get("events")
    if not isinstance(tenant, str) or not isinstance(note, str) or not isinstance(events, list):
        raise _Tampered("malformed", None, "an export has tenant_id, checkpoint and an events list")
    return tenant, note, events


def _leaves(items: list[Any], tenant: str) -> list[bytes]:
    """Each event's leaf, once it is shown to be the tenant's, unedited and in place."""
    claimed = [item.get("index") if isinstance(item, dict) else None for item in items]
    leaves: list[bytes] = []
    seen: set[int] = set()
    for position, item in enumerate(items):
        index = _check_item(position, item, tenant)
        if index in seen:
            raise _Tampered(
                "inserted", index, f"a second event claims index {index} (at position {position})"
            )
        if index > position:
            if position in claimed[position + 1 :]:
                raise _Tampered(
                    "swapped", position, f"events {position} and {index} are out of order (swapped)"
                )
            raise _Tampered(
                "deleted", position, f"event {position} is missing (the next one present is {index})"
            )
        seen.add(index)
        leaves.append(bytes.fromhex(item["leaf_hash"]))
    return leaves


def _check_item(position: int, item: Any, tenant: str) -> int:
    if not isinstance(item, dict) or set(item) != {"index", "leaf_hash", "event"}:
        raise _Tampered("edited", position, f"entry {position} is not {{index, leaf_hash, event}}")
    try:
        event = parse(item["event"])
    except (EventError, TypeError, ValueError) as exc:
        raise _Tampered("edited", position, f"event at position {position} does not parse: {exc}") from None
    if event.tenant_id != tenant:
        raise _Tampered("wrong_tenant", position, f"event {position} belongs to tenant {event.tenant_id!r}")
    if item["index"] != event.index or not isinstance(item["leaf_hash"], str):
        raise _Tampered("edited", position, f"entry {position}'s index or leaf hash field was changed")
    if event.leaf_hash().hex() != item["leaf_hash"]:
        raise _Tampered(
            "edited", event.index, f"event {event.index}'s fields do not match its leaf hash: edited"
        )
    return event.index


def _compare(cp: checkpoint.Checkpoint, leaves: list[bytes]) -> None:
    if len(leaves) < cp.size:
        raise _Tampered(
            "truncated",
            len(leaves),
            f"the export ends before index {len(leaves)}; the checkpoint has {cp.size}",
        )
    if len(leaves) > cp.size:
        raise _Tampered("inserted", cp.size, f"events from index {cp.size} on are not in the checkpoint")
    if merkle.root(leaves) != cp.root:
        raise _Tampered(
            "rewritten",
            None,
            "the events do not hash to the checkpoint's root: events were rewritten "
            "together with their leaf hashes",
        )


def _grew(cp: checkpoint.Checkpoint, leaves: list[bytes], old: checkpoint.Checkpoint) -> None:
    """Prove ``old`` is a prefix of ``cp`` with an RFC 6962 consistency proof from the leaves."""
    if old.origin != cp.origin:
        raise _Tampered(
            "wrong_tenant", None, f"the older checkpoint is for {old.origin!r}, not {cp.origin!r}"
        )
    if old.size > cp.size:
        raise _Tampered(
            "rolled_back",
            cp.size,
            f"the checkpoint has {cp.size} events, fewer than the {old.size} "
            "seen before: an older snapshot was restored",
        )
    proof = merkle.consistency_proof(leaves, old.size)
    try:
        merkle.verify_consistency(old.size, cp.size, old.root, cp.root, proof)
    except merkle.ProofError as exc:
        raise _Tampered(
            "inconsistent",
            None,
            f"the log of {old.size} events seen before is not a prefix of this one: {exc}",
        ) from None
