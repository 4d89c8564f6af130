"""The SDK's waiver calls and ``maestro waivers``, through the real app and database."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from maestro.client import MaestroClient
from maestro.errors import RunNotFound, ValidationFailed, WaiverNotFound
from maestro.waivers.contract import WaiverScope
from tests.maestro.test_cli_support import Cli, one_line_error, wire

RULE = "declared-compliant-artifact"


@pytest.fixture
def maestro(client: TestClient) -> Iterator[MaestroClient]:
    with MaestroClient(http=client, backoff=0) as sdk:
        yield sdk


@pytest.fixture
def mcli(client: TestClient, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Cli:
    return wire(client, monkeypatch, tmp_path)


def test_sdk_creates_lists_shows_and_revokes(maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="ci", status="succeeded", metadata={"k": 1})
    until = datetime.now(UTC) + timedelta(days=2)
    by_run = maestro.create_waiver(RULE, reason="r", expires_at=until, run_id=run.id)
    by_match = maestro.create_waiver(RULE, reason="r", expires_at=until, owner="ci", metadata={"k": 1})
    by_purl = maestro.create_waiver(RULE, reason="r", expires_at=until, purl="pkg:pypi/x")
    assert (by_run.scope, by_match.scope, by_purl.scope) == (
        WaiverScope.RUN,
        WaiverScope.MATCH,
        WaiverScope.PURL,
    )
    assert by_match.match is not None
    assert by_match.match.metadata == {"k": 1}
    assert maestro.release_gate(run.id).passed is True
    assert [w.id for w in maestro.list_waivers()] == [by_purl.id, by_match.id, by_run.id]
    assert [w.id for w in maestro.list_waivers(run_id=run.id)] == [by_run.id]
    assert [w.id for w in maestro.list_waivers(limit=2, page_size=1)] == [by_purl.id, by_match.id]
    assert maestro.get_waiver(by_run.id) == by_run
    revoked = maestro.revoke_waiver(by_run.id)
    assert revoked.revoked_at is not None
    assert revoked.active is False
    assert maestro.revoke_waiver(by_run.id) == revoked
    assert [w.id for w in maestro.list_waivers(active=False)] == [by_run.id]
    assert maestro.release_gate(run.id).passed is True  # the match waiver still covers it
    for waiver in (by_match, by_purl):
        maestro.revoke_waiver(waiver.id)
    assert maestro.release_gate(run.id).passed is False


def test_sdk_errors_are_the_servers(maestro: MaestroClient) -> None:
    until = datetime.now(UTC) + timedelta(days=2)
    with pytest.raises(WaiverNotFound):
        maestro.get_waiver("nope")
    with pytest.raises(ValidationFailed) as unknown:
        maestro.create_waiver(RULE, reason="r", expires_at=until, run_id="nope")
    assert unknown.value.errors == [{"field": "run_id", "message": "run 'nope' does not exist"}]
    with pytest.raises(ValidationFailed) as both:
        maestro.create_waiver(RULE, reason="r", expires_at=until, run_id="a", purl="pkg:pypi/x")
    assert both.value.errors is not None
    assert both.value.errors[0]["field"] == "run_id"
    with pytest.raises(ValidationFailed) as blank:
        maestro.create_waiver(RULE, reason="", expires_at=until, purl="pkg:pypi/x")
    assert blank.value.errors is not None
    assert blank.value.errors[0]["field"] == "reason"  # refused before anything is sent
    assert not issubclass(WaiverNotFound, RunNotFound)


def test_cli_create_list_show_revoke(mcli: Cli, maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="ci", status="succeeded")
    created = mcli.json(
        "waivers", "create", "--rule", RULE, "--run", run.id, "--reason", "SEC-1", "--expires", "7d"
    )
    assert created["run_id"] == run.id
    assert created["reason"] == "SEC-1"
    expires = datetime.fromisoformat(created["expires_at"])
    assert timedelta(days=6, hours=23) < expires - datetime.now(UTC) <= timedelta(days=7)
    matched = mcli.id(
        "waivers", "create", "--rule", RULE, "--owner", "ci", "--metadata", "tier=1",
        "--reason", "r", "--expires", "2h",
    )  # fmt: skip
    assert maestro.get_waiver(matched).match is not None
    at = (datetime.now(UTC) + timedelta(days=1)).replace(microsecond=0)
    by_purl = mcli.json(
        "waivers", "create", "--rule", RULE, "--purl", "pkg:pypi/x", "--reason", "r",
        "--expires", at.isoformat().replace("+00:00", "Z"),
    )  # fmt: skip
    assert by_purl["expires_at"] == at.isoformat().replace("+00:00", "Z")
    assert [w["id"] for w in mcli.json("waivers", "list", "--run", run.id)] == [created["id"]]
    table = mcli.ok("waivers", "list").stdout
    assert f"run {run.id}" in table
    assert 'match owner ci, metadata {"tier":1}' in table
    assert "purl pkg:pypi/x" in table
    shown = mcli.ok("waivers", "show", created["id"]).stdout
    assert "SEC-1" in shown
    assert "active" in shown
    revoked = mcli.json("waivers", "revoke", created["id"])
    assert revoked["revoked_at"] is not None
    assert "revoked" in mcli.ok("waivers", "show", created["id"]).stdout
    assert mcli.ok("waivers", "list", "--inactive", "-q").stdout.split() == [created["id"]]
    assert set(mcli.ok("waivers", "list", "--active", "-q").stdout.split()) == {matched, by_purl["id"]}


def test_cli_refusals(mcli: Cli) -> None:
    missing = mcli("waivers", "show", "nope")
    assert missing.exit_code == 1
    assert one_line_error(missing).startswith("error: Waiver not found")
    unknown = mcli("waivers", "create", "--rule", RULE, "--run", "nope", "--reason", "r", "--expires", "1d")
    assert unknown.exit_code == 1
    assert "run_id: run 'nope' does not exist" in one_line_error(unknown)
    too_far = mcli(
        "waivers", "create", "--rule", RULE, "--purl", "pkg:a/b", "--reason", "r", "--expires", "400d"
    )
    assert too_far.exit_code == 1
    assert "expires_at: is more than 90 days ahead" in one_line_error(too_far)
    bad = mcli("waivers", "create", "--rule", RULE, "--purl", "pkg:a/b", "--reason", "r", "--expires", "soon")
    assert bad.exit_code == 2
    assert "--expires" in bad.stderr


def test_the_sdk_guide_example_runs(maestro: MaestroClient, capsys: pytest.CaptureFixture[str]) -> None:
    text = (Path(__file__).resolve().parents[3] / "docs" / "sdk.md").read_text()
    start = text.index("## Waivers")
    section = text[start : text.index("\n## ", start + 1)]
    (block,) = re.findall(r"^```python\n(.*?)^```", section, re.MULTILINE | re.DOTALL)
    run = maestro.create_run(name="n", owner="ci", status="succeeded")
    scope: dict[str, object] = {"maestro": maestro, "run": run}
    exec(block, scope)  # the documented code, verbatim
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in printed] == [
        "vex-no-unaddressed-affected",
        "risk-no-open-high",
        "declared-compliant-artifact",
    ]
    assert maestro.get_waiver(str(scope["waiver"].id)).revoked_at is not None


def test_cli_gate_passes_with_the_waiver_and_fails_once_revoked(mcli: Cli, maestro: MaestroClient) -> None:
    run = maestro.create_run(name="n", owner="ci", status="succeeded")
    assert mcli("gate", run.id).exit_code == 1
    waiver = mcli.id(
        "waivers", "create", "--rule", RULE, "--run", run.id, "--reason", "SEC-9", "--expires", "1d"
    )
    passed = mcli("gate", run.id)
    assert passed.exit_code == 0, passed.output
    assert "waived by local until" in passed.stdout
    assert "SEC-9" in passed.stdout
    mcli.ok("waivers", "revoke", waiver)
    assert mcli("gate", run.id).exit_code == 1
