"""Many token requests at once on a real server: none waits for a pooled connection.

On SQLite the token check and the end of a read run on the event loop. A connection
pool that makes a checkout wait froze the whole process once concurrent reads held
every connection: they could only be ended by the loop that was waiting (32 clients
with tokens got no answer for 30 s, then 500s)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from maestro.db import migrate
from maestro.db.engine import Database
from tests.maestro.live_server import live_server
from tests.maestro.tenancy.helpers import bearer, issue

CLIENTS = 48
REQUESTS_EACH = 5


@pytest.mark.only(backend="sqlite")  # PostgreSQL checks tokens in worker threads
def test_concurrent_token_requests_are_all_answered(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'data' / 'maestro.db'}")
    try:
        migrate.upgrade(db.engine)
        headers = bearer(issue(db))
    finally:
        db.dispose()
    with live_server(tmp_path, {"MAESTRO_ACCESS_LOG": "false"}) as server:

        def client_session(_: int) -> list[int]:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
                return [client.get("/maestro/runs?limit=10").status_code for _ in range(REQUESTS_EACH)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = [s for session in pool.map(client_session, range(CLIENTS)) for s in session]
    assert statuses == [200] * (CLIENTS * REQUESTS_EACH)
