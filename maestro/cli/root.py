"""The root ``maestro`` command: global flags, error handling, and the command groups.

Errors are caught once, here, around every subcommand (``MaestroGroup.invoke``),
so no command needs its own try/except to honour the exit-status contract.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

import maestro
from maestro.cli import artifacts, blobs, config, db, gate, manifest, packs, runs, server
from maestro.cli.failures import report
from maestro.cli.state import State

if TYPE_CHECKING:  # Typer vendors Click and does not re-export the base Context it passes here
    from typer._click.core import Context as ClickContext


class MaestroGroup(TyperGroup):
    """Reports any failure as one line on stderr with its exit status, unless debugging."""

    def invoke(self, ctx: ClickContext) -> Any:
        try:
            return super().invoke(ctx)
        except (typer.TyperException, typer.Exit, typer.Abort):
            raise  # usage errors and deliberate exits: Click reports them itself
        except Exception as exc:
            state = ctx.obj if isinstance(ctx.obj, State) else State()
            if state.debug or _env_debug():
                raise
            raise typer.Exit(report(exc)) from None


def _env_debug() -> bool:
    return os.environ.get("MAESTRO_DEBUG", "").lower() in ("1", "true", "yes")


cli = typer.Typer(
    cls=MaestroGroup,
    help="Maestro: runs, evidence, disclosure packs and release gates.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"maestro {maestro.__version__}")
        raise typer.Exit()


@cli.callback()
def root(
    ctx: typer.Context,
    url: Annotated[
        str | None, typer.Option(help="Server URL (else MAESTRO_URL, config file, http://127.0.0.1:8001).")
    ] = None,
    token: Annotated[str | None, typer.Option(help="API token (else MAESTRO_TOKEN, config file).")] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks (also MAESTRO_DEBUG=1).")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Maestro: runs, evidence, disclosure packs and release gates."""
    ctx.obj = State(url=url, token=token, debug=debug)


cli.add_typer(runs.app, name="runs")
cli.add_typer(artifacts.app, name="artifacts")
cli.add_typer(packs.app, name="packs")
cli.command("manifest")(manifest.show_manifest)
cli.command("gate")(gate.check_gate)
cli.add_typer(config.app, name="config")
cli.add_typer(db.app, name="db")
cli.add_typer(blobs.app, name="blobs")
cli.command("server")(server.serve)


def main() -> None:
    cli()
