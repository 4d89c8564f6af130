"""Write load over HTTP against a real ``maestro server``, and what its audit log must
say about that load afterwards.

Every write carries a unique ``X-Request-ID`` (the server puts it in the write's audit
event) and something that finds its object again without its response: a run's name,
an artifact's ``path_or_uri``, a metadata key a PATCH adds. So a write whose response
never arrived (the server was killed) can still be looked for, object and event both.
"""

from __future__ import annotations

import random
import subprocess
import threading
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from maestro.audit import checkpoint, merkle
from maestro.platform.uow import state_digest
from tests.maestro.test_cli_support import MAESTRO, clean_environment

TIMEOUT = 30.0
_OBJECT_TYPE = {"run.create": "run", "run.update": "run", "artifact.create": "artifact"}


@dataclass(frozen=True)
class Tenant:
    id: str
    writer: str  # tokens
    admin: str
    viewer: str


@dataclass
class Attempt:
    """One write as the client saw it; ``status`` is None when no response arrived."""

    action: str  # the audit action it must produce: run.create, run.update, artifact.create, auth.denied
    request_id: str
    marker: str  # a run's name, an artifact's path_or_uri, the metadata key a PATCH adds
    run_id: str | None = None  # the run a PATCH changes or an artifact belongs to
    status: int | None = None
    body: dict[str, Any] | None = None

    @property
    def acknowledged(self) -> bool:
        """Answered as it must be: a success, or for a viewer's create the 403."""
        if self.action == "auth.denied":
            return self.status == 403
        return self.status is not None and 200 <= self.status < 300


