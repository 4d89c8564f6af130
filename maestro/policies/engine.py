"""A policy version and an input document in, a verdict out. Pure: same arguments, same
verdict, byte for byte.

Each rule's finding becomes a result: ``passed``, or ``failed`` - reported as
``warning`` while the instant judged is before the rule's ``effective_on`` date (UTC),
and as ``waived`` while an active waiver of that rule covers it. Severity: the rule's
own setting, else the policy's ``default_severity``, else the tenant's. The gate passes
when no result is ``failed`` and ``blocking``; ``details.reasons`` are the messages of
those results, and ``message`` is derived from the results.
"""

from __future__ import annotations

from collections.abc import Sequence

from maestro.models import (
    PolicyRef,
    ReleaseGateDetails,
    ReleaseGateResult,
    RuleResult,
    RuleStatus,
    Severity,
    WaiverInfo,
)
from maestro.policies import builtins, document
from maestro.policies.document import InputDocument
from maestro.policies.model import Check, PolicySpec, Waiver
from maestro.policies.rego_port import MEMORY_BYTES, TIMEOUT_S, RegoEvaluator, Unavailable

REGO_ERROR_RULE = "rego-evaluation"


def _finding_result(
    policy: PolicySpec, rule: str, check: Check, tenant_severity: Severity, doc: InputDocument
) -> RuleResult:
    setting = policy.setting(rule)
    severity = (setting.severity if setting else None) or policy.default_severity or tenant_severity
    effective_on = setting.effective_on if setting else None
    status = RuleStatus.PASSED if check.passed else RuleStatus.FAILED
    if status is RuleStatus.FAILED and effective_on is not None and doc.evaluated_at.date() < effective_on:
        status = RuleStatus.WARNING
    return RuleResult.model_construct(
        rule=rule,
        status=status,
        severity=severity,
        message=check.message,
        evidence=list(check.evidence),
        effective_on=effective_on,
        waiver=None,
    )


def _builtin_results(policy: PolicySpec, doc: InputDocument, tenant_severity: Severity) -> list[RuleResult]:
    spec = builtins.POLICIES[policy.builtin or ""]
    names = spec.rules({s.rule for s in policy.rules})
    return [
        _finding_result(policy, name, builtins.RULES[name].check(doc), tenant_severity, doc) for name in names
    ]


def _rego_results(
    policy: PolicySpec, doc: InputDocument, tenant_severity: Severity, rego: RegoEvaluator
) -> list[RuleResult]:
    outcome = rego.evaluate(
        policy.module or "", document.document_json(doc), timeout_s=TIMEOUT_S, memory_bytes=MEMORY_BYTES
    )
    if outcome.error is not None:
        failed = RuleResult.model_construct(
            rule=REGO_ERROR_RULE,
            status=RuleStatus.FAILED,
            severity=Severity.BLOCKING,  # a module that cannot answer never lets a release through
            message=f"Rego evaluation failed: {outcome.error}",
            evidence=[],
            effective_on=None,
            waiver=None,
        )
        skipped = [
            RuleResult.model_construct(
                rule=s.rule,
                status=RuleStatus.SKIPPED,
                severity=s.severity or policy.default_severity or tenant_severity,
                message="Not judged: the Rego module did not answer",
                evidence=[],
                effective_on=s.effective_on,
                waiver=None,
            )
            for s in policy.rules
        ]
        return [failed, *skipped]
    messages: dict[str, list[str]] = {}
    for violation in outcome.violations:
        messages.setdefault(violation.rule, []).append(violation.message)
    results = [
        _finding_result(policy, rule, Check(False, "; ".join(sorted(set(found)))), tenant_severity, doc)
        for rule, found in messages.items()
    ]
    results += [
        _finding_result(policy, s.rule, Check(True, "No violation"), tenant_severity, doc)
        for s in policy.rules
        if s.rule not in messages
    ]
    warned: dict[str, list[str]] = {}
    for warning in outcome.warnings:
        warned.setdefault(warning.rule, []).append(warning.message)
    results += [
        RuleResult.model_construct(
            rule=rule,
            status=RuleStatus.WARNING,
            severity=Severity.ADVISORY,
            message="; ".join(sorted(set(found))),
            evidence=[],
            effective_on=None,
            waiver=None,
        )
        for rule, found in warned.items()
    ]
    return sorted(results, key=lambda r: (r.rule, r.status.value))


