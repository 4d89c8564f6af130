"""Settings: every knob is a ``MAESTRO_*`` environment variable (see docs/configuration.md)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, HttpUrl, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    max_upload_bytes: int = Field(default=2 * 1024**3, ge=1, description="Largest artifact content accepted.")
    max_parse_bytes: int = Field(
        default=128 * 1024**2, ge=1, description="Content larger than this is stored but not parsed."
    )
    intelgraph_url: HttpUrl | None = Field(
        default=None,
        description="When set, entity/decision ids are checked against this IntelGraph API.",
    )
    intelgraph_timeout: float = Field(default=5.0, gt=0, le=120)
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
    log_level: str = Field(default="INFO")
    access_log: bool = Field(default=True, description="One JSON line per request.")

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
    return Settings()
