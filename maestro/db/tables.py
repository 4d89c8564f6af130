"""The schema, as SQLAlchemy 2.0 typed ORM classes. Alembic migrations mirror it.

Every list the API filters or pages over has an index that ends in
``(created_at, id)`` (``started_at`` for runs), so keyset pagination is an
index range scan at any depth. Each resource row belongs to one tenant, and those
indexes start with ``tenant_id``: every query will be scoped by the caller's tenant.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause

from maestro.db.types import UTCDateTime, json_type

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

DIFF_KEY_TYPE = String(2048).with_variant(String(2048, collation="C"), "postgresql")

RUN_STATUSES = ("pending", "running", "succeeded", "failed", "cancelled")
ARTIFACT_KINDS = ("sbom", "slsa_provenance", "risk_assessment", "build_log", "test_report", "other")
LINK_KINDS = ("entity", "decision")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


DEFAULT_TENANT = "default"
_DEFAULT_TENANT_SQL: TextClause = text(f"'{DEFAULT_TENANT}'")


def tenant_column() -> Mapped[str]:
    """The owning tenant. Rows written before tenancy (or in local mode) belong to ``default``."""
    return mapped_column(
        String(64), ForeignKey("tenants.id"), server_default=_DEFAULT_TENANT_SQL, default=DEFAULT_TENANT
    )


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    name: Mapped[str] = mapped_column(String(512))
    owner: Mapped[str] = mapped_column(String(320))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cost_estimate: Mapped[float | None] = mapped_column(Float())
    cost_actual: Mapped[float | None] = mapped_column(Float())
    related_entity_ids: Mapped[list[str]] = mapped_column(json_type())
    related_decision_ids: Mapped[list[str]] = mapped_column(json_type())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", json_type())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    version: Mapped[int] = mapped_column(Integer())

    __table_args__ = (
        CheckConstraint(_in("status", RUN_STATUSES), name="status"),
        Index("ix_runs_tenant_id_started_at_id", "tenant_id", "started_at", "id"),
        Index("ix_runs_tenant_id_owner_started_at_id", "tenant_id", "owner", "started_at", "id"),
        Index("ix_runs_tenant_id_status_started_at_id", "tenant_id", "status", "started_at", "id"),
    )


class RunLinkRow(Base):
    """One row per (run, entity) or (run, decision): makes ``?entity_id=`` an index lookup.

    ``started_at`` is copied from the run so a filtered list pages on this index alone.
    """

    __tablename__ = "run_links"

    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[str] = mapped_column(String(256), primary_key=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    tenant_id: Mapped[str] = tenant_column()

    __table_args__ = (
        CheckConstraint(_in("kind", LINK_KINDS), name="kind"),
        Index(
            "ix_run_links_tenant_id_kind_target_id_started_at_run_id",
            "tenant_id",
            "kind",
            "target_id",
            "started_at",
            "run_id",
        ),
    )


class RunDependencyRow(Base):
    """One edge of the run lineage: ``run_id`` depends on ``depends_on_id`` (same tenant).

    The primary key walks a run's upstream edges; the second index walks the
    downstream ones, so a lineage query in either direction is an index lookup per hop.
    """

    __tablename__ = "run_dependencies"

    tenant_id: Mapped[str] = mapped_column(String(64), ForeignKey("tenants.id"), primary_key=True)
    run_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    depends_on_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )

    __table_args__ = (
        CheckConstraint("run_id <> depends_on_id", name="not_self"),
        Index("ix_run_dependencies_tenant_id_depends_on_id_run_id", "tenant_id", "depends_on_id", "run_id"),
    )


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    path_or_uri: Mapped[str] = mapped_column(String(4096))
    content_hash: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sbom_present: Mapped[bool] = mapped_column(Boolean())
    slsa_provenance_present: Mapped[bool] = mapped_column(Boolean())
    risk_assessment_present: Mapped[bool] = mapped_column(Boolean())
    additional_metadata: Mapped[dict[str, Any]] = mapped_column(json_type())
    # Uploaded content (issue: verified evidence). Null until content is uploaded.
    content_digest: Mapped[str | None] = mapped_column(String(80), ForeignKey("blobs.digest"), index=True)
    content_size: Mapped[int | None] = mapped_column(BigInteger())
    media_type: Mapped[str | None] = mapped_column(String(255))
    uploaded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[dict[str, Any] | None] = mapped_column(json_type())
    verified_sbom: Mapped[bool] = mapped_column(Boolean(), server_default=false())
    verified_slsa_provenance: Mapped[bool] = mapped_column(Boolean(), server_default=false())
    verified_risk_assessment: Mapped[bool] = mapped_column(Boolean(), server_default=false())

    __table_args__ = (
        CheckConstraint(_in("kind", ARTIFACT_KINDS), name="kind"),
        Index("ix_artifacts_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_artifacts_run_id_created_at_id", "run_id", "created_at", "id"),
        Index("ix_artifacts_tenant_id_kind_created_at_id", "tenant_id", "kind", "created_at", "id"),
    )


class DisclosurePackRow(Base):
    __tablename__ = "disclosure_packs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"))
    summary: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", json_type())

    __table_args__ = (
        Index("ix_disclosure_packs_tenant_id_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_disclosure_packs_run_id_created_at_id", "run_id", "created_at", "id"),
    )


class DisclosurePackArtifactRow(Base):
    """The ordered artifact list of a pack, with real foreign keys to both sides."""

    __tablename__ = "disclosure_pack_artifacts"

    pack_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("disclosure_packs.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer(), primary_key=True)
    artifact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("artifacts.id", ondelete="CASCADE"), index=True
    )


class BlobRow(Base):
    """Content-addressed bytes in the blob store. ``lease_until`` protects a blob an
    upload is about to reference from garbage collection."""

    __tablename__ = "blobs"

    digest: Mapped[str] = mapped_column(String(80), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComponentRow(Base):
    """One component of one SBOM artifact: the index behind "which runs contain X"."""

    __tablename__ = "components"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    artifact_id: Mapped[str] = mapped_column(String(36), ForeignKey("artifacts.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(String(36), ForeignKey("runs.id", ondelete="CASCADE"))
    purl: Mapped[str | None] = mapped_column(String(2048))
    purl_base: Mapped[str | None] = mapped_column(String(2048))
    name: Mapped[str] = mapped_column(String(1024))
    version: Mapped[str | None] = mapped_column(String(256))
    # What sbom-diff matches on: purl_base, else "name:<name>" (written by insert_components).
    # Byte order ("C") on PostgreSQL, as SQLite's BINARY and Python's str compare, so the diff
    # reads each run in index order and merges the two streams without a sort.
    diff_key: Mapped[str] = mapped_column(DIFF_KEY_TYPE)
    hashes: Mapped[dict[str, str]] = mapped_column(json_type())
    licenses: Mapped[list[str]] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        Index("ix_components_tenant_id_purl_created_at_id", "tenant_id", "purl", "created_at", "id"),
        Index(
            "ix_components_tenant_id_purl_base_created_at_id", "tenant_id", "purl_base", "created_at", "id"
        ),
        Index(
            "ix_components_tenant_id_name_version_created_at_id",
            "tenant_id",
            "name",
            "version",
            "created_at",
            "id",
        ),
        # Pages one artifact's components (GET /maestro/artifacts/{id}/components).
        Index("ix_components_artifact_id_created_at_id", "artifact_id", "created_at", "id"),
        # One run's components in diff-key order (sbom-diff); also serves every run_id lookup.
        Index("ix_components_run_id_diff_key", "run_id", "diff_key"),
    )


class ArtifactEvidenceRow(Base):
    """An artifact's full evidence, apart from archive members. The ``evidence`` column of
    ``artifacts`` holds only the bounded view that every list and manifest carries."""

    __tablename__ = "artifact_evidence"

    artifact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    evidence: Mapped[dict[str, Any]] = mapped_column(json_type())


class ArtifactMemberRow(Base):
    """One member of an archive artifact, in archive order (``/evidence/members``)."""

    __tablename__ = "artifact_members"

    artifact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer(), primary_key=True)
    path: Mapped[str] = mapped_column(Text())
    size: Mapped[int] = mapped_column(BigInteger())
    skipped: Mapped[str | None] = mapped_column(Text())
    evidence: Mapped[dict[str, Any] | None] = mapped_column(json_type())


class ComponentIndexClaimRow(Base):
    """An upload indexing this artifact's components in several transactions (SQLite, large
    SBOMs) holds the claim: others wait their turn or, past ``renewed_at`` + lease, take it
    over and clear the rows it left. The artifact has no content meanwhile, so none of
    those rows is visible (the index only shows artifacts with content)."""

    __tablename__ = "component_index_claims"

    artifact_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("artifacts.id", ondelete="CASCADE"), primary_key=True
    )
    token: Mapped[str] = mapped_column(String(36))
    renewed_at: Mapped[datetime] = mapped_column(UTCDateTime())


class TrustedKeyRow(Base):
    """A public key trusted for DSSE signatures."""

    __tablename__ = "trusted_keys"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    tenant_id: Mapped[str] = tenant_column()
    name: Mapped[str] = mapped_column(String(256))
    key_id: Mapped[str] = mapped_column(String(80))
    algorithm: Mapped[str] = mapped_column(String(32))
    pem: Mapped[str] = mapped_column(Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    # Names and keys are unique per tenant: two tenants may trust the same key.
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        UniqueConstraint("tenant_id", "key_id"),
    )


class IdempotencyKeyRow(Base):
    """A client's Idempotency-Key and the first response it produced.

    ``status_code`` is null only in the in-flight markers releases before the unit of
    work left behind; they are treated as absent.
    """

    __tablename__ = "idempotency_keys"

    tenant_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("tenants.id"),
        primary_key=True,
        server_default=_DEFAULT_TENANT_SQL,
        default=DEFAULT_TENANT,
    )
    scope: Mapped[str] = mapped_column(String(300), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer())
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary())
    response_headers: Mapped[dict[str, str] | None] = mapped_column(json_type())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)


# The tenancy (tenants, api_tokens) and audit tables share this metadata; imported
# last because they subclass Base.
from maestro.db import audit_tables as _audit_tables  # noqa: E402, F401
from maestro.db import policy_tables as _policy_tables  # noqa: E402, F401
from maestro.db import tenancy_tables  # noqa: E402, F401
from maestro.db import verdict_tables as _verdict_tables  # noqa: E402, F401
from maestro.db import waiver_tables as _waiver_tables  # noqa: E402, F401
