"""Turning pydantic's complaint about the environment into lines a person can act on.

pydantic names the field (``db_pool_size``) and quotes its own type names; the
person who set the variable needs the variable, the value they gave and what
would be accepted: ``MAESTRO_DB_POOL_SIZE=0: must be at least 1``. Secret
settings are reported without their value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from pydantic_settings import SettingsError as SourceError

from maestro.environment import BadSetting, Problem

PREFIX = "MAESTRO_"
_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")

_BOOL = "must be true or false (also 1/0, yes/no, on/off)"
_FIXED = {
    "int_parsing": "must be a whole number",
    "int_type": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "bool_parsing": _BOOL,
    "bool_type": _BOOL,
    "url_parsing": "must be an http:// or https:// URL",
    "url_scheme": "must be an http:// or https:// URL",
    "url_type": "must be an http:// or https:// URL",
    "missing": "must be set",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "must be at least {}"),
    "greater_than": ("gt", "must be greater than {}"),
    "less_than_equal": ("le", "must be at most {}"),
    "less_than": ("lt", "must be less than {}"),
}


def allowed(error: Mapping[str, Any]) -> str:
    """What the value should have been, for one pydantic error, as one line."""
    return " ".join(_allowed(error).split())


def _allowed(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind in _FIXED:
        return _FIXED[kind]
    if kind in _BOUNDS:
        key, text = _BOUNDS[kind]
        bound = ctx.get(key)
        return text.format(int(bound) if isinstance(bound, float) and bound.is_integer() else bound)
    if kind == "value_error" and "error" in ctx:
        return str(ctx["error"])  # our own validators word their messages as "must ..."
    if kind == "literal_error" and "expected" in ctx:
        return f"must be one of {ctx['expected']}"
    message = str(error.get("msg", "is not valid"))
    return message[:1].lower() + message[1:]


def raw_value(variable: str, env: Mapping[str, str]) -> str | None:
    """The value as set (names are case-insensitive, as pydantic-settings reads them)."""
    for name, value in env.items():
        if name.upper() == variable:
            return value
    return None


def _without_password(value: str) -> str:
    """``scheme://user:secret@host`` -> ``scheme://user:***@host``: a URL may carry a password."""
    return _PASSWORD.sub(r"\1***@", value)


def _is_secret(field: FieldInfo | None) -> bool:
    return field is not None and SecretStr in (field.annotation, *getattr(field.annotation, "__args__", ()))


def _problem(name: str, text: str, fields: Mapping[str, FieldInfo], env: Mapping[str, str]) -> Problem:
    variable = PREFIX + name.upper()
    value = None if _is_secret(fields.get(name)) else _without_password(raw_value(variable, env) or "")
    return Problem(variable, value, text)


def from_validation(
    exc: ValidationError, fields: Mapping[str, FieldInfo], env: Mapping[str, str]
) -> BadSetting:
    """One problem per variable pydantic refused, in the order it found them."""
    problems: dict[str, Problem] = {}
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        problems.setdefault(name, _problem(name, allowed(error), fields, env))
    return BadSetting(list(problems.values()))


def from_source(exc: SourceError, fields: Mapping[str, FieldInfo], env: Mapping[str, str]) -> BadSetting:
    """pydantic-settings could not even decode a value (a structured setting that is not JSON)."""
    match = re.search(r'field "([^"]+)"', str(exc))
    name = match.group(1) if match else "?"
    return BadSetting([_problem(name, "must be valid JSON for this setting", fields, env)])
