"""Docs that drift are bugs: every setting and command is documented."""

from __future__ import annotations

from pathlib import Path

from maestro.config import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    readme = (ROOT / "README.md").read_text()
    for name in Settings.model_fields:
        variable = f"MAESTRO_{name.upper()}"
        assert variable in text, f"{variable} missing from docs/configuration.md"
        assert variable in readme, f"{variable} missing from the README's configuration table"


def test_readme_gives_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "make maestro-api" in readme
    assert "make maestro-test" in readme


def test_ci_runs_the_readme_test_command() -> None:
    assert "make maestro-test" in (ROOT / ".ci" / "run").read_text()
