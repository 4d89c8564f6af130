"""docs/sdk.md's walkthrough, run exactly as written against a real server.

The Python blocks of "A walkthrough" are taken from the Markdown and run
in an empty directory with only ``MAESTRO_URL`` set, as a reader would paste
them; then the objects they left behind are checked against what the prose
says they hold.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro.client import MaestroClient
from tests.maestro.live_server import live_server

ROOT = Path(__file__).resolve().parents[2]
FENCE = re.compile(r"^```python\n(.*?)^```", re.MULTILINE | re.DOTALL)


def walkthrough_blocks() -> list[str]:
    text = (ROOT / "docs" / "sdk.md").read_text()
    start = text.index("## A walkthrough")
    section = text[start : text.index("\n## ", start + 1)]
    return FENCE.findall(section)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("live"), {"MAESTRO_ACCESS_LOG": "false"}) as running:
        yield running.base_url


def test_the_walkthrough_is_there() -> None:
    blocks = walkthrough_blocks()
    assert len(blocks) >= 2
    assert "MaestroClient()" in blocks[0]
    assert "write_text(" in blocks[0], "the example must make the files it uploads"


def test_the_walkthrough_runs_verbatim(server: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("MAESTRO_TOKEN", "MAESTRO_OWNER"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MAESTRO_URL", server)
    scope: dict[str, Any] = {"__name__": "__sdk_walkthrough__"}
    try:
        for number, block in enumerate(walkthrough_blocks(), 1):
            exec(compile(block, f"docs/sdk.md walkthrough block {number}", "exec"), scope)
    finally:
        if isinstance(scope.get("maestro"), MaestroClient):
            scope["maestro"].close()

    sbom, provenance, risk, bundle = (scope[name] for name in ("sbom", "provenance", "risk", "bundle"))
    assert sbom.evidence.verified.sbom is True  # "True: the server parsed and verified the file"
    assert sbom.evidence.summary["component_count"] == 1
    assert provenance.evidence.verified.slsa_provenance is True
    assert risk.evidence.verified.risk_assessment is True
    assert bundle.evidence.verified.model_dump() == {
        "sbom": True,
        "slsa_provenance": True,
        "risk_assessment": True,
    }
    gate = scope["gate"]
    assert (gate.passed, gate.message) == (True, "Release gate passed: 1 compliant artifact(s) found")
    assert gate.details.reasons == []
    assert scope["manifest"].compliance_report.total_artifacts == 4
    assert scope["pack"].run_id == scope["run"].id

    with MaestroClient(server) as check:  # the state the prose describes is the server's, not a copy
        assert check.get_run(scope["run"].id).status.value == "succeeded"
        assert sorted(a.kind for a in check.list_artifacts(run_id=scope["run"].id)) == [
            "other",
            "risk_assessment",
            "sbom",
            "slsa_provenance",
        ]
