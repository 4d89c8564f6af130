"""Write docs/cli.md from the commands' own help: ``python -m maestro.cli.docs > docs/cli.md``.

The reference is built from the same help text ``--help`` prints (usage line,
docstring, each parameter's help record), so it cannot say something the
command does not; a test regenerates it and fails when docs/cli.md is stale.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import typer

from maestro.cli.root import cli

HEADER = """# `maestro` command reference

Generated from the commands' `--help` by `python -m maestro.cli.docs > docs/cli.md`;
edit the docstrings and option help in `maestro/cli/`, not this file. For use in
a pipeline see [ci.md](ci.md).

**Configuration.** Commands that talk to a server take its URL and token from
the first of: the flags `--url`/`--token` (given before the command, as in
`maestro --url http://maestro:8001 runs list`), the environment (`MAESTRO_URL`,
`MAESTRO_TOKEN`), the config file `$XDG_CONFIG_HOME/maestro/config.toml`
(default `~/.config/maestro/config.toml`, keys `url`, `token`, `owner`), and
the default `http://127.0.0.1:8001`. `runs create` takes its owner from
`--owner`, `MAESTRO_OWNER`, the config file, else the login name.
`maestro config show` prints what is in effect and where each value came from.

**Output.** A summary or table for people by default; `--json` prints the API's
JSON (lists as one JSON array); `-q` prints only the id, one per line, so
`RUN=$(maestro runs create --name build -q)` works.

**Exit status.** 0 on success; 1 when the server refused the request (4xx:
unknown id, invalid value, refused transition); 2 for usage errors, a bad
setting (a `MAESTRO_*` variable, the config file), an unreachable server and
server errors. `maestro gate` answers with its status alone: 0 the gate
passed, 1 it failed, 2 no verdict could be had (usage, unknown run,
connection, server error, token missing or refused), so a mistyped run id
never reads as a failed gate. Errors are one line on stderr, with the request
id when there is one; `--debug` or `MAESTRO_DEBUG=1` shows the traceback.
"""


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _walk(command: Any, ctx: Any) -> Iterator[tuple[Any, Any]]:
    """Every command under ``command``, depth first, each with its own context."""
    yield command, ctx
    for name in getattr(command, "list_commands", lambda _: [])(ctx):
        sub = command.get_command(ctx, name)
        if sub is not None and not sub.hidden:
            yield from _walk(sub, typer.Context(sub, info_name=name, parent=ctx))


def _section(command: Any, ctx: Any) -> str:
    lines = [f"## {ctx.command_path}", ""]
    if command.help:
        lines += [command.help.strip(), ""]
    lines += ["```", command.get_usage(ctx).strip(), "```", ""]
    records = [record for p in command.get_params(ctx) if (record := p.get_help_record(ctx))]
    if records:
        lines += ["| Parameter | Description |", "|---|---|"]
        lines += [f"| `{_cell(names)}` | {_cell(text)} |" for names, text in records]
        lines.append("")
    return "\n".join(lines)


def render() -> str:
    """The whole reference as Markdown; deterministic for a given version of the code."""
    root = typer.main.get_command(cli)
    ctx = typer.Context(root, info_name="maestro")
    return HEADER + "\n" + "\n".join(_section(c, x) for c, x in _walk(root, ctx))


if __name__ == "__main__":
    sys.stdout.write(render())
