"""The release gate and the run manifest, read in one transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from maestro import storage
from maestro.checks import compliance_report, evaluate_release_gate
from maestro.errors import RunNotFound
from maestro.models import ReleaseGateResult, RunManifest, RunStatus
from maestro.pagination import DEFAULT_LIMIT, Cursor, Order, Page
from maestro.platform.uow import UnitOfWork
from maestro.services.packs import packs_from_rows
from maestro.services.rows import artifact_from_row, flags_from_row, run_from_row


def release_gate(uow: UnitOfWork, run_id: str) -> ReleaseGateResult:
    session = uow.session
    row = storage.get_run(session, run_id)
    if row is None:
        raise RunNotFound()
    flags = [flags_from_row(r) for r in storage.artifact_flags_of_run(session, run_id)]
    return evaluate_release_gate(run_id, RunStatus(row.status), flags)


MANIFEST_PACKS = 20


@dataclass(frozen=True, slots=True)
class ManifestPage:
    """A manifest and where its lists continue: the next page of artifacts (a cursor for
    the manifest itself) and the older packs (a cursor for the disclosure-pack list)."""

    manifest: RunManifest
    artifacts_after: Cursor | None
    packs_after: Cursor | None


def manifest(
    uow: UnitOfWork, run_id: str, limit: int = DEFAULT_LIMIT, after: Cursor | None = None
) -> ManifestPage:
    """One page of the run's artifacts (oldest first), with compliance entries for the
    same artifacts; counts, ids and the gate cover every artifact; the newest packs."""
    session = uow.session
    row = storage.get_run(session, run_id)
    if row is None:
        raise RunNotFound()
    page = Page(limit=limit, after=after, order=Order.ASC)
    artifact_rows = storage.list_artifacts(session, page, run_id=run_id)
    artifacts = [artifact_from_row(r) for r in artifact_rows[:limit]]
    flags = [flags_from_row(r) for r in storage.artifact_flags_of_run(session, run_id)]
    report = compliance_report(flags)
    shown = {a.id for a in artifacts}
    report.artifacts = [entry for entry in report.artifacts if entry.artifact_id in shown]
    pack_rows = storage.list_packs(session, Page(limit=MANIFEST_PACKS), run_id=run_id)
    packs = packs_from_rows(session, pack_rows[:MANIFEST_PACKS])[::-1]
    result = RunManifest(
        run=run_from_row(row),
        artifacts=artifacts,
        disclosure_pack=packs[-1] if packs else None,
        disclosure_packs=packs,
        compliance_report=report,
        release_gate=evaluate_release_gate(run_id, RunStatus(row.status), flags),
    )
    more_artifacts = (
        Cursor(artifacts[-1].created_at, artifacts[-1].id) if len(artifact_rows) > limit else None
    )
    older_packs = Cursor(packs[0].created_at, packs[0].id) if len(pack_rows) > MANIFEST_PACKS else None
    return ManifestPage(result, more_artifacts, older_packs)
