"""Portfolio queries over the component index: which runs contain a package, and
how two runs' SBOMs differ."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy.orm import Session

from maestro import storage
from maestro.errors import RunNotFound, ValidationFailed
from maestro.evidence.purl import split_purl
from maestro.models import ComponentChange, ComponentMatch, ComponentRef, SbomDiff
from maestro.pagination import Cursor, Page
from maestro.storage import evidence as evidence_store


def find_components(
    session: Session,
    page: Page,
    *,
    purl: str | None = None,
    name: str | None = None,
    version: str | None = None,
) -> tuple[list[ComponentMatch], Cursor | None]:
    """``purl`` with a version matches that version; without one, any version."""
    if purl is None and name is None:
        raise ValidationFailed.for_field("purl", "give purl=, or name= (with an optional version=)")
    if purl is not None and (name is not None or version is not None):
        raise ValidationFailed.for_field(
            "purl", "combine purl= with nothing else (its version is part of it)"
        )
    criteria: dict[str, Any] = {}
    if purl is not None:
        if not purl.startswith("pkg:"):
            raise ValidationFailed.for_field("purl", "must be a package URL starting with 'pkg:'")
        base, purl_version = split_purl(purl)
        if "?" in purl or "#" in purl:
            criteria["purl"] = purl
        else:
            criteria["purl_base"] = base
            if purl_version is not None:
                criteria["version"] = purl_version
    else:
        criteria["name"] = name
        if version is not None:
            criteria["version"] = version
    rows = evidence_store.find_components(session, page, **criteria)
    items = [ComponentMatch.model_validate(r, from_attributes=True) for r in rows[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after


def _inventory(session: Session, run_id: str) -> dict[str, dict[str, Any]]:
    """key -> {name, purl, versions} for one run's indexed components."""
    if not storage.run_exists(session, run_id):
        raise RunNotFound(f"Run not found: {run_id}")
    found: dict[str, dict[str, Any]] = {}
    versions: dict[str, set[str]] = defaultdict(set)
    for row in evidence_store.components_of_run(session, run_id):
        key = row.purl_base or f"name:{row.name}"
        found.setdefault(key, {"name": row.name, "purl": row.purl})
        if row.version:
            versions[key].add(row.version)
    for key, entry in found.items():
        entry["versions"] = sorted(versions[key])
    return found


def _ref(key: str, entry: dict[str, Any]) -> ComponentRef:
    versions = entry["versions"]
    return ComponentRef(key=key, name=entry["name"], purl=entry["purl"], version=", ".join(versions) or None)


def sbom_diff(session: Session, base_run_id: str, head_run_id: str) -> SbomDiff:
    base = _inventory(session, base_run_id)
    head = _inventory(session, head_run_id)
    added = [_ref(k, head[k]) for k in sorted(head.keys() - base.keys())]
    removed = [_ref(k, base[k]) for k in sorted(base.keys() - head.keys())]
    changed = [
        ComponentChange(
            key=k, name=head[k]["name"], from_versions=base[k]["versions"], to_versions=head[k]["versions"]
        )
        for k in sorted(base.keys() & head.keys())
        if base[k]["versions"] != head[k]["versions"]
    ]
    unchanged = len(base.keys() & head.keys()) - len(changed)
    return SbomDiff(
        base_run_id=base_run_id,
        head_run_id=head_run_id,
        added=added,
        removed=removed,
        changed=changed,
        unchanged=unchanged,
    )
