"""What every server command shares: the global flags and the one way to get a client.

Commands never build a ``MaestroClient`` themselves; they call ``open_client``,
which resolves the settings and hands them to ``client_factory``. Tests replace
``client_factory`` to return a client wired to the in-process app, so the real
commands, SDK, API and database run together without a network.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import typer

from maestro.cli import settings
from maestro.client.environment import DEFAULT_URL

if TYPE_CHECKING:  # the SDK (httpx, the wire models) is imported when a command first needs a client
    from maestro.client import MaestroClient


@dataclass(slots=True)
class State:
    """The root command's flags, kept on ``ctx.obj`` for the subcommands."""

    url: str | None = None
    token: str | None = None
    debug: bool = False


@dataclass(frozen=True, slots=True)
class Endpoint:
    url: str
    token: str | None


def default_client(endpoint: Endpoint) -> MaestroClient:
    from maestro.client import MaestroClient

    return MaestroClient(endpoint.url, endpoint.token)


client_factory: Callable[[Endpoint], MaestroClient] = default_client


def state_of(ctx: typer.Context) -> State:
    obj = ctx.find_root().obj
    return obj if isinstance(obj, State) else State()


def resolved(ctx: typer.Context) -> settings.Resolved:
    state = state_of(ctx)
    return settings.resolve(url=state.url, token=state.token)


def open_client(ctx: typer.Context) -> MaestroClient:
    """A client for the server the flags, environment and config file point at."""
    config = resolved(ctx)
    return client_factory(Endpoint(config.url.value or DEFAULT_URL, config.token.value))
