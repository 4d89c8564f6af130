"""Content-addressed blob stores: bytes are named only by their server-computed digest."""

from maestro.blobs.base import BlobMissing, BlobStore, check_digest
from maestro.blobs.factory import open_blob_store

__all__ = ["BlobMissing", "BlobStore", "check_digest", "open_blob_store"]
