"""Choose the blob store from settings: a local directory by default, S3 when
``MAESTRO_BLOB_URL`` is ``s3://bucket/prefix``."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from maestro.blobs.base import BlobStore
from maestro.blobs.local import LocalBlobStore
from maestro.blobs.s3 import S3BlobStore
from maestro.config import Settings


def open_blob_store(settings: Settings) -> BlobStore:
    secret = settings.s3_secret_access_key
    return blob_store_for(
        settings.blob_url,
        settings.data_dir,
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret else None,
    )


def blob_store_for(
    url: str | None,
    data_dir: Path,
    *,
    endpoint_url: str | None = None,
    region: str | None = None,
    access_key_id: str | None = None,
    secret_access_key: str | None = None,
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

    options: dict[str, Any] = {
        "config": Config(s3={"addressing_style": "path"}, retries={"max_attempts": 5, "mode": "standard"}),
    }
    if endpoint_url:
        options["endpoint_url"] = endpoint_url
    if region:
        options["region_name"] = region
    if access_key_id and secret_access_key:
        options["aws_access_key_id"] = access_key_id
        options["aws_secret_access_key"] = secret_access_key
    client = boto3.client("s3", **options)
    return S3BlobStore(parts.netloc, parts.path, client)
