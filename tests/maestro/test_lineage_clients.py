"""Run lineage through the SDK and the CLI: depends_on on create and update, lineage both
ways, and refusals as the same errors on both sides of the wire."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.client import MaestroClient
from maestro.errors import ValidationFailed
from tests.maestro.test_cli_support import Cli, one_line_error, wire


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client, backoff=0) as sdk:
        yield sdk


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


def test_sdk_depends_on_and_lineage(maestro: MaestroClient) -> None:
    fetch = maestro.create_run(name="fetch", owner="ci")
    lint = maestro.create_run(name="lint", owner="ci", depends_on=[fetch.id])
    build = maestro.create_run(name="build", owner="ci", depends_on=[lint.id, fetch.id])
    assert build.depends_on == sorted([fetch.id, lint.id])
    up = maestro.lineage(build.id)
    assert (up.direction.value, up.depth, up.truncated) == ("up", 10, False)
    assert [(r.id, r.depth) for r in up.runs] == sorted([(fetch.id, 1), (lint.id, 1)])
    down = maestro.lineage(fetch.id, direction="down", depth=1)
    assert [r.id for r in down.runs] == sorted([lint.id, build.id])
    assert maestro.update_run(build.id, depends_on=[lint.id]).depends_on == [lint.id]
    with pytest.raises(ValidationFailed) as caught:
        maestro.update_run(fetch.id, depends_on=[build.id])
    assert caught.value.errors is not None
    assert caught.value.errors[0]["cycle"] == [fetch.id, build.id, lint.id, fetch.id]


def test_cli_depends_on_and_lineage(mcli: Cli, client: TestClient) -> None:
    a = mcli.id("runs", "create", "--name", "a", "--owner", "ci")
    b = mcli.id("runs", "create", "--name", "b", "--owner", "ci", "--depends-on", a)
    c = mcli.json("runs", "create", "--name", "c", "--owner", "ci", "--depends-on", b, "--depends-on", a)
    assert c["depends_on"] == sorted([a, b])
    body = mcli.json("runs", "lineage", c["id"], "--depth", "1")
    assert body == client.get(f"/maestro/runs/{c['id']}/lineage?depth=1").json()
    assert mcli.ok("runs", "lineage", a, "--direction", "down", "-q").stdout.split() == sorted([b, c["id"]])
    human = mcli.ok("runs", "lineage", c["id"]).stdout
    assert "depends on" in human
    assert b in human
    assert mcli.json("runs", "update", c["id"], "--depends-on", a)["depends_on"] == [a]
    assert mcli.json("runs", "update", c["id"], "--no-depends-on")["depends_on"] == []
    refused = mcli("runs", "update", a, "--depends-on", b)
    assert refused.exit_code == 1
    assert f"would make a cycle: {a} -> {b} -> {a}" in one_line_error(refused)
    unknown = mcli("runs", "create", "--name", "x", "--owner", "ci", "--depends-on", "ghost")
    assert unknown.exit_code == 1
    assert "no such run: ghost" in one_line_error(unknown)
