"""Every corpus file of the kinds this half owns: format, version and validity
match MANIFEST.tsv, with the deliberate disagreements listed (docs/evidence.md)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from maestro.evidence.model import ParseOptions
from maestro.evidence.registry import parse_evidence

KINDS = {
    "cyclonedx": "sbom",
    "spdx": "sbom",
    "openvex": "other",
    "sarif": "other",
    "junit": "test_report",
    "hostile": "test_report",
}

# Manifest says valid=yes, Maestro says no: RDF/XML, XML and YAML SPDX are not
# parsed (no cheap safe parser; rdflib is ruled out) and are reported as
# "format not supported; convert to JSON".
UNSUPPORTED_VALID = {
    "spdx/SPDXRdfExample-v2.3.spdx.rdf.xml",
    "spdx/SPDXYAMLExample-v2.3.spdx.yaml",
    "spdx/SPDXXMLExample-v2.3.spdx.xml",
}
# A truncated file holding only an XML declaration: nothing in it says CycloneDX.
FORMAT_UNKNOWABLE = {"cyclonedx/guac-invalid-cyclonedx.xml": "xml"}


def _version(manifest_value: str) -> str | None:
    """Manifest versions may carry notes ("1.6 (bad ns ...)") or a leading v."""
    value = manifest_value.strip()
    if not value or "(" in value or "/" in value:
        return None
    return value.removeprefix("v")


def test_corpus_files_match_manifest(corpus_dir: Path, corpus_manifest: list[dict[str, str]]) -> None:
    mismatches: list[tuple[object, ...]] = []
    rows = [row for row in corpus_manifest if row["kind"] in KINDS]
    assert len(rows) > 50
    for row in rows:
        data = (corpus_dir / row["path"]).read_bytes()
        evidence = parse_evidence(data, ParseOptions(filename=row["path"]), KINDS[row["kind"]]).evidence
        expected_format = FORMAT_UNKNOWABLE.get(row["path"], row["format"])
        if evidence.format != expected_format:
            mismatches.append((row["path"], "format", expected_format, evidence.format))
        version = _version(row["spec_version"])
        if version is not None and evidence.spec_version != version:
            mismatches.append((row["path"], "spec_version", version, evidence.spec_version))
        expected_valid = {"yes": True, "no": False}.get(row["valid"])
        if row["path"] in UNSUPPORTED_VALID:
            expected_valid = False
        if expected_valid is not None and evidence.valid != expected_valid:
            mismatches.append((row["path"], "valid", expected_valid, evidence.valid, evidence.errors[:2]))
        if not evidence.valid:
            assert evidence.errors, row["path"]
    assert mismatches == []


@pytest.mark.parametrize("name", ["nunit-xxe-sec1752-file.xml", "nunit-xxe-sec1752-https.xml"])
def test_hostile_corpus_refused_at_doctype(corpus_dir: Path, name: str) -> None:
    evidence = parse_evidence((corpus_dir / "hostile" / name).read_bytes(), ParseOptions()).evidence
    assert not evidence.valid
    assert "DOCTYPE" in evidence.errors[0].message
    assert evidence.errors[0].location == "line 2"


def test_syft_fractional_seconds_lenient_then_strict(corpus_dir: Path) -> None:
    """The accepted leniency: fractional-second ``created`` warns, strict refuses. (The file is
    invalid anyway: syft writes its 3,042 files without the checksums SPDX 2 requires.)"""
    data = (corpus_dir / "spdx/guac-kubectl-arm-v7-syft.spdx.json").read_bytes()
    lenient = parse_evidence(data, ParseOptions()).evidence
    assert [w.location for w in lenient.warnings] == ["/creationInfo/created"]
    assert "/creationInfo/created" not in {e.location for e in lenient.errors}
    assert {e.message for e in lenient.errors[:-1]} == {'"checksums" is a required property'}
    strict = parse_evidence(data, ParseOptions(strict=True)).evidence
    assert "/creationInfo/created" in {e.location for e in strict.errors}
    assert not strict.warnings


def test_fractional_seconds_alone_only_warn(corpus_dir: Path) -> None:
    """The same leniency on a file with no other defect: valid with a warning, strict refuses."""
    doc = json.loads((corpus_dir / "spdx/SPDXJSONExample-v2.3.spdx.json").read_bytes())
    doc["creationInfo"]["created"] = "2010-01-29T18:30:22.123456789Z"
    data = json.dumps(doc).encode()
    lenient = parse_evidence(data, ParseOptions()).evidence
    assert (lenient.valid, [w.location for w in lenient.warnings]) == (True, ["/creationInfo/created"])
    strict = parse_evidence(data, ParseOptions(strict=True)).evidence
    assert (strict.valid, [e.location for e in strict.errors]) == (False, ["/creationInfo/created"])


def test_corpus_sbom_summaries(corpus_dir: Path) -> None:
    parsed = parse_evidence(
        (corpus_dir / "cyclonedx/juice-shop-npm-bom.1.4.json").read_bytes(), ParseOptions()
    )
    assert parsed.evidence.summary["component_count"] == len(parsed.components) > 1000
    assert parsed.evidence.summary["described"]["name"] == "juice-shop"
    keycloak = parse_evidence((corpus_dir / "cyclonedx/keycloak-10.0.2-bom.xml").read_bytes(), ParseOptions())
    assert keycloak.evidence.valid
    assert any(c.purl and c.purl.startswith("pkg:maven/") for c in keycloak.components)
