"""Where the CLI finds its server, token and default owner.

Each value comes from the first place that has it: a command-line flag, then
the environment (``MAESTRO_URL``, ``MAESTRO_TOKEN``, ``MAESTRO_OWNER``), then
the config file (``$XDG_CONFIG_HOME/maestro/config.toml``, by default
``~/.config/maestro/config.toml``), then a built-in default. Every value keeps
the name of its source so ``maestro config show`` can explain a surprise.
"""

from __future__ import annotations

import getpass
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:8001"
KEYS = ("url", "token", "owner")
_ENV = {"url": "MAESTRO_URL", "token": "MAESTRO_TOKEN", "owner": "MAESTRO_OWNER"}


class ConfigFileError(Exception):
    """The config file exists but cannot be used; the message names the file and the fix."""


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
            return Setting(flags[key], "flag")
        if env.get(_ENV[key]):
            return Setting(env[_ENV[key]], f"env {_ENV[key]}")
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
