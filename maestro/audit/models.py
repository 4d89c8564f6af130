"""Wire schemas of the audit endpoints. Hashes are lowercase hex, as Rekor's API
spells them; only the checkpoint note itself carries base64, as C2SP requires."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class SigningKeyInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    key_id: str = Field(description="First 16 bytes of SHA-256 of the raw Ed25519 key, hex.")
    algorithm: str = Field(examples=["ed25519"])
    pem: str = Field(description="The public key, SubjectPublicKeyInfo PEM.")
    created_at: str
    retired_at: str | None = Field(description="Set once another key signs; old checkpoints still verify.")


class AuditEventItem(BaseModel):
    index: int = Field(description="Position in the tenant's tree; also inside `event`.")
    leaf_hash: str = Field(description="SHA-256(0x00 || RFC 8785 canonical `event`), hex.")
    event: dict[str, Any] = Field(description="The event exactly as hashed.")


class CheckpointInfo(BaseModel):
    origin: str = Field(description="`<deployment>/audit/<tenant>`; also the note's key name.")
    size: int
    root_hash: str = Field(description="hex")
    key_id: str
    note: str = Field(description="The C2SP signed note, as `text/plain` serves it.")


class InclusionProof(BaseModel):
    index: int
    size: int
    root_hash: str
    leaf_hash: str
    hashes: list[str] = Field(description="The RFC 6962 audit path, hex, leaf to root.")


class ConsistencyProof(BaseModel):
    from_size: int = Field(serialization_alias="from")
    to_size: int = Field(serialization_alias="to")
    from_root_hash: str
    to_root_hash: str
    hashes: list[str] = Field(description="The RFC 6962 consistency proof, hex.")
