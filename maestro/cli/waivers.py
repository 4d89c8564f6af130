"""``maestro waivers``: waive one policy rule for a run, for matching runs or for a
component, with a reason and an expiry; list, show and revoke (creating and revoking
need an admin token)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import RenderableType

from maestro.cli.output import JsonFlag, Mode, QuietFlag, emit, emit_list, mode_of
from maestro.cli.state import open_client
from maestro.cli.values import parse_pairs, parse_timestamp
from maestro.cli.views import compact, fields, short_when, table, when
from maestro.waivers.contract import Waiver

app = typer.Typer(
    help="Waivers of policy rules: create, list, show and revoke.\n\n"
    "A waiver makes the release gate report one rule as waived (with who, why and until "
    "when) for one run (--run), for runs matching --owner and/or --metadata, or for runs "
    "whose SBOM lists a package (--purl). It needs a reason and an expiry, and stops "
    "applying the moment it expires or is revoked. Creating and revoking need an admin "
    "token; see docs/policies.md.",
    no_args_is_help=True,
)

_DURATION = re.compile(r"^(\d{1,4})([dh])$")
WaiverArgument = Annotated[str, typer.Argument(metavar="ID", help="The waiver's id.")]


def expiry(text: str, now: datetime) -> datetime:
    """``7d`` or ``12h`` from now, or an ISO 8601 time with a zone; the server enforces
    the bounds (in the future, within MAESTRO_WAIVER_MAX_DAYS)."""
    match = _DURATION.match(text.strip())
    if match is None:
        parsed = parse_timestamp(text, "--expires") if "T" in text else None
        if parsed is None:
            raise typer.BadParameter(
                "use Nd (days), Nh (hours) or a time such as 2026-12-31T00:00:00Z", param_hint="--expires"
            )
        return parsed
    amount, unit = int(match.group(1)), match.group(2)
    return now + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))


def _scope(waiver: Waiver) -> str:
    if waiver.run_id is not None:
        return f"run {waiver.run_id}"
    if waiver.purl is not None:
        return f"purl {waiver.purl}"
    match = waiver.match
    parts = [f"owner {match.owner}"] if match is not None and match.owner else []
    if match is not None and match.metadata:
        parts.append(f"metadata {compact(match.metadata)}")
    return "match " + ", ".join(parts)


def _state(waiver: Waiver) -> str:
    if waiver.revoked_at is not None:
        return "revoked"
    return "active" if waiver.active else "expired"


def waiver_view(waiver: Waiver) -> RenderableType:
    return fields(
        f"Waiver {waiver.id}",
        [
            ("rule", waiver.rule),
            ("scope", _scope(waiver)),
            ("reason", waiver.reason),
            ("state", _state(waiver)),
            ("created", f"{when(waiver.created_at)} by {waiver.created_by}"),
            ("expires", when(waiver.expires_at)),
            ("revoked", f"{when(waiver.revoked_at)} by {waiver.revoked_by}" if waiver.revoked_at else "-"),
        ],
    )


def waivers_table(found: Sequence[Waiver]) -> RenderableType:
    result = table("id", "rule", "scope", "state", "expires", "reason")
    for w in found:
        result.add_row(w.id, w.rule, _scope(w), _state(w), short_when(w.expires_at), w.reason)
    return result


@app.command("create")
def create_waiver(
    ctx: typer.Context,
    rule: Annotated[str, typer.Option(help="The rule to waive, as the gate names it (results[].rule).")],
    reason: Annotated[str, typer.Option(help="Why it is waived (required, at most 1000 characters).")],
    expires: Annotated[
        str, typer.Option("--expires", help="Nd, Nh or an ISO 8601 time (at most MAESTRO_WAIVER_MAX_DAYS).")
    ],
    run: Annotated[str | None, typer.Option("--run", help="Waive it for this one run.")] = None,
    owner: Annotated[str | None, typer.Option(help="Waive it for runs of this owner.")] = None,
    metadata: Annotated[
        list[str] | None,
        typer.Option(
            "--metadata",
            metavar="KEY=VALUE",
            help="Runs whose metadata has KEY=VALUE (repeatable).",
        ),
    ] = None,
    purl: Annotated[
        str | None, typer.Option(help="Waive it for runs whose SBOM has this package (no version: any).")
    ] = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Waive a rule: give exactly one scope (--run; --owner and/or --metadata; or --purl)."""
    mode = mode_of(as_json, quiet)
    until = expiry(expires, datetime.now(UTC))
    pairs = parse_pairs(metadata) if metadata else None
    with open_client(ctx) as client:
        created = client.create_waiver(
            rule, reason=reason, expires_at=until, run_id=run, owner=owner, metadata=pairs, purl=purl
        )
    emit(created, mode, waiver_view)


@app.command("list")
def list_waivers(
    ctx: typer.Context,
    rule: Annotated[str | None, typer.Option(help="Only waivers of this rule.")] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only waivers of this one run.")] = None,
    active: Annotated[
        bool | None, typer.Option("--active/--inactive", help="Only those in force now / expired or revoked.")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Show at most this many.")] = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids.")] = False,
) -> None:
    """List waivers, newest first."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        found = list(client.list_waivers(rule=rule, run_id=run, active=active, limit=limit))
    emit_list(found, mode, waivers_table)


@app.command("show")
def show_waiver(ctx: typer.Context, waiver_id: WaiverArgument, as_json: JsonFlag = False) -> None:
    """Show one waiver."""
    with open_client(ctx) as client:
        found = client.get_waiver(waiver_id)
    emit(found, Mode.JSON if as_json else Mode.HUMAN, waiver_view)


@app.command("revoke")
def revoke_waiver(ctx: typer.Context, waiver_id: WaiverArgument, as_json: JsonFlag = False) -> None:
    """Revoke a waiver: the gate stops applying it from now on (it is kept, never deleted)."""
    with open_client(ctx) as client:
        revoked = client.revoke_waiver(waiver_id)
    emit(revoked, Mode.JSON if as_json else Mode.HUMAN, waiver_view)
