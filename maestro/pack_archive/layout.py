"""Where things sit in a pack archive, and the identifiers its attestations use.

```
manifest.json                    run, pack, artifacts (with sha256), gate answer + its VSA
artifacts/<artifact-id>/<name>   each stored blob, in the pack's order
audit/checkpoint.txt             the signed C2SP checkpoint the proofs lead to
audit/events.json                the pack's, run's and artifacts' events with inclusion proofs
attestation.dsse.json            in-toto Statement over every file above, DSSE-signed
```
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from maestro import canonical_json

FORMAT = "maestro-disclosure-pack/1"
EVENTS_FORMAT = "maestro-pack-audit/1"
MANIFEST = "manifest.json"
CHECKPOINT = "audit/checkpoint.txt"
EVENTS = "audit/events.json"
ATTESTATION = "attestation.dsse.json"
PACK_PREDICATE = "https://maestro.dev/attestations/disclosure-pack/v1"
GATE_SUBJECT = "release-gate/"  # + run id: the VSA's subject, digest of the gate answer
PASSED_LEVEL = "MAESTRO_RELEASE_GATE_PASSED"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
MAX_NAME = 80


def safe_filename(path_or_uri: str) -> str:
    """The last segment of an artifact's path or URI, reduced to ``[A-Za-z0-9._-]``
    (at most 80 characters): never a separator, a dot-name, or empty."""
    tail = path_or_uri.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0].split("#", 1)[0]
    name = _UNSAFE.sub("_", tail).strip("._")[:MAX_NAME] or "content"
    return name if name not in (".", "..") else "content"


def artifact_member(artifact_id: str, path_or_uri: str) -> str:
    """The member name of an artifact's blob; the id is checked to be a plain token."""
    if not artifact_id or _UNSAFE.search(artifact_id) or artifact_id.strip(".") == "":
        raise ValueError(f"artifact id {artifact_id!r} cannot name an archive member")
    return f"artifacts/{artifact_id}/{safe_filename(path_or_uri)}"


def gate_digest(answer: Any) -> str:
    """The sha256 (hex) of a gate answer's RFC 8785 bytes: the VSA's subject digest."""
    return hashlib.sha256(canonical_json.dumps(answer)).hexdigest()
