"""The SDK's gate reports, mixed into ``MaestroClient``: a verdict rendered for CI (JUnit
XML, Markdown) and a policy dry-run. Both only read, so both are safe to repeat."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx

from maestro.client.pages import query
from maestro.client.transport import Call
from maestro.client.wire import build, decode
from maestro.policies.dry_run import DryRunRequest, DryRunResult, RunFilters

ReportFormat = Literal["junit", "markdown"]
ACCEPT: dict[str, str] = {"junit": "application/xml", "markdown": "text/markdown"}
_FILTERS = frozenset(RunFilters.model_fields)


def _path(*parts: str) -> str:
    return "/maestro/" + "/".join(quote(part, safe="") for part in parts)


class GateReportCalls:
    def _send(self, call: Call) -> httpx.Response:
        raise NotImplementedError

    def release_gate_report(
        self,
        run_id: str,
        format: ReportFormat = "junit",  # noqa: A002 - the name the CLI and docs use
        *,
        policy: str | None = None,
        policy_version: int | None = None,
        as_of: datetime | date | None = None,
    ) -> str:
        """The verdict as the server renders it for CI: ``junit`` (JUnit XML) or
        ``markdown`` (a step summary). The same arguments as ``release_gate``."""
        if format not in ACCEPT:
            raise ValueError(f"format must be one of {', '.join(ACCEPT)}, not {format!r}")
        params = query({"policy": policy, "policy_version": policy_version})
        if as_of is not None:
            params["as_of"] = as_of.isoformat()
        call = Call(
            "GET",
            _path("runs", run_id, "release-gate"),
            params=params or None,
            headers={"Accept": ACCEPT[format]},
        )
        return self._send(call).text

    def dry_run_policy(
        self,
        policy_id: str,
        *,
        version: int | None = None,
        limit: int | None = None,
        max_changed: int | None = None,
        cursor: str | None = None,
        **filters: Any,
    ) -> DryRunResult:
        """The runs matching ``filters`` (``owner``, ``status``, ``entity_id``,
        ``decision_id``, ``started_after``, ``started_before``) whose verdict would change
        under ``version`` of the policy (default: its newest). Writes nothing, so a retry
        is harmless; continue a ``truncated`` answer with ``cursor=result.next_cursor``."""
        unknown = sorted(set(filters) - _FILTERS)
        if unknown:
            raise TypeError(
                f"unknown run filter(s): {', '.join(unknown)} (known: {', '.join(sorted(_FILTERS))})"
            )
        fields: dict[str, Any] = {
            "version": version,
            "limit": limit,
            "max_changed": max_changed,
            "cursor": cursor,
        }
        fields = {k: v for k, v in fields.items() if v is not None}
        if filters:
            fields["filters"] = {k: v for k, v in filters.items() if v is not None}
        body = build(DryRunRequest, None, fields).model_dump_json(exclude_unset=True).encode()
        call = Call(
            "POST",
            _path("policies", policy_id, "dry-run"),
            headers={"Content-Type": "application/json"},
            body=lambda: body,
            retry=True,
        )
        return decode(DryRunResult, self._send(call).content)
