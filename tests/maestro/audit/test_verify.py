"""``maestro.audit.verify`` on exports built in memory: any single edit, deletion or swap,
wherever hypothesis puts it, is reported at the index where it was made."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maestro.audit import merkle, signing_key
from maestro.audit.event import from_draft
from maestro.audit.verify import FORMAT, tenant_of, verify
from tests.maestro.audit_support import draft

SIZE = 23


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Any]:
    signer = signing_key.load(tmp_path_factory.mktemp("keys"), None, None)
    events = [from_draft(draft(n), "default", n, datetime(2026, 12, 2, tzinfo=UTC)) for n in range(SIZE)]
    note = signer.sign("default", SIZE, merkle.root([e.leaf_hash() for e in events]))
    items = [{"index": e.index, "leaf_hash": e.leaf_hash().hex(), "event": e.to_json()} for e in events]
    return {"format": FORMAT, "tenant_id": "default", "checkpoint": note, "events": items}, signer


FIELDS = st.sampled_from(["at", "action", "request_id", "state_sha256", "actor"])


@given(index=st.integers(0, SIZE - 1), name=FIELDS)
def test_an_edit_anywhere_is_found_at_its_index(
    signed: tuple[dict[str, Any], Any], index: int, name: str
) -> None:
    export, signer = copy.deepcopy(signed[0]), signed[1]
    event = export["events"][index]["event"]
    replacement = {
        "at": "2020-01-01T00:00:00.000Z",
        "action": "run.delete",
        "request_id": "forged",
        "state_sha256": "0" * 64,
        "actor": {"token_id": "tok_admin", "role": "admin"},
    }[name]
    if event[name] == replacement:
        return
    event[name] = replacement
    problem = verify(export, [signer.private.public_key()]).problem
    assert problem is not None
    assert (problem.kind, problem.index) == ("edited", index)


@given(index=st.integers(0, SIZE - 2))
def test_a_deletion_anywhere_but_the_end_is_found_at_its_index(
    signed: tuple[dict[str, Any], Any], index: int
) -> None:
    export, signer = copy.deepcopy(signed[0]), signed[1]
    del export["events"][index]
    problem = verify(export, [signer.private.public_key()]).problem
    assert problem is not None
    assert (problem.kind, problem.index) == ("deleted", index)


@given(pair=st.lists(st.integers(0, SIZE - 1), min_size=2, max_size=2, unique=True))
def test_a_swap_is_found_at_the_first_of_the_two(signed: tuple[dict[str, Any], Any], pair: list[int]) -> None:
    export, signer = copy.deepcopy(signed[0]), signed[1]
    first, second = sorted(pair)
    events = export["events"]
    events[first], events[second] = events[second], events[first]
    problem = verify(export, [signer.private.public_key()]).problem
    assert problem is not None
    assert (problem.kind, problem.index) == ("swapped", first)


def test_the_untouched_export_verifies(signed: tuple[dict[str, Any], Any], tmp_path: Path) -> None:
    report = verify(signed[0], [signed[1].private.public_key()])
    assert report.ok
    assert report.events == SIZE


@pytest.mark.parametrize(
    ("origin", "tenant"),
    [
        ("maestro.local/audit/default", "default"),
        ("a/b/audit/t-1", "t-1"),
        ("/audit/x", ""),
        ("x/audit/a/b", ""),
    ],
)
def test_tenant_of_reads_only_well_formed_origins(origin: str, tenant: str) -> None:
    assert tenant_of(origin) == tenant
