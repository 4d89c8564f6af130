"""docs/cli.md is generated from the commands' help; a stale copy fails here."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from maestro.cli import cli
from maestro.cli.docs import render

ROOT = Path(__file__).resolve().parents[2]


def command_paths() -> list[list[str]]:
    def walk(command: object, path: list[str]) -> list[list[str]]:
        found = [path]
        for name, sub in getattr(command, "commands", {}).items():
            found += walk(sub, [*path, name])
        return found

    return walk(typer.main.get_command(cli), [])


def test_cli_md_is_current() -> None:
    assert (ROOT / "docs" / "cli.md").read_text() == render(), (
        "docs/cli.md is stale: run `python -m maestro.cli.docs > docs/cli.md`"
    )


@pytest.mark.parametrize("path", command_paths(), ids=lambda p: " ".join(p) or "maestro")
def test_every_command_has_help_and_a_section(path: list[str]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert f"## {' '.join(['maestro', *path])}\n" in render()


def test_docs_name_every_command_group() -> None:
    text = render()
    for group in ("runs", "artifacts", "packs", "manifest", "gate", "config", "db", "blobs", "server"):
        assert f"## maestro {group}\n" in text


def test_ci_guide_gates_the_release() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    for step in ("maestro runs create", "maestro artifacts add", "maestro runs finish", "maestro gate"):
        assert step in text
    assert "gitlab" in text.lower()
    assert "runs-on" in text
