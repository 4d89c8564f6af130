"""Helpers every parser shares: strict JSON loading, schema findings, timestamps.

Kept apart from the parsers so each parser module stays small and so the
same rules (error caps, location prefixes, leniency) apply to every format.
"""

from __future__ import annotations

import gc
import re
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import jsonschema_rs

from maestro.evidence import duplicates
from maestro.evidence.jsonload import decode_text, load_json, pointer
from maestro.evidence.model import Evidence, EvidenceType, Finding, ParsedEvidence

MAX_ERRORS = 50

_RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


_gc_lock = threading.Lock()
_gc_holders = 0


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a document is parsed.

    Parsing allocates hundreds of thousands of acyclic dicts and lists, and each
    allocation burst triggers a full generation scan: pausing it makes a large
    SBOM 3-4x faster. Reference counting still frees everything; a counter
    keeps concurrent parses from re-enabling collection under each other.
    """
    global _gc_holders
    with _gc_lock:
        if _gc_holders == 0 and not gc.isenabled():
            paused_here = False
        else:
            paused_here = True
            _gc_holders += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _gc_lock:
                _gc_holders -= 1
                if _gc_holders == 0:
                    gc.enable()


def load_document(data: bytes) -> tuple[Any, list[duplicates.Duplicate]]:
    """Parse JSON with orjson, and find its duplicate keys (a few percent of a parse)."""
    value = load_json(data)
    return value, duplicates.duplicates(decode_text(data), value)


def note_duplicates(
    parsed: ParsedEvidence, found: list[duplicates.Duplicate], *, strict: bool, prefix: str = ""
) -> ParsedEvidence:
    """Duplicate keys are errors under ``strict``, else warnings - never silence: the last
    value wins, which once hid a component from the index. (Where a signature covers the
    bytes, a DSSE payload, the attestation parser always refuses them.)"""
    evidence = parsed.evidence
    for duplicate in found:
        where = join(prefix, duplicate.location)
        if strict:
            evidence.errors.append(Finding(location=where, message=duplicates.message(duplicate)))
        else:
            note = f"{duplicates.message(duplicate)}: the last value is used (strict refuses it)"
            evidence.warnings.append(Finding(location=where, message=note))
    if found and strict:
        evidence.valid = False
    return parsed


def join(prefix: str, location: str) -> str:
    """Prefix a location (a JSON pointer or ``line N``) with an outer pointer."""
    if not prefix:
        return location
    if location.startswith("/"):
        return prefix.rstrip("/") + location if location != "/" else prefix
    return f"{prefix} {location}"


def schema_findings(validator: jsonschema_rs.Validator, doc: Any, prefix: str = "") -> list[Finding]:
    """Schema errors as findings located by instance path, capped at MAX_ERRORS."""
    findings: list[Finding] = []
    for error in validator.iter_errors(doc):
        location = pointer(*error.instance_path) if error.instance_path else "/"
        findings.append(Finding(location=join(prefix, location), message=_short(error.message)))
        if len(findings) >= MAX_ERRORS:
            findings.append(Finding(location=join(prefix, "/"), message=f"more than {MAX_ERRORS} errors"))
            break
    return findings


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."


def is_rfc3339(value: object) -> bool:
    if not isinstance(value, str) or not _RFC3339.match(value):
        return False
    try:
        datetime.fromisoformat(value.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return False
    return True


def text(value: object) -> str | None:
    """A string field, or None for anything else (lists, numbers, missing)."""
    return value if isinstance(value, str) else None


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def failed(
    fmt: str, evidence_type: EvidenceType, errors: Iterable[Finding], spec_version: str | None = None
) -> ParsedEvidence:
    return ParsedEvidence(
        Evidence(
            format=fmt,
            spec_version=spec_version,
            evidence_type=evidence_type,
            valid=False,
            errors=list(errors),
        )
    )


def unsupported_version(version: str, supported: Iterable[str]) -> str:
    """The one message for a version Maestro has no rules for: not "invalid", not "valid"."""
    return f"unsupported version {version} (supported: {', '.join(supported)})"


def unsupported(
    fmt: str, evidence_type: EvidenceType, version: str, supported: Iterable[str], location: str
) -> ParsedEvidence:
    """A document of a version Maestro cannot judge: ``valid: false`` with that single reason,
    never the schema errors of another version (which would call it a broken document)."""
    finding = Finding(location=location, message=unsupported_version(version, supported))
    return failed(fmt, evidence_type, [finding], spec_version=version)


def count(values: Iterable[str | None]) -> dict[str, int]:
    """Tally values (None counted as 'unknown'), sorted by key for stable output."""
    tally: dict[str, int] = {}
    for value in values:
        key = value or "unknown"
        tally[key] = tally.get(key, 0) + 1
    return dict(sorted(tally.items()))
