"""``maestro artifacts``: attach evidence to a run, by upload or by reference.

``add FILE`` uploads the bytes so the server can parse and verify them, and is
strict by default: content that does not verify as the declared kind is refused
rather than silently stored, which is what a release pipeline wants.
``add --uri`` without a file only records where the evidence lives, as the
original API did.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from maestro.cli import views
from maestro.cli.output import JsonFlag, Mode, QuietFlag, emit, emit_list, mode_of
from maestro.cli.progress import upload_progress
from maestro.cli.state import open_client
from maestro.cli.values import parse_pairs
from maestro.client import MaestroClient
from maestro.models import Artifact, ArtifactKind

app = typer.Typer(help="Artifacts: evidence attached to a run.", no_args_is_help=True)


def _declared(sbom: bool, slsa: bool, risk: bool, pairs: list[str] | None) -> dict[str, Any]:
    """The seed's ``metadata_json``: the three declared flags and any extra metadata."""
    return {
        "sbom_present": sbom,
        "slsa_provenance_present": slsa,
        "risk_assessment_present": risk,
        "additional_metadata": parse_pairs(pairs),
    }


@app.command("add")
def add_artifact(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="The run's id.")],
    kind: Annotated[ArtifactKind, typer.Option(help="What the evidence is.")],
    file: Annotated[
        Path | None,
        typer.Argument(exists=True, dir_okay=False, readable=True, help="File to upload (omit with --uri)."),
    ] = None,
    uri: Annotated[
        str | None,
        typer.Option(
            help="Where the evidence lives (default: FILE's path); alone, records a reference only."
        ),
    ] = None,
    sbom: Annotated[bool, typer.Option("--sbom", help="Declare sbom_present.")] = False,
    slsa: Annotated[bool, typer.Option("--slsa", help="Declare slsa_provenance_present.")] = False,
    risk: Annotated[bool, typer.Option("--risk", help="Declare risk_assessment_present.")] = False,
    strict: Annotated[
        bool, typer.Option(help="Refuse an upload whose content does not verify as KIND.")
    ] = True,
    content_hash: Annotated[
        str | None, typer.Option(help="Expected hash, e.g. sha256:<hex> (default for uploads: computed).")
    ] = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option("--metadata", metavar="KEY=VALUE", help="additional_metadata entry (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Attach evidence to a run: upload FILE (strict by default), or record --uri only."""
    mode = mode_of(as_json, quiet)
    if file is None and uri is None:
        raise typer.BadParameter("give a FILE to upload, or --uri to record a reference", param_hint="FILE")
    fields: dict[str, Any] = {
        "run_id": run,
        "kind": kind,
        "path_or_uri": uri if uri is not None else str(file),
        "metadata_json": _declared(sbom, slsa, risk, metadata),
    }
    if content_hash is not None:
        fields["content_hash"] = content_hash
    with open_client(ctx) as client:
        if file is None:
            artifact = client.create_artifact(**fields)
        else:
            artifact = _upload(client, file, fields, strict=strict, mode=mode)
    emit(artifact, mode, views.artifact_view)


def _upload(
    client: MaestroClient, file: Path, fields: dict[str, Any], *, strict: bool, mode: Mode
) -> Artifact:
    """Create the artifact and stream the file into it in one atomic request: when the
    server refuses the content, no artifact is left behind."""
    with upload_progress(file.name, file.stat().st_size, enabled=mode is not Mode.QUIET) as progress:
        return client.attach(
            fields["run_id"],
            file,
            kind=fields["kind"],
            path_or_uri=fields["path_or_uri"],
            strict=strict,
            progress=progress,
            content_hash=fields.get("content_hash"),
            **fields["metadata_json"],
        )


@app.command("get")
def get_artifact(
    ctx: typer.Context,
    artifact_id: Annotated[str, typer.Argument(metavar="ARTIFACT", help="The artifact's id.")],
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Show one artifact, with what its uploaded content verified."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        artifact = client.get_artifact(artifact_id)
    emit(artifact, mode, views.artifact_view)


@app.command("list")
def list_artifacts(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only artifacts of this run.")] = None,
    kind: Annotated[ArtifactKind | None, typer.Option(help="Only artifacts of this kind.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many artifacts.")] = 50,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """List artifacts, newest first."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        items = client.list_artifacts(run_id=run, kind=kind.value if kind else None, limit=limit)
        emit_list(items, mode, views.artifacts_table)
