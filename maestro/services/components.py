"""Portfolio queries over the component index: which runs contain a package, and
how two runs' SBOMs differ."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy.orm import Session

from maestro import storage
from maestro.errors import RunNotFound, ValidationFailed
from maestro.evidence.purl import split_purl
from maestro.models import ComponentMatch
from maestro.pagination import Cursor, Page
from maestro.storage import evidence as evidence_store
from maestro.storage import evidence_views as views_store


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


_SPOOL_IN_MEMORY = 1 << 20
_CHUNK = 1 << 16


class _JsonArray:
    """A JSON array written item by item to a temporary file that stays in memory only
    while small, so a diff of 500k components holds its answer on disk, not in RAM."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        self.empty = True

    def append(self, item: dict[str, Any]) -> None:
        self.file.write(orjson.dumps(item) if self.empty else b"," + orjson.dumps(item))
        self.empty = False

    def chunks(self) -> Iterator[bytes]:
        self.file.seek(0)
        yield b"["
        while chunk := self.file.read(_CHUNK):
            yield chunk
        yield b"]"


@dataclass(slots=True)
class _Side:
    """What one run has under one key: present at all, its first name and purl, its versions."""

    present: bool = False
    name: str = ""
    purl: str | None = None
    versions: set[str] = field(default_factory=set)

    def add(self, name: str, purl: str | None, version: str | None) -> None:
        if not self.present:
            self.present, self.name, self.purl = True, name, purl
        if version:
            self.versions.add(version)

    def ref(self, key: str) -> dict[str, Any]:
        """A ComponentRef, in its field order."""
        return {
            "key": key,
            "name": self.name,
            "version": ", ".join(sorted(self.versions)) or None,
            "purl": self.purl,
        }


@dataclass(slots=True)
class _Diff:
    base_run_id: str
    head_run_id: str
    added: _JsonArray = field(default_factory=_JsonArray)
    removed: _JsonArray = field(default_factory=_JsonArray)
    changed: _JsonArray = field(default_factory=_JsonArray)
    unchanged: int = 0

    def settle(self, key: str, base: _Side, head: _Side) -> None:
        """File one key under added, removed, changed or unchanged."""
        if not base.present:
            self.added.append(head.ref(key))
        elif not head.present:
            self.removed.append(base.ref(key))
        elif base.versions != head.versions:
            self.changed.append(
                {
                    "key": key,
                    "name": head.name,
                    "from_versions": sorted(base.versions),
                    "to_versions": sorted(head.versions),
                }
            )
        else:
            self.unchanged += 1

    def chunks(self) -> Iterator[bytes]:
        """The SbomDiff document, field by field; the temporary files close at the end."""
        try:
            ids = orjson.dumps(self.base_run_id), orjson.dumps(self.head_run_id)
            yield b'{"base_run_id":%b,"head_run_id":%b,"added":' % ids
            yield from self.added.chunks()
            yield b',"removed":'
            yield from self.removed.chunks()
            yield b',"changed":'
            yield from self.changed.chunks()
            yield b',"unchanged":%d}' % self.unchanged
        finally:
            for array in (self.added, self.removed, self.changed):
                array.file.close()


def sbom_diff(session: Session, base_run_id: str, head_run_id: str) -> Iterator[bytes]:
    """The SbomDiff of two runs as JSON chunks, computed in one merge pass over both runs'
    components ordered by key (bounded memory: one key's versions at a time)."""
    for run_id in (base_run_id, head_run_id):
        if not storage.run_exists(session, run_id):
            raise RunNotFound(f"Run not found: {run_id}")
    diff = _Diff(base_run_id, head_run_id)
    key: str | None = None
    sides = (_Side(), _Side())
    for row in views_store.diff_rows(session, base_run_id, head_run_id):
        if row.key != key:
            if key is not None:
                diff.settle(key, *sides)
            key, sides = row.key, (_Side(), _Side())
        sides[row.side].add(row.name, row.purl, row.version)
    if key is not None:
        diff.settle(key, *sides)
    return diff.chunks()
