"""Portfolio queries over the component index: which runs contain a package, and
how two runs' SBOMs differ."""

from __future__ import annotations

from typing import Any

from maestro.components.sbom_diff import sbom_diff
from maestro.errors import ValidationFailed
from maestro.evidence.purl import split_purl
from maestro.models import ComponentMatch
from maestro.pagination import Cursor, Page
from maestro.platform.uow import UnitOfWork
from maestro.storage import evidence as evidence_store

__all__ = ["find_components", "sbom_diff"]


def find_components(
    uow: UnitOfWork,
    page: Page,
    *,
    purl: str | None = None,
    name: str | None = None,
    version: str | None = None,
) -> tuple[list[ComponentMatch], Cursor | None]:
    """``purl`` with a version matches that version; without one, any version."""
    session = uow.session
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
    rows = evidence_store.find_components(session, uow.tenant_id, page, **criteria)
    items = [ComponentMatch.model_validate(r, from_attributes=True) for r in rows[: page.limit]]
    after = Cursor(items[-1].created_at, items[-1].id) if len(rows) > page.limit else None
    return items, after
