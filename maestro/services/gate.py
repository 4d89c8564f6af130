"""The release gate and the run manifest, read in one transaction each."""

from __future__ import annotations

from sqlalchemy.orm import Session

from maestro import storage
from maestro.checks import compliance_report, evaluate_release_gate
from maestro.errors import RunNotFound
from maestro.models import ReleaseGateResult, RunManifest, RunStatus
from maestro.services.packs import packs_from_rows
from maestro.services.rows import artifact_from_row, flags_from_row, run_from_row


def release_gate(session: Session, run_id: str) -> ReleaseGateResult:
    row = storage.get_run(session, run_id)
    if row is None:
        raise RunNotFound()
    flags = [flags_from_row(r) for r in storage.artifact_flags_of_run(session, run_id)]
    return evaluate_release_gate(run_id, RunStatus(row.status), flags)


def manifest(session: Session, run_id: str) -> RunManifest:
    row = storage.get_run(session, run_id)
    if row is None:
        raise RunNotFound()
    artifact_rows = storage.artifacts_of_run(session, run_id)
    flags = [flags_from_row(r) for r in artifact_rows]
    packs = packs_from_rows(session, storage.packs_of_run(session, run_id))
    return RunManifest(
        run=run_from_row(row),
        artifacts=[artifact_from_row(r) for r in artifact_rows],
        disclosure_pack=packs[-1] if packs else None,
        disclosure_packs=packs,
        compliance_report=compliance_report(flags),
        release_gate=evaluate_release_gate(run_id, RunStatus(row.status), flags),
    )
