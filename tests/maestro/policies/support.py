"""Input documents for policy tests, with evidence facts made by Maestro's own parsers."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from maestro.evidence.compact import compact
from maestro.evidence.model import ParseOptions, TrustedKey
from maestro.evidence.registry import parse_evidence, verified_flags
from maestro.models import ArtifactKind, RunStatus
from maestro.policies import document, facts
from maestro.policies.document import ArtifactFacts, DeclaredFlags, InputDocument, RunFacts, VerifiedFlags
from tests.maestro.evidence import builders

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
APP_DIGEST = "b" * 64


def run(status: RunStatus = RunStatus.SUCCEEDED, **metadata: Any) -> RunFacts:
    return RunFacts(id="run-1", name="n", owner="o", status=status, started_at=NOW, metadata=metadata)


def declared(artifact_id: str, *flags: bool, at: int = 0) -> ArtifactFacts:
    sbom, slsa, risk = ([*list(flags), False, False, False])[:3]
    return ArtifactFacts(
        id=artifact_id,
        kind=ArtifactKind.OTHER,
        created_at=NOW + timedelta(seconds=at),
        declared=DeclaredFlags(sbom_present=sbom, slsa_provenance_present=slsa, risk_assessment_present=risk),
        verified=VerifiedFlags(sbom=False, slsa_provenance=False, risk_assessment=False),
    )


def uploaded(
    artifact_id: str, data: bytes, kind: ArtifactKind = ArtifactKind.OTHER, *keys: TrustedKey, at: int = 0
) -> ArtifactFacts:
    """An artifact whose content was parsed as an upload would be, facts from the stored view."""
    parsed = parse_evidence(data, ParseOptions(trusted_keys=keys)).evidence
    flags = verified_flags(parsed)
    stored = compact(parsed).model_dump(mode="json")
    return ArtifactFacts(
        id=artifact_id,
        kind=kind,
        created_at=NOW + timedelta(seconds=at),
        content_digest="sha256:" + "0" * 64,
        declared=DeclaredFlags(
            sbom_present=False, slsa_provenance_present=False, risk_assessment_present=False
        ),
        verified=VerifiedFlags(
            sbom=flags.sbom, slsa_provenance=flags.slsa_provenance, risk_assessment=flags.risk_assessment
        ),
        evidence=facts.evidence_facts(stored),
    )


def sbom(with_hash: bool = True) -> bytes:
    doc = builders.cyclonedx()
    if with_hash:
        doc["metadata"]["component"]["hashes"] = [{"alg": "SHA-256", "content": APP_DIGEST}]
    return builders.dumps(doc)


def statement(*digests: str) -> dict[str, Any]:
    return {
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": f"app-{i}.whl", "digest": {"sha256": d}} for i, d in enumerate(digests)],
        "predicateType": "https://slsa.dev/provenance/v1",
        "predicate": {
            "buildDefinition": {
                "buildType": "https://example.com/build/v1",
                "externalParameters": {"ref": "main"},
            },
            "runDetails": {"builder": {"id": "https://ci.example.com/builder"}},
        },
    }


def provenance(*digests: str) -> bytes:
    return json.dumps(statement(*digests)).encode()


def signing_key() -> tuple[ed25519.Ed25519PrivateKey, TrustedKey]:
    key = ed25519.Ed25519PrivateKey.generate()
    pem = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return key, TrustedKey(key_id="k1", name="ci", pem=pem)


def signed(doc: dict[str, Any], key: ed25519.Ed25519PrivateKey) -> bytes:
    payload = json.dumps(doc).encode()
    kind = b"application/vnd.in-toto+json"
    pae = b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)
    sig = base64.b64encode(key.sign(pae)).decode()
    return json.dumps(
        {
            "payloadType": kind.decode(),
            "payload": base64.b64encode(payload).decode(),
            "signatures": [{"sig": sig}],
        }
    ).encode()


def risk(open_high: bool = False) -> bytes:
    doc = builders.risk()
    if not open_high:
        doc["risks"][0]["status"] = "mitigated"
        doc["risks"][0]["justification"] = "pinned"
    return builders.dumps(doc)


def openvex(status: str) -> bytes:
    doc = {
        "@context": "https://openvex.dev/ns/v0.2.0",
        "@id": "https://example.com/vex/1",
        "author": "sec",
        "timestamp": "2024-05-01T12:00:00Z",
        "version": 1,
        "statements": [
            {
                "vulnerability": {"name": "CVE-2024-0001"},
                "products": [{"@id": "pkg:pypi/app@2.0"}],
                "status": status,
                **({"justification": "component_not_present"} if status == "not_affected" else {}),
                **({"action_statement": "upgrade"} if status == "affected" else {}),
            }
        ],
    }
    return json.dumps(doc).encode()


def doc(
    *artifacts: ArtifactFacts, status: RunStatus = RunStatus.SUCCEEDED, at: datetime = NOW, **metadata: Any
) -> InputDocument:
    return document.build(run(status, **metadata), list(artifacts), [], at)


def complete() -> list[ArtifactFacts]:
    """Evidence that passes every required verified-evidence rule."""
    return [
        uploaded("sbom", sbom(), ArtifactKind.SBOM),
        uploaded("prov", provenance(APP_DIGEST), ArtifactKind.SLSA_PROVENANCE, at=1),
        uploaded("risk", risk(), ArtifactKind.RISK_ASSESSMENT, at=2),
    ]
