"""The SDK's waiver calls, mixed into ``MaestroClient``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import httpx

from maestro.client import pages
from maestro.client.transport import Call, Transport
from maestro.client.wire import build, decode, decode_list, encode
from maestro.errors import ValidationFailed
from maestro.waivers.contract import Waiver, WaiverCreate


def _waiver_path(waiver_id: str, *rest: str) -> str:
    return "/".join(["/maestro/waivers", quote(waiver_id, safe=""), *rest])


class WaiverCalls:
    """Waivers of policy rules. Creating one is safe to retry (an Idempotency-Key makes a
    repeat answer the first creation); revoking is harmless to repeat."""

    _transport: Transport

    def _send(self, call: Call) -> httpx.Response:
        raise NotImplementedError

    def create_waiver(
        self,
        rule: str,
        *,
        reason: str,
        expires_at: datetime,
        run_id: str | None = None,
        owner: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        purl: str | None = None,
    ) -> Waiver:
        """Waive ``rule`` for one run (``run_id``), for runs of ``owner`` and/or matching
        ``metadata``, or for runs with the component ``purl``: exactly one of the three."""
        fields: dict[str, Any] = {"rule": rule, "reason": reason, "expires_at": expires_at}
        if run_id is not None:
            fields["run_id"] = run_id
        if owner is not None or metadata is not None:
            match: dict[str, Any] = {"owner": owner} if owner is not None else {}
            fields["match"] = match | ({"metadata": dict(metadata)} if metadata is not None else {})
        if purl is not None:
            fields["purl"] = purl
        if sum(key in fields for key in ("run_id", "match", "purl")) != 1:
            raise ValidationFailed.for_field("run_id", "give one of run_id, owner/metadata or purl")
        body = encode(build(WaiverCreate, None, fields))
        return decode(Waiver, self._send(Call.create("/maestro/waivers", body)).content)

    def get_waiver(self, waiver_id: str) -> Waiver:
        return decode(Waiver, self._send(Call("GET", _waiver_path(waiver_id))).content)

    def list_waivers(
        self,
        *,
        rule: str | None = None,
        run_id: str | None = None,
        active: bool | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[Waiver]:
        """Newest first. ``active``: True, only those in force now; False, expired or revoked."""
        return pages.paginate(
            self._transport,
            "/maestro/waivers",
            {"rule": rule, "run_id": run_id, "active": active},
            lambda content: decode_list(Waiver, content),
            limit=limit,
            page_size=page_size,
        )

    def revoke_waiver(self, waiver_id: str) -> Waiver:
        """Revoke from now on (repeating it answers the first revocation)."""
        return decode(Waiver, self._send(Call("POST", _waiver_path(waiver_id, "revoke"))).content)
