"""Policies: create (a new name, or a new version of one), read, list; and the version
a gate evaluates under.

A version is immutable. A POST whose content is the same as the newest version's
(same digest) adds nothing and answers that version. Built-in policies no one stored
are readable as ``builtin:<name>`` (version 1), so ``?policy=builtin:verified-evidence``
needs no setup.
"""

from __future__ import annotations

from datetime import datetime

from maestro.errors import PolicyNotFound, ValidationFailed
from maestro.ids import uuid7
from maestro.models import Severity
from maestro.pagination import Cursor, Page
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.policies import builtins, model
from maestro.policies.contract import Policy, PolicyCreate, PolicyKind, RuleSetting
from maestro.policies.model import PolicySpec
from maestro.policies.rego_port import RegoEvaluator, default_evaluator
from maestro.policy_registry import repository
from maestro.policy_registry.repository import PolicyRecord, VersionRecord

BUILTIN_PREFIX = "builtin:"


def _settings(rules: list[RuleSetting]) -> tuple[model.RuleSetting, ...]:
    return tuple(model.RuleSetting(r.rule, r.severity, r.effective_on) for r in rules)


def _check_builtin(data: PolicyCreate) -> None:
    if data.module is not None:
        raise ValidationFailed.for_field("module", "is only for kind 'rego'")
    known = ", ".join(sorted(builtins.POLICIES))
    if data.builtin is None:
        raise ValidationFailed.for_field("builtin", f"is required for kind 'builtin' (one of: {known})")
    policy = builtins.POLICIES.get(data.builtin)
    if policy is None:
        raise ValidationFailed.for_field(
            "builtin", f"unknown built-in policy {data.builtin!r} (known: {known})"
        )
    allowed = {*policy.required, *policy.optional}
    unknown = sorted(r.rule for r in data.rules if r.rule not in allowed)
    if unknown:
        raise ValidationFailed.for_field(
            "rules",
            f"unknown rule(s) for built-in {data.builtin!r}: {', '.join(unknown)} "
            f"(its rules: {', '.join(sorted(allowed))})",
            unknown=unknown,
        )


def _check_rego(data: PolicyCreate, rego: RegoEvaluator) -> None:
    if data.builtin is not None:
        raise ValidationFailed.for_field("builtin", "is only for kind 'builtin'")
    if data.module is None or not data.module.strip():
        raise ValidationFailed.for_field("module", "is required for kind 'rego'")
    problem = rego.compile_error(data.module)
    if problem is not None:
        raise ValidationFailed.for_field("module", f"does not compile: {problem}")


def _policy(record: PolicyRecord, version: VersionRecord) -> Policy:
    return Policy.model_validate(
        {
            "id": record.id,
            "name": record.name,
            "version": version.version,
            "digest": version.digest,
            "kind": version.kind,
            "builtin": version.builtin,
            "module": version.module,
            "default_severity": version.default_severity,
            "rules": version.rules,
            "created_at": version.created_at,
        }
    )


def _policy_for(uow: UnitOfWork, name: str, now: datetime) -> tuple[PolicyRecord, bool]:
    """The policy of this name, row-locked (PostgreSQL) so that its versions are numbered
    one at a time, and whether this request created it."""
    record = repository.get_by_name(uow, name, for_update=True)
    if record is not None:
        return record, False
    fresh = PolicyRecord(uuid7(), name, now)
    if repository.insert_policy(uow, fresh):
        return fresh, True
    raced = repository.get_by_name(uow, name, for_update=True)  # another request created it meanwhile
    if raced is None:  # pragma: no cover - the unique constraint said it exists
        raise PolicyNotFound()
    return raced, False


