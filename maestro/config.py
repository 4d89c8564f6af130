"""Settings: every knob is a ``MAESTRO_*`` environment variable (see docs/configuration.md).

``get_settings()`` raises ``maestro.environment.BadSetting`` for a value it
cannot use, one line per variable (``MAESTRO_DB_POOL_SIZE=0: must be at least 1``);
the CLI prints those lines and exits 2, and ``maestro.app`` does the same for
``uvicorn maestro.app:app``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, HttpUrl, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from pydantic_settings import SettingsError as SourceError

from maestro import config_errors

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SUPPORTED_DATABASES = (
    "Maestro supports SQLite (sqlite:///path/to/maestro.db) "
    "and PostgreSQL (postgresql+psycopg://user@host:5432/dbname)"
)
# URL schemes accepted as they are, and the PostgreSQL spellings taken to mean psycopg 3,
# the driver installed with Maestro (psycopg2, asyncpg and the rest are not installed).
_SCHEMES = {
    "sqlite": "sqlite",
    "sqlite+pysqlite": "sqlite+pysqlite",
    "postgresql+psycopg": "postgresql+psycopg",
}
_SCHEMES |= dict.fromkeys(("postgresql", "postgres"), "postgresql+psycopg")


class Settings(BaseSettings):
    """Process configuration, read once from the environment."""

    model_config = SettingsConfigDict(env_prefix="MAESTRO_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".maestro"),
        description="Where the embedded SQLite database lives by default.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; default sqlite:///<data_dir>/maestro.db. "
        "PostgreSQL: postgresql+psycopg://user@host:5432/db",
    )
    auto_migrate: bool = Field(
        default=True,
        description="Apply pending migrations when the server starts (under a lock).",
    )
    max_request_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest JSON request body accepted."
    )
    db_pool_size: int = Field(
        default=20,
        ge=1,
        le=200,
        description="PostgreSQL connections per process: at least one worker's concurrent requests.",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where uploaded content lives: default <data_dir>/blobs; s3://bucket/prefix for S3.",
    )
    s3_endpoint_url: str | None = Field(
        default=None, description="S3-compatible endpoint (SeaweedFS, MinIO)."
    )
    s3_region: str | None = Field(default=None)
    s3_access_key_id: str | None = Field(default=None)
    s3_secret_access_key: SecretStr | None = Field(default=None)
    s3_connect_timeout: float = Field(
        default=2.0, gt=0, le=60, description="Seconds to open an S3 connection."
    )
    s3_read_timeout: float = Field(
        default=5.0, gt=0, le=300, description="Seconds S3 may stay silent during one request."
    )
    s3_max_attempts: int = Field(default=2, ge=1, le=10, description="Tries per S3 call, the first included.")
    s3_max_concurrency: int = Field(
        default=16, ge=1, le=256, description="S3 calls in flight per process (threads and connections)."
    )
    s3_pool_timeout: float = Field(
        default=2.0, ge=0, le=60, description="Seconds a request waits for a free S3 slot before 503."
    )
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest artifact content accepted.")
    max_parse_bytes: int = Field(
        default=128 * 1024**2, ge=1, description="Content larger than this is stored but not parsed."
    )
    max_parse_memory: int = Field(
        default=2 * 1024**3,
        ge=64 * 1024**2,
        description="Memory one parse may use (its worker process is stopped past it).",
    )
    parse_timeout: float = Field(default=120.0, gt=0, le=3600, description="Seconds one parse may run.")
    max_concurrent_parses: int = Field(default=2, ge=1, le=64, description="Parses running at once.")
    parse_queue_timeout: float = Field(
        default=10.0, ge=0, le=600, description="Seconds an upload waits for a parse slot before 503."
    )
    min_free_bytes: int = Field(
        default=100 * 1024**2,
        ge=0,
        description="/readyz reports not ready when the data directory's or local blob store's "
        "device has less free space than this; 0 turns the check off.",
    )
    intelgraph_url: HttpUrl | None = Field(
        default=None,
        description="When set, entity/decision ids are checked against this IntelGraph API.",
    )
    intelgraph_timeout: float = Field(default=5.0, gt=0, le=120, description="Read timeout per request.")
    intelgraph_connect_timeout: float = Field(default=1.0, gt=0, le=60)
    intelgraph_retries: int = Field(default=1, ge=0, le=5, description="Retries after a failed connect.")
    intelgraph_max_concurrency: int = Field(default=8, ge=1, le=256, description="Connections per process.")
    intelgraph_pool_timeout: float = Field(default=2.0, ge=0, le=60)
    max_header_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest request head (request line and headers); bigger ones get 431.",
    )
    max_headers: int = Field(default=100, ge=1, description="Most header fields in one request (431).")
    max_url_bytes: int = Field(default=8192, ge=256, description="Longest request target (414).")
    header_timeout: float = Field(
        default=10.0, gt=0, le=300, description="Seconds a client has to send a complete request head."
    )
    body_timeout: float = Field(
        default=30.0, gt=0, le=3600, description="Longest pause, in seconds, inside a request body."
    )
    keep_alive_timeout: int = Field(
        default=5, ge=1, le=300, description="Seconds an idle keep-alive connection stays open."
    )
    max_connections: int | None = Field(
        default=None,
        ge=1,
        description="Open connections per worker; unset: derived from the file-descriptor limit.",
    )
    backlog: int = Field(
        default=2048, ge=16, description="Listen backlog (capped at a quarter of the file-descriptor limit)."
    )
    public_url: HttpUrl | None = Field(
        default=None,
        description="The URL clients reach this server at (https://maestro.example.com), "
        "used for absolute Link and Location URLs; unset, they are relative paths, never "
        "built from the client's Host header.",
    )
    signing_key: Path | None = Field(
        default=None,
        description="Ed25519 PEM private key that signs audit checkpoints; "
        "default <data_dir>/keys/signing-key.pem, generated on first use (mode 0600).",
    )
    waiver_max_days: int = Field(
        default=90, ge=1, le=366, description="How far ahead a waiver's expires_at may be, in days."
    )
    log_level: str = Field(default="INFO")
    access_log: bool = Field(default=True, description="One JSON line per request.")
    auth: Literal["auto", "required"] = Field(
        default="auto",
        description="auto: while no API token exists, loopback requests act as the admin of "
        "tenant default; required: every request needs a token.",
    )

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str | None) -> str | None:
        """Only the two databases Maestro is tested on; ``postgresql://`` means psycopg 3.
        Empty is unset (the SQLite default), as it always was."""
        if not value:
            return None
        scheme, sep, rest = value.partition("://")
        if not sep:
            raise ValueError(f"must be a database URL; {SUPPORTED_DATABASES}")
        normalized = _SCHEMES.get(scheme.lower())
        if normalized is None:
            raise ValueError(f"unsupported database URL scheme {scheme!r}; {SUPPORTED_DATABASES}")
        return f"{normalized}://{rest}"

    @field_validator("log_level")
    @classmethod
    def _known_level(cls, value: str) -> str:
        if value.upper() not in LOG_LEVELS:
            raise ValueError(f"must be one of {', '.join(LOG_LEVELS)} (any case)")
        return value.upper()

    def spool_dir(self) -> Path:
        """Where uploads are written while they stream in (same file system as local blobs)."""
        return self.data_dir / "tmp"

    def resolved_database_url(self) -> str:
        """The database URL in effect; the SQLite default lives under ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'maestro.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    """The process's settings; a variable that cannot be used raises ``BadSetting`` naming it."""
    try:
        return Settings()
    except ValidationError as exc:
        raise config_errors.from_validation(exc, Settings.model_fields, os.environ) from None
    except SourceError as exc:
        raise config_errors.from_source(exc, Settings.model_fields, os.environ) from None
