"""The Ed25519 key that signs audit checkpoints, and the public keys the server publishes.

The private key is a PEM file, never a database row: whoever can rewrite the
database (an operator, a restored backup) must not also be able to re-sign a
rewritten log. It comes from ``MAESTRO_SIGNING_KEY`` or is generated once into
``<data_dir>/keys/signing-key.pem`` (mode 0600; linked into place complete, so
replicas starting together on one data directory end up with the same key).

Rotation: point ``MAESTRO_SIGNING_KEY`` at a new key and restart. The server
keeps ``<data_dir>/keys/published.json``, every public key it has signed with;
when the active key is not the newest entry, the others get ``retired_at`` and
stay listed by ``GET /maestro/keys``, so checkpoints they signed still verify.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    NoEncryption,
    PrivateFormat,
    PublicFormat,
    load_pem_private_key,
)

from maestro.audit import checkpoint
from maestro.audit.event import format_at

ALGORITHM = "ed25519"
DEFAULT_FILE = "signing-key.pem"
PUBLISHED_FILE = "published.json"


class SigningKeyError(ValueError):
    """The configured signing key cannot be read or is not an Ed25519 private key."""


@dataclass(frozen=True, slots=True)
class PublishedKey:
    key_id: str
    algorithm: str
    pem: str
    created_at: str
    retired_at: str | None


def key_id(key: Ed25519PublicKey) -> str:
    """The first 16 bytes of SHA-256 of the raw public key, hex: stable across tenants."""
    return hashlib.sha256(key.public_bytes(Encoding.Raw, PublicFormat.Raw)).hexdigest()[:32]


def public_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


def origin_base(public_url: str | None) -> str:
    """The deployment part of checkpoint origins: MAESTRO_PUBLIC_URL without its scheme."""
    if not public_url:
        return "maestro.local"
    parts = urlsplit(public_url)
    return f"{parts.netloc}{parts.path}".rstrip("/")


@dataclass(frozen=True)
class Signer:
    """Signs tenants' checkpoints; the origin line (and the note's key name) is
    ``<deployment>/audit/<tenant>``, so a checkpoint cannot pass for another tenant's."""

    private: Ed25519PrivateKey
    base: str
    published: tuple[PublishedKey, ...]

    @property
    def key_id(self) -> str:
        return key_id(self.private.public_key())

    def origin(self, tenant_id: str) -> str:
        return f"{self.base}/audit/{tenant_id}"

    def sign(self, tenant_id: str, size: int, root: bytes) -> str:
        origin = self.origin(tenant_id)
        return checkpoint.sign(checkpoint.Checkpoint(origin, size, root), origin, self.private)

    def verifier_key(self, tenant_id: str) -> str:
        """The note verifier key (``name+id+key``) for this tenant's checkpoints."""
        return checkpoint.verifier_key(self.origin(tenant_id), self.private.public_key())


def load(data_dir: Path, configured: Path | None, public_url: str | None) -> Signer:
    keys_dir = data_dir / "keys"
    private = _read(configured) if configured is not None else _read_or_create(keys_dir / DEFAULT_FILE)
    published = _publish(keys_dir / PUBLISHED_FILE, private.public_key())
    return Signer(private, origin_base(public_url), published)


def _read(path: Path) -> Ed25519PrivateKey:
    try:
        key = load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningKeyError(
            f"MAESTRO_SIGNING_KEY {path}: cannot read an unencrypted PEM key ({exc})"
        ) from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningKeyError(f"MAESTRO_SIGNING_KEY {path}: not an Ed25519 private key")
    return key


def _read_or_create(path: Path) -> Ed25519PrivateKey:
    """The key at ``path``, generated first if there is none. The PEM is written and
    synced under a name of its own, then linked into place: ``link`` fails when another
    process got there first (that key wins), and no one ever reads a half-written file.
    Opening ``path`` itself with O_EXCL did not do that: a second worker read it empty
    while the first was still writing (a 500), and a kill -9 in between left it empty
    for good."""
    if path.exists():
        return _read(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    pem = Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    staged = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    fd = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pem)
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    return _read(path)


def _publish(path: Path, active: Ed25519PublicKey) -> tuple[PublishedKey, ...]:
    """The published list with ``active`` as its one unretired, newest entry."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    keys = [PublishedKey(**entry) for entry in json.loads(path.read_text())] if path.exists() else []
    now = format_at(datetime.now(UTC))
    ident = key_id(active)
    if keys and keys[-1].key_id == ident and keys[-1].retired_at is None:
        return tuple(keys)
    keys = [k if k.retired_at or k.key_id == ident else _retire(k, now) for k in keys if k.key_id != ident]
    keys.append(PublishedKey(ident, ALGORITHM, public_pem(active), now, None))
    tmp = path.with_suffix(f".{os.getpid()}.{threading.get_ident()}.tmp")
    tmp.write_text(json.dumps([asdict(k) for k in keys], indent=1))
    os.replace(tmp, path)
    return tuple(keys)


def _retire(key: PublishedKey, at: str) -> PublishedKey:
    return PublishedKey(key.key_id, key.algorithm, key.pem, key.created_at, at)
