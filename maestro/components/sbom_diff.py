"""How two runs' SBOMs differ, in one pass and bounded memory.

Each run's indexed components come from the database as a stream in the order
of an index on (run_id, diff_key) - the key is the purl without version, or
``name:<name>``, compared by byte (code point) order on both databases, as
Python compares str - and the two streams are merged here, so no database sorts
anything and each key is settled as soon as both streams move past it, holding
one key's rows at a time. The three answer lists are written to temporary files
that stay in memory only while small, then streamed as one JSON document with
the SbomDiff shape.

At 500k components per side the old whole-inventory comparison cost 25 s and
+727 MiB, and one UNION ALL sorted by the database ~14 s; see bench/sbom_diff.py
for today's figures.
"""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import orjson

from maestro import storage
from maestro.errors import RunNotFound
from maestro.platform.scope import Scope
from maestro.storage import evidence_views as views_store

_SPOOL_IN_MEMORY = 1 << 20
_CHUNK = 1 << 16
_FLUSH_ITEMS = 1000


class _JsonArray:
    """The members of a JSON array, serialised as they come and kept in a temporary file."""

    def __init__(self) -> None:
        self.file = tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY)  # noqa: SIM115
        self.pending: list[dict[str, Any]] = []
        self.written = 0

    def append(self, item: dict[str, Any]) -> None:
        self.pending.append(item)
        if len(self.pending) >= _FLUSH_ITEMS:
            self.flush()

    def flush(self) -> None:
        """Serialise the pending items as one array (one call, not one per item) and
        keep its members."""
        if self.pending:
            self.file.write(b"," if self.written else b"")
            self.file.write(orjson.dumps(self.pending)[1:-1])
            self.written += len(self.pending)
            self.pending.clear()

    def chunks(self) -> Iterator[bytes]:
        self.flush()
        self.file.seek(0)
        yield b"["
        while chunk := self.file.read(_CHUNK):
            yield chunk
        yield b"]"


class DiffStream:
    """A computed diff, ready to stream: ``chunks()`` yields the JSON; ``close()`` (also run
    when the chunks are exhausted) drops the temporary files, whether or not it was sent."""

    def __init__(self, base_run_id: str, head_run_id: str) -> None:
        self.ids = orjson.dumps(base_run_id), orjson.dumps(head_run_id)
        self.added, self.removed, self.changed = _JsonArray(), _JsonArray(), _JsonArray()
        self.unchanged = 0

    def chunks(self) -> Iterator[bytes]:
        """The SbomDiff document, field by field; the temporary files close at the end."""
        try:
            yield b'{"base_run_id":%b,"head_run_id":%b,"added":' % self.ids
            yield from self.added.chunks()
            yield b',"removed":'
            yield from self.removed.chunks()
            yield b',"changed":'
            yield from self.changed.chunks()
            yield b',"unchanged":%d}' % self.unchanged
        finally:
            self.close()

    def close(self) -> None:
        for array in (self.added, self.removed, self.changed):
            array.file.close()


Group = tuple[str, str, str | None, list[str]]  # key, name, purl, versions


def _groups(rows: Iterable[Sequence[Any]]) -> Iterator[Group]:
    """One run's (diff_key, name, purl, version) rows in key order, one group per key.
    Nearly every key has one row, so that case builds its group inline (this loop runs
    a million times per 500k-per-side diff)."""
    group: list[Sequence[Any]] = []
    key: str | None = None
    for row in rows:
        if row[0] == key:
            group.append(row)
            continue
        if len(group) == 1:
            only = group[0]
            yield only[0], only[1], only[2], [only[3]] if only[3] else []
        elif group:
            yield _group(group)
        key, group = row[0], [row]
    if group:
        yield _group(group)


def _version_order(row: Sequence[Any]) -> tuple[bool, str]:
    return row[3] is None, row[3] or ""


def _group(rows: list[Sequence[Any]]) -> Group:
    """A key's name and purl from its lowest version (one without a version last), and its
    distinct non-empty versions in code point order."""
    key, name, purl, _ = min(rows, key=_version_order)
    return key, name, purl, sorted({row[3] for row in rows if row[3]})


def _only(group: Group) -> dict[str, Any]:
    key, name, purl, versions = group
    return {"key": key, "name": name, "version": ", ".join(versions) or None, "purl": purl}


def _merge(base: Iterator[Group], head: Iterator[Group], diff: DiffStream) -> None:
    """Walk both runs' key-ordered groups side by side, filing each key once, in key order,
    under removed (base only), added (head only), changed or unchanged."""
    added, removed, changed = diff.added.append, diff.removed.append, diff.changed.append
    b, h = next(base, None), next(head, None)
    while b is not None and h is not None:
        if b[0] < h[0]:
            removed(_only(b))
            b = next(base, None)
        elif h[0] < b[0]:
            added(_only(h))
            h = next(head, None)
        else:
            if b[3] != h[3]:
                changed({"key": h[0], "name": h[1], "from_versions": b[3], "to_versions": h[3]})
            else:
                diff.unchanged += 1
            b, h = next(base, None), next(head, None)
    for group in itertools.chain([] if b is None else [b], base):
        removed(_only(group))
    for group in itertools.chain([] if h is None else [h], head):
        added(_only(group))


def sbom_diff(scope: Scope, base_run_id: str, head_run_id: str) -> DiffStream:
    """The SbomDiff of two runs, ready to stream; a missing run raises before any work."""
    for run_id in (base_run_id, head_run_id):
        if not storage.run_exists(scope, run_id):
            raise RunNotFound(f"Run not found: {run_id}")
    diff = DiffStream(base_run_id, head_run_id)
    try:
        _merge(
            _groups(views_store.run_diff_rows(scope.session, base_run_id)),
            _groups(views_store.run_diff_rows(scope.session, head_run_id)),
            diff,
        )
    except BaseException:
        diff.close()
        raise
    return diff
