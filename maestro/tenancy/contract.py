"""The wire shapes of ``/maestro/tokens`` and ``/maestro/tenants``, shared with the SDK."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from maestro.models import Timestamp
from maestro.tenancy.roles import Role

TENANT_ID_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
TenantId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=TENANT_ID_PATTERN)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=256, pattern=r"^[^\x00]*$")]
DEFAULT_EXPIRY_DAYS = 30
MAX_EXPIRY_DAYS = 366


class TokenCreate(BaseModel):
    """A new token. Without ``expires_at`` it lives 30 days; it may live at most 366."""

    model_config = ConfigDict(extra="forbid")

    tenant_id: TenantId = Field(default="default", description="The tenant the token acts for.")
    role: Role
    name: Label = Field(description="What the token is for, e.g. 'ci on main'.")
    expires_at: Timestamp | None = Field(
        default=None, description=f"Default: {DEFAULT_EXPIRY_DAYS} days; at most {MAX_EXPIRY_DAYS}."
    )


class Token(BaseModel):
    """A token as listed: never its secret."""

    id: str
    tenant_id: str
    role: Role
    name: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_by: str | None


class TokenSecret(Token):
    """The answer to creating a token: the only time ``token`` (the secret) is shown."""

    token: str = Field(description="The secret. Shown once; Maestro keeps only its SHA-256.")


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: TenantId = Field(description="A slug: lowercase letters, digits and '-'.")
    name: Label


class Tenant(BaseModel):
    id: str
    name: str
    created_at: datetime
