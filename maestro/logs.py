"""JSON log lines on stderr: one object per line, easy to ship and to grep.

Every line logged while a request is handled names its ``request_id`` (from a
context variable the request middleware sets; thread-pool calls inherit it), and
tracebacks never carry values from the database: SQL parameters are left out,
and a driver's message keeps only its first line (PostgreSQL's DETAIL echoes the
row) or, for a data exception, only its SQLSTATE (the message quotes the value).
"""

from __future__ import annotations

import logging
import sys
import traceback
from contextvars import ContextVar
from datetime import UTC, datetime

import orjson
from sqlalchemy.exc import DBAPIError, StatementError

_STANDARD = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {"message", "asctime"}

# Not reset when a request ends: uvicorn may log about the request after the app returned
# (in the same task), and each request runs in its own task, so nothing leaks between them.
request_id: ContextVar[str | None] = ContextVar("maestro_request_id", default=None)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        current = request_id.get()
        if current is not None:
            entry["request_id"] = current
        for key, value in record.__dict__.items():
            if key not in _STANDARD and key != "color_message":
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()

    def formatException(self, ei: object) -> str:
        exc = ei[1] if isinstance(ei, tuple) else None
        if not isinstance(exc, BaseException):
            return super().formatException(ei)  # type: ignore[arg-type]
        return format_exception(exc)


def format_exception(exc: BaseException) -> str:
    """A traceback like Python's, chained causes included, minus database values."""
    chain: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not seen for seen in chain):
        chain.append(current)
        current = current.__cause__ or (None if current.__suppress_context__ else current.__context__)
    drivers = {id(e.orig) for e in chain if isinstance(e, DBAPIError) and e.orig is not None}
    parts: list[str] = []
    for index in range(len(chain) - 1, -1, -1):
        item = chain[index]
        if index + 1 < len(chain):
            parts.append(_CAUSE if item.__cause__ is chain[index + 1] else _CONTEXT)
        parts.append("Traceback (most recent call last):\n")
        parts.extend(traceback.format_tb(item.__traceback__))
        parts.append(_headline(item, driver=id(item) in drivers) + "\n")
    return "".join(parts).rstrip("\n")


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _qualname(exc: BaseException) -> str:
    kind = type(exc)
    return kind.__qualname__ if kind.__module__ == "builtins" else f"{kind.__module__}.{kind.__qualname__}"


def _headline(exc: BaseException, *, driver: bool) -> str:
    if isinstance(exc, StatementError):
        orig = exc.orig if isinstance(exc.orig, BaseException) else None
        cause = f"({_qualname(orig)}) {_driver_message(orig)} " if orig is not None else ""
        return f"{_qualname(exc)}: {cause}[SQL: {(exc.statement or '').strip()}]"
    if driver:
        return f"{_qualname(exc)}: {_driver_message(exc)}"
    return "".join(traceback.format_exception_only(type(exc), exc)).rstrip("\n")


def _driver_message(exc: BaseException) -> str:
    sqlstate = getattr(exc, "sqlstate", None)
    if isinstance(sqlstate, str) and sqlstate.startswith("22"):
        text = f"data exception (SQLSTATE {sqlstate})"
    else:
        text = (str(exc).strip().splitlines() or [""])[0]
        if sqlstate:
            text += f" (SQLSTATE {sqlstate})"
    diag = getattr(exc, "diag", None)
    names = {label: getattr(diag, f"{label}_name", None) for label in ("table", "column", "constraint")}
    return text + "".join(f" [{label}: {name}]" for label, name in names.items() if name)


def configure_logging(level: str = "INFO") -> None:
    """Route Maestro's and uvicorn's loggers to stderr as JSON; silence uvicorn's own
    access line (ours replaces it and carries the request id)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger("maestro")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False
    server = logging.getLogger("uvicorn")
    if server.handlers:  # running under uvicorn: its error lines (and any traceback) as JSON too
        server.handlers[:] = [handler]
    logging.getLogger("uvicorn.access").disabled = True
