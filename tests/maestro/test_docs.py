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


def _client_section() -> str:
    text = (ROOT / "docs" / "configuration.md").read_text()
    start = text.index("## Client settings")
    return text[start : text.index("\n## ", start + 1)]


def test_every_client_setting_is_documented() -> None:
    from maestro.cli.settings import VARIABLES

    section = _client_section()
    for variable in VARIABLES:
        assert f"| `{variable.name}` |" in section, f"{variable.name} missing from docs/configuration.md"


def test_client_code_reads_only_declared_variables() -> None:
    """A MAESTRO_* name in the SDK or CLI source is a declared client variable or a server setting,
    so a new client variable cannot be added without joining the documented list."""
    import re

    from maestro.cli.settings import VARIABLES

    declared = {v.name for v in VARIABLES} | {f"MAESTRO_{name.upper()}" for name in Settings.model_fields}
    sources = [*(ROOT / "maestro" / "client").glob("*.py"), *(ROOT / "maestro" / "cli").glob("*.py")]
    for path in sources:
        for name in re.findall(r"MAESTRO_[A-Z][A-Z0-9_]*", path.read_text()):
            assert name in declared, f"{path.name} mentions {name}, which is neither declared nor a setting"
