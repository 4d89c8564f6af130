"""The signed SLSA Verification Summary of one gate evaluation.

Subjects: ``release-gate/<run id>`` with the SHA-256 of the answer's RFC 8785 bytes
(so the VSA names exactly the answer it vouches for), and every artifact of the run
whose content Maestro holds, with its content digest. The policy is named by its
Maestro URI and its digest. Signed as a DSSE envelope with the server's Ed25519 key
(``GET /maestro/keys``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from maestro.attestations import dsse_sign, statement, vsa
from maestro.pack_archive.layout import GATE_SUBJECT, PASSED_LEVEL, gate_digest


def answer_digest(answer: Mapping[str, Any]) -> str:
    """Hex SHA-256 of a gate answer's RFC 8785 bytes (what ``maestro pack verify`` checks)."""
    return gate_digest(dict(answer))


def gate_vsa(
    *,
    key: Ed25519PrivateKey,
    key_id: str,
    deployment: str,
    answer: Mapping[str, Any],
    artifacts: Sequence[tuple[str, str]],
    digest: str | None = None,
) -> dict[str, Any]:
    """The DSSE envelope of the VSA for ``answer`` (the gate's JSON); ``artifacts`` are
    (artifact id, hex sha256 of its content) of the run's artifacts with content;
    ``digest`` is ``answer_digest(answer)`` when the caller has it already."""
    run_id = str(answer["run_id"])
    policy = answer.get("policy") or {}
    subjects = [statement.Subject(GATE_SUBJECT + run_id, {"sha256": digest or answer_digest(answer)})]
    subjects += [statement.Subject(f"artifacts/{aid}", {"sha256": d}) for aid, d in sorted(artifacts)]
    policy_digest = str(policy.get("digest", ""))
    algo, _, hexdigest = policy_digest.partition(":")
    summary = vsa.Summary(
        verifier_id=f"https://{deployment}/maestro",
        time_verified=str(answer["evaluated_at"]),
        resource_uri=f"https://{deployment}/maestro/runs/{run_id}",
        policy_uri=f"https://{deployment}/maestro/policies/{policy.get('id')}?version={policy.get('version')}",
        policy_digest={algo: hexdigest} if hexdigest else {},
        passed=bool(answer["passed"]),
        verified_levels=(PASSED_LEVEL,),
        input_attestations=tuple((f"artifacts/{aid}", {"sha256": d}) for aid, d in sorted(artifacts)),
    )
    payload = vsa.build(subjects, summary).encode()
    return dsse_sign.sign(statement.PAYLOAD_TYPE, payload, key, key_id)
