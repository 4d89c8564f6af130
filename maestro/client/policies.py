"""The SDK's release-policy calls, mixed into ``MaestroClient``."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any
from urllib.parse import quote

import httpx

from maestro.client import pages
from maestro.client.transport import Call, Transport
from maestro.client.wire import build, decode, decode_list, encode
from maestro.errors import PolicyAssignmentNotFound
from maestro.models import ReleaseGateResult
from maestro.policies.contract import Policy, PolicyAssignment, PolicyAssignmentCreate, PolicyCreate


def _path(*parts: str) -> str:
    return "/maestro/" + "/".join(quote(part, safe="") for part in parts)


class PolicyCalls:
    """Policies, their assignments, and the gate under a chosen policy. Creating a policy
    is safe to repeat (same content, same version), creating an assignment carries an
    Idempotency-Key; reads are repeatable."""

    _transport: Transport

    def _send(self, call: Call) -> httpx.Response:
        raise NotImplementedError

    def release_gate(
        self,
        run_id: str,
        *,
        policy: str | None = None,
        policy_version: int | None = None,
        as_of: datetime | date | None = None,
    ) -> ReleaseGateResult:
        """The verdict under the run's assigned policy, or under ``policy`` (an id or
        ``builtin:<name>``, optionally ``policy_version``); ``as_of`` judges the rules as
        they stood then (a date means its start in UTC)."""
        params: dict[str, Any] = {}
        if policy is not None:
            params["policy"] = policy
        if policy_version is not None:
            params["policy_version"] = policy_version
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        call = Call("GET", _path("runs", run_id, "release-gate"), params=params or None)
        return decode(ReleaseGateResult, self._send(call).content)

    def create_policy(self, data: PolicyCreate | None = None, /, **fields: Any) -> Policy:
        """A new policy, or the next version of the one with this name (the newest version,
        unchanged, when the content is the same)."""
        body = encode(build(PolicyCreate, data, fields))
        return decode(Policy, self._send(Call.create("/maestro/policies", body)).content)

    def get_policy(self, policy_id: str) -> Policy:
        return decode(Policy, self._send(Call("GET", _path("policies", policy_id))).content)

    def policy_versions(self, policy_id: str) -> list[Policy]:
        return decode_list(Policy, self._send(Call("GET", _path("policies", policy_id, "versions"))).content)

    def list_policies(self, *, limit: int | None = None, page_size: int = 100) -> Iterator[Policy]:
        return pages.paginate(
            self._transport,
            "/maestro/policies",
            {},
            lambda content: decode_list(Policy, content),
            limit=limit,
            page_size=page_size,
        )

    def assign_policy(self, data: PolicyAssignmentCreate | None = None, /, **fields: Any) -> PolicyAssignment:
        """``policy_id`` alone: the tenant default; with ``owner`` or ``metadata``: an override."""
        body = encode(build(PolicyAssignmentCreate, data, fields))
        return decode(PolicyAssignment, self._send(Call.create("/maestro/policy-assignments", body)).content)

    def get_policy_assignment(self, assignment_id: str) -> PolicyAssignment:
        return decode(
            PolicyAssignment, self._send(Call("GET", _path("policy-assignments", assignment_id))).content
        )

    def list_policy_assignments(
        self, *, limit: int | None = None, page_size: int = 100
    ) -> Iterator[PolicyAssignment]:
        return pages.paginate(
            self._transport,
            "/maestro/policy-assignments",
            {},
            lambda content: decode_list(PolicyAssignment, content),
            limit=limit,
            page_size=page_size,
        )

    def delete_policy_assignment(self, assignment_id: str) -> None:
        """A 404 on a repeated attempt means the first, whose answer was lost, deleted it."""
        call = Call("DELETE", _path("policy-assignments", assignment_id))
        try:
            self._send(call)
        except PolicyAssignmentNotFound:
            if call.attempts <= 1:
                raise
