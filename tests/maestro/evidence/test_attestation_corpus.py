"""Every provenance file in the shared corpus: detected format, predicate types, verdict.

The corpus is reached only through the ``corpus_dir`` / ``corpus_manifest`` fixtures.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from maestro.evidence.attestation import detect_attestation, parse_attestation
from maestro.evidence.jsonload import load_json
from maestro.evidence.model import Evidence, EvidenceError, ParseOptions

# Upstream marks it negative only when verified online: the certificate had expired when
# the signature was made. The file is a bare DSSE envelope with the certificate inline and
# no transparency-log entry or timestamp, so offline nothing says *when* it was signed: the
# signature is reported "unverified" (never "verified"), and the content stays valid.
NEEDS_SIGNING_TIME = {"provenance/slsa-expired-cert.intoto.jsonl"}


def _rows(manifest: list[dict[str, str]]) -> list[dict[str, str]]:
    return [row for row in manifest if row["kind"] == "provenance"]


def _load(data: bytes) -> tuple[str | None, Any]:
    """(format, doc) as the registry would hand them over; (None, None) if it is not JSON at all."""
    try:
        doc = load_json(data)
    except EvidenceError:
        try:
            lines = [load_json(line) for line in data.splitlines() if line.strip()]
        except EvidenceError:
            return None, None
        return "intoto-jsonl", lines
    return detect_attestation(doc), doc


def _parse(corpus_dir: Path, row: dict[str, str]) -> tuple[str | None, Evidence | None]:
    data = (corpus_dir / row["path"]).read_bytes()
    fmt, doc = _load(data)
    if fmt is None:
        return None, None
    return fmt, parse_attestation(fmt, data, doc, ParseOptions()).evidence


def test_corpus_has_provenance_files(corpus_manifest: list[dict[str, str]]) -> None:
    assert len(_rows(corpus_manifest)) >= 20


def test_every_file_is_detected_as_its_manifest_format(
    corpus_dir: Path, corpus_manifest: list[dict[str, str]]
) -> None:
    for row in _rows(corpus_manifest):
        fmt, _ = _load((corpus_dir / row["path"]).read_bytes())
        if fmt is None:  # truncated JSON: the registry refuses it before it reaches us
            assert row["valid"] == "no", row["path"]
            continue
        assert fmt == row["format"], row["path"]


def test_predicate_types_match_the_manifest(corpus_dir: Path, corpus_manifest: list[dict[str, str]]) -> None:
    for row in _rows(corpus_manifest):
        _, evidence = _parse(corpus_dir, row)
        if evidence is None or "predicate=" not in row["spec_version"]:
            continue
        expected = row["spec_version"].split("predicate=", 1)[1].split(",")
        assert set(expected) <= set(evidence.summary["predicate_types"]), row["path"]


def test_validity_matches_the_manifest(corpus_dir: Path, corpus_manifest: list[dict[str, str]]) -> None:
    for row in _rows(corpus_manifest):
        _, evidence = _parse(corpus_dir, row)
        if evidence is None:
            assert row["valid"] == "no", row["path"]
            continue
        status = evidence.signature.status if evidence.signature else None
        if row["path"] in NEEDS_SIGNING_TIME:
            assert status == "unverified", (row["path"], evidence.signature)
        elif row["valid"] == "yes":
            assert evidence.valid, (row["path"], evidence.errors)
            assert status != "invalid", row["path"]
        else:
            assert not evidence.valid, row["path"]
            assert evidence.errors, row["path"]


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("conformance-happy-path-intoto-in-dsse-v3.sigstore.json", "verified"),
        ("conformance-dsse-invalid-sig_fail.sigstore.json", "invalid"),
        ("conformance-dsse-mismatch-envelope_fail.sigstore.json", "invalid"),
        ("conformance-intoto-log-entry-mismatch_fail.sigstore.json", "invalid"),
        ("sigstore-python-github-whl-msgsig.sigstore", "verified"),
        # staging-signed: the signature checks out against its certificate, but the
        # certificate cannot chain to the production root, so it is not "verified"
        ("sigstore-python-dsse-staging-rekor-v2.sigstore.json", "unverified"),
        ("pep740-rfc8785-0.1.2.whl.publish.attestation", "unverified"),
        ("pep740-gitlab_oidc_project-0.0.3.publish.attestation", "verified"),
        # npm's registry key is named by hint only: unverified unless the operator trusts it
        ("npm-provenance-v1.attestations.json", "unverified"),
        ("npm-provenance-v1-invalidsigprov.attestations.json", "invalid"),
        ("guac-oci-dsse-att.json", "unverified"),
    ],
)
def test_signature_status_per_file(corpus_dir: Path, name: str, status: str) -> None:
    _, evidence = _parse(corpus_dir, {"path": f"provenance/{name}"})
    assert evidence is not None
    assert evidence.signature is not None
    assert evidence.signature.status == status, evidence.signature


def test_staging_bundle_detail_is_honest(corpus_dir: Path) -> None:
    _, evidence = _parse(
        corpus_dir, {"path": "provenance/sigstore-python-dsse-staging-rekor-v2.sigstore.json"}
    )
    assert evidence is not None
    assert evidence.signature is not None
    assert "production trust root" in (evidence.signature.detail or "")


def test_slsa_summary_from_a_sigstore_bundle(corpus_dir: Path) -> None:
    _, evidence = _parse(corpus_dir, {"path": "provenance/slsa-gha-delegator-v2.1.0.build.slsa"})
    assert evidence is not None
    assert evidence.evidence_type == "slsa_provenance"
    assert evidence.spec_version == "0.2"
    provenance = evidence.summary["provenance"]
    assert provenance["slsa_version"] == "v1"
    assert provenance["builder_id"]
    assert isinstance(provenance["external_parameters"], dict)
    assert evidence.summary["subjects"][0]["digest"]


def test_gcb_mismatch_is_located(corpus_dir: Path) -> None:
    _, evidence = _parse(corpus_dir, {"path": "provenance/gcb-v0.3-mismatch-payload-digest.json"})
    assert evidence is not None
    assert any(e.location.endswith("/envelope/payload/subject") for e in evidence.errors)


def test_v02_statement_summary(corpus_dir: Path) -> None:
    _, evidence = _parse(corpus_dir, {"path": "provenance/guac-kubectl-slsa02.statement.json"})
    assert evidence is not None
    assert evidence.summary["subject_count"] == 75
    provenance = evidence.summary["provenance"]
    assert provenance["config_source"]["entry_point"] == "ep"
    assert provenance["materials"][0]["uri"] == "https://github.com/kubernetes/kubernetes"
    assert provenance["invocation_id"] == "119656"
    # its sha1-length "sha256" values are noted, not fatal (outside the subjects)
    assert any("40 hex characters" in w.message for w in evidence.warnings)
