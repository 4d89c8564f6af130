"""The pure engine: each built-in rule passing and failing, severity, effective_on,
waivers, Rego through the port, and the verdict derived from the results."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import pytest

from maestro.models import ArtifactKind, RunStatus, Severity
from maestro.policies import builtins, engine
from maestro.policies.model import RuleSetting, Waiver, spec
from maestro.policies.rego_port import Outcome, Unavailable
from tests.maestro.policies.support import (
    APP_DIGEST,
    NOW,
    complete,
    declared,
    doc,
    openvex,
    provenance,
    risk,
    sbom,
    signed,
    signing_key,
    statement,
    uploaded,
)

VERIFIED = builtins.builtin_spec("verified-evidence")


def results(policy: Any, document: Any, **kwargs: Any) -> dict[str, Any]:
    return {r.rule: r for r in engine.evaluate(policy, document, **kwargs).results}


def verified_with(*rules: str, **kwargs: Any) -> Any:
    return spec(
        "p",
        1,
        "p",
        "builtin",
        builtin="verified-evidence",
        rules=tuple(RuleSetting(r) for r in rules),
        **kwargs,
    )


# ---------------------------------------------------------------- seed-default


def test_seed_default_reports_both_reasons_in_the_seeds_words() -> None:
    verdict = engine.evaluate(builtins.SEED_DEFAULT, doc(declared("a", True), status=RunStatus.RUNNING))
    assert verdict.passed is False
    assert verdict.details.reasons == [
        "Run status is 'running', but the release gate requires 'succeeded'",
        "No artifacts meet compliance requirements: at least one artifact must have sbom_present, "
        "slsa_provenance_present and risk_assessment_present all set to true (1 artifact(s) checked)",
    ]
    assert verdict.message == "; ".join(verdict.details.reasons)
    assert [(r.rule, r.status.value) for r in verdict.results] == [
        ("run-succeeded", "failed"),
        ("declared-compliant-artifact", "failed"),
    ]


def test_seed_default_passes_on_declarations_alone() -> None:
    verdict = engine.evaluate(
        builtins.SEED_DEFAULT, doc(declared("a", True, True, True), declared("b", True, at=1))
    )
    assert verdict.passed is True
    assert verdict.message == "Release gate passed: 1 compliant artifact(s) found"
    assert verdict.details.compliant_artifact_ids == ["a"]
    assert verdict.results[1].evidence == ["a"]
    assert verdict.policy is not None
    assert verdict.policy.id == "builtin:seed-default"


# --------------------------------------------------------- verified-evidence


def test_verified_evidence_passes_with_verified_content() -> None:
    verdict = engine.evaluate(VERIFIED, doc(*complete()))
    assert verdict.passed is True, verdict.message
    assert verdict.message == "Release gate passed: 5 of 5 rule(s) passed"
    found = {r.rule: r for r in verdict.results}
    assert found["sbom-verified"].evidence == ["sbom"]
    assert found["provenance-covers-subjects"].message == (
        "SLSA provenance covers all 1 subject(s) from the component the SBOM describes"
    )
    assert found["risk-no-open-high"].evidence == ["risk"]


def test_declared_flags_do_not_satisfy_verified_evidence() -> None:
    found = results(VERIFIED, doc(declared("readme", True, True, True)))
    for rule in ("sbom-verified", "provenance-covers-subjects", "risk-no-open-high"):
        assert found[rule].status.value == "failed"
        assert "without uploaded content, which Maestro cannot check: readme" in found[rule].message


def test_sbom_that_does_not_parse_fails_and_says_why() -> None:
    broken = uploaded("bad", b'{"bomFormat": "CycloneDX", "specVersion": "9.9"}', ArtifactKind.SBOM)
    found = results(VERIFIED, doc(broken))
    assert found["sbom-verified"].status.value == "failed"
    assert "uploaded but not valid: bad (cyclonedx-json:" in found["sbom-verified"].message


def test_provenance_must_cover_the_sbom_subject() -> None:
    artifacts = complete()
    artifacts[1] = uploaded("prov", provenance("c" * 64), ArtifactKind.SLSA_PROVENANCE, at=1)
    found = results(VERIFIED, doc(*artifacts))["provenance-covers-subjects"]
    assert found.status.value == "failed"
    assert found.message.startswith("SLSA provenance does not cover 1 subject(s) from the component the SBOM")
    assert found.evidence == ["prov"]


def test_run_metadata_subjects_take_precedence_over_the_sbom() -> None:
    other = "d" * 64
    found = results(VERIFIED, doc(*complete(), subjects=[f"sha256:{other}"]))["provenance-covers-subjects"]
    assert found.status.value == "failed"
    assert "from run metadata subjects" in found.message
    both = [*complete()[:1], uploaded("prov", provenance(APP_DIGEST, other), ArtifactKind.SLSA_PROVENANCE)]
    meta = [{"name": "app", "digest": {"SHA-256": other.upper()}}, f"sha256:{APP_DIGEST}"]
    covered = results(VERIFIED, doc(*both, subjects=meta))["provenance-covers-subjects"]
    assert covered.status.value == "passed", covered.message


def test_no_release_subjects_is_a_failure_not_a_pass() -> None:
    artifacts = [uploaded("sbom", sbom(with_hash=False), ArtifactKind.SBOM), *complete()[1:]]
    found = results(VERIFIED, doc(*artifacts))["provenance-covers-subjects"]
    assert found.status.value == "failed"
    assert found.message.startswith("No release subjects to check the provenance against")


def test_open_high_risk_fails() -> None:
    artifacts = [*complete()[:2], uploaded("risk", risk(open_high=True), ArtifactKind.RISK_ASSESSMENT)]
    found = results(VERIFIED, doc(*artifacts))["risk-no-open-high"]
    assert found.status.value == "failed"
    assert found.message == "Risk assessment has open high or critical risks: risk (1 open)"


def test_run_not_succeeded_fails_verified_evidence() -> None:
    assert (
        results(VERIFIED, doc(*complete(), status=RunStatus.FAILED))["run-succeeded"].status.value == "failed"
    )


def test_optional_rules_run_only_when_listed() -> None:
    assert "dsse-trusted-signature" not in results(VERIFIED, doc(*complete()))
    listed = results(verified_with("dsse-trusted-signature"), doc(*complete()))["dsse-trusted-signature"]
    assert listed.status.value == "failed"
    assert "prov (not signed" in listed.message


def test_dsse_signature_from_a_trusted_key_passes() -> None:
    key, trusted = signing_key()
    envelope = signed(statement(APP_DIGEST), key)
    artifacts = complete()
    artifacts[1] = uploaded("prov", envelope, ArtifactKind.SLSA_PROVENANCE, trusted, at=1)
    policy = verified_with("dsse-trusted-signature")
    assert results(policy, doc(*artifacts))["dsse-trusted-signature"].status.value == "passed"
    artifacts[1] = uploaded("prov", envelope, ArtifactKind.SLSA_PROVENANCE, at=1)  # key not trusted
    untrusted = results(policy, doc(*artifacts))["dsse-trusted-signature"]
    assert untrusted.status.value == "failed"
    assert "prov (unverified:" in untrusted.message


@pytest.mark.parametrize(("status", "passes"), [("affected", False), ("not_affected", True), ("fixed", True)])
def test_vex_known_affected_fails(status: str, passes: bool) -> None:
    policy = verified_with("vex-no-unaddressed-affected")
    found = results(policy, doc(*complete(), uploaded("vex", openvex(status), at=3)))[
        "vex-no-unaddressed-affected"
    ]
    assert (found.status.value == "passed") is passes, found.message
    if not passes:
        assert found.message == "VEX statements known affected or not yet analysed: vex (1 affected)"


def test_no_vex_passes_and_says_so() -> None:
    found = results(verified_with("vex-no-unaddressed-affected"), doc(*complete()))[
        "vex-no-unaddressed-affected"
    ]
    assert (found.status.value, found.message) == (
        "passed",
        "No VEX statements attached, so none is known affected",
    )


def test_upstream_gates() -> None:
    from maestro.policies import document
    from maestro.policies.document import UpstreamRun
    from tests.maestro.policies.support import run

    upstream = [
        UpstreamRun(id="u2", status=RunStatus.SUCCEEDED, gate_passed=False),
        UpstreamRun(id="u1", status=RunStatus.SUCCEEDED, gate_passed=True),
    ]
    found = results(VERIFIED, document.build(run(), complete(), upstream, NOW))["upstream-gates-passed"]
    assert (found.status.value, found.evidence) == ("failed", ["u1", "u2"])
    assert found.message == "Upstream run(s) whose release gate fails: u2"
    alone = results(VERIFIED, doc(*complete()))["upstream-gates-passed"]
    assert (alone.status.value, alone.message) == ("passed", "The run has no upstream runs")


# --------------------------------------------------- severity and rollout


def test_severity_rule_over_policy_over_tenant() -> None:
    failing = doc(declared("a"), status=RunStatus.FAILED)
    rules = (RuleSetting("run-succeeded", Severity.BLOCKING),)
    policy = spec(
        "p", 1, "p", "builtin", builtin="seed-default", default_severity=Severity.ADVISORY, rules=rules
    )
    found = results(policy, failing, tenant_severity=Severity.BLOCKING)
    assert found["run-succeeded"].severity is Severity.BLOCKING
    assert found["declared-compliant-artifact"].severity is Severity.ADVISORY
    inherited = spec("q", 1, "q", "builtin", builtin="seed-default")
    assert (
        results(inherited, failing, tenant_severity=Severity.ADVISORY)["run-succeeded"].severity
        is Severity.ADVISORY
    )
    assert results(inherited, failing)["run-succeeded"].severity is Severity.BLOCKING


def test_advisory_failure_passes_the_gate_and_is_named() -> None:
    policy = spec(
        "p",
        1,
        "p",
        "builtin",
        builtin="seed-default",
        rules=(RuleSetting("run-succeeded", Severity.ADVISORY),),
    )
    verdict = engine.evaluate(policy, doc(declared("a", True, True, True), status=RunStatus.RUNNING))
    assert verdict.passed is True
    assert verdict.details.reasons == []
    assert (
        verdict.message
        == "Release gate passed: 1 compliant artifact(s) found (advisory failures: run-succeeded)"
    )


def test_effective_on_turns_a_failure_into_a_warning_until_that_date() -> None:
    setting = RuleSetting("risk-no-open-high", effective_on=date(2026, 12, 10))
    policy = spec("p", 1, "p", "builtin", builtin="verified-evidence", rules=(setting,))
    artifacts = [*complete()[:2], uploaded("risk", risk(open_high=True), ArtifactKind.RISK_ASSESSMENT)]
    before = engine.evaluate(policy, doc(*artifacts, at=NOW))
    assert before.passed is True
    found = {r.rule: r for r in before.results}["risk-no-open-high"]
    assert (found.status.value, found.effective_on) == ("warning", date(2026, 12, 10))
    assert before.message.endswith("(warnings: risk-no-open-high)")
    on_the_day = engine.evaluate(policy, doc(*artifacts, at=NOW + timedelta(days=8)))
    assert on_the_day.passed is False
    assert {r.rule: r for r in on_the_day.results}["risk-no-open-high"].status.value == "failed"


def test_an_active_waiver_waives_until_it_expires() -> None:
    waiver = Waiver("run-succeeded", "hotfix approved", "admin@example.com", NOW + timedelta(hours=1))
    failing = doc(declared("a", True, True, True), status=RunStatus.RUNNING)
    verdict = engine.evaluate(builtins.SEED_DEFAULT, failing, waivers=[waiver])
    assert verdict.passed is True
    found = verdict.results[0]
    assert found.status.value == "waived"
    assert found.waiver is not None
    assert (found.waiver.by, found.waiver.reason) == (
        "admin@example.com",
        "hotfix approved",
    )
    later = doc(declared("a", True, True, True), status=RunStatus.RUNNING, at=NOW + timedelta(hours=1))
    assert engine.evaluate(builtins.SEED_DEFAULT, later, waivers=[waiver]).passed is False
    passing = engine.evaluate(builtins.SEED_DEFAULT, doc(declared("a", True, True, True)), waivers=[waiver])
    assert passing.results[0].status.value == "passed"
    assert passing.results[0].waiver is None


# ------------------------------------------------------------------- Rego


@dataclass(frozen=True)
class Found:
    rule: str
    message: str


class FakeRego:
    def __init__(self, outcome: Outcome) -> None:
        self.outcome = outcome
        self.inputs: list[dict[str, Any]] = []

    def compile_error(self, module: str) -> str | None:
        return None

    def evaluate(self, module: str, input: dict[str, Any], *, timeout_s: float, memory_bytes: int) -> Outcome:  # noqa: A002
        self.inputs.append(input)
        return self.outcome


REGO = spec(
    "r",
    2,
    "team",
    "rego",
    module="package maestro",
    rules=(RuleSetting("needs-tests", effective_on=None), RuleSetting("owner-set")),
)


def test_rego_violations_warnings_and_listed_rules() -> None:
    rego = FakeRego(
        Outcome(
            violations=[Found("needs-tests", "no test report"), Found("extra", "b"), Found("extra", "a")],
            warnings=[Found("style", "w")],
        )
    )
    verdict = engine.evaluate(REGO, doc(declared("a")), rego=rego)
    assert [(r.rule, r.status.value, r.severity.value, r.message) for r in verdict.results] == [
        ("extra", "failed", "blocking", "a; b"),
        ("needs-tests", "failed", "blocking", "no test report"),
        ("owner-set", "passed", "blocking", "No violation"),
        ("style", "warning", "advisory", "w"),
    ]
    assert verdict.passed is False
    assert rego.inputs[0]["run"]["id"] == "run-1"
    assert rego.inputs[0]["schema"] == "https://maestro.dev/policy-input/v1"


def test_rego_error_fails_closed_and_skips_its_rules() -> None:
    verdict = engine.evaluate(REGO, doc(declared("a")), rego=FakeRego(Outcome(error="killed after 2.0 s")))
    assert verdict.passed is False
    assert verdict.message == "Rego evaluation failed: killed after 2.0 s"
    assert [r.status.value for r in verdict.results] == ["failed", "skipped", "skipped"]


def test_rego_without_an_evaluator_says_so() -> None:
    verdict = engine.evaluate(REGO, doc(declared("a")), rego=Unavailable())
    assert verdict.passed is False
    assert "none was given" in verdict.message
