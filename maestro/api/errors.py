"""One mapping from errors to HTTP: every error body is ``{"detail", "error"[, "errors"]}``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from maestro.api.responses import public_url
from maestro.errors import MaestroError

log = logging.getLogger("maestro.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    411: "length_required",
    412: "precondition_failed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "too_many_requests",
}


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


def field_name(loc: Sequence[Any]) -> str:
    """``("body", "metadata_json", "sbom_present")`` -> ``metadata_json.sbom_present``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header") and len(parts) > 1:
        parts = parts[1:]
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name or "body"


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    errors = []
    for err in exc.errors():
        field = field_name(err.get("loc", ()))
        message = str(err.get("msg", "is invalid"))
        if err.get("type") == "json_invalid":
            field = field_name(tuple(err.get("loc", ()))[:1])
            message = f"is not valid JSON ({err.get('ctx', {}).get('error', 'parse error')})"
        elif err.get("type") == "extra_forbidden":
            message = "is not a known field"
        errors.append({"field": field, "message": message, "type": err.get("type")})
    return errors


async def _maestro_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MaestroError)
    if exc.status_code >= 500:
        log.error("request failed: %s", exc.detail)
    return error_response(exc.status_code, exc.to_body(), exc.response_headers())


async def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = _validation_errors(exc)
    detail = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "Invalid request"
    return error_response(422, {"detail": detail, "error": "validation_failed", "errors": errors})


_CANDIDATES = ("GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of this path answers. Starlette's own ``Allow`` names only
    the first route that matched the path, and FastAPI makes one route per method; so
    each method is tried against the routes (their public ``matches``)."""
    routes = request.app.router.routes
    methods = {
        method
        for method in _CANDIDATES
        if any(route.matches({**request.scope, "method": method})[0] is Match.FULL for route in routes)
    }
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _without_trailing_slash(request: Request) -> str | None:
    """Where ``/maestro/runs/`` should have gone, when that path exists (Starlette's own
    307 has an empty body and builds its Location from the client's Host header)."""
    path = request.url.path
    if path == "/" or not path.endswith("/"):
        return None
    scope = {**request.scope, "path": path.rstrip("/")}
    if not any(route.matches(scope)[0] is not Match.NONE for route in request.app.router.routes):
        return None
    query = f"?{request.url.query}" if request.url.query else ""
    return public_url(request, path.rstrip("/") + query)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    headers = dict(exc.headers or {})
    if exc.status_code == 404 and detail == "Not Found":
        canonical = _without_trailing_slash(request)
        if canonical is not None:
            return error_response(
                308,
                {"detail": f"This endpoint has no trailing slash: use {canonical}", "error": "redirect"},
                {"Location": canonical},
            )
        detail = "No such endpoint"
    elif exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
        detail = f"{request.method} is not allowed here; allowed: {headers['Allow']}"
    elif exc.status_code == 400 and detail == "There was an error parsing the body":
        detail = "The request body could not be decoded (JSON must be UTF-8)"
    return error_response(exc.status_code, {"detail": detail, "error": code}, headers)


async def _database_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    body = database_error_body(exc)
    if body is not None:
        return error_response(503, body, {"Retry-After": "1"})
    return await _unexpected_error(request, exc)


def database_error_body(exc: DBAPIError) -> dict[str, Any] | None:
    """A database that is down or not migrated is a 503 the operator can act on, not a 500:
    the body of that 503, or None when the error is a bug. Shared with the middleware
    that touches the database before the routes do (Idempotency-Key)."""
    if _schema_missing(exc):
        return {
            "detail": "Database schema is not current; run `maestro db upgrade`",
            "error": "schema_not_current",
        }
    if isinstance(exc, OperationalError):
        log.error("database unavailable: %s", type(exc.orig).__name__)
        return {"detail": "Database unavailable; retry later", "error": "database_unavailable"}
    return None


def _schema_missing(exc: DBAPIError) -> bool:
    text = str(exc.orig).lower()
    return "no such table" in text or ("relation" in text and "does not exist" in text)


async def _unexpected_error(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return error_response(500, {"detail": "Internal server error", "error": "internal_error"})


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(MaestroError, _maestro_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(DBAPIError, _database_error)
    app.add_exception_handler(Exception, _unexpected_error)
