"""Turning an exception into one line on stderr and an exit status.

A CI log should say what failed and what to do next, not show a traceback:
``--debug`` (or ``MAESTRO_DEBUG=1``) brings the traceback back. Exit statuses
follow ``MaestroError.exit_code``: 1 when the server refused the request (4xx),
2 when the server could not be reached or failed itself, and 2 for a setting
that cannot be used (a bad ``MAESTRO_*`` variable, a broken config file).
``maestro gate`` wraps its failures in ``NoVerdict``: there, 1 means "the gate
failed", so anything that kept it from answering is 2.
"""

from __future__ import annotations

import typer

from maestro.cli.settings import BadFlag, ConfigFileError
from maestro.environment import BadSetting
from maestro.errors import DependencyUnavailable, MaestroError, NotFound

USAGE_EXIT = 2
NO_VERDICT_EXIT = 2


class CannotProceed(Exception):
    """A command stopped before doing anything, for a reason its message explains (exit 2)."""


class NoVerdict(Exception):
    """A question (the release gate) went unanswered because of ``cause``: exit 2, whatever it was."""

    def __init__(self, cause: Exception) -> None:
        super().__init__(str(cause))
        self.cause = cause


def describe(exc: BaseException) -> tuple[str, int]:
    """The message and exit status for any failure a command can end with."""
    if isinstance(exc, NoVerdict):
        return describe(exc.cause)[0], NO_VERDICT_EXIT
    if isinstance(exc, MaestroError):
        return _describe_maestro(exc), exc.exit_code
    if isinstance(exc, BadSetting):
        return "\n".join(exc.lines()), USAGE_EXIT
    if isinstance(exc, ConfigFileError | BadFlag | CannotProceed):
        return f"error: {exc}", USAGE_EXIT
    return (
        f"error: unexpected {type(exc).__name__}: {exc} (rerun with --debug for the traceback)",
        USAGE_EXIT,
    )


def _describe_maestro(exc: MaestroError) -> str:
    where = f" (request id {exc.request_id})" if exc.request_id else ""
    if isinstance(exc, DependencyUnavailable) and exc.request_id is None:
        hint = "check --url, MAESTRO_URL or `maestro config show`, and that the server is running"
    elif isinstance(exc, NotFound):
        hint = "check the id"
    elif exc.status >= 500:
        hint = "the server failed; retry later or report it with the request id"
    elif exc.status in (401, 403):
        hint = "check --token, MAESTRO_TOKEN or `maestro config show`"
    else:
        hint = ""
    text = f"error: {exc.detail}{where}"
    return f"{text}; {hint}" if hint else text


def report(exc: BaseException) -> int:
    """Print the one-line explanation and return the exit status to end with."""
    message, status = describe(exc)
    typer.echo(message, err=True)
    return status
