"""The built-in rules and the built-in policies made of them.

``seed-default`` is the seed's gate, rule for rule and word for word. ``verified-evidence``
reads only what Maestro verified from uploaded content, never a declared flag. A rule
that cannot judge (no content, a format Maestro does not parse) fails and says why:
no rule passes in silence.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from maestro.checks import COMPLIANCE_RULE
from maestro.models import RunStatus
from maestro.policies.document import ArtifactFacts, InputDocument, Subject
from maestro.policies.facts import digest_set
from maestro.policies.model import BuiltinRule, Check, PolicySpec, spec

_MAX_LISTED = 5


def _ids(artifacts: list[ArtifactFacts]) -> tuple[str, ...]:
    return tuple(a.id for a in artifacts)


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:_MAX_LISTED])
    return shown + (f" and {len(items) - _MAX_LISTED} more" if len(items) > _MAX_LISTED else "")


def _of_type(doc: InputDocument, evidence_type: str) -> list[ArtifactFacts]:
    return [a for a in doc.artifacts if a.evidence is not None and a.evidence.evidence_type == evidence_type]


def _valid(artifacts: list[ArtifactFacts]) -> list[ArtifactFacts]:
    return [a for a in artifacts if a.evidence is not None and a.evidence.valid]


def _why_not(artifacts: list[ArtifactFacts], declared: str, what: str) -> str:
    """What stood in for the missing evidence, so a failure explains itself."""
    claims = [a for a in artifacts if getattr(a.declared, declared)]
    bare = [a.id for a in claims if a.evidence is None]
    broken = [
        f"{a.id} ({a.evidence.format}: {a.evidence.first_error or 'not valid'})"
        for a in artifacts
        if a.evidence is not None and a.evidence.evidence_type == what and not a.evidence.valid
    ]
    notes = []
    if bare:
        notes.append(
            f"declared {declared} without uploaded content, which Maestro cannot check: {_listed(bare)}"
        )
    if broken:
        notes.append(f"uploaded but not valid: {_listed(broken)}")
    return f" ({'; '.join(notes)})" if notes else ""


# ------------------------------------------------------------------ rules


def run_succeeded(doc: InputDocument) -> Check:
    status = doc.run.status
    if status is RunStatus.SUCCEEDED:
        return Check(True, "Run status is 'succeeded'")
    return Check(False, f"Run status is '{status.value}', but the release gate requires 'succeeded'")


def declared_compliant_artifact(doc: InputDocument) -> Check:
    """The seed's rule: an artifact declaring all three flags (declarations, not verified)."""
    ids = tuple(
        a.id
        for a in doc.artifacts
        if a.declared.sbom_present
        and a.declared.slsa_provenance_present
        and a.declared.risk_assessment_present
    )
    if ids:
        return Check(True, f"{len(ids)} compliant artifact(s) found", ids)
    checked = len(doc.artifacts)
    return Check(
        False, f"No artifacts meet compliance requirements: {COMPLIANCE_RULE} ({checked} artifact(s) checked)"
    )


def sbom_verified(doc: InputDocument) -> Check:
    found = [a for a in _valid(_of_type(doc, "sbom")) if a.verified.sbom]
    if found:
        return Check(True, f"{len(found)} SBOM(s) parsed and verified by Maestro", _ids(found))
    reason = _why_not(doc.artifacts, "sbom_present", "sbom")
    return Check(False, f"No SBOM whose uploaded content Maestro parsed and verified{reason}")


def _release_subjects(doc: InputDocument) -> tuple[list[Subject], str]:
    """The run's release subjects (metadata ``subjects``, else what verified SBOMs describe)
    and where they came from."""
    declared = doc.run.metadata.get("subjects")
    if isinstance(declared, list) and declared:
        subjects = []
        for item in declared:
            if isinstance(item, str) and ":" in item:
                alg, _, value = item.partition(":")
                subjects.append(Subject(name=None, digest=digest_set({alg: value})))
            elif isinstance(item, dict):
                name = item.get("name")
                subjects.append(
                    Subject(
                        name=name if isinstance(name, str) else None, digest=digest_set(item.get("digest"))
                    )
                )
        return subjects, "run metadata subjects"
    described = [
        a.evidence.described
        for a in _valid(_of_type(doc, "sbom"))
        if a.evidence is not None and a.evidence.described is not None and a.evidence.described.digest
    ]
    return described, "the component the SBOM describes"


