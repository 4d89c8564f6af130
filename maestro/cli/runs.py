"""``maestro runs``: create a run at the start of a pipeline, finish it at the end.

``runs create`` records the CI pipeline it runs in (see ``maestro.cli.ci``) so
a run can be traced to its commit and job log; ``--no-ci-context`` turns that off.
"""

from __future__ import annotations

import os
from enum import StrEnum
from typing import Annotated, Any

import typer

from maestro.cli import ci, views
from maestro.cli.output import JsonFlag, Mode, QuietFlag, emit, emit_list, mode_of
from maestro.cli.state import open_client, resolved
from maestro.cli.values import parse_pairs, parse_timestamp
from maestro.models import RunStatus

app = typer.Typer(help="Runs: create, inspect, update and finish them.", no_args_is_help=True)

RunArg = Annotated[str, typer.Argument(metavar="RUN", help="The run's id.")]
MetadataOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--metadata",
        metavar="KEY=VALUE",
        help="Metadata entry (repeatable); VALUE is JSON when it parses, else a string.",
    ),
]
CostActualOpt = Annotated[float | None, typer.Option(min=0, help="Actual cost in dollars.")]
DependsOnOpt = Annotated[
    list[str] | None,
    typer.Option("--depends-on", metavar="ID", help="A run this one depends on (repeatable)."),
]
FinishedAtOpt = Annotated[
    str | None, typer.Option(metavar="TIME", help="When it ended, ISO 8601 with zone (default: now).")
]


class Order(StrEnum):
    ASC = "asc"
    DESC = "desc"


def given(**values: Any) -> dict[str, Any]:
    """Only the options the user set: an omitted field must stay unset, not become null."""
    return {key: value for key, value in values.items() if value is not None}


@app.command("create")
def create_run(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="Human-readable name.")],
    owner: Annotated[
        str | None, typer.Option(help="Owner (default: MAESTRO_OWNER, config owner, else your login name).")
    ] = None,
    entity: Annotated[
        list[str] | None, typer.Option(help="Related IntelGraph entity id (repeatable).")
    ] = None,
    decision: Annotated[
        list[str] | None, typer.Option(help="Related IntelGraph decision id (repeatable).")
    ] = None,
    cost_estimate: Annotated[float | None, typer.Option(min=0, help="Estimated cost in dollars.")] = None,
    metadata: MetadataOpt = None,
    depends_on: DependsOnOpt = None,
    status: Annotated[RunStatus | None, typer.Option(help="Initial status (default: pending).")] = None,
    started_at: Annotated[
        str | None, typer.Option(metavar="TIME", help="Real start of a run recorded later (default: now).")
    ] = None,
    no_ci_context: Annotated[
        bool, typer.Option("--no-ci-context", help="Do not record the CI pipeline in metadata.ci.")
    ] = False,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Create a run; inside GitHub Actions or GitLab CI, metadata.ci names the pipeline."""
    mode = mode_of(as_json, quiet)
    owner = owner or resolved(ctx).owner.value
    if not owner:
        raise typer.BadParameter("no owner: pass --owner or set MAESTRO_OWNER", param_hint="--owner")
    pipeline = None if no_ci_context else ci.detect(os.environ)
    extra = ({"ci": pipeline} if pipeline else {}) | parse_pairs(metadata)
    fields = given(
        name=name,
        owner=owner,
        status=status,
        cost_estimate=cost_estimate,
        started_at=parse_timestamp(started_at, "--started-at"),
        related_entity_ids=entity or None,
        related_decision_ids=decision or None,
        metadata=extra or None,
        depends_on=depends_on or None,
    )
    with open_client(ctx) as client:
        run = client.create_run(**fields)
    emit(run, mode, views.run_view)


@app.command("get")
def get_run(ctx: typer.Context, run_id: RunArg, as_json: JsonFlag = False, quiet: QuietFlag = False) -> None:
    """Show one run."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        run = client.get_run(run_id)
    emit(run, mode, views.run_view)


