"""``maestro config``: which server, token and owner the CLI will use, and why.

Settings can come from four places (see ``maestro.cli.settings``); when the CLI
talks to the wrong server, ``config show`` names the place that won.
"""

from __future__ import annotations

import json

import typer

from maestro.cli import views
from maestro.cli.output import JsonFlag, console
from maestro.cli.settings import mask
from maestro.cli.state import resolved

app = typer.Typer(help="Client configuration: flags, environment, config file.", no_args_is_help=True)


@app.command("show")
def show_config(ctx: typer.Context, as_json: JsonFlag = False) -> None:
    """Print each setting in effect and where it came from (the token is masked)."""
    config = resolved(ctx)
    values = {
        "url": (config.url.value, config.url.source),
        "token": (mask(config.token.value) if config.token.value else None, config.token.source),
        "owner": (config.owner.value, config.owner.source),
    }
    exists = config.config_file.is_file()
    if as_json:
        body = {key: {"value": value, "source": source} for key, (value, source) in values.items()}
        typer.echo(json.dumps({**body, "config_file": {"path": str(config.config_file), "exists": exists}}))
        return
    table = views.table("setting", "value", "source")
    for key, (value, source) in values.items():
        table.add_row(key, value or "-", source)
    console().print(table)
    typer.echo(f"config file: {config.config_file}{'' if exists else ' (not present)'}")
