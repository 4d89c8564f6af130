"""``maestro policies``: release policies and which runs each one judges.

``create`` makes a policy or, for a name that exists, its next version (the same
content answers the newest version unchanged). ``assign`` makes it the tenant's
default, an owner's, or that of runs whose metadata matches; the precedence is in
docs/policies.md. ``maestro gate RUN --policy ID`` tries a policy on a run first.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import RenderableType
from rich.table import Table

from maestro.cli.output import JsonFlag, QuietFlag, emit, emit_list, mode_of
from maestro.cli.state import open_client
from maestro.cli.values import parse_pairs
from maestro.cli.views import when
from maestro.models import Severity
from maestro.policies.contract import Policy, PolicyAssignment

app = typer.Typer(help="Release policies: create, version, list and assign them.", no_args_is_help=True)


def _rule(text: str) -> dict[str, Any]:
    """``RULE[:SEVERITY][@YYYY-MM-DD]``, e.g. ``risk-no-open-high:advisory@2027-01-15``."""
    head, _, effective_on = text.partition("@")
    rule, _, severity = head.partition(":")
    setting: dict[str, Any] = {"rule": rule}
    if severity:
        setting["severity"] = severity
    if effective_on:
        setting["effective_on"] = effective_on
    return setting


def policy_view(policy: Policy) -> RenderableType:
    table = Table(show_header=False, box=None)
    what = policy.builtin if policy.kind.value == "builtin" else "rego module"
    for label, value in (
        ("policy", f"{policy.name} v{policy.version} ({policy.id})"),
        ("kind", f"{policy.kind.value}: {what}"),
        ("digest", policy.digest),
        ("default severity", policy.default_severity.value if policy.default_severity else "(tenant's)"),
        ("created", when(policy.created_at)),
    ):
        table.add_row(label, value)
    for setting in policy.rules:
        severity = setting.severity.value if setting.severity else "-"
        table.add_row(
            "rule", f"{setting.rule}  severity {severity}  effective_on {setting.effective_on or '-'}"
        )
    return table


def policies_table(policies: Sequence[Policy]) -> RenderableType:
    table = Table("id", "name", "version", "kind", "digest")
    for p in policies:
        table.add_row(p.id, p.name, str(p.version), p.builtin or p.kind.value, p.digest[:19])
    return table


def assignments_table(assignments: Sequence[PolicyAssignment]) -> RenderableType:
    table = Table("id", "scope", "applies to", "policy", "version")
    for a in assignments:
        target = a.owner or (", ".join(f"{k}={v}" for k, v in (a.metadata or {}).items())) or "(every run)"
        table.add_row(a.id, a.scope.value, target, a.policy_id, str(a.policy_version or "newest"))
    return table


def assignment_view(assignment: PolicyAssignment) -> RenderableType:
    return assignments_table([assignment])


@app.command("create")
def create_policy(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The policy's name; an existing name gets a new version.")],
    builtin: Annotated[
        str | None, typer.Option(help="A built-in policy: seed-default or verified-evidence.")
    ] = None,
    rego: Annotated[
        Path | None, typer.Option(exists=True, dir_okay=False, readable=True, help="A Rego module file.")
    ] = None,
    default_severity: Annotated[
        Severity | None, typer.Option(help="For rules without one (default: the tenant's).")
    ] = None,
    rule: Annotated[
        list[str] | None,
        typer.Option(
            metavar="RULE[:SEVERITY][@DATE]",
            help="A rule's severity and start date; repeat. Lists an optional built-in rule to turn it on.",
        ),
    ] = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Create a policy, or the next version of one."""
    if (builtin is None) == (rego is None):
        raise typer.BadParameter("give --builtin or --rego, one of them", param_hint="--builtin/--rego")
    body: dict[str, Any] = {"name": name, "rules": [_rule(r) for r in rule or []]}
    if builtin is not None:
        body |= {"kind": "builtin", "builtin": builtin}
    else:
        assert rego is not None
        body |= {"kind": "rego", "module": rego.read_text()}
    if default_severity is not None:
        body["default_severity"] = default_severity
    with open_client(ctx) as client:
        policy = client.create_policy(**body)
    emit(policy, mode_of(as_json, quiet), policy_view)


@app.command("list")
def list_policies(ctx: typer.Context, as_json: JsonFlag = False, quiet: QuietFlag = False) -> None:
    """The newest version of each policy."""
    with open_client(ctx) as client:
        emit_list(client.list_policies(), mode_of(as_json, quiet), policies_table)


@app.command("get")
def get_policy(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="A policy id, or builtin:<name>.")],
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """A policy's newest version."""
    with open_client(ctx) as client:
        emit(client.get_policy(policy_id), mode_of(as_json, quiet), policy_view)


@app.command("versions")
def policy_versions(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="A policy id.")],
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Every version of a policy, oldest first."""
    with open_client(ctx) as client:
        emit_list(client.policy_versions(policy_id), mode_of(as_json, quiet), policies_table)


@app.command("assign")
def assign_policy(
    ctx: typer.Context,
    policy_id: Annotated[str, typer.Argument(metavar="ID", help="The policy to assign.")],
    owner: Annotated[str | None, typer.Option(help="Only runs of this owner.")] = None,
    match: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY=VALUE", help="Only runs whose metadata has KEY=VALUE; repeat."),
    ] = None,
    version: Annotated[
        int | None, typer.Option(min=1, help="Pin this version (default: the newest).")
    ] = None,
    default_severity: Annotated[
        Severity | None, typer.Option(help="Tenant default only: the severity of rules no policy gives one.")
    ] = None,
    as_json: JsonFlag = False,
    quiet: QuietFlag = False,
) -> None:
    """Assign a policy: without --owner or --match, the tenant's default."""
    body: dict[str, Any] = {"policy_id": policy_id}
    metadata = parse_pairs(match, "--match")
    for key, value in (("owner", owner), ("metadata", metadata or None), ("policy_version", version)):
        if value is not None:
            body[key] = value
    if default_severity is not None:
        body["default_severity"] = default_severity
    with open_client(ctx) as client:
        assignment = client.assign_policy(**body)
    emit(assignment, mode_of(as_json, quiet), assignment_view)


@app.command("assignments")
def list_assignments(ctx: typer.Context, as_json: JsonFlag = False, quiet: QuietFlag = False) -> None:
    """Every policy assignment of the tenant."""
    with open_client(ctx) as client:
        emit_list(client.list_policy_assignments(), mode_of(as_json, quiet), assignments_table)


@app.command("unassign")
def unassign_policy(
    ctx: typer.Context,
    assignment_id: Annotated[str, typer.Argument(metavar="ID", help="The assignment's id.")],
) -> None:
    """Remove an assignment (its runs fall back to the next in precedence)."""
    with open_client(ctx) as client:
        client.delete_policy_assignment(assignment_id)
    typer.echo(f"removed assignment {assignment_id}")