@app.command("list")
def list_runs(
    ctx: typer.Context,
    owner: Annotated[str | None, typer.Option(help="Only runs of this owner.")] = None,
    status: Annotated[RunStatus | None, typer.Option(help="Only runs in this status.")] = None,
    entity: Annotated[str | None, typer.Option(help="Only runs linked to this entity id.")] = None,
    decision: Annotated[str | None, typer.Option(help="Only runs linked to this decision id.")] = None,
    started_after: Annotated[str | None, typer.Option(metavar="TIME", help="Started at or after.")] = None,
    started_before: Annotated[str | None, typer.Option(metavar="TIME", help="Started before.")] = None,
    order: Annotated[Order, typer.Option(help="desc: newest first; asc: oldest first.")] = Order.DESC,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many runs.")] = 50,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """List runs matching every filter given, newest first unless --order asc."""
    mode = mode_of(as_json, quiet)
    filters = given(
        owner=owner,
        status=status,
        entity_id=entity,
        decision_id=decision,
        started_after=parse_timestamp(started_after, "--started-after"),
        started_before=parse_timestamp(started_before, "--started-before"),
    )
    with open_client(ctx) as client:
        emit_list(client.list_runs(order=order.value, limit=limit, **filters), mode, views.runs_table)


@app.command("update")
def update_run(
    ctx: typer.Context,
    run_id: RunArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    status: Annotated[RunStatus | None, typer.Option(help="New status.")] = None,
    cost_estimate: Annotated[float | None, typer.Option(min=0, help="Estimated cost in dollars.")] = None,
    cost_actual: CostActualOpt = None,
    metadata: MetadataOpt = None,
    finished_at: FinishedAtOpt = None,
    depends_on: Annotated[
        list[str] | None,
        typer.Option(
            "--depends-on", metavar="ID", help="Replace its dependencies with these runs (repeatable)."
        ),
    ] = None,
    no_depends_on: Annotated[
        bool, typer.Option("--no-depends-on", help="Remove all its dependencies.")
    ] = False,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Change a run; --metadata merges into its metadata (KEY=null deletes KEY)."""
    if depends_on and no_depends_on:
        raise typer.BadParameter("choose --depends-on or --no-depends-on", param_hint="--depends-on")
    mode = mode_of(as_json, quiet)
    fields = given(
        name=name,
        status=status,
        cost_estimate=cost_estimate,
        cost_actual=cost_actual,
        metadata=parse_pairs(metadata) or None,
        finished_at=parse_timestamp(finished_at, "--finished-at"),
        depends_on=[] if no_depends_on else depends_on or None,
    )
    if not fields:
        raise typer.BadParameter("nothing to update: give at least one option", param_hint="options")
    with open_client(ctx) as client:
        run = client.update_run(run_id, **fields)
    emit(run, mode, views.run_view)


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"


@app.command("lineage")
def show_lineage(
    ctx: typer.Context,
    run_id: RunArg,
    direction: Annotated[
        Direction, typer.Option(help="up: the runs it depends on; down: the runs that depend on it.")
    ] = Direction.UP,
    depth: Annotated[int, typer.Option(min=1, max=50, help="Dependency hops to follow.")] = 10,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Show the runs a run depends on (or that depend on it), nearest first."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        lineage = client.lineage(run_id, direction=direction.value, depth=depth)
    if mode is Mode.QUIET:
        for run in lineage.runs:
            typer.echo(run.id)
        return
    emit(lineage, mode, views.lineage_view)


@app.command("verdicts")
def list_verdicts(
    ctx: typer.Context,
    run_id: RunArg,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many evaluations.")] = 20,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """List a run's recorded gate evaluations, newest first: each change of verdict or input.

    --json prints each with its result and signed VSA (a DSSE envelope); -q prints their ids."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        emit_list(client.gate_evaluations(run_id, limit=limit), mode, views.verdicts_table)


@app.command("start")
def start_run(
    ctx: typer.Context, run_id: RunArg, as_json: JsonFlag = False, quiet: QuietFlag = False
) -> None:
    """Mark a pending run as running."""
    mode = mode_of(as_json, quiet)
    with open_client(ctx) as client:
        run = client.start_run(run_id)
    emit(run, mode, views.run_view)


def final_status(status: RunStatus | None, failed: bool, cancelled: bool) -> RunStatus:
    """The one terminal status the finish options ask for (succeeded when none does)."""
    flagged = (status, RunStatus.FAILED if failed else None, RunStatus.CANCELLED if cancelled else None)
    chosen = [choice for choice in flagged if choice is not None]
    if len(chosen) > 1:
        raise typer.BadParameter("choose one of --status, --failed and --cancelled", param_hint="--status")
    result = chosen[0] if chosen else RunStatus.SUCCEEDED
    if not result.is_terminal:
        raise typer.BadParameter(f"{result.value} is not a final status", param_hint="--status")
    return result


@app.command("finish")
def finish_run(
    ctx: typer.Context,
    run_id: RunArg,
    status: Annotated[RunStatus | None, typer.Option(help="Final status (default: succeeded).")] = None,
    failed: Annotated[bool, typer.Option("--failed", help="Finish as failed.")] = False,
    cancelled: Annotated[bool, typer.Option("--cancelled", help="Finish as cancelled.")] = False,
    cost_actual: CostActualOpt = None,
    metadata: MetadataOpt = None,
    finished_at: FinishedAtOpt = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Finish a run: succeeded unless --failed, --cancelled or --status says otherwise."""
    mode = mode_of(as_json, quiet)
    final = final_status(status, failed, cancelled)
    fields = given(
        cost_actual=cost_actual,
        metadata=parse_pairs(metadata) or None,
        finished_at=parse_timestamp(finished_at, "--finished-at"),
    )
    with open_client(ctx) as client:
        run = client.finish_run(run_id, final, **fields)
    emit(run, mode, views.run_view)
