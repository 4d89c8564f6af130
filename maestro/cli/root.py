"""The root ``maestro`` command: global flags, error handling, and the command groups.

Errors are caught once, here, around every subcommand (``MaestroGroup.invoke``),
so no command needs its own try/except to honour the exit-status contract.
Subcommands are imported only when they run (``maestro.cli.lazy``): this module
imports nothing heavier than Typer, so ``maestro --help`` starts fast and a
client command never loads the server's modules.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

import typer

import maestro
from maestro.cli.failures import report
from maestro.cli.lazy import Entry, LazyGroup
from maestro.cli.settings import debug_from_env
from maestro.cli.state import State

if TYPE_CHECKING:  # Typer vendors Click and does not re-export the base Context it passes here
    from typer._click.core import Context as ClickContext


class MaestroGroup(LazyGroup):
    """Reports any failure as one line on stderr with its exit status, unless debugging."""

    entries: ClassVar[Mapping[str, Entry]] = {
        "runs": Entry("maestro.cli.runs", "app", "Runs: create, inspect, update and finish them."),
        "artifacts": Entry("maestro.cli.artifacts", "app", "Artifacts: evidence attached to a run."),
        "packs": Entry("maestro.cli.packs", "app", "Disclosure packs: a run's summary and artifact list."),
        "pack": Entry("maestro.cli.packs", "pack_app", "Export a disclosure pack, verify one offline."),
        "manifest": Entry(
            "maestro.cli.manifest",
            "show_manifest",
            "Show a run with its artifacts, disclosure packs, compliance report and gate verdict.",
        ),
        "gate": Entry(
            "maestro.cli.gate",
            "check_gate",
            "Check a run's release gate: exit 0 if it passes, 1 if it fails, 2 if no verdict could be had.",
        ),
        "policies": Entry(
            "maestro.cli.policies",
            "app",
            "Release policies: create, version, list, assign and dry-run them.",
        ),
        "audit": Entry("maestro.cli.audit", "app", "Audit log: export it, verify an export offline."),
        "config": Entry(
            "maestro.cli.config", "app", "Client configuration: flags, environment, config file."
        ),
        "tokens": Entry(
            "maestro.cli.tokens", "app", "API tokens: bootstrap the first, create, list and revoke."
        ),
        "waivers": Entry(
            "maestro.cli.waivers", "app", "Waivers of policy rules: create, list, show and revoke."
        ),
        "db": Entry("maestro.cli.db", "app", "Database schema management."),
        "blobs": Entry("maestro.cli.blobs", "app", "Uploaded content in the blob store."),
        "server": Entry(
            "maestro.cli.server",
            "serve",
            "Serve the API (migrating first unless MAESTRO_AUTO_MIGRATE=false).",
        ),
    }

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
    return debug_from_env(strict=False)  # deciding how to report a failure must not fail itself


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
    ctx.obj = State(url=url, token=token, debug=debug or debug_from_env())


def main() -> None:
    cli()
