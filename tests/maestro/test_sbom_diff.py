"""sbom-diff streamed from one ordered merge pass gives the same answer as the
whole-inventory comparison it replaced, on both databases, for any components
(including keys whose order differs between collations and code points)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.db.engine import Database
from maestro.ids import uuid7
from maestro.storage import evidence as evidence_store

Component = tuple[str | None, str, str | None]  # purl_base, name, version

components = st.lists(
    st.tuples(
        st.sampled_from([None, "pkg:pypi/a", "pkg:pypi/B", "pkg:npm/%40x/y", "pkg:pypi/é", "pkg:pypi/Z"]),
        st.sampled_from(["a", "b", "B", "é", "_z", "a b"]),
        st.sampled_from([None, "", "1.0", "1.10", "2.0"]),
    ),
    max_size=25,
)


def reference(base: list[Component], head: list[Component]) -> dict[str, Any]:
    """The diff as the original implementation defined it: whole inventories, sorted keys."""

    def inventory(rows: list[Component]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        versions: dict[str, set[str]] = defaultdict(set)
        for purl_base, name, version in rows:
            key = purl_base or f"name:{name}"
            found.setdefault(key, {"name": name})
            if version:
                versions[key].add(version)
        for key, entry in found.items():
            entry["versions"] = sorted(versions[key])
        return found

    b, h = inventory(base), inventory(head)
    return {
        "added": [(k, ", ".join(h[k]["versions"]) or None) for k in sorted(h.keys() - b.keys())],
        "removed": [(k, ", ".join(b[k]["versions"]) or None) for k in sorted(b.keys() - h.keys())],
        "changed": [
            (k, b[k]["versions"], h[k]["versions"])
            for k in sorted(b.keys() & h.keys())
            if b[k]["versions"] != h[k]["versions"]
        ],
        "unchanged": sum(1 for k in b.keys() & h.keys() if b[k]["versions"] == h[k]["versions"]),
    }


def _seed(db: Database, run_id: str, artifact_id: str, rows: list[Component]) -> None:
    now = datetime.now(UTC)
    values = [
        {
            "id": uuid7(),
            "artifact_id": artifact_id,
            "run_id": run_id,
            "purl": f"{purl_base}@{version}" if purl_base and version else purl_base,
            "purl_base": purl_base,
            "name": name,
            "version": version,
            "hashes": {},
            "licenses": [],
            "created_at": now,
        }
        for purl_base, name, version in rows
    ]
    digest = "sha256:" + "0" * 64  # the index shows only artifacts with content attached
    with db.write() as session:
        evidence_store.lease_blob(session, digest, 0, now, now)
        evidence_store.set_artifact_content(
            session, artifact_id, {"content_digest": digest, "content_size": 0}
        )
        evidence_store.insert_components(session, values)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(base=components, head=components)
def test_streamed_diff_matches_the_reference(
    client: TestClient,
    maestro_store: Database,
    make_run: Callable[..., Any],
    make_artifact: Callable[..., Any],
    base: list[Component],
    head: list[Component],
) -> None:
    runs = []
    for rows in (base, head):
        run_id = make_run()["id"]
        _seed(maestro_store, run_id, make_artifact(run_id)["id"], rows)
        runs.append(run_id)
    response = client.get(f"/maestro/runs/{runs[0]}/sbom-diff/{runs[1]}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    diff = response.json()
    assert list(diff) == ["base_run_id", "head_run_id", "added", "removed", "changed", "unchanged"]
    assert (diff["base_run_id"], diff["head_run_id"]) == tuple(runs)
    got = {
        "added": [(r["key"], r["version"]) for r in diff["added"]],
        "removed": [(r["key"], r["version"]) for r in diff["removed"]],
        "changed": [(r["key"], r["from_versions"], r["to_versions"]) for r in diff["changed"]],
        "unchanged": diff["unchanged"],
    }
    assert got == reference(base, head)


def test_diff_of_a_missing_run_is_404_before_any_byte(
    client: TestClient, make_run: Callable[..., Any]
) -> None:
    run_id = make_run()["id"]
    for path in (f"{run_id}/sbom-diff/nope", f"nope/sbom-diff/{run_id}"):
        response = client.get(f"/maestro/runs/{path}")
        assert response.status_code == 404
        assert response.json()["error"] == "run_not_found"
        assert "nope" in response.json()["detail"]
