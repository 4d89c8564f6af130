"""``maestro manifest RUN``: everything known about a run, in one request.

The run, its artifacts, its packs, the compliance report and the gate verdict
come from one server-side read, so they are consistent with each other.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import RenderableType
from rich.text import Text

from maestro.cli import views
from maestro.cli.gate import verdict_view
from maestro.cli.output import JsonFlag, Mode, emit, mode_of
from maestro.cli.state import open_client
from maestro.models import ComplianceReport, RunManifest


def compliance_view(report: ComplianceReport) -> RenderableType:
    return views.fields(
        "Compliance",
        [
            ("artifacts", str(report.total_artifacts)),
            ("with sbom", str(report.artifacts_with_sbom)),
            ("with slsa provenance", str(report.artifacts_with_slsa_provenance)),
            ("with risk assessment", str(report.artifacts_with_risk_assessment)),
            ("compliant", ", ".join(report.compliant_artifact_ids) or "none"),
        ],
    )


def manifest_view(manifest: RunManifest) -> RenderableType:
    parts = [views.run_view(manifest.run)]
    run_id = manifest.run.id
    if manifest.artifacts:
        parts.append(views.artifacts_table(manifest.artifacts))
    if manifest.artifacts_next:
        total = manifest.compliance_report.total_artifacts
        parts.append(
            Text(
                f"Showing {len(manifest.artifacts)} of {total} artifacts; "
                f"all of them: maestro artifacts list --run {run_id} --limit {total}"
            )
        )
    if manifest.disclosure_packs:
        parts.append(views.packs_table(manifest.disclosure_packs))
    if manifest.disclosure_packs_next:
        parts.append(
            Text(
                f"Showing the newest {len(manifest.disclosure_packs)} packs; "
                f"more: maestro packs list --run {run_id}"
            )
        )
    parts += [compliance_view(manifest.compliance_report), verdict_view(manifest.release_gate)]
    return views.stack(*parts)


def show_manifest(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id.")],
    as_json: JsonFlag = False,
) -> None:
    """Show a run with its artifacts, disclosure packs, compliance report and gate verdict."""
    mode = mode_of(as_json, False)
    with open_client(ctx) as client:
        manifest = client.manifest(run_id)
    emit(manifest, mode if mode is Mode.JSON else Mode.HUMAN, manifest_view)
