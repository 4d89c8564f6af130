"""Choose the blob store from settings: a local directory by default, S3 when
``MAESTRO_BLOB_URL`` is ``s3://bucket/prefix``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maestro.blobs.base import BlobStore
from maestro.blobs.local import LocalBlobStore
from maestro.blobs.s3 import S3BlobStore
from maestro.config import Settings


@dataclass(frozen=True, slots=True)
class S3Limits:
    """How long one S3 call may take, how often it is tried, and how many run at once."""

    connect_timeout: float = 2.0
    read_timeout: float = 5.0
    max_attempts: int = 2
    max_concurrency: int = 16
    pool_timeout: float = 2.0

    @classmethod
    def from_settings(cls, settings: Settings) -> S3Limits:
        return cls(
            connect_timeout=settings.s3_connect_timeout,
            read_timeout=settings.s3_read_timeout,
            max_attempts=settings.s3_max_attempts,
            max_concurrency=settings.s3_max_concurrency,
            pool_timeout=settings.s3_pool_timeout,
        )


def open_blob_store(settings: Settings) -> BlobStore:
    secret = settings.s3_secret_access_key
    return blob_store_for(
        settings.blob_url,
        settings.data_dir,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
        limits=S3Limits.from_settings(settings),
    )


def blob_store_for(
    url: str | None,
    data_dir: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
    limits: S3Limits | None = None,
) -> BlobStore:
    if not url:
        return LocalBlobStore(data_dir / "blobs")
    parts = urlsplit(url)
    if parts.scheme == "file":
        return LocalBlobStore(Path(parts.path))
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"MAESTRO_BLOB_URL must be s3://bucket/prefix or file:///dir, not {url!r}")
    import boto3
    from botocore.config import Config

    limits = limits or S3Limits()
    # botocore's defaults (60 s timeouts, 5 attempts) let one stalled S3 hold a request for
    # minutes; these bound every call to about max_attempts x (connect + read) seconds.
    config = Config(
        s3={"addressing_style": "path"},
        connect_timeout=limits.connect_timeout,
        read_timeout=limits.read_timeout,
        retries={"total_max_attempts": limits.max_attempts, "mode": "standard"},
        max_pool_connections=limits.max_concurrency,
    )
    options: dict[str, Any] = {"config": config}
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["region_name"] = region
    if access_key_id and secret_access_key:
        options["aws_access_key_id"] = access_key_id
        options["aws_secret_access_key"] = secret_access_key
    client = boto3.client("s3", **options)
    return S3BlobStore(
        parts.netloc, parts.path, client, slots=limits.max_concurrency, pool_timeout=limits.pool_timeout
    )
