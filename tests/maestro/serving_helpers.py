"""Shared by the tests that need a real server: settings as environment variables,
the memory of a server's process tree, and a fixture that starts servers."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from maestro.db.engine import Database
from tests.maestro.live_server import LiveServer, live_server


def setting_env(settings: dict[str, Any]) -> dict[str, str]:
    """``{"s3_read_timeout": 1}`` -> ``{"MAESTRO_S3_READ_TIMEOUT": "1"}`` (secrets unwrapped)."""
    env = {}
    for name, value in settings.items():
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"MAESTRO_{name.upper()}"] = str(value)
    return env


def tree_rss(session: int) -> int:
    """Memory of every process in a session (a server started in its own session, with the
    forkserver and parse workers it forked), as proportional set size: pages the forked
    processes share are counted once, not once per process as summed RSS would."""
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if os.getsid(int(entry.name)) != session:
                continue
            status = (entry / "smaps_rollup").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("Pss:"):
                total += int(line.split()[1]) * 1024
    return total


@pytest.fixture(name="live")
def live_fixture(maestro_store: Database, tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    """Start ``maestro server`` on this test's database with these settings (any number)."""
    with contextlib.ExitStack() as stack:

        def start(**settings: Any) -> LiveServer:
            config = {
                "database_url": maestro_store.url,
                "auto_migrate": False,
                "access_log": False,
                **settings,
            }
            return stack.enter_context(live_server(tmp_path, setting_env(config)))

        yield start
