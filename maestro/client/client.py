"""``MaestroClient``: the HTTP API as typed Python calls.

Each method states its request and whether it may be repeated; ``Transport``
does the sending, retrying and error mapping, ``pages`` the paging and
``streams`` the chunked content transfer.
"""

from __future__ import annotations

import json
import mimetypes
import os
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, BinaryIO
from urllib.parse import quote, urlencode

import httpx

from maestro import __version__
from maestro.client import environment, pages, streams
from maestro.client.gate_reports import GateReportCalls
from maestro.client.handle import RunHandle, default_owner
from maestro.client.policies import PolicyCalls
from maestro.client.retry import RetryPolicy
from maestro.client.tenancy import TenancyCalls
from maestro.client.transport import Call, Transport
from maestro.client.waivers import WaiverCalls
from maestro.client.wire import build, decode, decode_list, encode
from maestro.errors import DependencyUnavailable, MaestroError, TrustedKeyNotFound
from maestro.models import (
    Artifact,
    ArtifactCreate,
    ComponentMatch,
    DisclosurePack,
    DisclosurePackCreate,
    GateEvaluation,
    Run,
    RunCreate,
    RunLineage,
    RunManifest,
    RunStatus,
    RunUpdate,
    SbomDiff,
    TrustedKeyCreate,
    TrustedKeyInfo,
)

DEFAULT_URL = environment.DEFAULT_URL
JSON = {"Content-Type": "application/json"}


# The package's own version, not importlib.metadata's: looking the distribution up scans
# every installed package (tens of milliseconds a command, see bench/cli.py).
USER_AGENT = f"maestro-sdk/{__version__}"


def _json_list(content: bytes) -> list[dict[str, Any]]:
    items = json.loads(content)
    if not isinstance(items, list):
        raise MaestroError("the server answered a list request without a JSON array")
    return items


def _path(*parts: str) -> str:
    """A URL path from ids quoted whole, so an id with ``/`` or ``?`` cannot change the route."""
    return "/maestro/" + "/".join(quote(part, safe="") for part in parts)


