"""Artifact content: streamed upload, verified download."""

from __future__ import annotations

import base64
import hashlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, BinaryIO

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse

from maestro import storage
from maestro.api.deps import BlobStoreDep, LanesDep, SettingsDep, UowDep, UploadLimitsDep
from maestro.api.responses import json_response
from maestro.artifacts import upload as content_service
from maestro.blobs.base import BlobMissing, BlobStore
from maestro.blobs.spool import Spool
from maestro.errors import ArtifactNotFound, ContentCorrupt, ContentNotFound, RangeNotSatisfiable
from maestro.models import Artifact, ErrorBody
from maestro.platform.threads import run_sync
from maestro.platform.uow import UnitOfWork

router = APIRouter(prefix="/maestro/artifacts", tags=["artifact content"])
log = logging.getLogger("maestro.blobs")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_SAFE_TO_LABEL = {
    "application/json",
    "text/plain",
    "application/gzip",
    "application/zip",
    "application/x-tar",
}
_CHUNK = 1 << 20


def _lookup(uow: UnitOfWork, artifact_id: str) -> tuple[str | None, str | None, int | None, str | None]:
    row = storage.get_artifact(uow, artifact_id)
    uow.release()  # the bytes stream without a transaction open
    if row is None:
        raise ArtifactNotFound()
    return row.content_hash, row.content_digest, row.content_size, row.media_type


@router.put(
    "/{artifact_id}/content",
    response_model=Artifact,
    status_code=201,
    responses={
        200: {"model": Artifact},
        404: {"model": ErrorBody},
        409: {"model": ErrorBody},
        413: {"model": ErrorBody},
        422: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "The blob store or the parser is unavailable or busy."},
    },
    openapi_extra={
        "requestBody": {
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
            "required": True,
        }
    },
)
async def upload_artifact_content(
    artifact_id: str,
    request: Request,
    uow: UowDep,
    blobs: BlobStoreDep,
    settings: SettingsDep,
    lanes: LanesDep,
    limits: UploadLimitsDep,
    strict: Annotated[
        bool, Query(description="Refuse content that does not verify as the artifact's kind.")
    ] = False,
) -> Response:
    """Stream the raw body into storage: 201 when attached, 200 when the same bytes were already there."""
    content_hash = await run_sync(content_service.declared_content_hash, uow, artifact_id)
    spool = Spool(
        settings.spool_dir(), settings.max_upload_bytes, content_service.hash_algorithms(content_hash)
    )
    try:
        async for chunk in request.stream():
            spool.write(chunk)
        artifact, created = await lanes.uploads.run(
            content_service.attach_content,
            uow,
            blobs,
            artifact_id,
            spool,
            strict=strict,
            media_type=content_service.clean_media_type(request.headers.get("content-type")),
            limits=limits,
        )
    finally:
        spool.discard()
    return json_response(artifact, 201 if created else 200)


def _verified_file(blobs: BlobStore, digest: str, spool_dir: Path) -> tuple[Path, bool]:
    """A file whose bytes were just hashed and match ``digest``: the local blob itself, or
    (S3) a private copy made while hashing. The flag says whether to delete it after."""
    local = blobs.local_path(digest)
    if local is not None:
        hasher = hashlib.sha256()
        with open(local, "rb") as handle:
            while chunk := handle.read(_CHUNK):
                hasher.update(chunk)
        if f"sha256:{hasher.hexdigest()}" != digest:
            log.error(
                "blob digest mismatch", extra={"expected": digest, "actual": f"sha256:{hasher.hexdigest()}"}
            )
            raise ContentCorrupt()
        return local, False
    return _verified_copy(blobs, digest, spool_dir), True


def _verified_copy(blobs: BlobStore, digest: str, spool_dir: Path) -> Path:
    """Copy the blob to a private temp file, hashing as it goes; refuse a mismatch."""
    spool = Spool(spool_dir, limit=1 << 62)
    try:
        with blobs.open(digest) as source:
            while chunk := source.read(_CHUNK):
                spool.write(chunk)
    except BlobMissing:
        spool.discard()
        raise ContentCorrupt("Stored content is missing from the blob store; it is not served") from None
    spool.close()
    if spool.digest != digest:
        spool.discard()
        log.error("blob digest mismatch", extra={"expected": digest, "actual": spool.digest})
        raise ContentCorrupt()
    return spool.path


def _parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    if header is None:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        raise RangeNotSatisfiable("Only a single bytes=start-end range is supported")
    first, last = match.groups()
    if first == "" and last == "":
        raise RangeNotSatisfiable()
    if first == "":
        start, end = max(size - int(last), 0), size - 1
    else:
        start, end = int(first), min(int(last), size - 1) if last else size - 1
    if start >= size or start > end:
        raise RangeNotSatisfiable(f"Range outside 0-{size - 1}")
    return start, end


def _stream(path: Path, start: int, length: int, *, remove: bool) -> Iterator[bytes]:
    handle: BinaryIO
    try:
        with open(path, "rb") as handle:
            handle.seek(start)
            remaining = length
            while remaining > 0:
                chunk = handle.read(min(_CHUNK, remaining))
                if not chunk:
                    break
                remaining -= len(chunk)
                yield chunk
    finally:
        if remove:
            path.unlink(missing_ok=True)


@router.get(
    "/{artifact_id}/content",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"application/octet-stream": {}}},
        206: {"description": "The part a Range asked for.", "content": {"application/octet-stream": {}}},
        304: {"description": "If-None-Match names the content's ETag."},
        404: {"model": ErrorBody},
        416: {"model": ErrorBody},
        503: {"model": ErrorBody, "description": "The blob store is unavailable or busy."},
    },
)
async def download_artifact_content(
    artifact_id: str,
    request: Request,
    uow: UowDep,
    blobs: BlobStoreDep,
    settings: SettingsDep,
    lanes: LanesDep,
) -> Response:
    """The bytes, only after they were re-hashed and still match their digest."""
    _, digest, size, media_type = await run_sync(_lookup, uow, artifact_id)
    if digest is None or size is None:
        raise ContentNotFound()
    tag = f'"{digest}"'
    if request.headers.get("if-none-match") in (tag, "*"):
        return Response(status_code=304, headers={"ETag": tag})
    try:
        byte_range = _parse_range(request.headers.get("range"), size)
    except RangeNotSatisfiable as exc:
        return JSONResponse(exc.to_body(), 416, {"Content-Range": f"bytes */{size}"})
    # in the blob lane: a stalled store must not hold the threads database-only requests use
    path, remove = await lanes.blobs.run(_verified_file, blobs, digest, settings.spool_dir())
    start, end = byte_range or (0, size - 1)
    headers = {
        "ETag": tag,
        "Accept-Ranges": "bytes",
        "Content-Length": str(max(end - start + 1, 0)),
        "Repr-Digest": f"sha-256=:{base64.b64encode(bytes.fromhex(digest.split(':', 1)[1])).decode()}:",
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "attachment",
    }
    status = 200
    if byte_range is not None:
        status = 206
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
    label = media_type if media_type in _SAFE_TO_LABEL or (media_type or "").endswith("+json") else None
    media = label or "application/octet-stream"
    if size == 0:
        if remove:
            path.unlink(missing_ok=True)
        return Response(b"", status, headers, media)
    return StreamingResponse(
        _stream(path, start, end - start + 1, remove=remove), status, headers, media_type=media
    )
