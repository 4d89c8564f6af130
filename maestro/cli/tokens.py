"""``maestro tokens``: API tokens. ``bootstrap`` writes the first admin token straight into
the database (a server-side command, like ``maestro db``); the others go through the API
with an admin token (``--token`` / ``MAESTRO_TOKEN``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.table import Table

from maestro.cli.output import JsonFlag, Mode, emit, emit_list, mode_of
from maestro.cli.state import open_client
from maestro.cli.views import short_when, table
from maestro.tenancy.contract import Token, TokenSecret
from maestro.tenancy.roles import Role

app = typer.Typer(help="API tokens: bootstrap the first, create, list and revoke.", no_args_is_help=True)

_DURATION = re.compile(r"^(\d{1,4})([dh])$")
ExpiresOption = Annotated[
    str, typer.Option("--expires", help="Lifetime: Nd (days) or Nh (hours); at most 366d.")
]
TokenQuiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the token.")]


def expires_at(text: str, now: datetime) -> datetime:
    """``30d`` or ``12h`` from now; the server (or bootstrap) enforces the 366-day bound."""
    match = _DURATION.match(text.strip())
    if match is None:
        raise typer.BadParameter("use Nd (days) or Nh (hours), e.g. 30d", param_hint="--expires")
    amount, unit = int(match.group(1)), match.group(2)
    return now + (timedelta(days=amount) if unit == "d" else timedelta(hours=amount))


def token_view(token: Token) -> RenderableType:
    result = tokens_table([token])
    if isinstance(token, TokenSecret):
        result.caption = f"token (shown once, keep it now): {token.token}"
    return result


def tokens_table(found: Sequence[Token]) -> Table:
    result = table("id", "tenant", "role", "name", "expires", "revoked", "last used")
    for t in found:
        result.add_row(
            t.id,
            t.tenant_id,
            t.role.value,
            t.name,
            short_when(t.expires_at),
            short_when(t.revoked_at) if t.revoked_at else "-",
            short_when(t.last_used_at) if t.last_used_at else "-",
        )
    return result


def _emit_secret(created: TokenSecret, as_json: bool, quiet: bool) -> None:
    emit(created, mode_of(as_json, quiet), token_view, ident=created.token)


@app.command("bootstrap")
def bootstrap_token(
    tenant: Annotated[str, typer.Option(help="The tenant the admin token acts for.")] = "default",
    expires: ExpiresOption = "30d",
    force: Annotated[bool, typer.Option("--force", help="Create one even if an admin token exists.")] = False,
    as_json: JsonFlag = False,
    quiet: TokenQuiet = False,
) -> None:
    """Create the first admin token directly in the database (MAESTRO_DATABASE_URL); run it
    on the server. Refused while a working admin token exists, unless --force. Once any
    token exists, every request needs one (local mode ends)."""
    from maestro.cli.db import open_database  # server-side: imported only when it runs
    from maestro.config import get_settings
    from maestro.db import migrate
    from maestro.platform.uow import unit_of_work
    from maestro.tenancy import tokens
    from maestro.tenancy.principal import Principal

    now = datetime.now(UTC)
    until = expires_at(expires, now)
    db = open_database()
    try:
        if get_settings().auto_migrate:  # as the server would on start: bootstrap may come first
            migrate.upgrade(db.engine)
        with unit_of_work(db, principal=Principal.local_admin()) as uow:  # the event: actor "local"
            created = tokens.bootstrap(uow.session, tenant, until, now, force=force)
            uow.record(
                "token.bootstrap", "token", created.id, created.model_dump(mode="json", exclude={"token"})
            )
    finally:
        db.dispose()
    _emit_secret(created, as_json, quiet)


@app.command("create")
def create_token(
    ctx: typer.Context,
    role: Annotated[Role, typer.Option(help="viewer (read), writer (runs, artifacts, packs) or admin.")],
    name: Annotated[str, typer.Option(help="What the token is for.")],
    tenant: Annotated[str, typer.Option(help="The tenant the token acts for.")] = "default",
    expires: ExpiresOption = "30d",
    as_json: JsonFlag = False,
    quiet: TokenQuiet = False,
) -> None:
    """Create a token (needs an admin token); its secret is printed this once."""
    until = expires_at(expires, datetime.now(UTC))
    with open_client(ctx) as client:
        created = client.create_token(role=role, name=name, tenant_id=tenant, expires_at=until)
    _emit_secret(created, as_json, quiet)


@app.command("list")
def list_tokens(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="Only this tenant's tokens.")] = None,
    as_json: JsonFlag = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids.")] = False,
) -> None:
    """List tokens (never their secrets)."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        found = client.list_tokens(tenant)
    emit_list(found, mode, tokens_table)


@app.command("revoke")
def revoke_token(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id (not its secret).")],
    as_json: JsonFlag = False,
) -> None:
    """Revoke a token: its next request is refused."""
    with open_client(ctx) as client:
        revoked = client.revoke_token(token_id)
    emit(revoked, Mode.JSON if as_json else Mode.HUMAN, token_view)
