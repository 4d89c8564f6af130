"""The containers attestations travel in: DSSE, Sigstore bundle, npm, PEP 740, Google Cloud Build.

Each unwraps to DSSE envelopes and statements and records one signature
verdict per signed thing; ``intoto_predicates`` does the rest.
"""

from __future__ import annotations

from typing import Any

from maestro.evidence import dsse
from maestro.evidence.intoto_predicates import Collected, from_envelope, from_statement
from maestro.evidence.intoto_report import obj
from maestro.evidence.model import Finding, Signature
from maestro.evidence.sigstore_bundle import MEDIA_TYPES, parse_bundle

MAX_ATTESTATIONS = 64
_PEP740_PATHS = (  # bundle pointers -> where the same thing sits in a PEP 740 attestation
    ("/dsseEnvelope/signatures/0/sig", "/envelope/signature"),
    ("/dsseEnvelope/payload", "/envelope/statement"),
    ("/dsseEnvelope", "/envelope"),
    ("/verificationMaterial/tlogEntries", "/verification_material/transparency_entries"),
    ("/verificationMaterial/certificate/rawBytes", "/verification_material/certificate"),
    ("/verificationMaterial", "/verification_material"),
)


def envelope(doc: Any, loc: str, out: Collected) -> dict[str, Any] | None:
    env = dsse.parse_envelope(doc, loc, out.report)
    if env is None:
        out.signatures.append(Signature(status="invalid", detail="envelope unusable"))
        return None
    out.signatures.append(dsse.verify_trusted(env, out.options.trusted_keys, loc, out.report))
    return from_envelope(env, loc, out)


def bundle(doc: Any, loc: str, out: Collected) -> tuple[str | None, dict[str, Any] | None]:
    """(bundle version, statement summary); a message-signature bundle has no statement."""
    result = parse_bundle(doc, loc, out.options.trusted_keys, out.report)
    out.signatures.append(result.signature)
    if result.envelope is not None:
        return result.version, from_envelope(result.envelope, f"{loc}/dsseEnvelope", out)
    if result.message_digest is not None:
        out.attestations.append({"message_digest": {"sha256": result.message_digest}, "predicate_type": None})
        out.types.append("other")
    return result.version, None


def npm(doc: dict[str, Any], out: Collected) -> None:
    items = doc.get("attestations")
    if not isinstance(items, list) or not items:
        out.report.error("/attestations", "attestations must be a non-empty list")
        return
    for i, item in enumerate(items[:MAX_ATTESTATIONS]):
        loc = f"/attestations/{i}"
        if not isinstance(item, dict):
            out.report.error(loc, "attestation is not a JSON object")
            continue
        _, summary = bundle(item.get("bundle"), f"{loc}/bundle", out)
        declared = item.get("predicateType")
        if summary is not None and declared != summary.get("predicate_type"):
            out.report.error(
                f"{loc}/predicateType",
                f"declared {declared!r} but the signed statement says {summary.get('predicate_type')!r}",
            )
    if len(items) > MAX_ATTESTATIONS:
        out.report.error("/attestations", f"too many attestations ({len(items)}; at most {MAX_ATTESTATIONS})")


def pep740(doc: dict[str, Any], out: Collected) -> None:
    """One attestation, or PyPI's provenance object holding bundles of them."""
    if isinstance(doc.get("attestation_bundles"), list):
        for i, group in enumerate(doc["attestation_bundles"][:MAX_ATTESTATIONS]):
            atts = group.get("attestations") if isinstance(group, dict) else None
            for j, att in enumerate(atts[:MAX_ATTESTATIONS] if isinstance(atts, list) else []):
                _one_pep740(att, f"/attestation_bundles/{i}/attestations/{j}", out)
        return
    _one_pep740(doc, "", out)


def _one_pep740(doc: Any, loc: str, out: Collected) -> None:
    if not isinstance(doc, dict) or doc.get("version") != 1:
        out.report.error(
            f"{loc}/version" if isinstance(doc, dict) else loc or "/", "PEP 740 attestation version must be 1"
        )
        return
    material = obj(doc.get("verification_material"))
    env = obj(doc.get("envelope"))
    as_bundle = {
        "mediaType": next(m for m, v in MEDIA_TYPES.items() if v == "0.3" and ".v0.3" in m),
        "verificationMaterial": {
            "certificate": {"rawBytes": material.get("certificate")},
            "tlogEntries": material.get("transparency_entries"),
        },
        "dsseEnvelope": {
            "payload": env.get("statement"),
            "payloadType": dsse.INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": env.get("signature")}],
        },
    }
    inner = Collected(options=out.options)
    bundle(as_bundle, "", inner)
    out.report.errors.extend(_moved(f, loc) for f in inner.report.errors)
    out.report.warnings.extend(_moved(f, loc) for f in inner.report.warnings)
    out.attestations.extend(inner.attestations)
    out.signatures.extend(inner.signatures)
    out.components.extend(inner.components)
    out.types.extend(inner.types)


def _moved(finding: Finding, loc: str) -> Finding:
    where = finding.location
    for old, new in _PEP740_PATHS:
        if where.startswith(old):
            where = new + where[len(old) :]
            break
    return Finding(location=loc + where, message=finding.message)


def gcb(doc: dict[str, Any], out: Collected) -> None:
    """Cloud Build's occurrence list: the signed envelope counts; the unsigned copy must agree with it."""
    summary_obj = doc.get("provenance_summary")
    items = summary_obj.get("provenance") if isinstance(summary_obj, dict) else None
    if not isinstance(items, list) or not items:
        out.report.error("/provenance_summary/provenance", "provenance must be a non-empty list")
        return
    image = obj(doc.get("image_summary"))
    for i, item in enumerate(items[:MAX_ATTESTATIONS]):
        loc = f"/provenance_summary/provenance/{i}"
        if not isinstance(item, dict) or not isinstance(item.get("envelope"), dict):
            out.report.error(f"{loc}/envelope", "occurrence has no DSSE envelope")
            continue
        summary = envelope(item["envelope"], f"{loc}/envelope", out)
        if summary is not None:
            _gcb_agreement(summary, item, image, loc, out)


def _gcb_agreement(
    summary: dict[str, Any], item: dict[str, Any], image: dict[str, Any], loc: str, out: Collected
) -> None:
    signed = {d.get("sha256") for d in (s.get("digest", {}) for s in summary.get("subjects", []))}
    digest = image.get("digest")
    if isinstance(digest, str) and digest.startswith("sha256:") and digest[7:] not in signed:
        out.report.error(
            f"{loc}/envelope/payload/subject", f"signed subjects do not include the image digest {digest}"
        )
    build = obj(item.get("build"))
    copy = build.get("intotoStatement")
    if isinstance(copy, dict) and isinstance(copy.get("subject"), list):
        unsigned = {
            d.get("sha256")
            for d in (s.get("digest", {}) for s in copy["subject"] if isinstance(s, dict))
            if isinstance(d, dict)
        }
        if unsigned != signed:
            out.report.error(
                f"{loc}/build/intotoStatement/subject",
                "unsigned statement's subjects differ from the signed payload's",
            )


def statement(doc: Any, out: Collected) -> None:
    from_statement(doc, "", out)
