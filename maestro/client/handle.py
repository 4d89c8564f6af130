"""``with client.run("nightly") as run:`` - a run whose status follows the block.

Scripts forget to mark runs finished, and a crashed script leaves a run
"running" forever. The handle makes the run's end state the block's outcome:
succeeded when the block completes, failed (with the exception recorded) when it
raises, cancelled on KeyboardInterrupt or SystemExit.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from maestro.client import environment
from maestro.errors import MaestroError
from maestro.models import Artifact, Run, RunStatus

if TYPE_CHECKING:
    from maestro.client.client import MaestroClient

MAX_MESSAGE = 4096


def default_owner() -> str:
    """MAESTRO_OWNER, else the OS user: who ran the script is the best guess at who owns it."""
    owner = environment.from_env(environment.OWNER)
    if owner:
        return owner
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def error_record(exc: BaseException) -> dict[str, str]:
    """The exception as run metadata. Cut to a size the server takes, and cleaned of what
    it refuses (NUL, lone surrogates), so recording a failure cannot fail on the message."""
    message = str(exc)[:MAX_MESSAGE].replace("\x00", "\\x00")
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"type": type(exc).__qualname__, "message": message}


class RunHandle:
    """A run tied to a ``with`` block. ``run`` is the latest state the SDK has seen."""

    run: Run

    def __init__(self, client: MaestroClient, name: str, owner: str, fields: dict[str, Any]) -> None:
        self._client = client
        self._create = {"name": name, "owner": owner, "status": RunStatus.RUNNING, **fields}

    @property
    def id(self) -> str:
        return self.run.id

    def __enter__(self) -> RunHandle:
        # One keyed create straight into "running": retry-safe, unlike create then PATCH.
        self.run = self._client.create_run(**self._create)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self.run.status.is_terminal:
            return  # the block finished the run itself; its choice stands
        if exc is None:
            self.run = self._client.finish_run(self.id, RunStatus.SUCCEEDED)
            return
        status = RunStatus.FAILED if isinstance(exc, Exception) else RunStatus.CANCELLED
        try:
            self.run = self._client.finish_run(self.id, status, metadata={"error": error_record(exc)})
        except MaestroError as failure:
            # The block's own exception is the one the caller needs; say why the run
            # was not closed instead of replacing it.
            exc.add_note(f"maestro: could not mark run {self.id} {status.value}: {failure}")

    def attach(self, path: str | os.PathLike[str] | Path, *, kind: str, **kw: Any) -> Artifact:
        """Upload a file as an artifact of this run (see ``MaestroClient.attach``)."""
        return self._client.attach(self.id, path, kind=kind, **kw)

    def update(self, **fields: Any) -> Run:
        """Change this run (see ``MaestroClient.update_run``) and remember the result."""
        self.run = self._client.update_run(self.id, **fields)
        return self.run