def _waive(results: list[RuleResult], waivers: Sequence[Waiver], doc: InputDocument) -> None:
    """Failures (and not-yet-in-force failures) an active waiver covers become ``waived``;
    of several waivers of one rule, the one lasting longest is shown."""
    active: dict[str, Waiver] = {}
    for waiver in waivers:
        if waiver.until > doc.evaluated_at:
            best = active.get(waiver.rule)
            if best is None or (waiver.until, waiver.by, waiver.reason) > (best.until, best.by, best.reason):
                active[waiver.rule] = waiver
    for result in results:
        found = active.get(result.rule)
        if found is not None and result.status in (RuleStatus.FAILED, RuleStatus.WARNING):
            result.status = RuleStatus.WAIVED
            result.waiver = WaiverInfo.model_construct(by=found.by, reason=found.reason, until=found.until)


def _blocking(results: list[RuleResult]) -> list[RuleResult]:
    return [r for r in results if r.status is RuleStatus.FAILED and r.severity is Severity.BLOCKING]


def message_of(policy: PolicySpec, results: list[RuleResult], compliant: int) -> str:
    """The failing reasons joined, or the pass with what did not pass beside it."""
    blocking = _blocking(results)
    if blocking:
        return "; ".join(r.message for r in blocking)
    if policy.kind == "builtin" and policy.builtin == "seed-default":
        head = f"Release gate passed: {compliant} compliant artifact(s) found"
    else:
        passed = sum(r.status is RuleStatus.PASSED for r in results)
        head = f"Release gate passed: {passed} of {len(results)} rule(s) passed"
    notes = []
    for status, label in (
        (RuleStatus.FAILED, "advisory failures"),
        (RuleStatus.WARNING, "warnings"),
        (RuleStatus.WAIVED, "waived"),
        (RuleStatus.SKIPPED, "skipped"),
    ):
        names = [r.rule for r in results if r.status is status]
        if names:
            notes.append(f"{label}: {', '.join(names)}")
    return head + (f" ({'; '.join(notes)})" if notes else "")


def rule_results(
    policy: PolicySpec,
    doc: InputDocument,
    *,
    tenant_severity: Severity = Severity.BLOCKING,
    waivers: Sequence[Waiver] = (),
    rego: RegoEvaluator | None = None,
) -> list[RuleResult]:
    """Each rule's result, as ``evaluate`` reports them; the gate passes when none is
    ``failed`` and ``blocking``. For callers that judge many documents and need only the
    verdict (a dry-run), without the message and input digest ``evaluate`` adds."""
    if policy.kind == "rego":
        results = _rego_results(policy, doc, tenant_severity, rego or Unavailable())
    else:
        results = _builtin_results(policy, doc, tenant_severity)
    _waive(results, waivers, doc)
    return results


def evaluate(
    policy: PolicySpec,
    doc: InputDocument,
    *,
    tenant_severity: Severity = Severity.BLOCKING,
    waivers: Sequence[Waiver] = (),
    rego: RegoEvaluator | None = None,
) -> ReleaseGateResult:
    """The verdict of ``policy`` on ``doc``."""
    results = rule_results(policy, doc, tenant_severity=tenant_severity, waivers=waivers, rego=rego)
    compliant = builtins.declared_compliant_artifact(doc).evidence
    reasons = [r.message for r in _blocking(results)]
    return ReleaseGateResult.model_construct(
        run_id=doc.run.id,
        passed=not reasons,
        message=message_of(policy, results, len(compliant)),
        details=ReleaseGateDetails.model_construct(
            total_artifacts=len(doc.artifacts),
            compliant_artifacts=len(compliant),
            compliant_artifact_ids=list(compliant),
            reasons=reasons,
        ),
        policy=PolicyRef.model_construct(
            id=policy.id, name=policy.name, version=policy.version, digest=policy.digest
        ),
        results=results,
        evaluated_at=doc.evaluated_at,
        input_digest=document.input_digest(doc),
    )
