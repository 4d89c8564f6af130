"""The pure parts of the audit log: canonical events and the stored-subtree arithmetic."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from maestro.audit import merkle, ranges
from maestro.audit.event import Actor, AuditEvent, EventError, ObjectRef, parse

LEAVES = [hashlib.sha256(n.to_bytes(4, "big")).digest() for n in range(300)]


def _event(**changes: object) -> AuditEvent:
    fields: dict[str, object] = {
        "tenant_id": "default",
        "index": 7,
        "at": datetime(2026, 12, 2, 6, 10, 57, 123456, tzinfo=UTC),
        "actor": Actor("tok_1", "writer"),
        "action": "run.create",
        "object": ObjectRef("run", "r-1"),
        "request_id": "req-1",
        "state_sha256": "ab" * 32,
        "status": None,
    }
    return AuditEvent(**{**fields, **changes})  # type: ignore[arg-type]


def test_canonical_bytes_are_rfc8785_of_the_json_and_the_leaf_is_prefixed() -> None:
    event = _event()
    assert event.canonical() == rfc8785.dumps(event.to_json())
    assert event.canonical().startswith(
        b'{"action":"run.create","actor":{"role":"writer","token_id":"tok_1"}'
    )
    assert event.to_json()["at"] == "2026-12-02T06:10:57.123Z"
    assert event.leaf_hash() == merkle.leaf_hash(event.canonical())


def test_the_same_instant_in_another_zone_gives_the_same_bytes() -> None:
    local = datetime(2026, 12, 2, 7, 10, 57, 123999, tzinfo=timezone(timedelta(hours=1)))
    assert _event(at=local).canonical() == _event().canonical()


def test_parse_round_trips_and_rejects_extra_fields() -> None:
    event = _event(object=None, status=403, action="auth.denied", state_sha256=None)
    assert parse(event.to_json()) == event
    with pytest.raises(EventError, match="unexpected or missing"):
        parse({**event.to_json(), "extra": 1})
    with pytest.raises(EventError, match="RFC 3339"):
        parse({**event.to_json(), "at": "2026-12-02T06:10:57Z"})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"index": -1}, "index"),
        ({"index": True}, "index"),
        ({"action": "Run Create"}, "action"),
        ({"state_sha256": "AB" * 32}, "state_sha256"),
        ({"status": 99}, "status"),
        ({"tenant_id": ""}, "tenant_id"),
        ({"object": ObjectRef("run", "x" * 257)}, "object.id"),
        ({"at": datetime(2026, 1, 1)}, "timezone-aware"),
    ],
)
def test_invalid_fields_are_refused_naming_the_field(changes: dict[str, object], message: str) -> None:
    with pytest.raises(EventError, match=message):
        _event(**changes)


@given(st.integers(0, 300), st.lists(st.integers(1, 40), max_size=8))
def test_appends_in_any_batches_give_merkle_roots_and_true_subtrees(size: int, batches: list[int]) -> None:
    frontier, _ = ranges.append(0, [], LEAVES[:size])
    done = size
    for count in batches:
        count = min(count, len(LEAVES) - done)
        frontier, nodes = ranges.append(done, frontier, LEAVES[done : done + count])
        for level, idx, value in nodes:
            assert value == merkle.root(LEAVES[idx << level : (idx + 1) << level])
            assert (idx + 1) << level <= done + count
        done += count
        assert ranges.fold(frontier) == merkle.root(LEAVES[:done])


@given(st.data())
def test_proof_ranges_name_the_subtrees_merkle_proves_with(data: st.DataObject) -> None:
    size = data.draw(st.integers(1, 300))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))

    def range_root(span: tuple[int, int]) -> bytes:
        covered = [merkle.root(LEAVES[i << lv : (i + 1) << lv]) for lv, i in ranges.cover(*span)]
        return ranges.fold(covered)

    proof = [range_root(span) for span in ranges.inclusion_ranges(index, size)]
    assert proof == merkle.inclusion_proof(LEAVES[:size], index)
    consistency = [range_root(span) for span in ranges.consistency_ranges(old, size)]
    assert consistency == merkle.consistency_proof(LEAVES[:size], old)


def test_cover_uses_log_n_subtrees() -> None:
    assert ranges.cover(0, 300) == [(8, 0), (5, 8), (3, 36), (2, 74)]
    assert len(ranges.cover(256, 299)) <= 9


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(merkle.ProofError, match="frontier"):
        ranges.append(3, [LEAVES[0]], [LEAVES[1]])
