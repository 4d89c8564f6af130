"""Blobs in an S3-compatible bucket: ``s3://bucket/prefix`` -> ``<prefix>/sha256/<hex>``.

Large objects go up as multipart uploads from the spooled file (constant memory);
an object is written only when a HEAD says it is absent, so identical bytes are
stored once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from maestro.blobs.base import BlobMissing, check_digest, digest_parts


class S3BlobStore:
    def __init__(self, bucket: str, prefix: str, client: Any) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = client

    def _key(self, digest: str) -> str:
        _, name = digest_parts(digest)
        return f"{self.prefix}/sha256/{name}" if self.prefix else f"sha256/{name}"

    def _missing(self, exc: Exception) -> bool:
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def put_file(self, digest: str, source: Path, size: int) -> bool:
        if self.exists(digest):
            return False
        self.client.upload_file(str(source), self.bucket, self._key(digest))
        return True

    def local_path(self, digest: str) -> Path | None:
        return None

    def exists(self, digest: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(digest))
        except Exception as exc:
            if self._missing(exc):
                return False
            raise
        return True

    @contextlib.contextmanager
    def open(self, digest: str) -> Iterator[BinaryIO]:
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=self._key(digest))
        except Exception as exc:
            if self._missing(exc):
                raise BlobMissing(digest) from None
            raise
        body = response["Body"]
        try:
            yield body
        finally:
            body.close()

    def delete(self, digest: str) -> None:
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
        self.client.head_bucket(Bucket=self.bucket)
