"""How to launch an ASGI app under each server configuration the benchmark compares.

Maestro and the ceiling app are always launched through the same function, so
both see identical server, worker and logging settings and their ratio isolates
the application's own cost.
"""

from __future__ import annotations

import importlib.util
import shutil
from dataclasses import dataclass
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
VENV_BIN = ROOT / ".venv" / "bin"
SERVER_KINDS = ("uvicorn", "uvicorn-nodelay", "granian")


@dataclass(frozen=True)
class ServerSpec:
    """Which HTTP server runs the app, with how many worker processes."""

    kind: str = "uvicorn"
    workers: int = 1
    loop: str = "auto"  # uvicorn only: "auto" picks uvloop when installed, "asyncio" forces the stdlib loop

    @property
    def label(self) -> str:
        """E.g. ``uvicorn/uvloop/w2``: the loop uvicorn will really use, not just "auto"."""
        if self.kind == "granian":
            return f"granian/w{self.workers}"
        return f"{self.kind}/{resolved_loop(self.loop)}/w{self.workers}"


def resolved_loop(loop: str) -> str:
    """What uvicorn's ``--loop auto`` picks in this venv: uvloop when it is installed."""
    if loop != "auto":
        return loop
    return "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"


def _python() -> str:
    return str(VENV_BIN / "python")


def _granian() -> str:
    exe = VENV_BIN / "granian"
    if exe.exists():
        return str(exe)
    found = shutil.which("granian")
    if not found:
        raise RuntimeError("granian is not installed; for the experiment: .venv/bin/pip install granian")
    return found


def server_argv(spec: ServerSpec, app_ref: str, port: int) -> list[str]:
    """The command line that serves ``app_ref`` (``module:attr``) on 127.0.0.1:port.

    Access logs are off for every server so that the figures compare request
    handling, not log formatting (Maestro's own JSON request log stays as
    configured by MAESTRO_ACCESS_LOG).
    """
    host = "127.0.0.1"
    if spec.kind == "uvicorn":
        return [
            _python(), "-m", "uvicorn", app_ref, "--host", host, "--port", str(port),
            "--workers", str(spec.workers), "--loop", spec.loop, "--no-access-log", "--log-level", "warning",
        ]  # fmt: skip
    if spec.kind == "uvicorn-nodelay":
        return [
            _python(), str(BENCH_DIR / "uvicorn_nodelay.py"), app_ref, "--host", host,
            "--port", str(port), "--workers", str(spec.workers), "--loop", spec.loop,
        ]  # fmt: skip
    if spec.kind == "granian":
        return [
            _granian(), "--interface", "asgi", "--host", host, "--port", str(port),
            "--workers", str(spec.workers), "--no-access-log", "--log-level", "warning", app_ref,
        ]  # fmt: skip
    raise ValueError(f"unknown server kind {spec.kind!r}; choose from {SERVER_KINDS}")
