"""A clock tests move by hand, and the bodies and gate reads the waiver tests share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient

# Whole microseconds from the real clock's present: runs may not start in the future.
START = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


class Clock:
    """What ``app.state.clock`` answers: every request's ``uow.now``."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        self.at += timedelta(**delta)
        return self.at


def install_clock(app: FastAPI, at: datetime = START) -> Clock:
    clock = Clock(at)
    app.state.clock = clock
    return clock


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def waiver_body(rule: str = "declared-compliant-artifact", **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"rule": rule, "reason": "accepted risk, ticket SEC-1"}
    body.update(fields)
    return body


def create(client: TestClient, headers: dict[str, str] | None = None, **fields: Any) -> dict[str, Any]:
    response = client.post("/maestro/waivers", json=waiver_body(**fields), headers=headers or {})
    assert response.status_code == 201, response.text
    return dict(response.json())


def results(client: TestClient, run_id: str, **params: str) -> dict[str, dict[str, Any]]:
    """The gate's results by rule (and the verdict under ``"_passed"``)."""
    response = client.get(f"/maestro/runs/{run_id}/release-gate", params=params)
    assert response.status_code == 200, response.text
    gate = response.json()
    found = {r["rule"]: r for r in gate["results"]}
    found["_passed"] = {"passed": gate["passed"], "message": gate["message"]}
    return found
