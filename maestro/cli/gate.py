"""``maestro gate RUN``: the CI step that blocks a release.

Exit status 0 when the gate passes, 1 when it fails, 2 when the question could
not be asked (usage, connection or server errors), so ``maestro gate $RUN``
alone fails the job. ``--wait`` covers pipelines where the run is finished by
another job: while the run is still pending or running the gate is not yet
meaningful, so the command polls until it ends or the time is up.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.console import RenderableType
from rich.text import Text

from maestro.cli.output import JsonFlag, Mode, console, mode_of
from maestro.cli.state import open_client
from maestro.client import MaestroClient
from maestro.models import ReleaseGateResult

# Module-level so tests can replace the clock and the pause.
sleep = time.sleep
monotonic = time.monotonic


def reasons(result: ReleaseGateResult) -> list[str]:
    """The failing reasons; the server joins them with "; " in ``message``."""
    return [] if result.passed else [part for part in result.message.split("; ") if part]


def verdict_view(result: ReleaseGateResult) -> RenderableType:
    if result.passed:
        head = Text.assemble(("PASSED", "bold green"), f"  release gate for run {result.run_id}")
        return Text("\n").join([head, Text(f"  {result.message}")])
    head = Text.assemble(("FAILED", "bold red"), f"  release gate for run {result.run_id}")
    return Text("\n").join([head, *(Text(f"  - {reason}") for reason in reasons(result))])


def wait_until_ended(client: MaestroClient, run_id: str, wait: float, interval: float) -> None:
    """Poll until the run leaves pending/running or ``wait`` seconds have passed."""
    deadline = monotonic() + wait
    while not client.get_run(run_id).status.is_terminal:
        remaining = deadline - monotonic()
        if remaining <= 0:
            typer.echo(f"run {run_id} is still not finished after {wait:g}s; checking the gate now", err=True)
            return
        sleep(min(interval, remaining))


def check_gate(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id.")],
    wait: Annotated[
        float,
        typer.Option(min=0, metavar="SECONDS", help="Poll this long while the run is pending or running."),
    ] = 0,
    interval: Annotated[float, typer.Option(min=0.1, metavar="SECONDS", help="Pause between polls.")] = 5,
    as_json: JsonFlag = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; the exit status is the answer.")
    ] = False,
) -> None:
    """Check the release gate: exit 0 if it passes, 1 if it fails, 2 if it could not be checked."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        if wait > 0:
            wait_until_ended(client, run_id, wait, interval)
        result = client.release_gate(run_id)
    if mode is Mode.JSON:
        typer.echo(result.model_dump_json())
    elif mode is Mode.HUMAN:
        console().print(verdict_view(result))
    if not result.passed:
        raise typer.Exit(1)
