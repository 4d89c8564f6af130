"""C2SP ``signed-note`` envelopes (Ed25519) carrying C2SP ``tlog-checkpoint`` bodies.

A checkpoint is three lines - origin, tree size, base64 root hash - and the note
adds, after a blank line, one signature line per key: an em dash, the key name,
and base64 of the 4-byte key id followed by the 64-byte signature over the text.
Existing transparency-log tooling (witnesses, Go's ``sumdb/note``) reads this
format, which is why Maestro uses it rather than a JSON wrapper of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

_DASH = "\u2014 "
_ED25519 = b"\x01"
MAX_NOTE_BYTES = 1 << 20


class CheckpointError(ValueError):
    """A note or checkpoint is malformed, or has no valid signature by the expected key."""


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The note text: each line ends in a newline, the last one included."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return "".join(f"{line}\n" for line in lines)


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def key_id(name: str, key: Ed25519PublicKey) -> bytes:
    """The signed-note key id: the first 4 bytes of SHA-256(name || LF || 0x01 || key)."""
    return hashlib.sha256(name.encode() + b"\n" + _ED25519 + _raw_public(key)).digest()[:4]


def verifier_key(name: str, key: Ed25519PublicKey) -> str:
    """The ``name+hexid+base64key`` string that note verifiers are configured with."""
    encoded = base64.b64encode(_ED25519 + _raw_public(key)).decode()
    return f"{name}+{key_id(name, key).hex()}+{encoded}"


def parse_verifier_key(text: str) -> tuple[str, Ed25519PublicKey]:
    """The (name, key) of a ``name+hexid+base64key`` string, its id checked."""
    name, _, rest = text.partition("+")
    hex_id, _, encoded = rest.partition("+")
    try:
        raw = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("verifier key material is not base64") from exc
    if len(raw) != 33 or raw[:1] != _ED25519:
        raise CheckpointError("verifier key is not an Ed25519 (type 0x01) key")
    key = Ed25519PublicKey.from_public_bytes(raw[1:])
    _check_name(name)
    if key_id(name, key).hex() != hex_id:
        raise CheckpointError("verifier key id does not match its name and key")
    return name, key


def _check_name(name: str) -> None:
    if not name or any(c.isspace() for c in name) or "+" in name:
        raise CheckpointError(f"key name {name!r} must be non-empty, without spaces or '+'")


def sign_note(text: str, name: str, key: Ed25519PrivateKey) -> str:
    """``text`` (non-empty, newline-terminated) as a note signed by ``key`` as ``name``."""
    _check_name(name)
    if not text.endswith("\n") or "\n\n" in text:
        raise CheckpointError("note text must end in a newline and contain no blank line")
    blob = key_id(name, key.public_key()) + key.sign(text.encode())
    return f"{text}\n{_DASH}{name} {base64.b64encode(blob).decode()}\n"


def open_note(note: str, name: str, key: Ed25519PublicKey) -> str:
    """The text of ``note`` if ``key`` (known as ``name``) signed it; else CheckpointError.

    Lines by other keys are skipped, as the spec says: a note may also carry
    cosignatures (witnesses) that this verifier does not know."""
    if len(note.encode()) > MAX_NOTE_BYTES:
        raise CheckpointError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    text, sep, signatures = note.rpartition("\n\n")
    if not sep or not text or not note.endswith("\n"):
        raise CheckpointError("a signed note is text, a blank line and signature lines")
    text += "\n"
    wanted = key_id(name, key)
    for line in signatures.removesuffix("\n").split("\n"):
        signer, blob = _signature_line(line)
        if signer != name or blob[:4] != wanted:
            continue
        try:
            key.verify(blob[4:], text.encode())
        except InvalidSignature as exc:
            raise CheckpointError(f"the signature by {name!r} does not match the note text") from exc
        return text
    raise CheckpointError(f"the note carries no signature by key {name!r} ({wanted.hex()})")


def _signature_line(line: str) -> tuple[str, bytes]:
    if not line.startswith(_DASH):
        raise CheckpointError(f"signature line {line[:40]!r} does not start with an em dash")
    name, _, encoded = line[len(_DASH) :].partition(" ")
    try:
        blob = base64.b64decode(encoded, validate=True)
    except binascii.Error as exc:
        raise CheckpointError(f"the signature by {name!r} is not base64") from exc
    if len(blob) < 5:
        raise CheckpointError(f"the signature by {name!r} is too short")
    return name, blob


def parse_checkpoint(text: str) -> Checkpoint:
    """A checkpoint body: origin, decimal size, base64 32-byte root, extension lines."""
    lines = text.removesuffix("\n").split("\n")
    if len(lines) < 3:
        raise CheckpointError("a checkpoint has an origin, a size and a root hash line")
    origin, size_text, root_text, *extensions = lines
    _check_origin(origin)
    if not size_text.isascii() or not size_text.isdigit() or (size_text != "0" and size_text[0] == "0"):
        raise CheckpointError(f"tree size {size_text!r} is not a decimal number")
    try:
        root = base64.b64decode(root_text, validate=True)
    except binascii.Error as exc:
        raise CheckpointError("the root hash line is not base64") from exc
    if len(root) != 32:
        raise CheckpointError(f"the root hash is {len(root)} bytes, not 32")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def _check_origin(origin: str) -> None:
    if not origin or origin != origin.strip():
        raise CheckpointError("the origin line must be non-empty, without surrounding spaces")


def sign(checkpoint: Checkpoint, name: str, key: Ed25519PrivateKey) -> str:
    """The checkpoint as a note signed by ``key`` under ``name``."""
    _check_origin(checkpoint.origin)
    return sign_note(checkpoint.body(), name, key)


def verify(note: str, name: str, key: Ed25519PublicKey) -> Checkpoint:
    """The checkpoint in ``note`` if ``key`` signed it; else CheckpointError."""
    return parse_checkpoint(open_note(note, name, key))
