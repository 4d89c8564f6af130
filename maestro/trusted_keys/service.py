"""Trusted public keys for DSSE signature verification."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from maestro.errors import Conflict, TrustedKeyNotFound, ValidationFailed
from maestro.evidence.model import TrustedKey
from maestro.ids import uuid7
from maestro.models import TrustedKeyCreate, TrustedKeyInfo
from maestro.platform.scope import Scope
from maestro.platform.uow import UnitOfWork
from maestro.trusted_keys import repository
from maestro.trusted_keys.repository import TrustedKeyRecord

MIN_RSA_BITS = 2048


def _describe(pem: str) -> tuple[str, str]:
    """(algorithm, key_id) of a public key PEM, or ValidationFailed saying why not."""
    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError):
        raise ValidationFailed.for_field("pem", "is not a PEM-encoded public key") from None
    if isinstance(key, ed25519.Ed25519PublicKey):
        algorithm = "ed25519"
    elif isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        algorithm = "ecdsa-p256"
    elif isinstance(key, rsa.RSAPublicKey) and key.key_size >= MIN_RSA_BITS:
        algorithm = f"rsa-{key.key_size}"
    else:
        raise ValidationFailed.for_field(
            "pem", f"unsupported key type; use Ed25519, ECDSA P-256 or RSA >= {MIN_RSA_BITS} bits"
        )
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return algorithm, hashlib.sha256(der).hexdigest()


def _info(row: object) -> TrustedKeyInfo:
    return TrustedKeyInfo.model_validate(row, from_attributes=True)


def add_key(uow: UnitOfWork, data: TrustedKeyCreate) -> TrustedKeyInfo:
    algorithm, key_id = _describe(data.pem)
    clash = repository.key_conflict(uow, data.name, key_id)
    if clash == "name":
        raise Conflict(f"A trusted key named {data.name!r} already exists")
    if clash == "pem":
        raise Conflict(f"This public key is already trusted (key_id {key_id})")
    record = TrustedKeyRecord(uuid7(), data.name, key_id, algorithm, data.pem.strip() + "\n", uow.clock())
    repository.insert_key(uow, record)
    info = _info(record)
    uow.record("trusted_key.create", "trusted_key", info.id, info)
    return info


def list_keys(uow: UnitOfWork) -> list[TrustedKeyInfo]:
    return [_info(r) for r in repository.list_keys(uow)]


def get_key(uow: UnitOfWork, key_id: str) -> TrustedKeyInfo:
    row = repository.get_key(uow, key_id)
    if row is None:
        raise TrustedKeyNotFound()
    return _info(row)


def delete_key(uow: UnitOfWork, key_id: str) -> None:
    if not repository.delete_key(uow, key_id):
        raise TrustedKeyNotFound()
    uow.record("trusted_key.delete", "trusted_key", key_id, None)


def trusted_keys(scope: Scope) -> tuple[TrustedKey, ...]:
    """What the parsers verify signatures against: every trusted key of the deployment (a signer's
    keyid only orders them; ``maestro.evidence.trusted_keys`` bounds the checks per document)."""
    return tuple(TrustedKey(key_id=r.key_id, name=r.name, pem=r.pem) for r in repository.list_keys(scope))
