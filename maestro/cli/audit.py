"""``maestro audit``: export a tenant's audit log, and verify an export offline.

``verify`` needs no server and no database: it runs ``maestro.audit.verify``
(pure) over the file, so an auditor can check an export on a machine that has
never seen Maestro's data. Exit status: 0 verified, 1 tampered, 2 usage.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from maestro.cli.state import open_client

app = typer.Typer(help="Audit log: export it, verify an export offline.", no_args_is_help=True)
FORMAT = "maestro-audit-export/1"  # maestro.audit.verify.FORMAT, not imported: export stays light


@app.command("export")
def export_audit(
    ctx: typer.Context,
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write the export to.")],
    tenant: Annotated[
        str | None,
        typer.Option(help="Refuse unless the server's log is this tenant's (the token picks the tenant)."),
    ] = None,
) -> None:
    """Write the tenant's events and a signed checkpoint covering exactly them to a JSON file.

    The checkpoint is fetched first and events are exported up to its size, so
    events appended meanwhile never leave the file inconsistent."""
    with open_client(ctx) as client:
        note = client.audit_checkpoint()
        origin, size = _head(note)
        events: list[dict[str, Any]] = []
        for item in client.audit_events():
            if item.get("index", size) >= size:
                break
            events.append(item)
    served = origin.rpartition("/audit/")[2]
    if tenant is not None and served != tenant:
        raise typer.BadParameter(
            f"the server's log is tenant {served!r}'s, not {tenant!r}", param_hint="--tenant"
        )
    export = {"format": FORMAT, "tenant_id": served, "checkpoint": note, "events": events}
    output.write_text(json.dumps(export, ensure_ascii=False, indent=None, separators=(",", ":")) + "\n")
    typer.echo(f"exported {len(events)} event(s) of {origin} (checkpoint size {size}) to {output}")


def _head(note: str) -> tuple[str, int]:
    lines = note.split("\n")
    if len(lines) < 3 or not lines[1].isdigit():
        raise typer.BadParameter("the server's checkpoint is not a signed note")
    return lines[0], int(lines[1])


@app.command("verify")
def verify_audit(
    export_file: Annotated[
        Path, typer.Argument(metavar="FILE", help="An export from `maestro audit export`.")
    ],
    key: Annotated[
        list[Path],
        typer.Option(help="A public key (PEM, from GET /maestro/keys); repeat it for retired keys."),
    ],
    since: Annotated[
        Path | None,
        typer.Option(help="An older checkpoint (signed note) to prove the log only grew from."),
    ] = None,
) -> None:
    """Verify an export offline: signature, tenant, every leaf, the root; with --since, consistency.

    Exit 0 when it verifies, 1 when tampered (naming the first bad index and what is wrong), 2 for
    unreadable files or keys."""
    from maestro.audit.verify import verify

    keys = [_public_key(path) for path in key]
    try:
        export = json.loads(export_file.read_text())
        old = since.read_text() if since is not None else None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise typer.BadParameter(f"cannot read it: {exc}") from None
    report = verify(export, keys, old)
    if report.problem is not None:
        where = "" if report.problem.index is None else f" at index {report.problem.index}"
        typer.echo(f"TAMPERED ({report.problem.kind}){where}: {report.problem.message}", err=True)
        raise typer.Exit(1)
    assert report.checkpoint is not None
    grew = f"; consistent with the older checkpoint {since}" if since is not None else ""
    typer.echo(
        f"OK: {report.events} event(s) of {report.checkpoint.origin} match the signed checkpoint "
        f"(size {report.checkpoint.size}, root {report.checkpoint.root.hex()}){grew}"
    )


def _public_key(path: Path) -> Any:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    try:
        key = load_pem_public_key(path.read_bytes())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(
            f"{path}: not a readable PEM public key ({exc})", param_hint="--key"
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise typer.BadParameter(f"{path}: not an Ed25519 public key", param_hint="--key")
    return key
