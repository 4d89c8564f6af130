"""Where the CLI finds its server, token and default owner.

Each value comes from the first place that has it: a command-line flag, then
the environment (``MAESTRO_URL``, ``MAESTRO_TOKEN``, ``MAESTRO_OWNER``), then
the config file (``$XDG_CONFIG_HOME/maestro/config.toml``, by default
``~/.config/maestro/config.toml``), then a built-in default. Every value keeps
the name of its source so ``maestro config show`` can explain a surprise, and
a value that cannot work is refused naming that source: ``BadSetting`` for a
variable, ``ConfigFileError`` for the file, a usage error for a flag.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from maestro.client import environment
from maestro.client.environment import DEFAULT_URL, Variable
from maestro.environment import BadSetting, Problem

KEYS = ("url", "token", "owner")
_VARIABLE = {"url": environment.URL, "token": environment.TOKEN, "owner": environment.OWNER}
_CHECKS = {"url": environment.url_problem, "token": environment.token_problem}
DEBUG = Variable("MAESTRO_DEBUG", "show tracebacks instead of one-line errors")
# Every variable the CLI reads; docs/configuration.md documents each (tests/maestro/test_docs.py).
VARIABLES = (*environment.VARIABLES, DEBUG)
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class ConfigFileError(Exception):
    """The config file exists but cannot be used; the message names the file and the fix."""


class BadFlag(ValueError):
    """A ``--url``/``--token`` flag that cannot work; the message names the flag."""


def debug_from_env(env: Mapping[str, str] | None = None, *, strict: bool = True) -> bool:
    """``MAESTRO_DEBUG``: 1/true/yes/on or 0/false/no/off; anything else is refused when ``strict``."""
    env = os.environ if env is None else env
    value = env.get(DEBUG.name, "")
    if value.lower() in _TRUE:
        return True
    if strict and value.lower() not in _FALSE:
        raise BadSetting([Problem(DEBUG.name, value, "must be 1, true, yes or on (or 0, false, no, off)")])
    return False


@dataclass(frozen=True, slots=True)
class Setting:
    """One resolved value and where it came from (``flag``, ``env MAESTRO_URL``, a file path, ``default``)."""

    value: str | None
    source: str


@dataclass(frozen=True, slots=True)
class Resolved:
    url: Setting
    token: Setting
    owner: Setting
    config_file: Path


def config_path(env: Mapping[str, str] | None = None) -> Path:
    """The config file, following the XDG base directory rule."""
    env = os.environ if env is None else env
    base = env.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "maestro" / "config.toml"


def read_config(path: Path) -> dict[str, str]:
    """The file's known keys; a missing file is empty, a broken one is an error worth stopping for."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise ConfigFileError(f"cannot read {path}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigFileError(f"{path} is not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise ConfigFileError(f"{path}: unknown key(s) {', '.join(unknown)}; known keys: {', '.join(KEYS)}")
    for key, value in data.items():
        if not isinstance(value, str):
            raise ConfigFileError(f'{path}: {key} must be a string, e.g. {key} = "..."')
        problem = _CHECKS[key](value) if key in _CHECKS and value else None
        if problem:
            raise ConfigFileError(f"{path}: {key} {problem}")
    return dict(data)


def resolve(
    *, url: str | None = None, token: str | None = None, env: Mapping[str, str] | None = None
) -> Resolved:
    """Resolve every setting; ``url``/``token`` are the flags (``None`` when not given)."""
    env = os.environ if env is None else env
    path = config_path(env)
    file = read_config(path)
    flags = {"url": url, "token": token, "owner": None}

    def pick(key: str, default: Setting) -> Setting:
        if flags[key]:
            problem = _CHECKS[key](flags[key] or "") if key in _CHECKS else None
            if problem:
                raise BadFlag(f"--{key} {problem}")
            return Setting(flags[key], "flag")
        variable = _VARIABLE[key]
        from_env = environment.from_env(variable, env)
        if from_env:
            return Setting(from_env, f"env {variable.name}")
        if file.get(key):
            return Setting(file[key], str(path))
        return default

    return Resolved(
        url=pick("url", Setting(DEFAULT_URL, "default")),
        token=pick("token", Setting(None, "default")),
        owner=pick("owner", Setting(_login_name(), "default (login name)")),
        config_file=path,
    )


def _login_name() -> str | None:
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no passwd entry, as in some containers
        return None


def mask(token: str | None) -> str:
    """Enough of a token to tell two apart, never enough to use it."""
    if not token:
        return "-"
    if len(token) < 12:
        return "****"
    return f"****{token[-4:]}"
