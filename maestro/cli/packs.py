"""``maestro packs``: disclosure packs, the summary of a run handed out with a release;
``export`` downloads one as an archive and ``verify`` checks an archive offline (also
reachable as ``maestro pack verify``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from maestro.cli import views
from maestro.cli.output import JsonFlag, QuietFlag, emit, emit_list, mode_of
from maestro.cli.state import open_client
from maestro.cli.values import parse_pairs

app = typer.Typer(help="Disclosure packs: a run's summary and artifact list.", no_args_is_help=True)


@app.command("create")
def create_pack(
    ctx: typer.Context,
    run: Annotated[str, typer.Option("--run", help="The run's id.")],
    summary: Annotated[str, typer.Option(help="Human-readable description of the run.")],
    artifact: Annotated[
        list[str] | None,
        typer.Option("--artifact", help="Artifact id to include (repeatable; default: all of the run's)."),
    ] = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option("--metadata", metavar="KEY=VALUE", help="Metadata entry (repeatable)."),
    ] = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Create a disclosure pack for a run."""
    mode = mode_of(as_json, quiet)
    fields = {"run_id": run, "summary": summary, "metadata": parse_pairs(metadata)}
    if artifact:
        fields["artifact_ids"] = artifact
    with open_client(ctx) as client:
        pack = client.create_pack(**fields)
    emit(pack, mode, views.pack_view)


@app.command("get")
def get_pack(
    ctx: typer.Context,
    pack_id: Annotated[str, typer.Argument(metavar="PACK", help="The pack's id.")],
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Show one disclosure pack."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        pack = client.get_pack(pack_id)
    emit(pack, mode, views.pack_view)


@app.command("list")
def list_packs(
    ctx: typer.Context,
    run: Annotated[str | None, typer.Option("--run", help="Only packs of this run.")] = None,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many packs.")] = 50,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """List disclosure packs, newest first."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        emit_list(client.list_packs(run_id=run, limit=limit), mode, views.packs_table)


@app.command("export")
def export_pack(
    ctx: typer.Context,
    pack_id: Annotated[str, typer.Argument(metavar="PACK", help="The pack's id.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write the tar.gz to.")],
) -> None:
    """Download a pack as one tar.gz that `maestro pack verify` checks offline."""
    with open_client(ctx) as client:
        client.export_pack(pack_id, output)
    typer.echo(f"exported pack {pack_id} to {output}")


@app.command("verify")
def verify_pack(
    archive: Annotated[
        Path,
        typer.Argument(
            metavar="FILE", help="A pack from `maestro packs export`.", exists=True, dir_okay=False
        ),
    ],
    key: Annotated[
        list[Path],
        typer.Option(help="The server's public key: a PEM, or the JSON of GET /maestro/keys (repeatable)."),
    ],
) -> None:
    """Verify a pack offline: signatures, every file, every audit event, the gate's VSA.

    Needs no server. Exit 0 when everything verifies; 1 when anything does not,
    each problem on its own line naming the file; 2 for an unreadable key."""
    from maestro.pack_archive import verify

    keys = []
    for path in key:
        try:
            keys += verify.parse_keys(path.read_bytes())
        except (OSError, verify.KeyFileError) as exc:
            raise typer.BadParameter(f"{path}: {exc}", param_hint="--key") from None
    verdict = verify.verify(archive, keys)
    if not verdict.ok:
        typer.echo(verdict.summary(), err=True)
        for problem in verdict.problems:
            typer.echo(f"  {problem}", err=True)
        raise typer.Exit(1)
    typer.echo(verdict.summary())


# ``maestro pack verify FILE`` as issue 10 writes it: the same commands, singular.
pack_app = typer.Typer(help="Export a disclosure pack, verify one offline.", no_args_is_help=True)
pack_app.command("export")(export_pack)
pack_app.command("verify")(verify_pack)
