"""The API token format: ``mae_`` + 43 base62 characters of 256 random bits + a
6-character base62 CRC-32 of them.

The fixed prefix lets secret scanners find leaked tokens; the checksum lets the
server refuse a mistyped or truncated token before any database lookup. Only the
SHA-256 of a token is stored, and stored hashes are compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib

PREFIX = "mae_"
_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
_SECRET_CHARS = 43  # 62**43 > 2**256
_CHECK_CHARS = 6  # 62**6 > 2**32
LENGTH = len(PREFIX) + _SECRET_CHARS + _CHECK_CHARS


class TokenFormatError(ValueError):
    """Not a Maestro token: wrong prefix, length, alphabet or checksum."""


def _base62(value: int, width: int) -> str:
    digits = []
    for _ in range(width):
        value, digit = divmod(value, 62)
        digits.append(_ALPHABET[digit])
    if value:
        raise ValueError("value does not fit")
    return "".join(reversed(digits))


def _checksum(secret: str) -> str:
    return _base62(zlib.crc32(secret.encode()), _CHECK_CHARS)


def new_token() -> str:
    """A fresh token, to be shown once and then kept only as its hash."""
    secret = _base62(secrets.randbits(256), _SECRET_CHARS)
    return PREFIX + secret + _checksum(secret)


def check_format(token: str) -> None:
    """Raise TokenFormatError unless ``token`` is well formed with a valid checksum.

    Costs O(1) whatever the client sent: the length is checked first."""
    if len(token) != LENGTH:
        raise TokenFormatError(f"a Maestro token is {LENGTH} characters")
    if not token.startswith(PREFIX):
        raise TokenFormatError(f"a Maestro token starts with {PREFIX!r}")
    body = token[len(PREFIX) :]
    if any(c not in _INDEX for c in body):
        raise TokenFormatError("a Maestro token has only letters and digits after its prefix")
    secret, check = body[:_SECRET_CHARS], body[_SECRET_CHARS:]
    if not hmac.compare_digest(_checksum(secret), check):
        raise TokenFormatError("the token's checksum does not match: it was mistyped or cut short")


def token_hash(token: str) -> str:
    """The hex SHA-256 stored in place of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def hashes_equal(a: str, b: str) -> bool:
    """Constant-time comparison of two stored hashes."""
    return hmac.compare_digest(a.encode(), b.encode())