def _covered(subject: Subject, provided: list[Subject]) -> bool:
    """Some provenance subject agrees with it on a digest algorithm both name."""
    return any(
        alg in other.digest and other.digest[alg] == value
        for other in provided
        for alg, value in subject.digest.items()
    )


def _label(subject: Subject) -> str:
    alg, value = min(subject.digest.items()) if subject.digest else ("?", "?")
    return f"{subject.name or 'subject'} ({alg}:{value[:16]})"


def provenance_covers_subjects(doc: InputDocument) -> Check:
    provenance = _valid(_of_type(doc, "slsa_provenance"))
    if not provenance:
        reason = _why_not(doc.artifacts, "slsa_provenance_present", "slsa_provenance")
        return Check(False, f"No valid SLSA provenance was uploaded{reason}")
    subjects, source = _release_subjects(doc)
    if not subjects:
        return Check(
            False,
            "No release subjects to check the provenance against: the run's metadata has no "
            "'subjects' and no verified SBOM describes a component with a hash",
            _ids(provenance),
        )
    unusable = [s for s in subjects if not s.digest]
    if unusable:
        return Check(
            False, f"{len(unusable)} release subject(s) in {source} carry no digest", _ids(provenance)
        )
    provided = [s for a in provenance if a.evidence is not None for s in a.evidence.subjects]
    missing = [_label(s) for s in subjects if not _covered(s, provided)]
    if not missing:
        return Check(
            True, f"SLSA provenance covers all {len(subjects)} subject(s) from {source}", _ids(provenance)
        )
    partial = [
        a.id
        for a in provenance
        if a.evidence is not None and a.evidence.subject_count > len(a.evidence.subjects)
    ]
    note = f"; provenance listing only part of its subjects: {_listed(partial)}" if partial else ""
    return Check(
        False,
        f"SLSA provenance does not cover {len(missing)} subject(s) from {source}: {_listed(missing)}{note}",
        _ids(provenance),
    )


def risk_no_open_high(doc: InputDocument) -> Check:
    assessments = [a for a in _valid(_of_type(doc, "risk_assessment")) if a.verified.risk_assessment]
    if not assessments:
        reason = _why_not(doc.artifacts, "risk_assessment_present", "risk_assessment")
        return Check(False, f"No risk assessment whose uploaded content Maestro parsed and verified{reason}")
    severe = [
        f"{a.id} ({a.evidence.open_high_or_critical} open)"
        for a in assessments
        if a.evidence is not None and (a.evidence.open_high_or_critical or 0) > 0
    ]
    if severe:
        return Check(
            False, f"Risk assessment has open high or critical risks: {_listed(severe)}", _ids(assessments)
        )
    return Check(
        True, f"{len(assessments)} risk assessment(s) with no open high or critical risk", _ids(assessments)
    )


def dsse_trusted_signature(doc: InputDocument) -> Check:
    provenance = _valid(_of_type(doc, "slsa_provenance"))
    if not provenance:
        return Check(False, "No valid SLSA provenance was uploaded, so no signature to check")
    untrusted = []
    for a in provenance:
        signature = a.evidence.signature if a.evidence is not None else None
        if signature is None:
            untrusted.append(f"{a.id} (not signed: an unsigned statement or a bare predicate)")
        elif signature.status != "verified":
            untrusted.append(f"{a.id} ({signature.status}: {signature.detail or 'no trusted key matched'})")
    if untrusted:
        return Check(False, f"Provenance not signed by a trusted key: {_listed(untrusted)}", _ids(provenance))
    return Check(True, f"{len(provenance)} provenance document(s) signed by trusted keys", _ids(provenance))


# OpenVEX "affected", CycloneDX "exploitable" (known affected) and "in_triage" (not yet
# analysed). Maestro's VEX summary counts statements by status; it does not keep whether an
# affected statement carries an action statement, so each one counts as unaddressed.
UNADDRESSED = ("affected", "exploitable", "in_triage")


