"""The OpenAPI document as the contract: what FastAPI generates, completed with what the
server enforces everywhere and FastAPI cannot see.

Routes declare their own outcomes (``409`` for a conflict, ``412`` for ``If-Match``).
The rules here hold for every operation, so they live once, and an endpoint added
later is documented by them without anyone remembering to: the error body of every
4xx/5xx, ``400``/``413``/``415`` for bodies, ``404`` for path ids, ``422`` for any
input, ``503`` for a database that does not answer, and the NUL rule that
:func:`maestro.api.deps.refuse_unstorable_parameters` enforces on every parameter.
schemathesis (``.ci/schemathesis.sh``) holds the server to the result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from maestro.models import MAX_JSON_INT, NO_NUL, ErrorBody
from maestro.tenancy.roles import is_open

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_UNGUARDED = {"/healthz", "/"}  # answer without the database
_WHY = {
    400: "The body (or its Content-Length) could not be decoded.",
    401: "No usable API token: none sent, malformed, expired or revoked (WWW-Authenticate: Bearer).",
    403: "The token's role is below what this operation needs.",
    404: "Nothing has the id in the path.",
    413: "The body is larger than the limit (MAESTRO_MAX_REQUEST_BYTES, or "
    "MAESTRO_MAX_UPLOAD_BYTES for content).",
    414: "The request target is longer than MAESTRO_MAX_URL_BYTES.",
    415: "The body is not JSON (application/json, */*+json).",
    422: "A parameter or the body is invalid; `errors` names each field.",
    431: "The request head is over MAESTRO_MAX_HEADER_BYTES or MAESTRO_MAX_HEADERS.",
    503: "The database (or another dependency) does not answer, or its schema is not current; retry later.",
}


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec.get("paths", {}).items():
        for method in _METHODS:
            if method in item:
                yield path, method, item[method]


def _statuses(path: str, method: str, operation: dict[str, Any]) -> list[int]:
    """The statuses every operation of this shape can answer, besides its own."""
    parameters = operation.get("parameters", [])
    body = operation.get("requestBody", {}).get("content", {})
    statuses = [414, 431]  # the head limits (maestro.limits) hold for every request
    if not is_open(method, path):
        statuses += [401, 403]  # maestro.tenancy.auth.require_principal
    if body:
        statuses += [400, 413]
    if "application/json" in body:
        statuses.append(415)
    if parameters or body:
        statuses.append(422)
    if any(p.get("in") == "path" for p in parameters):
        statuses.append(404)
    if path not in _UNGUARDED:
        statuses.append(503)
    return statuses


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    for status in _statuses(path, method, operation):
        responses.setdefault(str(status), {"description": _WHY[status]})
    for status, response in responses.items():
        if status[0] in "45":  # every error has the one body (FastAPI's own 422 schema is not it)
            response["content"] = {"application/json": {"schema": ERROR_REF}}


def _forbid_nul(operation: dict[str, Any]) -> None:
    """Free-text parameters may not carry NUL: state the rule the server enforces."""
    for parameter in operation.get("parameters", []):
        for schema in _alternatives(parameter.get("schema", {})):
            if schema.get("type") == "string" and not ({"enum", "format", "pattern"} & schema.keys()):
                schema["pattern"] = NO_NUL


def _alternatives(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return [schema, *schema.get("anyOf", [])]


def _exact_int64_bounds(node: Any) -> None:
    """FastAPI's OpenAPI models hold bounds as floats, which turns 2**63-1 into 2**63:
    restore the exact integer the server enforces."""
    if isinstance(node, dict):
        for key in ("minimum", "maximum"):
            value = node.get(key)
            if isinstance(value, float) and abs(value) == float(MAX_JSON_INT):
                node[key] = MAX_JSON_INT if value > 0 else -MAX_JSON_INT
        for child in node.values():
            _exact_int64_bounds(child)
    elif isinstance(node, list):
        for child in node:
            _exact_int64_bounds(child)


def complete(spec: dict[str, Any]) -> dict[str, Any]:
    """Apply the server-wide rules to a generated document (in place, and returned)."""
    for path, method, operation in _operations(spec):
        _document_errors(path, method, operation)
        _forbid_nul(operation)
    schemas = spec.setdefault("components", {}).setdefault("schemas", {})
    schemas["ErrorBody"] = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)
    _exact_int64_bounds(spec)
    return spec


def openapi_builder(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """``app.openapi``: generated once, completed, then cached like FastAPI's own."""

    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                description=app.description,
                routes=app.routes,
            )
            app.openapi_schema = complete(spec)
        return app.openapi_schema

    return build
