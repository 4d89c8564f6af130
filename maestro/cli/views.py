"""How runs, artifacts and packs look to a person: summaries and tables (rich renderables).

Views are pure functions from a model to a renderable, so every command shows a
given kind of record the same way and ``--json`` stays the only format scripts
need to parse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from maestro.models import (
    Artifact,
    ArtifactMetadata,
    DisclosurePack,
    GateEvaluation,
    RuleStatus,
    Run,
    RunLineage,
    RunStatus,
    Severity,
)

_STATUS_STYLE = {
    RunStatus.PENDING: "yellow",
    RunStatus.RUNNING: "cyan",
    RunStatus.SUCCEEDED: "green",
    RunStatus.FAILED: "red",
    RunStatus.CANCELLED: "magenta",
}


def when(value: datetime | None) -> str:
    return value.isoformat(timespec="seconds") if value else "-"


def short_when(value: datetime) -> str:
    """Minutes are enough in a table row; the record view has the full time."""
    return value.strftime("%Y-%m-%d %H:%M")


def money(value: float | None) -> str:
    return f"{value:.2f}" if value is not None else "-"


def status(value: RunStatus) -> Text:
    return Text(value.value, style=_STATUS_STYLE[value])


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False) if value else "-"


def fields(title: str, rows: Sequence[tuple[str, str | Text]]) -> RenderableType:
    """A bold title over a two-column ``name  value`` block, the shape of every single-record view."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column(overflow="fold")
    for name, value in rows:
        grid.add_row(name, value)
    return Group(Text(title, style="bold"), grid)


def table(*columns: str) -> Table:
    result = Table(show_edge=False, pad_edge=False, header_style="bold")
    for name in columns:
        result.add_column(name, no_wrap=name in ("id", "run", "started", "created"), overflow="fold")
    return result


def flags(meta: ArtifactMetadata) -> str:
    """The declared flags, spelled out: ``sbom slsa risk`` or ``-``."""
    names = [
        name
        for name, present in (
            ("sbom", meta.sbom_present),
            ("slsa", meta.slsa_provenance_present),
            ("risk", meta.risk_assessment_present),
        )
        if present
    ]
    return " ".join(names) or "-"


def run_view(run: Run) -> RenderableType:
    return fields(
        f"Run {run.id}",
        [
            ("name", run.name),
            ("owner", run.owner),
            ("status", status(run.status)),
            ("started", when(run.started_at)),
            ("finished", when(run.finished_at)),
            ("cost", f"estimate {money(run.cost_estimate)}, actual {money(run.cost_actual)}"),
            ("entities", ", ".join(run.related_entity_ids) or "-"),
            ("decisions", ", ".join(run.related_decision_ids) or "-"),
            ("depends on", ", ".join(run.depends_on) or "-"),
            ("metadata", compact(run.metadata)),
        ],
    )


def lineage_view(lineage: RunLineage) -> RenderableType:
    """The runs found, nearest first; a note when the server listed only the first ones."""
    arrow = "depends on" if lineage.direction.value == "up" else "is depended on by"
    title = f"Run {lineage.run_id} {arrow} (depth {lineage.depth})"
    if not lineage.runs:
        return Group(Text(title, style="bold"), Text("(none)"))
    result = table("depth", "id", "name", "owner", "status", "depends on")
    for run in lineage.runs:
        result.add_row(
            str(run.depth), run.id, run.name, run.owner, status(run.status), ", ".join(run.depends_on) or "-"
        )
    parts: list[RenderableType] = [Text(title, style="bold"), result]
    if lineage.truncated:
        parts.append(Text(f"truncated: only the first {len(lineage.runs)} runs are listed", style="yellow"))
    return Group(*parts)


def verdicts_table(evaluations: Sequence[GateEvaluation]) -> RenderableType:
    """One row per recorded evaluation: when, the verdict, under which policy, what caused it."""
    result = table("evaluated", "verdict", "policy", "trigger", "blocking")
    for item in evaluations:
        policy = item.result.policy
        under = f"{policy.name} v{policy.version}" if policy is not None else "-"
        blocking = sum(
            1
            for r in item.result.results
            if r.status is RuleStatus.FAILED and r.severity is Severity.BLOCKING
        )
        verdict = Text("PASSED", style="green") if item.passed else Text("FAILED", style="red")
        result.add_row(short_when(item.evaluated_at), verdict, under, item.trigger, str(blocking))
    return result


def runs_table(runs: Sequence[Run]) -> RenderableType:
    result = table("id", "name", "owner", "status", "started", "cost")
    for run in runs:
        result.add_row(
            run.id,
            run.name,
            run.owner,
            status(run.status),
            short_when(run.started_at),
            money(run.cost_actual),
        )
    return result


def _content(artifact: Artifact) -> str:
    if artifact.content is None:
        return "not uploaded"
    verdict = ""
    if artifact.evidence is not None:
        verdict = f", {artifact.evidence.format}, {'valid' if artifact.evidence.valid else 'INVALID'}"
    return f"{artifact.content.size} bytes, {artifact.content.digest}{verdict}"


def _verified(artifact: Artifact) -> str:
    if artifact.evidence is None:
        return "-"
    found = artifact.evidence.verified
    names = [
        n
        for n, v in (("sbom", found.sbom), ("slsa", found.slsa_provenance), ("risk", found.risk_assessment))
        if v
    ]
    return " ".join(names) or "none"


def artifact_view(artifact: Artifact) -> RenderableType:
    rows: list[tuple[str, str | Text]] = [
        ("run", artifact.run_id),
        ("kind", artifact.kind.value),
        ("location", artifact.path_or_uri),
        ("content hash", artifact.content_hash or "-"),
        ("declared", flags(artifact.metadata_json)),
        ("verified", _verified(artifact)),
        ("content", _content(artifact)),
        ("created", when(artifact.created_at)),
    ]
    if artifact.metadata_json.additional_metadata:
        rows.append(("metadata", compact(artifact.metadata_json.additional_metadata)))
    if artifact.evidence is not None:
        rows.extend(("problem", f"{f.message}") for f in artifact.evidence.errors)
    return fields(f"Artifact {artifact.id}", rows)


def artifacts_table(artifacts: Sequence[Artifact]) -> RenderableType:
    result = table("id", "kind", "location", "declared", "verified")
    for item in artifacts:
        result.add_row(item.id, item.kind.value, item.path_or_uri, flags(item.metadata_json), _verified(item))
    return result


def pack_view(pack: DisclosurePack) -> RenderableType:
    return fields(
        f"Disclosure pack {pack.id}",
        [
            ("run", pack.run_id),
            ("summary", pack.summary or "-"),
            ("artifacts", ", ".join(pack.artifact_ids) or "-"),
            ("created", when(pack.created_at)),
            ("metadata", compact(pack.metadata)),
        ],
    )


def packs_table(packs: Sequence[DisclosurePack]) -> RenderableType:
    result = table("id", "run", "artifacts", "created", "summary")
    for pack in packs:
        result.add_row(
            pack.id, pack.run_id, str(len(pack.artifact_ids)), short_when(pack.created_at), pack.summary
        )
    return result


def stack(*parts: RenderableType) -> RenderableType:
    """Renderables one below the other with a blank line between them."""
    spaced: list[RenderableType] = []
    for part in parts:
        if spaced:
            spaced.append(Text(""))
        spaced.append(part)
    return Group(*spaced)
