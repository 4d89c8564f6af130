"""Keyset pagination on ``(created_at, id)`` with an opaque cursor.

A cursor is the sort key of the last row a page returned, base64url-encoded;
the next page starts strictly after it, so page 1000 costs what page 1 costs
and rows inserted meanwhile never shift a page.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

import orjson

from maestro.errors import ValidationFailed

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_CURSOR_LENGTH = 512
CURSOR_PATTERN = "^[A-Za-z0-9_-]*$"  # unpadded base64url
_ALPHABET = re.compile(CURSOR_PATTERN)


class Order(StrEnum):
    DESC = "desc"
    ASC = "asc"


@dataclass(frozen=True, slots=True)
class Cursor:
    created_at: datetime
    id: str

    def encode(self) -> str:
        raw = orjson.dumps([self.created_at.isoformat(), self.id])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """The position a token names, in UTC (SQLite compares timestamps as text, so an
        offset left in would select the wrong page). Anything this server could not have
        issued - wrong alphabet, a NUL in the id, a time outside UTC's range - is a 422."""
        try:
            if len(token) > MAX_CURSOR_LENGTH or not _ALPHABET.fullmatch(token):
                raise ValueError
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            stamp, ident = orjson.loads(raw)
            if not isinstance(stamp, str) or not isinstance(ident, str) or "\x00" in ident:
                raise ValueError
            created_at = datetime.fromisoformat(stamp)
            if created_at.tzinfo is None:
                raise ValueError
            created_at = created_at.astimezone(UTC)
        except (ValueError, TypeError, OverflowError, binascii.Error, orjson.JSONDecodeError):
            raise ValidationFailed.for_field(
                "cursor", "is not a cursor this server issued (take it from the Link header)"
            ) from None
        return cls(created_at, ident)


@dataclass(frozen=True, slots=True)
class Page:
    """Which slice of a list to read."""

    limit: int = DEFAULT_LIMIT
    after: Cursor | None = None
    order: Order = Order.DESC


@dataclass(frozen=True, slots=True)
class PositionCursor:
    """A cursor over a list with a fixed order by position (an archive's members): the
    position of the last item returned, opaque like ``Cursor``."""

    position: int

    def encode(self) -> str:
        raw = orjson.dumps(["p", self.position])
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> PositionCursor:
        try:
            if len(token) > MAX_CURSOR_LENGTH:
                raise ValueError
            tag, position = orjson.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
            if tag != "p" or type(position) is not int or not 0 <= position < 2**31:
                raise ValueError
        except (ValueError, TypeError, binascii.Error, orjson.JSONDecodeError):
            raise ValidationFailed.for_field(
                "cursor", "is not a cursor this server issued (take it from the Link header)"
            ) from None
        return cls(position)
