"""The ``maestro`` command stays light: help imports no command, client commands no server code.

A client command that imported SQLAlchemy, Alembic or FastAPI paid 1.2-1.7 s
before doing anything (bench/cli.py measures the figures). These tests run
the real command in a fresh interpreter, against a real server for the
commands that talk to one, and look at what ended up in ``sys.modules``.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from maestro.cli import cli
from maestro.cli.lazy import LazyCommands
from maestro.cli.root import MaestroGroup
from tests.maestro.live_server import live_server
from tests.maestro.test_cli_support import clean_environment

SERVER_SIDE = ("sqlalchemy", "alembic", "fastapi", "starlette", "uvicorn", "boto3", "sigstore")
SERVER_MODULES = ("maestro.db", "maestro.api", "maestro.services", "maestro.storage", "maestro.blobs")

# Runs each argv of a JSON list in turn in this one interpreter and reports, after each,
# its exit status and every server-side module loaded so far.
PROBE = """
import json, sys
from maestro.cli.root import cli
server_side, server_modules = json.loads(sys.argv[1]), tuple(json.loads(sys.argv[2]))
report = []
for args in json.loads(sys.argv[3]):
    try:
        cli(args, prog_name="maestro")
        status = 0
    except SystemExit as exc:
        status = exc.code or 0
    loaded = sorted({name if name.startswith("maestro.") else name.split(".")[0] for name in sys.modules
                     if name.split(".")[0] in server_side or name.startswith(server_modules)})
    report.append({"args": args, "exit": status, "loaded": loaded, "all": sorted(sys.modules)})
with open(sys.argv[4], "w") as out:
    json.dump(report, out)
"""


def probe(commands: list[list[str]], tmp_path: Path, **env: str) -> list[dict[str, Any]]:
    out = tmp_path / "probe.json"
    arguments = [json.dumps(SERVER_SIDE), json.dumps(SERVER_MODULES), json.dumps(commands), str(out)]
    environment = clean_environment(XDG_CONFIG_HOME=str(tmp_path / "xdg"), **env)
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, *arguments],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 0, completed.stderr
    report: list[dict[str, Any]] = json.loads(out.read_text())
    return report


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with live_server(tmp_path_factory.mktemp("live"), {"MAESTRO_ACCESS_LOG": "false"}) as running:
        yield running.base_url


def test_help_imports_no_command(tmp_path: Path) -> None:
    (report,) = probe([["--help"]], tmp_path)
    assert report["exit"] == 0
    loaded = set(report["all"])
    commands = {f"maestro.cli.{entry.module.rsplit('.', 1)[1]}" for entry in MaestroGroup.entries.values()}
    assert not loaded & commands, "maestro --help imported a command module"
    assert not loaded & {"maestro.models", "httpx", "maestro.client.client", "sqlalchemy"}


def test_group_help_imports_no_server_code(tmp_path: Path) -> None:
    groups = ["runs", "artifacts", "packs", "manifest", "gate", "config", "waivers"]
    for report in probe([[group, "--help"] for group in groups], tmp_path):
        assert (report["args"], report["exit"], report["loaded"]) == (report["args"], 0, [])


def test_client_commands_import_no_server_code(server: str, tmp_path: Path) -> None:
    run_id = httpx.post(f"{server}/maestro/runs", json={"name": "probe", "owner": "ci"}).json()["id"]
    sbom = tmp_path / "sbom.json"
    sbom.write_text(json.dumps({"bomFormat": "CycloneDX", "specVersion": "1.5", "version": 1}))
    commands = [
        ["runs", "create", "--name", "probe", "--owner", "ci", "-q"],
        ["runs", "get", run_id],
        ["runs", "list", "--limit", "2"],
        ["artifacts", "add", "--run", run_id, "--kind", "sbom", str(sbom), "--sbom"],
        ["artifacts", "list", "--run", run_id],
        ["packs", "create", "--run", run_id, "--summary", "probe"],
        ["packs", "list", "--run", run_id],
        ["gate", run_id],
        ["runs", "finish", run_id],
        ["manifest", run_id],
        ["gate", "no-such-run"],
        ["config", "show"],
        ["waivers", "list", "--active"],
    ]
    report = probe(commands, tmp_path, MAESTRO_URL=server)
    assert [(r["args"], r["exit"]) for r in report] == [
        (args, 1 if args == ["gate", run_id] else 2 if args[-1] == "no-such-run" else 0) for args in commands
    ]
    for step in report:
        assert step["loaded"] == [], f"`maestro {' '.join(step['args'])}` imported {step['loaded']}"


def test_summaries_match_the_commands_help() -> None:
    for name, entry in MaestroGroup.entries.items():
        command = entry.load(name)
        first = inspect.cleandoc(command.help or "").split("\n\n")[0].replace("\n", " ")
        assert entry.summary == first, f"the summary of `maestro {name}` in root.py is stale"


def test_root_help_is_the_same_with_every_command_loaded(monkeypatch: pytest.MonkeyPatch) -> None:
    lazy = CliRunner().invoke(cli, ["--help"])
    monkeypatch.setattr(LazyCommands, "summary", lambda self, name: None)
    loaded = CliRunner().invoke(cli, ["--help"])
    assert lazy.exit_code == loaded.exit_code == 0
    assert lazy.output == loaded.output


def test_a_mistyped_command_is_still_suggested() -> None:
    result = CliRunner().invoke(cli, ["gaet", "run-1"])
    assert result.exit_code == 2
    assert "Did you mean 'gate'?" in result.output
