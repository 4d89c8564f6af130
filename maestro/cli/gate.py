"""``maestro gate RUN``: the CI step that blocks a release.

The exit status is the answer: 0 when the gate passes, 1 when it fails, and 2
when no verdict could be had: a usage error, an unknown run (a mistyped id
must not read as "this release failed the gate"), an unreachable or failing
server, a refused token. So ``maestro gate $RUN`` alone fails the job either
way, and a script that must tell "blocked" from "broken" can. ``--wait``
covers pipelines where the run is finished by another job: while the run is
still pending or running the gate is not yet meaningful, so the command polls
until it ends or the time is up.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated

import typer

from maestro.cli.failures import NoVerdict
from maestro.cli.output import JsonFlag, Mode, console, mode_of
from maestro.cli.state import open_client
from maestro.errors import MaestroError

if TYPE_CHECKING:
    from rich.console import RenderableType

    from maestro.client import MaestroClient
    from maestro.models import ReleaseGateResult

PASSED, FAILED = 0, 1


class OutputFormat(StrEnum):
    HUMAN = "human"
    JSON = "json"


def _moment(value: str | None) -> date | datetime | None:
    """``--as-of`` as the SDK takes it; the server judges the text (422 names ``as_of``)."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value) if len(value) == 10 else datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            "must be YYYY-MM-DD or an RFC 3339 timestamp", param_hint="--as-of"
        ) from None


# Module-level so tests can replace the clock and the pause.
sleep = time.sleep
monotonic = time.monotonic


_STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "warning": "yellow",
    "waived": "cyan",
    "skipped": "dim",
}


def verdict_view(result: ReleaseGateResult) -> RenderableType:
    """The verdict, then the pass message or each failing reason on its own line, then
    (from a server that explains its verdicts) one line per rule."""
    from rich.text import Text

    under = f" under {result.policy.name} v{result.policy.version}" if result.policy else ""
    if result.passed:
        head = Text.assemble(("PASSED", "bold green"), f"  release gate for run {result.run_id}{under}")
        lines = [head, Text(f"  {result.message}")]
    else:
        head = Text.assemble(("FAILED", "bold red"), f"  release gate for run {result.run_id}{under}")
        reasons = result.details.reasons or [result.message]  # a server from before the list existed
        lines = [head, *(Text(f"  - {reason}") for reason in reasons)]
    if result.results:
        lines.append(Text("  rules:"))
    for rule in result.results:
        status = rule.status.value
        line = Text.assemble(
            "    ", (f"{status:<8}", _STATUS_STYLE.get(status, "")), f" {rule.rule} ({rule.severity.value}): "
        )
        line.append(rule.message)
        if rule.waiver is not None:
            line.append(
                f" [waived by {rule.waiver.by} until {rule.waiver.until.isoformat()}: {rule.waiver.reason}]"
            )
        lines.append(line)
    return Text("\n").join(lines)


def wait_until_ended(client: MaestroClient, run_id: str, wait: float, interval: float) -> None:
    """Poll until the run leaves pending/running or ``wait`` seconds have passed."""
    deadline = monotonic() + wait
    while not client.get_run(run_id).status.is_terminal:
        remaining = deadline - monotonic()
        if remaining <= 0:
            typer.echo(f"run {run_id} is still not finished after {wait:g}s; checking the gate now", err=True)
            return
        sleep(min(interval, remaining))


def fetch_verdict(
    ctx: typer.Context,
    run_id: str,
    wait: float,
    interval: float,
    policy: str | None = None,
    policy_version: int | None = None,
    as_of: str | None = None,
) -> ReleaseGateResult:
    """The server's verdict; any failure to get one is ``NoVerdict`` (exit 2), never a failed gate."""
    try:
        with open_client(ctx) as client:
            if wait > 0:
                wait_until_ended(client, run_id, wait, interval)
            return client.release_gate(
                run_id, policy=policy, policy_version=policy_version, as_of=_moment(as_of)
            )
    except MaestroError as exc:
        raise NoVerdict(exc) from exc


def check_gate(
    ctx: typer.Context,
    run_id: Annotated[str, typer.Argument(metavar="RUN", help="The run's id.")],
    wait: Annotated[
        float,
        typer.Option(min=0, metavar="SECONDS", help="Poll this long while the run is pending or running."),
    ] = 0,
    interval: Annotated[float, typer.Option(min=0.1, metavar="SECONDS", help="Pause between polls.")] = 5,
    policy: Annotated[
        str | None,
        typer.Option(
            metavar="ID", help="Judge under this policy (an id or builtin:<name>), not the assigned one."
        ),
    ] = None,
    policy_version: Annotated[
        int | None, typer.Option(min=1, metavar="N", help="With --policy: this version.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="Judge the rules as they stood then (YYYY-MM-DD or RFC 3339)."),
    ] = None,
    output: Annotated[
        OutputFormat, typer.Option("--format", help="human: a summary; json: the API's JSON.")
    ] = OutputFormat.HUMAN,
    as_json: JsonFlag = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print nothing; the exit status is the answer.")
    ] = False,
) -> None:
    """Check a run's release gate: exit 0 if it passes, 1 if it fails, 2 if no verdict could be had.

    The verdict is judged under the run's assigned policy (--policy names another)
    and each rule's result is listed below it; --format json prints the API's JSON,
    results included. 1 means the gate failed, and each failing reason is printed. 2 means the
    question went unanswered: a usage error, an unknown run (a mistyped id), a
    server that is unreachable or failing, or a token that is missing or
    refused (401/403); the cause is one line on stderr.
    """
    mode = mode_of(as_json or output is OutputFormat.JSON, quiet)
    result = fetch_verdict(ctx, run_id, wait, interval, policy, policy_version, as_of)
    if mode is Mode.JSON:
        typer.echo(result.model_dump_json())
    elif mode is Mode.HUMAN:
        console().print(verdict_view(result))
    raise typer.Exit(PASSED if result.passed else FAILED)
