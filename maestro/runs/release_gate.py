"""The release gate and the run manifest, read in one transaction each."""

from __future__ import annotations

from dataclasses import dataclass

from maestro.artifacts import service as artifact_service
from maestro.checks import compliance_report, evaluate_release_gate
from maestro.errors import RunNotFound
from maestro.models import ReleaseGateResult, RunManifest, RunStatus
from maestro.packs import service as pack_service
from maestro.pagination import DEFAULT_LIMIT, Cursor, Order, Page
from maestro.platform.uow import UnitOfWork
from maestro.runs import repository
from maestro.services.rows import run_from_row


def release_gate(uow: UnitOfWork, run_id: str) -> ReleaseGateResult:
    row = repository.get_run(uow, run_id)
    if row is None:
        raise RunNotFound()
    flags = artifact_service.flags_of_run(uow, run_id)
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
    row = repository.get_run(uow, run_id)
    if row is None:
        raise RunNotFound()
    page = Page(limit=limit, after=after, order=Order.ASC)
    artifacts, artifacts_after = artifact_service.list_artifacts(uow, page, run_id=run_id)
    flags = artifact_service.flags_of_run(uow, run_id)
    report = compliance_report(flags)
    shown = {a.id for a in artifacts}
    report.artifacts = [entry for entry in report.artifacts if entry.artifact_id in shown]
    newest, packs_after = pack_service.list_packs(uow, Page(limit=MANIFEST_PACKS), run_id=run_id)
    packs = newest[::-1]
    result = RunManifest(
        run=run_from_row(row, repository.dependencies_of(uow, [run_id]).get(run_id)),
        artifacts=artifacts,
        disclosure_pack=packs[-1] if packs else None,
        disclosure_packs=packs,
        compliance_report=report,
        release_gate=evaluate_release_gate(run_id, RunStatus(row.status), flags),
    )
    return ManifestPage(result, artifacts_after, packs_after)
