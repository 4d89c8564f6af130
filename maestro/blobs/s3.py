"""Blobs in an S3-compatible bucket: ``s3://bucket/prefix`` -> ``<prefix>/sha256/<hex>``.

Large objects go up as multipart uploads from the spooled file (constant memory);
an object is written only when a HEAD says it is absent, so identical bytes are
stored once.

Every call is bounded: at most ``slots`` run at once (a caller waits at most
``pool_timeout`` seconds for one), and the client's connect/read timeouts and
attempt budget (set in ``factory``) bound how long each may take. Whatever S3
does wrong - silence, refusal, a 5xx - reaches the caller as
``DependencyUnavailable`` (503 with Retry-After), never as a 500.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from maestro.blobs.base import BlobMissing, check_digest, digest_parts
from maestro.errors import DependencyUnavailable


@cache
def _s3_errors() -> tuple[type[Exception], ...]:
    """What boto3/botocore raise for a failing S3 (imported late: only S3 users pay for it)."""
    from boto3.exceptions import Boto3Error
    from botocore.exceptions import BotoCoreError, ClientError

    return (BotoCoreError, ClientError, Boto3Error)


class S3BlobStore:
    def __init__(
        self, bucket: str, prefix: str, client: Any, *, slots: int = 16, pool_timeout: float = 2.0
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client
        self.pool_timeout = pool_timeout
        self._slots = threading.BoundedSemaphore(slots)
        self._size = slots

    def _key(self, digest: str) -> str:
        _, name = digest_parts(digest)
        return f"{self.prefix}/sha256/{name}" if self.prefix else f"sha256/{name}"

    def _missing(self, exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    @contextlib.contextmanager
    def _call(self, action: str) -> Iterator[None]:
        """One bounded S3 operation: a slot in this store's pool, and S3's failures as 503."""
        if not self._slots.acquire(timeout=self.pool_timeout):
            busy = DependencyUnavailable(
                f"blob store {self.describe()} is busy: {self._size} calls already in flight "
                f"for over {self.pool_timeout:g} s; retry later"
            )
            busy.retry_after = 1
            raise busy
        try:
            yield
        except _s3_errors() as exc:
            raise DependencyUnavailable(
                f"blob store {self.describe()} could not {action} ({type(exc).__name__}); retry later"
            ) from exc
        finally:
            self._slots.release()

    def put_file(self, digest: str, source: Path, size: int) -> bool:
        if self.exists(digest):
            return False
        from boto3.s3.transfer import TransferConfig

        # In this thread: one upload holds one slot and one connection, never a hidden pool.
        with self._call("store the content"):
            self.client.upload_file(
                str(source), self.bucket, self._key(digest), Config=TransferConfig(use_threads=False)
            )
        return True

    def local_path(self, digest: str) -> Path | None:
        return None

    def exists(self, digest: str) -> bool:
        with self._call("look the content up"):
            try:
                self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
            except _s3_errors() as exc:
                if self._missing(exc):
                    return False
                raise
        return True

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        with self._call("read the content"):
            try:
                response = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))
            except _s3_errors() as exc:
                if self._missing(exc):
                    raise BlobMissing(digest) from None
                raise
            body = response["Body"]
            try:
                yield body
            finally:
                body.close()

    def delete(self, digest: str) -> None:
        with self._call("delete the content"):
            self.client.delete_object(Bucket=self.bucket, Key=self._key(digest))

    def iter_digests(self) -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        base = f"{self.prefix}/sha256/" if self.prefix else "sha256/"
        for page in paginator.paginate(Bucket=self.bucket, Prefix=base):
            for item in page.get("Contents", []):
                with contextlib.suppress(ValueError):
                    yield check_digest("sha256:" + item["Key"].rsplit("/", 1)[-1])

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def check(self) -> None:
        """A HEAD on the bucket outside the pool: readiness must not queue behind traffic."""
        self.client.head_bucket(Bucket=self.bucket)
