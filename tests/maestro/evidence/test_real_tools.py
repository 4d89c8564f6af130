"""Evidence made by real tools in tmp_path; skipped where a tool is missing."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from maestro.evidence.model import ParseOptions
from maestro.evidence.registry import parse_evidence

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    path = BIN / name if (BIN / name).exists() else shutil.which(name)
    if not path:
        pytest.skip(f"{name} is not installed")
    return str(path)


def test_cyclonedx_py_environment(tmp_path: Path) -> None:
    out = tmp_path / "bom.json"
    subprocess.run(
        [_tool("cyclonedx-py"), "environment", "--of", "JSON", "-o", str(out), sys.executable],
        check=True,
        capture_output=True,
        timeout=120,
    )
    parsed = parse_evidence(out.read_bytes(), ParseOptions(), "sbom")
    assert parsed.evidence.format == "cyclonedx-json"
    assert parsed.evidence.valid, parsed.evidence.errors
    assert any(c.name == "orjson" for c in parsed.components)
    xml = tmp_path / "bom.xml"
    subprocess.run(
        [_tool("cyclonedx-py"), "environment", "--of", "XML", "-o", str(xml), sys.executable],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert parse_evidence(xml.read_bytes(), ParseOptions()).evidence.valid


def test_pytest_junitxml(tmp_path: Path) -> None:
    (tmp_path / "test_tiny.py").write_text(
        "import pytest\n\ndef test_ok():\n    pass\n\ndef test_bad():\n    assert 1 == 2\n\n"
        "@pytest.mark.skip(reason='no')\ndef test_skip():\n    pass\n"
    )
    report = tmp_path / "junit.xml"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--junitxml={report}",
            str(tmp_path),
        ],
        capture_output=True,
        timeout=120,
        cwd=tmp_path,
        check=False,
    )
    evidence = parse_evidence(report.read_bytes(), ParseOptions(), "test_report").evidence
    assert (evidence.format, evidence.valid) == ("junit-xml", True)
    summary = evidence.summary
    assert (summary["tests"], summary["failures"], summary["skipped"], summary["passed"]) == (3, 1, 1, 1)


def test_ruff_sarif(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import os\nx = undefined_name\n")
    result = subprocess.run(
        [_tool("ruff"), "check", "--no-cache", "--isolated", "--output-format", "sarif", str(bad)],
        capture_output=True,
        timeout=60,
        check=False,
    )
    evidence = parse_evidence(result.stdout, ParseOptions()).evidence
    assert (evidence.format, evidence.spec_version, evidence.valid) == ("sarif-json", "2.1.0", True), (
        evidence.errors
    )
    assert evidence.summary["result_count"] >= 2
    assert evidence.summary["tools"][0]["name"] == "ruff"


@pytest.mark.parametrize(
    ("sbom_format", "expected"), [("cyclonedx", "cyclonedx-json"), ("spdx", "spdx-json")]
)
def test_npm_sbom(tmp_path: Path, sbom_format: str, expected: str) -> None:
    """`npm sbom` of a project with a lockfile (no registry needed). npm writes
    fractional-second SPDX timestamps: accepted with a warning, refused under strict."""
    npm = _tool("npm")
    (tmp_path / "package.json").write_text('{"name": "maestro-probe", "version": "1.0.0"}')
    subprocess.run([npm, "install", "--package-lock-only", "--offline"], cwd=tmp_path, check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    result = subprocess.run([npm, "sbom", "--sbom-format", sbom_format], cwd=tmp_path, check=True,
                            capture_output=True, timeout=120)  # fmt: skip
    evidence = parse_evidence(result.stdout, ParseOptions(), "sbom").evidence
    assert evidence.format == expected
    assert evidence.valid, evidence.errors
    assert evidence.summary["described"]["name"]  # npm names it after the package or its directory
    if sbom_format == "spdx":
        assert evidence.warnings
        assert not parse_evidence(result.stdout, ParseOptions(strict=True), "sbom").evidence.valid
