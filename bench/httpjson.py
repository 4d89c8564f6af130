"""A few stdlib HTTP calls for scenario setup (never for load: wrk does that).

Setup needs to create an MLflow experiment, pre-create runs whose ids the
update scenarios cycle through, and walk Maestro's ``Link: rel="next"`` chain
to a deep page. The stdlib is enough and keeps the bench free of extra deps.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


def call(
    method: str,
    url: str,
    body: object | None = None,
    timeout: float = 30,
    headers: Mapping[str, str] | None = None,
) -> Reply:
    """Send one JSON request; HTTP errors come back as a Reply rather than raising."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    req.add_header("Accept", "application/json")
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return _reply(resp.status, dict(resp.headers.items()), resp.read())
    except urllib.error.HTTPError as err:
        return _reply(err.code, dict(err.headers.items()), err.read())


def _reply(status: int, headers: dict[str, str], raw: bytes) -> Reply:
    try:
        body: Any = json.loads(raw) if raw else None
    except ValueError:
        body = raw.decode(errors="replace")
    return Reply(status=status, headers={k.lower(): v for k, v in headers.items()}, body=body)


def expect(reply: Reply, status: int, what: str) -> Any:
    """The body of a reply that must have ``status``; anything else stops the run loudly."""
    if reply.status != status:
        raise RuntimeError(f"{what}: expected HTTP {status}, got {reply.status}: {reply.body!r}")
    return reply.body


def next_link(reply: Reply) -> str | None:
    """The URL in ``Link: <url>; rel="next"``, or None on the last page."""
    match = _NEXT.search(reply.headers.get("link", ""))
    return match.group(1) if match else None
