"""Checks that entity and decision ids exist in IntelGraph before a run links to them.

Runs before the database transaction opens, so a slow or unreachable
IntelGraph never holds a database lock, and a failure writes nothing.
Ids are path-escaped: a client id can never address another IntelGraph path.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote

import httpx

from maestro.errors import DependencyUnavailable, ValidationFailed

_COLLECTIONS = {"entity": "entities", "decision": "decisions"}


class IntelGraph:
    """A client for the two existence checks Maestro needs."""

    def __init__(self, base_url: str, *, timeout: float = 5.0, http: httpx.Client | None = None):
        self._base = base_url.rstrip("/")
        self._http = http or httpx.Client(timeout=timeout, follow_redirects=False)
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="intelgraph")

    def close(self) -> None:
        self._pool.shutdown(wait=False)
        self._http.close()

    def _exists(self, kind: str, target_id: str) -> bool:
        url = f"{self._base}/{_COLLECTIONS[kind]}/{quote(target_id, safe='')}"
        try:
            response = self._http.get(url)
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(
                f"IntelGraph is unreachable ({type(exc).__name__}); nothing was written"
            ) from exc
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise DependencyUnavailable(
            f"IntelGraph answered {response.status_code} when checking {kind} {target_id!r}; "
            "nothing was written"
        )

    def verify(self, entity_ids: Sequence[str] | None, decision_ids: Sequence[str] | None) -> None:
        """Raise ValidationFailed naming every unknown id, or DependencyUnavailable."""
        checks = [("entity", "related_entity_ids", i, t) for i, t in enumerate(entity_ids or [])]
        checks += [("decision", "related_decision_ids", i, t) for i, t in enumerate(decision_ids or [])]
        if not checks:
            return
        results = list(self._pool.map(lambda c: self._exists(c[0], c[3]), checks))
        errors: list[dict[str, Any]] = [
            {
                "field": f"{field}[{index}]",
                "message": f"{kind} {target!r} does not exist in IntelGraph",
                "id": target,
            }
            for (kind, field, index, target), found in zip(checks, results, strict=True)
            if not found
        ]
        if errors:
            raise ValidationFailed("; ".join(f"{e['field']}: {e['message']}" for e in errors), errors=errors)
