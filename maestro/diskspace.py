"""Free space where Maestro writes: the data directory (spool, embedded SQLite) and a
local blob store. /readyz reports "not ready" below ``MAESTRO_MIN_FREE_BYTES`` so an
operator hears about a filling disk before uploads start failing with 507."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from pathlib import Path


def _existing(path: Path) -> Path:
    """The path itself or its nearest existing parent (a data directory not yet made)."""
    path = path.resolve()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def low_space(paths: Iterable[Path], min_free: int) -> str | None:
    """Which device is below ``min_free`` bytes free, said plainly; None when all have room."""
    if min_free <= 0:
        return None
    seen: set[int] = set()
    for path in paths:
        where = _existing(path)
        device = os.stat(where).st_dev
        if device in seen:
            continue
        seen.add(device)
        free = shutil.disk_usage(where).free
        if free < min_free:
            return (
                f"only {free} bytes free on the device holding {path} "
                f"(MAESTRO_MIN_FREE_BYTES={min_free}); free space there"
            )
    return None
