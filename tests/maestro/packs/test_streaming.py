"""The export streams: blobs are opened one at a time as the archive is consumed, and
memory stays at a chunk or so whatever the blobs' sizes (bench/pack_export.py measures
the server's RSS for 100 x 1 MB over HTTP)."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from maestro.audit.signing_key import Signer
from maestro.packs.export import BlobFile, ExportAborted, ExportPlan, stream

SIZE = 4 << 20


class CountingStore:
    """Blobs of random bytes made on the fly; records which were opened."""

    def __init__(self, blobs: dict[str, Path]) -> None:
        self.paths = blobs
        self.opened: list[str] = []

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        self.opened.append(digest)
        with open(self.paths[digest], "rb") as handle:
            yield handle


def _plan(tmp_path: Path, count: int) -> tuple[ExportPlan, CountingStore]:
    paths: dict[str, Path] = {}
    blobs = []
    for i in range(count):
        data = os.urandom(SIZE)
        digest = f"sha256:{hashlib.sha256(data).hexdigest()}"
        path = tmp_path / f"blob{i}"
        path.write_bytes(data)
        paths[digest] = path
        blobs.append(BlobFile(f"artifacts/a{i}/blob", digest, SIZE))
    plan = ExportPlan(
        pack_id="p",
        run_id="r",
        tenant_id="t",
        mtime=0,
        exported_at="2026-01-01T00:00:00.000Z",
        manifest=b"{}",
        blobs=tuple(blobs),
        checkpoint=b"c\n",
        events=b"{}",
        checkpoint_size=0,
    )
    return plan, CountingStore(paths)


SIGNER = Signer(Ed25519PrivateKey.generate(), "maestro.test", ())


def test_blobs_are_opened_only_as_the_archive_is_read(tmp_path: Path) -> None:
    plan, store = _plan(tmp_path, 3)
    chunks = stream(plan, store, SIGNER)  # type: ignore[arg-type]
    next(chunks)
    assert store.opened == []
    for _ in chunks:
        if len(store.opened) == 2:
            break
    assert store.opened == [plan.blobs[0].digest, plan.blobs[1].digest]


def test_memory_stays_at_a_few_chunks(tmp_path: Path) -> None:
    plan, store = _plan(tmp_path, 4)  # 16 MiB of incompressible bytes
    tracemalloc.start()
    try:
        total = sum(len(chunk) for chunk in stream(plan, store, SIGNER))  # type: ignore[arg-type]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total > 4 * SIZE
    assert peak < 6 << 20, f"peak {peak} bytes while streaming {total}"


def test_a_blob_that_changed_in_the_store_breaks_the_stream(tmp_path: Path) -> None:
    plan, store = _plan(tmp_path, 1)
    path = store.paths[plan.blobs[0].digest]
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ExportAborted, match="blob no longer matches its digest"):
        for _ in stream(plan, store, SIGNER):  # type: ignore[arg-type]
            pass