def _unaddressed(artifact: ArtifactFacts) -> str:
    statuses = artifact.evidence.vex_statuses if artifact.evidence is not None else None
    return ", ".join(f"{n} {s}" for s, n in sorted((statuses or {}).items()) if s in UNADDRESSED and n)


def vex_no_unaddressed_affected(doc: InputDocument) -> Check:
    documents = [a for a in doc.artifacts if a.evidence is not None and a.evidence.vex_statuses is not None]
    broken = [a.id for a in _of_type(doc, "vex") if a.evidence is not None and not a.evidence.valid]
    if broken:
        return Check(
            False, f"VEX uploaded but not valid, so Maestro cannot read its statements: {_listed(broken)}"
        )
    if not documents:
        return Check(True, "No VEX statements attached, so none is known affected")
    open_ = [f"{a.id} ({_unaddressed(a)})" for a in documents if _unaddressed(a)]
    if open_:
        return Check(
            False, f"VEX statements known affected or not yet analysed: {_listed(open_)}", _ids(documents)
        )
    return Check(True, f"{len(documents)} VEX document(s) with no known-affected statement", _ids(documents))


def upstream_gates_passed(doc: InputDocument) -> Check:
    if not doc.upstream:
        return Check(True, "The run has no upstream runs")
    failing = [u.id for u in doc.upstream if not u.gate_passed]
    ids = tuple(u.id for u in doc.upstream)
    if failing:
        return Check(False, f"Upstream run(s) whose release gate fails: {_listed(failing)}", ids)
    return Check(True, f"All {len(ids)} upstream run(s) pass their release gate", ids)


RULES: dict[str, BuiltinRule] = {
    rule.name: rule
    for rule in (
        BuiltinRule("run-succeeded", "The run's status is succeeded.", run_succeeded),
        BuiltinRule(
            "declared-compliant-artifact",
            "An artifact declares all three flags (sbom, SLSA provenance, risk assessment): the seed's rule.",
            declared_compliant_artifact,
        ),
        BuiltinRule(
            "sbom-verified", "An SBOM whose uploaded content Maestro parsed and verified.", sbom_verified
        ),
        BuiltinRule(
            "provenance-covers-subjects",
            "Valid SLSA provenance whose subject digests cover the run's release subjects.",
            provenance_covers_subjects,
        ),
        BuiltinRule(
            "risk-no-open-high",
            "A verified risk assessment with no open high or critical risk.",
            risk_no_open_high,
        ),
        BuiltinRule(
            "dsse-trusted-signature", "Provenance signed (DSSE) by a trusted key.", dsse_trusted_signature
        ),
        BuiltinRule(
            "vex-no-unaddressed-affected",
            "No VEX statement known affected or still in triage.",
            vex_no_unaddressed_affected,
        ),
        BuiltinRule("upstream-gates-passed", "Every upstream run passes its gate.", upstream_gates_passed),
    )
}


@dataclass(frozen=True, slots=True)
class BuiltinPolicy:
    """Its rules in evaluation order: ``required`` always run, ``optional`` only when a
    version of the policy lists them in ``rules``."""

    name: str
    description: str
    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    def rules(self, enabled: set[str]) -> list[str]:
        return [*self.required, *(r for r in self.optional if r in enabled)]


POLICIES: dict[str, BuiltinPolicy] = {
    p.name: p
    for p in (
        BuiltinPolicy(
            "seed-default",
            "The seed's gate: the run succeeded and an artifact declares all three flags.",
            ("run-succeeded", "declared-compliant-artifact"),
            ("upstream-gates-passed",),
        ),
        BuiltinPolicy(
            "verified-evidence",
            "Verified evidence only: each check a rule of its own.",
            (
                "run-succeeded",
                "sbom-verified",
                "provenance-covers-subjects",
                "risk-no-open-high",
                "upstream-gates-passed",
            ),
            ("dsse-trusted-signature", "vex-no-unaddressed-affected"),
        ),
    )
}


@cache
def builtin_spec(name: str) -> PolicySpec:
    """A built-in policy as no one configured it: id ``builtin:<name>``, version 1."""
    return spec(f"builtin:{name}", 1, name, "builtin", builtin=name)


SEED_DEFAULT = builtin_spec("seed-default")