def create_policy(
    uow: UnitOfWork, data: PolicyCreate, rego: RegoEvaluator | None = None
) -> tuple[Policy, bool]:
    """The new version (True), or the newest one when nothing changed (False)."""
    if data.kind is PolicyKind.BUILTIN:
        _check_builtin(data)
    else:
        _check_rego(data, rego or default_evaluator())
    settings = _settings(data.rules)
    content = model.content(
        data.name, data.kind.value, data.builtin, data.module, data.default_severity, settings
    )
    digest = model.content_digest(content)
    now = uow.clock()
    (record, created), number = _policy_for(uow, data.name, now), 1
    if not created:  # an existing policy: its next version, unless unchanged
        latest = repository.latest_versions(uow, [record.id])[record.id]
        if latest.digest == digest:
            return _policy(record, latest), False
        number = latest.version + 1
    version = VersionRecord(
        record.id,
        number,
        data.kind.value,
        data.builtin,
        data.module,
        data.default_severity.value if data.default_severity else None,
        content["rules"],
        digest,
        now,
    )
    repository.insert_version(uow, version)
    policy = _policy(record, version)
    uow.record("policy.create" if number == 1 else "policy.version", "policy", record.id, policy)
    return policy, True


def _builtin_policy(policy_id: str) -> Policy:
    name = policy_id.removeprefix(BUILTIN_PREFIX)
    if name not in builtins.POLICIES:
        raise PolicyNotFound()
    spec = builtins.builtin_spec(name)
    return Policy(id=spec.id, name=name, version=1, digest=spec.digest, kind=PolicyKind.BUILTIN, builtin=name)


def get_policy(uow: UnitOfWork, policy_id: str) -> Policy:
    if policy_id.startswith(BUILTIN_PREFIX):
        return _builtin_policy(policy_id)
    record = repository.get_policy(uow, policy_id)
    if record is None:
        raise PolicyNotFound()
    return _policy(record, repository.latest_versions(uow, [record.id])[record.id])


def list_versions(uow: UnitOfWork, policy_id: str) -> list[Policy]:
    if policy_id.startswith(BUILTIN_PREFIX):
        return [_builtin_policy(policy_id)]
    record = repository.get_policy(uow, policy_id)
    if record is None:
        raise PolicyNotFound()
    return [_policy(record, v) for v in repository.versions(uow, policy_id)]


def list_policies(uow: UnitOfWork, page: Page) -> tuple[list[Policy], Cursor | None]:
    """The newest version of each policy."""
    records = repository.list_policies(uow, page)
    shown = records[: page.limit]
    latest = repository.latest_versions(uow, [r.id for r in shown])
    items = [_policy(r, latest[r.id]) for r in shown]
    after = Cursor(shown[-1].created_at, shown[-1].id) if len(records) > page.limit else None
    return items, after


def policy_exists(scope: Scope, policy_id: str, version: int | None = None) -> bool:
    record = repository.get_policy(scope, policy_id)
    if record is None:
        return False
    return version is None or any(v.version == version for v in repository.versions(scope, policy_id))


def spec_in_force(scope: Scope, policy_id: str, version: int | None, at: datetime) -> PolicySpec:
    """The version a gate evaluates under: pinned, or the newest created by ``at``.
    PolicyNotFound for an unknown (or another tenant's) id or version; ValidationFailed
    (field ``as_of``) when the policy had no version yet at ``at``."""
    if policy_id.startswith(BUILTIN_PREFIX):
        _builtin_policy(policy_id)
        if version not in (None, 1):
            raise PolicyNotFound(f"Built-in policy {policy_id} has only version 1")
        return builtins.builtin_spec(policy_id.removeprefix(BUILTIN_PREFIX))
    record = repository.get_policy(scope, policy_id)
    if record is None:
        raise PolicyNotFound()
    row = repository.version_in_force(scope, policy_id, version, at)
    if row is None:
        if version is not None:
            raise PolicyNotFound(f"Policy {policy_id} has no version {version}")
        raise ValidationFailed.for_field(
            "as_of", f"policy {record.name!r} had no version yet at {at.isoformat()}"
        )
    rules = tuple(
        model.RuleSetting(
            r["rule"],
            Severity(r["severity"]) if r.get("severity") else None,
            datetime.fromisoformat(r["effective_on"]).date() if r.get("effective_on") else None,
        )
        for r in row.rules
    )
    return PolicySpec(
        id=record.id,
        name=record.name,
        version=row.version,
        kind="rego" if row.kind == "rego" else "builtin",
        builtin=row.builtin,
        module=row.module,
        default_severity=Severity(row.default_severity) if row.default_severity else None,
        rules=rules,
        digest=row.digest,
    )
