"""The generated signing key under concurrency and crashes: workers (or replicas) that
start on one fresh data directory end up with one key, and a generation cut short
leaves nothing that a restart would trip on."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from maestro.audit import signing_key

ATTEMPTS = 20  # the old O_EXCL code failed about one attempt in three


def _load_at_once(data_dir: Path, loaders: int) -> tuple[set[str], list[BaseException]]:
    """``loaders`` threads calling ``load`` together, as worker processes do on their
    first checkpoint (each process has its own lock in the router, not a shared one)."""
    barrier = threading.Barrier(loaders)
    key_ids: set[str] = set()
    errors: list[BaseException] = []

    def load() -> None:
        barrier.wait()
        try:
            key_ids.add(signing_key.load(data_dir, None, None).key_id)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=load) for _ in range(loaders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return key_ids, errors


def test_loaders_starting_together_share_one_complete_key(tmp_path: Path) -> None:
    for attempt in range(ATTEMPTS):
        data_dir = tmp_path / str(attempt)
        key_ids, errors = _load_at_once(data_dir, 4)
        assert errors == []
        assert len(key_ids) == 1
        keys_dir = data_dir / "keys"
        assert sorted(p.name for p in keys_dir.iterdir()) == ["published.json", "signing-key.pem"]
        assert oct((keys_dir / "signing-key.pem").stat().st_mode & 0o777) == "0o600"
        assert signing_key.load(data_dir, None, None).key_id in key_ids


def test_a_generation_cut_short_leaves_no_key_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A process killed before it wrote the key must not leave an empty key behind:
    every later start would fail to read it."""

    def killed(fd: int, *_args: object) -> None:
        os.close(fd)  # as the kernel does for a process that dies
        raise SystemExit("killed while generating the key")

    with monkeypatch.context() as patch:
        patch.setattr(os, "fdopen", killed)
        with pytest.raises(SystemExit):
            signing_key.load(tmp_path, None, None)
    assert not (tmp_path / "keys" / "signing-key.pem").exists()
    assert signing_key.load(tmp_path, None, None).key_id
