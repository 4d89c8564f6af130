"""What authentication costs per request, in process (no HTTP, no load generator).

    .venv/bin/python bench/auth.py [--postgres SERVER_URL] [--n 3000]

Times ``maestro.tenancy.auth.resolve_principal`` on a real migrated database:
``bearer``: a valid token whose last_used_at is fresh (the common case: format and
checksum, SHA-256, one read transaction with a unique-index lookup);
``malformed``: a typo, refused before the database; ``local``: local mode (no token
exists: one EXISTS query per request); ``cached``: tokens exist, no header (the
presence answer is remembered, so no query); ``in-uow``: the token lookup alone inside
an open session, what it costs once the request's unit of work resolves the principal.
Figures are the median of 5 runs of n calls each, in microseconds per call. On PostgreSQL a database of
its own is created on the server named and dropped afterwards.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(1, str(ROOT))

from sqlalchemy import create_engine, make_url, text  # noqa: E402
from starlette.requests import Request  # noqa: E402

from maestro.db import migrate  # noqa: E402
from maestro.db.engine import Database  # noqa: E402
from maestro.tenancy import auth, tokens  # noqa: E402
from maestro.tenancy.contract import TokenCreate  # noqa: E402
from maestro.tenancy.roles import Role  # noqa: E402


def _request(headers: dict[str, str]) -> Request:
    raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    scope = {"type": "http", "method": "GET", "path": "/maestro/runs", "query_string": b"", "headers": raw}
    scope["client"] = ("127.0.0.1", 50000)
    return Request(scope)


def _per_call(fn: Callable[[], object], n: int) -> float:
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        runs.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(runs)


def _refused(fn: Callable[[], object]) -> Callable[[], object]:
    def call() -> object:
        try:
            return fn()
        except Exception as exc:  # the 401 is the expected outcome here
            return exc

    return call


def measure(db: Database, n: int) -> dict[str, float]:
    migrate.upgrade(db.engine)
    presence = auth.TokenPresence(db)
    plain = _request({})
    results = {"local": _per_call(lambda: auth.resolve_principal(plain, db, presence, "auto"), n)}
    now = datetime.now(UTC)
    with db.write() as session:
        data = TokenCreate(role=Role.WRITER, name="bench", expires_at=now + timedelta(days=1))
        secret = tokens.issue(session, data, now, None)
    with db.write() as session:
        tokens.record_use(session, secret.id, now + timedelta(hours=1))  # fresh for the whole run
    good = _request({"Authorization": f"Bearer {secret.token}"})
    typo = _request({"Authorization": f"Bearer {secret.token[:-1]}x"})
    results["bearer"] = _per_call(lambda: auth.resolve_principal(good, db, presence, "auto"), n)
    results["malformed"] = _per_call(_refused(lambda: auth.resolve_principal(typo, db, presence, "auto")), n)
    results["cached"] = _per_call(_refused(lambda: auth.resolve_principal(plain, db, presence, "auto")), n)
    digest = tokens.bearer_digest(secret.token)
    with db.read() as session:  # inside the request's unit of work: the lookup alone
        results["in-uow"] = _per_call(lambda: tokens.lookup(session.connection(), digest, now), n)
    return results


@contextmanager
def own_database(server: str) -> Iterator[str]:
    """A fresh database on the server, dropped afterwards: nothing shared is written to."""
    name = f"maestro_bench_auth_{uuid.uuid4().hex[:8]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()


def _report(name: str, url: str, n: int) -> None:
    db = Database(url)
    try:
        figures = measure(db, n)
    finally:
        db.dispose()
    line = "  ".join(f"{k} {v:7.1f} us" for k, v in figures.items())
    print(f"{name:10s} {line}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--postgres", help="a PostgreSQL URL whose database may be written to")
    parser.add_argument("--n", type=int, default=3000)
    args = parser.parse_args()
    _report("sqlite", f"sqlite:///{tempfile.mkdtemp()}/auth.db", args.n)
    if args.postgres:
        with own_database(args.postgres) as url:
            _report("postgresql", url, args.n)


if __name__ == "__main__":
    main()
