"""A PostgreSQL server of the suite's own, for a machine that has the server binaries
but was not pointed at a server (MAESTRO_TEST_DATABASE_URL unset).

pytest-postgresql's ``PostgreSQLExecutor`` (what its ``postgresql_proc`` fixture runs)
does the work: ``initdb``, ``pg_ctl start`` on a free port, ``pg_ctl stop``. We drive
the executor ourselves rather than through ``postgresql_proc`` because that fixture
puts the cluster under pytest's private base directory (mode 0700, owned by the
user running pytest), and PostgreSQL refuses to run as root: as root the cluster
must belong to an unprivileged user who can reach its directory. So the layout is

    <tmp>/maestro-pg-XXXX/          root's, 0755
        pg_ctl                      root's wrapper: drop to the server user, run pg_ctl
        cluster/                    the server user's, 0700: data/, socket, log

Nothing here ever connects to a server the user did not name: the only server is
the one started here, on 127.0.0.1, and it is removed with its files at the end.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SERVER_USERS = ("postgres", "nobody")
_VERSION_DIR = re.compile(r"/(\d+)/bin/pg_ctl$")
# fsync off: a test cluster that dies with the machine is thrown away anyway.
_SERVER_OPTIONS = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"


def find_pg_ctl() -> Path | None:
    """``pg_ctl`` with ``initdb`` beside it: on PATH, else Debian's newest
    ``/usr/lib/postgresql/<major>/bin``."""
    candidates: list[str] = []
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve()))
    debian = [str(p) for p in Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")]
    candidates += sorted(debian, key=_major_version, reverse=True)
    for candidate in candidates:
        path = Path(candidate)
        if _runnable(path) and _runnable(path.with_name("initdb")):
            return path
    return None


def _major_version(path: str) -> int:
    match = _VERSION_DIR.search(path)
    return int(match.group(1)) if match else 0


def _runnable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def unavailable_reason() -> str | None:
    """Why no throwaway server can be started here, or None when one can."""
    if find_pg_ctl() is None:
        return "no PostgreSQL server binaries (initdb, pg_ctl) on PATH or under /usr/lib/postgresql/*/bin"
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            return "running as root and setpriv (util-linux) is missing to run PostgreSQL unprivileged"
        if _server_user() is None:
            return f"running as root and none of the users {', '.join(SERVER_USERS)} exists to run PostgreSQL"
    return None


def _server_user() -> pwd.struct_passwd | None:
    for name in SERVER_USERS:
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    return None


def _reachable_tmp() -> str:
    """The temporary directory, if every user can pass through it (the server user must
    reach its cluster); else /tmp. A private TMPDIR such as /root/tmp is common for root."""
    base = Path(tempfile.gettempdir()).resolve()
    if os.geteuid() != 0 or all(p.stat().st_mode & 0o001 for p in (base, *base.parents)):
        return str(base)
    return "/tmp"


def _write_wrapper(path: Path, pg_ctl: Path, user: pwd.struct_passwd) -> None:
    """A root-owned script that runs pg_ctl as ``user`` (initdb and postgres refuse root).
    ``cd /`` because the server user may not be allowed into the caller's directory."""
    path.write_text(
        "#!/bin/sh\n"
        "cd / || exit 1\n"
        f'exec setpriv --reuid={user.pw_uid} --regid={user.pw_gid} --clear-groups -- "{pg_ctl}" "$@"\n'
    )
    path.chmod(0o755)


def _wait_accepting(port: int, timeout: float = 60.0) -> None:
    """The executor reports "started" once the port is open, which is before the server
    takes connections ("the database system is starting up"): wait for a real login."""
    import psycopg

    deadline = time.monotonic() + timeout
    while True:
        try:
            psycopg.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres").close()
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """Start a private PostgreSQL; yields its SQLAlchemy URL (trust auth, user postgres)."""
    from port_for import get_port
    from pytest_postgresql.executors import PostgreSQLExecutor

    pg_ctl = find_pg_ctl()
    assert pg_ctl is not None, unavailable_reason()
    root = Path(tempfile.mkdtemp(prefix="maestro-pg-", dir=_reachable_tmp()))
    root.chmod(0o755)
    cluster = root / "cluster"
    cluster.mkdir(mode=0o700)
    executable = pg_ctl
    if os.geteuid() == 0:
        user = _server_user()
        assert user is not None
        os.chown(cluster, user.pw_uid, user.pw_gid)
        executable = root / "pg_ctl"
        _write_wrapper(executable, pg_ctl, user)
    port = get_port(None)
    assert port is not None
    executor = PostgreSQLExecutor(
        executable=str(executable),
        host="127.0.0.1",
        port=port,
        datadir=str(cluster / "data"),
        unixsocketdir=str(cluster),
        logfile=str(cluster / "postgresql.log"),
        startparams="-w",
        dbname="postgres",
        user="postgres",
        postgres_options=_SERVER_OPTIONS,
    )
    try:
        executor.start()
        _wait_accepting(port)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(Exception):
            executor.stop()
        shutil.rmtree(root, ignore_errors=True)
