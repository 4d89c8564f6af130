"""Waivers: create, read, list, revoke; and the waivers that cover a run at an instant.

Scope, exactly one of:

- ``run_id``: that run (of the caller's tenant: another tenant's run is as unknown as
  one that does not exist);
- ``match``: runs of ``owner`` and/or whose metadata has each listed top-level key with
  exactly that value (same JSON type), as policy assignments match;
- ``purl``: runs with a component of that package URL in an SBOM whose content Maestro
  indexed (``/maestro/components``). ``pkg:type/ns/name`` covers every version,
  ``pkg:type/ns/name@1.2`` only components of version ``1.2``; the type is compared
  case-insensitively; qualifiers (``?...``) and subpath (``#...``) are refused.

A waiver is in force at instant ``at`` when ``created_at <= at < expires_at`` and it was
not revoked at or before ``at``: so a gate read after the expiry no longer applies it,
and ``as_of`` before its creation does not either. Waivers are never deleted; revoking
sets ``revoked_at`` once (a repeated revocation answers the first).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from maestro.errors import ValidationFailed, WaiverNotFound
from maestro.evidence.purl import indexable, split_purl
from maestro.ids import uuid7
from maestro.pagination import Cursor, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies import model
from maestro.policies.engine import REGO_ERROR_RULE
from maestro.runs import service as run_service
from maestro.waivers import repository
from maestro.waivers.contract import Waiver, WaiverCreate, WaiverMatch, WaiverScope
from maestro.waivers.repository import WaiverFilter, WaiverRecord

# Match and purl waivers are read whole for every gate evaluation: a tenant keeps at most
# this many in force at once (run waivers are looked up by run and are not counted).
MAX_BROAD_IN_FORCE = 1000
LOCAL_ACTOR = "local"


def in_force(record: WaiverRecord, at: datetime) -> bool:
    revoked = record.revoked_at is not None and record.revoked_at <= at
    return record.created_at <= at < record.expires_at and not revoked


def _wire(record: WaiverRecord, now: datetime) -> Waiver:
    match = None
    if record.scope == WaiverScope.MATCH:
        match = WaiverMatch.model_construct(owner=record.owner, metadata=record.match_metadata)
    return Waiver.model_construct(
        id=record.id,
        rule=record.rule,
        scope=WaiverScope(record.scope),
        run_id=record.run_id,
        match=match,
        purl=record.purl,
        reason=record.reason,
        created_by=record.created_by,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        revoked_by=record.revoked_by,
        active=in_force(record, now),
    )


def _actor(uow: UnitOfWork) -> str:
    principal = uow.principal
    return principal.token_id if principal is not None and principal.token_id else LOCAL_ACTOR


def _scope_of(data: WaiverCreate) -> WaiverScope:
    scopes = (("run_id", WaiverScope.RUN), ("match", WaiverScope.MATCH), ("purl", WaiverScope.PURL))
    given = [(field, kind) for field, kind in scopes if getattr(data, field) is not None]
    if not given:
        raise ValidationFailed.for_field("run_id", "give one of run_id, match or purl")
    if len(given) > 1:
        names = " and ".join(field for field, _ in given)
        raise ValidationFailed.for_field(given[1][0], f"give one of run_id, match or purl, not {names}")
    return given[0][1]


def _check_expiry(expires_at: datetime, now: datetime, max_days: int) -> None:
    if expires_at <= now:
        raise ValidationFailed.for_field("expires_at", "is not in the future")
    if expires_at > now + timedelta(days=max_days):
        raise ValidationFailed.for_field(
            "expires_at", f"is more than {max_days} days ahead (MAESTRO_WAIVER_MAX_DAYS)"
        )


def _purl(purl: str) -> tuple[str, str | None]:
    if not purl[:4].lower() == "pkg:" or "/" not in purl:
        raise ValidationFailed.for_field("purl", "must be a package URL such as pkg:pypi/requests[@2.31.0]")
    if "?" in purl or "#" in purl:
        raise ValidationFailed.for_field(
            "purl",
            "qualifiers (?...) and subpath (#...) are not matched: give pkg:type/namespace/name[@version]",
        )
    base, version = split_purl(purl)
    if not indexable(base) or base.endswith("/"):
        raise ValidationFailed.for_field("purl", "names no package (pkg:type/namespace/name[@version])")
    return base, version


def _check(uow: UnitOfWork, data: WaiverCreate, kind: WaiverScope, max_days: int) -> None:
    if data.rule == REGO_ERROR_RULE:
        raise ValidationFailed.for_field(
            "rule", f"{REGO_ERROR_RULE!r} (a Rego module that cannot answer) cannot be waived"
        )
    if not data.reason.strip():
        raise ValidationFailed.for_field("reason", "must not be blank")
    _check_expiry(data.expires_at, uow.now, max_days)
    if kind is WaiverScope.RUN and not run_service.run_exists(uow, data.run_id or ""):
        raise ValidationFailed.for_field("run_id", f"run {data.run_id!r} does not exist")
    match = data.match
    if kind is WaiverScope.MATCH and match is not None and match.owner is None and not match.metadata:
        raise ValidationFailed.for_field("match", "give owner, metadata or both")
    if kind is not WaiverScope.RUN:
        broad = repository.count_in_force(uow, (WaiverScope.MATCH.value, WaiverScope.PURL.value), uow.now)
        if broad >= MAX_BROAD_IN_FORCE:
            raise ValidationFailed.for_field(
                kind.value, f"a tenant has at most {MAX_BROAD_IN_FORCE} match and purl waivers in force"
            )


def create_waiver(uow: UnitOfWork, data: WaiverCreate, *, max_days: int) -> Waiver:
    kind = _scope_of(data)
    _check(uow, data, kind, max_days)
    base, version = _purl(data.purl) if data.purl is not None else (None, None)
    match = data.match
    record = WaiverRecord(
        id=uuid7(),
        rule=data.rule,
        scope=kind.value,
        run_id=data.run_id,
        owner=match.owner if match is not None else None,
        match_metadata=dict(match.metadata) if match is not None and match.metadata else None,
        purl=data.purl,
        purl_base=base,
        purl_version=version,
        reason=data.reason,
        created_by=_actor(uow),
        created_at=uow.now,
        expires_at=data.expires_at,
        revoked_at=None,
        revoked_by=None,
    )
    repository.insert_waiver(uow, record)
    waiver = _wire(record, uow.now)
    uow.record("waiver.create", "waiver", record.id, waiver)
    return waiver


def get_waiver(uow: UnitOfWork, waiver_id: str) -> Waiver:
    record = repository.get_waiver(uow, waiver_id)
    if record is None:
        raise WaiverNotFound()
    return _wire(record, uow.now)


def revoke_waiver(uow: UnitOfWork, waiver_id: str) -> Waiver:
    """Revoked from now on; revoking again changes nothing and answers the first revocation."""
    if repository.get_waiver(uow, waiver_id, for_update=True) is None:
        raise WaiverNotFound()
    revoked = repository.revoke(uow, waiver_id, uow.now, _actor(uow))
    record = repository.get_waiver(uow, waiver_id)
    assert record is not None  # locked above, and never deleted
    waiver = _wire(record, uow.now)
    if revoked:
        uow.record("waiver.revoke", "waiver", waiver_id, waiver)
    return waiver


def list_waivers(uow: UnitOfWork, where: WaiverFilter, page: Page) -> tuple[list[Waiver], Cursor | None]:
    records = repository.list_waivers(uow, where, page, uow.now)
    items = [_wire(r, uow.now) for r in records[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(records) > page.limit else None
    return items, after


def _matches(record: WaiverRecord, owner: str, metadata: dict[str, Any]) -> bool:
    if record.owner is not None and record.owner != owner:
        return False
    return all(
        key in metadata and type(metadata[key]) is type(value) and metadata[key] == value
        for key, value in (record.match_metadata or {}).items()
    )


def covering(
    scope: Scope, run_id: str, owner: str, metadata: dict[str, Any], at: datetime
) -> list[model.Waiver]:
    """The waivers in force at ``at`` that cover the run, as the policy engine takes them."""
    return [
        model.Waiver(rule=r.rule, reason=r.reason, by=r.created_by, until=r.expires_at)
        for r in repository.in_force_for_run(scope, run_id, at)
        if r.scope != WaiverScope.MATCH or _matches(r, owner, metadata)
    ]


def covering_runs(
    scope: Scope, runs: Sequence[tuple[str, str, dict[str, Any]]], at: datetime
) -> dict[str, list[model.Waiver]]:
    """``covering`` for many runs (each ``(id, owner, metadata)``) in two queries."""
    found = repository.in_force_for_runs(scope, [run_id for run_id, _, _ in runs], at)
    return {
        run_id: [
            model.Waiver(rule=r.rule, reason=r.reason, by=r.created_by, until=r.expires_at)
            for r in found[run_id]
            if r.scope != WaiverScope.MATCH or _matches(r, owner, metadata)
        ]
        for run_id, owner, metadata in runs
    }
