"""The ``maestro`` command: serve and migrate locally, and drive a server from CI or a shell.

``cli`` is the Typer application and ``main`` the console-script entry point;
each command group lives in its own module.
"""

from maestro.cli.root import cli, main

__all__ = ["cli", "main"]
