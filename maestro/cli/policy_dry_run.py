"""``maestro policies dry-run``: which past runs a candidate version would judge
differently, before anyone assigns it (registered on ``maestro.cli.policies.app``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from maestro.cli.output import JsonFlag, console
from maestro.cli.runs import given
from maestro.cli.state import open_client
from maestro.cli.values import parse_timestamp
from maestro.models import RunStatus

if TYPE_CHECKING:
    from rich.console import RenderableType

    from maestro.policies.dry_run import DryRunResult


def _verdict(passed: bool) -> str:
    return "[green]passes[/green]" if passed else "[bold red]fails[/bold red]"


def dry_run_view(result: DryRunResult) -> RenderableType:
    """A line of counts, then one row per changed run with the rules that change it."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    p = result.policy
    head = Text(
        f"{p.name} v{p.version}: {result.changed_total} of {result.considered} run(s) would change verdict"
        + (f" (showing {len(result.changed)})" if len(result.changed) < result.changed_total else "")
        + ("; more runs match (--cursor " + (result.next_cursor or "") + ")" if result.truncated else "")
    )
    if not result.changed:
        return head
    table = Table("run", "now", "candidate", "rules that change it")
    for change in result.changed:
        now = change.current
        rules = Text("\n").join(
            Text(f"{r.rule}: {r.current_status or '-'} -> {r.candidate_status or '-'}") for r in change.rules
        )
        table.add_row(
            change.run_id,
            f"{_verdict(now.passed)} ({now.policy.name} v{now.policy.version})",
            _verdict(change.candidate.passed),
            rules,
        )
    return Group(head, table)


def dry_run_policy(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="The policy's id (or builtin:<name>).")],
    version: Annotated[
        int | None, typer.Option(min=1, help="The candidate version (default: newest).")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="Only runs of this owner.")] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only runs linked to this entity id.")] = None,
    decision: Annotated[str | None, typer.Option(help="Only runs linked to this decision id.")] = None,
    started_after: Annotated[str | None, typer.Option(metavar="TIME", help="Started at or after.")] = None,
    started_before: Annotated[str | None, typer.Option(metavar="TIME", help="Started before.")] = None,
    limit: Annotated[
        int | None, typer.Option(min=1, help="Consider at most this many runs (server default 10000).")
    ] = None,
    max_changed: Annotated[
        int | None, typer.Option(min=1, help="List at most this many changed runs (default 100).")
    ] = None,
    cursor: Annotated[str | None, typer.Option(help="Go on from a truncated answer's next_cursor.")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Show the past runs whose verdict a policy version would change, and the rules that change it."""
    filters = given(
        owner=owner,
        status=status,
        entity_id=entity,
        decision_id=decision,
        started_after=parse_timestamp(started_after, "--started-after"),
        started_before=parse_timestamp(started_before, "--started-before"),
    )
    with open_client(ctx) as client:
        result = client.dry_run_policy(
            policy_id, version=version, limit=limit, max_changed=max_changed, cursor=cursor, **filters
        )
    if as_json:
        typer.echo(result.model_dump_json())
    else:
        console().print(dry_run_view(result))
