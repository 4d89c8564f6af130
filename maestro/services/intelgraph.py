"""Checks that entity and decision ids exist in IntelGraph before a run links to them.

Runs before the database transaction opens, so a slow or unreachable
IntelGraph never holds a database lock, and a failure writes nothing.
Ids are path-escaped: a client id can never address another IntelGraph path.

The checks are async on the event loop, never in a worker thread: a stalled
IntelGraph holds no thread that database-only requests need. Its own bounded
pool (``max_concurrency`` connections, a request waits at most
``pool_timeout`` for one), connect and read timeouts, and ``retries`` after a
failed *connect* (the request never reached IntelGraph, so trying again is
cheap and safe) bound how long a run write can wait: at most ``budget``
seconds, then 503 with Retry-After.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import anyio
import httpx

from maestro.config import Settings
from maestro.errors import DependencyUnavailable, ValidationFailed

_COLLECTIONS = {"entity": "entities", "decision": "decisions"}


@dataclass(frozen=True, slots=True)
class IntelGraphLimits:
    timeout: float = 5.0
    connect_timeout: float = 1.0
    retries: int = 1
    max_concurrency: int = 8
    pool_timeout: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> IntelGraphLimits:
        return cls(
            timeout=settings.intelgraph_timeout,
            connect_timeout=settings.intelgraph_connect_timeout,
            retries=settings.intelgraph_retries,
            max_concurrency=settings.intelgraph_max_concurrency,
            pool_timeout=settings.intelgraph_pool_timeout,
        )

    @property
    def budget(self) -> float:
        """The longest a verification may take: a pool wait, the connect retries, one read."""
        connects = (self.retries + 1) * self.connect_timeout
        return self.pool_timeout + connects + self.timeout


class IntelGraph:
    """A client for the two existence checks Maestro needs."""

    def __init__(
        self,
        base_url: str,
        *,
        limits: IntelGraphLimits | None = None,
        http: httpx.AsyncClient | None = None,
    ):
        self._base = base_url.rstrip("/")
        self.limits = limits or IntelGraphLimits()
        timeout = httpx.Timeout(
            self.limits.timeout, connect=self.limits.connect_timeout, pool=self.limits.pool_timeout
        )
        pool = httpx.Limits(
            max_connections=self.limits.max_concurrency, max_keepalive_connections=self.limits.max_concurrency
        )
        self._http = http or httpx.AsyncClient(timeout=timeout, limits=pool, follow_redirects=False)

    async def close(self) -> None:
        await self._http.aclose()

    def describe(self) -> str:
        return self._base

    async def _get(self, url: str) -> httpx.Response:
        """One GET, tried again only when the connection itself failed."""
        for attempt in range(self.limits.retries + 1):
            try:
                return await self._http.get(url)
            except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
                if attempt == self.limits.retries:
                    raise DependencyUnavailable(
                        f"IntelGraph is unreachable ({type(exc).__name__}); nothing was written"
                    ) from exc
            except httpx.PoolTimeout as exc:
                busy = DependencyUnavailable(
                    f"IntelGraph is busy: {self.limits.max_concurrency} checks already in flight; "
                    "nothing was written"
                )
                busy.retry_after = 1
                raise busy from exc
            except httpx.HTTPError as exc:
                raise DependencyUnavailable(
                    f"IntelGraph is unreachable ({type(exc).__name__}); nothing was written"
                ) from exc
        raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises

    async def _exists(self, kind: str, target_id: str) -> bool:
        response = await self._get(f"{self._base}/{_COLLECTIONS[kind]}/{quote(target_id, safe='')}")
        if response.status_code == 200:
            return True
        if response.status_code == 404:
            return False
        raise DependencyUnavailable(
            f"IntelGraph answered {response.status_code} when checking {kind} {target_id!r}; "
            "nothing was written"
        )

    async def verify(self, entity_ids: Sequence[str] | None, decision_ids: Sequence[str] | None) -> None:
        """Raise ValidationFailed naming every unknown id, or DependencyUnavailable."""
        checks = [("entity", "related_entity_ids", i, t) for i, t in enumerate(entity_ids or [])]
        checks += [("decision", "related_decision_ids", i, t) for i, t in enumerate(decision_ids or [])]
        if not checks:
            return
        answers: list[bool | BaseException] = []
        with anyio.move_on_after(self.limits.budget):
            # every check finishes (or is cancelled at the deadline): no task outlives the request
            lookups = (self._exists(kind, target) for kind, _, _, target in checks)
            answers = await asyncio.gather(*lookups, return_exceptions=True)
        if not answers:
            raise DependencyUnavailable(
                f"IntelGraph did not answer within {self.limits.budget:g} s; nothing was written"
            )
        failure = next((a for a in answers if isinstance(a, BaseException)), None)
        if failure is not None:
            raise failure
        results = [a is True for a in answers]
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

    async def check(self) -> None:
        """Raise unless IntelGraph answers HTTP at all (any status): for /readyz."""
        try:
            await self._http.get(self._base)
        except httpx.HTTPError as exc:
            raise DependencyUnavailable(f"IntelGraph is unreachable ({type(exc).__name__})") from exc
