"""in-toto Statement v0.1 / v1: the layer that binds a predicate to artifact digests.

A statement whose digests are malformed binds the predicate to nothing, so
each bad digest is reported with its exact pointer rather than skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from maestro.evidence.intoto_report import Report
from maestro.evidence.jsonload import pointer

STATEMENT_TYPES = {"https://in-toto.io/Statement/v0.1": "v0.1", "https://in-toto.io/Statement/v1": "v1"}
MAX_LISTED_SUBJECTS = 1000

# hex length per algorithm (in-toto DigestSet); gitCommit may be SHA-1 or SHA-256
HEX_LENGTHS: dict[str, tuple[int, ...]] = {
    "md5": (32,),
    "sha1": (40,),
    "sha224": (56,),
    "sha256": (64,),
    "sha384": (96,),
    "sha512": (128,),
    "sha512_224": (56,),
    "sha512_256": (64,),
    "sha3_224": (56,),
    "sha3_256": (64,),
    "sha3_384": (96,),
    "sha3_512": (128,),
    "shake128": (64,),
    "shake256": (128,),
    "blake2b": (128,),
    "blake2s": (64,),
    "ripemd160": (40,),
    "sm3": (64,),
    "gost": (64,),
    "gitBlob": (40, 64),
    "gitCommit": (40, 64),
    "gitTag": (40, 64),
    "gitTree": (40, 64),
}
_HEX = re.compile(r"[0-9a-fA-F]+")


@dataclass(slots=True)
class Statement:
    version: str
    predicate_type: str
    subjects: list[dict[str, Any]] = field(default_factory=list)
    subject_count: int = 0
    predicate: Any = None


def is_statement(doc: Any) -> bool:
    return isinstance(doc, dict) and isinstance(doc.get("_type"), str) and doc["_type"] in STATEMENT_TYPES


def digest_problem(algorithm: str, value: Any) -> str | None:
    """Why a digest value is malformed, or None if it is fine (unknown algorithms: any non-empty string)."""
    if not isinstance(value, str) or not value:
        return f"{algorithm} digest must be a non-empty string"
    lengths = HEX_LENGTHS.get(algorithm)
    if lengths is None:
        return None
    if not _HEX.fullmatch(value):
        return f"{algorithm} digest is not hexadecimal"
    if len(value) not in lengths:
        want = " or ".join(str(n) for n in lengths)
        return f"{algorithm} digest has {len(value)} hex characters, expected {want}"
    return None


def check_digest_set(digest: Any, loc: str, report: Report, *, as_errors: bool = True) -> dict[str, str]:
    """The well-formed entries of a DigestSet; each bad one reported at its pointer."""
    note = report.error if as_errors else report.warn
    if not isinstance(digest, dict) or not digest:
        note(loc, "digest must be a non-empty object of algorithm -> value")
        return {}
    good: dict[str, str] = {}
    for algorithm, value in digest.items():
        problem = digest_problem(algorithm, value)
        if problem:
            note(f"{loc}{pointer(algorithm)}", problem)
        else:
            good[algorithm] = value
    return good


def parse_statement(doc: Any, loc: str, report: Report) -> Statement | None:
    """Validate a statement; None only when it is not a statement at all."""
    if not isinstance(doc, dict):
        report.error(loc or "/", "in-toto statement is not a JSON object")
        return None
    kind = doc.get("_type")
    version = STATEMENT_TYPES.get(kind) if isinstance(kind, str) else None
    if version is None:
        report.error(f"{loc}/_type", f"_type must be one of {', '.join(STATEMENT_TYPES)}")
        return None
    predicate_type = doc.get("predicateType")
    if not isinstance(predicate_type, str) or not predicate_type:
        report.error(f"{loc}/predicateType", "predicateType is missing or not a non-empty string")
        predicate_type = ""
    statement = Statement(version=version, predicate_type=predicate_type, predicate=doc.get("predicate"))
    if "predicate" not in doc:
        report.warn(f"{loc}/predicate", "statement has no predicate")
    elif statement.predicate is None:
        statement.predicate = {}  # v1: unset and null mean the same as empty
    elif not isinstance(statement.predicate, dict):
        report.error(f"{loc}/predicate", "predicate must be a JSON object")
    _subjects(doc.get("subject"), f"{loc}/subject", report, statement)
    return statement


def _subjects(subjects: Any, loc: str, report: Report, statement: Statement) -> None:
    if not isinstance(subjects, list) or not subjects:
        report.error(loc, "subject must be a non-empty list")
        return
    statement.subject_count = len(subjects)
    for i, subject in enumerate(subjects):
        where = f"{loc}/{i}"
        if not isinstance(subject, dict):
            report.error(where, "subject is not a JSON object")
            continue
        name = subject.get("name")
        if not isinstance(name, str):
            report.error(f"{where}/name", "subject name is missing or not a string")
        digests = check_digest_set(subject.get("digest"), f"{where}/digest", report)
        if i < MAX_LISTED_SUBJECTS:
            statement.subjects.append({"name": name if isinstance(name, str) else None, "digest": digests})