class MaestroClient(PolicyCalls, GateReportCalls, TenancyCalls, WaiverCalls):
    """A Maestro API client. ``base_url`` and ``token`` default to ``MAESTRO_URL`` and
    ``MAESTRO_TOKEN`` (an unusable value there raises ``maestro.environment.BadSetting``
    naming it); pass ``http`` to use a ready ``httpx.Client`` (a test client, a
    client with custom TLS) as is. ``retries`` extra attempts are made for requests
    that are safe to repeat, ``backoff`` seconds apart, doubling each time."""

    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.5,
    ) -> None:
        token = token if token is not None else environment.from_env(environment.TOKEN)
        headers = {"User-Agent": USER_AGENT}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._owns_http = http is None
        if http is None:
            url = base_url or environment.from_env(environment.URL) or DEFAULT_URL
            http = httpx.Client(base_url=url, timeout=timeout)
        self._transport = Transport(
            http, RetryPolicy(retries=max(retries, 0), backoff=max(backoff, 0.0)), headers
        )

    def __enter__(self) -> MaestroClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection pool, unless the caller passed its own ``http``."""
        if self._owns_http:
            self._transport.http.close()

    # ----------------------------------------------------------- plumbing

    def _send(self, call: Call) -> httpx.Response:
        return self._transport.send(call)

    def _create(self, url: str, body: bytes) -> bytes:
        return self._send(Call.create(url, body)).content

    def _get(self, url: str) -> bytes:
        return self._send(Call("GET", url)).content

    # --------------------------------------------------------------- runs

    def create_run(self, data: RunCreate | None = None, /, **fields: Any) -> Run:
        return decode(Run, self._create("/maestro/runs", encode(build(RunCreate, data, fields))))

    def get_run(self, run_id: str) -> Run:
        return decode(Run, self._get(_path("runs", run_id)))

    def get_run_with_etag(self, run_id: str) -> tuple[Run, str]:
        """The run and its ETag, to pass as ``if_match`` to ``update_run``."""
        response = self._send(Call("GET", _path("runs", run_id)))
        return decode(Run, response.content), response.headers["etag"]

    def list_runs(
        self,
        *,
        owner: str | None = None,
        status: RunStatus | str | None = None,
        entity_id: str | None = None,
        decision_id: str | None = None,
        started_after: datetime | str | None = None,
        started_before: datetime | str | None = None,
        order: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[Run]:
        filters = {
            "owner": owner,
            "status": status,
            "entity_id": entity_id,
            "decision_id": decision_id,
            "started_after": started_after,
            "started_before": started_before,
            "order": order,
        }
        return pages.paginate(
            self._transport,
            "/maestro/runs",
            filters,
            lambda content: decode_list(Run, content),
            limit=limit,
            page_size=page_size,
        )

    def update_run(
        self, run_id: str, data: RunUpdate | None = None, /, *, if_match: str | None = None, **fields: Any
    ) -> Run:
        """A partial update. Retried only with ``if_match``: without it a repeated PATCH
        could apply after someone else's change (a metadata merge twice, say)."""
        body = encode(build(RunUpdate, data, fields))
        headers = {**JSON, "If-Match": if_match} if if_match is not None else dict(JSON)
        call = Call(
            "PATCH", _path("runs", run_id), headers=headers, body=lambda: body, retry=if_match is not None
        )
        return decode(Run, self._send(call).content)

    def start_run(self, run_id: str) -> Run:
        return self.update_run(run_id, status=RunStatus.RUNNING)

    def finish_run(self, run_id: str, status: str = "succeeded", **fields: Any) -> Run:
        return self.update_run(run_id, status=status, **fields)

    # ---------------------------------------------------------- artifacts

    def create_artifact(self, data: ArtifactCreate | None = None, /, **fields: Any) -> Artifact:
        body = encode(build(ArtifactCreate, data, fields))
        return decode(Artifact, self._create("/maestro/artifacts", body))

    def get_artifact(self, artifact_id: str) -> Artifact:
        return decode(Artifact, self._get(_path("artifacts", artifact_id)))

    def list_artifacts(
        self,
        *,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[Artifact]:
        return pages.paginate(
            self._transport,
            "/maestro/artifacts",
            {"run_id": run_id, "kind": kind},
            lambda content: decode_list(Artifact, content),
            limit=limit,
            page_size=page_size,
        )

    def upload_content(
        self,
        artifact_id: str,
        source: str | os.PathLike[str] | BinaryIO,
        *,
        strict: bool = False,
        media_type: str | None = None,
        progress: streams.Progress | None = None,
    ) -> Artifact:
        """Stream ``source`` as the artifact's content; the server parses and verifies it.

        Content is write-once, so sending the same bytes again is harmless: the upload
        is retried when ``source`` can be rewound, and never when it cannot (a pipe)."""
        source_file = streams.Source.open(source)
        try:
            headers: dict[str, str] = {}
            if media_type is not None:
                headers["Content-Type"] = media_type
            if source_file.size is not None:
                headers["Content-Length"] = str(source_file.size)
            call = Call(
                "PUT",
                _path("artifacts", artifact_id, "content"),
                params={"strict": "true" if strict else "false"},
                headers=headers,
                body=lambda: source_file.chunks(progress),
                retry=source_file.rewindable,
            )
            return decode(Artifact, self._send(call).content)
        finally:
            source_file.close()

    def download_content(self, artifact_id: str, dest: str | os.PathLike[str] | BinaryIO) -> str:
        """Stream the content to ``dest`` and return its digest (``sha256:<hex>``).

        The bytes are hashed as they are written; if they do not match the digest the
        server announced, ContentCorrupt is raised (and a path ``dest`` is not created)."""
        response = self._transport.send(Call("GET", _path("artifacts", artifact_id, "content")), stream=True)
        try:
            expected = str(response.headers.get("etag", "")).removeprefix("W/").strip('"')
            if not expected.startswith("sha256:"):
                raise MaestroError(
                    f"The server sent no sha256 ETag for {artifact_id}; cannot verify the download"
                )
            streams.write_verified(response.iter_bytes(streams.CHUNK), expected, dest)
        except httpx.TransportError as exc:
            raise DependencyUnavailable(
                f"cannot reach Maestro at {self._transport.http.base_url}: download of {artifact_id} "
                f"interrupted ({type(exc).__name__}: {exc})"
            ) from exc
        finally:
            response.close()
        return expected

    def attach(
        self,
        run_id: str,
        path: str | os.PathLike[str],
        *,
        kind: str,
        path_or_uri: str | None = None,
        strict: bool = True,
        progress: streams.Progress | None = None,
        content_hash: str | None = None,
        **metadata_flags: Any,
    ) -> Artifact:
        """Create an artifact for a local file and upload it in one atomic request.

        A multipart POST: the server creates the artifact only if the content is
        accepted (under ``strict``, only if it verifies as ``kind``), so a refusal
        leaves nothing behind. The file is streamed, never read whole; the request
        carries one Idempotency-Key on every attempt, so a retry after a lost
        response cannot create a second artifact. ``content_hash`` defaults to the
        file's sha256, so bytes that changed between hashing and sending are refused;
        ``metadata_flags`` are the ``metadata_json`` fields (``sbom_present=True``...)."""
        data = build(
            ArtifactCreate,
            None,
            {
                "run_id": run_id,
                "kind": kind,
                "path_or_uri": path_or_uri if path_or_uri is not None else os.fspath(path),
                "content_hash": content_hash or streams.file_digest(path),
                "metadata_json": metadata_flags,
            },
        )
        media_type = mimetypes.guess_type(os.fspath(path))[0] or "application/octet-stream"
        source_file = streams.Source.open(path)
        try:
            form = streams.MultipartUpload(
                encode(data), os.path.basename(os.fspath(path)), media_type, source_file
            )
            call = Call(
                "POST",
                "/maestro/artifacts",
                params={"strict": "true" if strict else "false"},
                headers=form.headers(),
                body=lambda: form.chunks(progress),
                retry=source_file.rewindable,
            )
            return decode(Artifact, self._send(call).content)
        finally:
            source_file.close()

    # ---------------------------------------------------- packs and gate

    def create_pack(self, data: DisclosurePackCreate | None = None, /, **fields: Any) -> DisclosurePack:
        body = encode(build(DisclosurePackCreate, data, fields))
        return decode(DisclosurePack, self._create("/maestro/disclosure-packs", body))

    def get_pack(self, pack_id: str) -> DisclosurePack:
        return decode(DisclosurePack, self._get(_path("disclosure-packs", pack_id)))

    def list_packs(
        self, *, run_id: str | None = None, limit: int | None = None, page_size: int = 100
    ) -> Iterator[DisclosurePack]:
        return pages.paginate(
            self._transport,
            "/maestro/disclosure-packs",
            {"run_id": run_id},
            lambda content: decode_list(DisclosurePack, content),
            limit=limit,
            page_size=page_size,
        )

    def export_pack(self, pack_id: str, path: str | os.PathLike[str]) -> Path:
        """Stream the pack's archive (tar.gz) to ``path``; return the path.

        Written through a temporary sibling renamed into place once the stream ended
        cleanly, so an interrupted export never leaves a file that looks complete.
        Check it offline with ``maestro pack verify``."""
        response = self._transport.send(
            Call("GET", _path("disclosure-packs", pack_id, "export")), stream=True
        )
        try:
            streams.write_whole(response.iter_bytes(streams.CHUNK), Path(path))
        except httpx.TransportError as exc:
            raise DependencyUnavailable(
                f"cannot reach Maestro at {self._transport.http.base_url}: export of pack {pack_id} "
                f"interrupted ({type(exc).__name__}: {exc})"
            ) from exc
        finally:
            response.close()
        return Path(path)

    def manifest(self, run_id: str) -> RunManifest:
        return decode(RunManifest, self._get(_path("runs", run_id, "manifest")))

    def lineage(self, run_id: str, *, direction: str = "up", depth: int = 10) -> RunLineage:
        """The runs ``run_id`` depends on (``direction="up"``) or that depend on it
        (``"down"``), within ``depth`` hops (1 to 50), nearest first; at most 1000, with
        ``truncated`` set when there were more."""
        query = urlencode({"direction": direction, "depth": depth})
        return decode(RunLineage, self._get(f"{_path('runs', run_id, 'lineage')}?{query}"))

    def gate_evaluations(
        self, run_id: str, *, limit: int | None = None, page_size: int = 100
    ) -> Iterator[GateEvaluation]:
        """The run's recorded verdicts, newest first, each with its signed VSA."""
        return pages.paginate(
            self._transport,
            _path("runs", run_id, "gate-evaluations"),
            {},
            lambda content: decode_list(GateEvaluation, content),
            limit=limit,
            page_size=page_size,
        )

    # ------------------------------------------------ components and keys

    def find_components(
        self,
        *,
        purl: str | None = None,
        name: str | None = None,
        version: str | None = None,
        limit: int | None = None,
        page_size: int = 100,
    ) -> Iterator[ComponentMatch]:
        return pages.paginate(
            self._transport,
            "/maestro/components",
            {"purl": purl, "name": name, "version": version},
            lambda content: decode_list(ComponentMatch, content),
            limit=limit,
            page_size=page_size,
        )

    def sbom_diff(self, base_run_id: str, head_run_id: str) -> SbomDiff:
        return decode(SbomDiff, self._get(_path("runs", base_run_id, "sbom-diff", head_run_id)))

    def add_trusted_key(self, name: str, pem: str) -> TrustedKeyInfo:
        body = encode(build(TrustedKeyCreate, None, {"name": name, "pem": pem}))
        return decode(TrustedKeyInfo, self._create("/maestro/trusted-keys", body))

    def list_trusted_keys(self) -> list[TrustedKeyInfo]:
        return decode_list(TrustedKeyInfo, self._get("/maestro/trusted-keys"))

    def delete_trusted_key(self, key_id: str) -> None:
        """Stop trusting a key. A 404 on a *repeated* attempt means the first one, whose
        answer was lost, already deleted it: the goal is met, so it is not an error."""
        call = Call("DELETE", _path("trusted-keys", key_id))
        try:
            self._send(call)
        except TrustedKeyNotFound:
            if call.attempts <= 1:
                raise

    # -------------------------------------------------------------- audit

    def audit_events(self, *, page_size: int = 1000, **filters: Any) -> Iterator[dict[str, Any]]:
        """The tenant's audit log in index order, each ``{index, leaf_hash, event}`` exactly
        as served (no model in between: an export must keep every hashed field as is).
        Filters: ``object_type``, ``object_id``, ``actor``, ``action``, ``since``, ``until``."""
        return pages.paginate(
            self._transport, "/maestro/audit", filters, _json_list, limit=None, page_size=page_size
        )

    def audit_checkpoint(self) -> str:
        """The latest signed checkpoint, a C2SP signed note."""
        return self._get("/maestro/audit/checkpoint").decode()

    # -------------------------------------------------------- operations

    def health(self) -> dict[str, Any]:
        """The readiness probe's JSON. A 503 is an answer here ("not ready, and why"),
        so it is returned, not raised and not retried."""
        response = self._send(Call("GET", "/readyz", ok=frozenset({503})))
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MaestroError(f"/readyz answered {response.status_code} without a JSON object")
        return body

    def run(self, name: str, *, owner: str | None = None, **fields: Any) -> RunHandle:
        """A run for a ``with`` block: created running, finished by the block's outcome.
        ``owner`` defaults to MAESTRO_OWNER, else the OS user name."""
        return RunHandle(self, name, owner or default_owner(), fields)
