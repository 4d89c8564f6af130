"""The client's ``MAESTRO_*`` variables, read by the SDK and the ``maestro`` command.

``VARIABLES`` is the list docs/configuration.md must cover (a test checks it).
A value that cannot work is refused where it is read, as
``maestro.environment.BadSetting`` naming the variable, rather than surfacing
later as an httpx error about a protocol or a header.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from maestro.environment import BadSetting, Problem

DEFAULT_URL = "http://127.0.0.1:8001"


@dataclass(frozen=True, slots=True)
class Variable:
    name: str
    meaning: str


URL = Variable("MAESTRO_URL", "the server's base URL")
TOKEN = Variable("MAESTRO_TOKEN", "the API token, sent as Authorization: Bearer")
OWNER = Variable("MAESTRO_OWNER", "the owner of runs created without one")
VARIABLES = (URL, TOKEN, OWNER)


def url_problem(value: str) -> str | None:
    """Why ``value`` cannot be a server URL, or ``None`` when it can."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return "must be an http:// or https:// URL, e.g. http://127.0.0.1:8001"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "must be an http:// or https:// URL, e.g. http://127.0.0.1:8001"
    return None


def token_problem(value: str) -> str | None:
    """Why ``value`` cannot be sent as a bearer token (an HTTP header value), or ``None``."""
    if any(char.isspace() or not char.isprintable() for char in value):
        return "must not contain spaces, line breaks or control characters"
    return None


def from_env(variable: Variable, env: Mapping[str, str] | None = None) -> str | None:
    """The variable's value, checked; unset or empty is ``None``."""
    env = os.environ if env is None else env
    value = env.get(variable.name) or None
    if value is None:
        return None
    check = {URL.name: url_problem, TOKEN.name: token_problem}.get(variable.name)
    problem = check(value) if check else None
    if problem:
        shown = None if variable is TOKEN else value
        raise BadSetting([Problem(variable.name, shown, problem)])
    return value
