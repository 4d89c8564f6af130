"""The isolation matrix's observer: tenant A's requests, each answer scanned for tenant
B's data, and B's state compared around every request A makes on B's objects."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.maestro.tenancy.helpers import bearer
from tests.maestro.tenancy.world import World


@dataclass
class Matrix:
    """Tenant A (``a``) asking about tenant B's (``b``) objects through one client, with
    every answer A gets scanned for B's data."""

    client: TestClient
    a: World
    b: World
    b_secrets: set[str]
    # B's state after the last of A's requests on it: the state before the next one (B
    # itself only reads), so a change by anyone in between fails too.
    b_last: dict[str, Any] | None = None

    def as_a(self, method: str, url: str, *, derived: str = "", **kwargs: Any) -> httpx.Response:
        """A's request; ``derived``: what A's answer may show because A sent its source."""
        headers = {**self.a.admin, **kwargs.pop("headers", {})}
        response = self.client.request(method, url, headers=headers, **kwargs)
        self.scan(response, sent=f"{url} {kwargs!r} {headers!r} {derived}")
        return response

    def scan(self, response: httpx.Response, sent: str) -> None:
        """None of B's ids or strings in A's answer, body or headers (unless A sent it)."""
        seen = response.text + " " + " ".join(f"{k}: {v}" for k, v in response.headers.items())
        leaked = sorted(s for s in self.b_secrets if s in seen and s not in sent)
        assert leaked == [], (
            f"{response.request.method} {response.request.url} leaked {leaked}: {seen[:2000]}"
        )

    def b_state(self) -> dict[str, Any]:
        """B's audit head and everything B owns, as B sees it."""

        def get(url: str) -> httpx.Response:
            return self.client.get(url, headers=self.b.admin)

        checkpoint = get("/maestro/audit/checkpoint").text
        tokens = [{k: v for k, v in t.items() if k != "last_used_at"} for t in get("/maestro/tokens").json()]
        runs = get("/maestro/runs").json()
        return {
            "checkpoint": checkpoint,
            "runs": runs,
            "etag": get(f"/maestro/runs/{self.b.runs[0]['id']}").headers["etag"],
            "artifacts": get("/maestro/artifacts").json(),
            "content": [get(f"/maestro/artifacts/{x['id']}/content").content for x in self.b.artifacts],
            "packs": get("/maestro/disclosure-packs").json(),
            "keys": get("/maestro/trusted-keys").json(),
            "waivers": get("/maestro/waivers").json(),
            "tokens": tokens,
            "viewer works": self.client.get("/maestro/runs", headers=bearer(self.b.viewer_token)).status_code,
        }

    def on_b(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """A's request on B's objects: B's log and objects are the same after it."""
        before = self.b_last or self.b_state()
        response = self.as_a(method, url, **kwargs)
        self.b_last = self.b_state()
        assert self.b_last == before, f"{method} {url} by another tenant changed B"
        return response


def checkpoint(client: TestClient, world: World) -> dict[str, Any]:
    headers = {**world.admin, "Accept": "application/json"}
    return dict(client.get("/maestro/audit/checkpoint", headers=headers).json())
