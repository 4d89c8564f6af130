"""Spec rules checked on real corpus files changed at test time (the corpus stays untouched):
SPDX 2 file checksums, SPDX filesAnalyzed cross-field rules, OpenVEX ``@id`` as an IRI, and
versions Maestro has no rules for reported as unsupported rather than invalid or valid."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from maestro.evidence.model import Evidence, ParseOptions
from maestro.evidence.registry import parse_evidence

SPDX23 = "spdx/SPDXJSONExample-v2.3.spdx.json"
SPDX_TAG = "spdx/SPDXTagExample-v2.3.spdx"
VEX = "openvex/go-vex-v0.2.0.json"
SARIF = "sarif/simple-example.sarif"


def load(corpus_dir: Path, name: str) -> dict[str, Any]:
    return dict(json.loads((corpus_dir / name).read_bytes()))


def parse(doc: Any, strict: bool = False) -> Evidence:
    data = doc if isinstance(doc, bytes) else json.dumps(doc).encode()
    return parse_evidence(data, ParseOptions(strict=strict)).evidence


def located(evidence: Evidence) -> dict[str, str]:
    return {e.location: e.message for e in evidence.errors}


def test_real_files_pass_the_new_rules(corpus_dir: Path) -> None:
    for name in (SPDX23, SPDX_TAG, VEX, SARIF):
        assert parse((corpus_dir / name).read_bytes()).valid, name


def test_spdx_file_without_checksums_is_invalid_at_the_file(corpus_dir: Path) -> None:
    doc = load(corpus_dir, SPDX23)
    del doc["files"][1]["checksums"]
    doc["files"][2]["checksums"] = []
    errors = located(parse(doc))
    assert errors["/files/1"] == '"checksums" is a required property'
    assert "/files/2/checksums" in errors


def test_spdx_tag_value_file_without_checksum_is_located_by_line(corpus_dir: Path) -> None:
    lines = (corpus_dir / SPDX_TAG).read_bytes().splitlines(keepends=True)
    kept = [line for line in lines if not line.startswith(b"FileChecksum:")]
    evidence = parse(b"".join(kept))
    assert not evidence.valid
    assert all(e.location.startswith("line ") for e in evidence.errors), evidence.errors
    assert any("checksums" in e.message for e in evidence.errors)


@pytest.mark.parametrize("key", ["packageVerificationCode", "licenseInfoFromFiles"])
def test_files_analyzed_false_forbids_file_derived_fields(corpus_dir: Path, key: str) -> None:
    doc = load(corpus_dir, SPDX23)
    index, pkg = next((i, p) for i, p in enumerate(doc["packages"]) if key in p)
    pkg["filesAnalyzed"] = False
    errors = located(parse(doc))
    assert errors[f"/packages/{index}/{key}"] == f"{key} must be omitted when filesAnalyzed is false"
    del pkg[key]
    other = "licenseInfoFromFiles" if key == "packageVerificationCode" else "packageVerificationCode"
    pkg.pop(other, None)
    assert parse(doc).valid


@pytest.mark.parametrize("bad", ["vex-1", "merged vex", "urn"])
def test_openvex_id_must_be_an_iri(corpus_dir: Path, bad: str) -> None:
    doc = load(corpus_dir, VEX)
    doc["@id"] = bad
    assert located(parse(doc)) == {"/@id": f"@id {bad!r} is not an IRI (e.g. https://...)"}
    doc["@id"] = "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79"
    assert parse(doc).valid


@pytest.mark.parametrize(
    ("name", "field", "value", "where", "message"),
    [
        (SARIF, "version", "2.2", "/version", "unsupported version 2.2 (supported: 2.1.0)"),
        (SPDX23, "spdxVersion", "SPDX-2.1", "/spdxVersion", "unsupported version 2.1 (supported: 2.2, 2.3)"),
        (VEX, "@context", "https://openvex.dev/ns/v0.3.0", "/@context",
         "unsupported version 0.3.0 (supported: 0.0.1, 0.2.0)"),
    ],
)  # fmt: skip
def test_unsupported_versions_are_named_not_judged(
    corpus_dir: Path, name: str, field: str, value: str, where: str, message: str
) -> None:
    doc = load(corpus_dir, name)
    doc[field] = value
    evidence = parse(doc)
    assert (evidence.valid, evidence.spec_version) == (False, value.rsplit("-", 1)[-1].rsplit("v", 1)[-1])
    assert [(e.location, e.message) for e in evidence.errors] == [(where, message)]


def test_unsupported_cyclonedx_version_says_which_are(corpus_dir: Path) -> None:
    doc = load(corpus_dir, "cyclonedx/laravel-bom.1.4.json")
    doc["specVersion"] = "2.0"
    evidence = parse(doc)
    assert evidence.format == "cyclonedx-json"
    assert located(evidence) == {
        "/specVersion": "unsupported version 2.0 (supported: 1.2, 1.3, 1.4, 1.5, 1.6, 1.7)"
    }
