"""Three ways to print a result: for people (rich), ``--json`` for machines, ``-q`` for shells.

``--json`` prints exactly what the API returns (the model's JSON; lists as one
JSON array), so a script can switch between ``curl`` and ``maestro`` unchanged.
``-q`` prints only ids, one per line, so ``RUN=$(maestro runs create ... -q)``
works. Human output goes through rich and may change between releases; scripts
should use the other two.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence
from enum import Enum
from typing import Annotated, TypeVar

import typer
from pydantic import BaseModel
from rich.console import Console, RenderableType

JsonFlag = Annotated[bool, typer.Option("--json", help="Print the API's JSON instead of a summary.")]
QuietFlag = Annotated[bool, typer.Option("--quiet", "-q", help="Print only the id.")]


class Mode(Enum):
    HUMAN = "human"
    JSON = "json"
    QUIET = "quiet"


M = TypeVar("M", bound=BaseModel)


def mode_of(as_json: bool, quiet: bool) -> Mode:
    if as_json and quiet:
        raise typer.BadParameter("use --json or --quiet, not both", param_hint="--json/--quiet")
    if as_json:
        return Mode.JSON
    return Mode.QUIET if quiet else Mode.HUMAN


LOG_WIDTH = 160


def console(*, stderr: bool = False) -> Console:
    """A console on the current stdout/stderr (looked up now, so test runners can capture it).

    Off a terminal (a CI log, a pipe) rich would assume 80 columns and fold every id;
    logs do not wrap, so it gets ``LOG_WIDTH`` unless ``COLUMNS`` says otherwise."""
    file = sys.stderr if stderr else sys.stdout
    width = None if file.isatty() or os.environ.get("COLUMNS") else LOG_WIDTH
    return Console(file=file, width=width, highlight=False, soft_wrap=False)


def emit(model: M, mode: Mode, view: Callable[[M], RenderableType], ident: str | None = None) -> None:
    """Print one result; ``ident`` is what ``-q`` prints (default: the model's ``id``)."""
    if mode is Mode.JSON:
        typer.echo(model.model_dump_json())
    elif mode is Mode.QUIET:
        typer.echo(ident if ident is not None else str(getattr(model, "id", "")))
    else:
        console().print(view(model))


def emit_list(items: Iterable[M], mode: Mode, table: Callable[[Sequence[M]], RenderableType]) -> None:
    """Print a list; it is fetched in full first so a failure never leaves half a JSON array."""
    collected = list(items)
    if mode is Mode.JSON:
        typer.echo("[" + ",".join(item.model_dump_json() for item in collected) + "]")
    elif mode is Mode.QUIET:
        for item in collected:
            typer.echo(str(getattr(item, "id", "")))
    elif not collected:
        typer.echo("(none)")
    else:
        console().print(table(collected))
