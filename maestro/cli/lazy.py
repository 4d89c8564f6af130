"""Subcommands imported only when they run, so ``maestro --help`` costs what Typer costs.

Importing every command group up front made each invocation pay for all of
them: the server commands pull in SQLAlchemy and Alembic, the client commands
pydantic models and httpx, 1.2-1.7 s before ``--help`` printed a line. A
``LazyGroup`` knows its subcommands by name and one-line summary (``Entry``)
and imports a command's module the first time the command is resolved. While
it prints its own help it lists the summaries without importing anything;
``tests/maestro/test_cli_startup.py`` checks the summaries match the commands'
own help and that client commands never import the server's modules.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:  # Typer vendors Click and does not re-export the classes it passes here
    from typer._click.core import Command as ClickCommand
    from typer._click.core import Context as ClickContext
    from typer._click.formatting import HelpFormatter


@dataclass(frozen=True, slots=True)
class Entry:
    """Where a subcommand lives: ``attribute`` of ``module`` is a Typer app or a command function."""

    module: str
    attribute: str
    summary: str

    def load(self, name: str) -> ClickCommand:
        """Build the Click command exactly as ``add_typer``/``command`` on the root would."""
        target = getattr(importlib.import_module(self.module), self.attribute)
        holder = typer.Typer(add_completion=False, pretty_exceptions_enable=False)
        holder.callback()(_nothing)  # with a callback, Typer builds a group even for one command
        if isinstance(target, typer.Typer):
            holder.add_typer(target, name=name)
        else:
            holder.command(name)(target)
        group = typer.main.get_command(holder)
        assert isinstance(group, TyperGroup)
        return group.commands[name]


def _nothing() -> None:
    """The placeholder callback of ``Entry.load``'s throw-away group."""


class LazyCommands(MutableMapping[str, "ClickCommand"]):
    """The group's command table: names known up front, commands built on first access."""

    def __init__(self, entries: Mapping[str, Entry]) -> None:
        self._entries = dict(entries)
        self._loaded: dict[str, ClickCommand] = {}

    def __getitem__(self, name: str) -> ClickCommand:
        if name not in self._loaded:
            if name not in self._entries:
                raise KeyError(name)
            self._loaded[name] = self._entries[name].load(name)
        return self._loaded[name]

    def __setitem__(self, name: str, command: ClickCommand) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        self._entries.pop(name, None)
        del self._loaded[name]

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._entries, *self._loaded]))

    def __len__(self) -> int:
        return len(set(self._entries) | set(self._loaded))

    def summary(self, name: str) -> str | None:
        """The entry's one-line help, when the command is known but not yet built."""
        entry = self._entries.get(name)
        return entry.summary if entry is not None and name not in self._loaded else None


class LazyGroup(TyperGroup):
    """A Typer group whose subcommands, listed in ``entries``, are imported when used."""

    entries: ClassVar[Mapping[str, Entry]] = {}

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        table = LazyCommands(self.entries)
        for name, command in self.commands.items():
            table[name] = command
        self.commands = table
        self._listing = False

    def list_commands(self, ctx: ClickContext) -> list[str]:
        return list(self.commands)

    def get_command(self, ctx: ClickContext, cmd_name: str) -> ClickCommand | None:
        table = self.commands
        if self._listing and isinstance(table, LazyCommands):
            summary = table.summary(cmd_name)
            if summary is not None:
                return typer.core.TyperCommand(cmd_name, help=summary)
        return table.get(cmd_name)

    def format_help(self, ctx: ClickContext, formatter: HelpFormatter) -> None:
        """This group's help lists each subcommand by its summary, importing none of them."""
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False