def _headers(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Writer(threading.Thread):
    """Creates runs, patches the runs it was told it created and adds artifacts to them,
    until ``stop`` is set, it has sent ``limit`` writes, or a write got no response (a
    transport error: the server died), which stays unanswered. Any other exception is kept.
    ``shared`` runs are changed by other writers too; a ``denied`` writer tries to create
    runs with a viewer's token."""

    def __init__(
        self,
        base_url: str,
        tenant: Tenant,
        name: str,
        stop: threading.Event,
        *,
        limit: int = 10**9,
        denied: bool = False,
        shared: Sequence[str] = (),
    ) -> None:
        super().__init__(name=name, daemon=True)
        self.base_url, self.tenant, self.limit, self.stop = base_url, tenant, limit, stop
        self.token = tenant.viewer if denied else tenant.writer
        self.rng = random.Random(name)
        self.attempts: list[Attempt] = []
        self.runs: list[str] = list(shared)  # runs it patches and adds artifacts to: shared, then its own
        self.error: BaseException | None = None
        self.server_gone = False

    def run(self) -> None:
        try:
            with httpx.Client(base_url=self.base_url, headers=_headers(self.token)) as http:
                while not (self.stop.is_set() or self.server_gone) and len(self.attempts) < self.limit:
                    self._send(http, self._next())
        except BaseException as exc:
            self.error = exc

    def _next(self) -> Attempt:
        rid = f"{self.name}-{len(self.attempts)}"
        if self.token == self.tenant.viewer:
            return Attempt("auth.denied", rid, f"run {rid}")
        action = self.rng.choice(list(_OBJECT_TYPE)) if self.runs else "run.create"
        if action == "run.create":
            return Attempt(action, rid, f"run {rid}")
        run_id = self.rng.choice(self.runs)
        if action == "run.update":
            return Attempt(action, rid, f"patch-{rid}", run_id)
        return Attempt(action, rid, f"s3://load/{rid}.json", run_id)

    def _send(self, http: httpx.Client, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        try:
            send(http, attempt)
        except httpx.TransportError:  # the server is gone: this one stays unanswered, the writer stops
            self.server_gone = True
            return
        if attempt.action == "run.create" and attempt.acknowledged:
            assert attempt.body is not None
            self.runs.append(attempt.body["id"])


def send(http: httpx.Client, attempt: Attempt) -> httpx.Response:
    """Send ``attempt`` (again, after a crash: same request id and Idempotency-Key) and
    record its answer in it."""
    headers = {"X-Request-ID": attempt.request_id}
    if attempt.action != "run.update":
        headers["Idempotency-Key"] = attempt.request_id
    method, url, body = _request(attempt)
    response = http.request(method, url, json=body, headers=headers, timeout=TIMEOUT)
    attempt.status = response.status_code
    if response.headers.get("content-type") == "application/json":
        attempt.body = response.json()
    return response


def _request(attempt: Attempt) -> tuple[str, str, dict[str, Any]]:
    if attempt.action in ("run.create", "auth.denied"):
        return "POST", "/maestro/runs", {"name": attempt.marker, "owner": "load@example.com", "metadata": {}}
    if attempt.action == "run.update":
        return "PATCH", f"/maestro/runs/{attempt.run_id}", {"metadata": {attempt.marker: 1}}
    body = {"run_id": attempt.run_id, "kind": "other", "path_or_uri": attempt.marker}
    return "POST", "/maestro/artifacts", body


@dataclass
class SignedHead:
    size: int
    root: bytes
    note: str


@dataclass
class Auditor:
    """A tenant's admin reading the log (and the objects it describes) over HTTP."""

    base_url: str
    tenant: Tenant
    key: Ed25519PublicKey
    http: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.base_url, headers=_headers(self.tenant.admin), timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def _get(self, url: str, **params: Any) -> httpx.Response:
        response = self.http.get(url, params=params)
        assert response.status_code == 200, (url, response.status_code, response.text)
        return response

    def checkpoint(self) -> SignedHead:
        """The latest checkpoint, its signature and origin checked."""
        note = self._get("/maestro/audit/checkpoint").text
        cp = checkpoint.verify(note, f"maestro.local/audit/{self.tenant.id}", self.key)
        return SignedHead(cp.size, cp.root, note)

    def settle(self) -> None:
        """Let the gate evaluator finish judging what the load changed: a read of recorded
        verdicts catches the tenant up, so the log then stays as it is."""
        runs = self._get("/maestro/runs", limit=1).json()
        for _ in range(2):  # a second read takes what a background pass committed meanwhile
            if runs:
                self._get(f"/maestro/runs/{runs[0]['id']}/gate-evaluations", limit=1)

    def every(self, url: str, **params: Any) -> list[dict[str, Any]]:
        """All items of a list endpoint, following its Link headers."""
        items: list[dict[str, Any]] = []
        response = self._get(url, limit=1000, **params)
        while True:
            items += response.json()
            following = response.links.get("next", {}).get("url")
            if following is None:
                return items
            response = self._get(following)

    def assert_prefix(self, old: SignedHead, new: SignedHead) -> None:
        """The server's consistency proof shows ``old`` is a prefix of ``new``."""
        body = self._get("/maestro/audit/proofs/consistency", **{"from": old.size, "to": new.size}).json()
        assert (body["from_root_hash"], body["to_root_hash"]) == (old.root.hex(), new.root.hex())
        proof = [bytes.fromhex(h) for h in body["hashes"]]
        merkle.verify_consistency(old.size, new.size, old.root, new.root, proof)


def public_key(base_url: str, tenant: Tenant) -> tuple[Ed25519PublicKey, str]:
    """The server's one signing key, and its PEM."""
    response = httpx.get(f"{base_url}/maestro/keys", headers=_headers(tenant.writer), timeout=TIMEOUT)
    (key,) = response.json()
    public = load_pem_public_key(key["pem"].encode())
    assert isinstance(public, Ed25519PublicKey)
    return public, str(key["pem"])


def _effect(attempt: Attempt, runs: dict[str, dict[str, Any]], created: dict[str, str]) -> str | None:
    """The id of the object ``attempt`` wrote, if the write is in the database, else None."""
    if attempt.action != "run.update":
        return created.get(attempt.marker)
    assert attempt.run_id is not None
    return attempt.run_id if attempt.marker in runs[attempt.run_id]["metadata"] else None


def writes_of(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events of requests: all but the gate evaluator's (``gate.evaluated``, actor
    ``system``), which it appends after the changes it judged."""
    return [
        e
        for e in events
        if not (e["event"]["action"] == "gate.evaluated" and e["event"]["actor"]["role"] == "system")
    ]


def check_log(auditor: Auditor, attempts: list[Attempt]) -> list[dict[str, Any]]:
    """Every acknowledged write is in the database with exactly one event describing the
    state it acknowledged; an unanswered write has both or neither; the log holds no
    other event (but the gate evaluator's, on this tenant's runs) and the tenant no other
    object. Returns the log."""
    auditor.settle()
    answered = [a for a in attempts if a.status is not None]
    refused = [(a.request_id, a.status, a.body) for a in answered if not a.acknowledged]
    assert refused == [], "a write under load got an error"
    events = auditor.every("/maestro/audit")
    assert [e["index"] for e in events] == list(range(len(events))), "indexes are not dense"
    by_request: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in writes_of(events):
        by_request[item["event"]["request_id"]].append(item["event"])
    ours = {a.request_id for a in attempts}
    assert sorted(set(by_request) - ours) == [], "events no write of the test made"
    assert {r: len(e) for r, e in by_request.items() if len(e) > 1} == {}, "writes with several events"
    listed = auditor.every("/maestro/runs")
    runs = {run["id"]: run for run in listed}
    objects = [(run["name"], run["id"]) for run in listed]
    objects += [(a["path_or_uri"], a["id"]) for a in auditor.every("/maestro/artifacts")]
    created = dict(objects)
    assert len(created) == len(objects), "a write created two objects"
    effects = {a.request_id: _effect(a, runs, created) for a in attempts}
    for attempt in attempts:
        _check_attempt(attempt, effects[attempt.request_id], by_request.get(attempt.request_id, []))
    creates = {a.marker for a in attempts if a.action != "run.update" and effects[a.request_id]}
    assert set(created) == creates, "objects no write made"
    judged = {e["event"]["object"]["id"] for e in events if e not in writes_of(events)}
    assert judged <= set(runs), "the gate evaluator recorded a verdict on no run of this tenant"
    _check_object_filters(auditor, attempts, effects)
    return events


def _check_attempt(attempt: Attempt, effect: str | None, events: list[dict[str, Any]]) -> None:
    what = f"{attempt.action} {attempt.request_id} (status {attempt.status})"
    if attempt.action == "auth.denied":
        assert effect is None, f"{what}: a denied write took effect"
        assert len(events) == 1 or not attempt.acknowledged, f"{what}: a denial answered but not logged"
        for event in events:
            assert (event["object"], event["status"], event["actor"]["role"]) == (None, 403, "viewer")
        return
    if attempt.acknowledged:
        assert attempt.body is not None
        assert effect == attempt.body["id"], f"{what}: acknowledged but not in the database"
        assert len(events) == 1, f"{what}: acknowledged but has no event"
        assert events[0]["state_sha256"] == state_digest(attempt.body), f"{what}: event of another state"
    assert (effect is None) == (events == []), f"{what}: written {effect is not None}, events {events}"
    for event in events:
        assert (event["action"], event["actor"]["role"]) == (attempt.action, "writer")
        assert event["object"] == {"type": _OBJECT_TYPE[attempt.action], "id": effect}


def _check_object_filters(auditor: Auditor, attempts: list[Attempt], effects: dict[str, str | None]) -> None:
    """``GET /maestro/audit?object_type=&object_id=`` finds exactly the writes that took
    effect on each object: its creation and, for a run, each PATCH applied."""
    expected: dict[tuple[str, str], set[str]] = defaultdict(set)
    for attempt in attempts:
        effect = effects[attempt.request_id]
        if effect is not None:
            expected[(_OBJECT_TYPE[attempt.action], effect)].add(attempt.request_id)
    for (kind, ident), request_ids in expected.items():
        found = writes_of(auditor.every("/maestro/audit", object_type=kind, object_id=ident))
        assert sorted(e["event"]["request_id"] for e in found) == sorted(request_ids), (kind, ident)


def export_and_verify(auditor: Auditor, key_pem: str, directory: Path, since: SignedHead) -> dict[str, Any]:
    """``maestro audit export`` from the server, then ``maestro audit verify --since``
    offline; both must succeed. Returns the export."""
    import json

    directory.mkdir(parents=True, exist_ok=True)
    export, key, old = directory / "export.json", directory / "audit.pub", directory / "old.checkpoint"
    key.write_text(key_pem)
    old.write_text(since.note)
    env = clean_environment(MAESTRO_URL=auditor.base_url, MAESTRO_TOKEN=auditor.tenant.admin)
    for argv in (
        ["audit", "export", "-o", str(export)],
        ["audit", "verify", str(export), "--key", str(key), "--since", str(old)],
    ):
        done = subprocess.run([*MAESTRO, *argv], env=env, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (argv, done.stdout, done.stderr)
    assert "consistent with the older checkpoint" in done.stdout
    data: dict[str, Any] = json.loads(export.read_text())
    return data
