"""Random edits of a small run graph through the API: a cycle never gets in, every refused
cycle's path is a real cycle of the proposed graph, and lineage in both directions at
every depth equals a breadth-first walk done in Python."""

from __future__ import annotations

import itertools
from collections import deque
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

RUNS = 6
EDITS = st.lists(
    st.tuples(st.integers(0, RUNS - 1), st.frozensets(st.integers(0, RUNS - 1), max_size=3)),
    min_size=1,
    max_size=10,
)


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> bool:
    seen, queue = {start}, deque([start])
    while queue:
        here = queue.popleft()
        if here == goal:
            return True
        for there in graph[here] - seen:
            seen.add(there)
            queue.append(there)
    return False


def _bfs(graph: dict[str, set[str]], start: str, depth: int) -> dict[str, int]:
    """Each run within ``depth`` edges of ``start``, at its fewest hops."""
    hops = {start: 0}
    queue = deque([start])
    while queue:
        here = queue.popleft()
        if hops[here] == depth:
            continue
        for there in sorted(graph[here]):
            if there not in hops:
                hops[there] = hops[here] + 1
                queue.append(there)
    del hops[start]
    return hops


def _check_lineage(client: TestClient, up: dict[str, set[str]], ids: list[str]) -> None:
    down: dict[str, set[str]] = {i: set() for i in ids}
    for run, dependencies in up.items():
        for dependency in dependencies:
            down[dependency].add(run)
    for graph, direction in ((up, "up"), (down, "down")):
        for run in ids:
            for depth in (1, 2, 50):
                body = client.get(
                    f"/maestro/runs/{run}/lineage", params={"direction": direction, "depth": depth}
                )
                expected = _bfs(graph, run, depth)
                got = [(r["id"], r["depth"]) for r in body.json()["runs"]]
                assert got == sorted(expected.items(), key=lambda item: (item[1], item[0]))
                shown = {run, *expected}
                edges = sorted([a, b] for a in shown for b in up[a] if b in shown)
                assert body.json()["edges"] == edges
                for listed in body.json()["runs"]:
                    assert listed["depends_on"] == sorted(up[listed["id"]])


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(edits=EDITS)
def test_random_edits_never_let_a_cycle_in(
    client: TestClient, edits: list[tuple[int, frozenset[int]]]
) -> None:
    ids = [
        client.post("/maestro/runs", json={"name": str(i), "owner": "p"}).json()["id"] for i in range(RUNS)
    ]
    graph: dict[str, set[str]] = {i: set() for i in ids}
    for index, targets in edits:
        run, wanted = ids[index], {ids[t] for t in targets}
        response = client.patch(f"/maestro/runs/{run}", json={"depends_on": sorted(wanted)})
        proposed = {**graph, run: wanted}
        closes = run in wanted or any(_reaches(proposed, d, run) for d in wanted)
        if not closes:
            assert response.status_code == 200, response.text
            assert response.json()["depends_on"] == sorted(wanted)
            graph = proposed
            continue
        assert response.status_code == 422, response.text
        error: dict[str, Any] = response.json()["errors"][0]
        assert error["field"] == "depends_on"
        if run not in wanted:
            cycle = error["cycle"]
            assert cycle[0] == cycle[-1] == run
            assert all(b in proposed[a] for a, b in itertools.pairwise(cycle))
    _check_lineage(client, graph, ids)
