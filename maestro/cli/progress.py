"""The upload progress bar: shown on stderr for files big enough to keep someone waiting.

Small files finish before a bar would be readable, so below ``THRESHOLD`` the
upload is silent. The bar is on stderr so ``--json`` and ``-q`` output stays clean.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from maestro.cli.output import console

THRESHOLD = 4 * 1024 * 1024

Callback = Callable[[int, int | None], None]


@contextmanager
def upload_progress(label: str, size: int, *, enabled: bool = True) -> Iterator[Callback | None]:
    """A ``progress(sent, total)`` callback for the SDK, or ``None`` when no bar is wanted."""
    if not enabled or size < THRESHOLD:
        yield None
        return
    columns = (BarColumn(), DownloadColumn(), TransferSpeedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console(stderr=True), transient=False) as bar:
        task = bar.add_task(label, total=size)

        def advance(sent: int, total: int | None) -> None:
            bar.update(task, completed=sent, total=total or size)

        yield advance
