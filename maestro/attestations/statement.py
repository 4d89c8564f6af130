"""in-toto Statement v1: subjects (name + digests), a predicate type and a predicate.

Statements are serialised as RFC 8785 (JCS) bytes, so the same statement always
signs to the same payload, and an auditor can re-derive it with any JCS library.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from maestro import canonical_json

STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PAYLOAD_TYPE = "application/vnd.in-toto+json"
MAX_SUBJECTS = 100_000
_HEX = re.compile(r"^[0-9a-f]+$")


class StatementError(ValueError):
    """A payload is not an in-toto Statement v1 of the expected shape."""


@dataclass(frozen=True, slots=True)
class Subject:
    name: str
    digest: Mapping[str, str]

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "digest": dict(sorted(self.digest.items()))}


@dataclass(frozen=True, slots=True)
class Statement:
    subjects: tuple[Subject, ...]
    predicate_type: str
    predicate: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "_type": STATEMENT_TYPE,
            "subject": [s.to_json() for s in self.subjects],
            "predicateType": self.predicate_type,
            "predicate": dict(self.predicate),
        }

    def encode(self) -> bytes:
        """The RFC 8785 bytes: the DSSE payload."""
        return canonical_json.dumps(self.to_json())


def statement(subjects: Sequence[Subject], predicate_type: str, predicate: Mapping[str, Any]) -> Statement:
    """A statement; refuses one without subjects (the spec requires at least one)."""
    if not subjects:
        raise StatementError("a statement needs at least one subject")
    return Statement(tuple(subjects), predicate_type, predicate)


def decode(payload: bytes, predicate_type: str | None = None) -> Statement:
    """The statement in ``payload``; StatementError says what is wrong with it."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise StatementError(f"the payload is not JSON: {exc}") from None
    if not isinstance(doc, dict) or doc.get("_type") != STATEMENT_TYPE:
        raise StatementError(f"the payload is not an in-toto Statement ({STATEMENT_TYPE})")
    kind, predicate, raw = doc.get("predicateType"), doc.get("predicate", {}), doc.get("subject")
    if not isinstance(kind, str) or not isinstance(predicate, dict):
        raise StatementError("predicateType must be a string and predicate an object")
    if predicate_type is not None and kind != predicate_type:
        raise StatementError(f"predicateType is {kind!r}, not {predicate_type!r}")
    if not isinstance(raw, list) or not raw or len(raw) > MAX_SUBJECTS:
        raise StatementError(f"subject must be a list of 1 to {MAX_SUBJECTS} entries")
    return Statement(tuple(_subject(i, s) for i, s in enumerate(raw)), kind, predicate)


def _subject(index: int, raw: Any) -> Subject:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise StatementError(f"subject {index} has no name")
    digest = raw.get("digest")
    if (
        not isinstance(digest, dict)
        or not digest
        or not all(isinstance(k, str) and isinstance(v, str) and _HEX.fullmatch(v) for k, v in digest.items())
    ):
        raise StatementError(f"subject {index} ({raw['name']!r}) needs a digest of lowercase hex values")
    return Subject(raw["name"], digest)
